import type { TransactionReceipt } from "ethers";

import {
  InvalidRequestError,
  PerpError,
  type NoSignerError,
  type PerpContractError,
  type PerpTransportError,
} from "../../errors.js";
import { accountOf, requireOrderBook, requireSigner, sendCall, type ClientContext } from "../../client/context.js";
import { orderBookInterface, orderKindIndex, type OrderKindName } from "../../model/orders.js";
import type { MarketRef } from "../../types.js";
import { toUsdWad, type InvalidAmountError, type UsdAmount, type WadAmount } from "../../units.js";
import { getMarket } from "../read/getMarket.js";
import { closingSize, parsePrice, parseSize, parseSlippage, positionToClose, unbounded, withSlippage } from "./shared.js";

/** Kinds of trigger orders (every kind but `market`). */
export type TriggerKind = Exclude<OrderKindName, "market">;

export interface PlaceTriggerOrderParameters {
  readonly market: MarketRef;
  /**
   * `limit` / `stop` enter (or grow) a position: buy at or below / at or above `triggerPrice`. `take-profit`,
   * `stop-loss` and `trailing-stop` only reduce the open position.
   */
  readonly kind: TriggerKind;
  /** Entries: the side to open. Reduce-only orders close the position's side (the side is derived). */
  readonly side?: "long" | "short";
  /** Entries: the size (required). Reduce-only: the size to close (default the whole position, whatever it is then). */
  readonly size?: WadAmount;
  /** The trigger ("1850" USD or WAD). Not for a trailing stop: its peak starts at the market's cached price. */
  readonly triggerPrice?: WadAmount;
  /** A trailing stop's retrace from its peak, in basis points (e.g. 200 = 2 %). */
  readonly trailBps?: number;
  /**
   * Worst fill accepted. Default: `stop-loss` and `trailing-stop` are stop-market (no bound: they fill in a gap),
   * `limit` fills at the trigger or better, `stop` and `take-profit` accept `slippage` beyond the trigger.
   */
  readonly acceptablePrice?: WadAmount;
  /** With `stop`, `take-profit` (or to bound a stop-loss): e.g. "0.5%" (default 0.5 %). */
  readonly slippage?: WadAmount;
  /** Entries: isolated margin moved from the cross balance on execution (USD). */
  readonly margin?: UsdAmount;
  readonly isolated?: boolean;
}
export interface PlaceTriggerOrderReturnType {
  readonly receipt: TransactionReceipt;
  readonly orderId: bigint;
  /** What was sent (a trailing stop's `triggerPrice` is its starting peak, set on chain). */
  readonly sizeDelta: bigint;
  readonly triggerPrice: bigint;
  readonly acceptablePrice: bigint;
  readonly keeperFee: bigint;
}
export type PlaceTriggerOrderErrorType =
  | InvalidAmountError
  | InvalidRequestError
  | NoSignerError
  | PerpContractError
  | PerpTransportError;

const REDUCE_ONLY: readonly TriggerKind[] = ["take-profit", "stop-loss", "trailing-stop"];

/**
 * Places a trigger order: a `limit` or `stop` entry, or a reduce-only `take-profit`, `stop-loss` or `trailing-stop`.
 * Keepers execute it at the verified price when it triggers (never at the trigger price itself), bounded by its
 * acceptable price. The keeper fee is escrowed and comes back if the trader cancels.
 * @example
 * ```ts
 * await placeTriggerOrder(client, { market: "ETH", kind: "stop-loss", triggerPrice: "1850" });
 * await placeTriggerOrder(client, { market: "ETH", kind: "limit", side: "long", size: "1", triggerPrice: "1900" });
 * await placeTriggerOrder(client, { market: "ETH", kind: "trailing-stop", trailBps: 200 });
 * ```
 */
