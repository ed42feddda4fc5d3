import * as m from "../../math.js";
import type { Snapshot } from "../../types.js";
import type { Wad } from "../../units.js";
import { crossMarketIds, isLiquidatable, valueCross, valueIsolated, type Valuation } from "../../valuation.js";

/** One liquidatable unit of an account: the cross account, or one isolated position. */
export interface UnitHealth {
  /** The isolated position's market, or undefined for the cross account. */
  readonly marketId: number | undefined;
  readonly valuation: Valuation;
  /** (equity at close - maintenance) / equity at close, clamped to [0, 1] (WAD): 1 is no risk, 0 liquidatable. */
  readonly health: Wad;
  readonly liquidatable: boolean;
}

/** What an account panel shows, valued as the engine values it. */
export interface AccountSummary {
  readonly crossBalance: Wad;
  /** The cross account valued at the index (balance + PnL - funding of the cross positions; maintenance includes the minimum keeper rewards). */
  readonly cross: Valuation;
  /**
   * What the cross balance can give up now (withdraw, or move into an isolated margin): the largest debit the
   * engine's debit rule (`MarginLib.debitCross`) allows, to the wei; 0 when the cross account is liquidatable.
   */
  readonly freeCollateral: Wad;
  /** Sum of the isolated positions' margins. */
  readonly isolatedMargin: Wad;
  /** Cross equity plus each isolated position's equity. */
  readonly totalEquity: Wad;
  /** The cross account (when it holds positions) and every isolated position. */
  readonly units: readonly UnitHealth[];
  /** The weakest unit's health (1 with no position). */
  readonly health: Wad;
  readonly liquidatable: boolean;
}

/**
 * The account panel's numbers from a snapshot (pure): free collateral by the engine's debit rule, the cross and
 * isolated units' valuations and their health (how far each is from liquidation), and the weakest of them.
 * @example
 * ```ts
 * const summary = accountSummary(await client.snapshot());
 * console.log(formatUsd(summary.freeCollateral), formatPercent(summary.health));
 * ```
 */
export function accountSummary(s: Snapshot): AccountSummary {
  const kmin = s.protocol.keeperRewardMin;
  const account = s.account;
  const cross = valueCross(account, s.markets, s.now, kmin);
  const units: UnitHealth[] = [];
  if (account.crossMarkets !== 0n) units.push(unit(undefined, cross));
  let isolatedMargin = 0n;
  let totalEquity = cross.equity;
  const crossIds = new Set(crossMarketIds(account.crossMarkets));
  for (const [marketId, pos] of account.positions) {
    if (crossIds.has(marketId) || pos.size === 0n) continue;
    const market = s.markets.get(marketId);
    if (!market) continue;
    const v = valueIsolated(pos, market, market.price, s.now, kmin);
    isolatedMargin += pos.margin;
    totalEquity += v.equity;
    units.push(unit(marketId, v));
  }
  const health = units.reduce((min, u) => (u.health < min ? u.health : min), m.WAD);
  return {
    crossBalance: account.crossBalance as Wad,
    cross,
    freeCollateral: freeCollateral(s, cross) as Wad,
    isolatedMargin: isolatedMargin as Wad,
    totalEquity: totalEquity as Wad,
    units,
    health: health as Wad,
    liquidatable: units.some((u) => u.liquidatable),
  };
}

function unit(marketId: number | undefined, v: Valuation): UnitHealth {
  const liquidatable = isLiquidatable(v);
  let health = 0n;
  if (!liquidatable && v.equityAtClose > 0n) health = m.mulDivDown(v.equityAtClose - v.maintenanceMargin, m.WAD, v.equityAtClose);
  return { marketId, valuation: v, health: (health > m.WAD ? m.WAD : health) as Wad, liquidatable };
}

/** The largest `amount` `debitRejection` accepts: balance, and with cross positions both margin rules' headroom. */
function freeCollateral(s: Snapshot, v: Valuation): bigint {
  const balance = s.account.crossBalance;
  if (balance <= 0n) return 0n;
  if (s.account.crossMarkets === 0n) return balance;
  if (isLiquidatable(v)) return 0n;
  const lower = v.equity < v.equityAtClose ? v.equity : v.equityAtClose;
  let free = balance;
  if (v.equityNoProfit - v.initialMargin < free) free = v.equityNoProfit - v.initialMargin;
  if (lower - v.maintenanceMargin < free) free = lower - v.maintenanceMargin;
  return free > 0n ? free : 0n;
}
