/**
 * The keeper on the Pyth deployment (the order world of scripts/keeper/bench/orderWorld.ts: a `PythPriceFeed` over
 * `StrictMockPyth`, the order book, the local price service in process, read through `HermesPriceSource` as Hermes
 * would be) under node faults, against one anvil started with `--state` (so that it can be killed and started again)
 * and a block timestamp interval of 0 (chain time moves only when the test moves it: the keepers' blocks all share
 * the snapshot's time, however many the racing keepers mine and however long a restart takes). At the snapshot:
 *
 * - 4 cross accounts with 40 ETH longs on $10,000 each, past their maintenance margin at $1,700: the price cache is
 *   older than a liquidation accepts (15 s), so each liquidation carries a fresh Pyth update;
 * - 2 stop-losses at $1,800 on 1 ETH longs, triggered by the $1,700 price;
 * - 4 market orders (1 ETH longs) whose settlement window's first price is published.
 *
 * The keeper (liquidations, then orders; batches of 2: 2 liquidation, 2 settlement and 1 execution transactions)
 * talks to the node through a fault-injecting proxy (test/helpers/faultProxy.ts). Every test ends with every unit
 * liquidated once, every order settled or executed once (its keeper fee paid once) and nothing sent twice: each
 * keeper's nonce moved by exactly the transactions mined for it, all successful, none left in the pool.
 * Synchronisation is by polling with a deadline, never by sleeping.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { expect } from "chai";
import { JsonRpcProvider, Transaction, Wallet } from "ethers";
import hre from "hardhat";

import { CountingJsonRpcProvider, PerpClient } from "@perp/sdk";
import { OrderBook__factory, PerpEngine__factory, type OrderBook, type PerpEngine } from "@perp/sdk/contracts";
import { OrderKind } from "@perp/sdk/keeper";
import { HermesPriceSource } from "@perp/sdk/prices";

import { Keeper, type KeeperOptions, type RunSummary } from "../scripts/keeper/keeper.js";
import { KeeperMetrics } from "../scripts/keeper/metrics.js";
import { E8, ETH_ID, KEEPER_FEE, deployOrderWorld, type OrderConnection } from "../scripts/keeper/bench/orderWorld.js";
import { wad } from "../scripts/lib/fixture.js";
import { devWallet } from "../scripts/lib/dev.js";
import { rpc } from "../scripts/lib/nodes.js";
import { startPriceService, type PriceService } from "../scripts/price-service/service.js";
import { startRestartableAnvil, type RestartableAnvil } from "./helpers/anvil.js";
import { captureLogger } from "./helpers/logs.js";
import { startFaultProxy, type FaultProxy, type FaultProxyOptions } from "./helpers/faultProxy.js";

const TRADERS = 10;
/** Development accounts of the keepers (#2 and #3 are the world's keepers; #16 is free with `--accounts 20`). */
const KEEPERS = [2, 3, 16];

