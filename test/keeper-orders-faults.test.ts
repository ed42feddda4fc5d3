/**
 * The order keeper's Pyth path under faults, on the order world of scripts/keeper/bench/orderWorld.ts (in-process
 * network, StrictMockPyth behind a PythPriceFeed ETH market, the local price service in process, read through
 * `HermesPriceSource` as Hermes would be):
 *
 * - LP settlements stuck in the pool (automine off): the price push and the settlement are each replaced at their
 *   nonce with +10 % + 1 wei fees (the same sender and policy as the order and liquidation batches) and land once;
 * - a market-order settlement stuck in the pool is replaced with a bumped fee and lands once;
 * - the price service answering HTTP 429 and then timing out: the keeper retries the request within the run (back-off)
 *   and settles every order once;
 * - a liquidation carrying a fresh Pyth update while the node goes away (the answer to its broadcast lost, the next
 *   requests refused; played by an EIP-1193 front of the in-process network, not a real process restart: that one is
 *   test/keeper-faults.test.ts on anvil) lands once.
 *
 * Each ends with every settleable order / due request settled exactly once and the keeper's nonce equal to the
 * transactions mined for it. Synchronisation is by polling with a deadline (the keeper's fee-bump counter, the
 * service's request count), never by sleeping.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

import { expect } from "chai";
import { BrowserProvider, type Eip1193Provider, type FeeData } from "ethers";
import { network } from "hardhat";

import { CROSS, PerpClient, bumpedFee } from "@perp/sdk";
import { LiquidityVault__factory, PythPriceFeed__factory } from "@perp/sdk/contracts";
import { HermesPriceSource } from "@perp/sdk/prices";

import { Keeper } from "../scripts/keeper/keeper.js";
import { KeeperMetrics } from "../scripts/keeper/metrics.js";
import { OrderKeeper } from "../scripts/keeper/orders.js";
import { E8, ETH_ID, KEEPER_FEE, ORDER_PARAMS, deployOrderWorld } from "../scripts/keeper/bench/orderWorld.js";
import { usdc, wad } from "../scripts/lib/fixture.js";
import { devWallet } from "../scripts/lib/dev.js";
import { startPriceService, type PriceService } from "../scripts/price-service/service.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const { time } = networkHelpers;

const TRADERS = 4;

async function deployed() {
  return deployOrderWorld(connection, TRADERS);
}

type World = Awaited<ReturnType<typeof deployed>>;

/** Polls `condition` every 20 ms until it holds; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function feeBumps(metrics: KeeperMetrics): Promise<number> {
  return metrics.feeBumps.get().then((m) => m.values[0]?.value ?? 0);
}

/**
 * An HTTP front of the price service that answers its first requests by `plan`: "429" (Too Many Requests), "hang"
 * (no answer: the client's time-out), "pass" (forwarded); every request after the plan is forwarded.
 */
