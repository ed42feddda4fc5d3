/**
 * The order index kept current block by block, and rebuilt when the chain under it changed.
 *
 * @packageDocumentation
 */
import type { Block, Provider } from "ethers";

import { PerpError, withRetry, type RetryOptions } from "../../errors.js";
import type { IndexSync } from "../chainIndex.js";
import { OrderIndex } from "./orderIndex.js";
import { scanOrderEvents } from "./scanOrderEvents.js";
import type { IndexedOrder } from "./types.js";

/**
 * The SDK's `OrderIndex` of one book kept current block by block, like the position index (`ChainIndex`): built
 * from `startBlock` on the first sync, then extended with the logs of each new block range (one `eth_getLogs` for
 * the six events); if the block it last synced to changed hash, or the head is below it (a reorganisation, a
 * restarted node), it is rebuilt from scratch. The times of the blocks where trigger orders were placed are read
 * once (their `createdAt`).
 * @example
 * ```ts
 * const index = new OrderChainIndex(provider, book, deploymentBlock);
 * const { block } = await index.sync(await provider.getBlockNumber());
 * for (const order of index.orders()) console.log(order.id, order.kind);
 * ```
 */
export class OrderChainIndex {
  private index = new OrderIndex();
  private syncedTo = -1;
  private syncedHash: string | undefined;

  constructor(
    private readonly provider: Pick<Provider, "getBlock" | "getLogs">,
    readonly book: string,
    readonly startBlock: number,
    private readonly chunk = 10_000,
    private readonly retry: RetryOptions = { attempts: 1 },
  ) {}

  /** The block the index reflects (-1 before the first sync), and its hash. */
  get block(): number {
    return this.syncedTo;
  }

  get hash(): string | undefined {
    return this.syncedHash;
  }

  get size(): number {
    return this.index.size;
  }

  orders(): IndexedOrder[] {
    return this.index.orders();
  }

  get(id: bigint): IndexedOrder | undefined {
    return this.index.get(id);
  }

  /** Forgets an order known to be gone (its event is in a block not read yet). */
  drop(id: bigint): void {
    this.index.drop(id);
  }

  /** Forgets everything: the next `sync` rebuilds from `startBlock`. */
  reset(): void {
    this.index = new OrderIndex();
    this.syncedTo = -1;
    this.syncedHash = undefined;
  }

  /**
   * Brings the index to block `latest` and returns that block. The block, the new logs and (after the first sync)
   * the block synced last are read together; a changed hash there means a reorganisation: rebuilt from `startBlock`.
   */
  async sync(latest: number): Promise<IndexSync & { readonly block: Block }> {
    const initial = this.syncedHash === undefined;
    const shorter = !initial && this.syncedTo > latest;
    let fromBlock = initial || shorter ? this.startBlock : this.syncedTo + 1;
    const [block, previous, newEvents] = await Promise.all([
      withRetry(() => this.provider.getBlock(latest), this.retry),
      initial || shorter ? Promise.resolve(null) : withRetry(() => this.provider.getBlock(this.syncedTo), this.retry),
      fromBlock <= latest ? scanOrderEvents(this.provider, this.book, fromBlock, latest, this.chunk, this.retry) : Promise.resolve([]),
    ]);
    if (!block?.hash) throw new PerpError(`the endpoint returned no block ${latest}`);
    let events = newEvents;
    const reorg = shorter || (!initial && previous?.hash !== this.syncedHash);
    if (initial || reorg) {
      this.index = new OrderIndex();
      if (reorg && !shorter) {
        fromBlock = this.startBlock;
        events = await scanOrderEvents(this.provider, this.book, fromBlock, latest, this.chunk, this.retry);
      }
    }
    this.index.apply(events);
    const missing = this.index.needsBlockTime();
    const times = await Promise.all(
      missing.map((n) => (n === block.number ? Promise.resolve(block) : withRetry(() => this.provider.getBlock(n), this.retry))),
    );
    missing.forEach((n, i) => {
      const b = times[i];
      if (!b) throw new PerpError(`the endpoint returned no block ${n}`);
      this.index.setBlockTime(n, BigInt(b.timestamp));
    });
    this.syncedTo = latest;
    this.syncedHash = block.hash;
    return { fromBlock, toBlock: latest, events: events.length, rebuilt: initial || reorg, reorg, headBelowIndex: shorter, block };
  }
}
