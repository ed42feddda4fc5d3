import type { TransactionReceipt } from "ethers";

import type { InvalidRequestError, NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { approveIfShort, sendCall, toTokenUnits, type ClientContext } from "../../client/context.js";
import type { InvalidAmountError, TokenAmount } from "../../units.js";

export interface DepositParameters {
  /** USDC: a decimal string ("1000.5") or token units (`tokenUnits(...)`, or a plain bigint). Never a `Wad`. */
  readonly amount: TokenAmount;
}
export type DepositReturnType = TransactionReceipt;
export type DepositErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Deposits USDC into the signer's cross balance, approving the engine first if the allowance is short (two
 * transactions then, with consecutive nonces).
 * @example
 * ```ts
 * await deposit(client, { amount: "1000" });
 * await deposit(client, { amount: tokenUnits("250.5") });
 * ```
 */
export async function deposit(ctx: ClientContext, parameters: DepositParameters): Promise<DepositReturnType> {
  const units = await toTokenUnits(ctx, parameters.amount);
  await approveIfShort(ctx, ctx.deployment.contracts.PerpEngine, units);
  return sendCall(ctx, ctx.engine.deposit.populateTransaction(units));
}