async function faultyFront(target: string, plan: readonly ("429" | "hang" | "pass")[]): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const seen: string[] = [];
  const held: ServerResponse[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const fault = plan[seen.length] ?? "pass";
    seen.push(`${fault} ${req.url}`);
    if (fault === "429") {
      res.writeHead(429, { "content-type": "text/plain", "retry-after": "1" }).end("rate limited");
      return;
    }
    if (fault === "hang") {
      held.push(res);
      return;
    }
    const upstream = httpRequest(new URL(req.url ?? "/", target), { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: async () => {
      for (const res of held) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * An EIP-1193 provider in front of the in-process network that can play a node going away: once armed, the answer
 * to the next `eth_sendRawTransaction` is lost (the node took the transaction; the caller sees a refused connection)
 * and the `outage` requests after it are refused too, then everything is forwarded again.
 */
class FlakyNode implements Eip1193Provider {
  readonly methods: string[] = [];
  readonly refused: string[] = [];
  private armed = false;
  private down = 0;
  constructor(private readonly inner: Eip1193Provider) {}
  arm(outage: number): void {
    this.armed = true;
    this.down = outage;
  }
  async request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown> {
    this.methods.push(args.method);
    const refuse = () => {
      this.refused.push(args.method);
      return Object.assign(new Error("fetch failed"), { code: "ECONNREFUSED" });
    };
    if (!this.armed && this.down > 0) {
      this.down -= 1;
      throw refuse();
    }
    const answer = await this.inner.request(args);
    if (this.armed && args.method === "eth_sendRawTransaction") {
      this.armed = false;
      throw refuse();
    }
    return answer;
  }
}

describe("order keeper faults: stuck transactions, price service failures (Pyth path)", function () {
  this.timeout(60_000);

  let world: World;
  let service: PriceService;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async function () {
    world = await networkHelpers.loadFixture(deployed);
    service = await startPriceService({ port: 0, feeds: [{ id: ETH_ID, expo: -8, points: [{ publishTime: world.t0, price: 2_000n * E8 }] }] });
  });

  afterEach(async function () {
    await ethers.provider.send("evm_setAutomine", [true]);
    for (const close of closers.splice(0)) await close();
    await service.close();
  });

  async function keeperOf(options: Partial<Parameters<typeof OrderKeeper.create>[0]> & { endpoint?: string } = {}) {
    const { endpoint, ...rest } = options;
    const prices = new HermesPriceSource({ endpoint: endpoint ?? service.url, httpRetries: 0, timeoutMs: 2_000 });
    // A replacement needs a locally signed transaction: keeper A's key (development account #2) in a Wallet.
    const provider = new BrowserProvider(connection.provider as unknown as Eip1193Provider, world.deployment.chainId, { cacheTimeout: -1 });
    const wallet = devWallet(2, provider);
    expect(wallet.address).to.equal(world.keeperA.address);
    const client = await PerpClient.connect({ runner: wallet, deployment: world.deployment });
    const metrics = new KeeperMetrics();
    const keeper = await OrderKeeper.create({ client, orderBook: await world.book.getAddress(), prices, metrics, pollMs: 20, retry: { baseDelayMs: 20 }, ...rest });
    return { keeper, metrics };
  }

  /** The keeper's transactions in blocks `from`..latest: hash, nonce, fees, status. */
  async function transactionsOf(address: string, from: number) {
    const latest = await ethers.provider.getBlockNumber();
    const found = [];
    for (let b = from; b <= latest; b++) {
      const block = await ethers.provider.getBlock(b, true);
      for (const tx of block!.prefetchedTransactions) {
        if (tx.from.toLowerCase() !== address.toLowerCase()) continue;
        const receipt = await ethers.provider.getTransactionReceipt(tx.hash);
        found.push({ hash: tx.hash, nonce: tx.nonce, status: receipt!.status, maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas });
      }
    }
    return found;
  }

  /** Nothing sent twice: the keeper's nonce moved by exactly its mined transactions, all successful, none pending. */
  async function expectNonceIsMined(address: string, nonceBefore: number, from: number, mined: number) {
    const txs = await transactionsOf(address, from);
    expect(txs.map((t) => t.status), "every transaction of the keeper succeeded").to.deep.equal(Array(mined).fill(1));
    expect(await ethers.provider.getTransactionCount(address, "latest"), "nonce = mined transactions").to.equal(nonceBefore + mined);
    expect(await ethers.provider.getTransactionCount(address, "pending"), "nothing left in the pool").to.equal(nonceBefore + mined);
    return txs;
  }

  /** One market order per trader, all in one block; returns their ids and the block. */
  async function burst(size: bigint): Promise<{ ids: bigint[]; createdAt: number; block: number }> {
    await ethers.provider.send("evm_setAutomine", [false]);
    for (const trader of world.traders) await world.book.connect(trader).commitOrder(0, size, wad(2_100), 0, false);
    await networkHelpers.mine();
    await ethers.provider.send("evm_setAutomine", [true]);
    const block = (await ethers.provider.getBlock("latest"))!;
    const ids = await Promise.all(world.traders.map((t) => world.book.pendingMarketOrder(t.address, 0)));
    return { ids, createdAt: block.timestamp, block: block.number };
  }

  async function executedOrders(fromBlock: number): Promise<bigint[]> {
    return (await world.book.queryFilter(world.book.filters.OrderExecuted(), fromBlock)).map((e) => e.args.orderId);
  }

  it("LP settlements stuck in the pool: the price push and the settlement are each replaced at their nonce once and land once", async function () {
    const [, lp] = await ethers.getSigners();
    const vault = LiquidityVault__factory.connect(world.deployment.contracts.LiquidityVault, lp);
    const { keeper, metrics } = await keeperOf({ feeBump: { bumpAfterMs: 100, maxBumps: 1 }, txTimeoutMs: 30_000 });
    const fee = await vault.lpKeeperFee();
    await vault.requestDeposit(usdc(1_000), lp.address, lp.address);
    const due = (await time.latest()) + Number(await vault.lpSettleDelay());
    service.setPrice(ETH_ID, 2_000n * E8, due);
    await time.increaseTo(due);
    const expectedShares = await vault.convertToShares(usdc(1_000));
    const address = world.keeperA.address;
    const nonce = await ethers.provider.getTransactionCount(address);
    const from = (await ethers.provider.getBlockNumber()) + 1;
    // No block is mined until the test mines one: the run's fees are the market's now.
    await ethers.provider.send("evm_setAutomine", [false]);
    const fees: FeeData = await ethers.provider.getFeeData();

    const running = keeper.runOnce();
    // The price push: replaced once (maxBumps 1), then the only transaction of the keeper in the pool.
    await waitFor("the price push bumped", async () => (await feeBumps(metrics)) === 1);
    expect(await ethers.provider.getTransactionCount(address, "pending")).to.equal(nonce + 1);
    await networkHelpers.mine();
    // The settlement, sent after the push was mined: replaced once too.
    await waitFor("the settlement bumped", async () => (await feeBumps(metrics)) === 2);
    expect(await ethers.provider.getTransactionCount(address, "pending")).to.equal(nonce + 2);
    await networkHelpers.mine();
    const run = await running;
    await ethers.provider.send("evm_setAutomine", [true]);

    expect(run).to.include({ lpDue: 1, lpSettled: 1, transactions: 2, failed: 0 });
    expect(run.lpFees).to.equal(fee);
    const deposit = await vault.claimableDeposit(lp.address);
    expect([deposit.assets, deposit.shares]).to.deep.equal([usdc(1_000), expectedShares]);
    expect((await vault.pendingDeposit(lp.address)).requestedAt).to.equal(0n);
    const txs = await expectNonceIsMined(address, nonce, from, 2);
    // The push went out at the run's fees and landed as its one replacement: +10 % + 1 wei, wei-exact.
    expect(txs[0].maxPriorityFeePerGas).to.equal(bumpedFee(fees.maxPriorityFeePerGas!));
    expect(txs[0].maxFeePerGas).to.equal(bumpedFee(fees.maxFeePerGas!));
    // The settlement was signed at the same run fees; its replacement's tip is bumped the same way.
    expect(txs[1].maxPriorityFeePerGas).to.equal(bumpedFee(fees.maxPriorityFeePerGas!));
    // Nothing left: the next run sends nothing.
    expect(await keeper.runOnce()).to.include({ lpDue: 0, lpSettled: 0, transactions: 0 });
  });

  it("the LP price push's price request answered 429: retried within the run, the deposit settled in the same run", async function () {
    const front = await faultyFront(service.url, ["429"]);
    closers.push(front.close);
    const [, lp] = await ethers.getSigners();
    const vault = LiquidityVault__factory.connect(world.deployment.contracts.LiquidityVault, lp);
    const { keeper, metrics } = await keeperOf({ endpoint: front.url });
    await vault.requestDeposit(usdc(1_000), lp.address, lp.address);
    const due = (await time.latest()) + Number(await vault.lpSettleDelay());
    service.setPrice(ETH_ID, 2_000n * E8, due);
    await time.increaseTo(due);
    const address = world.keeperA.address;
    const nonce = await ethers.provider.getTransactionCount(address);
    const from = (await ethers.provider.getBlockNumber()) + 1;

    const run = await keeper.runOnce();
    expect(front.seen).to.deep.equal([`429 /v2/updates/price/latest?ids%5B%5D=${ETH_ID}&encoding=hex&parsed=true`, `pass /v2/updates/price/latest?ids%5B%5D=${ETH_ID}&encoding=hex&parsed=true`]);
    expect((await metrics.rpcErrors.get()).values[0]?.value).to.equal(1);
    expect(run).to.include({ lpDue: 1, lpSettled: 1, transactions: 2, failed: 0 });
    expect(run.errors).to.deep.equal([]);
    expect((await vault.claimableDeposit(lp.address)).assets).to.equal(usdc(1_000));
    await expectNonceIsMined(address, nonce, from, 2);
  });

  it("a market-order settlement stuck in the pool is replaced with a bumped fee and lands once", async function () {
    const { keeper, metrics } = await keeperOf({ feeBump: { bumpAfterMs: 100, maxBumps: 2 }, txTimeoutMs: 30_000, lpRequests: false });
    const { ids, createdAt, block } = await burst(wad(1));
    await keeper.runOnce(); // builds the index; the window is not open yet
    const settleAt = createdAt + ORDER_PARAMS.minSettleDelay;
    service.setPrice(ETH_ID, 2_000n * E8, settleAt);
    await time.increaseTo(settleAt);
    const address = world.keeperA.address;
    const nonce = await ethers.provider.getTransactionCount(address);
    const from = (await ethers.provider.getBlockNumber()) + 1;
    await ethers.provider.send("evm_setAutomine", [false]);
    const fees = await ethers.provider.getFeeData();

    const running = keeper.runOnce();
    await waitFor("two fee bumps", async () => (await feeBumps(metrics)) === 2);
    // Polls go on without a third bump (maxBumps 2), and without a second transaction: one nonce in the pool.
    expect(await ethers.provider.getTransactionCount(address, "pending")).to.equal(nonce + 1);
    await networkHelpers.mine();
    const run = await running;
    await ethers.provider.send("evm_setAutomine", [true]);

    expect(run).to.include({ settleable: TRADERS, settled: TRADERS, transactions: 1, failed: 0, gone: 0 });
    expect(run.feesUsd).to.equal(KEEPER_FEE * BigInt(TRADERS));
    expect(run.errors).to.deep.equal([]);
    expect(await executedOrders(block)).to.have.members(ids);
    expect(await executedOrders(block)).to.have.length(TRADERS);
    const txs = await expectNonceIsMined(address, nonce, from, 1);
    expect(txs[0].hash).to.equal(run.transactionHashes[0]);
    expect(txs[0].maxPriorityFeePerGas).to.equal(bumpedFee(bumpedFee(fees.maxPriorityFeePerGas!)));
    expect(txs[0].maxFeePerGas).to.equal(bumpedFee(bumpedFee(fees.maxFeePerGas!)));
    expect(await keeper.runOnce()).to.include({ openOrders: 0, transactions: 0 });
  });

  it("the price service answers 429, then times out: the keeper retries within the run and settles every order once", async function () {
    // The run's first two price requests (the settlement window's first price): 429, then no answer (the client gives
    // up after 2 s: a generous bound, so that a slow answer on a loaded machine is not a second time-out).
    const front = await faultyFront(service.url, ["429", "hang"]);
    closers.push(front.close);
    const { keeper, metrics } = await keeperOf({ endpoint: front.url, lpRequests: false });
    const { ids, createdAt, block } = await burst(wad(1));
    const settleAt = createdAt + ORDER_PARAMS.minSettleDelay;
    service.setPrice(ETH_ID, 2_000n * E8, settleAt);
    await time.increaseTo(settleAt);
    const address = world.keeperA.address;
    const nonce = await ethers.provider.getTransactionCount(address);
    const from = (await ethers.provider.getBlockNumber()) + 1;

    const run = await keeper.runOnce();
    // Three requests for the same update: the 429, the time-out, the answer.
    expect(front.seen).to.deep.equal([
      `429 /v2/updates/price/${settleAt}?ids%5B%5D=${ETH_ID}&encoding=hex&parsed=true`,
      `hang /v2/updates/price/${settleAt}?ids%5B%5D=${ETH_ID}&encoding=hex&parsed=true`,
      `pass /v2/updates/price/${settleAt}?ids%5B%5D=${ETH_ID}&encoding=hex&parsed=true`,
    ]);
    expect((await metrics.rpcErrors.get()).values[0]?.value).to.equal(2);
    expect(run).to.include({ settleable: TRADERS, settled: TRADERS, transactions: 1, failed: 0, gone: 0 });
    expect(run.errors).to.deep.equal([]);
    expect(await executedOrders(block)).to.have.members(ids);
    expect(await executedOrders(block)).to.have.length(TRADERS);
    await expectNonceIsMined(address, nonce, from, 1);
    expect(await keeper.runOnce()).to.include({ openOrders: 0, transactions: 0 });
  });

  it("a liquidation with a price update while the node goes away (broadcast answer lost, requests refused) lands once", async function () {
    const node = new FlakyNode(connection.provider as unknown as Eip1193Provider);
    const provider = new BrowserProvider(node, world.deployment.chainId, { cacheTimeout: -1 });
    const client = await PerpClient.connect({ runner: devWallet(2, provider), deployment: world.deployment });
    const prices = new HermesPriceSource({ endpoint: service.url, httpRetries: 0, timeoutMs: 2_000 });
    const bot = await Keeper.create({ client, prices, orderBook: await world.book.getAddress(), pollMs: 20, retry: { attempts: 8, baseDelayMs: 20, maxDelayMs: 100 } });
    const trader = world.traders[0];
    // A 40 ETH long on $10,000 (8x), opened through a market order that the bot's order phase settles.
    await world.book.connect(trader).commitOrder(0, wad(40), wad(2_100), 0, false);
    const createdAt = await time.latest();
    service.setPrice(ETH_ID, 2_000n * E8, createdAt + 2);
    await time.increaseTo(createdAt + 2);
    expect((await bot.runOnce()).orders).to.include({ settled: 1 });
    expect((await world.engine.getPosition(trader.address, 0)).size).to.equal(wad(40));
    // ETH at $1,700 reaches the cache (anyone's poke), then 20 s pass: the cache is older than a liquidation
    // accepts, so the liquidation must carry a fresh update from the price service.
    const t = (await time.latest()) + 1;
    service.setPrice(ETH_ID, 1_700n * E8, t);
    await time.increaseTo(t);
    const poke = await prices.latest([ETH_ID]);
    await world.book.connect(world.owner).pokePrices([0], poke.updateData, { value: 1n });
    service.setPrice(ETH_ID, 1_700n * E8, t + 20);
    await time.increaseTo(t + 20);
    const address = world.keeperA.address;
    const nonce = await ethers.provider.getTransactionCount(address);
    const from = (await ethers.provider.getBlockNumber()) + 1;

    node.arm(3);
    const run = await bot.runOnce();
    // The broadcast's answer and the three requests after it were refused; the keeper's retries found the
    // transaction already taken (mined) and did not send another.
    expect(node.refused[0]).to.equal("eth_sendRawTransaction");
    expect(node.refused).to.have.length(4);
    expect(run).to.include({ liquidatableFound: 1, liquidated: 1, failed: 0 });
    const liquidated = await world.engine.queryFilter(world.engine.filters.Liquidated(), from);
    expect(liquidated.map((e) => [e.args.trader, e.args.marketId])).to.deep.equal([[trader.address, CROSS]]); // a cross position: its unit is the cross account
    expect((await world.engine.getPosition(trader.address, 0)).size).to.equal(0n);
    await expectNonceIsMined(address, nonce, from, 1);
    const feed = PythPriceFeed__factory.connect(world.deployment.markets[0].priceFeed, ethers.provider);
    expect([...(await feed.cachedPrice())].slice(0, 2)).to.deep.equal([wad(1_700), BigInt(t + 20)]);
    // Nothing left for the next run.
    expect(await bot.runOnce()).to.include({ liquidatableFound: 0, transactions: 0 });
  });
  it("a liquidation whose price fetch is refused (429) while its batch is prepared is re-simulated alone and lands once", async function () {
    // The bot's price source goes through a front whose first answer is a 429 (no retry in the source itself): the
    // fetch made while every batch is prepared fails; that batch alone is simulated again at its turn and lands.
    const front = await faultyFront(service.url, ["429"]);
    closers.push(front.close);
    const client = await PerpClient.connect({ runner: devWallet(2, ethers.provider), deployment: world.deployment });
    const setup = new HermesPriceSource({ endpoint: service.url, httpRetries: 0, timeoutMs: 2_000 });
    const trader = world.traders[1];
    const opener = await Keeper.create({ client, prices: setup, orderBook: await world.book.getAddress(), pollMs: 20 });
    await world.book.connect(trader).commitOrder(0, wad(40), wad(2_100), 0, false);
    const createdAt = await time.latest();
    service.setPrice(ETH_ID, 2_000n * E8, createdAt + 2);
    await time.increaseTo(createdAt + 2);
    expect((await opener.runOnce()).orders).to.include({ settled: 1 });
    const t = (await time.latest()) + 1;
    service.setPrice(ETH_ID, 1_700n * E8, t);
    await time.increaseTo(t);
    const poke = await setup.latest([ETH_ID]);
    await world.book.connect(world.owner).pokePrices([0], poke.updateData, { value: 1n });
    service.setPrice(ETH_ID, 1_700n * E8, t + 20);
    await time.increaseTo(t + 20);
    const address = world.keeperA.address;
    const nonce = await ethers.provider.getTransactionCount(address);
    const from = (await ethers.provider.getBlockNumber()) + 1;

    const prices = new HermesPriceSource({ endpoint: front.url, httpRetries: 0, timeoutMs: 2_000 });
    const bot = await Keeper.create({ client, prices, orderBook: await world.book.getAddress(), pollMs: 20 });
    const run = await bot.runOnce();
    expect(front.seen[0]).to.match(/^429 /);
    expect(front.seen.slice(1).every((line) => line.startsWith("pass "))).to.equal(true);
    expect(run).to.include({ liquidatableFound: 1, liquidated: 1, failed: 0 });
    const liquidated = await world.engine.queryFilter(world.engine.filters.Liquidated(), from);
    expect(liquidated.map((e) => [e.args.trader, e.args.marketId])).to.deep.equal([[trader.address, CROSS]]);
    await expectNonceIsMined(address, nonce, from, 1);
    expect(await bot.runOnce()).to.include({ liquidatableFound: 0, transactions: 0 });
  });
});
