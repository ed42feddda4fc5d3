/**
 * Auto-deleveraging mirrored off-chain, pure: `LiquidationLogic.autoDeleverage` closes a profitable position at the
 * index price (no fee) while traders' net unrealised profit in its market exceeds `maxPnlFactor x vault NAV`. One
 * implementation for `getDeleverageStatus` and the keeper's deleveraging phase.
 *
 * The contract (for reference):
 * ```solidity
 * uint256 limit = FPM.mulWadDown(s.vaultNav(), m.params.maxPnlFactor);
 * MarketLib.accrueInMemory(state, price);
 * int256 tradersProfit = PerpMath.tradersClaimUp(price, skew(state), skewScale, state.fundingIndex, state.entryFundingSum);
 * if (tradersProfit <= limit) revert DeleverageNotNeeded(tradersProfit, limit);
 * // closeAtFill: fill = fillPrice(price, skew(state), -size, skewScale)
 * int256 value = pnlDown(size, entry, fill) - fundingOwedUp(size, state.fundingIndex, last);
 * if (value <= 0) revert PositionNotProfitable(value);
 * ```
 *
 * @packageDocumentation
 */
import * as m from "../../math.js";
import type { PositionKey } from "../../keeper/positionIndex.js";
import { accrue, skewOf, type MarketSnapshot, type PositionData } from "../../valuation.js";

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

/**
 * The check `autoDeleverage` starts with, for `market` at its index price and time `now`.
 * @example deleverageCheck(market, await engine.vaultNav(), BigInt(block.timestamp)).needed
 */
export function deleverageCheck(market: Pick<MarketSnapshot, "id" | "state" | "params" | "price">, nav: bigint, now: bigint): DeleverageCheck {
  const state = accrue(market.state, market.price, now);
  const tradersProfit = m.tradersClaimUp(market.price, skewOf(state), market.params.skewScale, state.fundingIndex, state.entryFundingSum);
  const limit = m.mulWadDown(nav, market.params.maxPnlFactor);
  return { marketId: market.id, tradersProfit, limit, needed: tradersProfit > limit, fundingIndex: state.fundingIndex };
}

/**
 * What a close at `price` pays the trader for `position`: `pnlDown(size, entry, price) - fundingOwedUp(size, index,
 * last)`; `autoDeleverage` closes at the close fill (`deleverageFill`).
 * @example closeValue(position, deleverageFill(position, market), check.fundingIndex) > 0n // autoDeleverage accepts it
 */
export function closeValue(position: PositionData, price: bigint, fundingIndex: bigint): bigint {
  return m.pnlDown(position.size, position.entryPrice, price) - m.fundingOwedUp(position.size, fundingIndex, position.lastFundingIndex);
}

/**
 * The price `autoDeleverage` closes `position` at (`LedgerLib.closeAtFill`): the index price moved by the
 * close's effect on the market's skew.
 * @example deleverageFill(position, market) // a long closing into a long skew fills above the index
 */
export function deleverageFill(position: Pick<PositionData, "size">, market: Pick<MarketSnapshot, "price" | "state" | "params">): bigint {
  return m.fillPrice(market.price, skewOf(market.state), -position.size, market.params.skewScale);
}

/** A position `autoDeleverage` would close, with its value at its close fill and the check's funding index. */
export interface DeleverageCandidate extends PositionKey {
  readonly size: bigint;
  /** USD WAD, positive. */
  readonly value: bigint;
}

/**
 * The positions of the market that a close at their fill would pay, most profitable first (ties: larger size first, then trader address).
 * @example const [first] = deleverageCandidates(views, market, deleverageCheck(market, nav, now))
 */
export function deleverageCandidates(
  positions: readonly (PositionKey & { readonly position: PositionData })[],
  market: Pick<MarketSnapshot, "id" | "price" | "state" | "params">,
  check: Pick<DeleverageCheck, "fundingIndex">,
): DeleverageCandidate[] {
  const candidates: DeleverageCandidate[] = [];
  for (const p of positions) {
    if (p.marketId !== market.id || p.position.size === 0n) continue;
    const value = closeValue(p.position, deleverageFill(p.position, market), check.fundingIndex);
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
