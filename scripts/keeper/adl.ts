/**
 * Auto-deleveraging, mirrored off-chain: `LiquidationLogic.autoDeleverage` closes a profitable position at the index
 * price (no fee) while traders' net unrealised profit in its market exceeds `maxPnlFactor x vault NAV`. These pure
 * functions compute the engine's check and each position's value exactly as the contract does, so that the keeper
 * only sends a deleveraging when the engine would accept it, most profitable position first.
 *
 * The contract (for reference):
 * ```solidity
 * uint256 limit = FPM.mulWadDown(s.vaultNav(), m.params.maxPnlFactor);
 * uint256 price = m.priceFeed.latestPrice();
 * AccountingLib.accrueInMemory(state, price);
 * int256 tradersProfit = PerpMath.tradersClaimUp(price, skew(state), skewScale, state.fundingIndex, state.entryFundingSum);
 * if (tradersProfit <= limit) revert DeleverageNotNeeded(tradersProfit, limit);
 * int256 value = s.closeAtIndex(...);            // pnlDown(size, entry, price) - fundingOwedUp(size, index, last)
 * if (value <= 0) revert PositionNotProfitable(value);
 * ```
 */
import { math, type MarketInfo, type PositionData, type PositionKey } from "../../sdk/src/index.js";

/** The engine's deleveraging check for one market at time `now` (seconds), given the vault NAV (USD WAD). */
export interface DeleverageCheck {
  readonly marketId: number;
  /** `tradersClaimUp` with the funding index accrued to `now`: what traders would take closing everything, USD WAD. */
  readonly tradersProfit: bigint;
  /** `maxPnlFactor x NAV` (rounded down), USD WAD. */
  readonly limit: bigint;
  /** `tradersProfit > limit`: the engine accepts `autoDeleverage` on a profitable position of this market. */
  readonly needed: boolean;
  /** The funding index accrued to `now` (what `accrueInMemory` computes). */
  readonly fundingIndex: bigint;
}

/** `AccountingLib.accrueInMemory`: the market's funding index brought to `now` at `price`. */
export function accruedIndex(market: Pick<MarketInfo, "state">, price: bigint, now: bigint): bigint {
  const elapsed = now - market.state.lastFundingTime;
  if (elapsed <= 0n) return market.state.fundingIndex;
  return math.accruedFundingIndex(market.state.fundingIndex, market.state.fundingRatePerDay, price, elapsed);
}

/** The engine's check in `autoDeleverage` for `market` at its index price and time `now`. */
export function deleverageCheck(market: Pick<MarketInfo, "id" | "state" | "params" | "price">, nav: bigint, now: bigint): DeleverageCheck {
  const fundingIndex = accruedIndex(market, market.price, now);
  const skew = market.state.longOpenInterest - market.state.shortOpenInterest;
  const tradersProfit = math.tradersClaimUp(market.price, skew, market.params.skewScale, fundingIndex, market.state.entryFundingSum);
  const limit = math.mulWadDown(nav, market.params.maxPnlFactor);
  return { marketId: market.id, tradersProfit, limit, needed: tradersProfit > limit, fundingIndex };
}

/** What `closeAtIndex` pays the trader for `position`: `pnlDown(size, entry, price) - fundingOwedUp(size, index, last)`. */
export function closeValue(position: PositionData, price: bigint, fundingIndex: bigint): bigint {
  return math.pnlDown(position.size, position.entryPrice, price) - math.fundingOwedUp(position.size, fundingIndex, position.lastFundingIndex);
}

/** A position `autoDeleverage` would close, with its value at the check's price and funding index. */
export interface DeleverageCandidate extends PositionKey {
  readonly size: bigint;
  /** USD WAD, positive. */
  readonly value: bigint;
}

/**
 * The profitable positions of the market, most profitable first (ties: larger size first, then trader address):
 * the order in which the keeper deleverages them.
 */
export function deleverageCandidates(
  positions: readonly (PositionKey & { readonly position: PositionData })[],
  market: Pick<MarketInfo, "id" | "price">,
  check: Pick<DeleverageCheck, "fundingIndex">,
): DeleverageCandidate[] {
  const candidates: DeleverageCandidate[] = [];
  for (const p of positions) {
    if (p.marketId !== market.id || p.position.size === 0n) continue;
    const value = closeValue(p.position, market.price, check.fundingIndex);
    if (value > 0n) candidates.push({ trader: p.trader, marketId: p.marketId, size: p.position.size, value });
  }
  const abs = (x: bigint) => (x < 0n ? -x : x);
  return candidates.sort(
    (a, b) =>
      (a.value > b.value ? -1 : a.value < b.value ? 1 : 0) ||
      (abs(a.size) > abs(b.size) ? -1 : abs(a.size) < abs(b.size) ? 1 : 0) ||
      a.trader.toLowerCase().localeCompare(b.trader.toLowerCase()),
  );
}
