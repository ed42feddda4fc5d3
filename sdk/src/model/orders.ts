/**
 * Orders (v2, SPEC "Orders") as the SDK describes them: the enums of `IOrderBook.sol` by name, an open order with its
 * times and void flag, and the outcome of a settlement decoded from the order book's and engine's logs.
 *
 * @packageDocumentation
 */
import type { Log, TransactionReceipt } from "ethers";

import { decodeRevertData } from "../errors/decode.js";
import type { PerpContractError } from "../errors/base.js";
import { toTradeExecution, decodeLog } from "../events/decode.js";
import { IOrderBook__factory } from "../generated/index.js";
import type { TradeExecution } from "../types.js";

/** `sizeDelta` of an order that closes the whole position, whatever its size then (`CLOSE_ALL` = int256 min). */
export const CLOSE_ALL = -(2n ** 255n);
/** How `Order.sizeDelta` (int128) stores `CLOSE_ALL`. */
export const CLOSE_ALL_STORED = -(2n ** 127n);
/** `acceptablePrice` of a buy without a price bound (stop-market): uint128 max. A sell's is 0. */
export const NO_PRICE_BOUND_BUY = 2n ** 128n - 1n;

/** `OrderKind` of IOrderBook.sol, by index. */
export const ORDER_KINDS = ["market", "limit", "stop", "take-profit", "stop-loss", "trailing-stop"] as const;
export type OrderKindName = (typeof ORDER_KINDS)[number];
/** `CancelReason` of IOrderBook.sol, by index. */
export const CANCEL_REASONS = ["by-trader", "expired", "execution-failed", "voided", "oco-partner-executed"] as const;
export type CancelReasonName = (typeof CANCEL_REASONS)[number];

/** The `OrderKind` index of a kind name. @example orderKindIndex("stop-loss") // 4 */
export function orderKindIndex(kind: OrderKindName): number {
  return ORDER_KINDS.indexOf(kind);
}

/** The order book's parameters (`IOrderBook.params()`). Times in seconds, the fee in USD WAD. */
export interface OrderBookParams {
  readonly keeperFee: bigint;
  readonly minSettleDelay: bigint;
  readonly maxSettleDelay: bigint;
  readonly marketOrderExpiry: bigint;
  readonly triggerMaxAge: bigint;
  readonly minExecutionGas: bigint;
}

/** `IOrderBook.params()` as bigints. */
export function toOrderBookParams(p: {
  keeperFee: bigint;
  minSettleDelay: bigint;
  maxSettleDelay: bigint;
  marketOrderExpiry: bigint;
  triggerMaxAge: bigint;
  minExecutionGas: bigint;
}): OrderBookParams {
  return {
    keeperFee: p.keeperFee,
    minSettleDelay: p.minSettleDelay,
    maxSettleDelay: p.maxSettleDelay,
    marketOrderExpiry: p.marketOrderExpiry,
    triggerMaxAge: p.triggerMaxAge,
    minExecutionGas: p.minExecutionGas,
  };
}

/** The fields of `IOrderBook.getOrder` (typechain's `OrderStructOutput`). */
export interface RawOrder {
  trader: string;
  marketId: bigint;
  kind: bigint;
  isolated: boolean;
  reduceOnly: boolean;
  trailBps: bigint;
  createdAt: bigint;
  sizeDelta: bigint;
  acceptablePrice: bigint;
  triggerPrice: bigint;
  marginDelta: bigint;
  keeperFee: bigint;
  positionEpoch: bigint;
  ocoPartner: bigint;
}

/** An open order, decoded. Prices and sizes are WAD, times Unix seconds. */
export interface OrderInfo {
  readonly id: bigint;
  readonly trader: string;
  readonly marketId: number;
  readonly symbol: string;
  readonly kind: OrderKindName;
  /** "long" buys, "short" sells (a reduce-only order sells to close a long). */
  readonly side: "long" | "short";
  /** Signed size, or `CLOSE_ALL`. */
  readonly sizeDelta: bigint;
  /** Whether the order closes the whole position, whatever its size. */
  readonly closeAll: boolean;
  readonly isolated: boolean;
  readonly reduceOnly: boolean;
  /** Trigger price (trigger orders); a trailing stop's peak. 0 for a market order. */
  readonly triggerPrice: bigint;
  /** Worst accepted fill; undefined when the order has no bound (stop-market). */
  readonly acceptablePrice: bigint | undefined;
  /** A trailing stop's retrace in basis points (0 otherwise). */
  readonly trailBps: number;
  /** For a trailing stop: the price that triggers it now, peak ∓ trailBps. */
  readonly trailingTrigger?: bigint;
  readonly marginDelta: bigint;
  /** Keeper fee in escrow (USD WAD). */
  readonly keeperFee: bigint;
  readonly createdAt: bigint;
  /** Market order: first publish time of its settlement price (createdAt + minSettleDelay). */
  readonly settleableAt?: bigint;
  /** Market order: last publish time of its settlement price (createdAt + maxSettleDelay). */
  readonly settleBy?: bigint;
  /** Market order: from then on anyone may cancel it (createdAt + marketOrderExpiry). */
  readonly expiresAt?: bigint;
  /** The other leg of its bracket (undefined: none). */
  readonly ocoPartner?: bigint;
  readonly positionEpoch: bigint;
  /** A reduce-only order of a position closed, liquidated or flipped since it was placed: it will never execute. */
  readonly voided: boolean;
}

