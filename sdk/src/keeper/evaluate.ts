/**
 * The keeper's picture of a scan: which units are liquidatable, in what order, and what each pays.
 *
 * @packageDocumentation
 */
import { LIQUIDATABLE_AT_ANY_PRICE } from "../constants.js";
import * as math from "../math.js";
import type { MarketInfo } from "../types.js";
import { distribute, simulateLiquidation, type Ledgers } from "../model/liquidation.js";
import {
  liquidationPrice,
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
  /** The markets of those positions (one for an isolated unit). */
  readonly marketIds: readonly number[];
  readonly notional: bigint;
  /**
   * The keeper reward it pays at the scanned prices, USD WAD: `_distribute`'s clamp(sum of ratio x notional,
   * positions x keeperRewardMin, keeperRewardMax) (the SDK's `distribute`).
   */
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

/** The ledgers do not change the reward `_distribute` pays (only who is paid now and who gets a claim). */
const NO_LEDGERS: Ledgers = { vaultCash: 0n, insuranceFund: 0n, totalProfitClaims: 0n, deficit: 0n };

/**
 * The keeper reward of liquidating the unit holding (`trader`, `marketId`) now, from the SDK's mirror of
 * `LiquidationLogic._liquidate` / `_distribute` (the minimum reward is per position closed), and whether the mirror
 * agrees with the lens that it is liquidatable (not judged when a price is unavailable). A market missing from the
 * snapshot leaves the minimum the engine pays for the unit's positions.
 */
function unitReward(
  account: AccountSnapshot,
  markets: ReadonlyMap<number, MarketInfo>,
  marketId: number,
  ids: readonly number[],
  protocol: ProtocolParams,
  now: bigint,
): { reward: bigint; mirrored: boolean } {
  if (!ids.every((id) => markets.has(id))) return { reward: protocol.keeperRewardMin * BigInt(ids.length), mirrored: true };
  const sim = simulateLiquidation(account, markets, marketId, protocol, NO_LEDGERS, now);
  const split = sim.distribution ?? distribute(sim.valuation, sim.collected, sim.rewardBase, sim.insuranceBase, protocol, NO_LEDGERS);
  const pricesKnown = ids.every((id) => markets.get(id)!.priceValid);
  return { reward: split.reward, mirrored: sim.liquidatable || !pricesKnown };
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

    // The isolated positions, then the cross account (named by its first cross position), each as one unit.
    const cross = list.filter((view) => !view.isolated);
    const named = [...list.filter((view) => view.isolated && view.liquidatable), ...(cross[0]?.liquidatable ? [cross[0]] : [])];
    for (const view of named) {
      const ids = view.isolated ? [view.marketId] : cross.map((c) => c.marketId);
      const reward = unitReward(account, markets, view.marketId, ids, protocol, now);
      if (!reward.mirrored) mirrorMismatches += 1;
      const distances = evaluated.filter((e) => (view.isolated ? e.marketId === view.marketId && e.isolated : !e.isolated));
      units.push({
        trader: view.trader,
        marketId: view.marketId,
        isolated: view.isolated,
        positions: ids.length,
        marketIds: ids,
        notional: view.notional,
        reward: reward.reward,
        distance: distances.reduce<bigint | undefined>(
          (min, { distance: d }) => (d === undefined ? min : min === undefined || d < min ? d : min),
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
