/**
 * Health of many positions through `PerpLens`, in batches, at one block.
 *
 * @packageDocumentation
 */
import type { ClientContext } from "../client/context.js";
import { toPerpError, withRetry, type RetryOptions } from "../errors.js";
import { decodePositionViews, type PositionHealth } from "./lensCodec.js";
import type { PositionState } from "./orders/plan.js";
import type { PositionKey } from "./positionIndex.js";

/**
 * `read` over `keys` in pages of `pageSize`, all pages sent together (ethers batches calls of the same tick into one
 * JSON-RPC request), results in key order. A page that fails for a reason retries cannot fix (typically the node's
 * `eth_call` gas cap) is split in two, down to single keys.
 */
async function readInPages<T>(keys: readonly PositionKey[], pageSize: number, read: (page: readonly PositionKey[]) => Promise<T[]>): Promise<T[]> {
  const attempt = async (page: readonly PositionKey[]): Promise<T[]> => {
    try {
      return await read(page);
    } catch (error) {
      if (page.length === 1) throw toPerpError(error);
      const half = Math.ceil(page.length / 2);
      const [a, b] = await Promise.all([attempt(page.slice(0, half)), attempt(page.slice(half))]);
      return [...a, ...b];
    }
  };
  const pages: PositionKey[][] = [];
  for (let i = 0; i < keys.length; i += pageSize) pages.push(keys.slice(i, i + pageSize));
  return (await Promise.all(pages.map(attempt))).flat();
}

/**
 * Reads the health of many positions through `PerpLens.positions`, `batchSize` per `eth_call`, all at one block
 * (`readInPages`: sent together, a refused page split).
 * @example const healths = await readHealth(client, index.positions())
 */
export async function readHealth(
  client: Pick<ClientContext, "lens" | "provider">,
  keys: readonly PositionKey[],
  batchSize = 500,
  blockTag: number | "latest" = "latest",
  retry: RetryOptions = { attempts: 1 },
): Promise<PositionHealth[]> {
  const to = await client.lens.getAddress();
  return readInPages(keys, batchSize, async (batch) => {
    const data = client.lens.interface.encodeFunctionData("positions", [
      batch.map((k) => k.trader),
      batch.map((k) => BigInt(k.marketId)),
    ]);
    return decodePositionViews(await withRetry(() => client.provider.call({ to, data, blockTag }), retry), batch.length);
  });
}

/**
 * The size and epoch of many positions through `PerpLens.positionStates` (about 5k gas a position, no valuation),
 * `pageSize` per `eth_call`, all at one block (`readInPages`: sent together, a refused page split). One `getPosition`
 * per position made a trigger run of 1,000 reduce-only positions 1,000 RPC calls.
 * @example const states = await readPositionStates(client, [{ trader, marketId: 0 }], 500, block.number)
 */
export async function readPositionStates(
  client: Pick<ClientContext, "lens">,
  keys: readonly PositionKey[],
  pageSize = 500,
  blockTag: number | "latest" = "latest",
  retry: RetryOptions = { attempts: 1 },
): Promise<PositionState[]> {
  return readInPages(keys, pageSize, async (page) => {
    const states = await withRetry(
      () => client.lens.positionStates(page.map((k) => k.trader), page.map((k) => BigInt(k.marketId)), { blockTag }),
      retry,
    );
    return states.map((state) => ({ size: state.size, epoch: state.epoch }));
  });
}
