import { withPerpErrors, type PerpContractError, type PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import type { ProtocolParams } from "../../valuation.js";

export interface GetProtocolParamsParameters {
  readonly blockTag?: number;
}
export type GetProtocolParamsReturnType = ProtocolParams;
export type GetProtocolParamsErrorType = PerpContractError | PerpTransportError;

/**
 * Protocol-wide parameters: insurance fee share, vault backing ratio, keeper reward bounds (WAD).
 * @example const { keeperRewardMin } = await getProtocolParams(client)
 */
export async function getProtocolParams(
  ctx: ClientContext,
  parameters: GetProtocolParamsParameters = {},
): Promise<GetProtocolParamsReturnType> {
  const p = await withPerpErrors(() => ctx.engine.protocolParams({ blockTag: parameters.blockTag }));
  return {
    insuranceFeeShare: p.insuranceFeeShare,
    vaultBackingRatio: p.vaultBackingRatio,
    keeperRewardMin: p.keeperRewardMin,
    keeperRewardMax: p.keeperRewardMax,
  };
}
