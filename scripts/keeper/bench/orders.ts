/**
 * Order keeper scale benchmark: `npm run bench:orders-keeper` (`hardhat run scripts/keeper/bench/orders.ts`) ->
 * bench/keeper-orders.json. Sizes: BENCH_ORDERS_TRADERS (default 1,000) traders; each holds one position and two
 * trigger orders, so 2x that many trigger orders.
 *
 * On the in-process Hardhat network, with the world of test/keeper-orders.test.ts (./orderWorld.ts) and the local
 * price service read through `HermesPriceSource` (the keeper's Hermes code path):
 * 1. burst: every trader (keyless, impersonated) commits a market order with automine off; the commits are mined in
 *    as few full blocks as the block gas limit allows. The real `OrderKeeper` then settles them after the window's
 *    first price is published. While the keeper runs, automine stays off and a block is mined each time the keeper
 *    polls for a receipt (so its transactions are packed into blocks by gas, like a real chain, not one per block).
 * 2. triggers: each trader places a stop-loss and a take-profit for half its position each, at spread trigger prices;
 *    the price walks a path (down, then up); after each step the keeper runs once. Each OrderExecuted's publishTime
 *    gives the step it executed at, compared with the first step whose price crosses the trigger (SDK
 *    `triggerCrossed`). Nothing is tuned to the targets: they are only compared with what was measured.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

import { BrowserProvider, Interface, MaxUint256, getAddress, id, toBeHex, type Eip1193Provider } from "ethers";
import { network } from "hardhat";

import { PerpClient } from "@perp/sdk";
import { OrderKind, triggerCrossed } from "@perp/sdk/keeper";
import { HermesPriceSource } from "@perp/sdk/prices";

import { OrderKeeper, type OrderRunSummary } from "../orders.js";
import { usdc, wad } from "../../lib/fixture.js";
import { startPriceService } from "../../price-service/service.js";
import { CountingShim, E8, ETH_ID, ORDER_PARAMS, deployOrderWorld } from "./orderWorld.js";

/** A size from the environment; a malformed one is one line on stderr and exit 2, before anything is deployed. */
function envInteger(name: string, fallback: number, valid: (n: number) => boolean, rule: string): number {
  const text = process.env[name];
  const n = text === undefined ? fallback : Number(text);
  if (text?.trim() === "" || !Number.isSafeInteger(n) || !valid(n)) {
    process.stderr.write(`error: ${name} must be ${rule} (got ${JSON.stringify(text)})\n`);
    process.exit(2);
  }
  return n;
}

const TRADERS = envInteger("BENCH_ORDERS_TRADERS", 1000, (n) => n >= 2 && n % 2 === 0, "an even integer >= 2");
const BURST_CHUNK = envInteger("BENCH_ORDERS_BURST_CHUNK", 50, (n) => n >= 1, "a positive integer");
const TARGETS = { burstSettleBlocks: 2 } as const;
const POSITION = wad("0.1");
const HALF = POSITION / 2n;
/** A trigger order's acceptable price: a buy accepts any fill up to this (a sell's 0 accepts any). */
const ANY_BUY_PRICE = wad(1_000_000);
/** The price path (USD): down 2,000 -> 1,890 by 10, then up to 2,110 by 10. */
const PATH = [...Array.from({ length: 11 }, (_, i) => 1990 - 10 * i), ...Array.from({ length: 22 }, (_, i) => 1900 + 10 * i)];

const log = (message: string) => process.stderr.write(`${message}\n`);
const started = Date.now();

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const { time } = networkHelpers;
const raw = connection.provider as unknown as Eip1193Provider;
const rpc = (method: string, params: unknown[] = []) => raw.request({ method, params });

const world = await deployOrderWorld(connection, 0);
const engineAddress = await world.engine.getAddress();
const bookAddress = await world.book.getAddress();
const tokenAddress = await world.token.getAddress();
const blockGasLimit = BigInt((await ethers.provider.getBlock("latest"))!.gasLimit);

/** Mines blocks until the pool is empty; returns the mined blocks' numbers. */
async function mineAll(): Promise<number[]> {
  const blocks: number[] = [];
  for (;;) {
    const pending = (await rpc("eth_getBlockByNumber", ["pending", false])) as { transactions: string[] };
    if (pending.transactions.length === 0) return blocks;
    await rpc("evm_mine");
    blocks.push(await ethers.provider.getBlockNumber());
  }
}

/**
 * Sends `txs` and checks every receipt. `inOneGo`: automine off, all sent, then mined in as few blocks as the gas
 * limit allows (the burst); otherwise each is mined as it is sent (setup: the in-process pool was found very slow
 * with a thousand pending transactions of one sender).
 */
