/**
 * The CLI's and the keeper's defaults on the default local deployment, end to end, as the README's quick start runs
 * them: a Hardhat node (served from this process, test/helpers/node.ts) mining a block every second, `npm run price-service -- --chain-rpc … --interval 1` in its
 * own process, `npm run deploy` (its body in this process, test/helpers/deploy.ts; PerpPythLocal with the order book; its record names that price service as
 * `hermesUrl`), then the CLI (in this process) and the keeper (`npm run keeper -- --once`, a child process):
 *
 * - the keeper, with no price option, settles the LP's due deposit request at the record's price service;
 * - `perp open` commits a market order and, on a local chain, settles it itself at the first price published once
 *   its window opens; `perp close` the same;
 * - `--self-settle` and `--wait-keeper` exclude each other.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { expect } from "chai";
import { JsonRpcProvider } from "ethers";

import type { Deployment } from "@perp/sdk";
import { LiquidityVault__factory, PerpEngine__factory } from "@perp/sdk/contracts";

import { CLI_ENV, runCliInProcess } from "./helpers/cli.js";
import { devWallet } from "../scripts/lib/dev.js";
import { ROOT, freePort, rpc } from "../scripts/lib/nodes.js";
import { startTestNode, type TestNode } from "./helpers/node.js";
import { deployInProcess } from "./helpers/deploy.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const WAD = 10n ** 18n;

/** A CLI run in this process with exactly `env` for the variables it reads. */
const perp = (args: string[], env: Record<(typeof CLI_ENV)[number], string | undefined>): Promise<Run> => runCliInProcess(args, env);

/** A child process's output, once it exits (killed after `timeoutMs`). */
function collect(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `npm run price-service` as a child process; resolves once it listens. */
function startPriceServiceProcess(port: number, chainRpc: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "scripts/price-service/main.ts", "--port", String(port), "--feeds", "ETH/USD=2000,BTC/USD=60000", "--chain-rpc", chainRpc, "--interval", "1"],
    { cwd: ROOT, env: process.env, stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("price service on http://")) resolve(child);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("close", (code) => reject(new Error(`the price service exited (${code}):\n${output}`)));
  });
}

