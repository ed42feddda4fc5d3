/**
 * The liquidation keeper (scripts/keeper/) end to end, against a Hardhat node (served from this process, test/helpers/node.ts) and `anvil` (its own process), the
 * protocol deployed by the deploy script's body in this process (test/helpers/deploy.ts): 27 traders open
 * 33 positions (long and short, isolated and cross, one- and two-market cross accounts, 2x to 40x), ETH drops 10 % and
 * BTC rises 5 %, which makes exactly 12 units (14 positions) liquidatable; the keeper must liquidate those and only
 * those. Then: two keepers racing, a restarted keeper, unprofitable batches, RPC failures, bad configuration.
 *
 * Every chain reads at a block is checked on chain; synchronisation with child processes is by polling with a
 * deadline. Keys are derived at runtime from the development mnemonic and only passed through the environment.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

import { expect } from "chai";
import { JsonRpcProvider, Wallet, isError, makeError, toBeHex } from "ethers";

import {
  closeValue,
  deleverageCandidates,
  deleverageCheck,
  deleverageFill,
  CROSS,
  CountingJsonRpcProvider,
  PerpClient,
  PerpTransportError,
  decodePositionViews,
  isNonceError,
  isTransientError,
  readHealth,
  rpcStatsSince,
  withRetry,
  type Deployment,
} from "@perp/sdk";
import { ConfigurationError } from "@perp/sdk/node";
import { runKeeperCli as runKeeper } from "../scripts/keeper/cli.js";
import { parseConfig, redactUrl } from "../scripts/keeper/config.js";
import { Keeper, type KeeperOptions, type RunSummary, type ScanReport } from "../scripts/keeper/keeper.js";
import { ChainIndex } from "@perp/sdk/keeper";
import { devWallet } from "../scripts/lib/dev.js";
// The benchmark's scenario builders, shared: the test plays a small book of the same shape.
import * as scenario from "../scripts/keeper/bench/scenario.js";
import { HARDHAT_CLI, ROOT, freePort, rpc, startLocalNode, stopNode } from "../scripts/lib/nodes.js";
import { startTestNode, type TestNode } from "./helpers/node.js";
import { KeystoreError, readKeystoreValue } from "../scripts/lib/keystore.js";
import { deployInProcess } from "./helpers/deploy.js";
import { captureLogger } from "./helpers/logs.js";
import { PerpEngine__factory, PerpLens__factory, type PerpEngine } from "@perp/sdk/contracts";
import { Writable } from "node:stream";
import { createLogger, prettyLine } from "../scripts/keeper/logger.js";
import { KeeperMetrics, startOpsServer } from "../scripts/keeper/metrics.js";

const ROOT_ADDRESS = "0x0000000000000000000000000000000000000001";
const TSX = pathToFileURL(
  path.join(path.dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist", "loader.mjs"),
).href;
/** Development accounts the keepers use (anvil funds only #0-#9: the others get ETH in `before`). */
const KEEPER_ACCOUNTS = [5, 6, 7, 8, 9, 10, 11, 12, 13];
/** One keeper process: start-up (tsx, ethers, bindings) plus a run; generous for a loaded CI machine. */
const CLI_TIMEOUT_MS = 30_000;

/** Private key of development account `i`, derived at runtime (never written anywhere). */
function devKey(i: number): string {
  return devWallet(i).privateKey;
}

// ============================================================================================== the scenario

type Expect = number | "cross";
interface Trader extends scenario.TraderPlan {
  readonly name: string;
  /** Units the shock makes liquidatable: an isolated position's market id, or "cross" for the cross account. */
  readonly liquidatable: readonly Expect[];
}

const iso = (marketId: number, side: "long" | "short", leverage: number, marginUsd = 1000): scenario.PlannedPosition => ({
  marketId,
  side,
  isolated: true,
  marginUsd,
  leverage,
});
const cross = (marketId: number, side: "long" | "short", leverage: number, marginUsd = 1000): scenario.PlannedPosition => ({
  marketId,
  side,
  isolated: false,
  marginUsd,
  leverage,
});
const ETH = 0;
const BTC = 1;

/** ETH $2,000 -> $1,800 (-10 %), BTC $60,000 -> $63,000 (+5 %); margins $1,000 per position. */
const DESIGN: readonly { name: string; positions: scenario.PlannedPosition[]; liquidatable: Expect[] }[] = [
  // Isolated ETH longs: liquidation distance about 1/leverage - 1 %; 8x keeps 1.7 % above its liquidation price.
  { name: "isoEthLong2", positions: [iso(ETH, "long", 2)], liquidatable: [] },
  { name: "isoEthLong5", positions: [iso(ETH, "long", 5)], liquidatable: [] },
  { name: "isoEthLong8", positions: [iso(ETH, "long", 8)], liquidatable: [] },
  { name: "isoEthLong12", positions: [iso(ETH, "long", 12)], liquidatable: [ETH] },
  { name: "isoEthLong20", positions: [iso(ETH, "long", 20)], liquidatable: [ETH] },
  { name: "isoEthLong40", positions: [iso(ETH, "long", 40)], liquidatable: [ETH] },
  // Shorts gain when ETH falls.
  { name: "isoEthShort5", positions: [iso(ETH, "short", 5)], liquidatable: [] },
  { name: "isoEthShort20", positions: [iso(ETH, "short", 20)], liquidatable: [] },
  { name: "isoEthShort40", positions: [iso(ETH, "short", 40)], liquidatable: [] },
  // BTC +5 %: longs gain, shorts at 25x and above are past their liquidation price.
  { name: "isoBtcLong10", positions: [iso(BTC, "long", 10)], liquidatable: [] },
  { name: "isoBtcLong40", positions: [iso(BTC, "long", 40)], liquidatable: [] },
  { name: "isoBtcShort5", positions: [iso(BTC, "short", 5)], liquidatable: [] },
  { name: "isoBtcShort10", positions: [iso(BTC, "short", 10)], liquidatable: [] },
  { name: "isoBtcShort25", positions: [iso(BTC, "short", 25)], liquidatable: [BTC] },
  { name: "isoBtcShort40", positions: [iso(BTC, "short", 40)], liquidatable: [BTC] },
  // Cross accounts holding one position.
  { name: "crossEthLong3", positions: [cross(ETH, "long", 3)], liquidatable: [] },
  { name: "crossEthLong7", positions: [cross(ETH, "long", 7)], liquidatable: [] },
  { name: "crossEthLong15", positions: [cross(ETH, "long", 15)], liquidatable: ["cross"] },
  { name: "crossEthLong30", positions: [cross(ETH, "long", 30)], liquidatable: ["cross"] },
  { name: "crossBtcShort8", positions: [cross(BTC, "short", 8)], liquidatable: [] },
  { name: "crossBtcShort30", positions: [cross(BTC, "short", 30)], liquidatable: ["cross"] },
  // Cross accounts over both markets ($2,000 deposited): the account is one unit.
  { name: "crossEthLong10BtcLong10", positions: [cross(ETH, "long", 10), cross(BTC, "long", 10)], liquidatable: [] },
  { name: "crossEthLong20BtcShort10", positions: [cross(ETH, "long", 20), cross(BTC, "short", 10)], liquidatable: ["cross"] },
  { name: "crossEthShort10BtcLong10", positions: [cross(ETH, "short", 10), cross(BTC, "long", 10)], liquidatable: [] },
  // ETH -$3,000, BTC +$1,500: equity about $470 against a maintenance margin of $587.
  { name: "crossEthLong30BtcLong30", positions: [cross(ETH, "long", 30), cross(BTC, "long", 30)], liquidatable: ["cross"] },
  // Isolated positions of one trader are separate units; a cross position beside an isolated one too.
  { name: "isoEthLong20IsoBtcLong10", positions: [iso(ETH, "long", 20), iso(BTC, "long", 10)], liquidatable: [ETH] },
  { name: "crossEthLong5IsoBtcShort40", positions: [cross(ETH, "long", 5), iso(BTC, "short", 40)], liquidatable: [BTC] },
];

const TRADERS: readonly Trader[] = DESIGN.map((d, i) => ({ ...d, address: scenario.traderAddress("keeper-test", i) }));
const POSITIONS = TRADERS.reduce((n, t) => n + t.positions.length, 0);
/** "trader:marketId" of each unit (marketId = CROSS for a cross account), as the `Liquidated` event names it. */
const EXPECTED_UNITS = TRADERS.flatMap((t) =>
  t.liquidatable.map((u) => `${t.address.toLowerCase()}:${u === "cross" ? CROSS : BigInt(u)}`),
).sort();
const EXPECTED_POSITIONS_CLOSED = TRADERS.reduce<number>(
  (n, t) =>
    n +
    t.liquidatable.reduce<number>((k, u) => k + (u === "cross" ? t.positions.filter((p) => !p.isolated).length : 1), 0),
  0,
);

