import type { TransactionReceipt } from "ethers";

import { InvalidRequestError, PerpError, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { requireOrderBook, requireSigner, sendCall, type ClientContext } from "../../client/context.js";
import { committedOrders, type CommittedOrder } from "../../model/orders.js";
import type { TradeQuote } from "../../types.js";

export interface CommitOrderParameters {
  /** The quote the trader confirmed: its size, acceptable price, margin and mode are sent as they are. */
  readonly quote: TradeQuote;
}
export interface CommitOrderReturnType {
  readonly quote: TradeQuote;
  readonly receipt: TransactionReceipt;
  /** The committed order (`OrderCommitted`): id, escrowed keeper fee, settlement and expiry times. */
  readonly order: CommittedOrder;
}
export type CommitOrderErrorType = InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Commits a market order of exactly the trade a `TradeQuote` describes (`sizeDelta`, `acceptablePrice`, `marginDelta`,
 * `isolated`): the slippage bound stays the one of the quote the trader saw. The order book escrows the keeper fee
 * from the cross balance; a keeper (or `settleOrder`) settles it at the first price published from `settleableAt`.
 * Refuses locally, without sending, a quote that carries a `rejection`.
 * @example
 * ```ts
 * const quote = await quoteTrade(client, { market: "ETH-USD", side: "long", size: "1" });
 * const { order } = await commitOrder(client, { quote });
 * const outcome = await waitForSettlement(client, { orderId: order.orderId });
 * ```
 */
export async function commitOrder(ctx: ClientContext, parameters: CommitOrderParameters): Promise<CommitOrderReturnType> {
  requireSigner(ctx);
  const book = requireOrderBook(ctx);
  const { quote } = parameters;
  if (quote.rejection) throw new InvalidRequestError(`the engine would reject this trade: ${quote.rejection}`);
  const { marketId, sizeDelta, acceptablePrice, marginDelta, isolated } = quote;
  const receipt = await sendCall(ctx, book.commitOrder.populateTransaction(marketId, sizeDelta, acceptablePrice, marginDelta, isolated));
  const [order] = committedOrders(receipt.logs, await book.getAddress());
  if (!order) throw new PerpError(`transaction ${receipt.hash} committed no order`);
  return { quote, receipt, order };
}
