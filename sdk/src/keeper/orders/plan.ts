/**
 * What a keeper can do with the open orders at one block: the book's timing and trigger rules applied off-chain,
 * so that it simulates only what the book would accept.
 *
 * @packageDocumentation
 */
import { improvesPeak, triggerCrossed } from "./trigger.js";
import { OrderKind, isCloseAll, isReduceOnlyKind, type IndexedOrder } from "./types.js";

/** The timing parameters of the book the plan reads (`IOrderBook.params()`, seconds). */
export interface OrderTiming {
  readonly minSettleDelay: bigint | number;
  readonly maxSettleDelay: bigint | number;
  readonly marketOrderExpiry: bigint | number;
  readonly triggerMaxAge: bigint | number;
}

/** A market's latest verified price (WAD) and its publish time. */
export interface MarketPrice {
  readonly price: bigint;
  readonly publishTime: bigint;
}

/** The position a reduce-only order belongs to: its size and the engine's position epoch now. */
export interface PositionState {
  readonly size: bigint;
  readonly epoch: bigint;
}

/** `trader:marketId` with the address in lower case: the key of `PositionState`s. */
export function positionKey(trader: string, marketId: number): string {
  return `${trader.toLowerCase()}:${marketId}`;
}

/** What to do at one block. Each list is in order-id order. */
export interface OrderPlan {
  /** Market orders whose settlement window has opened and that have not expired (`settleableAt <= now <= expiresAt`). */
  readonly settle: IndexedOrder[];
  /** Market orders past `expiresAt` (`now > expiresAt`): `cancelOrder` (a third party earns the fee). */
  readonly cancelExpired: IndexedOrder[];
  /** Trigger orders the latest price crosses: `executeOrders`. */
  readonly execute: IndexedOrder[];
  /** Reduce-only orders of a position closed, liquidated or flipped since: `executeOrders` cancels them for the fee. */
  readonly voided: IndexedOrder[];
  /** Trailing stops whose peak the latest price improves (and that it does not trigger): `ratchetTrailingStop`. */
  readonly ratchet: IndexedOrder[];
  /** Trigger orders left because the market has no usable price (none, too old, or not newer than the order). */
  readonly noPrice: number;
  /** The timing the plan was made with. */
  readonly timing: OrderTiming;
}

/** Which positions the plan needs (`PositionState`): those of reduce-only orders. */
export function positionsNeeded(orders: readonly IndexedOrder[]): { trader: string; marketId: number }[] {
  const seen = new Map<string, { trader: string; marketId: number }>();
  for (const o of orders) if (isReduceOnlyKind(o.kind)) seen.set(positionKey(o.trader, o.marketId), { trader: o.trader, marketId: o.marketId });
  return [...seen.values()];
}

/**
 * Sorts the open orders into what the book would accept at block time `now` (the rules of `OrderBook.sol`):
 * - a market order settles from `settleableAt` to `expiresAt` (inclusive), and is cancellable after `expiresAt`;
 * - a reduce-only order is voided when the position's epoch is no longer its `positionEpoch`, the position is flat,
 *   or it is on the same side as the order; except a flat position with a pending market order of the same trader
 *   and market (a bracket placed with an entry: the book would void it too, but that is no service to anyone);
 * - a trigger order executes when `triggerCrossed` holds at the market's latest price, if that price is published
 *   after the order's `createdAt` and at most `triggerMaxAge` before `now`;
 * - a trailing stop whose peak that price improves (published after the order and the last ratchet) is ratcheted.
 * Markets or positions missing from the maps leave their orders alone (counted in `noPrice`).
 * @example const plan = planOrders(index.orders(), BigInt(block.timestamp), params, prices, positions)
 */
export function planOrders(
  orders: readonly IndexedOrder[],
  now: bigint,
  timing: OrderTiming,
  prices: ReadonlyMap<number, MarketPrice>,
  positions: ReadonlyMap<string, PositionState>,
): OrderPlan {
  const maxAge = BigInt(timing.triggerMaxAge);
  const plan: OrderPlan = { settle: [], cancelExpired: [], execute: [], voided: [], ratchet: [], noPrice: 0, timing };
  let noPrice = 0;
  const pending = new Set(orders.filter((o) => o.kind === OrderKind.Market).map((o) => positionKey(o.trader, o.marketId)));
  for (const order of orders) {
    if (order.kind === OrderKind.Market) {
      if (now > order.expiresAt) plan.cancelExpired.push(order);
      else if (now >= order.settleableAt) plan.settle.push(order);
      continue;
    }
    let positionSize: bigint | undefined;
    if (isReduceOnlyKind(order.kind)) {
      const key = positionKey(order.trader, order.marketId);
      const position = positions.get(key);
      if (!position) {
        noPrice += 1;
        continue;
      }
      if (position.size === 0n && pending.has(key)) continue; // a bracket of the position a pending order opens
      const sideChanged = position.size !== 0n && !isCloseAll(order.sizeDelta) && position.size < 0n !== order.sizeDelta > 0n;
      if (position.epoch !== order.positionEpoch || position.size === 0n || sideChanged) {
        plan.voided.push(order);
        continue;
      }
      positionSize = position.size;
    }
    const price = prices.get(order.marketId);
    if (!price || order.createdAt === undefined || price.publishTime <= order.createdAt || price.publishTime + maxAge < now) {
      noPrice += 1;
      continue;
    }
    if (isCloseAll(order.sizeDelta) && positionSize === undefined) continue; // an entry order cannot close all
    if (triggerCrossed(order, price.price, positionSize)) plan.execute.push(order);
    else if (price.publishTime > order.peakTime && improvesPeak(order, price.price, positionSize)) plan.ratchet.push(order);
  }
  return { ...plan, noPrice };
}

/**
 * Splits orders into batches of at most `size`, keeping those of one settlement time (`settleableAt`) together as
 * far as the size allows (each distinct time needs its own price update in the batch).
 * @example batchBySettleTime(plan.settle, 50)
 */
export function batchBySettleTime(orders: readonly IndexedOrder[], size: number): IndexedOrder[][] {
  const sorted = [...orders].sort((a, b) => (a.settleableAt < b.settleableAt ? -1 : a.settleableAt > b.settleableAt ? 1 : a.id < b.id ? -1 : 1));
  const batches: IndexedOrder[][] = [];
  for (let i = 0; i < sorted.length; i += size) batches.push(sorted.slice(i, i + size));
  return batches;
}
