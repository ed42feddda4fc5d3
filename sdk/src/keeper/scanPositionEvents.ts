/**
 * The engine's position events, read fast: only what the position index needs is decoded.
 *
 * @packageDocumentation
 */
import type { ClientContext } from "../client/context.js";
import { PerpError, toPerpError, withRetry, type RetryOptions } from "../errors.js";
import type { PositionEvent } from "./positionIndex.js";
import { hasRawRequests, rawRequest } from "../transport/rawRpc.js";

/** What `scanPositionEvents` reads of a log. */
interface RawLog {
  readonly topics: readonly string[];
  readonly data: string;
  readonly blockNumber: number;
  readonly index: number;
}

/**
 * `eth_getLogs` of `address` and `topics` between two blocks. On a JSON-RPC provider the answer is read straight from
 * the node's JSON (ethers' log formatting checksums each log's address: a keccak per log, most of the cost of
 * reading 10,000 events); a removed log (a reorganisation the node reports) is left out.
 */
export async function readLogs(
  provider: ClientContext["provider"],
  address: string,
  topics: readonly (string | readonly string[])[],
  fromBlock: number,
  toBlock: number,
): Promise<RawLog[]> {
  if (!hasRawRequests(provider, "getLogs")) {
    const logs = await provider.getLogs({ address, fromBlock, toBlock, topics: topics as (string | string[])[] });
    return logs.map((log) => ({ topics: log.topics, data: log.data, blockNumber: log.blockNumber, index: log.index }));
  }
  const filter = { address, fromBlock: `0x${fromBlock.toString(16)}`, toBlock: `0x${toBlock.toString(16)}`, topics };
  const result = await rawRequest(provider, "eth_getLogs", [filter]);
  if (!Array.isArray(result)) throw new PerpError("eth_getLogs: the node answered without a list of logs");
  const logs: RawLog[] = [];
  for (const log of result as { topics?: unknown; data?: unknown; blockNumber?: unknown; logIndex?: unknown; removed?: unknown }[]) {
    if (log.removed === true) continue;
    if (!Array.isArray(log.topics) || typeof log.data !== "string" || typeof log.blockNumber !== "string" || typeof log.logIndex !== "string") {
      throw new PerpError("eth_getLogs: a log without topics, data, block number or log index");
    }
    logs.push({ topics: log.topics as string[], data: log.data.toLowerCase(), blockNumber: Number(log.blockNumber), index: Number(log.logIndex) });
  }
  return logs;
}

/**
 * Reads the engine's position events between two blocks (inclusive), in chain order: `PositionModified` (open when
 * `newSize != 0`) and `PositionClosedAtIndex` (closed), and as `touch` events (health lowered, nothing opened or
 * closed) `MarginRemoved` and `Withdrawn` (`marketId` -1), with one `eth_getLogs` per chunk of `chunk` blocks for all
 * four topics. Only the fields the index needs are decoded (`trader` and `marketId` from the topics, `newSize` the
 * second data word), and the trader stays lowercase: ethers' full event decoding with checksummed addresses costs
 * about 0.4 ms a log, 0.8 s for 2,000 positions. A range the
 * endpoint refuses (too many results, range too wide) is halved until it passes.
 * @example const events = await scanPositionEvents(client, deployment.deploymentBlock, latest)
 */
export async function scanPositionEvents(
  client: Pick<ClientContext, "engine" | "provider">,
  fromBlock: number,
  toBlock: number,
  chunk = 10_000,
  retry: RetryOptions = { attempts: 1 },
): Promise<PositionEvent[]> {
  const modified = client.engine.interface.getEvent("PositionModified").topicHash;
  const closed = client.engine.interface.getEvent("PositionClosedAtIndex").topicHash;
  // Events that lower a trader's health without opening or closing a position: the keeper rescans that trader.
  const marginRemoved = client.engine.interface.getEvent("MarginRemoved").topicHash;
  const withdrawn = client.engine.interface.getEvent("Withdrawn").topicHash;
  const address = await client.engine.getAddress();
  const events: PositionEvent[] = [];
  let size = chunk;
  for (let start = fromBlock; start <= toBlock; ) {
    const end = Math.min(toBlock, start + size - 1);
    let logs;
    try {
      logs = await withRetry(() => readLogs(client.provider, address, [[modified, closed, marginRemoved, withdrawn]], start, end), retry);
    } catch (error) {
      if (end === start) throw toPerpError(error);
      size = Math.max(1, Math.floor((end - start + 1) / 2));
      continue;
    }
    for (const log of logs) {
      const topic = log.topics[0].toLowerCase();
      const isModified = topic === modified;
      const touch = topic === marginRemoved || topic === withdrawn;
      const newSize = isModified ? BigInt(`0x${log.data.slice(2 + 64, 2 + 128)}`) : 0n;
      events.push({
        // Lowercase, as in the topic: a checksum costs a keccak per log and every comparison is lowercase.
        trader: `0x${log.topics[1].slice(26).toLowerCase()}`,
        marketId: topic === withdrawn ? -1 : Number(BigInt(log.topics[2])),
        open: isModified && newSize !== 0n,
        touch,
        blockNumber: log.blockNumber,
        logIndex: log.index,
      });
    }
    start = end + 1;
  }
  return events.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
}
