/**
 * The liquidation keeper: a thin loop over the SDK. Each run brings the position index up to the latest block (from
 * the engine's events), reads every open position's health through `PerpLens` in a few batched `eth_call`s, ranks
 * the liquidatable units with the SDK's exact liquidation prices, simulates each `liquidateMany` batch, checks that
 * the reward covers the gas, and sends the profitable ones. With `autoDeleverage`, it then mirrors the engine's
 * deleveraging check per market and closes the most profitable positions first while a market is over its bound.
 * `run()` backs off while the endpoint is down, rebuilds its index at once when the chain behind it changed (a
 * restarted node, a head below the indexed block), and reports its state through `health()` and `metrics`.
 *
 * @example
 * ```ts
 * const keeper = await Keeper.create({ client, logger, batchSize: 100 });
 * const summary = await keeper.runOnce();          // one scan-and-liquidate pass
 * // or: await keeper.run()  (until keeper.stop())
 * ```
 */
import type { FeeData, Signer, TransactionReceipt } from "ethers";

import {
  CROSS,
  MAX_BATCH,
  TransactionSender,
  abortableDelay,
  decodeReceipt,
  eventsNamed,
  isTransientError,
  math,
  readHealth,
  rpcStatsSince,
  toLiquidationRecord,
  toPerpError,
  withRetry,
  type MarketInfo,
  type PerpClient,
  type PositionHealth,
  type RetryOptions,
  type RpcStats,
  type SentTransaction,
} from "@perp/sdk";
import { ConfigurationError } from "@perp/sdk/node";
import { deleverage } from "./adl.js";
import { formatPlain } from "./format.js";
import { silentLogger, type Logger } from "./logger.js";
import type { KeeperMetrics } from "./metrics.js";
import { PendingTransaction, awaitMined, minedCount, type FeeBumpPolicy } from "./sender.js";
import { OrderKeeper, orderSummaryJson, pythPriceIds, type OrderRunSummary } from "./orders.js";
import type { PriceSource } from "@perp/sdk/prices";
import { IPriceFeed__factory, PerpEngine__factory } from "@perp/sdk/contracts";
import {
  ChainIndex,
  DEFAULT_NEAR_MARGIN,
  HealthWatch,
  SimulationUnsupportedError,
  evaluate,
  runConcurrently,
  scanHealth,
  simulateCalls,
  type CallOutcome,
  type Evaluation,
  type IndexSync,
  type LensPosition,
  type LiquidationUnit,
} from "@perp/sdk/keeper";

/** `PerpEngine.MAX_BATCH`: entries per `liquidateMany` (the SDK's constant). */
export { MAX_BATCH };

/**
 * Chains whose gas token is ETH, so that the ETH market's index price converts gas costs to USD: local development
 * chains, Ethereum, Sepolia, Arbitrum One and Sepolia, Base and Base Sepolia, OP and OP Sepolia. Elsewhere (Sei
 * testnet pays in SEI) the keeper needs `ethUsd` (`--eth-usd`).
 */
export const ETH_GAS_CHAINS: ReadonlySet<number> = new Set([31337, 1337, 1, 11155111, 42161, 421614, 8453, 84532, 10, 11155420]);

/** A setting that cannot work (reported before anything is sent): the SDK's `ConfigurationError`, raised by the keeper. */
export class KeeperConfigError extends ConfigurationError {
  override name = "KeeperConfigError";
}

/**
 * The deployment's contracts have no code on the chain the endpoint serves: a local node restarted without a
 * redeploy, or `--deployment` names another deployment. Raised instead of ethers' "could not decode result data".
 */
export class ContractsMissingError extends KeeperConfigError {
  override name = "ContractsMissingError";
  constructor(
    readonly address: string,
    readonly chainId: number,
  ) {
    super(`contracts missing at ${address} on chain ${chainId}: redeploy or fix --deployment`);
  }
}

/** `InsufficientUpdateFee(required, provided)`'s `required`, when that is the engine's revert. */
function insufficientFee(client: PerpClient, error: unknown): bigint | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const data = (e as { data?: unknown }).data;
    if (typeof data !== "string" || !data.startsWith("0x")) continue;
    try {
      const parsed = client.engine.interface.parseError(data);
      if (parsed?.name === "InsufficientUpdateFee") return parsed.args[0] as bigint;
    } catch {
      // Not the engine's error.
    }
  }
  return undefined;
}

/** Whether ethers failed to decode a call's answer: what a call to an address without code gives. */
function isDecodeError(error: unknown): boolean {
  for (let e: unknown = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === "BAD_DATA") return true;
    if (e instanceof Error && /could not decode result data/.test(e.message)) return true;
  }
  return false;
}

/** What `/health` reports (see `Keeper.health`). */
export interface KeeperHealth {
  /** `ok`, or why not: `starting` (no scan yet), `stale` (no answer from the endpoint for `staleAfterMs`), `rpc-down`,
   * `contracts-missing`, `failing` (runs fail), `stopped`. */
  readonly status: "ok" | "starting" | "stale" | "rpc-down" | "contracts-missing" | "failing" | "stopped";
  readonly healthy: boolean;
  /** Block of the last successful scan (-1 before the first). */
  readonly lastBlock: number;
  /** The latest chain head the keeper saw (-1 before the first). */
  readonly headBlock: number;
  /** `headBlock - lastBlock`: blocks not scanned yet (null before the first scan). */
  readonly lagBlocks: number | null;
  /** Open positions in the index. */
  readonly indexSize: number;
  /** Time of the last successful scan (ISO), and its age in seconds. */
  readonly lastScanAt: string | null;
  readonly lastScanAgeSeconds: number | null;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
}

export interface KeeperOptions {
  /** Connected with a `Signer`: one that signs locally (an ethers `Wallet`) is preferred (the SDK's `TransactionSender`, signing `"auto"`). */
  readonly client: PerpClient;
  readonly logger?: Logger;
  /** First block of the event scan (default: the deployment block). */
  readonly fromBlock?: number;
  /** Units per `liquidateMany` transaction, 1 to 100 (default 100). */
  readonly batchSize?: number;
  /** Positions per `PerpLens.positions` call (default 200: about 8M gas of `eth_call` for isolated positions): the
   * full reads of auto-deleveraging and the re-check of a batch that simulated short. */
  readonly lensBatchSize?: number;
  /** Pairs per `PerpLens.scan` call of the liquidation scan, 1 to 1,000 (default 500: about 18M gas of `eth_call`). */
  readonly scanPageSize?: number;
  /** `PerpLens.scan` calls in flight at once, each its own HTTP request (default 2). */
  readonly scanConcurrency?: number;
  /**
   * Near-liquidation margin, WAD share of the notional (default 0.05e18): the scan returns the positions within it,
   * and re-reads only those (and the traders with new events) until a market drifts by half of it (price, skew,
   * funding) or an hour passes; then every position is read again.
   */
  readonly nearMargin?: bigint;
  /** Blocks per `eth_getLogs` request (default 10,000; halved automatically when the endpoint refuses a range). */
  readonly logChunk?: number;
  /** Minimum profit per transaction, USD WAD: reward - gas cost must reach it (default 0). */
  readonly minProfitUsd?: bigint;
  /** USD price of the gas token (WAD). Default: the index price of the deployment's ETH market. */
  readonly ethUsd?: bigint;
  /** At most this many liquidation transactions per run; the rest waits for the next run (default: no limit). */
  readonly maxBatchesPerRun?: number;
  /** How often `run()` polls for a new block, and receipts are polled (default 2,000 ms). */
  readonly pollMs?: number;
  /** A sent transaction not mined after this long counts as failed (default 120,000 ms). */
  readonly txTimeoutMs?: number;
  /** Gas limit = estimate x (100 + this) / 100 (default 25). */
  readonly gasLimitMarginPercent?: number;
  /** Retries of failed RPC requests: attempts, backoff (defaults: 5 attempts, 250 ms doubling up to 8 s). */
  readonly retry?: Pick<RetryOptions, "attempts" | "baseDelayMs" | "maxDelayMs" | "jitter">;
  /** Replacing a liquidation that stays in the pool (sender.ts; default: after 30 s, at most 3 bumps of 10 % + 1 wei). */
  readonly feeBump?: FeeBumpPolicy;
  /** Counters of the provider (`CountingJsonRpcProvider.stats`), to report the requests each run made. */
  readonly rpcStats?: () => RpcStats;
  /** Called after each scan, before anything is sent (awaited). For demos and tests. */
  readonly onScanned?: (scan: ScanReport) => void | Promise<void>;
  /** Upper bound of the backoff while the endpoint is down or runs fail (default 30,000 ms). */
  readonly maxBackoffMs?: number;
  /** `health()` says `stale` when the endpoint has not answered for this long (default max(60 s, 10 x pollMs)). */
  readonly staleAfterMs?: number;
  /**
   * Auto-deleveraging (default off): after the liquidations, each market whose traders' net unrealised profit
   * exceeds `maxPnlFactor x vault NAV` gets `autoDeleverage` calls, most profitable position first, until it is back
   * under the bound. The caller earns nothing and pays the gas: it protects the LPs.
   */
  readonly autoDeleverage?: boolean;
  /** At most this many `autoDeleverage` transactions per run (default 20). */
  readonly maxDeleveragesPerRun?: number;
  /** Prometheus counters and gauges to update (`metrics.ts`). */
  readonly metrics?: KeeperMetrics;
  /**
   * The order book to keep (settle, execute, ratchet, clean up: `orders.ts`) after each liquidation pass. Needs
   * `prices`. Default: none (liquidations only).
   */
  readonly orderBook?: string;
  /** Price updates for orders and liquidations (`HermesPriceSource`, for Hermes and the local price service). */
  readonly prices?: PriceSource;
  /** Orders per `settleOrders` / `executeOrders` (1 to 50, default 50). */
  readonly orderBatchSize?: number;
}

