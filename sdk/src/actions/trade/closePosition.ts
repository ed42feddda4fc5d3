import { InvalidRequestError, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import * as m from "../../math.js";
import type { ClientContext } from "../../client/context.js";
import type { MarketRef, TradeRequest } from "../../types.js";
import type { InvalidAmountError, WadAmount } from "../../units.js";
import { resolveMarket } from "../read/getMarket.js";
import { getSnapshot } from "../read/getSnapshot.js";
import { quoteFromSnapshot } from "./quoteFromSnapshot.js";
import { sendOrder, type OrderFlowOptions } from "../orders/sendOrder.js";
import { sendQuote } from "./sendQuote.js";
import type { TradeReturnType } from "./trade.js";

export interface ClosePositionParameters extends OrderFlowOptions {
  readonly market: MarketRef;
  /** e.g. "1%" or a WAD ratio (default 0.5 %). */
  readonly slippage?: WadAmount;
}
export type ClosePositionReturnType = TradeReturnType;
export type ClosePositionErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Closes the signer's whole position in a market, in its own mode (isolated or cross). With an order book it is a
 * market order of the quoted size, settled as `trade` settles (`settle`, default a keeper).
 * @example await closePosition(client, { market: "ETH-USD", slippage: "1%" })
 */
export async function closePosition(ctx: ClientContext, parameters: ClosePositionParameters): Promise<ClosePositionReturnType> {
  const snap = await getSnapshot(ctx);
  const market = resolveMarket(snap.markets.values(), parameters.market);
  const pos = snap.account.positions.get(market.id);
  if (!pos) throw new InvalidRequestError(`no position in ${market.symbol}`);
  const isolated = ((snap.account.crossMarkets >> BigInt(market.id)) & 1n) === 0n;
  const request: TradeRequest = {
    market: market.id,
    side: pos.size > 0n ? "short" : "long",
    size: m.abs(pos.size),
    isolated,
    slippage: parameters.slippage,
  };
  const quote = quoteFromSnapshot(snap, request);
  if (!ctx.orderBook) return sendQuote(ctx, { quote });
  const { settle, timeoutMs, pollMs, onCommitted } = parameters;
  return sendOrder(ctx, { quote, settle, timeoutMs, pollMs, onCommitted });
}
