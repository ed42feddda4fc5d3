import type { InvalidAmountError } from "../../units.js";
import type { InvalidRequestError, NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { requireSigner, type ClientContext } from "../../client/context.js";
import type { TradeRequest } from "../../types.js";
import { quoteTrade } from "./quoteTrade.js";
import { sendQuote, type SendQuoteReturnType } from "./sendQuote.js";

export type TradeParameters = TradeRequest;
export type TradeReturnType = SendQuoteReturnType;
export type TradeErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Quotes at the latest block and sends at once; the quote's `acceptablePrice` bounds the fill on chain. Refuses
 * locally (without sending) when the mirror already knows the engine would revert.
 * @example
 * ```ts
 * const { quote, receipt } = await trade(client, { market: "ETH-USD", side: "long", size: "1" });
 * ```
 */
export async function trade(ctx: ClientContext, parameters: TradeParameters): Promise<TradeReturnType> {
  requireSigner(ctx);
  return sendQuote(ctx, { quote: await quoteTrade(ctx, parameters) });
}
