/**
 * Keeper scale benchmark: `npm run bench:keeper [-- --positions 5000 --node hardhat]` -> bench/keeper.json.
 *
 * Starts its own local node (anvil by default: it mines thousands of setup transactions several times faster than a
 * `hardhat node`), deploys the protocol, lists a third market (SOL-USD, owner = account #0), opens `--positions`
 * positions across the three markets (isolated and cross, long and short, 2x to 40x; keyless impersonated traders,
 * automine off, full blocks), computes with the SDK which units a price shock makes liquidatable, applies it, and
 * runs a fresh keeper once over a request-counting provider. Then it checks on chain that exactly the expected units
 * were liquidated, measures the marginal gas of a batch (on a snapshot that is reverted afterwards) and writes the
 * numbers. Nothing is tuned to the targets: the targets are only compared with what was measured.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import cliProgress from "cli-progress";
import { Command } from "commander";
import { FetchRequest, JsonRpcProvider, Wallet, ZeroAddress, toBeHex } from "ethers";

import {
  LIQUIDATABLE_AT_ANY_PRICE,
  CountingJsonRpcProvider,
  PerpClient,
  crossMarketIds,
  isLiquidatable,
  liquidationEvents,
  liquidationPrice,
  valueCross,
  valueIsolated,
  type AccountSnapshot,
  type Deployment,
  type MarketInfo,
  type PositionData,
  type RpcStats,
} from "@perp/sdk";
import { runDeploy, startLocalNode, startNode, stopNode, waitForNode, type Node } from "../../lib/nodes.js";
import {
  ChainlinkPriceFeed__factory,
  MockAggregator__factory,
  PerpEngine__factory,
  PerpLens__factory,
} from "@perp/sdk/contracts";
import { ETH_USD_PARAMS, wad } from "../../../ignition/lib/perp.js";
import { Keeper, type RunSummary } from "../keeper.js";
import { devWallet, prng } from "../../lib/dev.js";
import { PROJECT_ROOT } from "../../lib/keystore.js";
import { createLogger } from "../logger.js";
import { mergeSizes, type RunResult } from "./results.js";
import {
  inChunks,
  indexPrices,
  lpDeposit,
  prepareAccounts,
  sendWave,
  setPrice,
  traderAddress,
  traderTxs,
  type PlannedPosition,
  type TraderPlan,
} from "./scenario.js";


/** A `RunSummary` as `summaryJson` prints it, read back (only what the bench uses). */
interface PrintedSummary {
  readonly scanSeconds: number;
  readonly scanRpc?: RpcStats;
  readonly positionsScanned: number;
  readonly scan?: { readonly flagged: number };
  readonly liquidatableFound: number;
  readonly liquidated: number;
  readonly positionsClosed: number;
  readonly failed: number;
  readonly transactions: number;
  readonly gasUsed: string | bigint;
  readonly transactionHashes: readonly string[];
  readonly errors: readonly string[];
  readonly skippedUnprofitable?: number;
  readonly scanMs?: { readonly index: number; readonly health: number; readonly evaluate: number };
  readonly liquidationMs?: { readonly prepare: number; readonly send: number; readonly receipts: number };
}

const KEEPER_MAIN = path.join(PROJECT_ROOT, "scripts", "keeper", "main.ts");

/**
 * The keeper CLI once (`--once --no-orders`), as a new process under `/usr/bin/time` for its peak memory. Spawned,
 * not `spawnSync`: the bench's event loop must keep draining the node's output, or the node stalls.
 */
