import type { TransactionReceipt } from "ethers";

import { InvalidRequestError, withPerpErrors, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { accountOf, approveIfShort, sendCall, toTokenUnits, type ClientContext } from "../../client/context.js";
import type { InvalidAmountError, TokenAmount } from "../../units.js";

export interface LpWithdrawParameters {
  /** USDC at today's NAV (converted to shares, rounded down): a decimal string or token units. */
  readonly amount?: TokenAmount;
  /** Or the exact number of shares to redeem (12 decimals). */
  readonly shares?: bigint;
}
export type LpWithdrawReturnType = TransactionReceipt;
export type LpWithdrawErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Requests a redemption (ERC-7540 `requestRedeem`): locks the shares in the vault and escrows the keeper fee
 * (approving it if needed). `SharesLocked` during the cooldown, `ExceedsRedeemable` above the vault's free cash.
 * What is paid is fixed at settle, at the NAV then; claim it with `lpClaim({ kind: "redeem" })`.
 * @example await lpWithdraw(client, { amount: "1000" })
 */
export async function lpWithdraw(ctx: ClientContext, parameters: LpWithdrawParameters): Promise<LpWithdrawReturnType> {
  const owner = await accountOf(ctx);
  let shares: bigint;
  if (parameters.shares !== undefined) {
    if (parameters.shares <= 0n) throw new InvalidRequestError("the shares must be positive");
    shares = parameters.shares;
  } else {
    if (parameters.amount === undefined) throw new InvalidRequestError("give an amount or shares");
    const units = await toTokenUnits(ctx, parameters.amount);
    shares = await withPerpErrors(() => ctx.vault.convertToShares(units));
  }
  const fee = await withPerpErrors(() => ctx.vault.lpKeeperFee());
  if (fee > 0n) await approveIfShort(ctx, ctx.deployment.contracts.LiquidityVault, fee);
  return sendCall(ctx, ctx.vault.requestRedeem.populateTransaction(shares, owner, owner));
}
