/**
 * The order keeper (scripts/keeper/orders.ts) end to end on an in-process Hardhat network of its own, with the local
 * price service in process (`startPriceService`, read through `HermesPriceSource`: the keeper's code path for Hermes)
 * and `StrictMockPyth` behind a `PythPriceFeed` ETH market. No sleeps: prices are published at chosen chain times,
 * time is advanced and blocks mined explicitly.
 *
 * - a burst of market orders committed in one block is settled in one transaction, within 2 blocks of becoming
 *   settleable, at the window's first price (and not before the window opens);
 * - a stop-loss is executed at the first price that crosses it and not before;
 * - a trailing stop's peak is ratcheted by a better price, and it fires on the retrace;
 * - an expired market order is cancelled by the keeper, which earns its fee;
 * - two keepers racing on the same settleable orders settle each order exactly once;
 * - 100 orders of one block go in two batches that share one price request and one oracle fee query.
 * RPC calls of a run are counted through a counting EIP-1193 shim.
 */
import { expect } from "chai";
import { BrowserProvider, type Eip1193Provider, type Signer } from "ethers";
import { network } from "hardhat";

import { PerpClient } from "@perp/sdk";
import { MockUSDC__factory, PythPriceFeed__factory, type OrderBook } from "@perp/sdk/contracts";
import { CLOSE_ALL, CancelReason, OrderKind, trailingStopPrice, triggerCrossed } from "@perp/sdk/keeper";
import { HermesPriceSource, type PriceSource } from "@perp/sdk/prices";

import { Keeper } from "../scripts/keeper/keeper.js";
import { KeeperMetrics } from "../scripts/keeper/metrics.js";
import { OrderKeeper, type OrderRunSummary } from "../scripts/keeper/orders.js";
import { CountingShim, E8, ETH_ID, KEEPER_FEE, ORDER_PARAMS, deployOrderWorld } from "../scripts/keeper/bench/orderWorld.js";
import { usdc, wad } from "../scripts/lib/fixture.js";
import { startPriceService, type PriceService } from "../scripts/price-service/service.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const { time } = networkHelpers;

const TRADERS = 12;
const PARAMS = ORDER_PARAMS;

/** A named fixture function: loadFixture rejects anonymous ones. */
async function deployed() {
  return deployOrderWorld(connection, TRADERS);
}

type World = Awaited<ReturnType<typeof deployed>>;

