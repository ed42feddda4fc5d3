/**
 * The liquidatable and near-liquidation positions of many pairs through `PerpLens.scan`: health is computed on
 * chain and only the flagged positions come back.
 *
 * @packageDocumentation
 */
import type { Provider } from "ethers";

import type { ClientContext } from "../client/context.js";
import { PerpError, toPerpError, withRetry, type RetryOptions } from "../errors.js";
import { runConcurrently } from "./concurrently.js";
import { decodeViewAt, VIEW_WORDS, type PositionHealth } from "./lensCodec.js";
import type { PositionKey } from "./positionIndex.js";
import { blockTagHex, hasRawRequests, rawRequest } from "../transport/rawRpc.js";

/** `PerpLens.MAX_SCAN_PAGE`: the most pairs one `scan` call reads. */
export const MAX_SCAN_PAGE = 1_000;

/** What `scanHealth` found over all pages. */
export interface HealthScan {
  /** Pairs that hold a position. */
  readonly open: number;
  /** Open positions whose health needs a price that is unavailable (oracle down): not in `flagged`. */
  readonly invalid: number;
  /** Liquidatable and near-liquidation positions, in the order of the keys. */
  readonly flagged: PositionHealth[];
  /** `eth_call`s made (pages, and the halves of pages a node refused). */
  readonly calls: number;
}

export interface ScanHealthOptions {
  /** Pairs per `scan` call, 1 to `MAX_SCAN_PAGE` (default 500: about 18M gas of `eth_call`). */
  readonly pageSize?: number;
  /** Pages in flight at once, each its own HTTP request on a JSON-RPC endpoint (default 2). */
  readonly concurrency?: number;
  /**
   * A position is flagged when its equity at close is within this share of its notional of the maintenance margin
   * (WAD, default 0.05e18): a price move below `nearMargin / (1 + MMR)` cannot make one left out liquidatable.
   */
  readonly nearMargin?: bigint;
  readonly blockTag?: number | "latest";
  readonly retry?: RetryOptions;
}

/** The default `nearMargin`: 5 % of the notional. */
export const DEFAULT_NEAR_MARGIN = 5n * 10n ** 16n;

/**
 * Decodes the return data of `PerpLens.scan` (open, invalid, flagged views) straight from the hex; addresses come
 * back lowercase (no checksum: a keccak per address is a third of ethers' decoding cost).
 * @throws PerpError when the data does not have the layout of a `scan` answer.
 * @example decodeScanPage(await provider.call({ to: lens, data }))
 */
export function decodeScanPage(data: string): { open: number; invalid: number; flagged: PositionHealth[] } {
  const hex = data.startsWith("0x") ? data.slice(2) : data;
  if (hex.length < 4 * 64 || BigInt(`0x${hex.slice(128, 192)}`) !== 96n) throw new PerpError("PerpLens.scan: unexpected return data");
  const count = Number(BigInt(`0x${hex.slice(192, 256)}`));
  if (hex.length !== (4 + count * VIEW_WORDS) * 64) {
    throw new PerpError(`PerpLens.scan: ${count} views in ${hex.length / 64} words`);
  }
  const flagged: PositionHealth[] = new Array(count);
  for (let k = 0; k < count; k++) flagged[k] = decodeViewAt(hex, 4 + k * VIEW_WORDS);
  return { open: Number(BigInt(`0x${hex.slice(0, 64)}`)), invalid: Number(BigInt(`0x${hex.slice(64, 128)}`)), flagged };
}

/** One `eth_call` (posted on its own on a JSON-RPC provider, see `rawRequest`). */
async function ethCall(provider: Provider, to: string, data: string, blockTag: number | "latest"): Promise<string> {
  if (!hasRawRequests(provider, "call")) return provider.call({ to, data, blockTag });
  const result = await rawRequest(provider, "eth_call", [{ to, data }, blockTagHex(blockTag)]);
  if (typeof result !== "string") throw new PerpError("eth_call: the node answered without return data");
  return result;
}

/** `scan(address[],uint256[],uint256)`'s selector. */
const hexWord = (n: number | bigint) => n.toString(16).padStart(64, "0");

/**
 * The calldata of `PerpLens.scan(traders, marketIds, nearMargin)`, written directly: ethers' encoder checksums every
 * address (a keccak each, half a second for 10,000 pairs).
 * @throws PerpError for a trader that is not a 20-byte hex address.
 */