export async function placeTriggerOrder(ctx: ClientContext, parameters: PlaceTriggerOrderParameters): Promise<PlaceTriggerOrderReturnType> {
  requireSigner(ctx);
  const book = requireOrderBook(ctx);
  const { kind } = parameters;
  if (!["limit", "stop", ...REDUCE_ONLY].includes(kind)) {
    throw new InvalidRequestError(`kind must be limit, stop, take-profit, stop-loss or trailing-stop, not "${String(kind)}"`);
  }
  const market = await getMarket(ctx, { market: parameters.market });
  const trader = await accountOf(ctx);
  const reduceOnly = REDUCE_ONLY.includes(kind);
  let sizeDelta: bigint;
  let isBuy: boolean;
  if (reduceOnly) {
    if (parameters.margin !== undefined) throw new InvalidRequestError(`a ${kind} order only reduces: it moves no margin`);
    const position = await positionToClose(ctx, trader, market.id);
    sizeDelta = closingSize(position, parameters.size);
    isBuy = position < 0n;
  } else {
    if (parameters.side !== "long" && parameters.side !== "short") {
      throw new InvalidRequestError(`a ${kind} order needs a side: "long" or "short"`);
    }
    if (parameters.size === undefined) throw new InvalidRequestError(`a ${kind} order needs a size`);
    isBuy = parameters.side === "long";
    sizeDelta = isBuy ? parseSize(parameters.size) : -parseSize(parameters.size);
  }
  let trailBps = 0;
  let triggerPrice: bigint;
  if (kind === "trailing-stop") {
    trailBps = parameters.trailBps ?? 0;
    if (!Number.isInteger(trailBps) || trailBps <= 0 || trailBps >= 10_000) {
      throw new InvalidRequestError("a trailing stop needs trailBps, a whole number of basis points between 1 and 9,999");
    }
    if (parameters.triggerPrice !== undefined) {
      throw new InvalidRequestError("a trailing stop takes no trigger price: its peak starts at the market's verified price");
    }
    triggerPrice = 0n;
  } else {
    if (parameters.trailBps !== undefined) throw new InvalidRequestError("trailBps applies to trailing stops only");
    if (parameters.triggerPrice === undefined) throw new InvalidRequestError(`a ${kind} order needs a trigger price`);
    triggerPrice = parsePrice(parameters.triggerPrice, "the trigger price");
  }
  let acceptablePrice: bigint;
  if (parameters.acceptablePrice !== undefined) {
    acceptablePrice = parsePrice(parameters.acceptablePrice, "the acceptable price");
  } else if ((kind === "stop-loss" || kind === "trailing-stop") && parameters.slippage === undefined) {
    acceptablePrice = unbounded(isBuy);
  } else if (kind === "limit") {
    acceptablePrice = triggerPrice;
  } else {
    acceptablePrice = withSlippage(triggerPrice, isBuy, parseSlippage(parameters.slippage));
  }
  const margin = parameters.margin === undefined ? 0n : toUsdWad(parameters.margin);
  const isolated = parameters.isolated ?? margin > 0n;
  const receipt = await sendCall(
    ctx,
    book.placeTriggerOrder.populateTransaction(market.id, orderKindIndex(kind), sizeDelta, triggerPrice, acceptablePrice, margin, isolated, trailBps),
  );
  const placed = placedOrders(receipt.logs, await book.getAddress());
  const [first] = placed;
  if (!first) throw new PerpError(`transaction ${receipt.hash} placed no order`);
  // A trailing stop's peak is set on chain: report it from the event.
  return { receipt, orderId: first.orderId, sizeDelta, triggerPrice: first.triggerPrice, acceptablePrice, keeperFee: first.keeperFee };
}

/** The `TriggerOrderPlaced` events of the order book in a receipt's logs: ids and fees, in log order. */
export function placedOrders(
  logs: readonly { address: string; topics: readonly string[]; data: string }[],
  orderBook: string,
): { orderId: bigint; kind: number; triggerPrice: bigint; keeperFee: bigint; ocoPartner: bigint }[] {
  const iface = orderBookInterface();
  const out: { orderId: bigint; kind: number; triggerPrice: bigint; keeperFee: bigint; ocoPartner: bigint }[] = [];
  for (const log of logs) {
    if (log.address.toLowerCase() !== orderBook.toLowerCase()) continue;
    const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed?.name === "TriggerOrderPlaced") {
      const a = parsed.args;
      out.push({ orderId: a.orderId, kind: Number(a.kind), triggerPrice: a.triggerPrice, keeperFee: a.keeperFee, ocoPartner: a.ocoPartner });
    }
  }
  return out;
}