/** Polls `condition` every 20 ms until it holds; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("keeper faults on the Pyth deployment (anvil): node restart, reorganisation, racing keepers", function () {
  this.timeout(120_000);

  let tmp: string;
  let anvil: RestartableAnvil;
  let connection: OrderConnection;
  let world: Awaited<ReturnType<typeof deployOrderWorld>>;
  let service: PriceService;
  /** The test's own reads (made afresh after a restart: its kept-alive connections go with the old process). */
  let provider: JsonRpcProvider;
  let engine: PerpEngine;
  let book: OrderBook;
  let bookAddress: string;
  let snapshot: string;
  /** First block after the set-up. */
  let from: number;
  /** The 4 liquidatable traders, the 2 stop-losses, the 4 market orders. */
  let liquidatable: string[];
  let stopIds: bigint[];
  let marketIds: bigint[];
  const proxies: FaultProxy[] = [];
  const providers: CountingJsonRpcProvider[] = [];

  function connect(): void {
    provider?.destroy();
    provider = new JsonRpcProvider(anvil.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    engine = PerpEngine__factory.connect(world.deployment.contracts.PerpEngine, provider);
    book = OrderBook__factory.connect(bookAddress, provider);
  }

  /** A liquidation and order keeper on development account `account`, through a fault proxy with `faults`. */
  async function keeperOn(account: number, faults: Omit<FaultProxyOptions, "target"> = {}, options: Partial<KeeperOptions> = {}) {
    const proxy = await startFaultProxy({ target: () => anvil.url, ...faults });
    proxies.push(proxy);
    const keeperProvider = new CountingJsonRpcProvider(proxy.url, 31337, { staticNetwork: true, cacheTimeout: -1, timeoutMs: 5_000 });
    providers.push(keeperProvider);
    const wallet = new Wallet(devWallet(account).privateKey, keeperProvider);
    const client = await PerpClient.connect({ runner: wallet, deployment: world.deployment });
    const metrics = new KeeperMetrics();
    const { logger, lines } = captureLogger();
    const keeper = await Keeper.create({
      client,
      prices: new HermesPriceSource({ endpoint: service.url, httpRetries: 0, timeoutMs: 2_000 }),
      orderBook: bookAddress,
      batchSize: 2,
      orderBatchSize: 2,
      pollMs: 50,
      retry: { baseDelayMs: 20 },
      metrics,
      logger,
      rpcStats: () => keeperProvider.stats,
      ...options,
    });
    const nonce = await provider.getTransactionCount(wallet.address, "latest");
    return { keeper, proxy, metrics, lines, address: wallet.address, nonce };
  }

  /** Every transaction `address` has in blocks `from`..latest, with its status. */
  async function transactionsOf(address: string): Promise<{ hash: string; nonce: number; status: number }[]> {
    const latest = await provider.getBlockNumber();
    const found = [];
    for (let b = from; b <= latest; b++) {
      const block = await provider.getBlock(b, true);
      for (const tx of block!.prefetchedTransactions) {
        if (tx.from.toLowerCase() !== address.toLowerCase()) continue;
        const receipt = await provider.getTransactionReceipt(tx.hash);
        found.push({ hash: tx.hash, nonce: tx.nonce, status: receipt!.status! });
      }
    }
    return found;
  }

  async function liquidatedTraders(): Promise<string[]> {
    const logs = await engine.queryFilter(engine.filters.Liquidated(), from, await provider.getBlockNumber());
    return logs.map((log) => `${log.args.trader}:${log.args.marketId === 2n ** 256n - 1n ? "cross" : log.args.marketId}`).sort();
  }

  async function executedOrders(): Promise<{ id: bigint; keeper: string; fee: bigint }[]> {
    const logs = await book.queryFilter(book.filters.OrderExecuted(), from, await provider.getBlockNumber());
    return logs.map((log) => ({ id: log.args.orderId, keeper: log.args.keeper, fee: log.args.keeperFee }));
  }

  const sorted = (ids: readonly bigint[]) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  /**
   * The end of every test: each unit liquidated once, each order executed once with its fee paid once (to one of
   * `keepers`), and per keeper: its nonce moved by exactly its mined transactions, all successful, none pending.
   */
  async function expectAllDoneOnce(keepers: readonly { address: string; nonce: number }[]): Promise<void> {
    expect(await liquidatedTraders(), "each liquidatable unit exactly once").to.deep.equal(liquidatable.map((t) => `${t}:cross`).sort());
    const executed = await executedOrders();
    expect(sorted(executed.map((e) => e.id)), "each order settled or executed exactly once").to.deep.equal(sorted([...marketIds, ...stopIds]));
    expect(executed.map((e) => e.fee), "each order's keeper fee paid once").to.deep.equal(executed.map(() => KEEPER_FEE));
    const ours = keepers.map((k) => k.address);
    expect(executed.every((e) => ours.includes(e.keeper)), "paid to the keepers").to.equal(true);
    for (const { address, nonce } of keepers) {
      const txs = await transactionsOf(address);
      expect(txs.map((t) => t.status), `every transaction of ${address} succeeded`).to.deep.equal(txs.map(() => 1));
      expect(txs.map((t) => t.nonce), "one mined transaction per nonce, in order").to.deep.equal(txs.map((_, i) => nonce + i));
      expect(await provider.getTransactionCount(address, "latest"), "nonce = mined transactions: none sent twice").to.equal(nonce + txs.length);
      expect(await provider.getTransactionCount(address, "pending"), "nothing left in the pool").to.equal(nonce + txs.length);
    }
  }

  /** The raw transactions a keeper broadcast through `proxy`, in order (a rebroadcast counts again). */
  function broadcasts(proxy: FaultProxy): Transaction[] {
    return proxy.requests.flatMap((r) => {
      const calls = JSON.parse(r.body) as { method: string; params: unknown[] } | { method: string; params: unknown[] }[];
      return (Array.isArray(calls) ? calls : [calls]).filter((c) => c.method === "eth_sendRawTransaction").map((c) => Transaction.from(c.params[0] as string));
    });
  }

  /** Log lines at error level (pino's 50) or above. */
  const errorLines = (lines: readonly Record<string, unknown>[]) => lines.filter((l) => l.level === "error" || l.level === "fatal");

  before(async function () {
    tmp = await mkdtemp(path.join(os.tmpdir(), "perp-keeper-pyth-faults-"));
    anvil = await startRestartableAnvil(path.join(tmp, "anvil-state.json"), ["--accounts", "20"]);
    // Chain time stands still but where the set-up moves it (the windows and price ages are seconds).
    await rpc(anvil.url, "anvil_setBlockTimestampInterval", [0]);
    connection = await hre.network.create({ network: "localhost", override: { url: anvil.url } });
    world = await deployOrderWorld(connection, TRADERS);
    bookAddress = await world.book.getAddress();
    const { networkHelpers } = connection;
    const { time } = networkHelpers;
    service = await startPriceService({ port: 0, feeds: [{ id: ETH_ID, expo: -8, points: [{ publishTime: world.t0, price: 2_000n * E8 }] }] });
    const prices = new HermesPriceSource({ endpoint: service.url, httpRetries: 0 });
    const traders = world.traders;
    const owner = world.owner;

    /** Commits a 1-block burst of market orders; returns their ids and the block's time. */
    const burst = async (orders: readonly { trader: (typeof traders)[number]; size: bigint }[]) => {
      await rpc(anvil.url, "evm_setAutomine", [false]);
      const sent = [];
      for (const { trader, size } of orders) sent.push(await world.book.connect(trader).commitOrder(0, size, wad(2_100), 0, false));
      await rpc(anvil.url, "evm_mine");
      await rpc(anvil.url, "evm_setAutomine", [true]);
      const receipts = await Promise.all(sent.map((tx) => tx.wait()));
      const block = (await connection.ethers.provider.getBlock(receipts[0]!.blockNumber))!;
      return { ids: await Promise.all(orders.map(({ trader }) => world.book.pendingMarketOrder(trader.address, 0))), createdAt: block.timestamp };
    };

    // Positions: traders 0-3 40 ETH (8x on $10,000), traders 4-5 1 ETH, settled at $2,000.
    const opened = await burst(traders.slice(0, 6).map((trader, i) => ({ trader, size: i < 4 ? wad(40) : wad(1) })));
    service.setPrice(ETH_ID, 2_000n * E8, opened.createdAt + 2);
    await time.increaseTo(opened.createdAt + 2);
    const openUpdate = await prices.at([ETH_ID], opened.createdAt + 2);
    await (await world.book.connect(owner).settleOrders(opened.ids, openUpdate.updateData, { value: 1n })).wait();
    for (const trader of traders.slice(0, 6)) expect((await world.engine.getPosition(trader.address, 0)).size).to.not.equal(0n);
    // Stop-losses at $1,800 on the 1 ETH longs.
    for (const trader of traders.slice(4, 6)) {
      await (await world.book.connect(trader).placeTriggerOrder(0, OrderKind.StopLoss, -wad(1), wad(1_800), 0, 0, false, 0)).wait();
    }
    stopIds = (await Promise.all(traders.slice(4, 6).map((t) => world.book.ordersOf(t.address)))).map(([id]) => id);
    // ETH at $1,700 reaches the cache (anyone's poke) ...
    const t = (await time.latest()) + 1;
    service.setPrice(ETH_ID, 1_700n * E8, t);
    await time.increaseTo(t);
    const poke = await prices.latest([ETH_ID]);
    await (await world.book.connect(owner).pokePrices([0], poke.updateData, { value: 1n })).wait();
    // ... the market orders are committed ...
    const committed = await burst(traders.slice(6, 10).map((trader) => ({ trader, size: wad(1) })));
    marketIds = committed.ids;
    // ... and 20 s later the same price is published again: the first of the orders' windows, fresh enough for the
    // stop-losses (10 s) and the liquidations (15 s), while the cache is not.
    service.setPrice(ETH_ID, 1_700n * E8, t + 20);
    await time.increaseTo(t + 20);
    liquidatable = traders.slice(0, 4).map((trader) => trader.address);
    for (const trader of liquidatable) expect((await world.engine.positionHealth(trader, 0)).liquidatable, trader).to.equal(true);
    from = (await connection.ethers.provider.getBlockNumber()) + 1;
    connect();
    snapshot = (await rpc(anvil.url, "evm_snapshot")) as string;
  });

  beforeEach(async function () {
    expect(await rpc(anvil.url, "evm_revert", [snapshot])).to.equal(true);
    snapshot = (await rpc(anvil.url, "evm_snapshot")) as string;
    await rpc(anvil.url, "evm_setAutomine", [true]);
  });

  after(async function () {
    for (const p of providers) p.destroy();
    for (const p of proxies) await p.close();
    provider?.destroy();
    await service?.close();
    await connection?.close();
    await anvil?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it("one keeper without faults: 4 liquidations with fresh updates, 4 settlements and 2 stop-losses in 5 transactions", async function () {
    const k = await keeperOn(KEEPERS[0]);
    const run: RunSummary = await k.keeper.runOnce();
    expect(run).to.deep.include({ liquidatableFound: 4, liquidated: 4, failed: 0, errors: [] });
    expect(run.orders).to.include({ settleable: 4, triggered: 2, settled: 4, executed: 2, failed: 0, gone: 0, transactions: 3 });
    expect(run.orders!.feesUsd).to.equal(6n * KEEPER_FEE);
    expect(run.transactions).to.equal(2);
    await expectAllDoneOnce([k]);
    expect(errorLines(k.lines)).to.deep.equal([]);
  });

  it("a reorganisation drops the mined liquidations, then the mined order transactions: each replaced at its nonce, landed once", async function () {
    // The first receipt that shows a liquidation mined, and later the first that shows a settlement mined, is held
    // back while the chain drops every block from the one that mined it (anvil_reorg: as many empty blocks in their
    // place); the keeper then sees no receipt for those nonces, and only its fee bumps land them again.
    const reorged: string[] = [];
    const k = await keeperOn(
      KEEPERS[0],
      {
        afterAnswer: async ({ methods }, answer) => {
          if (!methods.includes("eth_getTransactionReceipt")) return;
          const receipts = ([] as { result?: { to?: string; blockNumber?: string } | null }[]).concat(JSON.parse(answer));
          for (const { result } of receipts) {
            const target = result?.to?.toLowerCase();
            const kind = target === world.deployment.contracts.PerpEngine.toLowerCase() ? "liquidation" : target === bookAddress.toLowerCase() ? "orders" : undefined;
            if (kind === undefined || reorged.includes(kind) || result?.blockNumber === undefined) continue;
            reorged.push(kind);
            const latest = Number(await rpc(anvil.url, "eth_blockNumber"));
            await rpc(anvil.url, "anvil_reorg", [latest - Number(result.blockNumber) + 1, []]);
            return "drop";
          }
        },
      },
      { feeBump: { bumpAfterMs: 200, maxBumps: 3 } },
    );
    const run = await k.keeper.runOnce();
    expect(reorged).to.deep.equal(["liquidation", "orders"]);
    expect(k.proxy.injected.filter((i) => i.startsWith("lost answer"))).to.have.length(2);
    expect(run).to.deep.include({ liquidatableFound: 4, liquidated: 4, failed: 0, errors: [] });
    expect(run.orders).to.include({ settled: 4, executed: 2, failed: 0, gone: 0 });
    // 2 liquidations + 3 order transactions dropped and replaced, one bump each.
    expect((await k.metrics.feeBumps.get()).values[0]?.value).to.equal(5);
    await expectAllDoneOnce([k]);
    expect(errorLines(k.lines)).to.deep.equal([]);
  });

  it("two and three keepers racing on the same liquidations, market orders and stop-losses: each done once, the losers harmless", async function () {
    for (const count of [2, 3]) {
      expect(await rpc(anvil.url, "evm_revert", [snapshot])).to.equal(true);
      snapshot = (await rpc(anvil.url, "evm_snapshot")) as string;
      const racers = await Promise.all(KEEPERS.slice(0, count).map((account) => keeperOn(account)));
      const runs = await Promise.all(racers.map((r) => r.keeper.runOnce()));
      for (const [i, run] of runs.entries()) {
        // A unit or an order another keeper took first is "no longer liquidatable" / "gone", never a failure.
        expect(run, `${count} keepers, #${i}`).to.deep.include({ liquidatableFound: 4, failed: 0, retries: 0, errors: [] });
        expect(run.liquidated + run.noLongerLiquidatable).to.equal(4);
        expect(run.orders).to.include({ failed: 0 });
        expect(errorLines(racers[i].lines), "nothing logged as an error").to.deep.equal([]);
        // No retry storm: each transaction broadcast once, and each one mined.
        expect(broadcasts(racers[i].proxy)).to.have.length(run.transactions + run.orders!.transactions);
      }
      expect(runs.reduce((n, r) => n + r.liquidated, 0)).to.equal(4);
      expect(runs.reduce((n, r) => n + r.orders!.settled, 0)).to.equal(4);
      expect(runs.reduce((n, r) => n + r.orders!.executed, 0)).to.equal(2);
      expect(runs.reduce((n, r) => n + r.orders!.feesUsd, 0n), "the keeper fees paid once").to.equal(6n * KEEPER_FEE);
      await expectAllDoneOnce(racers);
    }
  });

  // Last: the node's restart loses the snapshots the other tests revert to.
  it("the node killed mid-batch and restarted from its state, twice: the keeper reconnects and finishes, nothing sent twice", async function () {
    // Killed after it answered the second liquidation's broadcast (the answer is lost), and again after the first
    // settlement's: the keeper's requests are refused until the node is back on the same port, from its state.
    const liquidateMany = engine.interface.getFunction("liquidateMany")!.selector;
    const settleOrders = book.interface.getFunction("settleOrders")!.selector;
    const seen = new Set<string>();
    const kills: string[] = [];
    let down = false;
    let liquidations = 0;
    let restarted: Promise<void> | undefined;
    const k = await keeperOn(
      KEEPERS[0],
      {
        decide: () => (down ? { kind: "drop" } : { kind: "forward" }),
        afterAnswer: async ({ methods, body }) => {
          if (down || !methods.includes("eth_sendRawTransaction")) return;
          const calls = ([] as { method: string; params: string[] }[]).concat(JSON.parse(body));
          const tx = Transaction.from(calls.find((c) => c.method === "eth_sendRawTransaction")!.params[0]);
          if (seen.has(tx.hash!)) return;
          seen.add(tx.hash!);
          const selector = tx.data.slice(0, 10);
          if (selector === liquidateMany) liquidations += 1;
          const kill = (selector === liquidateMany && liquidations === 2) || (selector === settleOrders && !kills.includes("settlement"));
          if (!kill) return;
          kills.push(selector === liquidateMany ? "liquidation" : "settlement");
          const { timestamp } = (await rpc(anvil.url, "eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
          down = true;
          // Started at once (the test awaits it), but only after the old process has exited and written its state.
          restarted = anvil
            .stop()
            .then(() => anvil.start())
            // --state keeps blocks and accounts, not the clock (the restarted node would go back to the wall clock's
            // time, behind the chain's) nor its settings: chain time resumes where it stood, and stands still again.
            .then(() => rpc(anvil.url, "evm_setNextBlockTimestamp", [Number(timestamp)]))
            .then(() => rpc(anvil.url, "anvil_setBlockTimestampInterval", [0]))
            .then(() => void (down = false));
          await anvil.stop();
          return "drop";
        },
      },
      { retry: { attempts: 4, baseDelayMs: 50, maxDelayMs: 400 }, maxBackoffMs: 500 },
    );
    const running = k.keeper.run();
    let connectedAfter = 0;
    const done = async () => {
      if (down) return false;
      await restarted;
      if (connectedAfter < kills.length) {
        connect();
        connectedAfter = kills.length;
      }
      try {
        return (await liquidatedTraders()).length >= 4 && (await executedOrders()).length >= 6;
      } catch {
        return false;
      }
    };
    try {
      await waitFor("every unit liquidated and every order done", done, 60_000);
    } finally {
      k.keeper.stop();
      await running;
    }
    expect(kills).to.deep.equal(["liquidation", "settlement"]);
    // After a restart nothing is read at a block the restarted node has no state for (before: two runs failed with
    // "missing revert data", anvil's BlockOutOfRange through ethers). A run may still fail while the node is down, if
    // its retries (about 1 s here) run out before the node is back (under load the restart takes longer): every error
    // logged is the connection's, none is a read or a revert.
    const notConnection = errorLines(k.lines).filter((l) => !/other side closed|ECONNREFUSED|ECONNRESET|socket hang up|fetch failed/.test(String(l.error)));
    expect(notConnection).to.deep.equal([]);
    expect(k.proxy.injected.filter((i) => i.startsWith("lost answer"))).to.have.length(2);
    await expectAllDoneOnce([k]);
    expect(await provider.getTransactionCount(k.address)).to.equal(k.nonce + 5);
  });
});
