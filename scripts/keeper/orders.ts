/**
 * The order keeper: settles market orders as soon as their window opens, executes trigger orders when the latest
 * verified price crosses them, ratchets trailing stops, and cleans up expired market orders and voided reduce-only
 * orders for their fee, and settles the LP vault's due deposit/redeem requests (lp.ts). A thin loop over the SDK (`@perp/sdk/keeper`: `OrderChainIndex`, `planOrders`,
 * `triggerCrossed`); prices come from a `PriceSource` (`HermesPriceSource`, pointed at Hermes or at the local price
 * service: the same code path).
 *
 * Each run: sync the order index to the head (one `eth_getLogs`), read the book's parameters, the positions of
 * reduce-only orders (epoch and size) and the latest prices of the markets with trigger orders; plan; for each
 * batch fetch its price update and simulate it (`eth_call` + `eth_estimateGas`; up to four batches at once); send
 * them all; then wait for the receipts and count what this keeper did from the book's events. Races with other
 * keepers are harmless: the book skips orders already gone in `settleOrders`/`executeOrders`, and a batch whose
 * simulation does nothing is not sent.
 *
 * @example
 * ```ts
 * const prices = new HermesPriceSource({ endpoint: "http://127.0.0.1:8788" });
 * const keeper = await OrderKeeper.create({ client, orderBook, prices });
 * const summary = await keeper.runOnce();
 * ```
 */
import { getAddress, type Signer } from "ethers";

import {
  TransactionSender,
  isTransientError,
  rpcStatsSince,
  toPerpError,
  withRetry,
  type PerpClient,
  type RetryOptions,
  type RpcStats,
} from "@perp/sdk";
import { IOrderBook__factory, IPriceFeed__factory, IPythPriceFeed__factory, type IOrderBook } from "@perp/sdk/contracts";
import {
  CancelReason,
  OrderChainIndex,
  OrderKind,
  batchBySettleTime,
  decodeOrderLog,
  planOrders,
  positionKey,
  positionsNeeded,
  readPositionStates,
  pythPriceToWad,
  runConcurrently,
  type IndexedOrder,
  type MarketPrice,
  type OrderPlan,
  type PositionState,
} from "@perp/sdk/keeper";

import { PriceSourceError, normalizePriceId, type PriceSource, type PriceUpdateBundle } from "@perp/sdk/prices";

import { formatPlain } from "./format.js";
import { LpRequestSettler } from "./lp.js";
import { silentLogger, type Logger } from "./logger.js";
import type { KeeperMetrics } from "./metrics.js";
import { PendingTransaction, awaitMined, type FeeBumpPolicy } from "./sender.js";

/** Orders per `settleOrders` / `executeOrders` transaction by default. */
export const DEFAULT_ORDER_BATCH = 50;
/** The largest batch accepted: the book's `MAX_BATCH` (larger batches revert `InvalidBatch`). */
export const MAX_ORDER_BATCH = 50;
/** Order transactions prepared (priced and simulated) at once; the liquidation phase's `SIMULATION_CONCURRENCY`. */
export const ORDER_SIMULATION_CONCURRENCY = 4;
/** Positions per `PerpLens.positionStates` call (about 5k gas each: 2.5M gas of `eth_call`; a page a node refuses is split). */
export const POSITION_PAGE = 500;

export interface OrderKeeperOptions {
  /** Connected with a `Signer`. */
  readonly client: PerpClient;
  /** Address of the `OrderBook`. */
  readonly orderBook: string;
  /** Where price updates come from (`HermesPriceSource` for Hermes and the local price service alike). */
  readonly prices: PriceSource;
  readonly logger?: Logger;
  readonly metrics?: KeeperMetrics;
  /** First block of the event scan (default: the deployment block). */
  readonly fromBlock?: number;
  /** Orders per `settleOrders` / `executeOrders` (1 to 50, the book's `MAX_BATCH`; default 50). */
  readonly batchSize?: number;
  readonly logChunk?: number;
  readonly retry?: Pick<RetryOptions, "attempts" | "baseDelayMs" | "maxDelayMs">;
  readonly pollMs?: number;
  readonly txTimeoutMs?: number;
  /** Replacing an order transaction that stays in the pool (sender.ts; default: after 30 s, at most 3 bumps of 10 % + 1 wei). */
  readonly feeBump?: FeeBumpPolicy;
  readonly gasLimitMarginPercent?: number;
  /** The sender to share with the liquidation keeper (one nonce sequence per key). Default: one of its own. */
  readonly sender?: TransactionSender;
  readonly rpcStats?: () => RpcStats;
  /** Price feed id of each market whose feed is a Pyth adapter (default: read from each feed's `priceId()`). */
  readonly priceIds?: ReadonlyMap<number, string>;
  /** Called after the simulations, before anything is sent (awaited), with what will be sent. For demos and tests. */
  readonly onPlanned?: (planned: readonly PlannedTransaction[]) => void | Promise<void>;
  /** Settle the vault's due LP requests too (default true). */
  readonly lpRequests?: boolean;
}

