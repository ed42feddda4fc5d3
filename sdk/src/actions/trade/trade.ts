import type { InvalidAmountError } from "../../units.js";
import type { InvalidRequestError, NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { requireSigner, type ClientContext } from "../../client/context.js";
import type { TradeRequest } from "../../types.js";
import { sendOrder, type OrderCancelledError, type OrderFlowOptions, type SendOrderReturnType } from "../orders/sendOrder.js";
import { quoteTrade } from "./quoteTrade.js";
import { sendQuote, type SendQuoteReturnType } from "./sendQuote.js";

export type TradeParameters = TradeRequest & OrderFlowOptions;
/** v2 (order book): the order flow's result; v1: the trade's receipt. */
export type TradeReturnType = SendQuoteReturnType & Partial<Omit<SendOrderReturnType, "quote" | "receipt">>;
export type TradeErrorType =
  | InvalidAmountError
  | InvalidRequestError
  | NoSignerError
  | OrderCancelledError
  | PerpContractError
  | PerpTransportError;

/**
 * Quotes at the latest block and sends at once; the quote's `acceptablePrice` bounds the fill on chain. Refuses
 * locally (without sending) when the mirror already knows the engine would revert. On a deployment with an order
 * book the trade is a market order: committed, with its `stopLoss` / `takeProfit` placed, then settled by a keeper
 * (default: `waitForSettlement`) or by the client itself (`settle: "self"`, with its price source).
 * @example
 * ```ts
 * const { quote, receipt } = await trade(client, { market: "ETH-USD", side: "long", size: "1" });
 * const { outcome } = await trade(client, { market: "ETH", side: "long", size: "1", stopLoss: "1850", settle: "self" });
 * ```
 */
export async function trade(ctx: ClientContext, parameters: TradeParameters): Promise<TradeReturnType> {
  requireSigner(ctx);
  const { settle, timeoutMs, pollMs, onCommitted, ...request } = parameters;
  const quote = await quoteTrade(ctx, request);
  if (!ctx.orderBook) return sendQuote(ctx, { quote });
  return sendOrder(ctx, { quote, stopLoss: request.stopLoss, takeProfit: request.takeProfit, settle, timeoutMs, pollMs, onCommitted });
}
