/**
 * Numbers a trading screen shows that are derived from a quote rather than read from the chain.
 *
 * @packageDocumentation
 */
import { WAD } from "../math.js";
import type { Wad } from "../units.js";

/**
 * The fill's premium over the index, (fill - index) / index as a WAD ratio: positive when the fill is above the index
 * (what a buyer pays for adding to the long skew), negative below it. Rounded toward zero; 0 without an index price.
 * @example formatPercent(priceImpact(quote)) // "0.05 %"
 */
export function priceImpact(quote: { readonly fillPrice: bigint; readonly indexPrice: bigint }): Wad {
  if (quote.indexPrice === 0n) return 0n as Wad;
  return (((quote.fillPrice - quote.indexPrice) * WAD) / quote.indexPrice) as Wad;
}

/** What each rejection of the quote mirror (`TradeQuote.rejection`) means for the trader, and what to change. */
export const REJECTION_EXPLANATIONS: Readonly<Record<string, string>> = {
  ZeroAmount: "the size is zero: enter a size or a margin",
  PositionModeMismatch: "your open position in this market has the other margin mode: trade it in that mode (cross or isolated) until it is closed",
  TooManyCrossPositions: "your account already holds the most cross positions allowed: close one or trade this market isolated",
  NotIsolated: "extra margin can only be moved into an isolated position",
  InsufficientCrossBalance: "your cross balance is smaller than the margin this trade moves: deposit more or lower the margin",
  AccountLiquidatable: "your cross account is below its maintenance margin: add collateral or reduce a position first",
  MarketReduceOnly: "this market is reduce-only: positions can shrink, not grow",
  OpenInterestCapExceeded: "the market's open interest cap on this side would be exceeded: trade a smaller size",
  InsufficientVaultLiquidity: "the LP vault cannot back this much more open interest now: trade a smaller size",
  PositionTooSmall: "the position would be below the market's minimum notional: trade a larger size",
  TradeBelowInitialMargin: "not enough margin: your equity would not cover this trade's initial margin; lower the size or the leverage, or deposit more",
  TradeBelowMaintenanceMargin: "this trade would leave your equity below the maintenance margin, so the position could be liquidated at once: trade smaller or add margin",
  TradeLeavesNegativeMargin: "the fees and losses of this trade exceed the isolated position's margin: add margin or trade smaller",
  DebitBelowInitialMargin: "moving this much margin out would leave your cross account below its initial margin: move less or deposit more",
  DebitBelowMaintenanceMargin: "moving this much margin out would leave your cross account liquidatable: move less or deposit more",
  "oracle price unavailable": "the oracle price is stale or unavailable, so the market cannot trade until a fresh price is published",
};

/**
 * A quote's `rejection` in plain words, starting with the engine's error name so it matches what a send would revert
 * with, e.g. `TradeBelowInitialMargin: not enough margin: ...`. An unknown name is returned as is.
 * @example if (quote.rejection) showError(explainRejection(quote.rejection))
 */
export function explainRejection(rejection: string): string {
  const words = REJECTION_EXPLANATIONS[rejection];
  return words === undefined ? rejection : rejection === "oracle price unavailable" ? `Oracle: ${words}` : `${rejection}: ${words}`;
}
