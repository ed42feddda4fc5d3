/**
 * What several order actions share: parsing prices, the side a reduce-only order closes, and default bounds.
 *
 * @internal
 */
import { DEFAULT_SLIPPAGE } from "../../constants.js";
import { InvalidRequestError, withPerpErrors } from "../../errors.js";
import { requireOrderBook, type ClientContext } from "../../client/context.js";
import * as m from "../../math.js";
import { CLOSE_ALL, CLOSE_ALL_STORED, NO_PRICE_BOUND_BUY } from "../../model/orders.js";
import { parseDecimal, parsePercent, type WadAmount } from "../../units.js";
import { getAccount } from "../read/getAccount.js";

/** A price ("1850.5" USD or WAD), positive. */
export function parsePrice(value: WadAmount, what: string): bigint {
  const p = typeof value === "bigint" ? value : parseDecimal(value, 18);
  if (p <= 0n) throw new InvalidRequestError(`${what} must be positive`);
  return p;
}

/** A size ("2.5" or WAD), positive. */
export function parseSize(value: WadAmount): bigint {
  const s = typeof value === "bigint" ? value : parseDecimal(value, 18);
  if (s <= 0n) throw new InvalidRequestError("the size must be positive");
  return s;
}

/** A slippage ("0.5%" or WAD ratio), default 0.5 %, in [0, 100 %). */
export function parseSlippage(value: WadAmount | undefined): bigint {
  const s = value === undefined ? DEFAULT_SLIPPAGE : typeof value === "bigint" ? value : parsePercent(value);
  if (s < 0n || s >= m.WAD) throw new InvalidRequestError("slippage must be between 0 % and 100 %");
  return s;
}

/** `price` moved against the trader by `slippage`: up for a buy, down for a sell. */
export function withSlippage(price: bigint, isBuy: boolean, slippage: bigint): bigint {
  return isBuy ? m.mulDivUp(price, m.WAD + slippage, m.WAD) : m.mulDivDown(price, m.WAD - slippage, m.WAD);
}

/** The acceptable price of a stop-market order: no bound. */
export function unbounded(isBuy: boolean): bigint {
  return isBuy ? NO_PRICE_BOUND_BUY : 0n;
}

/**
 * The size of the position a reduce-only order closes: the open position, else the one the trader's pending market
 * order in the market will open (a bracket placed with its entry).
 */
export async function positionToClose(ctx: ClientContext, trader: string, marketId: number): Promise<bigint> {
  const account = await getAccount(ctx, { trader });
  const size = account.positions.get(marketId)?.size ?? 0n;
  if (size !== 0n) return size;
  const book = requireOrderBook(ctx);
  const pending = await withPerpErrors(() => book.pendingMarketOrder(trader, marketId));
  if (pending !== 0n) {
    const order = await withPerpErrors(() => book.getOrder(pending));
    if (order.sizeDelta !== CLOSE_ALL_STORED) return order.sizeDelta;
  }
  throw new InvalidRequestError(`no position (or pending order opening one) in market ${marketId} to close`);
}

/** The signed closing size of a reduce-only order: `size` (default the whole position) against `position`. */
export function closingSize(position: bigint, size: WadAmount | undefined): bigint {
  if (size === undefined) return CLOSE_ALL;
  const s = parseSize(size);
  return position > 0n ? -s : s;
}