async function wave(txs: { from: string; to: string; data: string; gas: bigint }[], inOneGo = false): Promise<number[]> {
  if (!inOneGo) {
    for (const tx of txs) {
      const hash = (await rpc("eth_sendTransaction", [{ ...tx, gas: toBeHex(tx.gas) }])) as string;
      if ((await ethers.provider.getTransactionReceipt(hash))?.status !== 1) throw new Error(`setup transaction ${hash} failed`);
    }
    return [];
  }
  await rpc("evm_setAutomine", [false]);
  const hashes: string[] = [];
  const blocks: number[] = [];
  // In chunks of BURST_CHUNK, each mined before the next: a send into the in-process pool costs time proportional to
  // what is pending (100 pending sends took ~10 s, 1,000 did not finish in 2 minutes).
  for (let i = 0; i < txs.length; i += BURST_CHUNK) {
    for (const tx of txs.slice(i, i + BURST_CHUNK)) hashes.push((await rpc("eth_sendTransaction", [{ ...tx, gas: toBeHex(tx.gas) }])) as string);
    blocks.push(...(await mineAll()));
  }
  await rpc("evm_setAutomine", [true]);
  for (const hash of hashes) {
    const receipt = await ethers.provider.getTransactionReceipt(hash);
    if (receipt?.status !== 1) throw new Error(`setup transaction ${hash} failed`);
  }
  return blocks;
}

const token = new Interface(["function mint(address,uint256)", "function approve(address,uint256)"]);
const engineIface = world.engine.interface;
const bookIface = world.book.interface;
const traders = Array.from({ length: TRADERS }, (_, i) => getAddress(`0x${id(`orders-bench-trader:${i}`).slice(26)}`));
const owner = world.owner.address;

log(`setup: funding ${TRADERS} traders (${(Date.now() - started) / 1000} s)`);
for (const trader of traders) {
  await rpc("hardhat_impersonateAccount", [trader]);
  await rpc("hardhat_setBalance", [trader, toBeHex(10n ** 18n)]);
}
await wave(traders.map((t) => ({ from: owner, to: tokenAddress, data: token.encodeFunctionData("mint", [t, usdc(10_000)]), gas: 120_000n })));
await wave(traders.map((t) => ({ from: t, to: tokenAddress, data: token.encodeFunctionData("approve", [engineAddress, MaxUint256]), gas: 80_000n })));
await wave(traders.map((t) => ({ from: t, to: engineAddress, data: engineIface.encodeFunctionData("deposit", [usdc(10_000)]), gas: 200_000n })));
const setupSeconds = (Date.now() - started) / 1000;

const service = await startPriceService({ port: 0, feeds: [{ id: ETH_ID, expo: -8, points: [{ publishTime: world.t0, price: 2_000n * E8 }] }] });
const prices = new HermesPriceSource({ endpoint: service.url, httpRetries: 0 });

// The keeper's provider: counts its calls; while automine is off, a receipt poll first mines one block of what is pending.
let manualMining = false;
let mining: Promise<void> = Promise.resolve();
const keeperBlocks: number[] = [];
const shim = new CountingShim(raw, async (method) => {
  if (!manualMining || method !== "eth_getTransactionReceipt") return;
  mining = mining.then(async () => {
    const pending = (await rpc("eth_getBlockByNumber", ["pending", false])) as { transactions: string[] };
    if (pending.transactions.length === 0) return;
    await rpc("evm_mine");
    keeperBlocks.push(await ethers.provider.getBlockNumber());
  });
  await mining;
});
const provider = new BrowserProvider(shim, world.deployment.chainId, { cacheTimeout: -1 });
const client = await PerpClient.connect({ runner: await provider.getSigner(world.keeperA.address), deployment: world.deployment });
const keeper = await OrderKeeper.create({ client, orderBook: bookAddress, prices, pollMs: 10 });

/** One keeper run with block production by receipt polls; its summary, RPC calls, seconds, mined blocks. */
async function run(): Promise<{ summary: OrderRunSummary; rpc: number; rpcByMethod: Record<string, number>; seconds: number; blocks: number[] }> {
  keeperBlocks.length = 0;
  shim.reset();
  await rpc("evm_setAutomine", [false]);
  manualMining = true;
  const t = Date.now();
  const summary = await keeper.runOnce();
  const seconds = (Date.now() - t) / 1000;
  manualMining = false;
  await mineAll();
  await rpc("evm_setAutomine", [true]);
  return { summary, rpc: shim.total(), rpcByMethod: Object.fromEntries(shim.calls), seconds, blocks: [...keeperBlocks] };
}