function unitsOf(logs: readonly { args: { trader: string; marketId: bigint } }[]): string[] {
  return logs.map((log) => `${log.args.trader.toLowerCase()}:${log.args.marketId}`).sort();
}

// ============================================================================================== processes

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface KeeperProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<CliResult>;
}

/** The keeper CLI in a child process (`node --import tsx scripts/keeper/main.ts ...`), the real thing end to end. */
function startKeeper(args: readonly string[], env: Record<string, string | undefined>): KeeperProcess {
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, PRIVATE_KEY: undefined, RPC_URL: undefined, PERP_DEPLOYMENTS_DIR: undefined };
  const child = spawn(process.execPath, ["--import", TSX, "scripts/keeper/main.ts", ...args], {
    cwd: ROOT,
    env: { ...baseEnv, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), CLI_TIMEOUT_MS);
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

function runKeeperCli(args: readonly string[], env: Record<string, string | undefined>): Promise<CliResult> {
  return startKeeper(args, env).exited;
}

/**
 * The keeper CLI in this process (`runKeeperCli` of scripts/keeper/cli.ts) with `env` as its whole environment: for
 * configuration errors, refused before the keeper logs or installs signal handlers.
 */
async function keeperCliInProcess(args: readonly string[], env: Record<string, string | undefined>): Promise<CliResult> {
  let stderr = "";
  let stdout = "";
  // What the run writes to this process's stdout is captured (and not shown), as a child's would be.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  try {
    const code = await runKeeper(args, env, (text) => (stderr += text));
    return { code, signal: null, stdout, stderr };
  } finally {
    process.stdout.write = write;
  }
}

/** Polls `condition` every 50 ms until it holds; fails with `what` after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function lastLine(text: string): string {
  return text.trimEnd().split("\n").at(-1) ?? "";
}

/** Every line of the keeper's stderr is a JSON log object, except `keeper: ...` error lines. */
function expectStructuredLogs(stderr: string): Record<string, unknown>[] {
  const lines = stderr.split("\n").filter((line) => line !== "");
  for (const line of lines) expect(line.startsWith("{") || line.startsWith("keeper: "), line).to.equal(true);
  const logs = jsonLines(stderr);
  for (const log of logs) {
    expect(log.service).to.equal("perp-keeper");
    expect(log.level).to.be.a("string");
    expect(log.time).to.match(/^\d{4}-\d\d-\d\dT/);
  }
  return logs;
}

// ============================================================================================== building blocks

describe("keeper building blocks", function () {
  it("withRetry: transient failures retried with doubling delays, at most `attempts` times; others at once", async function () {
    const delays: number[] = [];
    let calls = 0;
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    const error = await withRetry(
      async () => {
        calls += 1;
        throw refused;
      },
      { attempts: 4, baseDelayMs: 5, maxDelayMs: 15, onRetry: ({ delayMs }) => delays.push(delayMs) },
    ).catch((e: unknown) => e);
    expect(calls).to.equal(4);
    expect(delays).to.deep.equal([5, 10, 15]);
    expect(error).to.be.instanceOf(PerpTransportError);
    expect((error as Error).message).to.equal("connect ECONNREFUSED 127.0.0.1:1");

    calls = 0;
    const value = await withRetry(async (attempt) => {
      calls += 1;
      if (attempt < 3) throw makeError("request timeout", "TIMEOUT", { operation: "request", reason: "timeout" });
      return "ok";
    }, { baseDelayMs: 1 });
    expect([value, calls]).to.deep.equal(["ok", 3]);

    calls = 0;
    await withRetry(async () => {
      calls += 1;
      throw new Error("execution reverted");
    }, { baseDelayMs: 1 }).catch(() => undefined);
    expect(calls).to.equal(1);

    // An abort ends the wait at once and throws the last failure.
    const controller = new AbortController();
    const started = Date.now();
    const aborted = withRetry(async () => {
      throw refused;
    }, { baseDelayMs: 60_000, signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(((await aborted) as Error).message).to.equal("connect ECONNREFUSED 127.0.0.1:1");
    expect(Date.now() - started).to.be.below(5_000);
  });

  it("isTransientError and isNonceError classify what the keeper retries", function () {
    const server = (status: string) => makeError(`server response ${status}`, "SERVER_ERROR", { request: "http://x" });
    expect(isTransientError(server("503 Service Unavailable"))).to.equal(true);
    expect(isTransientError(server("429 Too Many Requests"))).to.equal(true);
    expect(isTransientError(server("400 Bad Request"))).to.equal(false);
    expect(isTransientError(makeError("request timeout", "TIMEOUT", { operation: "request", reason: "timeout" }))).to.equal(true);
    expect(isTransientError(Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }))).to.equal(true);
    expect(isTransientError(new PerpTransportError("x", undefined, { cause: Object.assign(new Error("y"), { code: "ECONNRESET" }) }))).to.equal(true);
    expect(isTransientError(makeError("execution reverted", "CALL_EXCEPTION", { action: "call", data: "0x", reason: null, transaction: { to: null, data: "0x" }, invocation: null, revert: null }))).to.equal(false);
    expect(isNonceError(makeError("nonce has already been used", "NONCE_EXPIRED", { transaction: {} }))).to.equal(true);
    expect(isNonceError(new Error("Nonce too low. Expected nonce to be 3 but got 2."))).to.equal(true);
    expect(isNonceError(new Error("insufficient funds"))).to.equal(false);
  });

  it("CountingJsonRpcProvider counts calls and HTTP requests and maps HTTP errors to ethers' codes", async function () {
    let status = 200;
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        if (status !== 200) {
          res.statusCode = status;
          res.end("busy");
          return;
        }
        const payload = JSON.parse(body) as { id: number; method: string } | { id: number; method: string }[];
        const answer = (p: { id: number; method: string }) => ({ jsonrpc: "2.0", id: p.id, result: p.method === "eth_blockNumber" ? "0x2a" : "0x1" });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(Array.isArray(payload) ? payload.map(answer) : answer(payload)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const provider = new CountingJsonRpcProvider(`http://127.0.0.1:${(server.address() as { port: number }).port}`, 31337, {
      staticNetwork: true,
      cacheTimeout: -1,
    });
    try {
      const [block, balance] = await Promise.all([provider.getBlockNumber(), provider.getBalance(ROOT_ADDRESS)]);
      expect([block, balance]).to.deep.equal([42, 1n]);
      expect(provider.stats).to.deep.equal({ calls: 2, httpRequests: 1, failedHttpRequests: 0, byMethod: { eth_blockNumber: 1, eth_getBalance: 1 } });
      const before = provider.stats;
      status = 503;
      const error = await provider.getBlockNumber().catch((e: unknown) => e);
      expect(isError(error, "SERVER_ERROR")).to.equal(true);
      expect(isTransientError(error)).to.equal(true);
      expect(rpcStatsSince(before, provider.stats)).to.deep.equal({ calls: 1, httpRequests: 1, failedHttpRequests: 1, byMethod: { eth_blockNumber: 1 } });
      provider.resetStats();
      expect(provider.stats).to.deep.equal({ calls: 0, httpRequests: 0, failedHttpRequests: 0, byMethod: {} });
    } finally {
      provider.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("parses and checks the command line; RPC URLs are logged without path or query", function () {
    const config = parseConfig(["--rpc", "http://127.0.0.1:8545", "--batch-size", "7", "--min-profit-usd", "1.5", "--once"], {});
    expect(config).to.deep.include({ rpcUrl: "http://127.0.0.1:8545", batchSize: 7, minProfitUsd: 15n * 10n ** 17n, once: true, ethUsd: undefined });
    expect(parseConfig([], { RPC_URL: "https://rpc.example/v2/secret" }).rpcUrl).to.equal("https://rpc.example/v2/secret");
    // The SDK's RPC rule: a local deployment falls back to $LOCALHOST_RPC_URL, then 127.0.0.1:8545; others need one.
    expect(parseConfig([], {}).rpcUrl).to.equal("http://127.0.0.1:8545");
    expect(parseConfig([], { LOCALHOST_RPC_URL: "http://127.0.0.1:9545" }).rpcUrl).to.equal("http://127.0.0.1:9545");
    const fails = (argv: string[], message: string) => expect(() => parseConfig(argv, {})).to.throw(ConfigurationError, message);
    fails(["--deployment", "sepolia"], 'no RPC endpoint for network "sepolia": pass --rpc <url> or set RPC_URL');
    fails(["--rpc", "ws://127.0.0.1:8545"], "the RPC URL must be http:// or https://, not ws:");
    fails(["--rpc", "http://x", "--batch-size", "0"], '--batch-size must be an integer from 1 to 100, not "0"');
    fails(["--rpc", "http://x", "--poll-ms", "1.5"], '--poll-ms must be an integer 10 or more, not "1.5"');
    fails(["--rpc", "http://x", "--min-profit-usd", "-1"], '--min-profit-usd must be zero or more, not "-1"');
    fails(["--rpc", "http://x", "--eth-usd", "abc"], '--eth-usd must be a decimal number of USD, not "abc"');
    fails(["--rpc", "http://x", "--keystore-dev"], "--keystore-dev needs --keystore <name>");
    expect(redactUrl("https://eth-sepolia.example.com/v2/KEY?x=1")).to.equal("https://eth-sepolia.example.com/…");
    expect(redactUrl("https://user:pass@rpc.example.com")).to.equal("https://rpc.example.com/…");
    expect(redactUrl("http://127.0.0.1:8545")).to.equal("http://127.0.0.1:8545");

    // Operations options: log format, the /health and /metrics port, auto-deleveraging, the backoff cap.
    expect(parseConfig(["--rpc", "http://x"], {})).to.deep.include({
      logFormat: "json",
      metricsPort: undefined,
      autoDeleverage: false,
      maxDeleverages: 20,
      maxBackoffMs: 30_000,
    });
    expect(
      parseConfig(["--rpc", "http://x", "--log-format", "pretty", "--metrics-port", "9464", "--adl", "--max-deleverages", "3", "--max-backoff-ms", "5000"], {}),
    ).to.deep.include({ logFormat: "pretty", metricsPort: 9464, autoDeleverage: true, maxDeleverages: 3, maxBackoffMs: 5_000 });
    fails(["--rpc", "http://x", "--metrics-port", "70000"], '--metrics-port must be an integer from 0 to 65535, not "70000"');
    fails(["--rpc", "http://x", "--max-backoff-ms", "5"], '--max-backoff-ms must be an integer 100 or more, not "5"');
  });

  it("plain-text log mode: time, level, message, then key=value fields (bigints as decimals)", function () {
    expect(
      prettyLine({
        level: "info",
        time: "2026-01-02T03:04:05.678Z",
        service: "perp-keeper",
        msg: "liquidation sent",
        hash: "0xab",
        rewardUsd: "12.0625",
        targets: [{ trader: "0x01", market: "cross (ETH-USD, BTC-USD)", rewardUsd: "12.0625" }],
        note: undefined,
      }),
    ).to.equal(
      '2026-01-02 03:04:05.678 INFO  liquidation sent  hash=0xab rewardUsd=12.0625 targets=[{trader=0x01 market="cross (ETH-USD, BTC-USD)" rewardUsd=12.0625}]\n',
    );
    expect(prettyLine({ level: "warn", time: "2026-01-02T03:04:05.678Z", msg: "keeper stopped" })).to.equal(
      "2026-01-02 03:04:05.678 WARN  keeper stopped\n",
    );
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(chunk.toString()), done()) });
    createLogger("info", sink, "pretty").info({ block: 7, gas: 123n, skipped: "no" }, "scan");
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO  scan  block=7 gas=123 skipped=no\n$/);
  });
});