/** One transaction the order keeper is about to send. */
export interface PlannedTransaction {
  /** `void`: `executeOrders` of voided reduce-only orders, which the book cancels for the fee. */
  readonly action: "settle" | "execute" | "void" | "ratchet" | "cancel";
  readonly orderIds: readonly bigint[];
  readonly gas: bigint;
  readonly value: bigint;
}

/** What one order run did. */
export interface OrderRunSummary {
  readonly block: number;
  readonly timestamp: number;
  readonly openOrders: number;
  /** What the plan found at the block. */
  readonly settleable: number;
  readonly triggered: number;
  readonly voided: number;
  readonly expired: number;
  readonly ratchetable: number;
  /** Trigger orders with no usable price (none, too old, not newer than the order). */
  readonly noPrice: number;
  /** This keeper's outcomes, from the book's events in its receipts. */
  readonly settled: number;
  readonly executed: number;
  /** Orders this keeper cancelled (for the trader's reasons, expired, voided), and ratchets it made. */
  readonly cancelled: number;
  readonly ratcheted: number;
  /** Keeper fees this keeper earned (USD WAD). */
  readonly feesUsd: bigint;
  /** Orders that simulation or the chain showed as already gone (another keeper was first). */
  readonly gone: number;
  /** Orders in batches that failed (price source, simulation, sending, reverted). */
  readonly failed: number;
  readonly transactions: number;
  readonly gasUsed: bigint;
  readonly gasCostWei: bigint;
  /** Per settled order: mined block - first block this keeper saw it settleable. */
  readonly settleLatencyBlocks: readonly number[];
  readonly rpc?: RpcStats;
  readonly transactionHashes: readonly string[];
  readonly errors: readonly string[];
  /** LP vault requests due at the run's block, those this keeper settled, and their fees (token units). */
  readonly lpDue: number;
  readonly lpSettled: number;
  readonly lpFees: bigint;
}

/** An `OrderRunSummary` with bigints as strings, ready for `JSON.stringify`. */
export function orderSummaryJson(summary: OrderRunSummary): Record<string, unknown> {
  return { ...summary, feesUsd: formatPlain(summary.feesUsd), gasUsed: summary.gasUsed.toString(), gasCostWei: summary.gasCostWei.toString(), lpFees: summary.lpFees.toString() };
}

type Action = PlannedTransaction["action"];

interface Planned {
  readonly action: Action;
  readonly orders: readonly IndexedOrder[];
  readonly data: string;
  readonly value: bigint;
  readonly gas: bigint;
}

interface Sent extends Planned {
  readonly hash: string;
  readonly nonce: number;
  /** The nonce's transactions: the first and its fee-bumped replacements. */
  readonly tx: PendingTransaction;
}

/** What one run's batches share: a window's first price per settlement time and feeds, the fee per feed and update. */
interface RunCache {
  readonly windowPrices: Map<string, Promise<PriceUpdateBundle>>;
  readonly fees: Map<string, Promise<bigint>>;
}

class Tally {
  settled = 0;
  executed = 0;
  cancelled = 0;
  ratcheted = 0;
  feesUsd = 0n;
  gone = 0;
  failed = 0;
  transactions = 0;
  gasUsed = 0n;
  gasCostWei = 0n;
  readonly latency: number[] = [];
  readonly hashes: string[] = [];
  readonly errors: string[] = [];
}

/** The revert data in an ethers error chain, if any. */
function revertData(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown; error?: unknown }).cause ?? (e as { error?: unknown }).error, depth++) {
    const data = (e as { data?: unknown }).data;
    if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
    if (data && typeof (data as { data?: unknown }).data === "string") return (data as { data: string }).data;
    const info = (e as { info?: { error?: { data?: unknown } } }).info?.error?.data;
    if (typeof info === "string" && /^0x[0-9a-fA-F]{8}/.test(info)) return info;
  }
  return undefined;
}