async function gasPerBlock(blocks: readonly number[]) {
  return Promise.all(blocks.map(async (n) => {
    const b = (await ethers.provider.getBlock(n))!;
    return { block: n, transactions: b.transactions.length, gasUsed: b.gasUsed.toString() };
  }));
}

await keeper.runOnce(); // builds the index (nothing open yet)

// ---------------------------------------------------------------------------------- 1. burst of market orders
log(`burst: ${TRADERS} market orders (${(Date.now() - started) / 1000} s)`);
// Each commit's gas limit: the first trader's estimate plus 30 % (a block's builder counts limits, not use).
const commitData = (i: number) =>
  bookIface.encodeFunctionData("commitOrder", [0, i % 2 === 0 ? POSITION : -POSITION, i % 2 === 0 ? wad(2_100) : wad(1_900), 0, false]);
const commitGasLimit = ((await ethers.provider.estimateGas({ from: traders[0], to: bookAddress, data: commitData(0) })) * 13n) / 10n;
const commitFrom = (await ethers.provider.getBlockNumber()) + 1;
const commitBlocks = await wave(
  traders.map((t, i) => ({ from: t, to: bookAddress, data: commitData(i), gas: commitGasLimit })),
  true,
);
const commitGas = await gasPerBlock(commitBlocks);
const lastCommit = (await ethers.provider.getBlock(commitBlocks[commitBlocks.length - 1]))!;
// The window's first price at the last commit's settleableAt; the block at that time is the first where all are settleable.
const settleTime = lastCommit.timestamp + ORDER_PARAMS.minSettleDelay;
service.setPrice(ETH_ID, 2_000n * E8, settleTime);
await time.increaseTo(settleTime);
const settleableBlock = await ethers.provider.getBlockNumber();
const burstRun = await run();
const settledEvents = await world.book.queryFilter(world.book.filters.OrderExecuted(), commitFrom);
const settledBlocks = [...new Set(settledEvents.map((e) => e.blockNumber))].sort((a, b) => a - b);
const positionsOpen = (await Promise.all(traders.map((t) => world.engine.getPosition(t, 0)))).filter((p) => p.size !== 0n).length;
const burst = {
  orders: TRADERS,
  commitGasLimit: commitGasLimit.toString(),
  commitChunk: BURST_CHUNK,
  commitBlocks: commitBlocks.length,
  commitGasPerBlock: commitGas,
  settled: settledEvents.length,
  positionsOpen,
  settledBlocksAfterSettleable: settledBlocks.map((b) => b - settleableBlock),
  allSettledWithinBlocks: settledBlocks.length === 0 ? null : settledBlocks[settledBlocks.length - 1] - settleableBlock,
  targetBlocks: TARGETS.burstSettleBlocks,
  keeperTransactions: burstRun.summary.transactions,
  keeperFailed: burstRun.summary.failed,
  keeperGasUsed: burstRun.summary.gasUsed.toString(),
  settleGasPerBlock: await gasPerBlock(settledBlocks),
};
const burstTiming = { seconds: burstRun.seconds, rpcCalls: burstRun.rpc, rpcByMethod: burstRun.rpcByMethod };
log(`burst: ${JSON.stringify({ ...burst, commitGasPerBlock: undefined, settleGasPerBlock: undefined })} ${JSON.stringify(burstTiming)}`);

// ---------------------------------------------------------------------------------- 2. trigger orders on a price path
interface Planned { trader: string; kind: OrderKind; sizeDelta: bigint; triggerPrice: bigint; id?: bigint }
const planned: Planned[] = [];
traders.forEach((trader, i) => {
  const long = i % 2 === 0;
  const below = wad(2_000 - 1 - ((i * 7) % 100)); // 1,900 .. 1,999
  const above = wad(2_001 + ((i * 13) % 100)); // 2,001 .. 2,100
  // A long's stop-loss is below and its take-profit above; a short's the other way round. Half the position each.
  planned.push({ trader, kind: OrderKind.StopLoss, sizeDelta: long ? -HALF : HALF, triggerPrice: long ? below : above });
  planned.push({ trader, kind: OrderKind.TakeProfit, sizeDelta: long ? -HALF : HALF, triggerPrice: long ? above : below });
});
log(`triggers: placing ${planned.length} trigger orders`);
const placeFrom = (await ethers.provider.getBlockNumber()) + 1;
await wave(
  planned.map((o) => ({
    from: o.trader,
    to: bookAddress,
    data: bookIface.encodeFunctionData("placeTriggerOrder", [0, o.kind, o.sizeDelta, o.triggerPrice, o.sizeDelta > 0n ? ANY_BUY_PRICE : 0n, 0, false, 0]),
    gas: 600_000n,
  })),
);
const placedEvents = await world.book.queryFilter(world.book.filters.TriggerOrderPlaced(), placeFrom);
const byKey = new Map(planned.map((o) => [`${o.trader.toLowerCase()}:${o.kind}`, o]));
for (const e of placedEvents) byKey.get(`${e.args.trader.toLowerCase()}:${Number(e.args.kind)}`)!.id = e.args.orderId;
if (planned.some((o) => o.id === undefined)) throw new Error("a trigger order was not placed");