async function freshKeeper(url: string, deploymentFile: string, key: string): Promise<{ summary: PrintedSummary; seconds: number; maxRssMb: number | null }> {
  const args = ["-f", "maxrss-kb=%M", process.execPath, "--import", "tsx", KEEPER_MAIN, "--rpc", url, "--deployment", deploymentFile];
  args.push("--once", "--no-orders", "--log-level", "warn", "--poll-ms", "200");
  const started = performance.now();
  const child = spawn("/usr/bin/time", args, { cwd: PROJECT_ROOT, env: { ...process.env, PRIVATE_KEY: key }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const seconds = (performance.now() - started) / 1000;
  const line = stdout.trim().split("\n").at(-1) ?? "";
  let summary: PrintedSummary;
  try {
    summary = JSON.parse(line) as PrintedSummary;
  } catch {
    throw new Error(`the keeper process (exit ${code}) printed no summary:\n${stderr.slice(-4000)}`);
  }
  const rss = /maxrss-kb=(\d+)/.exec(stderr);
  return { summary, seconds, maxRssMb: rss ? Math.round(Number(rss[1]) / 1024) : null };
}

/** A `Keeper` in this process, once, over a request-counting provider. */
async function warmKeeper(url: string, deployment: Deployment, key: string): Promise<{ summary: PrintedSummary; seconds: number; maxRssMb: null }> {
  const keeperProvider = new CountingJsonRpcProvider(url, 31337, { staticNetwork: true, cacheTimeout: -1, timeoutMs: 30_000 });
  try {
    const client = await PerpClient.connect({ runner: new Wallet(key, keeperProvider), deployment });
    const keeper = await Keeper.create({ client, logger: createLogger("warn"), rpcStats: () => keeperProvider.stats, pollMs: 200 });
    const started = performance.now();
    const summary: RunSummary = await keeper.runOnce();
    return { summary, seconds: (performance.now() - started) / 1000, maxRssMb: null };
  } finally {
    keeperProvider.destroy();
  }
}

/** The three keepers: a new process, a new `Keeper` in this process, a `Keeper` that was running before the move. */
const MODES = ["fresh", "warm", "running"] as const;

/**
 * A `Keeper` in this process that runs once before the price move (index built from the deployment block, every
 * position scanned, nothing liquidatable) and is measured on its next run, after the move: what an operator's
 * keeper, polling every block, does when the price moves.
 */
class RunningKeeper {
  private constructor(
    private readonly provider: CountingJsonRpcProvider,
    private readonly keeper: Keeper,
  ) {}

  static async start(url: string, deployment: Deployment, key: string): Promise<RunningKeeper> {
    const provider = new CountingJsonRpcProvider(url, 31337, { staticNetwork: true, cacheTimeout: -1, timeoutMs: 30_000 });
    const client = await PerpClient.connect({ runner: new Wallet(key, provider), deployment });
    const keeper = await Keeper.create({ client, logger: createLogger("warn"), rpcStats: () => provider.stats, pollMs: 200 });
    return new RunningKeeper(provider, keeper);
  }

  /** The run before the move: must find nothing to liquidate. */
  readonly runBefore = async (): Promise<void> => {
    const before = await this.keeper.runOnce();
    if (before.liquidatableFound !== 0 || before.transactions !== 0) throw new Error(`the running keeper found ${before.liquidatableFound} units before the price move`);
  };

  async run(): Promise<{ summary: PrintedSummary; seconds: number; maxRssMb: null }> {
    try {
      const started = performance.now();
      const summary: RunSummary = await this.keeper.runOnce();
      return { summary, seconds: (performance.now() - started) / 1000, maxRssMb: null };
    } finally {
      this.destroy();
    }
  }

  destroy(): void {
    this.provider.destroy();
  }
}

/** Positions the shock made liquidatable and still open, and positions it did not that changed. */
function compareBooks(
  book: ReadonlyMap<string, AccountSnapshot>,
  after: ReadonlyMap<string, AccountSnapshot>,
  expected: ReadonlyMap<string, Unit>,
): { missed: number; wronglyTouched: number } {
  let missed = 0;
  let wronglyTouched = 0;
  for (const [trader, account] of book) {
    const now = after.get(trader)!;
    for (const [marketId, pos] of account.positions) {
      const cross = ((account.crossMarkets >> BigInt(marketId)) & 1n) === 1n;
      const shouldClose = expected.has(unitKey(trader, cross ? "cross" : marketId));
      if (shouldClose && now.positions.has(marketId)) missed += 1;
      if (!shouldClose && now.positions.get(marketId)?.size !== pos.size) wronglyTouched += 1;
    }
  }
  return { missed, wronglyTouched };
}

function median(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1 ? xs[mid] : round((xs[mid - 1] + xs[mid]) / 2);
}

/** SOL-USD: ETH-USD's risk settings; skew scale and caps in SOL, the same cap / skew-scale ratio (0.5 %). */
const SOL_USD_PARAMS = {
  ...ETH_USD_PARAMS,
  skewScale: wad("20000000"),
  maxLongOpenInterest: wad("100000"),
  maxShortOpenInterest: wad("100000"),
};
const START_PRICES = ["2000", "60000", "150"] as const;
/** The shock: ETH -7 %, BTC -5 %, SOL +6 %. */
const SHOCK = ["1860", "57000", "159"] as const;
const LEVERAGES = [2, 3, 5, 8, 10, 15, 20, 25, 30, 40];

/** Traders with 1 to 4 positions each (distinct markets), until `count` positions are planned. */
function planTraders(count: number, seed: number): TraderPlan[] {
  const rand = prng(seed);
  // Keep the open interest within the caps whatever the count: margins scale down above 2,000 positions.
  const scale = Math.min(1, 2000 / count);
  const plans: TraderPlan[] = [];
  let planned = 0;
  for (let i = 0; planned < count; i++) {
    const n = Math.min(count - planned, rand.int(1, 4));
    const markets = [0, 1, 2].sort(() => rand.next() - 0.5);
    const positions: PlannedPosition[] = [];
    for (let k = 0; k < Math.min(n, 3); k++) {
      positions.push({
        marketId: markets[k],
        side: rand.next() < 0.55 ? "long" : "short",
        isolated: rand.next() < 0.5,
        marginUsd: Math.max(50, Math.round(rand.int(100, 1500) * scale)),
        leverage: LEVERAGES[rand.int(0, LEVERAGES.length - 1)],
      });
    }
    planned += positions.length;
    plans.push({ address: traderAddress("bench-trader", i), positions });
  }
  return plans;
}

interface Unit {
  readonly trader: string;
  readonly marketId: number;
  readonly isolated: boolean;
  readonly positions: number;
}

const unitKey = (trader: string, marketId: number | "cross") => `${trader.toLowerCase()}:${marketId}`;

/** Reads every planned (trader, market) pair and each trader's account, at `blockTag`. */
async function readBook(
  provider: JsonRpcProvider,
  deployment: Deployment,
  plans: readonly TraderPlan[],
  blockTag: number,
): Promise<Map<string, AccountSnapshot>> {
  const lens = PerpLens__factory.connect(deployment.contracts.PerpLens, provider);
  const engine = PerpEngine__factory.connect(deployment.contracts.PerpEngine, provider);
  const pairs = plans.flatMap((plan) => plan.positions.map((p) => ({ trader: plan.address, marketId: p.marketId })));
  const views = (
    await inChunks(
      Array.from({ length: Math.ceil(pairs.length / 200) }, (_, i) => pairs.slice(i * 200, i * 200 + 200)),
      (batch) =>
        lens.positions(
          batch.map((p) => p.trader),
          batch.map((p) => BigInt(p.marketId)),
          { blockTag },
        ),
    )
  ).flat();
  const accounts = await inChunks(plans, (plan) => engine.getAccount(plan.address, { blockTag }));
  // Grouped by trader first: matching every view against every plan is quadratic (45M comparisons at 10,000).
  const byTrader = new Map<string, Map<number, PositionData>>();
  for (const view of views) {
    if (view.position.size === 0n) continue;
    const key = view.trader.toLowerCase();
    const positions = byTrader.get(key) ?? new Map<number, PositionData>();
    const { size, entryPrice, lastFundingIndex, margin } = view.position;
    positions.set(Number(view.marketId), { size, entryPrice, lastFundingIndex, margin });
    byTrader.set(key, positions);
  }
  const book = new Map<string, AccountSnapshot>();
  plans.forEach((plan, i) => {
    const positions = byTrader.get(plan.address.toLowerCase()) ?? new Map<number, PositionData>();
    book.set(plan.address.toLowerCase(), { crossBalance: accounts[i][0], crossMarkets: accounts[i][1], positions });
  });
  return book;
}

/** The liquidatable units of a book at the markets' prices and time `now`, valued with the SDK. */
function liquidatableByValuation(
  book: ReadonlyMap<string, AccountSnapshot>,
  markets: ReadonlyMap<number, MarketInfo>,
  now: bigint,
  keeperRewardMin: bigint,
): Map<string, Unit> {
  const units = new Map<string, Unit>();
  for (const [trader, account] of book) {
    let crossCount = 0;
    for (const [marketId, pos] of account.positions) {
      const cross = ((account.crossMarkets >> BigInt(marketId)) & 1n) === 1n;
      if (cross) {
        crossCount += 1;
        continue;
      }
      const market = markets.get(marketId)!;
      if (isLiquidatable(valueIsolated(pos, market, market.price, now, keeperRewardMin))) {
        units.set(unitKey(trader, marketId), { trader, marketId, isolated: true, positions: 1 });
      }
    }
    if (crossCount > 0 && isLiquidatable(valueCross(account, markets, now, keeperRewardMin))) {
      const [first] = crossMarketIds(account.crossMarkets);
      units.set(unitKey(trader, "cross"), { trader, marketId: first, isolated: false, positions: crossCount });
    }
  }
  return units;
}

async function gasUsed(provider: JsonRpcProvider, deployment: Deployment, from: string, units: readonly Unit[]): Promise<{ used: bigint; estimate: bigint }> {
  const engine = PerpEngine__factory.connect(deployment.contracts.PerpEngine, await provider.getSigner(from));
  const args = [units.map((u) => u.trader), units.map((u) => BigInt(u.marketId))] as const;
  const estimate = await engine.liquidateMany.estimateGas(...args, []);
  // Twice the estimate: anvil's estimate of a large batch was once found short (the gas used is what it is).
  const receipt = await (await engine.liquidateMany(...args, [], { gasLimit: estimate * 2n })).wait();
  if (!receipt || receipt.status !== 1) throw new Error("probe liquidation failed");
  const liquidated = liquidationEvents(receipt, deployment).length;
  if (liquidated !== units.length) throw new Error(`probe batch liquidated ${liquidated} of ${units.length}`);
  return { used: receipt.gasUsed, estimate };
}

async function main(): Promise<void> {
  const program = new Command()
    .name("bench:keeper")
    .option("--positions <n>", "positions to open", "2000")
    .option("--node <kind>", "anvil or hardhat", "anvil")
    .option("--seed <n>", "seed of the position plan", "1")
    .option("--out <file>", "result file (this size's entry is replaced, the others kept)", path.join(PROJECT_ROOT, "bench", "keeper.json"))
    .option("--runs <n>", "keeper runs on the shocked book, each a fresh process and a warm one (default 3 up to 10,000 positions, else 1)")
    .option("--port <n>", "the node's port (default: any free one)")
    // 300M-gas set-up blocks made anvil stall at 20,000 positions (its pool empty, the node busy, the connection reset
    // after two minutes); 30M blocks with the base fee held set up 20,000 in about 3 minutes.
    .option("--setup-block-gas <n>", "block gas limit of the set-up's blocks only (the measured phase has the chain's 30M)", "30000000")
    .option("--hold <file>", "after the shock, write the node's URL, the deployment file and a snapshot id to <file> and keep the node until SIGINT (for keeper runs by hand; nothing is measured)")
    .parse();
  const options = program.opts<{ positions: string; node: string; seed: string; out: string; runs?: string; port?: string; hold?: string; setupBlockGas: string }>();
  // A malformed option is the caller's mistake: one line on stderr and exit code 2, no stack.
  const usage: (message: string) => never = (message) => program.error(`error: ${message}`, { exitCode: 2 });
  const count = Number(options.positions);
  if (!Number.isInteger(count) || count < 10) usage("--positions must be an integer >= 10");
  if (options.node !== "anvil" && options.node !== "hardhat") usage("--node must be anvil or hardhat");
  const kind = options.node;
  const runsWanted = options.runs === undefined ? (count <= 10_000 ? 3 : 1) : Number(options.runs);
  if (!Number.isInteger(runsWanted) || runsWanted < 1) usage("--runs must be a positive integer");
  const setupBlockGas = Number(options.setupBlockGas);
  if (!Number.isSafeInteger(setupBlockGas) || setupBlockGas < 30_000_000) usage("--setup-block-gas must be an integer of at least 30,000,000");
  const log = (message: string) => process.stderr.write(`${message}\n`);

  const started = performance.now();
  let node: Node | undefined;
  const tmp = await mkdtemp(path.join(os.tmpdir(), "perp-bench-keeper-"));
  try {
    log(`starting ${kind} ...`);
    node = options.port === undefined ? await startLocalNode(kind) : startNode(kind, Number(options.port));
    if (options.port !== undefined) await waitForNode(node);
    const url = node.url;
    const deployRun = await runDeploy(node.url, {
      // The liquidation benchmark's world: v1's Chainlink-priced engine (the local default is PerpPythLocal).
      PERP_MODULE: "PerpLocal",
      PERP_DEPLOYMENTS_DIR: path.join(tmp, "deployments"),
      PERP_IGNITION_DEPLOYMENTS_DIR: path.join(tmp, "ignition"),
    });
    if (deployRun.code !== 0) throw new Error(`deployment failed:\n${deployRun.output}`);
    const base = JSON.parse(await readFile(path.join(tmp, "deployments", "localhost.json"), "utf8")) as Deployment;
    // The set-up's requests may wait behind thousands of others on the node: ten minutes each, not ethers' five.
    const setupRequest = new FetchRequest(node.url);
    setupRequest.timeout = 600_000;
    const provider = new JsonRpcProvider(setupRequest, 31337, { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 100 });
    const accounts = (await provider.send("eth_accounts", [])) as string[];
    const owner = await provider.getSigner(accounts[0]);

    // ------------------------------------------------------------------ third market
    const aggregator = await new MockAggregator__factory(owner).deploy(8, "SOL / USD", 150n * 10n ** 8n);
    const feed = await new ChainlinkPriceFeed__factory(owner).deploy(aggregator, 86_400n, 0n, 10n ** 16n, ZeroAddress, 3_600n);
    const engine = PerpEngine__factory.connect(base.contracts.PerpEngine, owner);
    await (await engine.listMarket(feed, SOL_USD_PARAMS)).wait();
    const deployment: Deployment = {
      ...base,
      markets: [
        ...base.markets,
        { id: 2, symbol: "SOL-USD", priceFeed: await feed.getAddress(), aggregator: await aggregator.getAddress() },
      ],
    };
    const deploymentFile = path.join(tmp, "deployments", "bench.json");
    await writeFile(deploymentFile, JSON.stringify(deployment, null, 2));

    // ------------------------------------------------------------------ positions
    const plans = planTraders(count, Number(options.seed));
    const planned = plans.reduce((n, plan) => n + plan.positions.length, 0);
    const lp = traderAddress("bench-lp", 0);
    // The base fee before the set-up: the set-up's thousands of full blocks push it up (EIP-1559, +12.5 % a full
    // block: 58 gwei after the 10,000-position set-up), which no chain would show at the moment of a price move.
    const beforeSetup = (await provider.getBlock("latest"))!;
    const baseFeeBeforeSetup = beforeSetup.baseFeePerGas ?? 0n;
    // For the set-up only, blocks of --setup-block-gas (the 50,000-position set-up is ~117,000 transactions: ~800
    // blocks of 30M), the base fee held at its value before the set-up; the chain's own limit back before the move.
    await provider.send("evm_setBlockGasLimit", [toBeHex(setupBlockGas)]);
    const setupStarted = performance.now();
    await prepareAccounts(provider, [lp, ...plans.map((p) => p.address)], 10n ** 21n);
    const nonces = new Map<string, number>();
    await lpDeposit(provider, deployment, lp, 40_000_000, nonces);
    const prices = await indexPrices(provider, deployment);
    const txs = plans.flatMap((plan) => traderTxs(deployment, plan, prices));
    log(`opening ${planned} positions for ${plans.length} traders (${txs.length} transactions, automine off, in rounds of one per trader) ...`);
    const bar = new cliProgress.SingleBar(
      // Without a terminal (a log file, CI) a line every 10 s instead of nothing.
      { format: "  setup |{bar}| {value}/{total} transactions mined | {duration}s", stream: process.stderr, noTTYOutput: true, notTTYSchedule: 10_000 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(txs.length, 0);
    await sendWave(provider, txs, nonces, (mined) => bar.update(mined), { baseFeePerGas: baseFeeBeforeSetup });
    bar.stop();
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    await provider.send("evm_setBlockGasLimit", [toBeHex(beforeSetup.gasLimit)]);
    await provider.send("evm_mine", []);
    const setupBlocks = (await provider.getBlockNumber()) - beforeSetup.number;
    if ((await provider.getBlock("latest"))!.gasLimit !== beforeSetup.gasLimit) throw new Error("the block gas limit was not restored after the set-up");

    // ------------------------------------------------------------------ expectations (SDK)
    const reader = await PerpClient.connect({ runner: provider, deployment });
    const protocol = await reader.protocolParams();
    const preBlock = await provider.getBlock("latest");
    const preMarkets = new Map((await reader.markets(preBlock!.number)).map((mk) => [mk.id, mk]));
    const preBook = await readBook(provider, deployment, plans, preBlock!.number);
    const open = [...preBook.values()].reduce((n, a) => n + a.positions.size, 0);
    if (open !== planned) throw new Error(`${open} positions open, ${planned} planned`);
    const alreadyLiquidatable = liquidatableByValuation(preBook, preMarkets, BigInt(preBlock!.timestamp), protocol.keeperRewardMin);
    if (alreadyLiquidatable.size !== 0) throw new Error(`${alreadyLiquidatable.size} units are liquidatable before the shock`);
    // Liquidation prices before the shock (other markets fixed, exact to one oracle unit).
    const liqPrices = new Map<string, bigint>();
    for (const [trader, account] of preBook) {
      for (const marketId of account.positions.keys()) {
        liqPrices.set(unitKey(trader, marketId), liquidationPrice(account, preMarkets, marketId, BigInt(preBlock!.timestamp), protocol.keeperRewardMin));
      }
    }

    // Back to the base fee of before the set-up for the price move: the next block's base fee set, as a quiet chain
    // would have it (the keeper's profitability rule is unchanged; it prices gas at what the node quotes).
    const baseFeeAfterSetup = (await provider.getBlock("latest"))!.baseFeePerGas ?? 0n;
    // The state before the price move, kept: every keeper run starts from it and replays the same move (the same
    // three transactions at the same timestamps and base fee: the same blocks, checked by their state root), so that
    // a keeper can be running already when the price moves.
    let preShock = (await provider.send("evm_snapshot", [])) as string;
    const shockTime = (await provider.getBlock("latest"))!.timestamp + 1;
    const applyShock = async () => {
      await provider.send(kind === "anvil" ? "anvil_setNextBlockBaseFeePerGas" : "hardhat_setNextBlockBaseFeePerGas", [toBeHex(baseFeeBeforeSetup)]);
      for (let id = 0; id < 3; id++) {
        await provider.send("evm_setNextBlockTimestamp", [shockTime + id]);
        await setPrice(provider, deployment, id, SHOCK[id], accounts[0]);
      }
      return (await provider.getBlock("latest"))!;
    };
    log("price shock: ETH -7 %, BTC -5 %, SOL +6 % ...");
    const shockBlock = await applyShock();
    const stateRoot = async (block: number) =>
      ((await provider.send("eth_getBlockByNumber", [toBeHex(block), false])) as { stateRoot: string }).stateRoot;
    const shockRoot = await stateRoot(shockBlock.number);
    const shockMarkets = new Map((await reader.markets(shockBlock.number)).map((mk) => [mk.id, mk]));
    const book = await readBook(provider, deployment, plans, shockBlock.number);
    const expected = liquidatableByValuation(book, shockMarkets, BigInt(shockBlock.timestamp), protocol.keeperRewardMin);
    // The same prediction from the liquidation prices, where one applies: isolated positions and single-market cross
    // accounts (a price crossing its liquidation price with the other markets fixed).
    let predictable = 0;
    let predictionMismatches = 0;
    for (const [trader, account] of preBook) {
      const crossIds = [...account.positions.keys()].filter((id) => ((account.crossMarkets >> BigInt(id)) & 1n) === 1n);
      for (const [marketId, pos] of account.positions) {
        const cross = crossIds.includes(marketId);
        if (cross && crossIds.length > 1) continue;
        predictable += 1;
        const liq = liqPrices.get(unitKey(trader, marketId))!;
        const price = shockMarkets.get(marketId)!.price;
        const predicted = liq === LIQUIDATABLE_AT_ANY_PRICE || (pos.size > 0n ? price <= liq : price >= liq);
        if (predicted !== expected.has(unitKey(trader, cross ? "cross" : marketId))) predictionMismatches += 1;
      }
    }
    const expectedPositions = [...expected.values()].reduce((n, u) => n + u.positions, 0);
    log(`expected: ${expected.size} liquidatable units (${expectedPositions} positions); liquidation-price prediction disagrees on ${predictionMismatches} of ${predictable}`);

    // ------------------------------------------------------------------ marginal gas probe (reverted)
    const snapshot = (await provider.send("evm_snapshot", [])) as string;
    const prober = accounts[2];
    const expectedList = [...expected.values()];
    const iso = expectedList.filter((u) => u.isolated);
    const cross = expectedList.filter((u) => !u.isolated);
    const probe = async (units: readonly Unit[]) => {
      const k = Math.min(100, units.length);
      if (k < 2) return undefined;
      const one = await gasUsed(provider, deployment, prober, units.slice(0, 1));
      const batch = await gasUsed(provider, deployment, prober, units.slice(1, k));
      const positionsInBatch = units.slice(1, k).reduce((n, u) => n + u.positions, 0);
      return {
        batchOf1: Number(one.used),
        [`batchOf${k - 1}`]: Number(batch.used),
        // The node's gas estimate of that batch (the least limit it succeeds with) over its gas used: what a
        // transaction's limit must exceed its cost by (refunds, nested calls' 1/64).
        [`estimateOverUsedBatchOf${k - 1}`]: Math.round((Number(batch.estimate) / Number(batch.used)) * 1000) / 1000,
        marginalPerUnit: Math.round(Number(batch.used - one.used) / (k - 2)),
        marginalPerPosition: Math.round(Number(batch.used - one.used) / (positionsInBatch - units[0].positions)),
      };
    };
    const marginal = { isolated: await probe(iso), cross: await probe(cross) };
    if (!(await provider.send("evm_revert", [snapshot]))) throw new Error("evm_revert failed");
    /** Back to the state before the price move (kept for the next time), then the move replayed. */
    const replayShock = async (beforeMove?: () => Promise<void>) => {
      if (!(await provider.send("evm_revert", [preShock]))) throw new Error("evm_revert failed");
      preShock = (await provider.send("evm_snapshot", [])) as string;
      await beforeMove?.();
      const again = await applyShock();
      const root = await stateRoot(again.number);
      if (again.number !== shockBlock.number || again.timestamp !== shockBlock.timestamp || root !== shockRoot) {
        throw new Error(`the replayed price move is block ${again.number} (state ${root}), not ${shockBlock.number} (state ${shockRoot})`);
      }
    };

    // ------------------------------------------------------------------ the keeper, `runs` times on the same book
    // Each run starts from the shocked book (snapshot, revert): first a fresh keeper process (cold: its own node
    // start-up, module load and JIT, as an operator runs it), then a keeper in this process (warm: the bench already
    // ran the same SDK code). Blocks are mined every second from the shock on, as on a chain, so that the
    // liquidation latency is counted in blocks.
    if (options.hold !== undefined) {
      await replayShock();
      const snapshotId = (await provider.send("evm_snapshot", [])) as string;
      const info = { url, deploymentFile, snapshot: snapshotId, shockBlock: shockBlock.number, expectedUnits: expected.size, keeperKey: devWallet(1).privateKey };
      await writeFile(options.hold, `${JSON.stringify(info, null, 2)}\n`);
      log(`holding the node: ${options.hold} (SIGINT ends)`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      return;
    }
    const runs: RunResult[] = [];
    for (let run = 1; run <= runsWanted; run++) {
      for (const mode of MODES) {
        log(`run ${run}/${runsWanted}: ${mode} keeper ...`);
        const load = os.loadavg()[0];
        const keeperKey = devWallet(1).privateKey;
        // A running keeper has built its index and scanned the book before the price moves (nothing to do then).
        const running = mode === "running" ? await RunningKeeper.start(url, deployment, keeperKey) : undefined;
        try {
          await replayShock(running?.runBefore);
        } catch (error) {
          running?.destroy();
          throw error;
        }
        await provider.send("evm_setAutomine", [false]);
        await provider.send("evm_setIntervalMining", [1]);
        const outcome =
          mode === "fresh"
            ? await freshKeeper(url, deploymentFile, keeperKey)
            : mode === "warm"
              ? await warmKeeper(url, deployment, keeperKey)
              : await running!.run();
        await provider.send("evm_setIntervalMining", [0]);
        await provider.send("evm_setAutomine", [true]);
        const blocks = await inChunks(outcome.summary.transactionHashes, (hash) => provider.getTransactionReceipt(hash));
        const lastBlock = Math.max(shockBlock.number, ...blocks.map((r) => r?.blockNumber ?? 0));
        // Where the blocks went: each block after the shock, its gas and the keeper's transactions in it.
        const mined = await Promise.all(
          Array.from({ length: lastBlock - shockBlock.number }, (_, i) => provider.getBlock(shockBlock.number + 1 + i)),
        );
        const perBlock = mined.map((b) => {
          const mine = blocks.filter((r) => r?.blockNumber === b!.number);
          return {
            block: b!.number - shockBlock.number,
            gasUsed: Number(b!.gasUsed),
            liquidations: mine.length,
            baseFeeGwei: Number(b!.baseFeePerGas ?? 0n) / 1e9,
          };
        });
        const phases = outcome.summary.liquidationMs;
        const keeperMs = Math.round(outcome.summary.scanSeconds * 1000) + (phases ? phases.prepare + phases.send + phases.receipts : 0);
        const after = await readBook(provider, deployment, plans, await provider.getBlockNumber());
        const check = compareBooks(book, after, expected);
        runs.push({
          run,
          mode,
          scanSeconds: round(outcome.summary.scanSeconds),
          scanRpcCalls: outcome.summary.scanRpc?.calls ?? -1,
          scanHttpRequests: outcome.summary.scanRpc?.httpRequests ?? -1,
          positionsScanned: outcome.summary.positionsScanned,
          flagged: outcome.summary.scan?.flagged ?? -1,
          liquidatableFound: outcome.summary.liquidatableFound,
          liquidated: outcome.summary.liquidated,
          positionsClosed: outcome.summary.positionsClosed,
          failed: outcome.summary.failed,
          transactions: outcome.summary.transactions,
          gasUsed: outcome.summary.gasUsed.toString(),
          blocksAfterPriceMove: lastBlock - shockBlock.number,
          secondsUntilLastLiquidationMined: round(outcome.seconds),
          keeperMaxRssMb: outcome.maxRssMb,
          missed: check.missed,
          wronglyTouched: check.wronglyTouched,
          allLiquidated: outcome.summary.liquidated === expected.size && check.missed === 0 && check.wronglyTouched === 0,
          errors: outcome.summary.errors.slice(0, 5),
          skippedUnprofitable: outcome.summary.skippedUnprofitable ?? 0,
          // From the mining start to the keeper's pass (process start-up, module load, connect), then its phases.
          ms: {
            beforePass: Math.max(0, Math.round(outcome.seconds * 1000) - keeperMs),
            index: outcome.summary.scanMs?.index ?? null,
            health: outcome.summary.scanMs?.health ?? null,
            evaluate: outcome.summary.scanMs?.evaluate ?? null,
            prepare: phases?.prepare ?? null,
            send: phases?.send ?? null,
            receipts: phases?.receipts ?? null,
          },
          blocks: perBlock,
          loadAverage1m: round(load),
        });
        log(`  scan ${round(outcome.summary.scanSeconds)} s, ${outcome.summary.scanRpc?.calls} calls, liquidated ${outcome.summary.liquidated} of ${expected.size}, ${lastBlock - shockBlock.number} blocks, ${outcome.maxRssMb} MB`);
        log(`  ms ${JSON.stringify(runs.at(-1)!.ms)}; blocks ${perBlock.map((b) => `${b.liquidations}tx/${(b.gasUsed / 1e6).toFixed(1)}M`).join(" ")}`);
      }
    }

    const fresh = runs.filter((r) => r.mode === "fresh");
    const warm = runs.filter((r) => r.mode === "warm");
    const runningRuns = runs.filter((r) => r.mode === "running");
    const marginalPerPosition = Math.max(marginal.isolated?.marginalPerPosition ?? 0, marginal.cross?.marginalPerPosition ?? 0);
    const result = {
      positions: planned,
      seed: Number(options.seed),
      markets: deployment.markets.map((mk, i) => ({ id: mk.id, symbol: mk.symbol, price: START_PRICES[i], shockedTo: SHOCK[i] })),
      book: {
        positions: planned,
        traders: plans.length,
        isolated: plans.reduce((n, p) => n + p.positions.filter((x) => x.isolated).length, 0),
        cross: plans.reduce((n, p) => n + p.positions.filter((x) => !x.isolated).length, 0),
        setupTransactions: txs.length,
        setupSeconds: round(setupSeconds),
        setupBlocks,
        setupBlockGasLimit: setupBlockGas,
      },
      // Base fee (gwei) before the set-up, after it, and in the block of the price move (set back before it).
      blockGasLimitAtPriceMove: Number(shockBlock.gasLimit),
      baseFeeGwei: {
        beforeSetup: Number(baseFeeBeforeSetup) / 1e9,
        afterSetup: Number(baseFeeAfterSetup) / 1e9,
        atPriceMove: Number(shockBlock.baseFeePerGas ?? 0n) / 1e9,
      },
      expected: {
        liquidatableUnits: expected.size,
        liquidatablePositions: expectedPositions,
        isolatedUnits: iso.length,
        crossUnits: cross.length,
        liquidationPricePredictions: predictable,
        liquidationPricePredictionMismatches: predictionMismatches,
      },
      median: {
        scanSecondsFresh: median(fresh.map((r) => r.scanSeconds)),
        scanSecondsWarm: median(warm.map((r) => r.scanSeconds)),
        scanSecondsRunning: median(runningRuns.map((r) => r.scanSeconds)),
        scanRpcCalls: median(runs.map((r) => r.scanRpcCalls)),
        keeperMaxRssMbFresh: median(fresh.map((r) => r.keeperMaxRssMb)),
        blocksAfterPriceMove: median(runs.map((r) => r.blocksAfterPriceMove)),
        blocksAfterPriceMoveRunning: median(runningRuns.map((r) => r.blocksAfterPriceMove)),
        secondsUntilLastLiquidationMined: median(runs.map((r) => r.secondsUntilLastLiquidationMined)),
      },
      liquidatedPerRun: runs.map((r) => `${r.mode} ${r.liquidated}/${expected.size}`),
      everyRunLiquidatedAll: runs.every((r) => r.allLiquidated),
      runs,
      marginalGas: marginal,
      marginalGasPerPosition: marginalPerPosition,
      totalSeconds: round((performance.now() - started) / 1000),
    };
    await mergeSizes(options.out, kind, { [String(count)]: result });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${path.relative(process.cwd(), options.out)}`);
    provider.destroy();
  } finally {
    await stopNode(node);
    await rm(tmp, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:keeper: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