export function encodeScanCall(selector: string, keys: readonly PositionKey[], nearMargin: bigint): string {
  const n = keys.length;
  const parts: string[] = new Array(6 + 2 * n);
  parts[0] = selector;
  parts[1] = hexWord(96);
  parts[2] = hexWord(96 + 32 * (n + 1));
  parts[3] = hexWord(nearMargin);
  parts[4] = hexWord(n);
  for (let i = 0; i < n; i++) {
    const trader = keys[i].trader;
    if (trader.length !== 42 || !/^0x[0-9a-fA-F]{40}$/.test(trader)) throw new PerpError(`not an address: ${trader}`);
    parts[5 + i] = "000000000000000000000000" + trader.slice(2).toLowerCase();
  }
  parts[5 + n] = hexWord(n);
  for (let i = 0; i < n; i++) {
    const id = keys[i].marketId;
    if (!Number.isSafeInteger(id) || id < 0) throw new PerpError(`not a market id: ${id}`);
    parts[6 + n + i] = hexWord(id);
  }
  return parts.join("");
}

/**
 * Scans `keys` through `PerpLens.scan`, `pageSize` per call, `concurrency` calls in flight, all at one block. The
 * pages hold the keys grouped by trader (the lens values a cross account once for its consecutive pairs); the
 * flagged views come back in the order of `keys`. A page that fails for a reason retries cannot fix (typically the
 * node's `eth_call` gas cap) is split in two, down to single pairs.
 * @example const { flagged } = await scanHealth(client, index.positions(), { blockTag: block })
 */
export async function scanHealth(
  client: Pick<ClientContext, "lens" | "provider">,
  keys: readonly PositionKey[],
  options: ScanHealthOptions = {},
): Promise<HealthScan> {
  const pageSize = options.pageSize ?? 500;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_SCAN_PAGE) {
    throw new RangeError(`the scan page size must be an integer from 1 to ${MAX_SCAN_PAGE}, not ${pageSize}`);
  }
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const nearMargin = options.nearMargin ?? DEFAULT_NEAR_MARGIN;
  const blockTag = options.blockTag ?? "latest";
  const retry = options.retry ?? { attempts: 1 };
  const to = await client.lens.getAddress();
  const selector = client.lens.interface.getFunction("scan")!.selector;
  let calls = 0;
  const read = async (page: readonly PositionKey[]): Promise<ReturnType<typeof decodeScanPage>[]> => {
    try {
      const data = encodeScanCall(selector, page, nearMargin);
      calls += 1;
      return [decodeScanPage(await withRetry(() => ethCall(client.provider, to, data, blockTag), retry))];
    } catch (error) {
      if (page.length === 1) throw toPerpError(error);
      const half = Math.ceil(page.length / 2);
      return [...(await read(page.slice(0, half))), ...(await read(page.slice(half)))];
    }
  };
  // Grouped by trader (first-seen order): the lens values a cross account once for its consecutive pairs.
  const byTrader = new Map<string, PositionKey[]>();
  for (const key of keys) {
    const trader = key.trader.toLowerCase();
    const group = byTrader.get(trader);
    if (group) group.push(key);
    else byTrader.set(trader, [key]);
  }
  const grouped = [...byTrader.values()].flat();
  const pages: PositionKey[][] = [];
  for (let i = 0; i < grouped.length; i += pageSize) pages.push(grouped.slice(i, i + pageSize));
  const results = await runConcurrently(pages.length, concurrency, (i) => read(pages[i]));
  let open = 0;
  let invalid = 0;
  const flagged: PositionHealth[] = [];
  for (const page of results.flat()) {
    open += page.open;
    invalid += page.invalid;
    for (const view of page.flagged) flagged.push(view);
  }
  // Back in the order of `keys`.
  const order = new Map<string, number>();
  keys.forEach((key, i) => order.set(`${key.trader.toLowerCase()}:${key.marketId}`, i));
  const rank = (view: PositionHealth) => order.get(`${view.trader}:${view.marketId}`) ?? Number.MAX_SAFE_INTEGER;
  flagged.sort((a, b) => rank(a) - rank(b));
  return { open, invalid, flagged, calls };
}
