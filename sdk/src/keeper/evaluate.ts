/**
 * The keeper's picture of a scan: which units are liquidatable, in what order, and what each pays.
 *
 * @packageDocumentation
 */
import { LIQUIDATABLE_AT_ANY_PRICE } from "../constants.js";
import * as math from "../math.js";
import type { MarketInfo } from "../types.js";
import {
  isLiquidatable,
  liquidationPrice,
  valueCross,
  valueIsolated,
  type AccountSnapshot,
  type PositionData,
  type ProtocolParams,
} from "../valuation.js";
import type { PositionHealth } from "./lensCodec.js";
import type { PositionKey } from "./positionIndex.js";

const { WAD } = math;

/** A position as the lens reports it (the SDK's `PositionHealth`). */
export type LensPosition = PositionHealth;

/** An open position with the keeper's view of it. */
export interface EvaluatedPosition extends PositionKey {
  readonly isolated: boolean;
  readonly size: bigint;
  readonly liquidatable: boolean;
  /** The SDK's exact liquidation price at the scanned block (undefined if it could not be computed). */
  readonly liquidationPrice: bigint | undefined;
  /**
   * Signed distance from the liquidation price as a WAD share of the index price: positive on the safe side,
   * negative past it (how far past). `WAD` when no price liquidates it, `-WAD` when every price does.
   */
  readonly distance: bigint | undefined;
}

/** One thing `liquidateMany` can liquidate: an isolated position, or a whole cross account. */
export interface LiquidationUnit extends PositionKey {
  readonly isolated: boolean;
  /** Positions the liquidation closes (all cross positions of the account for a cross unit). */
  readonly positions: number;
  readonly notional: bigint;
  /** The keeper reward it pays at the scanned prices: min(max(ratio x notional, min), max), USD WAD. */
  readonly reward: bigint;
  /** The smallest signed distance among its positions (see `EvaluatedPosition.distance`). */
  readonly distance: bigint | undefined;
}

/** Everything one scan found. */
export interface Evaluation {
  readonly positions: EvaluatedPosition[];
  /** Liquidatable units, most urgent first. */
  readonly units: LiquidationUnit[];
  /** The healthy positions nearest their liquidation price, nearest first (at most 5). */
  readonly nearest: EvaluatedPosition[];
  /** Pairs the index held that the lens reports closed. */
  readonly closed: PositionKey[];
  /** Positions whose health the lens could not compute (oracle down): not liquidatable now. */
  readonly invalid: number;
  /** Units where the SDK's mirror and the lens disagree on liquidatability (the lens wins; should be 0). */
  readonly mirrorMismatches: number;
}

/**
 * The keeper reward of a unit whose reward base (sum of ratio x notional) is `base`: clamped to the protocol's
 * bounds, as `LiquidationLogic` pays it.
 * @example clampReward(wad("0.5"), { keeperRewardMin: wad("1"), keeperRewardMax: wad("100") }) // wad("1")
 */
export function clampReward(base: bigint, protocol: Pick<ProtocolParams, "keeperRewardMin" | "keeperRewardMax">): bigint {
  if (base < protocol.keeperRewardMin) return protocol.keeperRewardMin;
  return base > protocol.keeperRewardMax ? protocol.keeperRewardMax : base;
}

function signedDistance(price: bigint, liq: bigint, isLong: boolean): bigint {
  if (isLong && liq === 0n) return WAD;
  if (liq >= LIQUIDATABLE_AT_ANY_PRICE) return -WAD;
  if (price === 0n) return 0n;
  return ((isLong ? price - liq : liq - price) * WAD) / price;
}

function compareDistance(a: bigint | undefined, b: bigint | undefined): number {
  // Unknown distances sort as 0: just at the liquidation price.
  const x = a ?? 0n;
  const y = b ?? 0n;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Turns lens views read at one block (time `now`) into the keeper's picture. The lens decides what is liquidatable;
 * the SDK computes each position's exact liquidation price from the same data (a cross account's balance is
 * `equity - unrealizedPnl + accruedFunding`, exact because the engine sums the same per-position roundings), which
 * ranks the units: furthest past its liquidation price first (closest to bad debt), then larger reward.
 * @example
 * ```ts
 * const views = await readHealth(client, index.positions(), 200, block);
 * const { units, nearest } = evaluate(views, markets, protocol, BigInt(timestamp));
 * ```
 */
