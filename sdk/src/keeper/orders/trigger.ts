/**
 * When a trigger order may execute and when a trailing stop's peak may be raised: the order book's rules, in bigint.
 *
 * @packageDocumentation
 */
import { OrderKind, isCloseAll } from "./types.js";

/** Basis points in one: the unit of `trailBps`. */
export const BPS = 10_000n;

/** The fields of an order the trigger rule reads. */
export interface TriggerFields {
  readonly kind: OrderKind;
  readonly sizeDelta: bigint;
  readonly triggerPrice: bigint;
  readonly trailBps: number;
}

/**
 * Whether the order buys: `sizeDelta > 0`, or for `CLOSE_ALL` the opposite of the position (`positionSize`, needed
 * then; a close-all order of a flat position has no side and throws).
 * @example orderIsBuy({ sizeDelta: -10n ** 18n }) // false
 */
export function orderIsBuy(order: Pick<TriggerFields, "sizeDelta">, positionSize?: bigint): boolean {
  if (!isCloseAll(order.sizeDelta)) return order.sizeDelta > 0n;
  if (positionSize === undefined || positionSize === 0n) throw new RangeError("a close-all order's side needs the (non-zero) position size");
  return positionSize < 0n;
}

/**
 * The price at which a trailing stop fires, from its peak: a sell (closing a long) fires at or below
 * `peak x (1 - trailBps)`, rounded up (the stop is never further from the peak than `trailBps`); a buy (closing a
 * short) at or above `peak x (1 + trailBps)`, rounded down.
 * @example trailingStopPrice(2_000n * WAD, 500, false) // 1,900 WAD
 */
export function trailingStopPrice(peak: bigint, trailBps: number, isBuy: boolean): bigint {
  const bps = BigInt(trailBps);
  if (isBuy) return (peak * (BPS + bps)) / BPS;
  const num = peak * (BPS - bps);
  return (num + BPS - 1n) / BPS;
}

/**
 * Whether `price` (the verified oracle price, WAD) crosses the order's trigger, so that the book would execute it:
 * - `Limit`: buy at or below `triggerPrice`, sell at or above;
 * - `Stop`: buy at or above, sell at or below;
 * - `TakeProfit` (reduce-only, its side is the close): a sell (closing a long) at or above, a buy at or below;
 * - `StopLoss`: a sell at or below, a buy at or above;
 * - `TrailingStop`: a sell at or below `trailingStopPrice(peak)`, a buy at or above it;
 * - `Market`: never (market orders settle, they do not trigger).
 * `positionSize` is needed for `CLOSE_ALL` orders only (see `orderIsBuy`).
 * @example triggerCrossed({ kind: OrderKind.StopLoss, sizeDelta: -WAD, triggerPrice: 1_800n * WAD, trailBps: 0 }, 1_799n * WAD) // true
 */
export function triggerCrossed(order: TriggerFields, price: bigint, positionSize?: bigint): boolean {
  if (order.kind === OrderKind.Market) return false;
  const buy = orderIsBuy(order, positionSize);
  const trigger = order.triggerPrice;
  switch (order.kind) {
    case OrderKind.Limit:
    case OrderKind.TakeProfit:
      return buy ? price <= trigger : price >= trigger;
    case OrderKind.Stop:
    case OrderKind.StopLoss:
      return buy ? price >= trigger : price <= trigger;
    case OrderKind.TrailingStop: {
      const stop = trailingStopPrice(trigger, order.trailBps, buy);
      return buy ? price >= stop : price <= stop;
    }
    default:
      return false;
  }
}

/**
 * Whether `price` would raise a trailing stop's peak: above it for a sell (the peak of a long is its highest
 * price), below it for a buy. False for every other kind.
 * @example improvesPeak({ kind: OrderKind.TrailingStop, sizeDelta: -WAD, triggerPrice: 2_000n * WAD, trailBps: 500 }, 2_001n * WAD) // true
 */
export function improvesPeak(order: TriggerFields, price: bigint, positionSize?: bigint): boolean {
  if (order.kind !== OrderKind.TrailingStop) return false;
  return orderIsBuy(order, positionSize) ? price < order.triggerPrice : price > order.triggerPrice;
}

/**
 * A Pyth price (`price x 10^expo`) as WAD, the way the Pyth adapter normalises it: multiplied up exactly when
 * `expo >= -18`, divided down (rounded down) below.
 * @example pythPriceToWad(200_000_000_000n, -8) // 2,000 WAD
 */
export function pythPriceToWad(price: bigint, expo: number): bigint {
  if (expo >= -18) return price * 10n ** BigInt(18 + expo);
  return price / 10n ** BigInt(-18 - expo);
}
