import type { TransactionReceipt } from "ethers";

import type { InvalidRequestError, NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { accountOf, sendCall, toTokenUnits, type ClientContext } from "../../client/context.js";
import { crossMarkets, updateFee } from "../../client/priceUpdate.js";
import type { InvalidAmountError, TokenAmount } from "../../units.js";

export interface WithdrawParameters {
  /** USDC: a decimal string or token units. Never a `Wad`. */
  readonly amount: TokenAmount;
  /** Default: the signer. */
  readonly receiver?: string;
  /**
   * Price update data for the feeds of the signer's cross markets (the debit check values them) (Pyth: from Hermes, or `encodeMockPriceUpdate`
   * locally). Default `[]`: the feeds' caches. The value sent is the sum of those feeds' `getUpdateFee`.
   */
  readonly priceUpdate?: readonly string[];
}
export type WithdrawReturnType = TransactionReceipt;
export type WithdrawErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Withdraws USDC from the cross balance (`InsufficientCrossBalance`, or `DebitBelowInitialMargin` / `DebitBelowMaintenanceMargin` when cross positions
 * need it as margin).
 * @example await withdraw(client, { amount: "400", receiver: "0xAb…" })
 */
export async function withdraw(ctx: ClientContext, parameters: WithdrawParameters): Promise<WithdrawReturnType> {
  const units = await toTokenUnits(ctx, parameters.amount);
  const receiver = parameters.receiver ?? (await accountOf(ctx));
  const priceUpdate = parameters.priceUpdate ?? [];
  const value =
    priceUpdate.length === 0 ? 0n : await updateFee(ctx, await crossMarkets(ctx, await accountOf(ctx)), priceUpdate);
  return sendCall(ctx, ctx.engine.withdraw.populateTransaction(units, receiver, [...priceUpdate], { value }));
}
