/**
 * Gas benchmark of the order flow (OrderBook over PythPriceFeed over the local StrictMockPyth): fixed scenarios on
 * the in-process Hardhat network, `gasUsed` read from each transaction's receipt, written to bench/orders.json with
 * the issue's targets beside the measured values, and a "realPyth" section adding the published cost of a real
 * Pyth verification (the mock verifies no signatures).
 *
 * Deterministic: every block's timestamp is set explicitly from a fixed start, so the price updates' calldata and
 * the elapsed times (funding, cache ages) are the same on every run.
 *
 * Run: npm run bench:orders. `ORDERS_BENCH_OUT=<file>` writes there instead.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { ContractTransactionResponse } from "ethers";

import { PythPriceFeed__factory } from "@perp/sdk/contracts";
import { ethParams, usdc, wad } from "./lib/fixture.js";
import { ethers, networkHelpers } from "./lib/network.js";
import { deployOrders, PBTC, PETH, priceUpdate, BTC_ID, ETH_ID } from "../test/helpers/orders.js";

const BUY_ANY = 2n ** 128n - 1n;
const SELL_ANY = 0n;
const CLOSE_ALL = -(2n ** 255n);
const STOP_LOSS = 4;
const TRAILING_STOP = 5;
/**
 * The exact oracle fee of one update (StrictMockPyth: 1 wei per update), as the SDK and keeper send it
 * (`getUpdateFee`): an overpaid fee adds a refund call (~7k gas) that no keeper pays. Each market's feed charges for
 * every element of the data it gets (a poke of n markets with n updates pays n * n), and a batch settle pays each
 * order's verification.
 */
const FEE = 1n;

/** Targets from the order-book issue (gas); each is reported with `meetsTarget`. */
const TARGETS = {
  commit: 90_000,
  settle: 150_000,
  placeTrigger: 90_000,
  execute: 160_000,
  liquidate: 120_000,
  batchSettleMarginal: 60_000,
  crossWith16Positions: 250_000,
};

/**
 * Published cost of a real Pyth verification (research note /work/shared/research/orders.md, section 4.4 "Gas"):
 * "gasUsed 0x35a0a = 219,658 (includes 21,000 base and ~1.1 KB calldata) → ≈ 190–200k gas for a 1-feed update
 * all-in" (also section 6, row "Pyth update, 1 feed": "≈ 190–200k incl. tx base (receipt 219,658)").
 */
const REAL_PYTH_PER_FEED = { low: 190_000, high: 200_000 };
/**
 * GMX v2 per open (same note, section 6 "Gas anchors for two-step flows", row "GMX v2 (measured, local Hardhat,
 * 2 prices, 7 signers)"): createOrder 844,662 + executeOrder 2,639,091 = 3,483,753.
 */
const GMX_CREATE_ORDER = 844_662;
const GMX_EXECUTE_ORDER = 2_639_091;

/** Fixed start of the chain's clock (2033-05-18), later than any real "now", so the first block may be set to it. */
const T0 = 2_000_000_000n;
/** The clock after the deployment (which takes fewer blocks than this). */
let clock = T0 + 1_000n;

/** Sets the next block's timestamp `dt` seconds after the previous one set here; returns it. */
async function at(dt = 1n): Promise<bigint> {
  clock += dt;
  await networkHelpers.time.setNextBlockTimestamp(clock);
  return clock;
}

const gas: Record<string, number> = {};