export class OrderKeeper {
  readonly client: PerpClient;
  readonly address: string;
  readonly book: IOrderBook;
  readonly bookAddress: string;
  private readonly log: Logger;
  private readonly metrics: KeeperMetrics | undefined;
  private readonly index: OrderChainIndex;
  private readonly retry: RetryOptions;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly txTimeoutMs: number;
  private readonly sender: TransactionSender;
  /** First block at which this keeper saw each market order settleable (for the latency metric). */
  private readonly firstSettleable = new Map<bigint, number>();
  private readonly abort = new AbortController();
  private readonly lp: LpRequestSettler | undefined;

  private constructor(
    private readonly options: OrderKeeperOptions,
    signer: Signer,
    address: string,
    /** Pyth price id per market (markets without one have Chainlink feeds: empty update data). */
    readonly priceIds: ReadonlyMap<number, string>,
  ) {
    this.client = options.client;
    this.address = address;
    this.bookAddress = getAddress(options.orderBook);
    this.book = IOrderBook__factory.connect(this.bookAddress, signer);
    this.log = options.logger ?? silentLogger();
    this.metrics = options.metrics;
    this.batchSize = options.batchSize ?? DEFAULT_ORDER_BATCH;
    this.pollMs = options.pollMs ?? 2_000;
    this.txTimeoutMs = options.txTimeoutMs ?? 120_000;
    this.retry = {
      attempts: options.retry?.attempts ?? 5,
      baseDelayMs: options.retry?.baseDelayMs ?? 250,
      maxDelayMs: options.retry?.maxDelayMs ?? 8_000,
      signal: this.abort.signal,
      onRetry: ({ attempt, delayMs, error }) => {
        this.metrics?.rpcErrors.inc();
        this.log.warn({ attempt, delayMs, error: error.message }, "RPC request failed; retrying");
      },
    };
    this.sender =
      options.sender ??
      new TransactionSender(signer, {
        gasMarginPercent: options.gasLimitMarginPercent ?? 25,
        nonce: "local",
        signing: "auto",
        retry: this.retry,
        chainId: this.client.deployment.chainId,
        provider: this.client.provider,
      });
    this.lp =
      options.lpRequests === false
        ? undefined
        : new LpRequestSettler(this.client, {
            orderBook: this.bookAddress,
            prices: options.prices,
            priceIds,
            sender: this.sender,
            address,
            fromBlock: options.fromBlock ?? this.client.deployment.deploymentBlock,
            retry: this.retry,
            txTimeoutMs: this.txTimeoutMs,
            feeBump: options.feeBump,
            pollMs: this.pollMs,
            metrics: this.metrics,
            log: this.log,
            priceRequest: (request) => this.priceRequest(request),
          });
    this.index = new OrderChainIndex(
      this.client.provider,
      this.bookAddress,
      options.fromBlock ?? this.client.deployment.deploymentBlock,
      options.logChunk ?? 10_000,
      this.retry,
    );
  }