/**
 * Decodes `getOrder(id)` (pure). `currentEpoch` is `engine.positionEpoch(trader, marketId)`, `positionSize` the
 * trader's position in the market (it gives a close-all order its side).
 * @example decodeOrder(5n, await orderBook.getOrder(5n), params, "ETH-USD", await engine.positionEpoch(trader, 0))
 */
export function decodeOrder(
  id: bigint,
  o: RawOrder,
  params: OrderBookParams,
  symbol: string,
  currentEpoch: bigint,
  positionSize = 0n,
): OrderInfo {
  const kind = ORDER_KINDS[Number(o.kind)] ?? "market";
  const closeAll = o.sizeDelta === CLOSE_ALL_STORED;
  // A close-all order carries no sign: it trades against the position (or, without one, its unbounded price says).
  const isBuy = closeAll ? (positionSize !== 0n ? positionSize < 0n : o.acceptablePrice === NO_PRICE_BOUND_BUY) : o.sizeDelta > 0n;
  const unbounded = (isBuy && o.acceptablePrice === NO_PRICE_BOUND_BUY) || (!isBuy && o.acceptablePrice === 0n);
  const trailBps = Number(o.trailBps);
  const market = kind === "market";
  return {
    id,
    trader: o.trader,
    marketId: Number(o.marketId),
    symbol,
    kind,
    side: isBuy ? "long" : "short",
    sizeDelta: closeAll ? CLOSE_ALL : o.sizeDelta,
    closeAll,
    isolated: o.isolated,
    reduceOnly: o.reduceOnly,
    triggerPrice: o.triggerPrice,
    acceptablePrice: unbounded ? undefined : o.acceptablePrice,
    trailBps,
    // OrderBook._threshold: rounded toward the peak (never fires on less retrace than asked for).
    trailingTrigger:
      kind === "trailing-stop"
        ? isBuy
          ? (o.triggerPrice * (10_000n + BigInt(trailBps))) / 10_000n
          : (o.triggerPrice * (10_000n - BigInt(trailBps)) + 9_999n) / 10_000n
        : undefined,
    marginDelta: o.marginDelta,
    keeperFee: o.keeperFee,
    createdAt: o.createdAt,
    settleableAt: market ? o.createdAt + params.minSettleDelay : undefined,
    settleBy: market ? o.createdAt + params.maxSettleDelay : undefined,
    expiresAt: market ? o.createdAt + params.marketOrderExpiry : undefined,
    ocoPartner: o.ocoPartner === 0n ? undefined : o.ocoPartner,
    positionEpoch: o.positionEpoch,
    voided: o.reduceOnly && o.positionEpoch < currentEpoch,
  };
}

/** A market order as committed (`OrderCommitted`). */
export interface CommittedOrder {
  readonly orderId: bigint;
  readonly trader: string;
  readonly marketId: number;
  readonly sizeDelta: bigint;
  readonly acceptablePrice: bigint;
  readonly marginDelta: bigint;
  readonly isolated: boolean;
  readonly keeperFee: bigint;
  readonly settleableAt: bigint;
  readonly expiresAt: bigint;
}

/** How an order left the book. */
export type OrderOutcome =
  | {
      readonly status: "executed";
      readonly orderId: bigint;
      readonly kind: OrderKindName;
      /** The verified price the engine executed at (`OrderExecuted.price`). */
      readonly price: bigint;
      readonly publishTime: bigint;
      readonly keeper: string;
      readonly keeperFee: bigint;
      /** The engine's `PositionModified` of the same transaction: fill price, fee, PnL, funding. */
      readonly execution: TradeExecution | undefined;
      readonly txHash: string;
      readonly blockNumber: number;
    }
  | {
      readonly status: "cancelled";
      readonly orderId: bigint;
      readonly reason: CancelReasonName;
      /** Who sent the cancelling (or failing) transaction. */
      readonly by: string;
      /** The escrowed keeper fee released by the cancel (`OrderCancelled.feeTo` carries the amount). */
      readonly fee: bigint;
      /** Who got it: the trader on their own cancel or an OCO cancel, else `by` (keeper, canceller). */
      readonly feeRecipient: string;
      /** The engine's revert data of a failed execution (`execution-failed`), decoded when it is a protocol error. */
      readonly error: PerpContractError | undefined;
      readonly data: string;
      readonly txHash: string;
      readonly blockNumber: number;
    };

