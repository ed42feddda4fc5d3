/**
 * The open positions of a deployment, kept from the engine's events.
 *
 * @packageDocumentation
 */

/** Pairs of (trader, market) that have an open position, as rebuilt from events. */
export interface PositionKey {
  readonly trader: string;
  readonly marketId: number;
}

/**
 * The open positions of a deployment, maintained from the engine's events: `PositionModified` opens or closes
 * (`newSize == 0`), `PositionClosedAtIndex` closes. Feed it logs in chain order; rebuild it from the deployment block
 * after a restart.
 * @example const index = new PositionIndex(); index.apply(await scanPositionEvents(client, from, to))
 */
export class PositionIndex {
  private readonly open = new Map<string, PositionKey>();
  /** The last block whose logs were applied. */
  lastBlock = -1;

  /**
   * Applies decoded events in chain order.
   * @example index.apply(events)
   */
  apply(events: readonly PositionEvent[]): void {
    for (const event of events) {
      if (event.touch) continue;
      const key = `${event.trader.toLowerCase()}:${event.marketId}`;
      if (event.open) this.open.set(key, { trader: event.trader, marketId: event.marketId });
      else this.open.delete(key);
      if (event.blockNumber > this.lastBlock) this.lastBlock = event.blockNumber;
    }
  }

  /**
   * Every open (trader, market) pair.
   * @example index.positions().length
   */
  positions(): PositionKey[] {
    return [...this.open.values()];
  }

  get size(): number {
    return this.open.size;
  }
}

/** A position-changing event reduced to what the index needs. */
export interface PositionEvent {
  readonly trader: string;
  readonly marketId: number;
  /** True when the position is open after the event. */
  readonly open: boolean;
  /** The trader's health changed but no position opened or closed (`MarginRemoved`, `Withdrawn`): ignored here. */
  readonly touch?: boolean;
  readonly blockNumber: number;
  readonly logIndex: number;
}
