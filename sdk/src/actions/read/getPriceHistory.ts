import { withPerpErrors, type PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import { getLogsChunked } from "../../events/decode.js";
import { PythPriceFeed__factory } from "../../generated/index.js";
import { latestBlock } from "../../transport/latestBlock.js";
import type { Wad } from "../../units.js";

export interface GetPriceHistoryParameters {
  /** First block read (default: the deployment block). Give the last `toBlock` + 1 to read only what is new. */
  readonly fromBlock?: number;
  /** Last block read (default: latest). */
  readonly toBlock?: number;
  /** Blocks per `eth_getLogs` (default 10,000). */
  readonly chunk?: number;
}

/** One price a market's adapter cached on chain (`PriceCached`): what the engine valued and traded at from then. */
export interface PricePoint {
  /** The oracle's publish time (seconds). */
  readonly publishTime: bigint;
  /** WAD. */
  readonly price: Wad;
  readonly blockNumber: number;
}

/** Per market id, the prices cached on chain in publish-time order, and the last block read. */
export interface PriceHistory {
  readonly markets: ReadonlyMap<number, readonly PricePoint[]>;
  readonly toBlock: number;
}
export type GetPriceHistoryReturnType = PriceHistory;
export type GetPriceHistoryErrorType = PerpTransportError;

/**
 * The index prices each market's Pyth adapter cached on chain (its `PriceCached` events: every price update a
 * trade, an order, a liquidation or a price push brought), read with the SDK's one log reader (`getLogsChunked`),
 * one `eth_getLogs` per chunk for all markets. A market whose adapter emits no such event (a Chainlink feed) has an
 * empty series. Read incrementally: pass the previous `toBlock + 1` as `fromBlock`, then `mergePriceHistory`.
 * @example
 * ```ts
 * const history = await getPriceHistory(client);
 * for (const p of history.markets.get(0) ?? []) console.log(p.publishTime, formatPrice(p.price));
 * ```
 */
export async function getPriceHistory(
  ctx: Pick<ClientContext, "deployment" | "provider">,
  parameters: GetPriceHistoryParameters = {},
): Promise<GetPriceHistoryReturnType> {
  const toBlock = parameters.toBlock ?? (await withPerpErrors(() => latestBlock(ctx.provider))).number;
  const fromBlock = parameters.fromBlock ?? ctx.deployment.deploymentBlock;
  const markets = new Map<number, PricePoint[]>(ctx.deployment.markets.map((m) => [m.id, []]));
  if (fromBlock > toBlock || ctx.deployment.markets.length === 0) return { markets, toBlock };
  const iface = PythPriceFeed__factory.createInterface();
  const event = iface.getEvent("PriceCached");
  const byFeed = new Map<string, number[]>();
  for (const m of ctx.deployment.markets) byFeed.set(m.priceFeed.toLowerCase(), [...(byFeed.get(m.priceFeed.toLowerCase()) ?? []), m.id]);
  const logs = await getLogsChunked(ctx.provider, {
    address: [...byFeed.keys()],
    topics: [event.topicHash],
    fromBlock,
    toBlock,
    chunk: parameters.chunk,
  });
  for (const log of logs) {
    const parsed = iface.decodeEventLog(event, log.data, log.topics);
    const point: PricePoint = { publishTime: BigInt(parsed.publishTime), price: BigInt(parsed.price) as Wad, blockNumber: log.blockNumber };
    for (const id of byFeed.get(log.address.toLowerCase()) ?? []) markets.get(id)!.push(point);
  }
  for (const [id, points] of markets) markets.set(id, ordered(points));
  return { markets, toBlock };
}

/** Publish-time order, one point per publish time (the last cached). */
function ordered(points: readonly PricePoint[]): PricePoint[] {
  const byTime = new Map<bigint, PricePoint>();
  for (const p of points) byTime.set(p.publishTime, p);
  return [...byTime.values()].sort((a, b) => (a.publishTime < b.publishTime ? -1 : a.publishTime > b.publishTime ? 1 : 0));
}

/**
 * Joins a price history with the one read after it (pure).
 * @example history = mergePriceHistory(history, await getPriceHistory(client, { fromBlock: history.toBlock + 1 }))
 */
export function mergePriceHistory(earlier: PriceHistory, later: PriceHistory): PriceHistory {
  const markets = new Map<number, readonly PricePoint[]>(earlier.markets);
  for (const [id, points] of later.markets) markets.set(id, ordered([...(markets.get(id) ?? []), ...points]));
  return { markets, toBlock: Math.max(earlier.toBlock, later.toBlock) };
}
