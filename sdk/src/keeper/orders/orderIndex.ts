/**
 * The open orders of an order book, kept from its events.
 *
 * @packageDocumentation
 */
import { CancelReason, OrderKind, type IndexedOrder } from "./types.js";

interface EventBase {
  readonly orderId: bigint;
  readonly blockNumber: number;
  readonly logIndex: number;
}

/** The book's events, reduced to what the index needs (decoded by `decodeOrderLog`). */
export type OrderEvent =
  | (EventBase & {
      readonly name: "OrderCommitted";
      readonly trader: string;
      readonly marketId: number;
      readonly sizeDelta: bigint;
      readonly acceptablePrice: bigint;
      readonly keeperFee: bigint;
      readonly settleableAt: bigint;
      readonly expiresAt: bigint;
    })
  | (EventBase & {
      readonly name: "TriggerOrderPlaced";
      readonly trader: string;
      readonly marketId: number;
      readonly kind: OrderKind;
      readonly sizeDelta: bigint;
      readonly triggerPrice: bigint;
      readonly acceptablePrice: bigint;
      readonly trailBps: number;
      readonly keeperFee: bigint;
      readonly positionEpoch: bigint;
      readonly ocoPartner: bigint;
    })
  | (EventBase & {
      readonly name: "TriggerOrderUpdated";
      readonly sizeDelta: bigint;
      readonly triggerPrice: bigint;
      readonly acceptablePrice: bigint;
      readonly createdAt: bigint;
    })
  | (EventBase & { readonly name: "TrailingPeakRatcheted"; readonly peak: bigint; readonly publishTime: bigint })
  | (EventBase & {
      readonly name: "OrderExecuted";
      readonly trader: string;
      readonly marketId: number;
      readonly kind: OrderKind;
      readonly price: bigint;
      readonly publishTime: bigint;
      readonly keeper: string;
      readonly keeperFee: bigint;
    })
  | (EventBase & {
      readonly name: "OrderCancelled";
      readonly trader: string;
      readonly reason: CancelReason;
      readonly by: string;
      readonly feeTo: bigint;
    });

/** The names of the events the index reads. */
export const ORDER_EVENT_NAMES = [
  "OrderCommitted",
  "TriggerOrderPlaced",
  "TriggerOrderUpdated",
  "TrailingPeakRatcheted",
  "OrderExecuted",
  "OrderCancelled",
] as const satisfies readonly OrderEvent["name"][];

/**
 * The open orders of a book, maintained from its events in chain order: `OrderCommitted` and `TriggerOrderPlaced`
 * add, `TriggerOrderUpdated` and `TrailingPeakRatcheted` change, `OrderExecuted` and `OrderCancelled` remove. The
 * placement block's time (a trigger order's `createdAt`) is not in the event: `needsBlockTime` lists the blocks,
 * `setBlockTime` fills them in. Rebuild it from the book's deployment block after a restart or a reorganisation
 * (`OrderChainIndex` does both).
 * @example const index = new OrderIndex(); index.apply(await scanOrderEvents(provider, book, from, to))
 */
export class OrderIndex {
  private readonly open = new Map<bigint, IndexedOrder>();
  /** Ids removed in this index's history (an event for one of them again would be a replay). */
  private readonly closed = new Set<bigint>();
  /** The last block whose logs were applied (-1: none). */
  lastBlock = -1;

  /**
   * Applies decoded events in chain order. An update of an order not in the index (placed before the start block)
   * is ignored; removing one is remembered, so that a late add cannot resurrect it.
   */
  apply(events: readonly OrderEvent[]): void {
    for (const event of events) {
      const id = event.orderId;
      switch (event.name) {
        case "OrderCommitted":
          if (this.closed.has(id)) break;
          this.open.set(id, {
            id,
            trader: event.trader,
            marketId: event.marketId,
            kind: OrderKind.Market,
            sizeDelta: event.sizeDelta,
            acceptablePrice: event.acceptablePrice,
            triggerPrice: 0n,
            trailBps: 0,
            keeperFee: event.keeperFee,
            positionEpoch: 0n,
            ocoPartner: 0n,
            settleableAt: event.settleableAt,
            expiresAt: event.expiresAt,
            createdAt: undefined,
            peakTime: 0n,
            blockNumber: event.blockNumber,
            logIndex: event.logIndex,
          });
          break;
        case "TriggerOrderPlaced":
          if (this.closed.has(id)) break;
          this.open.set(id, {
            id,
            trader: event.trader,
            marketId: event.marketId,
            kind: event.kind,
            sizeDelta: event.sizeDelta,
            acceptablePrice: event.acceptablePrice,
            triggerPrice: event.triggerPrice,
            trailBps: event.trailBps,
            keeperFee: event.keeperFee,
            positionEpoch: event.positionEpoch,
            ocoPartner: event.ocoPartner,
            settleableAt: 0n,
            expiresAt: 0n,
            createdAt: undefined,
            peakTime: 0n,
            blockNumber: event.blockNumber,
            logIndex: event.logIndex,
          });
          break;
        case "TriggerOrderUpdated": {
          const order = this.open.get(id);
          if (order) {
            this.open.set(id, {
              ...order,
              sizeDelta: event.sizeDelta,
              triggerPrice: event.triggerPrice,
              acceptablePrice: event.acceptablePrice,
              createdAt: event.createdAt,
            });
          }
          break;
        }
        case "TrailingPeakRatcheted": {
          const order = this.open.get(id);
          if (order) this.open.set(id, { ...order, triggerPrice: event.peak, peakTime: event.publishTime });
          break;
        }
        case "OrderExecuted":
        case "OrderCancelled":
          this.open.delete(id);
          this.closed.add(id);
          break;
      }
      if (event.blockNumber > this.lastBlock) this.lastBlock = event.blockNumber;
    }
  }

  /** Blocks whose time is needed: where trigger orders without a `createdAt` were placed. */
  needsBlockTime(): number[] {
    const blocks = new Set<number>();
    for (const order of this.open.values()) if (order.kind !== OrderKind.Market && order.createdAt === undefined) blocks.add(order.blockNumber);
    return [...blocks].sort((a, b) => a - b);
  }

  /** Sets `createdAt` of the trigger orders placed in `blockNumber` (and not updated since) to its time. */
  setBlockTime(blockNumber: number, timestamp: bigint): void {
    for (const [id, order] of this.open) {
      if (order.kind !== OrderKind.Market && order.createdAt === undefined && order.blockNumber === blockNumber) {
        this.open.set(id, { ...order, createdAt: timestamp });
      }
    }
  }

  /** Forgets an order known to be gone (a settlement skipped it, another keeper's event is not read yet). */
  drop(id: bigint): void {
    if (this.open.delete(id)) this.closed.add(id);
  }

  get(id: bigint): IndexedOrder | undefined {
    return this.open.get(id);
  }

  /** Every open order, oldest first (placement order). */
  orders(): IndexedOrder[] {
    return [...this.open.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get size(): number {
    return this.open.size;
  }
}
