/**
 * What the keeper reads and how it ranks it: the open-position index kept from the engine's events, the lens
 * batches that give every position's on-chain health, and the evaluation that turns them into liquidatable units
 * in priority order, with the SDK's exact liquidation prices and the keeper reward each unit would pay.
 */
import {
  PositionIndex,
  scanPositionEvents,
  isLiquidatable,
  liquidationPrice,
  math,
  valueCross,
  valueIsolated,
  withRetry,
  type AccountSnapshot,
  type MarketInfo,
  type PerpClient,
  type PositionData,
  type PositionEvent,
  type PositionHealth,
  type PositionKey,
  type ProtocolParams,
  type RetryOptions,
} from "@perp/sdk";
import type { Block } from "ethers";

const { WAD } = math;
/** `liquidationPrice` of a long that every price liquidates. */
const EVERY_PRICE = 2n ** 256n - 1n;

// =============================================================================================== position index

/** The result of bringing the index up to a block. */
export interface IndexSync {
  /** First and last block read; `fromBlock > toBlock` when there was nothing new. */
  readonly fromBlock: number;
  readonly toBlock: number;
  readonly events: number;
  /** True when the index was (re)built from the start block: first sync, or a reorganisation was detected. */
  readonly rebuilt: boolean;
  readonly reorg: boolean;
  /**
   * True when the chain head was below the block the index was synced to (a restarted local node, or a chain
   * reverted to a snapshot): the index was rebuilt at once, without waiting for the head to catch up.
   */
  readonly headBelowIndex: boolean;
}

/**
 * The SDK's `PositionIndex` kept current block by block: rebuilt from `startBlock` on the first sync, then extended
 * with the logs of each new block range. If the block it last synced to changed hash (a reorganisation), it is
 * rebuilt from scratch. Log ranges are read `chunk` blocks at a time; a range the endpoint refuses (too many
 * results, range too wide) is halved until it passes.
 */
export class ChainIndex {
  private index = new PositionIndex();
  private syncedTo = -1;
  /** Hash of block `syncedTo`; undefined before the first sync. */
  private syncedHash: string | undefined;

  constructor(
    private readonly client: Pick<PerpClient, "engine" | "provider">,
    readonly startBlock: number,
    private readonly chunk: number,
    private readonly retry: RetryOptions,
  ) {}

  /** Hash of the block the index reflects (undefined before the first sync). */
  get hash(): string | undefined {
    return this.syncedHash;
  }

  /** The block the index reflects (-1 before the first sync). */
  get block(): number {
    return this.syncedTo;
  }

  get size(): number {
    return this.index.size;
  }

  positions(): PositionKey[] {
    return this.index.positions();
  }

  /** Forgets everything: the next `sync` rebuilds the index from `startBlock` (the chain behind it changed). */
  reset(): void {
    this.index = new PositionIndex();
    this.syncedTo = -1;
    this.syncedHash = undefined;
  }

  /** Forgets a pair the lens reports closed (its closing event may be in a block not read yet). */
  drop(key: PositionKey): void {
    this.index.apply([{ trader: key.trader, marketId: key.marketId, open: false, blockNumber: -1, logIndex: 0 }]);
  }

  /**
   * Brings the index to block `latest`; returns that block (its timestamp is the scan's "now"). The block, the new
   * logs and, after the first sync, the hash of the block synced last are read in one round trip: if that hash
   * changed, the chain was reorganised under the index and it is rebuilt from `startBlock`.
   */
  async sync(latest: number): Promise<IndexSync & { readonly block: Block }> {
    const initial = this.syncedHash === undefined;
    const shorter = !initial && this.syncedTo > latest; // a reorganisation, or a local node reverted
    let fromBlock = initial || shorter ? this.startBlock : this.syncedTo + 1;
    const [block, previous, newEvents] = await Promise.all([
      withRetry(() => this.client.provider.getBlock(latest), this.retry),
      initial || shorter ? Promise.resolve(null) : withRetry(() => this.client.provider.getBlock(this.syncedTo), this.retry),
      fromBlock <= latest ? this.readEvents(fromBlock, latest) : Promise.resolve([]),
    ]);
    if (!block?.hash) throw new Error(`the endpoint returned no block ${latest}`);
    let events = newEvents;
    const reorg = shorter || (!initial && previous?.hash !== this.syncedHash);
    if (initial || reorg) {
      this.index = new PositionIndex();
      if (reorg && !shorter) {
        fromBlock = this.startBlock;
        events = await this.readEvents(fromBlock, latest);
      }
    }
    this.index.apply(events);
    this.syncedTo = latest;
    this.syncedHash = block.hash;
    return { fromBlock, toBlock: latest, events: events.length, rebuilt: initial || reorg, reorg, headBelowIndex: shorter, block };
  }

  private async readEvents(fromBlock: number, toBlock: number): Promise<PositionEvent[]> {
    const events: PositionEvent[] = [];
    let chunk = this.chunk;
    for (let start = fromBlock; start <= toBlock; ) {
      const end = Math.min(toBlock, start + chunk - 1);
      try {
        // One chunk at a time: halving below is what adapts to the endpoint's cap on a log query.
        events.push(...(await scanPositionEvents(this.client, start, end, end - start + 1, this.retry)));
        start = end + 1;
      } catch (error) {
        // Not transient (retries are inside): most likely the endpoint's cap on a log query. Halve and go on.
        if (end === start) throw error;
        chunk = Math.max(1, Math.floor((end - start + 1) / 2));
      }
    }
    return events;
  }
}

/** A position as the lens reports it (the SDK's `PositionHealth`). */
export type LensPosition = PositionHealth;

// =============================================================================================== evaluation

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

/** The keeper reward of a unit whose reward base (sum of ratio x notional) is `base`. */
export function clampReward(base: bigint, protocol: Pick<ProtocolParams, "keeperRewardMin" | "keeperRewardMax">): bigint {
  if (base < protocol.keeperRewardMin) return protocol.keeperRewardMin;
  return base > protocol.keeperRewardMax ? protocol.keeperRewardMax : base;
}

function signedDistance(price: bigint, liq: bigint, isLong: boolean): bigint {
  if (isLong && liq === 0n) return WAD;
  if (liq >= EVERY_PRICE) return -WAD;
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
        marketIds: [view.marketId],
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
        marketIds: cross.map((view) => view.marketId),
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