  /**
   * Checks the settings and reads each market's Pyth price id (a feed without `priceId()` is not a Pyth adapter:
   * its orders are sent with empty update data).
   */
  static async create(options: OrderKeeperOptions): Promise<OrderKeeper> {
    const signer = options.client.signer;
    if (!signer) throw new RangeError("the order keeper needs a client connected with a signer");
    const batchSize = options.batchSize ?? DEFAULT_ORDER_BATCH;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_ORDER_BATCH) {
      throw new RangeError(`the order batch size must be an integer from 1 to ${MAX_ORDER_BATCH}, not ${batchSize}`);
    }
    const priceIds = options.priceIds ?? (await pythPriceIds(options.client));
    return new OrderKeeper(options, signer, await signer.getAddress(), priceIds);
  }

  get openOrders(): number {
    return this.index.size;
  }

  /** The block the order index reflects, and its hash. */
  get indexedBlock(): { number: number; hash: string | undefined } {
    return { number: this.index.block, hash: this.index.hash };
  }

  /** Forgets the index (the chain behind it changed); the next run rebuilds it. */
  reset(): void {
    this.index.reset();
    this.lp?.reset();
    this.firstSettleable.clear();
  }

  stop(): void {
    this.abort.abort();
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  /** One pass at the latest block (or `block`): sync, plan, simulate, send, wait for the receipts. */
  async runOnce(block?: number): Promise<OrderRunSummary> {
    const rpcBefore = this.options.rpcStats?.();
    const tally = new Tally();
    const latest = block ?? (await withRetry(() => this.client.provider.getBlockNumber(), this.retry));
    const [sync, params] = await Promise.all([this.index.sync(latest), withRetry(() => this.book.params({ blockTag: latest }), this.retry)]);
    if (sync.reorg || sync.headBelowIndex) {
      this.firstSettleable.clear();
      this.log.warn({ block: latest }, "order index rebuilt: the chain under it changed");
    } else if (sync.rebuilt) {
      this.log.info({ fromBlock: sync.fromBlock, toBlock: sync.toBlock, events: sync.events, orders: this.index.size }, "order index built");
    }
    const now = BigInt(sync.block.timestamp);
    const orders = this.index.orders();
    for (const id of this.firstSettleable.keys()) if (!this.index.get(id)) this.firstSettleable.delete(id);
    for (const o of orders) if (o.kind === OrderKind.Market && now >= o.settleableAt && !this.firstSettleable.has(o.id)) this.firstSettleable.set(o.id, latest);

    const triggers = orders.filter((o) => o.kind !== OrderKind.Market);
    const [positions, latestPrices] = await Promise.all([
      this.readPositions(triggers, latest),
      this.latestPrices([...new Set(triggers.map((o) => o.marketId))], tally),
    ]);
    const plan = planOrders(orders, now, params, latestPrices.prices, positions);
    this.metrics?.openOrders.set(orders.length);
    this.log[plan.settle.length + plan.execute.length + plan.voided.length + plan.cancelExpired.length + plan.ratchet.length > 0 ? "info" : "debug"](
      {
        block: latest,
        orders: orders.length,
        settleable: plan.settle.length,
        triggered: plan.execute.length,
        voided: plan.voided.length,
        expired: plan.cancelExpired.length,
        ratchetable: plan.ratchet.length,
        noPrice: plan.noPrice,
      },
      "order scan",
    );

    const sent: Sent[] = [];
    const prepared = await this.prepare(plan, latestPrices.bundle, tally);
    await this.options.onPlanned?.(prepared.map((p) => ({ action: p.action, orderIds: p.orders.map((o) => o.id), gas: p.gas, value: p.value })));
    // Fees and the nonce only when something goes out: an idle run costs the index sync and params() alone.
    const fees = prepared.length === 0 ? undefined : await withRetry(() => this.client.provider.getFeeData(), this.retry);
    if (fees) this.sender.resetNonce();
    for (const planned of prepared) {
      if (this.stopping) break;
      try {
        const submitted = await this.sender.submit({ to: this.bookAddress, data: planned.data, value: planned.value, gas: planned.gas, fees });
        const { hash, nonce } = submitted;
        sent.push({ ...planned, hash, nonce, tx: new PendingTransaction(submitted) });
        this.log.info({ hash, nonce, action: planned.action, orders: planned.orders.map((o) => o.id.toString()), gas: planned.gas }, "order transaction sent");
      } catch (error) {
        this.fail(tally, planned.orders.length, `sending ${planned.action} of ${planned.orders.length} failed: ${toPerpError(error).message}`);
      }
    }
    await this.collect(sent, tally);
    // After transactions went out, the LP requests are read at the head (see Keeper.runOnce: the run's block may be
    // gone from a node restarted in between). `now` stays the run's time: a request due then is due later too.
    const lpBlock = sent.length === 0 || this.lp === undefined ? latest : await withRetry(() => this.client.provider.getBlockNumber(), this.retry);
    const lpDue = this.lp === undefined || this.stopping ? [] : await this.lp.due(lpBlock, now);
    const lp =
      this.lp === undefined || lpDue.length === 0
        ? undefined
        : await this.lp.settle(lpDue, fees ?? (await withRetry(() => this.client.provider.getFeeData(), this.retry)));
    if (lp !== undefined) {
      tally.transactions += lp.transactions;
      tally.gasUsed += lp.gasUsed;
      tally.failed += lp.errors.length;
      tally.errors.push(...lp.errors);
    }
    const rpcAfter = this.options.rpcStats?.();
    return {
      block: latest,
      timestamp: sync.block.timestamp,
      openOrders: orders.length,
      settleable: plan.settle.length,
      triggered: plan.execute.length,
      voided: plan.voided.length,
      expired: plan.cancelExpired.length,
      ratchetable: plan.ratchet.length,
      noPrice: plan.noPrice,
      settled: tally.settled,
      executed: tally.executed,
      cancelled: tally.cancelled,
      ratcheted: tally.ratcheted,
      feesUsd: tally.feesUsd,
      gone: tally.gone,
      failed: tally.failed,
      transactions: tally.transactions,
      gasUsed: tally.gasUsed,
      gasCostWei: tally.gasCostWei,
      settleLatencyBlocks: tally.latency,
      rpc: rpcBefore && rpcAfter ? rpcStatsSince(rpcBefore, rpcAfter) : undefined,
      transactionHashes: tally.hashes,
      errors: tally.errors,
      lpDue: lpDue.length,
      lpSettled: lp?.settled ?? 0,
      lpFees: lp?.fees ?? 0n,
    };
  }

  // ====================================================================================== reads

  /** Epoch and size of each position that reduce-only orders belong to (`readPositionStates`: 500 a lens call). */
  private async readPositions(orders: readonly IndexedOrder[], block: number): Promise<Map<string, PositionState>> {
    const needed = positionsNeeded(orders);
    const states = needed.length === 0 ? [] : await readPositionStates(this.client, needed, POSITION_PAGE, block, this.retry);
    return new Map(needed.map((p, i) => [positionKey(p.trader, p.marketId), states[i]]));
  }

  /** The latest price update of `marketIds` (their Pyth feeds), and each market's price as WAD. */
  private async latestPrices(marketIds: readonly number[], tally: Tally): Promise<{ bundle: PriceUpdateBundle | undefined; prices: Map<number, MarketPrice> }> {
    const prices = new Map<number, MarketPrice>();
    const ids = marketIds.map((m) => this.priceIds.get(m)).filter((id): id is string => id !== undefined);
    if (ids.length === 0) return { bundle: undefined, prices };
    let bundle: PriceUpdateBundle;
    try {
      bundle = await this.priceRequest(() => this.options.prices.latest([...new Set(ids)]));
    } catch (error) {
      tally.errors.push(`latest prices: ${(error as Error).message}`);
      this.log.error({ error: (error as Error).message }, "the price source failed: trigger orders wait for the next run");
      return { bundle: undefined, prices };
    }
    for (const m of marketIds) {
      const id = this.priceIds.get(m);
      const parsed = id === undefined ? undefined : bundle.prices[id];
      if (parsed) prices.set(m, { price: pythPriceToWad(parsed.price, parsed.expo), publishTime: BigInt(parsed.publishTime) });
    }
    return { bundle, prices };
  }

  // ====================================================================================== batches

  /**
   * Builds, prices and simulates every transaction of the plan; returns those worth sending, in the plan's order
   * (settlements by settlement time, then executions, voids, ratchets, cancellations). Up to
   * `ORDER_SIMULATION_CONCURRENCY` transactions are prepared at once (each simulation reads the same head state, so
   * the order they run in changes nothing), so that a remote node's and the price service's round trips overlap:
   * one by one, a burst of 20 batches waited for some 60 of them in a row before its first transaction went out.
   * Within the run a window's first price is fetched once per settlement time and the oracle fee once per update:
   * batches of one block's orders share both.
   */
  private async prepare(plan: OrderPlan, latest: PriceUpdateBundle | undefined, tally: Tally): Promise<Planned[]> {
    const iface = this.book.interface;
    const cache: RunCache = { windowPrices: new Map(), fees: new Map() };
    const jobs: (() => Promise<Planned | undefined>)[] = [];

    // Market orders: each settlement time needs the first price published at or after it.
    const width = BigInt(plan.timing.maxSettleDelay) - BigInt(plan.timing.minSettleDelay);
    for (const candidates of batchBySettleTime(plan.settle, this.batchSize)) {
      jobs.push(async () => {
        let settlement: { data: string[]; orders: IndexedOrder[] };
        try {
          settlement = await this.settlementData(candidates, width, cache);
        } catch (error) {
          // Most often: no price published at or after the window's start yet. The next run retries.
          this.log.debug({ orders: candidates.map((o) => o.id.toString()), error: (error as Error).message }, "no settlement price yet");
          return undefined;
        }
        const { data, orders: batch } = settlement;
        if (batch.length === 0) return undefined;
        return this.simulate("settle", batch, iface.encodeFunctionData("settleOrders", [batch.map((o) => o.id), data]), data, tally, cache);
      });
    }

    // Trigger orders the price crosses; voided reduce-only orders apart (executeOrders cancels them for the fee,
    // which its return value may not count).
    const update = latest?.updateData ?? [];
    // The book takes no order action without update data (it pays Pyth for the price itself): without a latest price
    // (the price service down) executions, voids and ratchets wait for the next run rather than send calls that do
    // nothing.
    const priced = update.length > 0;
    if (!priced && plan.execute.length + plan.voided.length + plan.ratchet.length > 0) {
      this.log.warn(
        { execute: plan.execute.length, void: plan.voided.length, ratchet: plan.ratchet.length },
        "no latest price update: trigger executions, voids and ratchets wait for the next run",
      );
    }
    // Sorted by market: `executeOrders` verifies (and pays for) the price once per run of consecutive ids of a market.
    const byMarket = (list: readonly IndexedOrder[]) => [...list].sort((a, b) => a.marketId - b.marketId || (a.id < b.id ? -1 : 1));
    for (const [action, orders] of priced ? ([["execute", byMarket(plan.execute)], ["void", byMarket(plan.voided)]] as const) : []) {
      for (let i = 0; i < orders.length; i += this.batchSize) {
        const batch = orders.slice(i, i + this.batchSize);
        jobs.push(() => this.simulate(action, batch, iface.encodeFunctionData("executeOrders", [batch.map((o) => o.id), update]), update, tally, cache));
      }
    }

    for (const order of priced ? plan.ratchet : []) {
      jobs.push(() => this.simulate("ratchet", [order], iface.encodeFunctionData("ratchetTrailingStop", [order.id, update]), update, tally, cache));
    }

    for (const order of plan.cancelExpired) {
      jobs.push(() => this.simulate("cancel", [order], iface.encodeFunctionData("cancelOrder", [order.id]), [], tally, cache));
    }

    // A job that threw (an RPC failure past its retries) starts no further one: the run fails with it once the jobs
    // in flight are done, as it did when they ran one by one.
    const results = await runConcurrently(jobs.length, ORDER_SIMULATION_CONCURRENCY, (i) => jobs[i](), () => this.stopping);
    return results.filter((p): p is Planned => p !== undefined);
  }

  /**
   * The update data of a settlement batch: one `at(ids, t)` per distinct settlement time, concatenated; and the
   * orders whose first price is inside their window (`settleableAt + width`; the others can never settle and wait
   * for their expiry, when they are cancelled).
   */
  private async settlementData(batch: readonly IndexedOrder[], width: bigint, cache: RunCache): Promise<{ data: string[]; orders: IndexedOrder[] }> {
    const byTime = new Map<bigint, Set<string>>();
    for (const o of batch) {
      const id = this.priceIds.get(o.marketId);
      if (id === undefined) continue;
      const ids = byTime.get(o.settleableAt) ?? new Set<string>();
      ids.add(id);
      byTime.set(o.settleableAt, ids);
    }
    const times = [...byTime];
    const bundles: PriceUpdateBundle[] = await Promise.all(
      times.map(([time, ids]) => {
        const key = `${time}:${[...ids].sort().join(",")}`;
        let request = cache.windowPrices.get(key);
        if (request === undefined) {
          request = this.priceRequest(() => this.options.prices.at([...ids], Number(time)));
          cache.windowPrices.set(key, request);
        }
        return request;
      }),
    );
    const firstPrice = new Map(times.map(([time], i) => [time, bundles[i]]));
    const orders = batch.filter((o) => {
      const id = this.priceIds.get(o.marketId);
      if (id === undefined) return true; // a market without Pyth prices: the book prices it from its feed
      const parsed = firstPrice.get(o.settleableAt)?.prices[id];
      if (parsed && BigInt(parsed.publishTime) <= o.settleableAt + width) return true;
      this.log.info({ order: o.id.toString(), publishTime: parsed?.publishTime }, "no price published in the order's window: it waits for its expiry");
      return false;
    });
    return { data: [...new Set(bundles.flatMap((b) => b.updateData))], orders };
  }

  /**
   * `eth_call` and `eth_estimateGas` of one book call, with `msg.value` covering the oracle fee of each verification
   * the call may make (`getUpdateFee` of the data, asked once per run: at most one per settled order, the book
   * verifying once per run of orders one price serves; one per market for executions; the book refunds any excess). A
   * revert `MsgValueTooLow(required, provided)` is retried once with `required`. Returns undefined when the call
   * would do nothing (every order already gone) or reverts.
   */
  private async simulate(
    action: Action,
    orders: readonly IndexedOrder[],
    data: string,
    update: readonly string[],
    tally: Tally,
    cache: RunCache,
  ): Promise<Planned | undefined> {
    // settleOrders verifies at most once per order (once per run of orders one price serves: the excess comes back);
    // executeOrders once per run of one market's ids.
    const verifications = action === "settle" ? orders.length : action === "execute" || action === "void" ? new Set(orders.map((o) => o.marketId)).size : 1;
    let value = update.length === 0 ? 0n : (await this.updateFee(orders[0].marketId, update, cache)) * BigInt(verifications);
    for (let round = 0; ; round++) {
      try {
        const tx = { to: this.bookAddress, data, value, from: this.address };
        const [result, gas] = await withRetry(() => Promise.all([this.client.provider.call(tx), this.client.provider.estimateGas(tx)]), this.retry);
        if (action === "settle" || action === "execute") {
          const iface = this.book.interface;
          const decoded = action === "settle" ? iface.decodeFunctionResult("settleOrders", result) : iface.decodeFunctionResult("executeOrders", result);
          const count = Number(decoded[0]);
          if (count === 0) {
            // Gone (another keeper was first), or not settleable with this data yet: the events or the next run tell.
            tally.gone += orders.length;
            this.log.info({ action, orders: orders.map((o) => o.id.toString()) }, "the simulation does nothing (another keeper was first?); nothing sent");
            return undefined;
          }
        }
        return { action, orders, data, value, gas };
      } catch (error) {
        const revert = revertData(error);
        const parsed = revert ? this.book.interface.parseError(revert) : null;
        if (parsed?.name === "MsgValueTooLow" && round === 0) {
          value = parsed.args[0] as bigint;
          continue;
        }
        if (parsed?.name === "OrderNotFound") {
          tally.gone += orders.length;
          for (const o of orders) this.index.drop(o.id);
          this.log.info({ action, orders: orders.map((o) => o.id.toString()) }, "order already gone; nothing sent");
          return undefined;
        }
        const reason = parsed ? `${parsed.name}(${parsed.args.map(String).join(", ")})` : toPerpError(error).message;
        if (action === "ratchet" || action === "cancel") {
          // A single-order call the book refuses (a peak already raised, a cancel raced): the next run re-plans it.
          this.log.info({ action, order: orders[0].id.toString(), reason }, "simulation refused; nothing sent");
          return undefined;
        }
        this.fail(tally, orders.length, `simulation of ${action} of ${orders.length} failed: ${reason}`);
        return undefined;
      }
    }
  }

  /**
   * One price-source request, tried again within the run (the keeper's retry policy: back-off from `baseDelayMs`)
   * when it failed for a passing reason: rate limited (HTTP 429), a server error (5xx), no answer in time, a dropped
   * connection. Not a 404 (nothing published at or after the time yet: the next run asks again) or a malformed
   * answer. Without it a 429 from Hermes cost the orders a whole run (`pollMs`) each.
   */
  private priceRequest<T>(request: () => Promise<T>): Promise<T> {
    return withRetry(request, {
      ...this.retry,
      retryIf: transientPriceError,
      onRetry: ({ attempt, delayMs, error }) => {
        this.metrics?.rpcErrors.inc();
        this.log.warn({ attempt, delayMs, error: error.message }, "price service request failed; retrying");
      },
    });
  }

  /** The oracle fee of `update` (the market's feed prices it: `pyth.getUpdateFee`), asked once per feed and update in a run. */
  private updateFee(marketId: number, update: readonly string[], cache: RunCache): Promise<bigint> {
    const feed = this.client.deployment.markets.find((m) => m.id === marketId)?.priceFeed;
    if (!feed) return Promise.resolve(0n);
    const key = `${feed.toLowerCase()}:${update.join(",")}`;
    let fee = cache.fees.get(key);
    if (fee === undefined) {
      fee = withRetry(() => IPriceFeed__factory.connect(feed, this.client.provider).getUpdateFee([...update]), this.retry);
      cache.fees.set(key, fee);
    }
    return fee;
  }

  private fail(tally: Tally, orders: number, message: string): void {
    tally.failed += orders;
    tally.errors.push(message);
    this.metrics?.ordersFailed.inc(orders);
    this.log.error({ orders, error: message }, "order batch failed");
  }

  // ====================================================================================== receipts

  /** Waits for the receipts (at most `txTimeoutMs`) and counts this keeper's outcomes from the book's events. */
  private async collect(sent: readonly Sent[], tally: Tally): Promise<void> {
    const me = this.address.toLowerCase();
    const retry = { ...this.retry, signal: undefined };
    const options = { provider: this.client.provider, sender: this.sender, policy: this.options.feeBump ?? {}, retry, timeoutMs: this.txTimeoutMs, pollMs: Math.min(this.pollMs, 500) };
    // The liquidation phase's wait (sender.ts `awaitMined`): fee bumps of a transaction still pending (issue 12: order
    // transactions were never bumped), and a nonce used without a receipt of ours not waited for (its orders are still
    // in the book for the next run).
    await awaitMined(sent, options, {
      polled: (sentTx, o) => {
        if (o.kind === "bumped") {
          this.metrics?.feeBumps.inc();
          this.log.warn({ nonce: sentTx.nonce, hash: o.hash, bumps: o.bumps, action: sentTx.action }, "order transaction still pending; replaced with higher fees at the same nonce");
        } else if (o.kind === "bump-refused") {
          this.log.warn({ nonce: sentTx.nonce, reason: o.reason }, "fee bump not sent");
        }
      },
      superseded: (sentTx) => {
        this.log.warn({ hash: sentTx.hash, nonce: sentTx.nonce, action: sentTx.action }, "nonce used on chain by another transaction; the next run re-reads its orders");
      },
      timedOut: (open) => {
        for (const tx of open) this.fail(tally, tx.orders.length, `transaction ${tx.hash} (nonce ${tx.nonce}) not mined after ${this.txTimeoutMs} ms`);
      },
      mined: (sentTx, receipt) => {
        const tx = { ...sentTx, hash: receipt.hash };
        tally.transactions += 1;
        tally.hashes.push(tx.hash);
        tally.gasUsed += receipt.gasUsed;
        tally.gasCostWei += receipt.gasUsed * receipt.gasPrice;
        if (receipt.status !== 1) {
          this.fail(tally, tx.orders.length, `transaction ${tx.hash} (${tx.action}) reverted`);
          return;
        }
        let done = 0;
        const mine = new Set(tx.orders.map((o) => o.id));
        for (const log of receipt.logs) {
          if (log.address.toLowerCase() !== this.bookAddress.toLowerCase()) continue;
          const event = decodeOrderLog(log);
          // Only the orders this transaction named: an OCO partner cancelled along with its leg is not our work
          // (its fee goes back to the trader).
          if (!event || !mine.has(event.orderId)) continue;
          if (event.name === "OrderExecuted" && event.keeper.toLowerCase() === me) {
            done += 1;
            tally.feesUsd += event.keeperFee;
            if (event.kind === OrderKind.Market) {
              tally.settled += 1;
              this.metrics?.ordersSettled.inc();
              const first = this.firstSettleable.get(event.orderId);
              if (first !== undefined) {
                tally.latency.push(receipt.blockNumber - first);
                this.metrics?.settleLatencyBlocks.observe(receipt.blockNumber - first);
              }
            } else {
              tally.executed += 1;
              this.metrics?.ordersExecuted.inc();
            }
          } else if (event.name === "OrderCancelled" && event.by.toLowerCase() === me && PAID_TO_CALLER.has(event.reason)) {
            done += 1;
            tally.cancelled += 1;
            tally.feesUsd += event.feeTo;
            this.metrics?.ordersCancelled.inc({ reason: cancelReasonName(event.reason) });
          } else if (event.name === "TrailingPeakRatcheted") {
            done += 1;
            tally.ratcheted += 1;
            this.metrics?.trailingRatchets.inc();
          }
          if (event.name === "OrderExecuted" || event.name === "OrderCancelled") this.firstSettleable.delete(event.orderId);
        }
        tally.gone += Math.max(0, tx.orders.length - done);
        this.log.info({ hash: tx.hash, block: receipt.blockNumber, action: tx.action, orders: tx.orders.length, done, gasUsed: receipt.gasUsed }, "order transaction mined");
      },
    });
    if (tally.feesUsd > 0n) this.metrics?.orderFeesUsd.inc(Number(formatPlain(tally.feesUsd)));
  }
}

