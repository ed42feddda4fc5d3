/**
 * The position index kept current block by block, and rebuilt when the chain under it changed.
 *
 * @packageDocumentation
 */
import type { Block } from "ethers";

import type { ClientContext } from "../client/context.js";
import { PerpError, withRetry, type RetryOptions } from "../errors.js";
import { PositionIndex, type PositionEvent, type PositionKey } from "./positionIndex.js";
import { scanPositionEvents } from "./scanPositionEvents.js";

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

/** What `ChainIndex.sync` returns besides the counts: the block, and the traders whose health events may have lowered. */
export interface ChainSync extends IndexSync {
  readonly block: Block;
  /** Lowercase traders with a position event, `MarginRemoved` or `Withdrawn` in the blocks read (all of them after a rebuild). */
  readonly touched: ReadonlySet<string>;
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
    private readonly client: Pick<ClientContext, "engine" | "provider">,
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
  async sync(latest: number): Promise<ChainSync> {
    const initial = this.syncedHash === undefined;
    const shorter = !initial && this.syncedTo > latest; // a reorganisation, or a local node reverted
    let fromBlock = initial || shorter ? this.startBlock : this.syncedTo + 1;
    const [block, previous, newEvents] = await Promise.all([
      withRetry(() => this.client.provider.getBlock(latest), this.retry),
      initial || shorter ? Promise.resolve(null) : withRetry(() => this.client.provider.getBlock(this.syncedTo), this.retry),
      fromBlock <= latest ? this.readEvents(fromBlock, latest) : Promise.resolve([]),
    ]);
    if (!block?.hash) throw new PerpError(`the endpoint returned no block ${latest}`);
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
    const touched = new Set<string>();
    for (const event of events) touched.add(event.trader.toLowerCase());
    return { fromBlock, toBlock: latest, events: events.length, rebuilt: initial || reorg, reorg, headBelowIndex: shorter, block, touched };
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