let bookInterface: ReturnType<typeof IOrderBook__factory.createInterface> | undefined;
/** The order book's interface (events). */
export function orderBookInterface() {
  return (bookInterface ??= IOrderBook__factory.createInterface());
}

type LogLike = Pick<Log, "address" | "topics" | "data" | "blockNumber" | "index" | "transactionHash">;

/**
 * The `OrderCommitted` events of `orderBook` among logs (a receipt's).
 * @example const [committed] = committedOrders(receipt.logs, deployment.contracts.OrderBook!)
 */
export function committedOrders(logs: readonly LogLike[], orderBook: string): CommittedOrder[] {
  const iface = orderBookInterface();
  const out: CommittedOrder[] = [];
  for (const log of logs) {
    if (log.address.toLowerCase() !== orderBook.toLowerCase()) continue;
    const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed?.name !== "OrderCommitted") continue;
    const a = parsed.args;
    out.push({
      orderId: a.orderId,
      trader: a.trader,
      marketId: Number(a.marketId),
      sizeDelta: a.sizeDelta,
      acceptablePrice: a.acceptablePrice,
      marginDelta: a.marginDelta,
      isolated: a.isolated,
      keeperFee: a.keeperFee,
      settleableAt: a.settleableAt,
      expiresAt: a.expiresAt,
    });
  }
  return out;
}

/**
 * The outcome of `orderId` among logs (of one or more transactions): its `OrderExecuted` with the engine's
 * `PositionModified` of the same transaction, or its `OrderCancelled` with the failure decoded; undefined if neither.
 * @example const outcome = orderOutcome(receipt.logs, 5n, deployment)
 */
export function orderOutcome(
  logs: readonly LogLike[],
  orderId: bigint,
  deployment: { readonly contracts: { readonly PerpEngine: string; readonly OrderBook?: string } },
): OrderOutcome | undefined {
  const book = deployment.contracts.OrderBook?.toLowerCase();
  const iface = orderBookInterface();
  for (const log of logs) {
    if (log.address.toLowerCase() !== book) continue;
    let parsed;
    try {
      parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
    } catch {
      continue;
    }
    if (!parsed || (parsed.name !== "OrderExecuted" && parsed.name !== "OrderCancelled")) continue;
    const a = parsed.args;
    if (a.orderId !== orderId) continue;
    if (parsed.name === "OrderExecuted") {
      // The engine's trade of this order: same transaction, same trader and market, logged before OrderExecuted.
      let execution: TradeExecution | undefined;
      for (const other of logs) {
        if (other.transactionHash !== log.transactionHash || other.index > log.index) continue;
        const event = decodeLog(other, { engine: deployment.contracts.PerpEngine });
        if (
          event?.name === "PositionModified" &&
          event.trader.toLowerCase() === String(a.trader).toLowerCase() &&
          event.marketId === a.marketId
        ) {
          execution = toTradeExecution(event);
        }
      }
      return {
        status: "executed",
        orderId,
        kind: ORDER_KINDS[Number(a.kind)] ?? "market",
        price: a.price,
        publishTime: a.publishTime,
        keeper: a.keeper,
        keeperFee: a.keeperFee,
        execution,
        txHash: log.transactionHash,
        blockNumber: log.blockNumber,
      };
    }
    const data = String(a.data);
    const reason = CANCEL_REASONS[Number(a.reason)] ?? "by-trader";
    return {
      status: "cancelled",
      orderId,
      reason,
      by: a.by,
      fee: a.feeTo,
      feeRecipient: reason === "by-trader" || reason === "oco-partner-executed" ? a.trader : a.by,
      error: data.length >= 10 ? decodeRevertData(data) : undefined,
      data,
      txHash: log.transactionHash,
      blockNumber: log.blockNumber,
    };
  }
  return undefined;
}

/** `orderOutcome` over a receipt. */
export function receiptOrderOutcome(
  receipt: Pick<TransactionReceipt, "logs">,
  orderId: bigint,
  deployment: { readonly contracts: { readonly PerpEngine: string; readonly OrderBook?: string } },
): OrderOutcome | undefined {
  return orderOutcome(receipt.logs, orderId, deployment);
}