/** A measured scenario that did not do what it is named after would measure something else: stop. */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench scenario broken: ${what}`);
}

async function run(tx: Promise<ContractTransactionResponse>, name?: string): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (!receipt || receipt.status !== 1) throw new Error(`${name ?? "setup"}: transaction failed`);
  if (name) gas[name] = Number(receipt.gasUsed);
  return BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
}

async function main(): Promise<void> {
  await networkHelpers.time.setNextBlockTimestamp(T0);
  const o = await deployOrders();
  const { book, engine } = o;
  const signers = await ethers.getSigners();
  const prices: Record<string, string> = {};
  const ids = new Map<bigint, string>([
    [PETH, ETH_ID],
    [PBTC, BTC_ID],
  ]);
  prices[ETH_ID] = "2000";
  prices[BTC_ID] = "60000";

  /** One update per given market at its current price, published at `t`. */
  const updates = (markets: bigint[], t: bigint) => markets.map((m) => priceUpdate(prices[ids.get(m)!], t, undefined, ids.get(m)!));
  /** Raises the caches of `markets` to prices published at the next block's time. */
  const poke = async (markets: bigint[], name?: string) => {
    const t = await at();
    return run(book.connect(o.keeper).pokePrices(markets, updates(markets, t), { value: FEE * BigInt(markets.length) ** 2n }), name);
  };
  /** Commits a market order (next block); returns its id and createdAt. */
  const commit = async (trader: (typeof signers)[number], market: bigint, size: bigint, margin = 0n, name?: string) => {
    await at();
    const createdAt = await run(book.connect(trader).commitOrder(market, size, size > 0n ? BUY_ANY : SELL_ANY, margin, margin > 0n), name);
    // A market order's id encodes its trader, market and per-market sequence number.
    const id = await book.pendingMarketOrder(trader, market);
    return { id, createdAt };
  };
  /** The window's first price of orders committed at `first`..`last`: published at last + 2, previous at first + 1. */
  const windowUpdate = (market: bigint, first: bigint, last: bigint) =>
    priceUpdate(prices[ids.get(market)!], last + 2n, first + 1n, ids.get(market)!);
  const settle = async (id: bigint, market: bigint, createdAt: bigint, name?: string) => {
    clock = createdAt + 1n;
    await at();
    return run(book.connect(o.keeper).settleOrder(id, [windowUpdate(market, createdAt, createdAt)], { value: FEE }), name);
  };
  const placeTrigger = async (trader: (typeof signers)[number], kind: number, trigger: bigint, trailBps = 0, name?: string) => {
    const id = await book.nextTriggerOrderId(trader);
    await at();
    await run(book.connect(trader).placeTriggerOrder(PETH, kind, CLOSE_ALL, trigger, SELL_ANY, 0, false, trailBps), name);
    return id;
  };
  const fund = async (trader: (typeof signers)[number], amount: bigint) => {
    await at();
    await run(o.usdc.mint(trader, amount));
    await at();
    await run(o.usdc.connect(trader).approve(engine, ethers.MaxUint256));
    await at();
    await run(engine.connect(trader).deposit(amount));
  };

  // ---- Setup: fresh caches, some open interest in the market, a keeper whose balance is not its first write.
  await poke([PETH, PBTC]);
  await at();
  await run(engine.connect(o.keeper).deposit(usdc(10)));
  await at();
  await run(engine.connect(o.dave).deposit(usdc(100_000)));
  const short = await commit(o.dave, PETH, wad(-3));
  await settle(short.id, PETH, short.createdAt);

  // ---- Market orders: isolated open (alice), cross open (bob).
  const iso = await commit(o.alice, PETH, wad(5), wad(1_000), "commit_isolated");
  await settle(iso.id, PETH, iso.createdAt, "settle_isolated_open");
  check((await engine.getPosition(o.alice, PETH)).size === wad(5), "isolated open settled");
  const crs = await commit(o.bob, PETH, wad(5), 0n, "commit_cross");
  await settle(crs.id, PETH, crs.createdAt, "settle_cross_open");

  check((await engine.getPosition(o.bob, PETH)).size === wad(5), "cross open settled");
  // Steady state: bob's next market order in the market rewrites the body slots his first one left, and settles
  // against a position whose slots exist.
  const again = await commit(o.bob, PETH, wad(1), 0n, "commit_repeat");
  await settle(again.id, PETH, again.createdAt, "settle_cross_increase");
  check((await engine.getPosition(o.bob, PETH)).size === wad(6), "cross increase settled");

  // ---- Trigger orders on alice's isolated position.
  const sl = await placeTrigger(o.alice, STOP_LOSS, wad(1_900), 0, "place_trigger_first");
  const sl2 = await placeTrigger(o.alice, STOP_LOSS, wad(1_850), 0, "place_trigger");
  await at();
  await run(book.connect(o.alice).cancelOrder(sl2), "cancel_trigger");
  // Steady state: the next trigger order takes the lane the cancelled one freed (its body slots are not fresh).
  const sl3 = await placeTrigger(o.alice, STOP_LOSS, wad(1_850), 0, "place_trigger_recycled");
  await at();
  await run(book.connect(o.alice).cancelOrder(sl3));
  const ts = await placeTrigger(o.alice, TRAILING_STOP, 0n, 100);
  prices[ETH_ID] = "2100";
  {
    const t = await at();
    await run(book.ratchetTrailingStop(ts, updates([PETH], t), { value: FEE }), "ratchet_trailing_stop");
  }
  prices[ETH_ID] = "2090";
  await poke([PETH], "poke_prices");
  prices[ETH_ID] = "1890";
  {
    const t = await at();
    await run(book.connect(o.keeper).executeOrder(sl, updates([PETH], t), { value: FEE }), "execute_stop_loss");
  }

  check((await engine.getPosition(o.alice, PETH)).size === 0n, "stop-loss executed");

  // ---- Batch settlement: 10 orders of 10 traders against 1 order of another, one update for all.
  const traders = signers.slice(10, 20);
  const single = signers[8];
  for (const trader of [...traders, single]) await fund(trader, usdc(10_000));
  const batch = [];
  for (const trader of traders) batch.push(await commit(trader, PETH, wad(1)));
  clock = batch[batch.length - 1].createdAt + 1n;
  await at();
  await run(
    book.connect(o.keeper).settleOrders(batch.map((b) => b.id), [windowUpdate(PETH, batch[0].createdAt, batch[batch.length - 1].createdAt)], { value: FEE * BigInt(batch.length) }),
    "settle_batch_10",
  );
  const one = await commit(single, PETH, wad(1));
  clock = one.createdAt + 1n;
  await at();
  await run(book.connect(o.keeper).settleOrders([one.id], [windowUpdate(PETH, one.createdAt, one.createdAt)], { value: FEE }), "settle_batch_1");
  for (const trader of [...traders, single]) check((await engine.getPosition(trader, PETH)).size === wad(1), "batch settled");
  gas.settle_batch_marginal_per_order = Math.round((gas.settle_batch_10 - gas.settle_batch_1) / 9);

  // ---- Batch execution: a stop-loss for each of the 11 positions, then 10 in one batch and 1 alone.
  const stops = [];
  for (const trader of traders) stops.push(await placeTrigger(trader, STOP_LOSS, wad(1_800)));
  const singleStop = await placeTrigger(single, STOP_LOSS, wad(1_800));
  prices[ETH_ID] = "1790";
  {
    const t = await at();
    await run(book.connect(o.keeper).executeOrders(stops, updates([PETH], t), { value: FEE }), "execute_batch_10");
  }
  {
    const t = await at();
    await run(book.connect(o.keeper).executeOrders([singleStop], updates([PETH], t), { value: FEE }), "execute_batch_1");
  }
  for (const trader of [...traders, single]) check((await engine.getPosition(trader, PETH)).size === 0n, "batch executed");
  gas.execute_batch_marginal_per_order = Math.round((gas.execute_batch_10 - gas.execute_batch_1) / 9);

  // ---- Liquidation with a price update: carol 10x isolated long, then a 12 % drop delivered in the liquidation.
  const liq = await commit(o.carol, PETH, wad(5), wad(895));
  await settle(liq.id, PETH, liq.createdAt);
  prices[ETH_ID] = "1575";
  {
    const t = await at();
    await run(engine.connect(o.keeper).liquidate(o.carol, PETH, updates([PETH], t), { value: FEE }), "liquidate_isolated_with_update");
  }

  check((await engine.getPosition(o.carol, PETH)).size === 0n, "liquidated");

  // ---- A cross account with 15 other open positions settles a 16th (all markets Pyth-priced).
  prices[ETH_ID] = "2000";
  const markets = [PETH, PBTC];
  for (let i = 0; i < 14; i++) {
    const id = ethers.id(`X${i}/USD`);
    prices[id] = "100";
    await at();
    const feed = await new PythPriceFeed__factory(o.owner).deploy({
      pyth: o.pyth.target as string,
      priceId: id,
      maxConfBps: 100,
      maxFutureSkew: 5,
      maxCacheAge: 60,
      referenceFeed: ethers.ZeroAddress,
      refMaxDevBps: 0,
      refHeartbeat: 0,
      expo: -8,
    }, book);
    await feed.waitForDeployment();
    const t = await at();
    await run(feed.updatePrice([priceUpdate("100", t, undefined, id)], { value: FEE }));
    const market = await engine.marketCount();
    await at();
    await run(engine.listMarket(feed, ethParams()));
    ids.set(market, id);
    markets.push(market);
  }
  const whale = signers[9];
  await fund(whale, usdc(1_000_000));
  for (const [n, market] of markets.entries()) {
    await poke(markets);
    const size = market === PBTC ? wad("0.1") : market === PETH ? wad(1) : wad(10);
    const c = await commit(whale, market, size);
    await settle(c.id, market, c.createdAt, n === 15 ? "settle_cross_with_15_open" : undefined);
  }

  for (const market of markets) check((await engine.getPosition(whale, market)).size !== 0n, "16 cross positions open");

  // ---- Report.
  const measured = {
    commit: Math.max(gas.commit_isolated, gas.commit_cross),
    settle: Math.max(gas.settle_isolated_open, gas.settle_cross_open),
    placeTrigger: Math.max(gas.place_trigger_first, gas.place_trigger),
    execute: gas.execute_stop_loss,
    liquidate: gas.liquidate_isolated_with_update,
    batchSettleMarginal: gas.settle_batch_marginal_per_order,
    crossWith16Positions: gas.settle_cross_with_15_open,
  };
  const measuredFrom: Record<keyof typeof TARGETS, string> = {
    commit: "max(commit_isolated, commit_cross): a trader's first order (fresh body slots)",
    settle: "max(settle_isolated_open, settle_cross_open): opens (fresh position slots)",
    placeTrigger: "max(place_trigger_first, place_trigger)",
    execute: "execute_stop_loss",
    liquidate: "liquidate_isolated_with_update",
    batchSettleMarginal: "settle_batch_marginal_per_order = (settle_batch_10 - settle_batch_1) / 9",
    crossWith16Positions: "settle_cross_with_15_open",
  };
  /** The same operation once the trader's order slots (or position slots) exist: beside, never instead. */
  const steady: Partial<Record<keyof typeof TARGETS, [number, string]>> = {
    commit: [gas.commit_repeat, "commit_repeat"],
    settle: [gas.settle_cross_increase, "settle_cross_increase"],
    placeTrigger: [gas.place_trigger_recycled, "place_trigger_recycled"],
  };
  const targets = Object.fromEntries(
    (Object.keys(TARGETS) as (keyof typeof TARGETS)[]).map((k) => {
      const entry: Record<string, unknown> = {
        measured: measured[k],
        target: TARGETS[k],
        meetsTarget: measured[k] <= TARGETS[k],
        from: measuredFrom[k],
      };
      const st = steady[k];
      if (st) Object.assign(entry, { steadyState: st[0], steadyStateMeetsTarget: st[0] <= TARGETS[k], steadyStateFrom: st[1] });
      return [k, entry];
    }),
  );
  const openOurs = gas.commit_isolated + gas.settle_isolated_open;
  const gmxOpen = GMX_CREATE_ORDER + GMX_EXECUTE_ORDER;
  const realPyth = {
    perFeed: REAL_PYTH_PER_FEED,
    perFeedSource:
      "/work/shared/research/orders.md, section 4.4 'Gas' (Pyth tutorial receipt, Optimism Sepolia, updateAndMint: " +
      "gasUsed 0x35a0a = 219,658 incl. 21,000 base and ~1.1 KB calldata → '≈ 190–200k gas for a 1-feed update all-in'); " +
      "also section 6 row 'Pyth update, 1 feed'. Published, not re-measured; the local StrictMockPyth verifies no signatures.",
    openMeasuredWithMock: { commit: gas.commit_isolated, settle: gas.settle_isolated_open, total: openOurs },
    totalPerOpen: { low: openOurs + REAL_PYTH_PER_FEED.low, high: openOurs + REAL_PYTH_PER_FEED.high },
    totalPerOpenNote:
      "commit + settle measured with the mock + the published figure, as asked; conservative: the figure includes its " +
      "own transaction's 21,000 base and calldata, and the settle measured here already includes the mock's parse.",
    gmxV2PerOpen: gmxOpen,
    gmxV2Source:
      "/work/shared/research/orders.md, section 6 'Gas anchors for two-step flows', row 'GMX v2 (measured, local Hardhat, " +
      "2 prices, 7 signers)': createOrder 844,662 + executeOrder 2,639,091 = 3,483,753",
    ratioToGmx: {
      low: Math.round(((openOurs + REAL_PYTH_PER_FEED.low) / gmxOpen) * 1000) / 1000,
      high: Math.round(((openOurs + REAL_PYTH_PER_FEED.high) / gmxOpen) * 1000) / 1000,
    },
  };
  const result = { gas, targets, realPyth };

  const out = process.env.ORDERS_BENCH_OUT ?? fileURLToPath(new URL("../bench/orders.json", import.meta.url));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);

  console.log("operation                              gas");
  for (const [name, used] of Object.entries(gas)) console.log(`${name.padEnd(34)} ${used.toLocaleString("en-US").padStart(9)}`);
  console.log("\ntarget                     measured     target");
  type Row = { measured: number; target: number; meetsTarget: boolean; steadyState?: number };
  for (const [name, t] of Object.entries(targets) as [string, Row][]) {
    const st = t.steadyState === undefined ? "" : `  (steady state ${t.steadyState.toLocaleString("en-US")})`;
    console.log(`${name.padEnd(24)} ${t.measured.toLocaleString("en-US").padStart(9)}  ${t.target.toLocaleString("en-US").padStart(9)}  ${t.meetsTarget ? "met" : "MISSED"}${st}`);
  }
  console.log(
    `\nper open with a real Pyth: ${realPyth.totalPerOpen.low.toLocaleString("en-US")}–${realPyth.totalPerOpen.high.toLocaleString("en-US")} ` +
      `vs GMX v2 ${gmxOpen.toLocaleString("en-US")}`,
  );
  console.log(`\nwritten to ${out}`);
}

await main();