/** What a scan found, as handed to `onScanned`. */
export interface ScanReport {
  readonly block: number;
  readonly timestamp: bigint;
  readonly markets: ReadonlyMap<number, MarketInfo>;
  readonly evaluation: Evaluation;
}

/** The outcome of one `runOnce`. Amounts are bigints (wei, USD WAD); `summaryJson` makes them strings. */
export interface RunSummary {
  /** The block scanned. */
  readonly block: number;
  /** Open positions whose health was read. */
  readonly positionsScanned: number;
  /** Liquidatable units found (isolated positions, and cross accounts counted once). */
  readonly liquidatableFound: number;
  /**
   * Where the liquidation phase's time went, ms: simulating the batches before the first send, signing and
   * broadcasting them (with any re-simulation), and waiting for the receipts.
   */
  readonly liquidationMs?: { readonly prepare: number; readonly send: number; readonly receipts: number };
  /** Units this keeper liquidated (its `Liquidated` events). */
  readonly liquidated: number;
  /** Positions those liquidations closed (a cross account may hold several). */
  readonly positionsClosed: number;
  /** Units that were no longer liquidatable when simulated or mined (another keeper was first, or they recovered). */
  readonly noLongerLiquidatable: number;
  /** Units left because their batch's reward did not cover gas plus the minimum profit. */
  readonly skippedUnprofitable: number;
  /** Units left for the next run (`maxBatchesPerRun`, a stop request, or a transaction whose nonce another one took). */
  readonly deferred: number;
  /** Units in batches that failed (simulation error, reverted or unmined transaction). */
  readonly failed: number;
  /** Positions this keeper closed with `autoDeleverage` (0 unless `autoDeleverage` is on). */
  readonly deleveraged: number;
  /** Markets found over their deleveraging bound at the scanned block (0 unless `autoDeleverage` is on). */
  readonly marketsOverPnlBound: number;
  /** Transactions sent and mined. */
  readonly transactions: number;
  readonly gasUsed: bigint;
  /** Wei paid for gas. */
  readonly gasCostWei: bigint;
  /** Keeper rewards credited to this keeper's cross balance in the engine, USD WAD. */
  readonly rewardsUsd: bigint;
  /** Wall time of the scan (index sync, lens reads, evaluation) and of the liquidation phase. */
  readonly scanSeconds: number;
  /** Where the scan's time went, ms: the index sync with the market and protocol reads, the health reads, the ranking. */
  readonly scanMs: { readonly index: number; readonly health: number; readonly evaluate: number };
  readonly liquidationSeconds: number;
  /** Index sync of this run: blocks and events read; rebuilt from the start block (first run, or a reorganisation). */
  readonly index: IndexSync;
  /**
   * The health read of this run: every indexed position (`full`, and why) or only the flagged and touched ones;
   * pairs read, positions flagged (liquidatable or near), `PerpLens.scan` calls. Undefined with `autoDeleverage`
   * (that reads every position in full).
   */
  readonly scan?: { readonly full: boolean; readonly reason?: string; readonly read: number; readonly flagged: number; readonly calls: number };
  /** RPC requests made during the run (when the provider counts them), and those of its scan alone. */
  readonly rpc?: RpcStats;
  readonly scanRpc?: RpcStats;
  /** RPC requests retried during the run. */
  readonly retries: number;
  /** The order phase of the run (when the keeper keeps an order book). */
  readonly orders?: OrderRunSummary;
  /** Stopped early by `stop()`. */
  readonly aborted: boolean;
  readonly transactionHashes: readonly string[];
  readonly errors: readonly string[];
}

/** A `RunSummary` with bigints as decimal strings (rewards in USD), ready for `JSON.stringify`. */
export function summaryJson(summary: RunSummary): Record<string, unknown> {
  return {
    ...summary,
    gasUsed: summary.gasUsed.toString(),
    gasCostWei: summary.gasCostWei.toString(),
    rewardsUsd: formatPlain(summary.rewardsUsd),
    orders: summary.orders === undefined ? undefined : orderSummaryJson(summary.orders),
  };
}

export { formatPlain };

/** A WAD USD amount as `formatPlain`, or undefined. */
function usdOrUndefined(wad: bigint | undefined): string | undefined {
  return wad === undefined ? undefined : formatPlain(wad);
}

interface Pending {
  /** The nonce's transactions: the first and its fee-bumped replacements. */
  readonly tx: PendingTransaction;
  readonly units: readonly LiquidationUnit[];
  readonly expected: number;
}

interface Simulated {
  readonly units: LiquidationUnit[];
  readonly expected: number;
  /** The gas estimate the limit is made from (the send policy adds its margin). */
  readonly gas: bigint;
  /** The gas the simulation used (eth_simulateV1), what the batch costs; undefined: `gas` is the cost too. */
  readonly gasUsed?: bigint;
  /**
   * The limit to sign as is, from `gasUsed` (`gasFromUsed`: already a bound, so the send policy's margin is not
   * added on top); undefined: the limit is `gas` plus that margin.
   */
  readonly gasLimit?: bigint;
  /** The price update the batch carries (empty without a price source) and the `msg.value` paying its fees. */
  readonly update: readonly string[];
  readonly value: bigint;
}

/** A batch prepared before the sending starts: its simulation, or why it failed (undefined: simulate it when its turn comes). */
type Prepared = { readonly simulated: Simulated } | { readonly error: unknown } | undefined;

/** Batch simulations in flight at once where the node has no `eth_simulateV1`. */
const SIMULATION_CONCURRENCY = 4;

/** `Liquidated(address indexed trader, uint256 indexed marketId, address indexed keeper, ...)`'s topic. */
const LIQUIDATED_TOPIC = PerpEngine__factory.createInterface().getEvent("Liquidated").topicHash;

