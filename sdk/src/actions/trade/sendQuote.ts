import type { TransactionReceipt } from "ethers";

import { InvalidRequestError, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { requireSigner, sendCall, type ClientContext } from "../../client/context.js";
import type { TradeQuote } from "../../types.js";

export interface SendQuoteParameters {
  readonly quote: TradeQuote;
}
export interface SendQuoteReturnType {
  readonly quote: TradeQuote;
  readonly receipt: TransactionReceipt;
}
export type SendQuoteErrorType = InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Sends exactly the trade a `TradeQuote` describes, with the quote's own `acceptablePrice`: the slippage bound stays
 * the one of the quote the trader saw, however long they took to confirm it. Refuses locally, without sending, a
 * quote that carries a `rejection`.
 * @example
 * ```ts
 * const quote = await quoteTrade(client, { market: "ETH-USD", side: "long", margin: "500", leverage: 10, isolated: true });
 * if (await userConfirms(quote)) await sendQuote(client, { quote });
 * ```
 */
export async function sendQuote(ctx: ClientContext, parameters: SendQuoteParameters): Promise<SendQuoteReturnType> {
  requireSigner(ctx);
  const { quote } = parameters;
  if (quote.rejection) throw new InvalidRequestError(`the engine would reject this trade: ${quote.rejection}`);
  const { marketId, sizeDelta, acceptablePrice, marginDelta, isolated } = quote;
  const receipt = await sendCall(ctx, ctx.engine.trade.populateTransaction(marketId, sizeDelta, acceptablePrice, marginDelta, isolated));
  return { quote, receipt };
}
