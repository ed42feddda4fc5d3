import type { TransactionReceipt } from "ethers";

import { PerpError, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { requireOrderBook, requireSigner, sendCall, type ClientContext } from "../../client/context.js";
import { orderOutcome, type OrderOutcome } from "../../model/orders.js";

export interface CancelOrderParameters {
  readonly orderId: bigint;
}
export interface CancelOrderReturnType {
  readonly receipt: TransactionReceipt;
  /** `cancelled` with its reason (`by-trader`, or `expired` when a third party cancelled an expired market order). */
  readonly outcome: OrderOutcome;
}
export type CancelOrderErrorType = NoSignerError | PerpContractError | PerpTransportError;

/**
 * Cancels a trigger order of the signer (any time; the keeper fee comes back), or any expired market order (a third
 * party earns its fee). Refusals are decoded (`MarketOrderNotExpired` says when it expires).
 * @example await cancelOrder(client, { orderId: 7n })
 */
export async function cancelOrder(ctx: ClientContext, parameters: CancelOrderParameters): Promise<CancelOrderReturnType> {
  requireSigner(ctx);
  const book = requireOrderBook(ctx);
  const receipt = await sendCall(ctx, book.cancelOrder.populateTransaction(parameters.orderId));
  const outcome = orderOutcome(receipt.logs, parameters.orderId, ctx.deployment);
  if (!outcome) throw new PerpError(`transaction ${receipt.hash} did not cancel order #${parameters.orderId}`);
  return { receipt, outcome };
}