/**
 * The gas limit a simulation's gas used calls for, before the send policy's margin: the gas used is after the
 * refunds (EIP-3529: at most a fifth of the gas spent), and each nested call keeps 1/64 back (three levels), so
 * 132 % of it is what the transaction needs at most on the simulated state.
 */
function gasFromUsed(gasUsed: bigint): bigint {
  return (gasUsed * 132n + 99n) / 100n;
}

/**
 * The prepared batches with each signed limit raised to the largest before it (a larger limit costs nothing; see
 * `liquidate` for why a smaller limit after a larger one can strand a transaction).
 */
function nonDecreasingLimits(prepared: readonly Prepared[]): Prepared[] {
  let floor = 0n;
  return prepared.map((entry) => {
    if (entry === undefined || !("simulated" in entry) || entry.simulated.gasLimit === undefined) return entry;
    if (entry.simulated.gasLimit < floor) return { simulated: { ...entry.simulated, gasLimit: floor } };
    floor = entry.simulated.gasLimit;
    return entry;
  });
}

/** Mutable counters of one run. */
class Tally {
  liquidated = 0;
  positionsClosed = 0;
  noLongerLiquidatable = 0;
  skippedUnprofitable = 0;
  deferred = 0;
  failed = 0;
  deleveraged = 0;
  marketsOverPnlBound = 0;
  transactions = 0;
  /** Transactions broadcast in this run, mined or not. */
  broadcast = 0;
  gasUsed = 0n;
  gasCostWei = 0n;
  rewardsUsd = 0n;
  readonly hashes: string[] = [];
  readonly errors: string[] = [];
  phases: { prepare: number; send: number; receipts: number } | undefined;
}

export class Keeper {
  readonly client: PerpClient;
  readonly address: string;
  private readonly signer: Signer;
  private readonly log: Logger;
  private readonly index: ChainIndex;
  private readonly abort = new AbortController();
  private readonly retry: RetryOptions;
  private readonly batchSize: number;
  private readonly lensBatchSize: number;
  private readonly scanPageSize: number;
  private readonly scanConcurrency: number;
  /** The positions the last scans flagged, and when every position must be read again. */
  private readonly watch: HealthWatch;
  private readonly minProfitUsd: bigint;
  private readonly pollMs: number;
  private readonly txTimeoutMs: number;
  private readonly gasLimitMarginPercent: number;
  private readonly maxBatchesPerRun: number;
  private readonly maxBackoffMs: number;
  private readonly staleAfterMs: number;
  private readonly maxDeleveragesPerRun: number;
  private readonly metrics: KeeperMetrics | undefined;
  private retries = 0;
  /** What `health()` reports. */
  private state: KeeperHealth["status"] = "starting";
  private lastBlock = -1;
  private headBlock = -1;
  private lastScanAt: number | undefined;
  private lastContactAt: number | undefined;
  private consecutiveFailures = 0;
  private lastError: string | undefined;
  /**
   * The SDK's one send policy, with the keeper's options: the simulation's gas estimate and one EIP-1559 fee read a
   * run, the nonce counted locally across a run's batches (re-read at each run and after a time-out), local signing
   * (a signer that can only send is used as such) and rebroadcast of a lost answer.
   */
  private readonly sender: TransactionSender;
  private passRunning = false;
  /** The order phase (undefined without `orderBook`). */
  orders: OrderKeeper | undefined;
  /** Pyth price ids of the markets (for liquidation price updates without an order book). */
  private priceIds: ReadonlyMap<number, string> | undefined;
  /** False once the node said it has no `eth_simulateV1`: batches are then simulated call by call. */
  private simulateV1 = true;

  private constructor(
    private readonly options: KeeperOptions,
    signer: Signer,
    address: string,
    private readonly ethMarket: MarketInfo | undefined,
  ) {
    this.client = options.client;
    this.signer = signer;
    this.address = address;
    this.log = options.logger ?? silentLogger();
    this.batchSize = options.batchSize ?? MAX_BATCH;
    this.lensBatchSize = options.lensBatchSize ?? 200;
    this.scanPageSize = options.scanPageSize ?? 500;
    this.scanConcurrency = options.scanConcurrency ?? 2;
    this.watch = new HealthWatch(options.nearMargin ?? DEFAULT_NEAR_MARGIN);
    this.minProfitUsd = options.minProfitUsd ?? 0n;
    this.pollMs = options.pollMs ?? 2_000;
    this.txTimeoutMs = options.txTimeoutMs ?? 120_000;
    this.gasLimitMarginPercent = options.gasLimitMarginPercent ?? 25;
    this.maxBatchesPerRun = options.maxBatchesPerRun ?? Number.POSITIVE_INFINITY;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.staleAfterMs = options.staleAfterMs ?? Math.max(60_000, 10 * this.pollMs);
    this.maxDeleveragesPerRun = options.maxDeleveragesPerRun ?? 20;
    this.metrics = options.metrics;
    this.retry = {
      attempts: options.retry?.attempts ?? 5,
      baseDelayMs: options.retry?.baseDelayMs ?? 250,
      maxDelayMs: options.retry?.maxDelayMs ?? 8_000,
      // Keepers behind one rate-limited endpoint must not retry in lockstep: each delay drawn from [d/2, d].
      jitter: options.retry?.jitter ?? 0.5,
      signal: this.abort.signal,
      onRetry: ({ attempt, delayMs, error }) => {
        this.retries += 1;
        this.metrics?.rpcErrors.inc();
        if (/server response 429/.test(error.message)) this.metrics?.rateLimited.inc();
        this.log.warn({ attempt, delayMs, error: error.message }, "RPC request failed; retrying");
      },
    };
    this.sender = new TransactionSender(signer, {
      gasMarginPercent: this.gasLimitMarginPercent,
      nonce: "local",
      signing: "auto",
      retry: this.retry,
      chainId: this.client.deployment.chainId,
      provider: this.client.provider,
      onNotice: (notice) => {
        if (notice.kind === "nonce-retry") this.log.warn({ nonce: notice.nonce, error: notice.error }, "nonce already used; re-reading it and signing again");
        else this.log.info({ reason: notice.reason }, "the signer cannot sign locally: sending through the signer");
      },
    });
    this.index = new ChainIndex(
      this.client,
      options.fromBlock ?? this.client.deployment.deploymentBlock,
      options.logChunk ?? 10_000,
      this.retry,
    );
  }

