/**
 * Which positions a keeper must read on chain this block, so that the healthy majority is not re-read every block.
 *
 * @packageDocumentation
 */
import * as math from "../math.js";
import type { MarketInfo } from "../types.js";
import type { ProtocolParams } from "../valuation.js";
import type { PositionHealth } from "./lensCodec.js";
import type { PositionKey } from "./positionIndex.js";
import type { HealthScan } from "./scanHealth.js";

const { WAD } = math;
const DAY = 86_400n;

/** What to read this block: every key (`full`), or only the flagged and the touched ones. */
export interface WatchPlan {
  readonly full: boolean;
  /** Why a full scan: `first`, `market` (a market's price, skew or funding moved far enough, or its settings
   * changed), `protocol` (its parameters changed), `age` (the last full scan is older than `maxAgeSeconds`). */
  readonly reason: "first" | "market" | "protocol" | "age" | undefined;
  readonly keys: PositionKey[];
}

interface MarketReference {
  readonly price: bigint;
  readonly skew: bigint;
  readonly valid: boolean;
  /** The settings a position's health depends on, joined. */
  readonly settings: string;
}

const keyOf = (trader: string, marketId: number) => `${trader.toLowerCase()}:${marketId}`;

function settingsOf(market: MarketInfo): string {
  const p = market.params;
  return [market.priceFeed.toLowerCase(), p.maintenanceMarginRatio, p.skewScale, p.takerFeeRate, p.makerFeeRate, p.fundingFactor, p.maxFundingRatePerDay].join(":");
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

/**
 * Keeps the positions a full `PerpLens.scan` flagged (liquidatable or within `nearMargin` of it) and decides when a
 * full scan is due again. A position the lens left out had equity at close at least `nearMargin x notional` above
 * its maintenance margin; a market's drift since that scan, as a share of the notional, is at most
 * `|price move| / price + |skew change| / skewScale + maxFundingRatePerDay x elapsed / day` (the index price, the
 * fill price's premium and the funding accrued), and the maintenance margin moves with the price by MMR x that. So
 * while every market's drift stays below half of `nearMargin` (the other half covers the MMR term and rounding), no
 * left-out position can have become liquidatable: only the flagged ones and the traders whose own events lowered
 * their health (new positions, `MarginRemoved`, `Withdrawn`) need reading. Any change of a market's settings or
 * oracle validity, or of the protocol parameters, makes the next scan a full one.
 * @example
 * ```ts
 * const plan = watch.plan(index.positions(), markets, protocol, now, sync.touched);
 * watch.record(plan, await scanHealth(client, plan.keys, { nearMargin: watch.nearMargin }), markets, protocol, now);
 * const views = watch.flagged();
 * ```
 */
export class HealthWatch {
  private readonly kept = new Map<string, PositionHealth>();
  private reference: { markets: Map<number, MarketReference>; protocol: string; time: bigint } | undefined;

  constructor(
    /** WAD share of the notional (`scanHealth`'s `nearMargin`). */
    readonly nearMargin: bigint,
    /** A full scan at least this often (default one hour). */
    readonly maxAgeSeconds = 3_600n,
  ) {
    if (nearMargin <= 0n || nearMargin >= WAD) throw new RangeError("nearMargin must be a WAD share between 0 and 1");
  }

  /** Forgets everything: the next plan is a full scan (the chain under the index changed). */
  reset(): void {
    this.kept.clear();
    this.reference = undefined;
  }

  /** Positions the last scans flagged, in no particular order. */
  flagged(): PositionHealth[] {
    return [...this.kept.values()];
  }

  /** Why the next scan must read every key, or undefined when the flagged and touched ones suffice. */
  private fullReason(markets: ReadonlyMap<number, MarketInfo>, protocol: ProtocolParams, now: bigint): WatchPlan["reason"] {
    const ref = this.reference;
    if (!ref) return "first";
    if (protocolKey(protocol) !== ref.protocol) return "protocol";
    if (now < ref.time || now - ref.time >= this.maxAgeSeconds) return "age";
    if (markets.size !== ref.markets.size) return "market";
    const elapsed = now - ref.time;
    for (const [id, market] of markets) {
      const r = ref.markets.get(id);
      if (!r || r.valid !== market.priceValid || r.settings !== settingsOf(market)) return "market";
      if (!market.priceValid) continue;
      if (r.price === 0n || market.params.skewScale === 0n) return "market";
      const skew = market.state.longOpenInterest - market.state.shortOpenInterest;
      const drift =
        (abs(market.price - r.price) * WAD) / r.price +
        (abs(skew - r.skew) * WAD) / market.params.skewScale +
        (market.params.maxFundingRatePerDay * elapsed) / DAY;
      if (2n * drift >= this.nearMargin) return "market";
    }
    return undefined;
  }

  /**
   * The keys to read now: all of `keys` when a full scan is due, else those `keys` that were flagged or whose
   * trader is in `touched` (lowercase).
   */
  plan(
    keys: readonly PositionKey[],
    markets: ReadonlyMap<number, MarketInfo>,
    protocol: ProtocolParams,
    now: bigint,
    touched: ReadonlySet<string>,
  ): WatchPlan {
    const reason = this.fullReason(markets, protocol, now);
    if (reason) return { full: true, reason, keys: [...keys] };
    return {
      full: false,
      reason,
      keys: keys.filter((k) => touched.has(k.trader.toLowerCase()) || this.kept.has(keyOf(k.trader, k.marketId))),
    };
  }

  /** Takes in the scan of `plan.keys` made at the markets and time given. */
  record(plan: WatchPlan, scan: HealthScan, markets: ReadonlyMap<number, MarketInfo>, protocol: ProtocolParams, now: bigint): void {
    if (plan.full) {
      this.reference = {
        markets: new Map(
          [...markets].map(([id, m]) => [
            id,
            { price: m.price, skew: m.state.longOpenInterest - m.state.shortOpenInterest, valid: m.priceValid, settings: settingsOf(m) },
          ]),
        ),
        protocol: protocolKey(protocol),
        time: now,
      };
    }
    // A partial plan re-read every kept pair still in the index: what it did not read is closed, and goes too.
    this.kept.clear();
    for (const view of scan.flagged) this.kept.set(keyOf(view.trader, view.marketId), view);
  }

  /** Forgets a pair (closed, or liquidated). */
  drop(key: PositionKey): void {
    this.kept.delete(keyOf(key.trader, key.marketId));
  }
}

function protocolKey(protocol: ProtocolParams): string {
  return Object.entries(protocol)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(",");
}
