import type { InvalidAmountError } from "../../units.js";
import type { InvalidRequestError, NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import type { Snapshot, TradeQuote, TradeRequest } from "../../types.js";
import { getSnapshot } from "../read/getSnapshot.js";
import { quoteFromSnapshot } from "./quoteFromSnapshot.js";

export interface QuoteTradeParameters extends TradeRequest {
  /** Quote for this account (default: the signer). */
  readonly trader?: string;
  /** Quote against this snapshot instead of reading one. */
  readonly snapshot?: Snapshot;
}
export type QuoteTradeReturnType = TradeQuote;
export type QuoteTradeErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Turns a `TradeRequest` into exact `trade` arguments and a quote mirroring the engine at the latest block: fill,
 * fee, funding, liquidation price and distance, and `rejection` when the engine would revert.
 * @example
 * ```ts
 * const quote = await quoteTrade(client, { market: "ETH", side: "short", size: "2", slippage: "0.3%" });
 * console.log(formatPrice(quote.fillPrice), formatUsd(quote.fee), quote.rejection ?? "ok");
 * ```
 */
export async function quoteTrade(ctx: ClientContext, parameters: QuoteTradeParameters): Promise<QuoteTradeReturnType> {
  const { trader, snapshot, ...request } = parameters;
  const s = snapshot ?? (await getSnapshot(ctx, { trader }));
  return quoteFromSnapshot(s, request);
}
