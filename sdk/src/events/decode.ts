/**
 * One decoder for every event of the engine and the LP vault: logs (from a receipt or `eth_getLogs`) become typed
 * records, a discriminated union on `name`, with the arguments by name and where the log sits in the chain.
 *
 * @packageDocumentation
 */
import type { EventFragment, Interface, Log, Provider, TransactionReceipt } from "ethers";

import { CROSS } from "../constants.js";
import type { Deployment } from "../deployments.js";
import { toPerpError, withRetry, type RetryOptions } from "../errors.js";
import type { TypedContractEvent } from "../generated/common.js";
import { LiquidityVault__factory, PerpEngine__factory, type LiquidityVault, type PerpEngine } from "../generated/index.js";
import type { LiquidationRecord, TradeExecution } from "../types.js";

/** Where a log sits in the chain. */
export interface EventLocation {
  /** The emitting contract. */
  readonly address: string;
  readonly txHash: string;
  readonly blockNumber: number;
  readonly logIndex: number;
}

type EventNames<F> = { [K in keyof F & string]: K extends `${string}(${string}` ? never : K }[keyof F & string];
type OutputOf<E> = E extends TypedContractEvent<infer _I, infer _O, infer Obj> ? Obj : never;
type Records<F, C extends string> = {
  [K in EventNames<F>]: { readonly contract: C; readonly name: K } & Readonly<OutputOf<F[K]>> & EventLocation;
}[EventNames<F>];

/** The name of every `PerpEngine` event. */
export type EngineEventName = EventNames<PerpEngine["filters"]>;
/** The name of every `LiquidityVault` event (its own, ERC-4626's, ERC-20's and Ownable's). */
export type VaultEventName = EventNames<LiquidityVault["filters"]>;
/** A decoded engine event: `name` discriminates, arguments are fields (ABI types: ids and amounts are bigints). */
export type EngineEvent = Records<PerpEngine["filters"], "engine">;
/** A decoded LP-vault event. */
export type VaultEvent = Records<LiquidityVault["filters"], "vault">;
/** Any decoded event of the protocol. */
export type PerpEvent = EngineEvent | VaultEvent;
/** The record of one event name, e.g. `PerpEventOf<"Liquidated">`. */
export type PerpEventOf<N extends PerpEvent["name"]> = Extract<PerpEvent, { name: N }>;

/** The contracts whose logs to decode: a deployment record, or the addresses. */
export type EventSources = Pick<Deployment, "contracts"> | { readonly engine?: string; readonly vault?: string };

/** The fields of a log the decoder reads (a receipt's logs and `getLogs` results both have them). */
export type RawLog = Pick<Log, "address" | "topics" | "data" | "blockNumber" | "index" | "transactionHash">;

let interfaces: { engine: Interface; vault: Interface } | undefined;
function ifaces() {
  return (interfaces ??= { engine: PerpEngine__factory.createInterface(), vault: LiquidityVault__factory.createInterface() });
}

/**
 * Each contract's events by topic, computed once: ethers' `parseLog` hashes the signature of every event of the
 * interface to find a log's (a keccak each, about 0.6 ms a log on the engine's ABI: seconds for a keeper's 6,000
 * liquidation logs).
 */
let topics: { engine: Map<string, EventFragment>; vault: Map<string, EventFragment> } | undefined;
function eventsByTopic() {
  const byTopic = (iface: Interface) => {
    const map = new Map<string, EventFragment>();
    iface.forEachEvent((fragment) => {
      if (!fragment.anonymous) map.set(fragment.topicHash, fragment);
    });
    return map;
  };
  return (topics ??= { engine: byTopic(ifaces().engine), vault: byTopic(ifaces().vault) });
}

function addressesOf(sources: EventSources): { engine?: string; vault?: string } {
  if ("contracts" in sources) {
    return { engine: sources.contracts.PerpEngine.toLowerCase(), vault: sources.contracts.LiquidityVault.toLowerCase() };
  }
  return { engine: sources.engine?.toLowerCase(), vault: sources.vault?.toLowerCase() };
}

/**
 * Decodes one log of the engine or the vault; undefined for any other contract's log or an unknown topic.
 * @example
 * ```ts
 * const event = decodeLog(log, deployment);
 * if (event?.name === "Liquidated") console.log(event.trader, event.keeperReward);
 * ```
 */
export function decodeLog(log: RawLog, sources: EventSources): PerpEvent | undefined {
  const { engine, vault } = addressesOf(sources);
  const address = log.address.toLowerCase();
  const contract = address === engine ? "engine" : address === vault ? "vault" : undefined;
  if (!contract) return undefined;
  const fragment = log.topics.length > 0 ? eventsByTopic()[contract].get(log.topics[0].toLowerCase()) : undefined;
  if (!fragment) return undefined;
  let args;
  try {
    args = ifaces()[contract].decodeEventLog(fragment, log.data, [...log.topics]);
  } catch {
    return undefined;
  }
  const record: Record<string, unknown> = { contract, name: fragment.name };
  fragment.inputs.forEach((input, i) => (record[input.name] = args[i]));
  record.address = log.address;
  record.txHash = log.transactionHash;
  record.blockNumber = log.blockNumber;
  record.logIndex = log.index;
  return record as unknown as PerpEvent;
}

