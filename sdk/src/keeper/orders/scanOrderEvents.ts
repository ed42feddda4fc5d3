/**
 * The order book's events, read and decoded for the order index.
 *
 * @packageDocumentation
 */
import { getAddress, type Log, type Provider } from "ethers";

import { toPerpError, withRetry, type RetryOptions } from "../../errors.js";
import { IOrderBook__factory } from "../../generated/index.js";
import { ORDER_EVENT_NAMES, type OrderEvent } from "./orderIndex.js";
import type { CancelReason, OrderKind } from "./types.js";

const bookInterface = IOrderBook__factory.createInterface();
const TOPICS = ORDER_EVENT_NAMES.map((name) => bookInterface.getEvent(name).topicHash);

/** The topic hashes of the events the index reads (one `eth_getLogs` filter for all six). */
export function orderEventTopics(): string[] {
  return [...TOPICS];
}

/**
 * One log of the book as an `OrderEvent`, or undefined if it is not one of the six events the index reads.
 * @example const event = decodeOrderLog(receipt.logs[0])
 */
export function decodeOrderLog(log: Pick<Log, "topics" | "data" | "blockNumber" | "index">): OrderEvent | undefined {
  const parsed = bookInterface.parseLog({ topics: [...log.topics], data: log.data });
  if (!parsed) return undefined;
  const a = parsed.args;
  const base = { orderId: a.orderId as bigint, blockNumber: log.blockNumber, logIndex: log.index };
  switch (parsed.name) {
    case "OrderCommitted":
      return {
        ...base,
        name: "OrderCommitted",
        trader: getAddress(a.trader as string),
        marketId: Number(a.marketId),
        sizeDelta: a.sizeDelta as bigint,
        acceptablePrice: a.acceptablePrice as bigint,
        keeperFee: a.keeperFee as bigint,
        settleableAt: a.settleableAt as bigint,
        expiresAt: a.expiresAt as bigint,
      };
    case "TriggerOrderPlaced":
      return {
        ...base,
        name: "TriggerOrderPlaced",
        trader: getAddress(a.trader as string),
        marketId: Number(a.marketId),
        kind: Number(a.kind) as OrderKind,
        sizeDelta: a.sizeDelta as bigint,
        triggerPrice: a.triggerPrice as bigint,
        acceptablePrice: a.acceptablePrice as bigint,
        trailBps: Number(a.trailBps),
        keeperFee: a.keeperFee as bigint,
        positionEpoch: a.positionEpoch as bigint,
        ocoPartner: a.ocoPartner as bigint,
      };
    case "TriggerOrderUpdated":
      return {
        ...base,
        name: "TriggerOrderUpdated",
        sizeDelta: a.sizeDelta as bigint,
        triggerPrice: a.triggerPrice as bigint,
        acceptablePrice: a.acceptablePrice as bigint,
        createdAt: a.createdAt as bigint,
      };
    case "TrailingPeakRatcheted":
      return { ...base, name: "TrailingPeakRatcheted", peak: a.peak as bigint, publishTime: a.publishTime as bigint };
    case "OrderExecuted":
      return {
        ...base,
        name: "OrderExecuted",
        trader: getAddress(a.trader as string),
        marketId: Number(a.marketId),
        kind: Number(a.kind) as OrderKind,
        price: a.price as bigint,
        publishTime: a.publishTime as bigint,
        keeper: getAddress(a.keeper as string),
        keeperFee: a.keeperFee as bigint,
      };
    case "OrderCancelled":
      return {
        ...base,
        name: "OrderCancelled",
        trader: getAddress(a.trader as string),
        reason: Number(a.reason) as CancelReason,
        by: getAddress(a.by as string),
        feeTo: a.feeTo as bigint,
      };
    default:
      return undefined;
  }
}

/**
 * Reads the book's order events between two blocks (inclusive), in chain order, with one `eth_getLogs` per chunk
 * of `chunk` blocks for all six topics. A range the endpoint refuses is halved until it passes.
 * @example const events = await scanOrderEvents(provider, book, deploymentBlock, latest)
 */
export async function scanOrderEvents(
  provider: Pick<Provider, "getLogs">,
  book: string,
  fromBlock: number,
  toBlock: number,
  chunk = 10_000,
  retry: RetryOptions = { attempts: 1 },
): Promise<OrderEvent[]> {
  const events: OrderEvent[] = [];
  let size = chunk;
  for (let start = fromBlock; start <= toBlock; ) {
    const end = Math.min(toBlock, start + size - 1);
    let logs: Log[];
    try {
      logs = await withRetry(() => provider.getLogs({ address: book, fromBlock: start, toBlock: end, topics: [TOPICS] }), retry);
    } catch (error) {
      if (end === start) throw toPerpError(error);
      size = Math.max(1, Math.floor((end - start + 1) / 2));
      continue;
    }
    for (const log of logs) {
      const event = decodeOrderLog(log);
      if (event) events.push(event);
    }
    start = end + 1;
  }
  return events.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
}