describe("CLI and keeper defaults on the default local deployment (order book, local price service)", function () {
  this.timeout(240_000);

  let node: TestNode | undefined;
  let service: ChildProcess | undefined;
  let tmp: string;
  let deploymentsDir: string;
  let deployment: Deployment;
  let provider: JsonRpcProvider;
  let serviceUrl: string;
  const lp = devWallet(2);
  const trader = devWallet(3);
  const keeper = devWallet(4);
  const env = (key: string) => ({ RPC_URL: node!.url, LOCALHOST_RPC_URL: undefined, PERP_DEPLOYMENTS_DIR: deploymentsDir, PRIVATE_KEY: key });

  async function ok(args: string[], key: string): Promise<Run> {
    const run = await perp(args, env(key));
    expect(run.code, `perp ${args.join(" ")}\n${run.stdout}\n${run.stderr}`).to.equal(0);
    return run;
  }

  before(async function () {
    tmp = await mkdtemp(path.join(os.tmpdir(), "perp-cli-orders-"));
    deploymentsDir = path.join(tmp, "deployments");
    node = await startTestNode("hardhat");
    // A block every second: chain time moves as on a live chain, so settlement windows open without help.
    await rpc(node.url, "evm_setIntervalMining", [1000]);
    const port = await freePort();
    serviceUrl = `http://127.0.0.1:${port}`;
    service = await startPriceServiceProcess(port, node.url);
    const run = await deployInProcess(node.url, {
      PERP_DEPLOYMENTS_DIR: deploymentsDir,
      PERP_IGNITION_DEPLOYMENTS_DIR: path.join(tmp, "ignition"),
      PERP_PRICE_SERVICE_URL: serviceUrl,
    });
    expect(run.code, run.output).to.equal(0);
    deployment = JSON.parse(await readFile(path.join(deploymentsDir, "localhost.json"), "utf8")) as Deployment;
    provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
  });

  after(async function () {
    provider?.destroy();
    service?.kill("SIGTERM");
    await node?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it("records the price service it listed from, and the order book", function () {
    expect(deployment.hermesUrl).to.equal(serviceUrl);
    expect(deployment.contracts.OrderBook).to.match(/^0x[0-9a-fA-F]{40}$/);
  });

  it("the keeper settles the LP's due deposit request with prices from the record's price service", async function () {
    await ok(["faucet", "100000"], lp.privateKey);
    await ok(["lp", "deposit", "50000"], lp.privateKey);
    const vault = LiquidityVault__factory.connect(deployment.contracts.LiquidityVault, provider);
    await rpc(node!.url, "evm_increaseTime", [Number(await vault.lpSettleDelay())]);
    await rpc(node!.url, "evm_mine");

    const keeperEnv: NodeJS.ProcessEnv = { ...process.env, PERP_DEPLOYMENTS_DIR: deploymentsDir, PRIVATE_KEY: keeper.privateKey };
    delete keeperEnv.PERP_PRICES_URL;
    const run = await collect(["--import", "tsx", "scripts/keeper/main.ts", "--rpc", node!.url, "--once"], keeperEnv, 120_000);
    expect(run.code, `${run.stdout}\n${run.stderr}`).to.equal(0);
    expect(run.stderr).to.include(`"prices":"${serviceUrl}"`);
    const summary = JSON.parse(run.stdout) as { orders: { lpDue: number; lpSettled: number; lpFees: string; errors: string[] } };
    expect(summary.orders).to.include({ lpDue: 1, lpSettled: 1, lpFees: "500000" });
    expect(summary.orders.errors).to.deep.equal([]);
    const claimable = await vault.claimableDeposit(lp.address);
    expect(claimable.assets).to.equal(50_000n * 10n ** 6n);

    const claim = await ok(["lp", "claim", "deposit"], lp.privateKey);
    expect(claim.stdout).to.match(/^Claimed 50,000\.00 shares \/ 50,000\.00 USDC \(deposit\)/);
  });

  it("perp open commits a market order and settles it itself on a local chain; perp close too", async function () {
    await ok(["faucet", "10000"], trader.privateKey);
    await ok(["deposit", "5000"], trader.privateKey);
    const open = await ok(["open", "ETH", "long", "--margin", "500", "--leverage", "5", "--yes"], trader.privateKey);
    // A market order's id is seq << 168 | trader << 8 | marketId (the book's storage location, docs/orders.md "Gas").
    const marketOrderId = (seq: bigint) => (seq << 168n) | (BigInt(trader.address) << 8n);
    expect(open.stderr).to.include(`Committed order #${marketOrderId(1n)} (keeper fee 0.50 USD in escrow); settling it with the price source…`);
    // 1.25 ETH at the index $2,000 plus the skew premium (0.625 / 1,000,000 of the index): $2,000.00125.
    expect(open.stdout).to.match(
      new RegExp(`: order #${marketOrderId(1n)} executed at \\$2,000\\.00 \\(published [0-9T:-]+Z\\), keeper fee 0\\.50 USD: filled at \\$2,000\\.0013, fee 1\\.25 USD`),
    );
    const engine = PerpEngine__factory.connect(deployment.contracts.PerpEngine, provider);
    expect((await engine.getPosition(trader.address, 0)).size).to.equal((125n * WAD) / 100n);
    // Settling itself, the trader got the keeper fee back; the taker fee is 0.05 % of the fill's notional,
    // 1.25 x 2,000.00125 = 2,500.0015625 USD: 1.25000078125 USD.
    expect((await engine.getAccount(trader.address)).crossBalance).to.equal(5_000n * WAD - 1_250_000_781_250_000_000n);

    const close = await ok(["close", "ETH", "--yes"], trader.privateKey);
    expect(close.stderr).to.include(`Committed order #${marketOrderId(2n)} (keeper fee 0.50 USD in escrow); settling it with the price source…`);
    expect(close.stdout).to.match(new RegExp(`: order #${marketOrderId(2n)} executed at \\$2,000\\.00 `));
    expect((await engine.getPosition(trader.address, 0)).size).to.equal(0n);
  });

  it("refuses --self-settle with --wait-keeper, before sending anything", async function () {
    const nonce = await provider.getTransactionCount(trader.address, "latest");
    const run = await perp(["open", "ETH", "long", "--size", "1", "--yes", "--self-settle", "--wait-keeper"], env(trader.privateKey));
    expect(run).to.deep.equal({ code: 2, stdout: "", stderr: "error: --self-settle and --wait-keeper exclude each other.\n" });
    expect(await provider.getTransactionCount(trader.address, "latest")).to.equal(nonce);
  });
});
