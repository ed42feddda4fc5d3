import type { TransactionReceipt } from "ethers";

import type { InvalidRequestError, NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { accountOf, approveIfShort, sendCall, toTokenUnits, type ClientContext } from "../../client/context.js";
import type { InvalidAmountError, TokenAmount } from "../../units.js";

export interface LpDepositParameters {
  /** USDC: a decimal string or token units. Never a `Wad`. */
  readonly amount: TokenAmount;
}
export type LpDepositReturnType = TransactionReceipt;
export type LpDepositErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Requests a deposit of USDC into the LP vault for the signer (ERC-7540 `requestDeposit`; approves the vault first
 * for the amount plus the keeper fee if needed). Nothing is priced now: a keeper (or anyone, `lpSettle`) settles it
 * at the NAV `lpSettleDelay` seconds later or after, then `lpClaim` takes the shares, which starts the cooldown.
 * `getLpRequests` tells where it stands.
 * @example await lpDeposit(client, { amount: "100000" })
 */
export async function lpDeposit(ctx: ClientContext, parameters: LpDepositParameters): Promise<LpDepositReturnType> {
  const units = await toTokenUnits(ctx, parameters.amount);
  const account = await accountOf(ctx);
  const fee = await ctx.vault.lpKeeperFee();
  await approveIfShort(ctx, ctx.deployment.contracts.LiquidityVault, units + fee);
  return sendCall(ctx, ctx.vault.requestDeposit.populateTransaction(units, account, account));
}
