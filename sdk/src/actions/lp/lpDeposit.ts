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
 * Deposits USDC into the LP vault for the signer (approving the vault first if needed). The shares are locked for
 * the vault's cooldown after each deposit (`getLpPosition` tells when it ends).
 * @example await lpDeposit(client, { amount: "100000" })
 */
export async function lpDeposit(ctx: ClientContext, parameters: LpDepositParameters): Promise<LpDepositReturnType> {
  const units = await toTokenUnits(ctx, parameters.amount);
  await approveIfShort(ctx, ctx.deployment.contracts.LiquidityVault, units);
  return sendCall(ctx, ctx.vault.deposit.populateTransaction(units, await accountOf(ctx)));
}
