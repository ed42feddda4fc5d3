import { TOKEN_TO_WAD } from "../../constants.js";
import { withPerpErrors, type PerpContractError, type PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import type { Wad } from "../../units.js";

export type GetVaultSharePriceParameters = Record<string, never>;
export type GetVaultSharePriceReturnType = Wad;
export type GetVaultSharePriceErrorType = PerpContractError | PerpTransportError;

/**
 * The LP vault's assets per share (one whole share), as a WAD number of USDC.
 * @example formatDecimal(await getVaultSharePrice(client), 18) // "1.000012"
 */
export async function getVaultSharePrice(ctx: ClientContext): Promise<GetVaultSharePriceReturnType> {
  const decimals = await withPerpErrors(() => ctx.vault.decimals());
  const assets = await withPerpErrors(() => ctx.vault.convertToAssets(10n ** decimals));
  return (assets * TOKEN_TO_WAD) as Wad; // USDC units (6 decimals) -> WAD
}
