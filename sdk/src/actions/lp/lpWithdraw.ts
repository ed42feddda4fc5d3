import type { TransactionReceipt } from "ethers";

import type { InvalidRequestError, NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { accountOf, sendCall, toTokenUnits, type ClientContext } from "../../client/context.js";
import type { InvalidAmountError, TokenAmount } from "../../units.js";

export interface LpWithdrawParameters {
  /** USDC: a decimal string or token units. */
  readonly amount: TokenAmount;
}
export type LpWithdrawReturnType = TransactionReceipt;
export type LpWithdrawErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Withdraws USDC from the LP vault to the signer: `ERC4626ExceededMaxWithdraw` during the cooldown or above the
 * vault's free cash.
 * @example await lpWithdraw(client, { amount: "1000" })
 */
export async function lpWithdraw(ctx: ClientContext, parameters: LpWithdrawParameters): Promise<LpWithdrawReturnType> {
  const units = await toTokenUnits(ctx, parameters.amount);
  const owner = await accountOf(ctx);
  return sendCall(ctx, ctx.vault.withdraw.populateTransaction(units, owner, owner));
}