export function evaluate(
  views: readonly LensPosition[],
  markets: ReadonlyMap<number, MarketInfo>,
  protocol: ProtocolParams,
  now: bigint,
): Evaluation {
  const closed: PositionKey[] = [];
  const byTrader = new Map<string, LensPosition[]>();
  for (const view of views) {
    if (view.position.size === 0n) {
      closed.push({ trader: view.trader, marketId: view.marketId });
      continue;
    }
    const key = view.trader.toLowerCase();
    const list = byTrader.get(key);
    if (list) list.push(view);
    else byTrader.set(key, [view]);
  }

  const positions: EvaluatedPosition[] = [];
  const units: LiquidationUnit[] = [];
  let invalid = 0;
  let mirrorMismatches = 0;
  for (const list of byTrader.values()) {
    let crossMarkets = 0n;
    let crossBalance = 0n;
    let crossBalanceKnown = false;
    const accountPositions = new Map<number, PositionData>();
    for (const view of list) {
      accountPositions.set(view.marketId, view.position);
      if (!view.isolated) {
        crossMarkets |= 1n << BigInt(view.marketId);
        if (view.healthValid && !crossBalanceKnown) {
          crossBalance = view.equity - view.unrealizedPnl + view.accruedFunding;
          crossBalanceKnown = true;
        }
      }
    }
    const account: AccountSnapshot = { crossBalance, crossMarkets, positions: accountPositions };
    const evaluated = list.map((view): EvaluatedPosition => {
      const market = markets.get(view.marketId);
      let liq: bigint | undefined;
      let distance: bigint | undefined;
      if (view.healthValid && market?.priceValid && (view.isolated || crossBalanceKnown)) {
        try {
          liq = liquidationPrice(account, markets, view.marketId, now, protocol.keeperRewardMin);
          distance = signedDistance(market.price, liq, view.position.size > 0n);
        } catch {
          // A market missing from the snapshot: rank it as "at the liquidation price".
        }
      }
      if (!view.healthValid) invalid += 1;
      return {
        trader: view.trader,
        marketId: view.marketId,
        isolated: view.isolated,
        size: view.position.size,
        liquidatable: view.liquidatable,
        liquidationPrice: liq,
        distance,
      };
    });
    positions.push(...evaluated);

    // Isolated units.
    for (const view of list) {
      if (!view.isolated || !view.liquidatable) continue;
      const market = markets.get(view.marketId);
      if (market?.priceValid) {
        const mirrored = isLiquidatable(valueIsolated(view.position, market, market.price, now, protocol.keeperRewardMin));
        if (!mirrored) mirrorMismatches += 1;
      }
      const ratio = market?.params.keeperRewardRatio ?? 0n;
      units.push({
        trader: view.trader,
        marketId: view.marketId,
        isolated: true,
        positions: 1,
        notional: view.notional,
        reward: clampReward(math.mulWadDown(view.notional, ratio), protocol),
        distance: evaluated.find((e) => e.marketId === view.marketId)?.distance,
      });
    }
    // The cross account as one unit, named by its first cross position.
    const cross = list.filter((view) => !view.isolated);
    const first = cross[0];
    if (first?.liquidatable) {
      let base = 0n;
      let pricesKnown = true;
      for (const view of cross) {
        const market = markets.get(view.marketId);
        if (!market?.priceValid) pricesKnown = false;
        if (market) base += math.mulWadDown(math.notionalDown(view.position.size, market.price), market.params.keeperRewardRatio);
      }
      if (pricesKnown && crossBalanceKnown && !isLiquidatable(valueCross(account, markets, now, protocol.keeperRewardMin))) {
        mirrorMismatches += 1;
      }
      const distances = evaluated.filter((e) => !e.isolated).map((e) => e.distance);
      units.push({
        trader: first.trader,
        marketId: first.marketId,
        isolated: false,
        positions: cross.length,
        notional: first.notional,
        reward: clampReward(base, protocol),
        distance: distances.reduce<bigint | undefined>(
          (min, d) => (d === undefined ? min : min === undefined || d < min ? d : min),
          undefined,
        ),
      });
    }
  }

  units.sort((a, b) => compareDistance(a.distance, b.distance) || (a.reward > b.reward ? -1 : a.reward < b.reward ? 1 : 0));
  const nearest = positions
    .filter((p) => !p.liquidatable && p.distance !== undefined)
    .sort((a, b) => compareDistance(a.distance, b.distance))
    .slice(0, 5);
  return { positions, units, nearest, closed, invalid, mirrorMismatches };
}