/**
 * Each market's Pyth price id, from its feed's `priceId()`; a feed without one is not a Pyth adapter (a Chainlink
 * market), and is left out: its calls carry no update data.
 */
export async function pythPriceIds(client: PerpClient): Promise<Map<number, string>> {
  const ids = new Map<number, string>();
  await Promise.all(
    client.deployment.markets.map(async (market) => {
      try {
        const id = await IPythPriceFeed__factory.connect(market.priceFeed, client.provider).priceId();
        ids.set(market.id, normalizePriceId(id));
      } catch {
        // Not a Pyth adapter.
      }
    }),
  );
  return ids;
}

/** A price-source failure worth another attempt: 429, 5xx, a time-out or a dropped connection (not a 404). */
export function transientPriceError(error: unknown): boolean {
  if (error instanceof PriceSourceError && error.status !== undefined) return error.status === 429 || error.status >= 500;
  if (isTransientError(error)) return true;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e.name === "TimeoutError" || e.name === "AbortError" || /timed? ?out|aborted|fetch failed|ECONNRESET|ECONNREFUSED/i.test(e.message)) return true;
  }
  return false;
}

/** Cancellations whose fee goes to the caller (the book's `_cancelled`): the keeper's work. */
const PAID_TO_CALLER: ReadonlySet<number> = new Set([CancelReason.Expired, CancelReason.ExecutionFailed, CancelReason.Voided]);

/** The `CancelReason` name of a value (for the metrics label and logs). */
export function cancelReasonName(reason: number): string {
  return Object.entries(CancelReason).find(([, v]) => v === reason)?.[0] ?? `reason ${reason}`;
}