/**
 * Decodes the engine's and vault's logs among `logs`, in chain order (block, then log index).
 * @example const events = decodeLogs(await provider.getLogs({ address: engine, fromBlock, toBlock }), deployment)
 */
export function decodeLogs(logs: readonly RawLog[], sources: EventSources): PerpEvent[] {
  const events: PerpEvent[] = [];
  for (const log of logs) {
    const event = decodeLog(log, sources);
    if (event) events.push(event);
  }
  return events.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
}

/**
 * Every engine and vault event a receipt records, in log order.
 * @example for (const e of decodeReceipt(receipt, deployment)) console.log(e.name)
 */
export function decodeReceipt(receipt: Pick<TransactionReceipt, "logs">, sources: EventSources): PerpEvent[] {
  return decodeLogs(receipt.logs, sources);
}

/**
 * Type guard for one event name.
 * @example events.filter(isEvent("PositionModified")).map((e) => e.fillPrice)
 */
export function isEvent<N extends PerpEvent["name"]>(name: N): (event: PerpEvent) => event is PerpEventOf<N> {
  return (event): event is PerpEventOf<N> => event.name === name;
}

/**
 * The events of one name, typed.
 * @example const trades = eventsNamed(events, "PositionModified")
 */
export function eventsNamed<N extends PerpEvent["name"]>(events: readonly PerpEvent[], name: N): PerpEventOf<N>[] {
  return events.filter(isEvent(name));
}

/** Options of `getPerpEvents`. */
export interface GetPerpEventsOptions {
  readonly fromBlock: number;
  readonly toBlock: number;
  /** Only these events (default: all of both contracts). */
  readonly names?: readonly PerpEvent["name"][];
  /** Blocks per `eth_getLogs` (default 10,000; a range the endpoint refuses is halved until it passes). */
  readonly chunk?: number;
  /** Retries of each request (default: one attempt). */
  readonly retry?: RetryOptions;
}

/**
 * Reads and decodes the engine's and vault's events between two blocks (inclusive), one `eth_getLogs` per chunk
 * for both contracts, in chain order.
 * @example
 * ```ts
 * const events = await getPerpEvents(provider, deployment, { fromBlock: deployment.deploymentBlock, toBlock: latest });
 * const liquidations = eventsNamed(events, "Liquidated");
 * ```
 */
export async function getPerpEvents(
  provider: Provider,
  deployment: Pick<Deployment, "contracts">,
  options: GetPerpEventsOptions,
): Promise<PerpEvent[]> {
  const { engine, vault } = ifaces();
  const topics = options.names
    ? [...new Set(options.names.flatMap((name) => [engine.getEvent(name), vault.getEvent(name)].flatMap((e) => (e ? [e.topicHash] : []))))]
    : undefined;
  const address = [deployment.contracts.PerpEngine, deployment.contracts.LiquidityVault];
  const logs = await getLogsChunked(provider, { ...options, address, topics: topics ? [topics] : undefined });
  return decodeLogs(logs, deployment);
}

/** What `getLogsChunked` reads: `eth_getLogs` filter fields and the chunking. */
export interface GetLogsChunkedOptions {
  readonly address: string | readonly string[];
  readonly topics?: readonly (string | readonly string[] | null)[];
  readonly fromBlock: number;
  readonly toBlock: number;
  /** Blocks per `eth_getLogs` (default 10,000; a range the endpoint refuses is halved until it passes). */
  readonly chunk?: number;
  /** Retries of each request (default: one attempt). */
  readonly retry?: RetryOptions;
}

/**
 * The SDK's one log reader: `eth_getLogs` over a block range (inclusive) in chunks, halving a range the endpoint
 * refuses (too many results, range too wide) until it passes; logs in chain order. `getPerpEvents`,
 * `getPriceHistory`, `getAccountHistory` and `getFundingPaid` read through it.
 * @example const logs = await getLogsChunked(provider, { address: feed, topics: [topic], fromBlock, toBlock })
 */
export async function getLogsChunked(provider: Provider, options: GetLogsChunkedOptions): Promise<Log[]> {
  const logs: Log[] = [];
  let size = options.chunk ?? 10_000;
  const address = typeof options.address === "string" ? options.address : [...options.address];
  const topics = options.topics?.map((t) => (t === null || typeof t === "string" ? t : [...t]));
  for (let start = options.fromBlock; start <= options.toBlock; ) {
    const end = Math.min(options.toBlock, start + size - 1);
    try {
      logs.push(
        ...(await withRetry(
          () => provider.getLogs({ address, fromBlock: start, toBlock: end, ...(topics ? { topics } : {}) }),
          options.retry ?? { attempts: 1 },
        )),
      );
    } catch (error) {
      if (end === start) throw toPerpError(error);
      size = Math.max(1, Math.floor((end - start + 1) / 2));
      continue;
    }
    start = end + 1;
  }
  return logs;
}