  /**
   * Checks the settings against the deployment and returns a keeper ready to run. Reads the markets once (which
   * also caches each feed's price unit for the scans).
   * @throws KeeperConfigError for settings that cannot work.
   */
  static async create(options: KeeperOptions): Promise<Keeper> {
    const signer = options.client.signer;
    if (!signer) throw new KeeperConfigError("the keeper needs a client connected with a signer");
    const batchSize = options.batchSize ?? MAX_BATCH;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
      throw new KeeperConfigError(`the batch size must be an integer from 1 to ${MAX_BATCH}, not ${batchSize}`);
    }
    const address = await signer.getAddress();
    const markets = await withRetry(() => options.client.markets(), {});
    let ethMarket: MarketInfo | undefined;
    if (options.ethUsd === undefined) {
      const chainId = options.client.deployment.chainId;
      if (!ETH_GAS_CHAINS.has(chainId)) {
        throw new KeeperConfigError(
          `chain ${chainId} does not pay gas in ETH as far as the keeper knows: give the gas token's USD price with --eth-usd`,
        );
      }
      ethMarket = markets.find((market) => market.symbol.toUpperCase().split("-")[0] === "ETH");
      if (!ethMarket) {
        throw new KeeperConfigError(
          `no ETH market in the deployment to price gas in USD (markets: ${markets.map((mk) => mk.symbol).join(", ")}); ` +
            "give the gas token's USD price with --eth-usd",
        );
      }
    } else if (options.ethUsd <= 0n) {
      throw new KeeperConfigError("the gas token's USD price must be positive");
    }
    const keeper = new Keeper(options, signer, address, ethMarket);
    if (options.prices) keeper.priceIds = await pythPriceIds(options.client);
    if (options.orderBook !== undefined) {
      if (!options.prices) throw new KeeperConfigError("keeping the order book needs a price source (--prices <url>)");
      try {
        keeper.orders = await OrderKeeper.create({
          client: options.client,
          orderBook: options.orderBook,
          prices: options.prices,
          logger: options.logger,
          metrics: options.metrics,
          fromBlock: options.fromBlock,
          batchSize: options.orderBatchSize,
          logChunk: options.logChunk,
          retry: options.retry,
          pollMs: options.pollMs,
          txTimeoutMs: options.txTimeoutMs,
          feeBump: options.feeBump,
          sender: keeper.sender,
          rpcStats: options.rpcStats,
          priceIds: keeper.priceIds,
        });
      } catch (error) {
        if (error instanceof RangeError) throw new KeeperConfigError(error.message);
        throw error;
      }
    }
    return keeper;
  }

  /** True once `stop()` was called. */
  get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  /**
   * Asks the keeper to stop: the current run sends nothing more, waits for the receipts of what it already sent
   * (bounded by `txTimeoutMs`) and returns; `run()` then resolves. Pending waits and retries end at once.
   */
  stop(): void {
    this.abort.abort();
    this.orders?.stop();
  }

  /**
   * Scans and liquidates until `stop()`, once per new chain head. A failed run is logged and retried with
   * exponential backoff (`pollMs x 2^failures`, at most `maxBackoffMs`); so is polling a dead endpoint. A head
   * below the indexed block, or a head whose hash changed, starts a run at once (the index is rebuilt there).
   */
  async run(): Promise<void> {
    let last: { number: number; hash: string | undefined } | undefined;
    let failures = 0;
    while (!this.stopping) {
      try {
        const summary = await this.runOnce();
        last = { number: summary.block, hash: this.index.hash };
        if (failures > 0) this.log.info({ failures, block: summary.block }, "recovered: runs succeed again");
        failures = 0;
        const busy =
          summary.liquidatableFound > 0 || summary.transactions > 0 || summary.errors.length > 0 || (summary.orders?.transactions ?? 0) > 0;
        this.log[busy ? "info" : "debug"](summaryJson(summary), "run finished");
      } catch (error) {
        if (this.stopping) break;
        failures += 1;
        const delayMs = this.backoffMs(failures);
        if (error instanceof ContractsMissingError) {
          this.log.error({ failures, retryInMs: delayMs }, error.message);
        } else {
          this.log.error({ error: toPerpError(error).message, failures, retryInMs: delayMs }, "run failed");
        }
        await abortableDelay(delayMs, this.abort.signal);
        continue;
      }
      await this.waitForNewHead(last);
    }
    this.state = "stopped";
    this.log.info("keeper stopped");
  }

  /** `pollMs x 2^failures`, at most `maxBackoffMs`. */
  private backoffMs(failures: number): number {
    return Math.min(this.maxBackoffMs, this.pollMs * 2 ** Math.min(failures, 30));
  }

  /**
   * Polls the head every `pollMs` until it differs from `last` (a higher block, a lower one, or the same number
   * with another hash). While the endpoint does not answer, the polls back off exponentially (one warning each,
   * with the next delay); the first answer after that is logged.
   */
  private async waitForNewHead(last: { number: number; hash: string | undefined } | undefined): Promise<void> {
    let failures = 0;
    let downSince = 0;
    while (!this.stopping) {
      let head: { number: number; hash: string | null } | null;
      try {
        head = await this.client.provider.getBlock("latest");
      } catch (error) {
        failures += 1;
        if (failures === 1) downSince = Date.now();
        const delayMs = this.backoffMs(failures);
        this.state = "rpc-down";
        this.lastError = toPerpError(error).message;
        this.metrics?.rpcErrors.inc();
        this.log.warn({ error: this.lastError, failures, retryInMs: delayMs }, "polling for a new block failed; backing off");
        await abortableDelay(delayMs, this.abort.signal);
        continue;
      }
      this.lastContactAt = Date.now();
      if (failures > 0) {
        this.log.info({ failures, downMs: Date.now() - downSince }, "the RPC endpoint answers again");
        failures = 0;
        this.state = this.consecutiveFailures > 0 ? "failing" : "ok";
      }
      if (head) {
        this.headBlock = head.number;
        this.metrics?.headBlock.set(head.number);
      }
      if (!last || !head || head.number !== last.number || head.hash !== last.hash) return;
      await abortableDelay(this.pollMs, this.abort.signal);
    }
  }

  /** The keeper's state for a health check: ok while its runs succeed and the endpoint answers. */
  health(now = Date.now()): KeeperHealth {
    const contactAge = this.lastContactAt === undefined ? undefined : now - this.lastContactAt;
    let status = this.state;
    if (status === "ok" && (contactAge === undefined || contactAge > this.staleAfterMs)) status = "stale";
    return {
      status,
      healthy: status === "ok",
      lastBlock: this.lastBlock,
      headBlock: this.headBlock,
      lagBlocks: this.lastBlock < 0 || this.headBlock < 0 ? null : Math.max(0, this.headBlock - this.lastBlock),
      indexSize: this.index.size,
      lastScanAt: this.lastScanAt === undefined ? null : new Date(this.lastScanAt).toISOString(),
      lastScanAgeSeconds: this.lastScanAt === undefined ? null : (now - this.lastScanAt) / 1000,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError ?? null,
    };
  }

  /**
   * One pass: sync the index, scan, liquidate what is liquidatable and profitable, wait for the receipts.
   * @throws KeeperConfigError if a pass of this keeper is already running (they would compete for nonces).
   */
  async runOnce(): Promise<RunSummary> {
    if (this.passRunning) throw new KeeperConfigError("a run of this keeper is already in progress");
    this.passRunning = true;
    try {
      const summary = await this.pass();
      this.consecutiveFailures = 0;
      this.lastError = undefined;
      this.state = "ok";
      return summary;
    } catch (error) {
      const failure = await this.explain(error);
      this.consecutiveFailures += 1;
      this.lastError = failure.message;
      this.state = failure instanceof ContractsMissingError ? "contracts-missing" : isTransientError(failure) ? "rpc-down" : "failing";
      this.metrics?.runFailures.inc();
      throw failure;
    } finally {
      this.passRunning = false;
    }
  }

  /**
   * A failure to decode a call's answer usually means there is no contract at the address: then the engine's and
   * the lens's code are checked, and a missing one is reported as `ContractsMissingError` (the index is reset: the
   * chain under it is not the one it was built from).
   */
  private async explain(error: unknown): Promise<Error> {
    if (!isDecodeError(error)) return error instanceof Error ? error : toPerpError(error);
    const { PerpEngine, PerpLens } = this.client.deployment.contracts;
    try {
      for (const address of [PerpEngine, PerpLens]) {
        if ((await this.client.provider.getCode(address)) === "0x") {
          this.index.reset();
          this.watch.reset();
          this.orders?.reset();
          return new ContractsMissingError(address, this.client.deployment.chainId);
        }
      }
    } catch {
      // The endpoint went away meanwhile: report the original failure.
    }
    return toPerpError(error);
  }

  private async pass(): Promise<RunSummary> {
    const rpcBefore = this.options.rpcStats?.();
    const retriesBefore = this.retries;
    const tally = new Tally();
    const started = performance.now();

    // ------------------------------------------------------------------ scan
    const latest = await withRetry(() => this.client.provider.getBlockNumber(), this.retry);
    this.lastContactAt = Date.now();
    this.headBlock = latest;
    this.metrics?.headBlock.set(latest);
    const previousIndexBlock = this.index.block;
    const indexStarted = performance.now();
    const [sync, marketList, protocol] = await Promise.all([
      this.index.sync(latest),
      withRetry(() => this.client.markets(latest), this.retry),
      withRetry(() => this.client.protocolParams(latest), this.retry),
    ]);
    if (sync.headBelowIndex) {
      this.log.warn(
        { block: latest, indexedBlock: previousIndexBlock },
        "chain head below the indexed block (node restarted or chain reverted): index rebuilt from the start block",
      );
    } else if (sync.reorg) {
      this.log.warn({ block: latest }, "chain reorganisation detected: index rebuilt from the start block");
    }
    if (sync.rebuilt) {
      this.log.info({ fromBlock: sync.fromBlock, toBlock: sync.toBlock, events: sync.events, positions: this.index.size }, "position index built");
    }
    const markets = new Map(marketList.map((market) => [market.id, market]));
    const timestamp = BigInt(sync.block.timestamp);
    const healthStarted = performance.now();
    if (sync.rebuilt) this.watch.reset();
    let views: LensPosition[];
    let positionsScanned: number;
    let invalidHealth: number | undefined;
    let scan: RunSummary["scan"];
    if (this.options.autoDeleverage) {
      // Deleveraging ranks every profitable position: it needs them all, healthy or not.
      views = await readHealth(this.client, this.index.positions(), this.lensBatchSize, latest, this.retry);
      positionsScanned = views.filter((v) => v.position.size !== 0n).length;
    } else {
      const plan = this.watch.plan(this.index.positions(), markets, protocol, timestamp, sync.touched);
      const read = await scanHealth(this.client, plan.keys, {
        pageSize: this.scanPageSize,
        concurrency: this.scanConcurrency,
        nearMargin: this.watch.nearMargin,
        blockTag: latest,
        retry: this.retry,
      });
      this.watch.record(plan, read, markets, protocol, timestamp);
      views = this.watch.flagged();
      positionsScanned = read.open;
      invalidHealth = read.invalid;
      scan = { full: plan.full, reason: plan.reason, read: plan.keys.length, flagged: views.length, calls: read.calls };
    }
    const evaluateStarted = performance.now();
    const evaluation = evaluate(views, markets, protocol, timestamp);
    for (const key of evaluation.closed) this.index.drop(key);
    const scanEnded = performance.now();
    const scanSeconds = (scanEnded - started) / 1000;
    const scanMs = {
      index: Math.round(healthStarted - indexStarted),
      health: Math.round(evaluateStarted - healthStarted),
      evaluate: Math.round(scanEnded - evaluateStarted),
    };
    const rpcAtScan = this.options.rpcStats?.();
    this.log[evaluation.units.length > 0 ? "info" : "debug"](
      {
        block: latest,
        positions: positionsScanned,
        full: scan?.full,
        flagged: scan?.flagged,
        liquidatable: evaluation.units.length,
        invalidHealth: invalidHealth ?? evaluation.invalid,
        nearest: evaluation.nearest.map((p) => ({
          trader: p.trader,
          market: this.symbol(p.marketId),
          side: p.size > 0n ? "long" : "short",
          margin: p.isolated ? "isolated" : "cross",
          priceUsd: usdOrUndefined(markets.get(p.marketId)?.price),
          liquidationPriceUsd: usdOrUndefined(p.liquidationPrice),
          distancePercent: p.distance === undefined ? undefined : formatPlain(p.distance * 100n),
        })),
        ms: Math.round(scanSeconds * 1000),
      },
      "scan",
    );
    if (evaluation.mirrorMismatches > 0) {
      this.log.warn({ count: evaluation.mirrorMismatches }, "the SDK mirror disagrees with the lens on liquidatability; following the lens");
    }
    this.lastBlock = latest;
    this.lastScanAt = Date.now();
    this.metrics?.scanned(latest, this.index.size, positionsScanned, evaluation.units.length, scanSeconds);
    await this.options.onScanned?.({ block: latest, timestamp, markets, evaluation });

    // ------------------------------------------------------------------ liquidate
    const liquidationStarted = performance.now();
    if (evaluation.units.length > 0 && !this.stopping) {
      await this.liquidate(evaluation.units, markets, tally, sync.block.gasLimit);
    } else {
      tally.deferred += evaluation.units.length;
    }
    if (this.options.autoDeleverage && !this.stopping) await this.deleverage(views, tally);
    // Orders after the liquidations (those protect the vault first), the same nonce sequence. At the scan's block
    // unless liquidations went out: then at the head, which has them (and a node restarted from its state since
    // the scan may keep no state for the scan's block: anvil --state answers BlockOutOfRange, which ethers reports
    // as "missing revert data", and the run failed).
    const orders = this.orders && !this.stopping ? await this.orders.runOnce(tally.broadcast > 0 ? undefined : latest) : undefined;
    if (orders) tally.errors.push(...orders.errors);
    const rpcAfter = this.options.rpcStats?.();
    return {
      block: latest,
      positionsScanned,
      liquidatableFound: evaluation.units.length,
      liquidationMs: tally.phases,
      liquidated: tally.liquidated,
      positionsClosed: tally.positionsClosed,
      noLongerLiquidatable: tally.noLongerLiquidatable,
      skippedUnprofitable: tally.skippedUnprofitable,
      deferred: tally.deferred,
      failed: tally.failed,
      deleveraged: tally.deleveraged,
      marketsOverPnlBound: tally.marketsOverPnlBound,
      transactions: tally.transactions,
      gasUsed: tally.gasUsed,
      gasCostWei: tally.gasCostWei,
      rewardsUsd: tally.rewardsUsd,
      scanSeconds,
      scanMs,
      liquidationSeconds: (performance.now() - liquidationStarted) / 1000,
      index: {
        fromBlock: sync.fromBlock,
        toBlock: sync.toBlock,
        events: sync.events,
        rebuilt: sync.rebuilt,
        reorg: sync.reorg,
        headBelowIndex: sync.headBelowIndex,
      },
      scan,
      scanRpc: rpcBefore && rpcAtScan ? rpcStatsSince(rpcBefore, rpcAtScan) : undefined,
      rpc: rpcBefore && rpcAfter ? rpcStatsSince(rpcBefore, rpcAfter) : undefined,
      retries: this.retries - retriesBefore,
      orders,
      aborted: this.stopping,
      transactionHashes: tally.hashes,
      errors: tally.errors,
    };
  }

  // ====================================================================================== names in the logs

  /** The deployment's symbol of a market ("ETH-USD"). */
  private symbol(marketId: number): string {
    return this.client.deployment.markets.find((m) => m.id === marketId)?.symbol ?? `market ${marketId}`;
  }

  /** "ETH-USD" for an isolated unit, "cross (ETH-USD, BTC-USD)" for a cross account. */
  private unitMarket(unit: LiquidationUnit): string {
    return unit.isolated ? this.symbol(unit.marketId) : `cross (${unit.marketIds.map((id) => this.symbol(id)).join(", ")})`;
  }

  /** A unit as the logs name it: trader, market, the reward it pays (USD). */
  private target(unit: LiquidationUnit): Record<string, string> {
    return { trader: unit.trader, market: this.unitMarket(unit), rewardUsd: formatPlain(unit.reward) };
  }

  // ====================================================================================== auto-deleveraging

  /** The deleveraging phase (`adl.ts`), with this keeper's sending, receipts and counters. */
  private async deleverage(views: readonly PositionHealth[], tally: Tally): Promise<void> {
    let fees: FeeData | undefined;
    // Read afresh before the first send: the nonce kept from an earlier run may be stale.
    this.sender.resetNonce();
    const out = await deleverage(
      {
        client: this.client,
        log: this.log,
        retry: this.retry,
        maxTransactions: this.maxDeleveragesPerRun,
        stopping: () => this.stopping,
        send: async (data, gas, value) => {
          fees ??= await withRetry(() => this.client.provider.getFeeData(), this.retry);
          return (await this.sendToEngine(data, gas, fees, value)).hash;
        },
        // Every Pyth market's latest price: the engine pays the feeds of the markets it reads, the rest comes back.
        priceUpdate: this.options.prices ? () => this.priceUpdateOf(this.client.deployment.markets.map((m) => m.id)) : undefined,
        receipt: (hash) => this.receiptOf(hash),
        onDeleveraged: () => this.metrics?.deleveraged.inc(),
        onFailedTransaction: () => this.sender.resetNonce(),
      },
      views,
    );
    tally.deleveraged += out.deleveraged;
    tally.marketsOverPnlBound = out.marketsOverPnlBound;
    tally.transactions += out.transactions;
    tally.gasUsed += out.gasUsed;
    tally.gasCostWei += out.gasCostWei;
    tally.hashes.push(...out.hashes);
    tally.errors.push(...out.errors);
  }

  /** The receipt of `hash`, polled until mined or `txTimeoutMs` (null then). */
  private async receiptOf(hash: string): Promise<TransactionReceipt | null> {
    const deadline = Date.now() + this.txTimeoutMs;
    for (;;) {
      const receipt = await withRetry(() => this.client.provider.getTransactionReceipt(hash), { ...this.retry, signal: undefined }).catch(
        () => null,
      );
      if (receipt || Date.now() > deadline) return receipt;
      await abortableDelay(Math.min(this.pollMs, 500));
    }
  }

  /**
   * Waits (up to txTimeoutMs) for the receipt of whichever of the nonce's transactions, original or replacement, is
   * mined; null at once when another transaction of the key used the nonce (a broadcast whose answer was lost, then
   * re-signed): nothing at these hashes can be mined any more, as the send phase's polls also conclude.
   */
  private async minedReceipt(tx: PendingTransaction): Promise<TransactionReceipt | null> {
    const deadline = Date.now() + this.txTimeoutMs;
    const retry = { ...this.retry, signal: undefined };
    for (;;) {
      const receipt = await tx.receipt(this.client.provider, retry).catch(() => null);
      if (receipt || Date.now() > deadline) return receipt;
      const used = await minedCount(this.client.provider, this.sender, retry);
      // One more look first: it may have been mined between the two reads.
      if (used !== undefined && tx.nonce < used) return tx.receipt(this.client.provider, retry).catch(() => null);
      await abortableDelay(Math.min(this.pollMs, 500));
    }
  }

  // ====================================================================================== liquidation phase

  private async liquidate(
    units: readonly LiquidationUnit[],
    markets: ReadonlyMap<number, MarketInfo>,
    tally: Tally,
    blockGasLimit: bigint,
  ): Promise<void> {
    const batches: LiquidationUnit[][] = [];
    for (let i = 0; i < units.length; i += this.batchSize) batches.push(units.slice(i, i + this.batchSize));
    const fees = await withRetry(() => this.client.provider.getFeeData(), this.retry);
    this.sender.resetNonce(); // the first batch reads the pending nonce; the others count on from it
    const gasPrice = fees.gasPrice ?? fees.maxFeePerGas ?? 0n;
    const ethUsd = this.options.ethUsd ?? markets.get(this.ethMarket!.id)?.price ?? 0n;

    // Every batch is prepared before the first is sent (issue 12: one after the other, 20 batches took 11-15
    // blocks): in one eth_simulateV1 where the node has it, each batch on the state the ones before it leave, else
    // call by call, several in flight. Nothing is sent before its own simulation says what it liquidates.
    const wanted = Math.min(batches.length, this.maxBatchesPerRun === Number.POSITIVE_INFINITY ? batches.length : this.maxBatchesPerRun);
    // The batches of this run go out, and so are simulated, lightest first by positions closed (a batch's gas is
    // about linear in them; ties keep the urgency order), the deferred ones after them: simulated in the order they
    // are sent, each sees the state it will meet (the first credit to the keeper's balance writes a fresh slot, worth
    // 16,904 gas to whichever batch is mined first). With the limits made non-decreasing below, a node that fills a
    // block and leaves transaction N out never finds a smaller N+1 that fits: anvil then drops N+1 for its nonce gap
    // (seen: the last batch of a run stuck until its fee bump, 30 s later). All go out within a second or two, so
    // the order moves no unit by more than a block.
    const weight = (batch: readonly LiquidationUnit[]) => batch.reduce((n, u) => n + u.positions, 0);
    batches.splice(0, wanted, ...batches.slice(0, wanted).sort((a, b) => weight(a) - weight(b)));
    const prepareStarted = performance.now();
    const prepared = this.stopping ? [] : await this.prepare(batches.slice(0, wanted), blockGasLimit);
    const sendStarted = performance.now();

    const pending: Pending[] = [];
    let sent = 0;
    const limited = nonDecreasingLimits(prepared);
    const queue: { batch: LiquidationUnit[]; prepared?: Prepared }[] = batches.map((batch, i) => ({ batch, prepared: limited[i] }));
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      const batch = item.batch;
      if (this.stopping || sent >= this.maxBatchesPerRun) {
        tally.deferred += batch.length;
        continue;
      }
      let simulated: Simulated;
      try {
        if (item.prepared && "error" in item.prepared) throw item.prepared.error;
        simulated = item.prepared?.simulated ?? (await this.simulate(batch));
      } catch (error) {
        // Issue 12's race: a simulation that ran before the previous batch was mined, against a block environment
        // older than state it read. Again, pinned to the block that mined the previous batch (or the head).
        const pinned = await this.pinnedSimulation(batch, pending, toPerpError(error).message);
        if (pinned.simulated) {
          simulated = pinned.simulated;
        } else if (batch.length > 1) {
          // Still reverting: one bad unit must not take the others down. Halves go to the front of the queue.
          const half = Math.ceil(batch.length / 2);
          this.log.warn({ units: batch.length, error: pinned.error }, "batch simulation reverts; bisecting it");
          queue.unshift({ batch: batch.slice(0, half) }, { batch: batch.slice(half) });
          continue;
        } else {
          tally.failed += 1;
          this.metrics?.liquidationsFailed.inc(1);
          tally.errors.push(`simulation of ${batch[0].trader} in ${this.unitMarket(batch[0])} failed: ${pinned.error}`);
          this.log.error({ target: this.target(batch[0]), error: pinned.error }, "simulation failed; unit skipped");
          continue;
        }
      }
      tally.noLongerLiquidatable += batch.length - simulated.units.length;
      if (simulated.expected === 0) {
        this.log.info(
          { units: batch.length, targets: batch.map((u) => this.target(u)) },
          "batch no longer liquidatable (another keeper was first, or it recovered); nothing sent",
        );
        continue;
      }
      const reward = simulated.units.reduce((sum, unit) => sum + unit.reward, 0n);
      // What the batch costs is the gas it uses, not its limit (the limit covers refunds and nested calls' 1/64).
      const costUsd = ((simulated.gasUsed ?? simulated.gas) * gasPrice * ethUsd) / math.WAD;
      if (reward - costUsd < this.minProfitUsd) {
        tally.skippedUnprofitable += simulated.units.length;
        this.log.info(
          {
            units: simulated.units.length,
            gas: simulated.gas,
            gasPriceWei: gasPrice,
            rewardUsd: formatPlain(reward),
            gasCostUsd: formatPlain(costUsd),
            minProfitUsd: formatPlain(this.minProfitUsd),
          },
          "batch not profitable; skipped",
        );
        continue;
      }
      try {
        const tx = await this.send(simulated, fees);
        pending.push(tx);
        sent += 1;
        tally.broadcast += 1;
        this.metrics?.liquidationsSent.inc(simulated.units.length);
        this.log.info(
          {
            hash: tx.tx.hash,
            nonce: tx.tx.nonce,
            units: simulated.units.length,
            expected: simulated.expected,
            gas: simulated.gas,
            gasLimit: simulated.gasLimit,
            simulatedGasUsed: simulated.gasUsed,
            rewardUsd: formatPlain(reward),
            gasCostUsd: formatPlain(costUsd),
            targets: simulated.units.map((u) => this.target(u)),
          },
          "liquidation sent",
        );
      } catch (error) {
        const message = toPerpError(error).message;
        tally.failed += simulated.units.length;
        this.metrics?.liquidationsFailed.inc(simulated.units.length);
        tally.errors.push(`sending a batch of ${simulated.units.length} failed: ${message}`);
        this.log.error({ units: simulated.units.length, error: message }, "sending failed");
      }
    }
    const receiptsStarted = performance.now();
    await this.collect(pending, tally);
    tally.phases = {
      prepare: Math.round(sendStarted - prepareStarted),
      send: Math.round(receiptsStarted - sendStarted),
      receipts: Math.round(performance.now() - receiptsStarted),
    };
  }

  /**
   * Simulates every batch before any is sent. With `eth_simulateV1`, in one request, each batch on the state the
   * ones before it leave (so batch N+1 cannot race batch N: they are simulated in order), with the chain's block gas
   * limit each; the `Liquidated` logs say which units each would take. Without it (Hardhat's in-process network),
   * `liquidateMany` as `eth_call` + `eth_estimateGas` per batch, `SIMULATION_CONCURRENCY` batches in flight.
   */
  private async prepare(batches: readonly LiquidationUnit[][], blockGasLimit: bigint): Promise<Prepared[]> {
    if (batches.length === 0) return [];
    // A batch whose prices could not be fetched (a 429, a time-out) is prepared as failed, so that it alone goes the
    // slow way (simulated again when its turn comes, fetching its prices then); the others are not held up.
    const fetched = await Promise.all(
      batches.map((batch) => this.liquidationUpdate(batch).then((update) => ({ update }), (error: unknown) => ({ error }))),
    );
    const updates = fetched.map((f) => ("update" in f ? f.update : undefined));
    if (this.simulateV1 && blockGasLimit > 0n) {
      const engine = this.client.deployment.contracts.PerpEngine;
      const ready = batches.flatMap((batch, i) => (updates[i] === undefined ? [] : [{ batch, i, update: updates[i] }]));
      const calls = ready.map(({ batch, update }) => ({ to: engine, data: this.liquidateManyData(batch, update.update), value: update.value }));
      try {
        const outcomes = await withRetry(() => simulateCalls(this.client.provider, this.address, calls, blockGasLimit), this.retry);
        const results: Prepared[] = fetched.map((f) => ("error" in f ? { error: f.error } : undefined));
        outcomes.forEach((outcome, k) => {
          results[ready[k].i] = this.preparedFrom(ready[k].batch, outcome, ready[k].update, blockGasLimit);
        });
        return results;
      } catch (error) {
        if (error instanceof SimulationUnsupportedError) {
          this.simulateV1 = false;
          this.log.info({ reason: error.message }, "the node has no eth_simulateV1: batches are simulated one by one");
        } else {
          this.log.warn({ error: toPerpError(error).message }, "eth_simulateV1 failed; simulating the batches one by one");
        }
      }
    }
    // Each batch's failure is its own (it goes the retry and bisect path when its turn to be sent comes).
    return runConcurrently(
      batches.length,
      SIMULATION_CONCURRENCY,
      async (i): Promise<Prepared> => {
        const f = fetched[i];
        if ("error" in f) return { error: f.error };
        try {
          return { simulated: await this.simulate(batches[i], undefined, f.update) };
        } catch (error) {
          return { error };
        }
      },
      () => this.stopping,
    );
  }

  /** One batch's `eth_simulateV1` outcome as a simulation: the units its `Liquidated` logs name, the gas it needs. */
  private preparedFrom(
    batch: readonly LiquidationUnit[],
    outcome: CallOutcome,
    update: { readonly update: readonly string[]; readonly value: bigint },
    blockGasLimit: bigint,
  ): Prepared {
    if (!outcome.ok) return { error: outcome.error };
    if (outcome.returnData.length < 66) return undefined;
    const expected = Number(BigInt(outcome.returnData.slice(0, 66)));
    const engine = this.client.deployment.contracts.PerpEngine.toLowerCase();
    const me = `0x${this.address.toLowerCase().slice(2).padStart(64, "0")}`;
    const taken = new Set<string>();
    for (const log of outcome.logs) {
      if (log.address !== engine || log.topics[0] !== LIQUIDATED_TOPIC || log.topics[3] !== me) continue;
      const marketId = BigInt(log.topics[2]);
      taken.add(`0x${log.topics[1].slice(26)}:${marketId === CROSS ? "cross" : marketId}`);
    }
    const units = batch.filter((u) => taken.has(`${u.trader.toLowerCase()}:${u.isolated ? u.marketId : "cross"}`));
    // Every unit the count says, found in the logs; else the batch is simulated again when its turn comes.
    if (units.length !== expected) return undefined;
    // Sufficient on the simulated state, and never above what a block holds (the simulation had that much). Signed
    // as is: 132 % of the gas used is a bound already, and the send policy's 25 % on top (165 %) left a third of
    // each 30M block empty (a block takes a transaction only if its limit fits in the gas left: issue 12's 10,000
    // book needed 5-6 blocks where 4 hold its gas; the node's own estimate is 113-118 % of the gas used).
    const gasNeeded = gasFromUsed(outcome.gasUsed);
    const gas = expected === 0 ? 0n : gasNeeded < blockGasLimit ? gasNeeded : blockGasLimit;
    return { simulated: { units, expected, gas, gasUsed: outcome.gasUsed, gasLimit: gas, update: update.update, value: update.value } };
  }

  /** `liquidateMany(traders, marketIds, priceUpdate)` calldata. */
  private liquidateManyData(units: readonly LiquidationUnit[], update: readonly string[]): string {
    return this.client.engine.interface.encodeFunctionData("liquidateMany", [units.map((u) => u.trader), units.map((u) => BigInt(u.marketId)), [...update]]);
  }

  /**
   * The second simulation of a batch whose first one reverted: after the receipt of the last batch sent (the state
   * the first simulation may have raced), pinned to the block that mined it, or to the head when nothing is pending.
   */
  private async pinnedSimulation(
    batch: readonly LiquidationUnit[],
    pending: readonly Pending[],
    firstError: string,
  ): Promise<{ simulated?: Simulated; error: string }> {
    const previous = pending.at(-1);
    let block: number | undefined;
    if (previous) block = (await this.minedReceipt(previous.tx))?.blockNumber;
    try {
      block ??= await withRetry(() => this.client.provider.getBlockNumber(), this.retry);
      this.log.warn({ units: batch.length, block, error: firstError }, "batch simulation reverted; simulating again pinned to a later block");
      return { simulated: await this.simulate(batch, block), error: firstError };
    } catch (error) {
      return { error: toPerpError(error).message };
    }
  }

  /**
   * Simulates `liquidateMany` for the batch (`eth_call` and `eth_estimateGas` together), at `blockTag` (default the
   * node's pending state). When it would liquidate fewer units than the batch holds, the lens tells which are gone
   * and the rest is simulated again, once.
   */
  private async simulate(
    batch: readonly LiquidationUnit[],
    blockTag?: number,
    prices?: { readonly update: readonly string[]; readonly value: bigint },
  ): Promise<Simulated> {
    let units = [...batch];
    let { update, value } = prices ?? (await this.liquidationUpdate(units));
    for (let round = 0; ; round++) {
      const traders = units.map((u) => u.trader);
      const ids = units.map((u) => BigInt(u.marketId));
      let count: bigint;
      let gas: bigint;
      try {
        [count, gas] = await withRetry(
          () =>
            Promise.all([
              // Pinned (after a revert): the call at that block; the estimate has no block tag in ethers, but the
              // batch it raced is mined by then.
              this.client.engine.liquidateMany.staticCall(traders, ids, [...update], blockTag === undefined ? { value } : { value, blockTag }),
              this.client.engine.liquidateMany.estimateGas(traders, ids, [...update], { value }),
            ]),
          this.retry,
        );
      } catch (error) {
        // The feeds asked more than the summed getUpdateFee (a fee changed meanwhile): pay what the engine names, once.
        const required = insufficientFee(this.client, error);
        if (required === undefined || required <= value || round > 0) throw error;
        value = required;
        round -= 1;
        continue;
      }
      const expected = Number(count);
      if (expected === 0) return { units: [], expected, gas, update, value };
      if (expected === units.length || round >= 1) return { units, expected, gas, update, value };
      const views = await readHealth(this.client, units, units.length, blockTag ?? "latest", this.retry);
      units = units.filter((_, i) => views[i]?.liquidatable === true);
      if (units.length === 0) return { units, expected: 0, gas: 0n, update, value };
    }
  }

  /**
   * The latest prices of the markets the units hold (`prices.latest`, one request) and the fee the engine pays their
   * feeds: each feed's `getUpdateFee` of the data, summed (the engine refunds the rest). Without a price source, or
   * for markets without a Pyth feed id, empty data: the engine uses the feeds' caches.
   */
  private async liquidationUpdate(units: readonly LiquidationUnit[]): Promise<{ update: readonly string[]; value: bigint }> {
    return this.priceUpdateOf(units.flatMap((u) => (u.marketIds.length > 0 ? u.marketIds : [u.marketId])));
  }

  /** `prices.latest` of the Pyth feeds of `marketIds`, and the summed `getUpdateFee` of those feeds. */
  private async priceUpdateOf(marketIds: readonly number[]): Promise<{ update: readonly string[]; value: bigint }> {
    const prices = this.options.prices;
    const priceIds = this.orders?.priceIds ?? this.priceIds;
    if (!prices || !priceIds) return { update: [], value: 0n };
    const markets = [...new Set(marketIds)];
    const ids = [...new Set(markets.map((m) => priceIds.get(m)).filter((id): id is string => id !== undefined))];
    if (ids.length === 0) return { update: [], value: 0n };
    const { updateData } = await prices.latest(ids);
    const feeds = markets
      .filter((m) => priceIds.has(m))
      .map((m) => this.client.deployment.markets.find((d) => d.id === m)?.priceFeed)
      .filter((f): f is string => f !== undefined);
    const fees = await withRetry(
      () => Promise.all(feeds.map((feed) => IPriceFeed__factory.connect(feed, this.client.provider).getUpdateFee(updateData))),
      this.retry,
    );
    return { update: updateData, value: fees.reduce((a, b) => a + b, 0n) };
  }

  /** Signs and broadcasts one `liquidateMany`. */
  private async send(simulated: Simulated, fees: FeeData): Promise<Pending> {
    const sent = await this.sendToEngine(this.liquidateManyData(simulated.units, simulated.update), simulated.gas, fees, simulated.value, simulated.gasLimit);
    return { tx: new PendingTransaction(sent), units: simulated.units, expected: simulated.expected };
  }

  /** Broadcasts one call to the engine through the SDK's sender (the nonce re-read and re-signed if taken meanwhile). */
  private async sendToEngine(data: string, gas: bigint, fees: FeeData, value = 0n, gasLimit?: bigint): Promise<SentTransaction> {
    return this.sender.submit({ to: this.client.deployment.contracts.PerpEngine, data, gas, gasLimit, fees, value });
  }

  /**
   * Waits for the receipts (at most `txTimeoutMs`) and counts what each transaction did. One still in the pool after
   * `feeBump.bumpAfterMs` is replaced at its nonce with higher fees (sender.ts); whichever of its hashes is mined counts.
   */
  private async collect(pending: readonly Pending[], tally: Tally): Promise<void> {
    const me = this.address.toLowerCase();
    // Not aborted by stop(): the transactions are out, their outcome is part of this run.
    const retry = { ...this.retry, signal: undefined };
    const options = { provider: this.client.provider, sender: this.sender, policy: this.options.feeBump ?? {}, retry, timeoutMs: this.txTimeoutMs, pollMs: Math.min(this.pollMs, 500) };
    await awaitMined(pending, options, {
      polled: (p, outcome) => {
        if (outcome.kind === "bumped") {
          this.metrics?.feeBumps.inc();
          this.log.warn(
            { nonce: p.tx.nonce, hash: outcome.hash, bumps: outcome.bumps, maxFeePerGas: outcome.maxFeePerGas ?? undefined, gasPrice: outcome.gasPrice ?? undefined },
            "liquidation still pending; replaced with higher fees at the same nonce",
          );
        } else if (outcome.kind === "bump-refused") {
          this.log.warn({ nonce: p.tx.nonce, hash: p.tx.hash, reason: outcome.reason }, "fee bump not sent");
        }
      },
      superseded: (pendingTx) => {
        // Not failed (its units may well be liquidated, by the transaction that took the nonce): the next run
        // re-reads them on chain and sends what is still liquidatable, so nothing is sent twice.
        tally.deferred += pendingTx.units.length;
        this.log.warn(
          { hash: pendingTx.tx.hash, nonce: pendingTx.tx.nonce, units: pendingTx.units.length },
          "nonce used on chain by another transaction; the next run re-checks its units",
        );
      },
      timedOut: (open) => {
        for (const { tx, units } of open) {
          tally.failed += units.length;
          this.metrics?.liquidationsFailed.inc(units.length);
          tally.errors.push(`transaction ${tx.hash} (nonce ${tx.nonce}, ${tx.bumps} fee bumps) not mined after ${this.txTimeoutMs} ms`);
          this.log.error({ hash: tx.hash, nonce: tx.nonce, bumps: tx.bumps }, "liquidation not mined in time; the next run re-checks its units");
        }
      },
      mined: (pendingTx, receipt) => {
        const tx = { ...pendingTx, hash: receipt.hash, nonce: pendingTx.tx.nonce };
        tally.transactions += 1;
        tally.hashes.push(tx.hash);
        tally.gasUsed += receipt.gasUsed;
        tally.gasCostWei += receipt.gasUsed * receipt.gasPrice;
        if (receipt.status !== 1) {
          tally.failed += tx.units.length;
          this.metrics?.liquidationsFailed.inc(tx.units.length);
          tally.errors.push(`transaction ${tx.hash} reverted`);
          this.log.error({ hash: tx.hash, targets: tx.units.map((u) => this.target(u)) }, "liquidation transaction reverted");
          return;
        }
        let liquidated = 0;
        let reward = 0n;
        const done: Record<string, string>[] = [];
        const events = decodeReceipt(receipt, { engine: this.client.deployment.contracts.PerpEngine });
        tally.positionsClosed += eventsNamed(events, "PositionClosedAtIndex").length;
        for (const event of eventsNamed(events, "Liquidated").map(toLiquidationRecord)) {
          if (event.keeper.toLowerCase() !== me) continue;
          liquidated += 1;
          reward += event.keeperReward;
          const unit = tx.units.find(
            (u) => u.trader.toLowerCase() === event.trader.toLowerCase() && (event.marketId === undefined ? !u.isolated : u.isolated && u.marketId === event.marketId),
          );
          done.push({
            trader: event.trader,
            market: unit ? this.unitMarket(unit) : event.marketId === undefined ? "cross" : this.symbol(event.marketId),
            equityUsd: formatPlain(event.equity),
            rewardUsd: formatPlain(event.keeperReward),
          });
        }
        tally.liquidated += liquidated;
        tally.rewardsUsd += reward;
        tally.noLongerLiquidatable += tx.units.length - liquidated;
        this.metrics?.liquidationsMined.inc(liquidated);
        this.metrics?.rewardsUsd.inc(Number(formatPlain(reward)));
        this.log.info(
          {
            hash: tx.hash,
            block: receipt.blockNumber,
            liquidated,
            skippedOnChain: tx.units.length - liquidated,
            gasUsed: receipt.gasUsed,
            rewardUsd: formatPlain(reward),
            liquidations: done,
          },
          "liquidation mined",
        );
      },
    });
  }
}
