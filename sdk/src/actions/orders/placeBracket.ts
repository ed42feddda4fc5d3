import type { TransactionReceipt } from "ethers";

import { InvalidRequestError, PerpError, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { accountOf, requireOrderBook, requireSigner, sendCall, type ClientContext } from "../../client/context.js";
import type { MarketRef } from "../../types.js";
import type { InvalidAmountError, WadAmount } from "../../units.js";
import { resolveMarket } from "../read/getMarket.js";
import { getMarkets } from "../read/getMarkets.js";
import { placedOrders } from "./placeTriggerOrder.js";
import { closingSize, parsePrice, parseSlippage, positionToClose, unbounded, withSlippage } from "./shared.js";

export interface PlaceBracketParameters {
  readonly market: MarketRef;
  /** Take-profit trigger ("2300" USD or WAD): above the price for a long, below for a short. */
  readonly takeProfit: WadAmount;
  /** Stop-loss trigger: below the price for a long, above for a short. */
  readonly stopLoss: WadAmount;
  /** Size to close (default the whole position, whatever it is when a leg executes). */
  readonly size?: WadAmount;
  /** Bound of the stop-loss's fill; default none (stop-market: it fills in a gap). */
  readonly stopLossAcceptablePrice?: WadAmount;
  /** Alternatively, bound the stop-loss at this slippage beyond its trigger, e.g. "1%". */
  readonly stopLossSlippage?: WadAmount;
}
export interface PlaceBracketReturnType {
  readonly receipt: TransactionReceipt;
  readonly takeProfitId: bigint;
  readonly stopLossId: bigint;
  readonly sizeDelta: bigint;
  /** Keeper fees escrowed, both legs. */
  readonly keeperFee: bigint;
}
export type PlaceBracketErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Places a take-profit and a stop-loss on the signer's position (or on the one its pending market order in the
 * market will open) that cancel each other: when one executes, the other is cancelled (OCO). Both are reduce-only
 * and void once the position is closed, liquidated or flipped.
 * @example await placeBracket(client, { market: "ETH", takeProfit: "2300", stopLoss: "1850" })
 */
export async function placeBracket(ctx: ClientContext, parameters: PlaceBracketParameters): Promise<PlaceBracketReturnType> {
  requireSigner(ctx);
  const book = requireOrderBook(ctx);
  const market = resolveMarket(await getMarkets(ctx), parameters.market);
  const trader = await accountOf(ctx);
  const position = await positionToClose(ctx, trader, market.id);
  const isBuy = position < 0n;
  const takeProfit = parsePrice(parameters.takeProfit, "the take-profit price");
  const stopLoss = parsePrice(parameters.stopLoss, "the stop-loss price");
  if (isBuy ? !(takeProfit < stopLoss) : !(takeProfit > stopLoss)) {
    throw new InvalidRequestError(
      `a ${isBuy ? "short" : "long"}'s take-profit must be ${isBuy ? "below" : "above"} its stop-loss ` +
        `(take-profit ${parameters.takeProfit}, stop-loss ${parameters.stopLoss})`,
    );
  }
  const stopLossAcceptable =
    parameters.stopLossAcceptablePrice !== undefined
      ? parsePrice(parameters.stopLossAcceptablePrice, "the stop-loss acceptable price")
      : parameters.stopLossSlippage !== undefined
        ? withSlippage(stopLoss, isBuy, parseSlippage(parameters.stopLossSlippage))
        : unbounded(isBuy);
  const sizeDelta = closingSize(position, parameters.size);
  const receipt = await sendCall(ctx, book.placeBracket.populateTransaction(market.id, sizeDelta, takeProfit, stopLoss, stopLossAcceptable));
  const placed = placedOrders(receipt.logs, await book.getAddress());
  const tp = placed.find((p) => p.kind === 3);
  const sl = placed.find((p) => p.kind === 4);
  if (!tp || !sl) throw new PerpError(`transaction ${receipt.hash} did not place both legs of the bracket`);
  return { receipt, takeProfitId: tp.orderId, stopLossId: sl.orderId, sizeDelta, keeperFee: tp.keeperFee + sl.keeperFee };
}