const steps: { step: number; usd: number; publishTime: number; executed: number; transactions: number; failed: number; rpc: number; seconds: number }[] = [];
const stepOfTime = new Map<number, number>();
let t = await time.latest();
const triggerStarted = Date.now();
let triggerRpc = 0;
for (const [step, usd] of PATH.entries()) {
  // 2 s after the previous step, or later if the keeper's blocks (1 s each) went past that.
  t = Math.max(t + 2, (await time.latest()) + 1);
  service.setPrice(ETH_ID, BigInt(usd) * E8, t);
  await time.increaseTo(t);
  stepOfTime.set(t, step);
  const r = await run();
  triggerRpc += r.rpc;
  steps.push({ step, usd, publishTime: t, executed: r.summary.executed, transactions: r.summary.transactions, failed: r.summary.failed, rpc: r.rpc, seconds: r.seconds });
  log(`  step ${step} $${usd}: executed ${r.summary.executed} in ${r.summary.transactions} tx, ${r.rpc} RPC, ${r.seconds.toFixed(2)} s`);
}
const triggerSeconds = (Date.now() - triggerStarted) / 1000;
const executedEvents = await world.book.queryFilter(world.book.filters.OrderExecuted(), placeFrom);
const executedStep = new Map(executedEvents.map((e) => [e.args.orderId, stepOfTime.get(Number(e.args.publishTime)) ?? -1]));
const counts = { atFirstCrossing: 0, early: 0, late: 0, missed: 0, neverCrossedNotExecuted: 0, executedNeverCrossed: 0 };
const mismatches: { orderId: string; expectedStep: number | null; executedStep: number | null }[] = [];
for (const o of planned) {
  const expected = PATH.findIndex((usd) => triggerCrossed({ kind: o.kind, sizeDelta: o.sizeDelta, triggerPrice: o.triggerPrice, trailBps: 0 }, wad(usd)));
  const got = executedStep.get(o.id!);
  if (expected === -1) {
    if (got === undefined) counts.neverCrossedNotExecuted += 1;
    else counts.executedNeverCrossed += 1;
  } else if (got === undefined) counts.missed += 1;
  else if (got === expected) counts.atFirstCrossing += 1;
  else if (got < expected) counts.early += 1;
  else counts.late += 1;
  if (got !== (expected === -1 ? undefined : expected)) mismatches.push({ orderId: o.id!.toString(), expectedStep: expected === -1 ? null : expected, executedStep: got ?? null });
}
const cancelledEvents = await world.book.queryFilter(world.book.filters.OrderCancelled(), placeFrom);
const cancelledByReason: Record<string, number> = {};
for (const e of cancelledEvents) cancelledByReason[String(e.args.reason)] = (cancelledByReason[String(e.args.reason)] ?? 0) + 1;
const openAfter = (await Promise.all(traders.map((tr) => world.engine.getPosition(tr, 0)))).filter((p) => p.size !== 0n).length;
const triggers = {
  orders: planned.length,
  pathUsd: PATH,
  counts,
  mismatches: mismatches.slice(0, 20),
  executedEvents: executedEvents.length,
  cancelledByReason,
  positionsOpenAfter: openAfter,
  perStep: steps.map(({ step, usd, executed, transactions, failed }) => ({ step, usd, executed, transactions, failed })),
};
const triggerTiming = { seconds: triggerSeconds, rpcCalls: triggerRpc, perStep: steps.map(({ step, rpc: calls, seconds }) => ({ step, rpcCalls: calls, seconds })) };
log(`triggers: ${JSON.stringify(counts)} ${executedEvents.length} executed, ${triggerRpc} RPC, ${triggerSeconds.toFixed(1)} s`);

await service.close();
const out = path.join(process.cwd(), "bench", "keeper-orders.json");
await mkdir(path.dirname(out), { recursive: true });
const result = {
  deterministic: {
    network: "hardhat in-process (edr-simulated)",
    blockGasLimit: blockGasLimit.toString(),
    traders: TRADERS,
    keeperBatchSize: 50,
    burst,
    triggers,
  },
  timing: {
    node: process.version,
    setupSeconds,
    burst: burstTiming,
    triggers: triggerTiming,
    totalSeconds: (Date.now() - started) / 1000,
  },
};
await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
log(`wrote ${out}`);