describe("order keeper (in-process network, local price service)", function () {
  let world: World;
  let service: PriceService;
  let prices: HermesPriceSource;

  beforeEach(async function () {
    world = await networkHelpers.loadFixture(deployed);
    // The service's path starts with the price the fixture cached (a fresh service per test: the chain is reverted).
    service = await startPriceService({ port: 0, feeds: [{ id: ETH_ID, expo: -8, points: [{ publishTime: world.t0, price: 2_000n * E8 }] }] });
    prices = new HermesPriceSource({ endpoint: service.url, httpRetries: 0 });
  });

  afterEach(async function () {
    await service.close();
    await ethers.provider.send("evm_setAutomine", [true]);
  });

  /** A client of `signer` that talks through a counting shim. */
  async function clientOf(signer: Signer): Promise<{ client: PerpClient; shim: CountingShim }> {
    const shim = new CountingShim(connection.provider as unknown as Eip1193Provider);
    const provider = new BrowserProvider(shim, world.deployment.chainId, { cacheTimeout: -1 });
    const runner = await provider.getSigner(await signer.getAddress());
    return { client: await PerpClient.connect({ runner, deployment: world.deployment }), shim };
  }

  /** An order keeper whose client talks through a counting shim. */
  async function keeper(signer: Signer, extra: Partial<Parameters<typeof OrderKeeper.create>[0]> = {}): Promise<{ keeper: OrderKeeper; shim: CountingShim }> {
    const { client, shim } = await clientOf(signer);
    const k = await OrderKeeper.create({ client, orderBook: await world.book.getAddress(), prices, ...extra });
    return { keeper: k, shim };
  }

  /** Publishes `usd` at chain time `t` (the service's path) and mines a block at `t`. */
  async function publish(usd: bigint, t: number): Promise<void> {
    service.setPrice(ETH_ID, usd * E8, t);
    await time.increaseTo(t);
  }

  /** Commits one market order per trader, all in one block; returns their ids and the block's time. */
  async function burst(size: bigint): Promise<{ ids: bigint[]; createdAt: number; block: number }> {
    await ethers.provider.send("evm_setAutomine", [false]);
    for (const trader of world.traders) {
      await world.book.connect(trader).commitOrder(0, size, size > 0n ? wad(2_100) : wad(1_900), 0, false);
    }
    await networkHelpers.mine();
    await ethers.provider.send("evm_setAutomine", [true]);
    const block = await ethers.provider.getBlock("latest");
    const ids = await Promise.all(world.traders.map((t) => world.book.pendingMarketOrder(t.address, 0)));
    return { ids, createdAt: block!.timestamp, block: block!.number };
  }

  async function executedEvents(book: OrderBook, fromBlock: number) {
    return book.queryFilter(book.filters.OrderExecuted(), fromBlock);
  }

  it("settles a burst of market orders in one transaction, within 2 blocks of becoming settleable, at the window's first price", async function () {
    const metrics = new KeeperMetrics();
    const { keeper: k, shim } = await keeper(world.keeperA, { metrics });
    const { ids, createdAt, block } = await burst(wad(1));
    expect(ids.every((id) => id > 0n)).to.equal(true);
    // The window is not open yet: nothing is sent.
    await k.runOnce(); // the first run builds the index
    shim.reset();
    const early: OrderRunSummary = await k.runOnce();
    expect(early).to.include({ settleable: 0, settled: 0, transactions: 0 });
    const idle = Object.fromEntries(shim.calls);
    // The window's first price, then the first block at or after it.
    await publish(2_000n, createdAt + PARAMS.minSettleDelay);
    const settleableBlock = await ethers.provider.getBlockNumber();
    shim.reset();
    const run = await k.runOnce();
    const rpc = shim.total();
    expect(run).to.include({ settleable: TRADERS, settled: TRADERS, failed: 0, transactions: 1 });
    expect(run.feesUsd).to.equal(KEEPER_FEE * BigInt(TRADERS));
    const events = await executedEvents(world.book, block);
    expect(events.map((e) => e.args.orderId)).to.have.members(ids);
    for (const e of events) {
      expect(e.args.publishTime).to.equal(BigInt(createdAt + PARAMS.minSettleDelay));
      expect(e.args.keeper).to.equal(world.keeperA.address);
      expect(e.blockNumber - settleableBlock).to.be.at.most(2);
    }
    expect(new Set(events.map((e) => e.blockNumber)).size).to.equal(1); // all in one block
    expect(run.settleLatencyBlocks).to.deep.equal(Array(TRADERS).fill(1));
    const text = await metrics.registry.metrics();
    expect(text).to.include(`perp_keeper_orders_settled_total ${TRADERS}\n`);
    expect(text).to.include(`perp_keeper_settle_latency_blocks_bucket{le="1"} ${TRADERS}\n`);
    expect(text).to.include(`perp_keeper_settle_latency_blocks_bucket{le="0"} 0\n`);
    expect(text).to.include(`perp_keeper_order_fees_usd_total ${Number(TRADERS) / 2}\n`);
    expect(text).to.include("perp_keeper_open_orders 12\n"); // set before the settlement, at the scan
    console.log(`      burst: ${TRADERS} orders in 1 block (${run.gasUsed} gas), ${rpc} RPC calls in the run: ${JSON.stringify(Object.fromEntries(shim.calls))}; idle run: ${JSON.stringify(idle)}`);
  });

  it("executes a stop-loss at the first price that crosses it, and not before", async function () {
    const { keeper: k } = await keeper(world.keeperA);
    const trader = world.traders[0];
    const { createdAt } = await burst(wad(1));
    await publish(2_000n, createdAt + 2);
    expect((await k.runOnce()).settled).to.equal(TRADERS);
    const placed = await world.book.connect(trader).placeTriggerOrder(0, OrderKind.StopLoss, -wad(1), wad(1_800), 0, 0, false, 0);
    const receipt = await placed.wait();
    const [stopId] = await world.book.ordersOf(trader.address);
    let t = (await ethers.provider.getBlock(receipt!.blockNumber))!.timestamp;
    for (const usd of [1_900n, 1_850n, 1_801n]) {
      t += 2;
      await publish(usd, t);
      const run = await k.runOnce();
      expect(run, `at ${usd}`).to.include({ executed: 0, triggered: 0 });
      expect((await world.book.getOrder(stopId)).trader).to.equal(trader.address);
    }
    t += 2;
    await publish(1_800n, t);
    const run = await k.runOnce();
    expect(run).to.include({ triggered: 1, executed: 1, failed: 0 });
    const [executed] = await world.book.queryFilter(world.book.filters.OrderExecuted(stopId));
    expect(executed.args.publishTime).to.equal(BigInt(t));
    expect(executed.args.kind).to.equal(BigInt(OrderKind.StopLoss));
    expect(executed.args.keeper).to.equal(world.keeperA.address);
    expect((await world.engine.getPosition(trader.address, 0)).size).to.equal(0n);
  });

  it("ratchets a trailing stop's peak on a better price and executes it on the retrace", async function () {
    const { keeper: k } = await keeper(world.keeperA);
    const trader = world.traders[0];
    const { createdAt } = await burst(wad(1));
    await publish(2_000n, createdAt + 2);
    await k.runOnce();
    const placed = await (await world.book.connect(trader).placeTriggerOrder(0, OrderKind.TrailingStop, -wad(1), 0, 0, 0, false, 500)).wait();
    const [trailId] = await world.book.ordersOf(trader.address);
    let t = (await ethers.provider.getBlock(placed!.blockNumber))!.timestamp + 2;
    await publish(2_100n, t);
    const ratchet = await k.runOnce();
    expect(ratchet).to.include({ ratchetable: 1, ratcheted: 1, executed: 0 });
    expect((await world.book.getOrder(trailId)).triggerPrice).to.equal(wad(2_100));
    expect((await world.book.getOrder(trailId)).kind).to.equal(BigInt(OrderKind.TrailingStop));
    // 2,100 x 0.95 = 1,995: 1,996 holds, 1,995 fires.
    t += 2;
    await publish(1_996n, t);
    expect(await k.runOnce()).to.include({ triggered: 0, executed: 0, ratcheted: 0 });
    t += 2;
    await publish(1_995n, t);
    expect(await k.runOnce()).to.include({ triggered: 1, executed: 1 });
    expect((await world.engine.getPosition(trader.address, 0)).size).to.equal(0n);
  });

  it("cancels an expired market order and earns its fee", async function () {
    const { keeper: k } = await keeper(world.keeperB);
    const trader = world.traders[0];
    const commit = await (await world.book.connect(trader).commitOrder(0, wad(1), wad(2_100), 0, false)).wait();
    const createdAt = (await ethers.provider.getBlock(commit!.blockNumber))!.timestamp;
    const id = await world.book.pendingMarketOrder(trader.address, 0);
    const [before] = await world.engine.getAccount(world.keeperB.address);
    await time.increaseTo(createdAt + PARAMS.marketOrderExpiry + 1);
    const run = await k.runOnce();
    expect(run).to.include({ expired: 1, cancelled: 1, failed: 0 });
    expect(run.feesUsd).to.equal(KEEPER_FEE);
    const [after] = await world.engine.getAccount(world.keeperB.address);
    expect(after - before).to.equal(KEEPER_FEE);
    expect(await world.book.pendingMarketOrder(trader.address, 0)).to.equal(0n);
    const [cancelled] = await world.book.queryFilter(world.book.filters.OrderCancelled(id));
    expect(cancelled.args.by).to.equal(world.keeperB.address);
  });

  it("two keepers racing on the same orders settle each order exactly once", async function () {
    // Both simulate before either sends: each waits at onPlanned until the other has planned too.
    let arrived = 0;
    let release!: () => void;
    const bothPlanned = new Promise<void>((resolve) => (release = resolve));
    const barrier = async () => {
      arrived += 1;
      if (arrived === 2) release();
      await bothPlanned;
    };
    const { keeper: a } = await keeper(world.keeperA, { onPlanned: barrier });
    const { keeper: b } = await keeper(world.keeperB, { onPlanned: barrier });
    const { ids, createdAt, block } = await burst(wad(1));
    await publish(2_000n, createdAt + 2);
    const [ra, rb] = await Promise.all([a.runOnce(), b.runOnce()]);
    expect(ra.settleable).to.equal(TRADERS);
    expect(rb.settleable).to.equal(TRADERS);
    // Both sent (both simulations settled everything); the first mined settled all, the second found them gone.
    expect([ra.transactions, rb.transactions]).to.deep.equal([1, 1]);
    expect([ra.settled, rb.settled].sort((x, y) => x - y)).to.deep.equal([0, TRADERS]);
    expect(ra.gone + rb.gone).to.equal(TRADERS);
    expect(ra.failed + rb.failed).to.equal(0);
    const events = await executedEvents(world.book, block);
    expect(events.map((e) => e.args.orderId)).to.have.members(ids);
    expect(events).to.have.length(TRADERS);
    // The next runs find nothing left.
    expect(await a.runOnce()).to.include({ openOrders: 0, transactions: 0 });
    expect(await b.runOnce()).to.include({ openOrders: 0, transactions: 0 });
  });

  it("the liquidation keeper passes a fresh price update to liquidateMany (the cache alone is too old for it)", async function () {
    const { client } = await clientOf(world.keeperA);
    const bot = await Keeper.create({ client, prices, orderBook: await world.book.getAddress() });
    const trader = world.traders[0];
    // A 40 ETH long on $10,000 (8x), opened through a market order that the bot's order phase settles.
    await world.book.connect(trader).commitOrder(0, wad(40), wad(2_100), 0, false);
    const createdAt = await time.latest();
    await publish(2_000n, createdAt + 2);
    const opened = await bot.runOnce();
    expect(opened.orders).to.include({ settled: 1 });
    expect((await world.engine.getPosition(trader.address, 0)).size).to.equal(wad(40));
    // ETH at $1,700 reaches the cache (anyone's poke), then 20 s pass: the cache is older than a liquidation accepts.
    const t = (await time.latest()) + 1;
    await publish(1_700n, t);
    const poke = await prices.latest([ETH_ID]);
    await world.book.connect(world.owner).pokePrices([0], poke.updateData, { value: 1n });
    await publish(1_700n, t + 20);
    const run = await bot.runOnce();
    expect(run).to.include({ liquidatableFound: 1, liquidated: 1, failed: 0 });
    expect((await world.engine.getPosition(trader.address, 0)).size).to.equal(0n);
    const feed = PythPriceFeed__factory.connect(world.deployment.markets[0].priceFeed, ethers.provider);
    const [cached, cachedAt] = await feed.cachedPrice();
    expect([cached, cachedAt]).to.deep.equal([wad(1_700), BigInt(t + 20)]);
  });

  it("settles 100 market orders of one block in two batches of 50, within 2 blocks of becoming settleable", async function () {
    // The price source as the keeper uses it, counting the window-price requests.
    const asked: number[] = [];
    const counting: PriceSource = {
      latest: (ids) => prices.latest(ids),
      at: (ids, t) => {
        asked.push(t);
        return prices.at(ids, t);
      },
    };
    // Without the LP phase, whose first run reads the vault: the calls counted below are the order phase's.
    const { keeper: k, shim } = await keeper(world.keeperA, { prices: counting, lpRequests: false });
    const token = MockUSDC__factory.connect(world.deployment.contracts.CollateralToken, world.owner);
    const traders = [];
    for (let i = 0; i < 100; i++) {
      const address = ethers.getAddress(`0x${(0xbeef0000 + i).toString(16).padStart(40, "0")}`);
      await ethers.provider.send("hardhat_setBalance", [address, "0xde0b6b3a7640000"]);
      const trader = await ethers.getImpersonatedSigner(address);
      await token.mint(address, usdc(10_000));
      await token.connect(trader).approve(world.engine, ethers.MaxUint256);
      await world.engine.connect(trader).deposit(usdc(10_000));
      traders.push(trader);
    }
    await ethers.provider.send("evm_setAutomine", [false]);
    for (const [i, trader] of traders.entries()) await world.book.connect(trader).commitOrder(0, i % 2 === 0 ? wad(1) : -wad(1), i % 2 === 0 ? wad(2_100) : wad(1_900), 0, false);
    await networkHelpers.mine();
    await ethers.provider.send("evm_setAutomine", [true]);
    const committed = (await ethers.provider.getBlock("latest"))!;
    expect(committed.transactions).to.have.length(100);
    await publish(2_000n, committed.timestamp + PARAMS.minSettleDelay);
    const settleableBlock = await ethers.provider.getBlockNumber();
    shim.reset();
    const run = await k.runOnce();
    expect(run).to.include({ settleable: 100, settled: 100, transactions: 2, failed: 0 });
    const events = await executedEvents(world.book, committed.number);
    expect(events).to.have.length(100);
    const blocks = [...new Set(events.map((e) => e.blockNumber))];
    expect(blocks.map((b) => b - settleableBlock)).to.deep.equal([1, 2]);
    // One settlement time and one update for both batches: one price request and one getUpdateFee in the run
    // (eth_call: params(), the fee, the two simulations), not one of each per batch.
    expect(asked).to.deep.equal([committed.timestamp + PARAMS.minSettleDelay]);
    expect(shim.calls.get("eth_call")).to.equal(4);
    expect(shim.calls.get("eth_estimateGas")).to.equal(2);
    console.log(
      `      100 orders: 2 transactions of 50 in blocks +1 and +2, ${run.gasUsed / 100n} gas per order, ` +
        `${shim.total()} RPC calls in the run (${shim.calls.get("eth_chainId") ?? 0} of them eth_chainId of the BrowserProvider)`,
    );
  });

  it("voids the stop-loss of a closed position for its fee; without a latest price (the service down) it waits instead of sending a call that does nothing", async function () {
    // The book takes no order action without update data: while `latest` fails, nothing is sent for the void.
    let down = false;
    const source = Object.create(prices, {
      latest: { value: (ids: string[]) => (down ? Promise.reject(new Error("price service down")) : prices.latest(ids)) },
    }) as HermesPriceSource;
    const { keeper: k } = await keeper(world.keeperB, { prices: source });
    const trader = world.traders[0];
    await world.book.connect(trader).commitOrder(0, wad(1), wad(2_100), 0, false);
    let t = await time.latest();
    await publish(2_000n, t + 2);
    expect((await k.runOnce()).settled).to.equal(1);
    await world.book.connect(trader).placeTriggerOrder(0, OrderKind.StopLoss, -wad(1), wad(1_800), 0, 0, false, 0);
    const [stopId] = await world.book.ordersOf(trader.address);
    // The trader closes the whole position with a market order: the stop-loss is void from then on.
    await world.book.connect(trader).commitOrder(0, CLOSE_ALL, 0, 0, false);
    t = await time.latest();
    await publish(2_010n, t + 2);
    expect(await k.runOnce()).to.include({ settled: 1, voided: 0 });
    expect((await world.engine.getPosition(trader.address, 0)).size).to.equal(0n);
    down = true;
    // Planned (voided: 1), not sent: the run reports the price source's failure.
    const idle = await k.runOnce();
    expect(idle).to.include({ cancelled: 0, transactions: 0 });
    expect(idle.errors).to.deep.equal(["latest prices: price service down"]);
    expect(await world.book.ordersOf(trader.address)).to.deep.equal([stopId]);
    down = false;
    const [before] = await world.engine.getAccount(world.keeperB.address);
    const run = await k.runOnce();
    expect(run).to.include({ voided: 1, cancelled: 1, executed: 0, failed: 0 });
    expect(run.feesUsd).to.equal(KEEPER_FEE);
    const [after] = await world.engine.getAccount(world.keeperB.address);
    expect(after - before).to.equal(KEEPER_FEE);
    const [cancelled] = await world.book.queryFilter(world.book.filters.OrderCancelled(stopId));
    expect(cancelled.args.reason).to.equal(BigInt(CancelReason.Voided));
    expect(cancelled.args.by).to.equal(world.keeperB.address);
    expect(await k.runOnce()).to.include({ openOrders: 0, transactions: 0 });
  });

  it("rebuilds its order index when the chain under it is reverted (same height, another hash)", async function () {
    const { keeper: k } = await keeper(world.keeperA);
    const snapshot = await networkHelpers.takeSnapshot();
    await world.book.connect(world.traders[0]).commitOrder(0, wad(1), wad(2_100), 0, false);
    await networkHelpers.mine();
    expect(await k.runOnce()).to.include({ openOrders: 1 });
    const indexed = k.indexedBlock;
    await snapshot.restore();
    await networkHelpers.mine(2); // back to the indexed height, with other blocks
    expect(await ethers.provider.getBlockNumber()).to.equal(indexed.number);
    const run = await k.runOnce();
    expect(run).to.include({ openOrders: 0, transactions: 0 });
    expect(k.indexedBlock.hash).to.not.equal(indexed.hash);
  });

  it("executes one leg of a bracket; the other leg's cancellation is not counted as the keeper's (its fee goes back)", async function () {
    const { keeper: k } = await keeper(world.keeperA);
    const trader = world.traders[0];
    await world.book.connect(trader).commitOrder(0, wad(1), wad(2_100), 0, false);
    let t = await time.latest();
    await publish(2_000n, t + 2);
    expect((await k.runOnce()).settled).to.equal(1);
    await world.book.connect(trader).placeBracket(0, CLOSE_ALL, wad(2_200), wad(1_800), 0);
    const [tp, sl] = await world.book.ordersOf(trader.address);
    t = await time.latest();
    await publish(1_799n, t + 2);
    const escrowBefore = await world.engine.orderEscrow(trader.address);
    const run = await k.runOnce();
    expect(run).to.include({ triggered: 1, executed: 1, cancelled: 0, gone: 0, failed: 0 });
    expect(run.feesUsd).to.equal(KEEPER_FEE);
    const [executed] = await world.book.queryFilter(world.book.filters.OrderExecuted(sl));
    expect(executed.args.kind).to.equal(BigInt(OrderKind.StopLoss));
    const [partner] = await world.book.queryFilter(world.book.filters.OrderCancelled(tp));
    expect(partner.args.reason).to.equal(BigInt(CancelReason.OcoPartnerExecuted));
    expect(escrowBefore - (await world.engine.orderEscrow(trader.address))).to.equal(2n * KEEPER_FEE);
    expect(await k.runOnce()).to.include({ openOrders: 0, transactions: 0 });
  });

  it("triggerCrossed and trailingStopPrice agree with the book: placement's TriggerOnWrongSide and TriggerNotReached's threshold", async function () {
    const { keeper: k } = await keeper(world.keeperA);
    const [long, short, flat] = world.traders;
    await world.book.connect(long).commitOrder(0, wad(1), wad(2_100), 0, false);
    await world.book.connect(short).commitOrder(0, -wad(1), wad(1_900), 0, false);
    const t = await time.latest();
    await publish(2_000n, t + 2);
    expect((await k.runOnce()).settled).to.equal(2);
    const current = wad(2_000); // the cache, from the settlement
    let checked = 0;
    for (const kind of [OrderKind.Limit, OrderKind.Stop, OrderKind.TakeProfit, OrderKind.StopLoss]) {
      for (const buy of [true, false]) {
        const reduceOnly = kind === OrderKind.TakeProfit || kind === OrderKind.StopLoss;
        const trader = reduceOnly ? (buy ? short : long) : flat;
        const size = buy ? wad(1) : -wad(1);
        for (const trigger of [current - 1n, current, current + 1n]) {
          const crossed = triggerCrossed({ kind, sizeDelta: size, triggerPrice: trigger, trailBps: 0 }, current);
          const place = world.book.connect(trader).placeTriggerOrder.staticCall(0, kind, size, trigger, 0, 0, false, 0);
          if (crossed) await expect(place).to.be.revertedWithCustomError(world.book, "TriggerOnWrongSide").withArgs(kind, buy, trigger, current);
          else await place;
          checked += 1;
        }
      }
    }
    expect(checked).to.equal(24);
    // Trailing stops: the threshold the book reports when the price does not reach it.
    await world.book.connect(long).placeTriggerOrder(0, OrderKind.TrailingStop, -wad(1), 0, 0, 0, false, 333);
    await world.book.connect(short).placeTriggerOrder(0, OrderKind.TrailingStop, wad(1), 0, 0, 0, false, 777);
    const [sellStop] = await world.book.ordersOf(long.address);
    const [buyStop] = await world.book.ordersOf(short.address);
    const at = (await time.latest()) + 1;
    await publish(2_000n, at);
    const { updateData } = await prices.latest([ETH_ID]);
    for (const [id, bps, buy] of [[sellStop, 333, false], [buyStop, 777, true]] as const) {
      await expect(world.book.executeOrder.staticCall(id, updateData, { value: 1n }))
        .to.be.revertedWithCustomError(world.book, "TriggerNotReached")
        .withArgs(id, current, trailingStopPrice(current, bps, buy));
    }
  });
});