// ============================================================================================== end to end

for (const kind of ["hardhat", "anvil"] as const) {
  describe(`keeper against ${kind === "hardhat" ? "a hardhat node" : "anvil"}`, function () {
    this.timeout(60_000);

    let node: TestNode | undefined;
    let provider: JsonRpcProvider;
    let tmp: string;
    let deployment: Deployment;
    let deploymentFile: string;
    let engine: PerpEngine;
    let owner: string;
    let snapshot: string;
    let shockBlock: number;
    /** Each planned position's size and margin just after the shock. */
    const initial = new Map<string, { size: bigint; margin: bigint }>();
    const keepers: CountingJsonRpcProvider[] = [];

    async function connectKeeper(account: number, options: Partial<KeeperOptions> = {}, url?: string): Promise<Keeper> {
      const keeperProvider = new CountingJsonRpcProvider(url ?? node!.url, 31337, {
        staticNetwork: true,
        cacheTimeout: -1,
        timeoutMs: 10_000,
      });
      keepers.push(keeperProvider);
      const client = await PerpClient.connect({ runner: new Wallet(devKey(account), keeperProvider), deployment });
      return Keeper.create({ client, pollMs: 50, retry: { baseDelayMs: 20 }, rpcStats: () => keeperProvider.stats, ...options });
    }

    /** `Liquidated` events since the shock (anvil refuses a log range that starts after the latest block). */
    async function liquidations() {
      const latest = await provider.getBlockNumber();
      return latest > shockBlock ? engine.queryFilter(engine.filters.Liquidated(), shockBlock + 1, latest) : [];
    }

    /** Every planned position: closed if its unit was expected to be liquidated, untouched otherwise. */
    async function expectExactlyTheUnhealthyLiquidated(): Promise<void> {
      for (const trader of TRADERS) {
        for (const position of trader.positions) {
          const now = await engine.getPosition(trader.address, position.marketId);
          const unit = position.isolated ? position.marketId : "cross";
          const label = `${trader.name} market ${position.marketId}`;
          if (trader.liquidatable.includes(unit)) {
            expect(now.size, label).to.equal(0n);
          } else {
            const was = initial.get(`${trader.address}:${position.marketId}`)!;
            expect(now.size, label).to.equal(was.size);
            expect(now.margin, label).to.equal(was.margin);
          }
        }
      }
    }

    /** Back to the state just after the shock, and a new snapshot of it. */
    async function reset(): Promise<void> {
      expect(await rpc(node!.url, "evm_revert", [snapshot])).to.equal(true);
      snapshot = (await rpc(node!.url, "evm_snapshot")) as string;
    }

    before(async function () {
      tmp = await mkdtemp(path.join(os.tmpdir(), `perp-keeper-${kind}-`));
      node = await startTestNode(kind);
      const run = await deployInProcess(node.url, {
        // v1: the Chainlink-priced engine without an order book (the local default is PerpPythLocal).
        PERP_MODULE: "PerpLocal",
        PERP_DEPLOYMENTS_DIR: path.join(tmp, "deployments"),
        PERP_IGNITION_DEPLOYMENTS_DIR: path.join(tmp, "ignition"),
      });
      expect(run.code, run.output).to.equal(0);
      deploymentFile = path.join(tmp, "deployments", "localhost.json");
      deployment = JSON.parse(await readFile(deploymentFile, "utf8")) as Deployment;
      provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
      engine = PerpEngine__factory.connect(deployment.contracts.PerpEngine, provider);
      owner = ((await rpc(node.url, "eth_accounts")) as string[])[0];

      const lp = scenario.traderAddress("keeper-test-lp", 0);
      await scenario.prepareAccounts(provider, [lp, ...TRADERS.map((t) => t.address)], 10n ** 20n);
      const nonces = new Map<string, number>();
      await scenario.lpDeposit(provider, deployment, lp, 1_000_000, nonces);
      const prices = await scenario.indexPrices(provider, deployment);
      await scenario.sendWave(provider, TRADERS.flatMap((t) => scenario.traderTxs(deployment, t, prices)), nonces);

      await scenario.setPrice(provider, deployment, ETH, "1800", owner);
      shockBlock = await scenario.setPrice(provider, deployment, BTC, "63000", owner);
      for (const trader of TRADERS) {
        for (const position of trader.positions) {
          const pos = await engine.getPosition(trader.address, position.marketId);
          initial.set(`${trader.address}:${position.marketId}`, { size: pos.size, margin: pos.margin });
        }
      }
      for (const i of KEEPER_ACCOUNTS) {
        await rpc(node.url, "hardhat_setBalance", [new Wallet(devKey(i)).address, toBeHex(10n ** 21n)]);
      }
      snapshot = (await rpc(node.url, "evm_snapshot")) as string;
    });

    after(async function () {
      for (const p of keepers) p.destroy();
      provider?.destroy();
      await node?.stop();
      if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    });

    it("the shock leaves exactly the designed 12 units liquidatable (the engine's own health)", async function () {
      expect(POSITIONS).to.equal(33);
      expect(EXPECTED_UNITS.length).to.equal(12);
      expect(EXPECTED_POSITIONS_CLOSED).to.equal(14);
      const found: string[] = [];
      for (const trader of TRADERS) {
        for (const position of trader.positions) {
          expect((await engine.getPosition(trader.address, position.marketId)).size, trader.name).to.not.equal(0n);
          const health = await engine.positionHealth(trader.address, position.marketId);
          if (health.liquidatable) found.push(`${trader.address.toLowerCase()}:${position.isolated ? position.marketId : CROSS}`);
        }
      }
      expect([...new Set(found)].sort()).to.deep.equal(EXPECTED_UNITS);
    });

    it("the fast lens decoder reads exactly what ethers' ABI decoder reads", async function () {
      const lens = PerpLens__factory.connect(deployment.contracts.PerpLens, provider);
      const pairs = TRADERS.flatMap((t) => t.positions.map((p) => ({ trader: t.address, marketId: BigInt(p.marketId) })));
      // A pair with no position (closed-position shape) too.
      pairs.push({ trader: scenario.traderAddress("keeper-test-nobody", 0), marketId: 0n });
      const args: [string[], bigint[]] = [pairs.map((p) => p.trader), pairs.map((p) => p.marketId)];
      const raw = await provider.call({ to: deployment.contracts.PerpLens, data: lens.interface.encodeFunctionData("positions", args) });
      const fast = decodePositionViews(raw, pairs.length);
      const slow = await lens.positions(...args);
      expect(fast.length).to.equal(slow.length);
      slow.forEach((view, i) => {
        expect(fast[i]).to.deep.equal({
          trader: view.trader,
          marketId: Number(view.marketId),
          position: {
            size: view.position.size,
            entryPrice: view.position.entryPrice,
            lastFundingIndex: view.position.lastFundingIndex,
            margin: view.position.margin,
          },
          isolated: view.isolated,
          equity: view.health.equity,
          equityAtClose: view.health.equityAtClose,
          initialMargin: view.health.initialMargin,
          maintenanceMargin: view.health.maintenanceMargin,
          notional: view.health.notional,
          unrealizedPnl: view.health.unrealizedPnl,
          accruedFunding: view.health.accruedFunding,
          leverage: view.health.leverage,
          liquidatable: view.healthValid && view.health.liquidatable,
          healthValid: view.healthValid,
        });
      });
      expect(fast.at(-1)!.healthValid).to.equal(false);
      expect(() => decodePositionViews(raw, pairs.length - 1)).to.throw(/views in .* words for/);
    });

    it("ranks units by the SDK's liquidation prices, which equal the engine's to the wei", async function () {
      let scan: ScanReport | undefined;
      // A near margin of almost the whole notional: PerpLens.scan flags every position, so every one is ranked.
      const keeper = await connectKeeper(11, { minProfitUsd: 10n ** 30n, nearMargin: 10n ** 18n - 1n, onScanned: (report) => void (scan = report) });
      await keeper.runOnce();
      const { evaluation, block } = scan!;
      expect(block).to.equal(shockBlock);
      expect(evaluation.positions.length).to.equal(POSITIONS);
      expect(evaluation.mirrorMismatches).to.equal(0);
      for (const p of evaluation.positions) {
        expect(p.liquidationPrice, `${p.trader} ${p.marketId}`).to.equal(
          await engine.liquidationPrice(p.trader, p.marketId, { blockTag: block }),
        );
      }
      const units = evaluation.units;
      expect(units.map((u) => `${u.trader.toLowerCase()}:${u.isolated ? BigInt(u.marketId) : CROSS}`).sort()).to.deep.equal(EXPECTED_UNITS);
      // Furthest past the liquidation price first; every liquidatable unit is past it (negative distance).
      for (let i = 1; i < units.length; i++) expect(units[i - 1].distance! <= units[i].distance!).to.equal(true);
      expect(units.every((u) => u.distance! <= 0n)).to.equal(true);
      // The healthy positions nearest their liquidation price: the 8x ETH long first (1.7 % above it).
      expect(evaluation.nearest[0]).to.deep.include({ trader: TRADERS.find((t) => t.name === "isoEthLong8")!.address.toLowerCase(), marketId: ETH });
      // The reward of each unit: ratio x notional, clamped to [min, max] ($2, $500).
      const isoEthLong40 = units.find((u) => u.trader === TRADERS.find((t) => t.name === "isoEthLong40")!.address.toLowerCase())!;
      expect(isoEthLong40.reward).to.equal((isoEthLong40.notional * 10n ** 15n) / 10n ** 18n);
    });

    it("notices a chain reorganisation under its index and rebuilds it", async function () {
      await reset();
      const fork = (await rpc(node!.url, "evm_snapshot")) as string;
      await rpc(node!.url, "evm_mine");
      await rpc(node!.url, "evm_mine");
      const keeper = await connectKeeper(11, { minProfitUsd: 10n ** 30n });
      expect((await keeper.runOnce()).index).to.deep.include({ toBlock: shockBlock + 2, rebuilt: true, reorg: false });
      expect((await keeper.runOnce()).index).to.deep.include({ toBlock: shockBlock + 2, events: 0, rebuilt: false });
      // Another branch from the shock block: a new trader opens a position in its first block.
      expect(await rpc(node!.url, "evm_revert", [fork])).to.equal(true);
      const late: scenario.TraderPlan = { address: scenario.traderAddress("keeper-test-late", 0), positions: [iso(ETH, "short", 3)] };
      await scenario.prepareAccounts(provider, [late.address], 10n ** 20n);
      await scenario.sendWave(provider, scenario.traderTxs(deployment, late, await scenario.indexPrices(provider, deployment)), new Map());
      const summary = await keeper.runOnce();
      expect(summary.index).to.deep.equal({
        fromBlock: deployment.deploymentBlock,
        toBlock: shockBlock + 4,
        events: POSITIONS + 1,
        rebuilt: true,
        reorg: true,
        headBelowIndex: false,
      });
      expect(summary.positionsScanned).to.equal(POSITIONS + 1);
    });

    it("halves log ranges and lens batches that the endpoint refuses", async function () {
      const client = await PerpClient.connect({ runner: provider, deployment });
      const refusals = { logs: 0, lens: 0 };
      // An endpoint that refuses log queries over more than 4 blocks and eth_calls of more than 8 positions.
      const strict = new Proxy(provider, {
        get(target, property) {
          if (property === "getLogs") {
            return async (filter: { fromBlock: number; toBlock: number }) => {
              if (filter.toBlock - filter.fromBlock > 3) {
                refusals.logs += 1;
                throw new Error("query exceeds the maximum block range of 4");
              }
              return target.getLogs(filter);
            };
          }
          if (property === "call") {
            return async (tx: { data: string }) => {
              const count = Number(BigInt(`0x${tx.data.slice(10 + 128, 10 + 192)}`));
              if (count > 8) {
                refusals.lens += 1;
                throw new Error("out of gas");
              }
              return target.call(tx);
            };
          }
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const strictClient = { engine: client.engine, lens: client.lens, provider: strict };
      const index = new ChainIndex(strictClient, deployment.deploymentBlock, 10_000, { attempts: 1 });
      const sync = await index.sync(shockBlock);
      expect(sync).to.deep.include({ events: POSITIONS, rebuilt: true });
      expect(index.size).to.equal(POSITIONS);
      expect(refusals.logs).to.be.greaterThan(0);
      const views = await readHealth(strictClient, index.positions(), 33, shockBlock, { attempts: 1 });
      expect(views.map((v) => `${v.trader.toLowerCase()}:${v.marketId}`)).to.deep.equal(index.positions().map((k) => `${k.trader}:${k.marketId}`));
      expect(views.every((v) => v.healthValid)).to.equal(true);
      // 33 -> 17 + 16 -> 9 + 8 + 8 + 8 -> 5 + 4: four refused calls.
      expect(refusals.lens).to.equal(4);
    });

    it("--once liquidates exactly the unhealthy units in one batch, none of the healthy, and reports it", async function () {
      await reset();
      const key = devKey(5);
      const keeperAddress = new Wallet(key).address;
      const balanceBefore = (await engine.getAccount(keeperAddress))[0];
      const result = await runKeeperCli(["--rpc", node!.url, "--deployment", deploymentFile, "--once"], { PRIVATE_KEY: key });
      expect(result.code, result.stderr).to.equal(0);
      const summary = JSON.parse(result.stdout) as Record<string, unknown> & { transactionHashes: string[]; index: Record<string, unknown> };

      const events = await liquidations();
      expect(unitsOf(events)).to.deep.equal(EXPECTED_UNITS);
      expect(events.every((e) => e.args.keeper === keeperAddress)).to.equal(true);
      await expectExactlyTheUnhealthyLiquidated();

      const receipt = (await provider.getTransactionReceipt(summary.transactionHashes[0]))!;
      const rewards = events.reduce((sum, e) => sum + e.args.keeperReward, 0n);
      expect(summary).to.deep.include({
        block: shockBlock,
        positionsScanned: POSITIONS,
        liquidatableFound: 12,
        liquidated: 12,
        positionsClosed: EXPECTED_POSITIONS_CLOSED,
        noLongerLiquidatable: 0,
        skippedUnprofitable: 0,
        deferred: 0,
        failed: 0,
        transactions: 1,
        gasUsed: receipt.gasUsed.toString(),
        gasCostWei: (receipt.gasUsed * receipt.gasPrice).toString(),
        aborted: false,
        errors: [],
      });
      expect(summary.index).to.deep.equal({
        fromBlock: deployment.deploymentBlock,
        toBlock: shockBlock,
        events: POSITIONS,
        rebuilt: true,
        reorg: false,
        headBelowIndex: false,
      });
      expect(summary.rewardsUsd).to.equal(ethersFormat(rewards));
      // The rewards were credited to the keeper's cross balance in the engine.
      expect((await engine.getAccount(keeperAddress))[0] - balanceBefore).to.equal(rewards);

      const logs = expectStructuredLogs(result.stderr);
      const messages = logs.map((log) => log.msg);
      expect(messages).to.include.members(["keeper started", "position index built", "scan", "liquidation sent", "liquidation mined", "keeper stopped"]);
      expect(result.stderr + result.stdout).to.not.include(key.slice(2));

      // The log lines name trader and market (the deployment's symbols), and give USD amounts as plain decimals.
      const started = logs.find((l) => l.msg === "keeper started")!;
      expect(started).to.deep.include({ keeper: keeperAddress, balanceEth: "1000" });
      const byUnit = (list: { trader: string; market: string }[]) => list.map((t) => `${t.trader.toLowerCase()}:${t.market}`).sort();
      const named = TRADERS.flatMap((t) =>
        t.liquidatable.map((u) => {
          const symbols = t.positions.filter((p) => !p.isolated).map((p) => deployment.markets[p.marketId].symbol);
          return `${t.address.toLowerCase()}:${u === "cross" ? `cross (${symbols.join(", ")})` : deployment.markets[u].symbol}`;
        }),
      ).sort();
      const sent = logs.find((l) => l.msg === "liquidation sent")! as { targets: { trader: string; market: string; rewardUsd: string }[]; rewardUsd: string };
      expect(byUnit(sent.targets)).to.deep.equal(named);
      const mined = logs.find((l) => l.msg === "liquidation mined")! as { liquidations: { trader: string; market: string; rewardUsd: string }[]; rewardUsd: string };
      expect(byUnit(mined.liquidations)).to.deep.equal(named);
      expect(mined.rewardUsd).to.equal(ethersFormat(rewards));
      for (const event of events) {
        const line = mined.liquidations.find((l) => l.trader === event.args.trader)!;
        expect(line.rewardUsd).to.equal(ethersFormat(event.args.keeperReward));
      }
      const scan = logs.find((l) => l.msg === "scan")! as { nearest: Record<string, string>[] };
      const nearest = TRADERS.find((t) => t.name === "isoEthLong8")!;
      expect(scan.nearest[0]).to.deep.include({ trader: nearest.address.toLowerCase(), market: "ETH-USD", side: "long", margin: "isolated", priceUsd: "1800" });
      const liq = await engine.liquidationPrice(nearest.address, ETH, { blockTag: shockBlock });
      expect(scan.nearest[0].liquidationPriceUsd).to.equal(ethersFormat(liq));
    });

    it("two keepers racing: each unit is liquidated once, the loser's simulation skips and it sends nothing", async function () {
      await reset();
      // Deterministic: B scans, then A liquidates everything before B simulates.
      const a = await connectKeeper(6);
      let first: RunSummary | undefined;
      const b = await connectKeeper(7, { onScanned: async () => void (first = await a.runOnce()) });
      const bNonce = await provider.getTransactionCount(b.address);
      const second = await b.runOnce();
      expect(first).to.deep.include({ liquidatableFound: 12, liquidated: 12, transactions: 1, errors: [] });
      expect(second).to.deep.include({
        liquidatableFound: 12,
        liquidated: 0,
        noLongerLiquidatable: 12,
        skippedUnprofitable: 0,
        failed: 0,
        transactions: 0,
        errors: [],
      });
      expect(await provider.getTransactionCount(b.address)).to.equal(bNonce);
      expect(unitsOf(await liquidations())).to.deep.equal(EXPECTED_UNITS);

      // Concurrent: both scan the same state and send batches of 3 at the same time.
      await reset();
      const c = await connectKeeper(8, { batchSize: 3 });
      const d = await connectKeeper(9, { batchSize: 3 });
      const [sc, sd] = await Promise.all([c.runOnce(), d.runOnce()]);
      const events = await liquidations();
      expect(unitsOf(events), "each unit exactly once").to.deep.equal(EXPECTED_UNITS);
      for (const [keeper, summary] of [[c, sc], [d, sd]] as const) {
        expect(summary.errors).to.deep.equal([]);
        expect(summary.failed).to.equal(0);
        expect(summary.liquidatableFound).to.equal(12);
        expect(summary.liquidated).to.equal(events.filter((e) => e.args.keeper === keeper.address).length);
        expect(summary.liquidated + summary.noLongerLiquidatable + summary.skippedUnprofitable + summary.deferred).to.equal(12);
      }
      expect(sc.liquidated + sd.liquidated).to.equal(12);
      await expectExactlyTheUnhealthyLiquidated();
    });

    it("a keeper restarted mid-way rebuilds its index from the chain and finishes the job; SIGTERM/SIGINT stop it with 0", async function () {
      await reset();
      const key = devKey(10);
      const env = { PRIVATE_KEY: key };
      const common = ["--rpc", node!.url, "--deployment", deploymentFile, "--batch-size", "5"];
      // First process: one batch of 5, then it exits (as if stopped there).
      const partial = await runKeeperCli([...common, "--once", "--max-batches", "1"], env);
      expect(partial.code, partial.stderr).to.equal(0);
      expect(JSON.parse(partial.stdout)).to.deep.include({ liquidatableFound: 12, liquidated: 5, deferred: 7, transactions: 1 });
      expect((await liquidations()).length).to.equal(5);
      const closedSoFar = (await engine.queryFilter(engine.filters.PositionClosedAtIndex(), shockBlock + 1, "latest")).length;

      // A new process knows nothing: it rebuilds the index from the deployment block and liquidates the other 7.
      const keeper = startKeeper([...common, "--poll-ms", "100", "--log-level", "debug"], env);
      await waitFor("the restarted keeper to liquidate the rest", async () => (await liquidations()).length >= 12);
      // And keeps polling: a finished run with nothing left is logged at debug level.
      const runsBefore = jsonLines(keeper.stderr()).filter((l) => l.msg === "run finished").length;
      // The keeper runs on new blocks: mine one, or its last idle run may already be behind us and none would follow.
      await rpc(node!.url, "evm_mine");
      await waitFor("another idle run", () => jsonLines(keeper.stderr()).filter((l) => l.msg === "run finished").length > runsBefore);
      keeper.child.kill(kind === "hardhat" ? "SIGTERM" : "SIGINT");
      const result = await keeper.exited;
      expect(result.code, result.stderr).to.equal(0);
      const logs = expectStructuredLogs(result.stderr);
      const built = logs.find((l) => l.msg === "position index built")!;
      expect(built).to.deep.include({ fromBlock: deployment.deploymentBlock, positions: POSITIONS - closedSoFar });
      const runs = logs.filter((l) => l.msg === "run finished");
      expect(runs[0]).to.deep.include({ liquidatableFound: 7, liquidated: 7, transactions: 2, noLongerLiquidatable: 0 });
      expect(logs.map((l) => l.msg)).to.include.members(["stopping: finishing the current step", "keeper stopped"]);
      expect(logs.at(-1)!.msg).to.equal("keeper stopped");

      expect(unitsOf(await liquidations())).to.deep.equal(EXPECTED_UNITS);
      await expectExactlyTheUnhealthyLiquidated();
    });

    it("leaves batches whose reward does not cover the gas plus --min-profit-usd", async function () {
      await reset();
      const keeper = await connectKeeper(11, { minProfitUsd: 1_000_000n * 10n ** 18n });
      const nonce = await provider.getTransactionCount(keeper.address);
      const summary = await keeper.runOnce();
      expect(summary).to.deep.include({ liquidatableFound: 12, skippedUnprofitable: 12, liquidated: 0, transactions: 0, errors: [] });
      expect(await provider.getTransactionCount(keeper.address)).to.equal(nonce);
      expect(await liquidations()).to.deep.equal([]);

      // With a gas token priced at $1e12 the same batch costs more than its reward even without a minimum.
      const costly = await connectKeeper(11, { ethUsd: 10n ** 30n });
      expect(await costly.runOnce()).to.deep.include({ liquidatableFound: 12, skippedUnprofitable: 12, transactions: 0 });
    });

    if (kind === "hardhat") {
      it("serves /health and Prometheus /metrics on 127.0.0.1: scans, liquidations, rewards, index size, last block", async function () {
        await reset();
        const metrics = new KeeperMetrics();
        const keeper = await connectKeeper(12, { metrics });
        const server = await startOpsServer({ port: 0, metrics, health: () => keeper.health() });
        const get = async (route: string) => {
          const response = await fetch(`http://127.0.0.1:${server.port}${route}`);
          return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
        };
        /** The value of one sample in the Prometheus text format. */
        const sample = (text: string, name: string) => {
          const line = text.split("\n").find((l) => l.startsWith(`${name} `));
          expect(line, name).to.not.equal(undefined);
          return Number(line!.slice(name.length + 1));
        };
        try {
          const before = await get("/health");
          expect(before.status).to.equal(503);
          expect(JSON.parse(before.text)).to.deep.include({ status: "starting", healthy: false, lastBlock: -1, lastScanAt: null });

          const summary = await keeper.runOnce();
          expect(summary).to.deep.include({ liquidated: 12, failed: 0 });
          const scraped = await get("/metrics");
          expect(scraped.status).to.equal(200);
          expect(scraped.type).to.match(/^text\/plain; version=0\.0\.4/);
          const text = scraped.text;
          expect(text).to.include("# HELP perp_keeper_liquidations_mined_total Units this keeper liquidated");
          expect(text).to.include("# TYPE perp_keeper_scans_total counter");
          expect(sample(text, "perp_keeper_scans_total")).to.equal(1);
          expect(sample(text, "perp_keeper_liquidations_sent_total")).to.equal(12);
          expect(sample(text, "perp_keeper_liquidations_mined_total")).to.equal(12);
          expect(sample(text, "perp_keeper_liquidations_failed_total")).to.equal(0);
          expect(sample(text, "perp_keeper_rewards_usd_total")).to.equal(Number(ethersFormat(summary.rewardsUsd)));
          expect(sample(text, "perp_keeper_index_positions")).to.equal(POSITIONS);
          expect(sample(text, "perp_keeper_positions_scanned")).to.equal(POSITIONS);
          expect(sample(text, "perp_keeper_liquidatable_units")).to.equal(12);
          expect(sample(text, "perp_keeper_last_block")).to.equal(shockBlock);
          expect(sample(text, "perp_keeper_rpc_errors_total")).to.equal(0);
          expect(sample(text, "perp_keeper_deleveraged_total")).to.equal(0);

          const health = await get("/health");
          expect(health.status).to.equal(200);
          expect(health.type).to.equal("application/json");
          const body = JSON.parse(health.text) as Record<string, unknown>;
          expect(body).to.deep.include({
            status: "ok",
            healthy: true,
            lastBlock: shockBlock,
            headBlock: shockBlock,
            lagBlocks: 0,
            indexSize: POSITIONS,
            consecutiveFailures: 0,
            lastError: null,
          });
          expect(Date.parse(body.lastScanAt as string)).to.be.closeTo(Date.now(), 60_000);
          expect((await get("/nope")).status).to.equal(404);
          // The health check goes stale when the endpoint has not answered for `staleAfterMs`.
          expect(keeper.health(Date.now() + 10 * 60_000)).to.deep.include({ status: "stale", healthy: false });
        } finally {
          await server.close();
        }
      });

      it("restarts, dead nodes and missing contracts: index reset at once, capped exponential backoff, one clear line", async function () {
        await reset();
        // A front that forwards to the node, refuses connections ("dead"), or forwards to a fresh chain without the
        // contracts (a node restarted without a redeploy).
        const fresh = await startLocalNode("anvil");
        let target: string | "dead" = node!.url;
        const front = http.createServer((req, res) => {
          let body = "";
          req.on("data", (chunk: Buffer) => (body += chunk.toString()));
          req.on("end", () => {
            if (target === "dead") return void req.socket.destroy();
            void fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body })
              .then((r) => r.text())
              .then((text) => {
                res.setHeader("content-type", "application/json");
                res.end(text);
              })
              .catch(() => req.socket.destroy());
          });
        });
        await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
        const { logger, lines } = captureLogger();
        const messages = (msg: string) => lines.filter((l) => l.msg === msg);
        const scans: number[] = [];
        const keeper = await connectKeeper(
          12,
          {
            logger,
            pollMs: 50,
            maxBackoffMs: 400,
            minProfitUsd: 10n ** 30n,
            retry: { attempts: 2, baseDelayMs: 20 },
            onScanned: (scan) => void scans.push(scan.block),
          },
          `http://127.0.0.1:${(front.address() as { port: number }).port}`,
        );
        const running = keeper.run();
        try {
          for (let i = 0; i < 3; i++) await rpc(node!.url, "evm_mine");
          await waitFor("a scan at the head", () => scans.includes(shockBlock + 3));
          // 1. The chain head drops below the indexed block (here: a revert; the same for a restarted node): the
          //    next poll sees it and the index is rebuilt at once, without waiting for the head to climb back.
          await reset();
          await waitFor("a scan after the head dropped", () => scans.at(-1) === shockBlock);
          const below = messages("chain head below the indexed block (node restarted or chain reverted): index rebuilt from the start block");
          expect(below).to.have.length(1);
          expect(below[0]).to.deep.include({ level: "warn", block: shockBlock, indexedBlock: shockBlock + 3 });
          await waitFor("that run to finish", () => messages("run finished").some((l) => (l.index as { headBelowIndex: boolean }).headBelowIndex));
          const rebuilt = messages("run finished").find((l) => (l.index as { headBelowIndex: boolean }).headBelowIndex)!;
          expect(rebuilt.index).to.deep.equal({
            fromBlock: deployment.deploymentBlock,
            toBlock: shockBlock,
            events: POSITIONS,
            rebuilt: true,
            reorg: true,
            headBelowIndex: true,
          });

          // 2. The node dies: polls back off 100, 200, 400, 400 ms (pollMs x 2^n, capped), one warning each.
          target = "dead";
          await waitFor("four failed polls", () => messages("polling for a new block failed; backing off").length >= 4);
          const polls = messages("polling for a new block failed; backing off");
          expect(polls.slice(0, 4).map((l) => [l.level, l.failures, l.retryInMs])).to.deep.equal([
            ["warn", 1, 100],
            ["warn", 2, 200],
            ["warn", 3, 400],
            ["warn", 4, 400],
          ]);
          expect(keeper.health()).to.deep.include({ status: "rpc-down", healthy: false });

          // 3. It comes back without the contracts: one clear line instead of "could not decode result data".
          target = fresh.url;
          const missingLine = `contracts missing at ${deployment.contracts.PerpEngine} on chain 31337: redeploy or fix --deployment`;
          await waitFor("the missing contracts reported", () => messages(missingLine).length >= 1);
          expect(messages("the RPC endpoint answers again")).to.have.length(1);
          expect(messages(missingLine)[0]).to.deep.include({ level: "error", failures: 1, retryInMs: 100 });
          expect(lines.some((l) => JSON.stringify(l).includes("could not decode"))).to.equal(false);
          expect(keeper.health()).to.deep.include({ status: "contracts-missing", healthy: false });

          // 4. Back to the deployed chain: recovered, index rebuilt from the deployment block.
          const scansBefore = scans.length;
          target = node!.url;
          await waitFor("a scan after the recovery", () => scans.length > scansBefore);
          await waitFor("the recovery logged", () => messages("recovered: runs succeed again").length === 1);
          expect(messages("position index built").at(-1)).to.deep.include({ fromBlock: deployment.deploymentBlock, positions: POSITIONS });
          expect(keeper.health()).to.deep.include({ status: "ok", healthy: true, lastBlock: shockBlock, indexSize: POSITIONS });
        } finally {
          keeper.stop();
          await running;
          front.closeAllConnections();
          await new Promise((resolve) => front.close(resolve));
          await stopNode(fresh);
        }
        expect(lines.at(-1)!.msg).to.equal("keeper stopped");
        expect(await liquidations()).to.deep.equal([]);
      });

      it("SIGTERM to `npm run keeper` stops the keeper itself (not only npm): clean stop, nothing left running", async function () {
        await reset();
        const port = await freePort();
        const npm = spawn("npm", ["run", "-s", "keeper", "--", "--rpc", node!.url, "--deployment", deploymentFile, "--poll-ms", "100", "--metrics-port", String(port)], {
          cwd: ROOT,
          env: { ...process.env, PRIVATE_KEY: devKey(13), RPC_URL: undefined, PERP_DEPLOYMENTS_DIR: undefined },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        npm.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        npm.stdout.resume();
        const npmExited = new Promise<void>((resolve) => npm.once("exit", () => resolve()));
        let keeperPid: number | undefined;
        try {
          await waitFor("the keeper to start", () => jsonLines(stderr).some((l) => l.msg === "keeper started"), CLI_TIMEOUT_MS);
          keeperPid = jsonLines(stderr).find((l) => l.msg === "keeper started")!.pid as number;
          expect(keeperPid).to.not.equal(npm.pid);
          await waitFor("a healthy keeper", async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status === 200);
          npm.kill("SIGTERM");
          await npmExited;
          const alive = (pid: number) => {
            try {
              process.kill(pid, 0);
              return true;
            } catch {
              return false;
            }
          };
          await waitFor("the keeper process to exit", () => !alive(keeperPid!));
          await waitFor("its last log line", () => jsonLines(stderr).at(-1)?.msg === "keeper stopped");
          const logs = jsonLines(stderr).map((l) => l.msg);
          expect(logs.filter((m) => typeof m === "string" && m.startsWith("stopping: "))).to.have.length(1);
          expect(await fetch(`http://127.0.0.1:${port}/health`).then(() => "listening", () => "closed")).to.equal("closed");
        } finally {
          if (keeperPid !== undefined) {
            try {
              process.kill(keeperPid, "SIGKILL");
            } catch {
              // gone, as expected
            }
          }
          if (npm.exitCode === null) npm.kill("SIGKILL");
        }
      });

      describe("auto-deleveraging", function () {
        /** The engine's own check, from the revert of `autoDeleverage` on a position of the market. */
        async function engineCheck(marketId: number, trader: string) {
          const error = await engine.autoDeleverage.staticCall(trader, marketId, []).catch((e: unknown) => e);
          const parsed = engine.interface.parseError((error as { data: string }).data);
          return parsed;
        }

        it("does nothing while every market is within maxPnlFactor x NAV, and its mirror agrees with the engine", async function () {
          await reset();
          const { logger, lines } = captureLogger();
          const keeper = await connectKeeper(11, { logger, autoDeleverage: true, minProfitUsd: 10n ** 30n });
          const nonce = await provider.getTransactionCount(keeper.address);
          const summary = await keeper.runOnce();
          expect(summary).to.deep.include({ deleveraged: 0, marketsOverPnlBound: 0, transactions: 0, errors: [] });
          expect(await provider.getTransactionCount(keeper.address)).to.equal(nonce);
          const check = lines.find((l) => l.msg === "deleveraging check")! as { markets: Record<string, unknown>[] };
          expect(check.markets.map((m) => m.market)).to.deep.equal(["ETH-USD", "BTC-USD"]);
          // The mirror at the block against the engine's DeleverageNotNeeded(tradersProfit, limit) at the same state.
          const client = await PerpClient.connect({ runner: provider, deployment });
          const block = (await provider.getBlock("latest"))!;
          const nav = await engine.vaultNav();
          for (const market of await client.markets()) {
            const mirror = deleverageCheck(market, nav, BigInt(block.timestamp));
            const trader = TRADERS.find((t) => t.positions.some((p) => p.marketId === market.id))!.address;
            const engineSays = await engineCheck(market.id, trader);
            expect(engineSays?.name).to.equal("DeleverageNotNeeded");
            expect(mirror.needed).to.equal(false);
            expect(check.markets.find((m) => m.market === market.symbol)).to.deep.equal({
              market: market.symbol,
              tradersProfitUsd: ethersFormat(mirror.tradersProfit),
              limitUsd: ethersFormat(mirror.limit),
              over: false,
            });
            expect(mirror.limit).to.equal(engineSays!.args.limit);
            expect(mirror.tradersProfit).to.equal(engineSays!.args.tradersProfit);
          }
        });

        it("closes the most profitable positions first, each accepted by the engine, until the market is under its bound", async function () {
          await reset();
          const signer = await provider.getSigner(owner);
          // ETH back above every entry: the ETH longs are in profit; a bound low enough that a few must go.
          await scenario.setPrice(provider, deployment, ETH, "2600", owner);
          const client = await PerpClient.connect({ runner: provider, deployment });
          const [market] = (await client.markets()).filter((m) => m.id === ETH);
          const nav = await engine.vaultNav();
          const block = (await provider.getBlock("latest"))!;
          const before = deleverageCheck(market, nav, BigInt(block.timestamp));
          const views = await readHealth(client, TRADERS.flatMap((t) => t.positions.map((p) => ({ trader: t.address, marketId: p.marketId }))), 100, "latest", {});
          const ranked = deleverageCandidates(views, market, before);
          expect(ranked.length).to.be.greaterThan(3);
          // A bound between the profit without the two most profitable positions and without three of them.
          const target = before.tradersProfit - ranked[0].value - ranked[1].value - ranked[2].value / 2n;
          const factor = (target * 10n ** 18n) / nav;
          await (await engine.connect(signer).setMarketParams(ETH, { ...market.params, maxPnlFactor: factor })).wait();

          // The engine decides: closing the ranked positions one by one until it refuses, on a snapshot.
          const probe = (await rpc(node!.url, "evm_snapshot")) as string;
          const accepted: string[] = [];
          for (const candidate of ranked) {
            const ok = await engine.connect(signer).autoDeleverage(candidate.trader, ETH, []).then((tx) => tx.wait(), () => undefined);
            if (!ok) break;
            accepted.push(candidate.trader);
          }
          expect(await rpc(node!.url, "evm_revert", [probe])).to.equal(true);
          expect(accepted).to.deep.equal(ranked.slice(0, 3).map((c) => c.trader));

          const from = (await provider.getBlockNumber()) + 1;
          const { logger, lines } = captureLogger();
          const metrics = new KeeperMetrics();
          const keeper = await connectKeeper(11, { logger, metrics, autoDeleverage: true, minProfitUsd: 10n ** 30n });
          const summary = await keeper.runOnce();
          expect(summary).to.deep.include({ deleveraged: 3, marketsOverPnlBound: 1, transactions: 3, errors: [] });
          const events = await engine.queryFilter(engine.filters.AutoDeleveraged(), from, "latest");
          expect(events.map((e) => e.args.trader)).to.deep.equal(accepted);
          for (const e of events) expect(e.args.tradersProfit > BigInt(e.args.limit)).to.equal(true);
          // Closed at the close fill of the block before (one per block), paid what the mirror computes (pnl - funding).
          const closed = await engine.queryFilter(engine.filters.PositionClosedAtIndex(), from, "latest");
          const fills = await Promise.all(
            closed.map(async (e) => {
              const [atBlock] = (await client.markets(e.blockNumber - 1)).filter((m) => m.id === ETH);
              return deleverageFill(views.find((v) => v.trader === e.args.trader && v.marketId === ETH)!.position, atBlock);
            }),
          );
          expect(closed.map((e) => e.args.price)).to.deep.equal(fills);
          expect(fills.every((fill) => fill !== 2600n * 10n ** 18n)).to.equal(true);
          const mined = lines.filter((l) => l.msg === "auto-deleveraging mined");
          expect(mined.map((l) => [l.trader, l.market, l.paidUsd])).to.deep.equal(
            closed.map((e) => [e.args.trader, "ETH-USD", ethersFormat(e.args.realizedPnl - e.args.fundingPaid)]),
          );
          for (const e of closed) {
            const fundingIndex = e.args.fundingIndex;
            const planned = views.find((v) => v.trader === e.args.trader && v.marketId === ETH)!;
            expect(closeValue(planned.position, e.args.price, fundingIndex)).to.equal(e.args.realizedPnl - e.args.fundingPaid);
          }
          // Back under the bound: the engine refuses the next one, and a second run sends nothing.
          const next = ranked[3];
          expect((await engineCheck(ETH, next.trader))?.name).to.equal("DeleverageNotNeeded");
          expect(await keeper.runOnce()).to.deep.include({ deleveraged: 0, marketsOverPnlBound: 0, transactions: 0 });
          expect(Number((await metrics.registry.getSingleMetricAsString("perp_keeper_deleveraged_total")).split("\n").at(-1)!.split(" ")[1])).to.equal(3);
          // The other market was never touched.
          expect(await engine.queryFilter(engine.filters.AutoDeleveraged(undefined, BTC), from, "latest")).to.deep.equal([]);
        });
      });

      it("retries dropped connections, a lost response and a time-out with backoff, and sends the batch once", async function () {
        await reset();
        // A proxy in front of the node that breaks chosen requests once the run starts.
        let armed = false;
        let seen = 0;
        let lostResponse = false;
        const injected: string[] = [];
        const proxy = http.createServer((req, res) => {
          let body = "";
          req.on("data", (chunk: Buffer) => (body += chunk.toString()));
          req.on("end", () => {
            const n = armed ? ++seen : 0;
            if (n === 1 || n === 2) {
              injected.push(`drop #${n}`);
              req.socket.destroy();
              return;
            }
            const delay = n === 3 ? 4_000 : 0;
            if (delay) injected.push("time-out #3");
            setTimeout(() => {
              void fetch(node!.url, { method: "POST", headers: { "content-type": "application/json" }, body })
                .then((r) => r.text())
                .then((text) => {
                  if (!lostResponse && body.includes("eth_sendRawTransaction")) {
                    lostResponse = true;
                    injected.push("lost response of eth_sendRawTransaction");
                    req.socket.destroy();
                    return;
                  }
                  if (res.destroyed) return;
                  res.setHeader("content-type", "application/json");
                  res.end(text);
                })
                .catch(() => req.socket.destroy());
            }, delay);
          });
        });
        await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
        const port = (proxy.address() as { port: number }).port;
        try {
          const proxyProvider = new CountingJsonRpcProvider(`http://127.0.0.1:${port}`, 31337, {
            staticNetwork: true,
            cacheTimeout: -1,
            timeoutMs: 2_000, // generous: under load an eth_estimateGas of the batch took over 500 ms
          });
          keepers.push(proxyProvider);
          const client = await PerpClient.connect({ runner: new Wallet(devKey(12), proxyProvider), deployment });
          const keeper = await Keeper.create({ client, pollMs: 50, retry: { baseDelayMs: 20 }, rpcStats: () => proxyProvider.stats });
          armed = true;
          const summary = await keeper.runOnce();
          expect(injected).to.deep.equal(["drop #1", "drop #2", "time-out #3", "lost response of eth_sendRawTransaction"]);
          expect(summary).to.deep.include({ liquidatableFound: 12, liquidated: 12, transactions: 1, failed: 0, errors: [] });
          expect(summary.rpc!.failedHttpRequests).to.equal(4);
          expect(summary.retries).to.be.at.least(4);
          // The re-broadcast of the same signed transaction did not send a second one.
          expect(await provider.getTransactionCount(keeper.address)).to.equal(1);
          expect(unitsOf(await liquidations())).to.deep.equal(EXPECTED_UNITS);
        } finally {
          proxy.closeAllConnections();
          await new Promise((resolve) => proxy.close(resolve));
        }
      });

      describe("bad configuration: one line on stderr, exit code 2, nothing sent", function () {
        // In this process (the CLI's own function, `env` as its whole environment); the keystore's success path runs
        // the real keeper process.
        const run = async (args: string[], env: Record<string, string | undefined>) => {
          const blockBefore = await provider.getBlockNumber();
          const result = await keeperCliInProcess(args, env);
          expect(await provider.getBlockNumber(), "no transaction").to.equal(blockBefore);
          expect(result.stdout).to.equal("");
          return result;
        };

        it("unreachable RPC endpoint", async function () {
          const port = await freePort();
          const result = await run(["--rpc", `http://127.0.0.1:${port}`, "--deployment", deploymentFile], { PRIVATE_KEY: devKey(5) });
          expect(result.code).to.equal(2);
          expect(result.stderr).to.equal(`keeper: cannot reach the RPC endpoint http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
        });

        it("a deployment file of another chain", async function () {
          const file = path.join(tmp, "sepolia.json");
          await writeFile(file, JSON.stringify({ ...deployment, network: "sepolia", chainId: 11155111 }));
          const result = await run(["--rpc", node!.url, "--deployment", file], { PRIVATE_KEY: devKey(5) });
          expect(result.code).to.equal(2);
          expect(result.stderr).to.equal(`keeper: the RPC endpoint serves chain 31337, the deployment is on chain 11155111 (${file})\n`);
        });

        it("a deployment whose contracts are not on this chain (a restarted node)", async function () {
          const file = path.join(tmp, "stale.json");
          const engineAddress = scenario.traderAddress("keeper-test-no-code", 0);
          await writeFile(file, JSON.stringify({ ...deployment, contracts: { ...deployment.contracts, PerpEngine: engineAddress } }));
          const result = await run(["--rpc", node!.url, "--deployment", file], { PRIVATE_KEY: devKey(5) });
          expect(result.code).to.equal(2);
          expect(result.stderr).to.equal(
            `keeper: contracts missing at ${engineAddress} on chain 31337: redeploy or fix --deployment (${file}; a restarted ` +
              "local node needs `npm run deploy -- --network localhost` again)\n",
          );
        });

        it("a missing deployment file, by path and by name", async function () {
          const missing = path.join(tmp, "nope.json");
          const byPath = await run(["--rpc", node!.url, "--deployment", missing], { PRIVATE_KEY: devKey(5) });
          expect(byPath.code).to.equal(2);
          expect(byPath.stderr).to.equal(`keeper: no deployment file at ${missing}\n`);
          const dir = path.join(tmp, "deployments");
          const byName = await run(["--rpc", node!.url, "--deployment", "sepolia"], { PRIVATE_KEY: devKey(5), PERP_DEPLOYMENTS_DIR: dir });
          expect(byName.code).to.equal(2);
          expect(byName.stderr).to.equal(
            `keeper: no deployment for network "sepolia" in ${dir} (found: localhost.json); run \`npm run deploy -- --network <name>\` first\n`,
          );
        });

        it("a key without funds, no key, a malformed key, a bad option", async function () {
          const poor = Wallet.createRandom();
          const unfunded = await run(["--rpc", node!.url, "--deployment", deploymentFile, "--once"], { PRIVATE_KEY: poor.privateKey });
          expect(unfunded.code).to.equal(2);
          expect(unfunded.stderr).to.equal(
            `keeper: the keeper account ${poor.address} has a zero balance on chain 31337: it cannot pay for gas; fund it first\n`,
          );
          expect(unfunded.stderr).to.not.include(poor.privateKey.slice(2));

          const none = await run(["--rpc", node!.url, "--deployment", deploymentFile], {});
          expect(none.code).to.equal(2);
          expect(none.stderr).to.equal("keeper: no key: set PRIVATE_KEY or pass --keystore <NAME> (Hardhat keystore)\n");

          const malformed = await run(["--rpc", node!.url, "--deployment", deploymentFile], { PRIVATE_KEY: "0x1234abcd" });
          expect(malformed.code).to.equal(2);
          expect(malformed.stderr).to.equal("keeper: PRIVATE_KEY is not a private key (expected 32 bytes as 64 hex digits)\n");

          const option = await run(["--rpc", node!.url, "--batch-size", "101"], { PRIVATE_KEY: devKey(5) });
          expect(option.code).to.equal(2);
          expect(option.stderr).to.equal('keeper: --batch-size must be an integer from 1 to 100, not "101"\n');
        });

        it("the key from the Hardhat keystore (development keystore in a temporary config directory)", async function () {
          const config = path.join(tmp, "hardhat-config-home");
          const key = devKey(13);
          // `npx hardhat keystore set --dev NAME`, the value on stdin, into a keystore under XDG_CONFIG_HOME.
          const set = spawn(process.execPath, [HARDHAT_CLI, "keystore", "set", "--dev", "KEEPER_TEST_KEY"], {
            cwd: ROOT,
            env: { ...process.env, XDG_CONFIG_HOME: config },
            stdio: ["pipe", "pipe", "pipe"],
          });
          let output = "";
          set.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
          set.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
          set.stdin.end(`${key}\n`);
          expect(await new Promise((resolve) => set.once("close", resolve)), output).to.equal(0);

          const env = { XDG_CONFIG_HOME: config };
          const args = ["--rpc", node!.url, "--deployment", deploymentFile, "--keystore-dev", "--once"];
          const ok = await runKeeperCli([...args, "--keystore", "KEEPER_TEST_KEY"], env);
          expect(ok.code, ok.stderr).to.equal(0);
          const started = jsonLines(ok.stderr).find((l) => l.msg === "keeper started")!;
          expect(started).to.deep.include({ keeper: new Wallet(key).address, keySource: 'the keystore value "KEEPER_TEST_KEY"' });
          expect(ok.stdout + ok.stderr).to.not.include(key.slice(2));

          // In this process: the keystore is read by a `hardhat keystore get` child, which takes XDG_CONFIG_HOME from
          // this process's environment (set for the call only).
          const saved = process.env.XDG_CONFIG_HOME;
          process.env.XDG_CONFIG_HOME = config;
          const missing = await run([...args, "--keystore", "NOPE"], env).finally(() => {
            if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
            else process.env.XDG_CONFIG_HOME = saved;
          });
          expect(missing.code).to.equal(2);
          expect(missing.stderr).to.equal(
            'keeper: cannot read "NOPE" from the Hardhat development keystore: Key "NOPE" not found in the development keystore\n',
          );
          // The production keystore: none was ever set up here. Read by the keeper's function (scripts/lib/keystore.ts)
          // with a password, as the keeper does after reading it from the terminal or stdin (test/cli.test.ts runs that
          // prompt through a child's stdin); the keeper turns the error into the one line above, exit code 2.
          const production = await readKeystoreValue("KEEPER_TEST_KEY", {
            dev: false,
            password: "",
            env: { ...process.env, XDG_CONFIG_HOME: config },
          }).then(
            () => undefined,
            (error: unknown) => error,
          );
          expect(production).to.be.instanceOf(KeystoreError);
          expect((production as KeystoreError).message).to.equal(
            'cannot read "KEEPER_TEST_KEY" from the Hardhat keystore: No production keystore found. Please set one up ' +
              "using npx hardhat keystore set {key}",
          );
        });
      });
    }
  });
}

/** USD WAD as the summary writes it (plain decimal). */
function ethersFormat(wad: bigint): string {
  const magnitude = wad < 0n ? -wad : wad;
  const fraction = (magnitude % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "");
  return `${wad < 0n ? "-" : ""}${magnitude / 10n ** 18n}${fraction ? `.${fraction}` : ""}`;
}