// ===================================================================== records the client returns

/**
 * A `PositionModified` record as a `TradeExecution` (market id as a number).
 * @example decodeReceipt(receipt, deployment).filter(isEvent("PositionModified")).map(toTradeExecution)
 */
export function toTradeExecution(e: PerpEventOf<"PositionModified">): TradeExecution {
  return {
    trader: e.trader,
    marketId: Number(e.marketId),
    sizeDelta: e.sizeDelta,
    newSize: e.newSize,
    fillPrice: e.fillPrice,
    fee: e.fee,
    realizedPnl: e.realizedPnl,
    fundingPaid: e.fundingPaid,
    isolated: e.isolated,
    fundingIndex: e.fundingIndex,
    blockNumber: e.blockNumber,
    logIndex: e.logIndex,
  };
}

/**
 * A `Liquidated` record as a `LiquidationRecord` (`marketId` undefined for a whole cross account).
 * @example eventsNamed(events, "Liquidated").map(toLiquidationRecord)
 */
export function toLiquidationRecord(e: PerpEventOf<"Liquidated">): LiquidationRecord {
  return {
    trader: e.trader,
    marketId: liquidatedMarket(e.marketId),
    keeper: e.keeper,
    equity: e.equity,
    notional: e.notional,
    keeperReward: e.keeperReward,
    insurancePaid: e.insurancePaid,
    traderRemainder: e.traderRemainder,
    blockNumber: e.blockNumber,
    logIndex: e.logIndex,
  };
}

/**
 * `Liquidated.marketId` as a market id, or undefined for `CROSS` (a whole cross account).
 * @example liquidatedMarket(CROSS) // undefined
 */
export function liquidatedMarket(marketId: bigint): number | undefined {
  return marketId === CROSS ? undefined : Number(marketId);
}

/**
 * The trades a receipt records (`PositionModified` of the deployment's engine, in log order).
 * @example const [executed] = tradeExecutions(receipt, deployment)
 */
export function tradeExecutions(receipt: Pick<TransactionReceipt, "logs">, deployment: Pick<Deployment, "contracts">): TradeExecution[] {
  return eventsNamed(decodeReceipt(receipt, { engine: deployment.contracts.PerpEngine }), "PositionModified").map(toTradeExecution);
}

/**
 * The liquidations a receipt records (`Liquidated`, in log order).
 * @example const earned = liquidationEvents(receipt, deployment).reduce((sum, l) => sum + l.keeperReward, 0n)
 */
export function liquidationEvents(receipt: Pick<TransactionReceipt, "logs">, deployment: Pick<Deployment, "contracts">): LiquidationRecord[] {
  return eventsNamed(decodeReceipt(receipt, { engine: deployment.contracts.PerpEngine }), "Liquidated").map(toLiquidationRecord);
}

/** A liquidation with what it closed and the bad debt it left, from the same transaction. */
export interface LiquidationDetail {
  readonly event: PerpEventOf<"Liquidated">;
  readonly closes: PerpEventOf<"PositionClosedAtIndex">[];
  readonly badDebt: PerpEventOf<"BadDebtCovered"> | undefined;
}

/**
 * Groups each `Liquidated` event with the `PositionClosedAtIndex` and `BadDebtCovered` events the engine emitted for
 * the same unit just before it (same transaction and trader, after the previous `Liquidated` of that transaction).
 * @example for (const { event, closes, badDebt } of liquidationDetails(events)) console.log(event.trader, closes.length, badDebt?.shortfall)
 */
export function liquidationDetails(events: readonly PerpEvent[]): LiquidationDetail[] {
  const liquidations = eventsNamed(events, "Liquidated");
  const closes = eventsNamed(events, "PositionClosedAtIndex");
  const badDebts = eventsNamed(events, "BadDebtCovered");
  return liquidations.map((event) => {
    const previous = liquidations
      .filter((other) => other.txHash === event.txHash && other.logIndex < event.logIndex)
      .reduce((max, other) => Math.max(max, other.logIndex), -1);
    const between = <T extends EventLocation & { trader: string }>(list: T[]) =>
      list.filter(
        (item) =>
          item.txHash === event.txHash &&
          item.trader.toLowerCase() === event.trader.toLowerCase() &&
          item.logIndex > previous &&
          item.logIndex < event.logIndex,
      );
    return { event, closes: between(closes), badDebt: between(badDebts)[0] };
  });
}
