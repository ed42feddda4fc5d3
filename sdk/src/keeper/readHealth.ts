/**
 * Health of many positions through `PerpLens`, in batches, at one block.
 *
 * @packageDocumentation
 */
import type { ClientContext } from "../client/context.js";
import { toPerpError, withRetry, type RetryOptions } from "../errors.js";
import { decodePositionViews, type PositionHealth } from "./lensCodec.js";
import type { PositionKey } from "./positionIndex.js";

/**
 * Reads the health of many positions through `PerpLens.positions`, `batchSize` per `eth_call`, all at one block and
 * sent together (ethers batches calls of the same tick into one JSON-RPC request). A call that fails for a reason
 * retries cannot fix (typically the node's `eth_call` gas cap) is split in two, down to single positions.
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
  const read = async (batch: readonly PositionKey[]): Promise<PositionHealth[]> => {
    try {
      const data = client.lens.interface.encodeFunctionData("positions", [
        batch.map((k) => k.trader),
        batch.map((k) => BigInt(k.marketId)),
      ]);
      return decodePositionViews(await withRetry(() => client.provider.call({ to, data, blockTag }), retry), batch.length);
    } catch (error) {
      if (batch.length === 1) throw toPerpError(error);
      const half = Math.ceil(batch.length / 2);
      const [a, b] = await Promise.all([read(batch.slice(0, half)), read(batch.slice(half))]);
      return [...a, ...b];
    }
  };
  const batches: PositionKey[][] = [];
  for (let i = 0; i < keys.length; i += batchSize) batches.push(keys.slice(i, i + batchSize));
  return (await Promise.all(batches.map(read))).flat();
}
