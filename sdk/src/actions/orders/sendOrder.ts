import type { TransactionReceipt } from "ethers";

import { InvalidRequestError, PerpError, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import type { CommittedOrder, OrderOutcome } from "../../model/orders.js";
import type { TradeQuote } from "../../types.js";
import type { WadAmount } from "../../units.js";
import { commitOrder } from "./commitOrder.js";
import { placeBracket } from "./placeBracket.js";
import { placeTriggerOrder } from "./placeTriggerOrder.js";
import { settleOrder } from "./settleOrder.js";
import { waitForSettlement } from "./waitForSettlement.js";

/** How a trade's market order gets settled. */
export type SettleMode =
  /** Wait for a keeper (`waitForSettlement`). */
  | "keeper"
  /** Settle it yourself with the client's price source (`settleOrder`): the keeper fee comes back to you. */
  | "self"
  /** Return after the commit. */
  | "none";

/** Options of the order flow of `trade` / `closePosition` / `sendOrder`. */
export interface OrderFlowOptions {
  /** Default "keeper". */
  readonly settle?: SettleMode;
  /** Give up waiting after this many milliseconds (default 60,000 for a keeper, 30,000 to settle yourself). */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  /** Called once the order is committed (and its bracket placed), before settlement: e.g. to tell the user. */
  readonly onCommitted?: (order: CommittedOrder) => void | Promise<void>;
}

export interface SendOrderParameters extends OrderFlowOptions {
  readonly quote: TradeQuote;
  /** Stop-loss trigger to place on the position with the order. */
  readonly stopLoss?: WadAmount;
  /** Take-profit trigger: with `stopLoss`, the two form a bracket (one executing cancels the other). */
  readonly takeProfit?: WadAmount;
}
export interface SendOrderReturnType {
  readonly quote: TradeQuote;
  /** The commit's receipt. */
  readonly receipt: TransactionReceipt;
  readonly order: CommittedOrder;
  /** The trigger orders placed with it. */
  readonly stopLossId?: bigint;
  readonly takeProfitId?: bigint;
  /** How the order settled (undefined with `settle: "none"`). Always `executed`: a cancellation throws. */
  readonly outcome?: OrderOutcome;
  /** The settlement's receipt, when the client settled itself. */
  readonly settleReceipt?: TransactionReceipt;
}
export type SendOrderErrorType = InvalidRequestError | NoSignerError | OrderCancelledError | PerpContractError | PerpTransportError;

/** The market order was cancelled instead of executed (slippage, margin, caps...: the keeper kept the fee). */
export class OrderCancelledError extends PerpError {
  override name = "OrderCancelledError";
  constructor(readonly outcome: Extract<OrderOutcome, { status: "cancelled" }>) {
    super(
      `order #${outcome.orderId} was cancelled (${outcome.reason})` + (outcome.error ? `: ${outcome.error.message}` : ""),
    );
  }
}

/**
 * The whole order flow of a confirmed quote: commit the market order (exactly the quote's arguments), place the
 * stop-loss / take-profit on the position it opens (a bracket when both), then settle it yourself or wait for a
 * keeper. Throws `OrderCancelledError` when the order was cancelled instead (the reason decoded).
 * @example
 * ```ts
 * const quote = await quoteTrade(client, { market: "ETH", side: "long", size: "1", stopLoss: "1850", takeProfit: "2300" });
 * const { outcome } = await sendOrder(client, { quote, stopLoss: "1850", takeProfit: "2300", settle: "self" });
 * ```
 */
export async function sendOrder(ctx: ClientContext, parameters: SendOrderParameters): Promise<SendOrderReturnType> {
  const { quote, stopLoss, takeProfit } = parameters;
  const settle = parameters.settle ?? "keeper";
  if (settle === "self" && !ctx.priceSource) {
    throw new InvalidRequestError('settle: "self" needs a price source: connect the client with `priceSource`');
  }
  for (const warning of quote.warnings) {
    if (warning.includes("would trigger at once")) throw new InvalidRequestError(warning);
  }
  const { receipt, order } = await commitOrder(ctx, { quote });
  let stopLossId: bigint | undefined;
  let takeProfitId: bigint | undefined;
  if (stopLoss !== undefined && takeProfit !== undefined) {
    ({ stopLossId, takeProfitId } = await placeBracket(ctx, { market: quote.marketId, stopLoss, takeProfit }));
  } else if (stopLoss !== undefined) {
    stopLossId = (await placeTriggerOrder(ctx, { market: quote.marketId, kind: "stop-loss", triggerPrice: stopLoss })).orderId;
  } else if (takeProfit !== undefined) {
    takeProfitId = (await placeTriggerOrder(ctx, { market: quote.marketId, kind: "take-profit", triggerPrice: takeProfit })).orderId;
  }
  await parameters.onCommitted?.(order);
  const base = { quote, receipt, order, stopLossId, takeProfitId };
  if (settle === "none") return base;
  let outcome: OrderOutcome;
  let settleReceipt: TransactionReceipt | undefined;
  if (settle === "self") {
    ({ outcome, receipt: settleReceipt } = await settleOrder(ctx, {
      orderId: order.orderId,
      timeoutMs: parameters.timeoutMs,
      pollMs: parameters.pollMs,
    }));
  } else {
    outcome = await waitForSettlement(ctx, {
      orderId: order.orderId,
      fromBlock: receipt.blockNumber,
      timeoutMs: parameters.timeoutMs,
      pollMs: parameters.pollMs,
    });
  }
  if (outcome.status === "cancelled") throw new OrderCancelledError(outcome);
  return { ...base, outcome, settleReceipt };
}
