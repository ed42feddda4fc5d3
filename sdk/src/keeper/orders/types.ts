/**
 * The order book's enums and the keeper's view of one open order, mirrored from `contracts/interfaces/IOrderBook.sol`.
 *
 * @packageDocumentation
 */

/** `OrderKind` of IOrderBook.sol, by value. */
export const OrderKind = {
  Market: 0,
  Limit: 1,
  Stop: 2,
  TakeProfit: 3,
  StopLoss: 4,
  TrailingStop: 5,
} as const;
export type OrderKind = (typeof OrderKind)[keyof typeof OrderKind];

/** `CancelReason` of IOrderBook.sol, by value. */
export const CancelReason = {
  ByTrader: 0,
  Expired: 1,
  ExecutionFailed: 2,
  Voided: 3,
  OcoPartnerExecuted: 4,
} as const;
export type CancelReason = (typeof CancelReason)[keyof typeof CancelReason];

/** `CLOSE_ALL` of IOrderBook.sol: a `sizeDelta` that closes the whole position, whatever its size then. */
export const CLOSE_ALL = -(2n ** 255n);
/** How the book stores `CLOSE_ALL` in `Order.sizeDelta` (an int128). */
export const CLOSE_ALL_STORED = -(2n ** 127n);

/** Whether a `sizeDelta` (event or stored form) means "close the whole position". */
export function isCloseAll(sizeDelta: bigint): boolean {
  return sizeDelta === CLOSE_ALL || sizeDelta === CLOSE_ALL_STORED;
}

/** Whether the kind is a trigger order's (every kind but `Market`). */
export function isTriggerKind(kind: OrderKind): boolean {
  return kind !== OrderKind.Market;
}

/** Whether the kind is reduce-only (`TakeProfit`, `StopLoss`, `TrailingStop`). */
export function isReduceOnlyKind(kind: OrderKind): boolean {
  return kind === OrderKind.TakeProfit || kind === OrderKind.StopLoss || kind === OrderKind.TrailingStop;
}

/** One open order as the keeper indexes it from the book's events. Prices are WAD, times Unix seconds. */
export interface IndexedOrder {
  readonly id: bigint;
  readonly trader: string;
  readonly marketId: number;
  readonly kind: OrderKind;
  /** Signed size (WAD), or `CLOSE_ALL`. */
  readonly sizeDelta: bigint;
  readonly acceptablePrice: bigint;
  /** Trigger price; for a trailing stop the peak (best verified price since placement). 0 for a market order. */
  readonly triggerPrice: bigint;
  readonly trailBps: number;
  readonly keeperFee: bigint;
  /** Position epoch a reduce-only order belongs to (0 for other orders). */
  readonly positionEpoch: bigint;
  readonly ocoPartner: bigint;
  /** Market orders: first publish time of the settlement window (`createdAt + minSettleDelay`). */
  readonly settleableAt: bigint;
  /** Market orders: when anyone may cancel it (`createdAt + marketOrderExpiry`). */
  readonly expiresAt: bigint;
  /**
   * Trigger orders: the order's `createdAt` (the placement block's time, or `TriggerOrderUpdated.createdAt`): a price
   * must be published after it. Undefined until the placement block's time is known (`OrderIndex.setBlockTime`).
   */
  readonly createdAt: bigint | undefined;
  /** Trailing stops: publish time of the price that set the peak (`TrailingPeakRatcheted`), 0 before any ratchet. */
  readonly peakTime: bigint;
  /** Block and log index of the event that placed the order. */
  readonly blockNumber: number;
  readonly logIndex: number;
}
