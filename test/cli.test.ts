/**
 * The trader CLI (`@perp/cli`, scripts/cli/) against a Hardhat node served from this process (test/helpers/node.ts),
 * with the protocol deployed by the deploy script's body (test/helpers/deploy.ts) into a temporary directory. Commands run in this process (`main(argv, io)`, environment
 * set for the run), except where the process boundary is the point: no terminal on stdin (confirmations) and the
 * keystore's password prompt, which spawn `node --import tsx scripts/cli/main.ts`. The key comes from the
 * environment (a dev account derived at runtime) or from a Hardhat keystore in a temporary config directory; no
 * output may ever contain it.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { expect } from "chai";
import { JsonRpcProvider } from "ethers";

import { PerpClient, formatPercent, toWad, type Deployment } from "@perp/sdk";
import { loadDeployment } from "@perp/sdk/node";
import { requireLocalChain } from "../scripts/cli/context.js";
import { CLI_ENV, runCliInProcess } from "./helpers/cli.js";
import { devWallet } from "../scripts/lib/dev.js";
import { MockAggregator__factory, MockUSDC__factory } from "@perp/sdk/contracts";
import { HARDHAT_CLI, ROOT, freePort } from "../scripts/lib/nodes.js";
import { startTestNode, type TestNode } from "./helpers/node.js";
import { KeystoreError, readKeystoreValue } from "../scripts/lib/keystore.js";
import { deployInProcess } from "./helpers/deploy.js";

const CLI = path.join(ROOT, "scripts", "cli", "main.ts");
const USDC = 10n ** 6n;
/** One CLI run may not take longer than this (it takes well under a second). */
const RUN_TIMEOUT_MS = 30_000;

const wad = toWad;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  /** PRIVATE_KEY: the trader's by default; `null` for none. */
  key?: string | null;
  env?: Record<string, string | undefined>;
  /** Written to stdin (otherwise stdin is /dev/null: not a terminal). Implies a child process. */
  input?: string;
  /** Run in a child process whose stdin is not a terminal (confirmations), even without `input`. */
  spawn?: boolean;
  /** Run in a child process whose stdout's reader has gone (implies a child process). */
  closedStdout?: boolean;
}

/**
 * Spawns a process, collecting its output; killed if it outlives RUN_TIMEOUT_MS. With `closedStdout`, the read end of
 * its stdout is closed before it starts, as `perp ... | head` leaves it once head has its lines: every write gets EPIPE.
 */
function collect(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string, closedStdout = false): Promise<Run> {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  if (closedStdout) child.stdout!.destroy();
  else child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  if (input !== undefined) child.stdin?.end(input);
  const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI in this process with `env` as its environment variables (restored afterwards). */
function runInProcess(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return runCliInProcess(args, env);
}

describe("trader CLI: arguments refused before any connection", function () {
  // No node runs here: these are refused before the CLI reads the RPC URL.
  const nowhere = { RPC_URL: "http://127.0.0.1:1", PRIVATE_KEY: undefined, PERP_DEPLOYMENTS_DIR: undefined };

  it("needs --yes for a slippage above 5 %, for open and close alike", async function () {
    const message = "error: a slippage of 50% accepts a fill that far from the quote; above 5 % pass --yes to confirm it is meant\n";
    expect(await runInProcess(["open", "ETH", "long", "--size", "1", "--slippage", "50%"], nowhere)).to.deep.equal({
      code: 1,
      stdout: "",
      stderr: message,
    });
    const close = await runInProcess(["close", "ETH", "--slippage", "5.01%"], nowhere);
    expect([close.code, close.stderr]).to.deep.equal([1, message.replace("50%", "5.01%")]);
    // At the bound, or with --yes, it goes on (to the endpoint, which is not there).
    for (const args of [["close", "ETH", "--slippage", "5%"], ["close", "ETH", "--slippage", "50%", "--yes"]]) {
      expect((await runInProcess(args, nowhere)).stderr).to.match(/^error: cannot reach the RPC endpoint http:\/\/127\.0\.0\.1:1 /);
    }
  });

  it("tells a wrong EIP-55 checksum from a malformed address", async function () {
    const good = devWallet(9).address;
    // Flip the case of one letter: still 40 hex digits, but the checksum no longer matches.
    const i = [...good].findIndex((ch, n) => n > 1 && /[a-f]/i.test(ch));
    const typo = good.slice(0, i) + (good[i] === good[i].toUpperCase() ? good[i].toLowerCase() : good[i].toUpperCase()) + good.slice(i + 1);
    const run = await runInProcess(["withdraw", "1", "--to", typo], nowhere);
    expect(run).to.deep.equal({
      code: 2,
      stdout: "",
      stderr:
        `error: option '--to <address>' argument '${typo}' is invalid. the mixed-case checksum (EIP-55) does not match: ` +
        "check the address for a typo (all lower-case skips the check).\n",
    });
    // All lower-case carries no checksum and is accepted (the run goes on to the endpoint).
    const lower = await runInProcess(["withdraw", "1", "--to", typo.toLowerCase()], nowhere);
    expect(lower.stderr).to.match(/^error: cannot reach the RPC endpoint/);
  });

  it("refuses malformed order arguments (prices, trailing distance, ids, URLs) with a usage error", async function () {
    const usage = async (args: string[], stderr: string) =>
      expect(await runInProcess(args, nowhere), args.join(" ")).to.deep.equal({ code: 2, stdout: "", stderr: `error: ${stderr}\n` });
    await usage(["order", "stop", "ETH", "0"], "command-argument value '0' is invalid for argument 'price'. the trigger price must be positive.");
    await usage(
      ["open", "ETH", "long", "--size", "1", "--sl", "abc"],
      `option '--sl <price>' argument 'abc' is invalid. the stop-loss price must be a decimal number (invalid amount "abc": not a decimal number).`,
    );
    await usage(
      ["order", "trail", "ETH", "0%"],
      "command-argument value '0%' is invalid for argument 'distance'. the trailing distance must be between 0.01% and 99.99%.",
    );
    await usage(
      ["order", "trail", "ETH", "2.005%"],
      "command-argument value '2.005%' is invalid for argument 'distance'. the trailing distance must be a percentage such as 2% or 150bps (finer than 0.01 %).",
    );
    await usage(["order", "cancel", "1.5"], "command-argument value '1.5' is invalid for argument 'id'. an order id is a whole number from 1, e.g. 7.");
    await usage(["order", "update", "3"], "give --price, --size or --acceptable");
    await usage(["order", "settle", "3", "--prices", "ftp://x"], "option '--prices <url>' argument 'ftp://x' is invalid. the URL must be http or https.");
    // Well-formed: it goes on to the endpoint (which is not there).
    expect((await runInProcess(["order", "trail", "ETH", "150bps"], nowhere)).stderr).to.match(/^error: cannot reach the RPC endpoint/);
  });

  it("refuses the local-only commands on any other chain", function () {
    expect(() => requireLocalChain({ chainId: 11155111, network: "sepolia" }, "dev set-price (the mock oracle's open setter)")).to.throw(
      `dev set-price (the mock oracle's open setter) works on local development chains only (chain 31337 or 1337); "sepolia" is chain 11155111`,
    );
    expect(() => requireLocalChain({ chainId: 31337, network: "localhost" }, "faucet")).to.not.throw();
  });

  it("formats small funding rates with their sign and two significant digits", function () {
    expect(formatPercent(-67n * 10n ** 11n)).to.equal("-0.00067 %"); // -0.00067 %/day
    expect(formatPercent(5n * 10n ** 12n, 4)).to.equal("0.0005 %");
    expect(formatPercent(85n * 10n ** 10n)).to.equal("0.000085 %");
    expect(formatPercent(123n * 10n ** 14n)).to.equal("1.23 %");
    expect(formatPercent(-5n * 10n ** 15n)).to.equal("-0.50 %");
    expect(formatPercent(0n)).to.equal("0.00 %");
  });
});

/** Runs `hardhat keystore set <name>` in `configHome`, answering its prompts one at a time as they appear. */
async function keystoreSet(configHome: string, name: string, password: string, value: string): Promise<void> {
  const child = spawn(process.execPath, [HARDHAT_CLI, "keystore", "set", name], {
    cwd: ROOT,
    env: { ...process.env, XDG_CONFIG_HOME: configHome, NO_COLOR: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let answered = 0;
  const prompts = /(Enter the password|confirm your password|Enter secret to store[^:]*): /g;
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    const seen = stdout.match(prompts) ?? [];
    for (; answered < seen.length; answered++) {
      const secret = seen[answered].startsWith("Enter secret");
      child.stdin.write(`${secret ? value : password}\n`);
      if (secret) child.stdin.end();
    }
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  clearTimeout(timer);
  expect(code, "hardhat keystore set").to.equal(0);
}

describe("trader CLI (scripts/cli) against a hardhat node", function () {
  this.timeout(90_000);

  let node: TestNode | undefined;
  let tmp: string;
  let provider: JsonRpcProvider;
  let deployment: Deployment;
  let deploymentsDir: string;
  const deployer = devWallet(0);
  const lp = devWallet(2);
  const trader = devWallet(3);
  const victim = devWallet(4);
  const receiver = devWallet(9).address;
  const keystoreAccount = devWallet(8);
  /** Every byte any CLI run printed, to check that no key ever appears. */
  const printed: string[] = [];

  /** One CLI run: in this process, or a child process where stdin or another variable matters. */
  async function perp(args: string[], options: RunOptions = {}): Promise<Run> {
    const key = options.key === undefined ? trader.privateKey : options.key;
    const vars: Record<string, string | undefined> = {
      RPC_URL: node!.url,
      PERP_DEPLOYMENTS_DIR: deploymentsDir,
      PRIVATE_KEY: key ?? undefined,
      ...options.env,
    };
    const inProcess =
      options.input === undefined && !options.spawn && !options.closedStdout && Object.keys(vars).every((name) => (CLI_ENV as readonly string[]).includes(name));
    let run: Run;
    if (inProcess) {
      run = await runInProcess(args, vars);
    } else {
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
      delete env.PRIVATE_KEY;
      for (const [name, value] of Object.entries(vars)) if (value === undefined) delete env[name]; else env[name] = value;
      run = await collect(process.execPath, ["--import", "tsx", CLI, ...args], env, options.input, options.closedStdout);
    }
    printed.push(run.stdout, run.stderr);
    return run;
  }

  /** A successful run; its output in the failure message otherwise. */
  async function ok(args: string[], options?: RunOptions): Promise<Run> {
    const run = await perp(args, options);
    expect(run.code, `perp ${args.join(" ")}\n${run.stdout}\n${run.stderr}`).to.equal(0);
    expect(run.stderr).to.equal("");
    return run;
  }

  async function okJson<T>(args: string[], options?: RunOptions): Promise<T> {
    return JSON.parse((await ok([...args, "--json"], options)).stdout) as T;
  }

  const engine = () => PerpClient.connect({ runner: provider, deployment }).then((client) => client.engine);

  before(async function () {
    tmp = await mkdtemp(path.join(os.tmpdir(), "perp-cli-"));
    deploymentsDir = path.join(tmp, "deployments");
    node = await startTestNode("hardhat");
    const run = await deployInProcess(node.url, {
      // v1: the Chainlink-priced engine without an order book (the local default is PerpPythLocal).
      PERP_MODULE: "PerpLocal",
      PERP_DEPLOYMENTS_DIR: deploymentsDir,
      PERP_IGNITION_DEPLOYMENTS_DIR: path.join(tmp, "ignition"),
    });
    expect(run.code, run.output).to.equal(0);
    deployment = loadDeployment("localhost", deploymentsDir);
    provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    const usdc = MockUSDC__factory.connect(deployment.contracts.CollateralToken, deployer.connect(provider));
    for (const account of [lp, victim]) await (await usdc.mint(account.address, 1_000_000n * USDC)).wait();
  });

  after(async function () {
    provider?.destroy();
    await node?.stop();
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
  });

  it("deposits USDC (approval and permit) and LP liquidity", async function () {
    // An ERC-7540 request: settled by anyone lpSettleDelay later (here the LP itself), then claimed.
    const lpRun = await ok(["lp", "deposit", "100000"], { key: lp.privateKey });
    const client = await PerpClient.connect({ runner: provider, deployment });
    const pending = await client.vault.pendingDeposit(lp.address);
    const stamp = (t: bigint) => new Date(Number(t) * 1000).toISOString().replace("T", " ").slice(0, 19);
    expect(lpRun.stdout).to.match(
      new RegExp(
        `^Requested to deposit 100000 USDC in 0x[0-9a-f]{64} \\(block \\d+\\); settleable from ` +
          `${stamp(pending.requestedAt + 60n)} UTC, cancellable from ${stamp(pending.requestedAt + 3600n)} UTC ` +
          `\\(keeper fee 0\\.50 USDC escrowed\\)\\n$`,
      ),
    );
    await provider.send("evm_increaseTime", [60]);
    await provider.send("evm_mine", []);
    const settled = await ok(["lp", "settle", "deposit", lp.address], { key: lp.privateKey });
    expect(settled.stdout).to.match(new RegExp(`^Settled the deposit request of ${lp.address} in 0x[0-9a-f]{64} \\(block \\d+\\)\\n$`));
    const claimed = await ok(["lp", "claim", "deposit"], { key: lp.privateKey });
    expect(claimed.stdout).to.match(/^Claimed 100,000\.00 shares \/ 100,000\.00 USDC \(deposit\) in 0x[0-9a-f]{64} \(block \d+\)\n$/);
    // The claim starts the vault's one-day cooldown: the shares unlock a day after the claim's block.
    const unlocksAt = (await client.vault.lastDepositAt(lp.address)) + (await client.vault.lpCooldown());
    expect(await client.vault.lpCooldown()).to.equal(86_400n);
    const until = stamp(unlocksAt);
    const vaultView = (await ok(["vault"], { key: lp.privateKey })).stdout;
    expect(vaultView).to.match(new RegExp(`│ Your cooldown ends\\s+│ ${until} UTC\\s+│`));
    expect(vaultView).to.match(/│ You can withdraw now\s+│ 0\.00 USDC\s+│/);
    expect(await client.vault.balanceOf(lp.address)).to.equal(100_000n * 10n ** 12n);

    const faucet = await ok(["faucet", "1,000,000"]);
    expect(faucet.stdout).to.match(/^Minted 1,000,000 USDC in 0x[0-9a-f]{64} \(block \d+\); wallet 1,000,000\.00 USDC\n$/);
    const nonce = await provider.getTransactionCount(trader.address);
    const deposit = await okJson<{ action: string; permit: boolean; transaction: { status: number }; crossBalance: string }>([
      "deposit",
      "2000",
    ]);
    expect(deposit).to.deep.include({ action: "deposit", permit: false, crossBalance: wad("2000").toString() });
    expect(deposit.transaction.status).to.equal(1);
    expect(await provider.getTransactionCount(trader.address), "approve + deposit").to.equal(nonce + 2);

    const permit = await ok(["deposit", "500", "--permit"]);
    expect(permit.stdout).to.match(/^Deposited 500 USDC \(permit\) in 0x[0-9a-f]{64} \(block \d+\); cross balance 2,500\.00 USD\n$/);
    expect(await provider.getTransactionCount(trader.address), "one transaction").to.equal(nonce + 3);
    const [crossBalance] = await (await engine()).getAccount(trader.address);
    expect(crossBalance).to.equal(wad("2500"));
  });

  it("quotes without sending, then opens with --yes --json exactly as quoted", async function () {
    const nonce = await provider.getTransactionCount(trader.address);
    const args = ["ETH", "long", "--margin", "500", "--leverage", "10x", "--isolated"];
    type Quote = Record<string, string | number | boolean>;
    const quoted = await okJson<{ quote: Quote }>(["quote", ...args]);
    // 500 USD x 10 / $2,000 = 2.5 ETH; fill 2000 * (1 + 1.25 / 1,000,000); taker fee 0.05 %; slippage 0.5 %.
    const expected = {
      marketId: 0,
      symbol: "ETH-USD",
      side: "long",
      isolated: true,
      sizeDelta: wad("2.5").toString(),
      size: wad("2.5").toString(),
      marginDelta: wad("500").toString(),
      indexPrice: wad("2000").toString(),
      fillPrice: wad("2000.0025").toString(),
      notional: wad("5000.00625").toString(),
      fee: wad("2.500003125").toString(),
      acceptablePrice: wad("2010.0025125").toString(),
      fundingRatePerDay: "0",
      fundingRatePerDayAfter: wad("0.000005").toString(),
      newSize: wad("2.5").toString(),
    };
    expect(quoted.quote).to.deep.include(expected);
    expect(quoted.quote.rejection).to.equal(undefined);
    expect(await provider.getTransactionCount(trader.address), "quote sends nothing").to.equal(nonce);

    const opened = await okJson<{
      quote: Quote;
      transaction: { blockNumber: number; status: number };
      executed: Record<string, string | boolean>;
      position: Record<string, string | boolean>;
    }>(["open", ...args, "--yes"]);
    expect(opened.quote).to.deep.include(expected);
    expect(opened.quote.liquidationPrice).to.equal(quoted.quote.liquidationPrice);
    expect(opened.transaction.status).to.equal(1);
    expect(opened.executed).to.deep.include({
      fillPrice: expected.fillPrice,
      fee: expected.fee,
      sizeDelta: expected.sizeDelta,
      newSize: expected.sizeDelta,
      isolated: true,
    });
    expect(opened.position).to.deep.include({ size: expected.sizeDelta, side: "long", isolated: true, symbol: "ETH-USD" });
    expect(await provider.getTransactionCount(trader.address)).to.equal(nonce + 1);

    const e = await engine();
    const position = await e.getPosition(trader.address, 0);
    expect(position.size).to.equal(wad("2.5"));
    expect(position.entryPrice).to.equal(wad("2000.0025"));
    expect(position.margin).to.equal(wad("497.499996875"));
    // A fresh position owes no funding: the quoted liquidation price is the engine's at the trade's block.
    expect(opened.quote.liquidationPrice).to.equal(
      (await e.liquidationPrice(trader.address, 0, { blockTag: opened.transaction.blockNumber })).toString(),
    );
  });

  it("shows positions, account and markets, as JSON and as aligned tables", async function () {
    const e = await engine();
    const json = await okJson<{ trader: string; blockNumber: number; positions: Record<string, unknown>[] }>(["positions"]);
    expect(json.trader).to.equal(trader.address);
    expect(json.positions).to.have.length(1);
    const [p] = json.positions;
    const tag = { blockTag: json.blockNumber };
    expect(p).to.deep.include({ marketId: 0, size: wad("2.5").toString(), margin: wad("497.499996875").toString() });
    expect(p.liquidationPrice).to.equal((await e.liquidationPrice(trader.address, 0, tag)).toString());
    expect(p.accruedFunding).to.equal((await e.pendingFunding(trader.address, 0, tag)).toString());

    const table = (await ok(["positions"])).stdout.split("\n");
    expect(table[1]).to.match(/Market\s+│ Side\s+│ Mode\s+│\s+Size │\s+Entry │\s+Notional │\s+Margin │\s+uPnL │ Funding owed │\s+Liq\. price │ Distance │ Status/);
    expect(table[3]).to.match(/│ ETH-USD │ long │ isolated │ 2\.5 ETH │ \$2,000\.0025 │ 5,000\.00 USD │ 497\.50 USD │ .* │ ok\s+│$/);
    // Read-only with another account's address: no key needed.
    const byAddress = await okJson<{ positions: unknown[] }>(["positions", "--trader", trader.address], { key: null });
    expect(byAddress.positions).to.have.length(1);
    // --funding: what the position paid so far, settled (its opening trade settled none) + accrued.
    const funded = await okJson<{ blockNumber: number; positions: Record<string, string>[] }>(["positions", "--funding"]);
    const owed = (await e.pendingFunding(trader.address, 0, { blockTag: funded.blockNumber })).toString();
    expect(funded.positions[0]).to.deep.include({ fundingPaid: "0", fundingTotal: owed, accruedFunding: owed });
    expect((await ok(["positions", "--funding"])).stdout).to.match(/\nETH-USD: funding paid so far -?[\d.,]+ USD \(settled 0\.00 USD, accrued -?[\d.,]+ USD\)\n?$/);

    const account = (await ok(["account"])).stdout;
    expect(account).to.match(/│ Cross balance\s+│ 2,000\.00 USD\s+│/);
    expect(account).to.match(/│ Isolated margin\s+│ 497\.50 USD\s+│/);
    expect(account).to.match(/│ Wallet\s+│ 997,500\.00 USDC\s+│/);

    // The deployment by name (in PERP_DEPLOYMENTS_DIR) rather than by the endpoint's chain id.
    const markets = (await ok(["markets", "--deployment", "localhost"], { key: null })).stdout;
    expect(markets).to.match(/│ 0\s+│ ETH-USD │\s+\$2,000\.00 │\s+2\.5 ETH │\s+0 ETH │\s+\+0\.0005 %\/day │\s+50x │/);
    expect(markets).to.match(/│ 1\s+│ BTC-USD │\s+\$60,000\.00 │\s+0 BTC │\s+0 BTC │\s+0\.0000 %\/day │\s+50x │/);
    // Without RPC_URL, LOCALHOST_RPC_URL (the variable Hardhat's localhost network reads) names the node, any port.
    const viaLocalhost = await okJson<{ markets: unknown[] }>(["markets"], { key: null, env: { RPC_URL: undefined, LOCALHOST_RPC_URL: node!.url } });
    expect(viaLocalhost.markets).to.have.length(2);
    const vault = await okJson<{ nav: string; totalSupply: string }>(["vault"], { key: null });
    expect(vault.totalSupply).to.equal((100_000n * 10n ** 12n).toString());
  });

  it("moves margin, closes the position and withdraws to another address", async function () {
    const e = await engine();
    await ok(["add-margin", "ETH", "100"]);
    expect((await e.getPosition(trader.address, 0)).margin).to.equal(wad("597.499996875"));
    const removed = await ok(["remove-margin", "eth-usd", "50"]);
    expect(removed.stdout).to.match(/^Removed 50 USD from ETH-USD in 0x[0-9a-f]{64} \(block \d+\); margin 547\.50 USD, est\. liquidation \$[\d,.]+ \([\d.]+ % away\)\n$/);
    const margin = (await e.getPosition(trader.address, 0)).margin;
    expect(margin).to.equal(wad("547.499996875"));
    const [before] = await e.getAccount(trader.address);
    expect(before).to.equal(wad("1950"));

    // Like open, close shows its quote and asks; with no terminal to ask on it refuses and sends nothing.
    const unconfirmed = await perp(["close", "ETH"], { spawn: true });
    expect(unconfirmed.code).to.equal(1);
    expect(unconfirmed.stdout).to.match(/│ Close\s+│ ETH-USD long position \(isolated\)\s+│/);
    expect(unconfirmed.stderr).to.equal("error: refusing to send without confirmation: stdin is not a terminal (pass --yes to confirm)\n");
    expect((await e.getPosition(trader.address, 0)).size).to.equal(wad("2.5"));

    const closed = await okJson<{ executed: Record<string, string> }>(["close", "ETH", "--yes"]);
    expect(closed.executed).to.deep.include({ sizeDelta: (-wad("2.5")).toString(), newSize: "0", fillPrice: wad("2000.0025").toString() });
    expect(closed.executed.fee).to.equal(wad("1.00000125").toString()); // maker 0.02 % of 5,000.00625
    expect((await e.getPosition(trader.address, 0)).size).to.equal(0n);
    const [after] = await e.getAccount(trader.address);
    const { fundingPaid, realizedPnl, fee } = closed.executed;
    expect(after).to.equal(before + margin - BigInt(fundingPaid) + BigInt(realizedPnl) - BigInt(fee));

    const usdc = MockUSDC__factory.connect(deployment.contracts.CollateralToken, provider);
    const withdrawn = await ok(["withdraw", "1000", "--to", receiver]);
    expect(withdrawn.stdout).to.match(new RegExp(`^Withdrew 1000 USDC to ${receiver} in 0x[0-9a-f]{64} \\(block \\d+\\); cross balance [\\d,]+\\.\\d\\d USD\\n$`));
    expect(await usdc.balanceOf(receiver)).to.equal(1000n * USDC);
    expect((await e.getAccount(trader.address))[0]).to.equal(after - wad("1000"));
  });

  it("refuses bad arguments with one line on stderr, sending nothing", async function () {
    const wrongChain = path.join(tmp, "wrong-chain.json");
    await writeFile(wrongChain, JSON.stringify({ ...deployment, chainId: 1 }));
    const empty = path.join(tmp, "empty");
    await mkdir(empty);
    const closedPort = await freePort();
    const malformedKey = trader.privateKey.slice(0, -2);
    // A cross BTC position, so that an isolated trade in BTC meets the engine's mode check. Its quote labels the
    // leverage as the cross account's.
    const crossQuote = (await ok(["quote", "BTC", "long", "--size", "0.01"])).stdout;
    expect(crossQuote).to.match(/│ Quote\s+│ BTC-USD long \(cross\)\s+│/);
    expect(crossQuote).to.match(/│ Account leverage\s+│ 0\.\d\dx\s+│/);
    await ok(["open", "BTC", "long", "--size", "0.01", "--yes"]);
    const [crossBalance] = await (await engine()).getAccount(trader.address);
    const cases: [string[], RunOptions, number, string][] = [
      [["open", "DOGE", "long", "--size", "1", "--yes"], {}, 1, 'unknown market "DOGE"; listed: ETH-USD, BTC-USD'],
      [["open", "ETH", "long", "--size", "-1", "--yes"], {}, 1, "the size must be positive"],
      [["open", "ETH", "short", "--size", "0", "--yes"], {}, 1, "the size must be positive"],
      [["open", "ETH", "long", "--margin", "100", "--leverage", "51", "--yes"], {}, 1, "leverage 51x is above ETH-USD's maximum of 50x"],
      // A rejected trade: one line with the rule and its numbers. The initial margin is valued at the index price:
      // 2 % of 1,000 ETH x $2,000 plus 2 % of the cross BTC position's 0.01 x $60,000 = 40,012 USD. The equity is the
      // cross balance less the opening fee (0.05 % of about 2,001,000 USD) and the BTC position's closing costs.
      [["open", "ETH", "long", "--size", "1000", "--yes"], {}, 1, "the engine would reject this trade: TradeBelowInitialMargin: after this trade, equity at close prices [\\d,]+.\\d\\d USD < initial margin 40,012.00 USD: add margin or trade smaller"],
      [
        ["open", "ETH", "long", "--size", "6000", "--yes"],
        {},
        1,
        "the engine would reject this trade: OpenInterestCapExceeded: market 0 long open interest would be 6,000, above the cap 5,000",
      ],
      [
        ["open", "BTC", "long", "--size", "0.01", "--isolated", "--yes"],
        {},
        1,
        "the engine would reject this trade: PositionModeMismatch: the open position in market 1 is cross: trade it as cross (a position keeps its margin mode until it is closed)",
      ],
      [
        ["open", "ETH", "long", "--size", "1.2.3", "--yes"],
        {},
        2,
        `option '--size <n>' argument '1.2.3' is invalid. the size must be a decimal number (invalid amount "1.2.3": not a decimal number).`,
      ],
      [
        ["deposit", "12abc"],
        {},
        2,
        `command-argument value '12abc' is invalid for argument 'amount'. the amount must be a decimal number (invalid amount "12abc": not a decimal number).`,
      ],
      [["deposit", "1.0000001"], {}, 1, 'invalid amount "1.0000001": more than 6 decimals'],
      [["withdraw", "0"], {}, 1, "the amount must be positive"],
      [["faucet", "-5"], {}, 1, "the amount must be positive"],
      [["withdraw", "1", "--to", "0x1234"], {}, 2, "option '--to <address>' argument '0x1234' is invalid. not an address (0x followed by 40 hex digits)."],
      [["open", "ETH", "long", "--yes"], {}, 2, "give --size <n>, or --margin <usd> with --leverage <x>"],
      [["open", "ETH", "long", "--size", "1", "--leverage", "2", "--yes"], {}, 2, "give either --size, or --margin with --leverage, not both --size and --leverage"],
      [["open", "ETH", "long", "--size", "1", "--margin", "100", "--yes"], {}, 2, "--margin with --size moves margin into an isolated position: add --isolated"],
      [["open", "ETH"], {}, 2, "missing required argument 'side'"],
      [["open", "ETH", "up", "--size", "1"], {}, 2, "command-argument value 'up' is invalid for argument 'side'. Allowed choices are long, short."],
      [["open", "ETH", "long", "--sise", "1"], {}, 2, "unknown option '--sise' (Did you mean --size?)"],
      [["frobnicate"], {}, 2, "unknown command 'frobnicate'"],
      [["--deployment", wrongChain, "markets"], {}, 1, "the RPC endpoint serves chain 31337, the deployment is on chain 1"],
      [
        ["markets"],
        { env: { PERP_DEPLOYMENTS_DIR: empty } },
        1,
        `no deployment for chain 31337 in ${empty} (found: none); run \`npm run deploy -- --network <name>\` first`,
      ],
      [["--deployment", path.join(empty, "nope.json"), "markets"], {}, 1, `no deployment file at ${path.join(empty, "nope.json")}`],
      [
        ["markets"],
        { env: { RPC_URL: `http://127.0.0.1:${closedPort}` } },
        1,
        `cannot reach the RPC endpoint http://127.0.0.1:${closedPort} (ECONNREFUSED); is the node running?`,
      ],
      [["deposit", "1"], { key: null }, 1, "this command needs a key: set PRIVATE_KEY or use --keystore <NAME>"],
      [["deposit", "1"], { key: malformedKey }, 1, "PRIVATE_KEY is not a private key (expected 32 bytes as 64 hex digits)"],
      [["positions"], { key: null }, 1, "positions needs an account: pass --trader <address>, set PRIVATE_KEY or use --keystore <NAME>"],
      [["liquidate", trader.address, "ETH"], {}, 1, `${trader.address} has no position in ETH-USD: nothing to liquidate`],
      [["adl", receiver, "BTC"], {}, 1, `${receiver} has no position in BTC-USD: nothing to deleverage`],
    ];
    const nonce = await provider.getTransactionCount(trader.address);
    const block = await provider.getBlockNumber();
    // In this process, one after another (each run sets the environment variables it reads).
    const runs: Run[] = [];
    for (const [args, options] of cases) runs.push(await perp(args, options));
    cases.forEach(([args, , code, message], i) => {
      const run = runs[i];
      const label = `perp ${args.join(" ")}`;
      if (message.startsWith("the engine would reject")) {
        expect(run.stderr, label).to.match(new RegExp(`^error: ${message.replace(/[().]/g, "\\$&")}\n$`));
      } else {
        expect(run.stderr, label).to.equal(`error: ${message}\n`);
      }
      expect(run.code, label).to.equal(code);
      expect(run.stdout, label).to.equal("");
    });
    expect((await (await engine()).getAccount(trader.address))[0], "cross balance").to.equal(crossBalance);
    expect(runs.map((r) => r.stderr).join(""), "no part of a malformed key is echoed").to.not.include(malformedKey.slice(2, 22));

    // Without --yes and without a terminal: the quote is shown, then a refusal (never a hang).
    const unconfirmed = await perp(["open", "ETH", "long", "--size", "1"], { spawn: true });
    expect(unconfirmed.code).to.equal(1);
    expect(unconfirmed.stdout).to.match(/│ Quote\s+│ ETH-USD long \(cross\)\s+│/);
    expect(unconfirmed.stderr).to.equal("error: refusing to send without confirmation: stdin is not a terminal (pass --yes to confirm)\n");
    const unconfirmedJson = await perp(["open", "ETH", "long", "--size", "1", "--json"], { spawn: true });
    expect([unconfirmedJson.code, unconfirmedJson.stdout]).to.deep.equal([1, ""]);
    expect(unconfirmedJson.stderr).to.equal(unconfirmed.stderr);

    expect(await provider.getTransactionCount(trader.address), "nonce").to.equal(nonce);
    expect(await provider.getBlockNumber(), "no block mined").to.equal(block);
  });

  it("liquidates an unhealthy position", async function () {
    // The victim opens a 45x isolated long through the SDK; a keeper uses the CLI.
    const client = await PerpClient.connect({ runner: victim.connect(provider), deployment });
    await client.deposit("300");
    await client.trade({ market: "ETH", side: "long", margin: "200", leverage: 45, isolated: true });
    const healthy = await perp(["liquidate", victim.address, "ETH"]);
    expect(healthy.code).to.equal(1);
    expect(healthy.stderr).to.match(
      new RegExp(`^error: NotLiquidatable: ${victim.address} in market 0 is not liquidatable: equity [\\d,]+\\.\\d\\d USD >= maintenance [\\d,]+\\.\\d\\d USD\\n$`),
    );

    // The mock oracle moved through the CLI (any key may set a local mock).
    const moved = await ok(["dev", "set-price", "ETH", "1970"]);
    expect(moved.stdout).to.match(/^Set ETH-USD's mock oracle to 1970 USD in 0x[0-9a-f]{64} \(block \d+\); index price \$1,970\.00\n$/);
    const aggregator = MockAggregator__factory.connect(deployment.markets[0].aggregator, provider);
    expect((await aggregator.latestRoundData())[1]).to.equal(1970n * 10n ** 8n);
    const [before] = await (await engine()).getAccount(trader.address);
    const result = await okJson<{ liquidations: Record<string, string>[] }>(["liquidate", victim.address, "ETH"]);
    expect(result.liquidations).to.have.length(1);
    // Keeper reward: 0.1 % of 4.5 ETH at $1,970.
    expect(result.liquidations[0]).to.deep.include({ trader: victim.address, marketId: 0, keeper: trader.address, keeperReward: wad("8.865").toString() });
    expect((await (await engine()).getPosition(victim.address, 0)).size).to.equal(0n);
    expect((await (await engine()).getAccount(trader.address))[0]).to.equal(before + wad("8.865"));

    // Auto-deleveraging is refused while traders' profit is within what the vault can pay: the engine's numbers.
    const e = await engine();
    const adl = await perp(["adl", trader.address, "BTC"]);
    expect([adl.code, adl.stdout]).to.deep.equal([1, ""]);
    expect(adl.stderr).to.match(/^error: DeleverageNotNeeded: traders' profit -?[\d,]+\.\d\d USD is within the limit [\d,]+\.\d\d USD\n$/);
    expect((await e.getPosition(trader.address, 1)).size).to.equal(wad("0.01"));

    // The victim's history from the events: its trade, the close at the index and the liquidation, with totals.
    type Event = Record<string, string | number | boolean>;
    const history = await okJson<{ events: Event[]; totals: Record<string, string> }>(["history", "--trader", victim.address], { key: null });
    expect(history.events.map((ev) => ev.name)).to.deep.equal(["PositionModified", "PositionClosedAtIndex", "Liquidated"]);
    const [opened, closedAt, liquidated] = history.events;
    expect(opened).to.deep.include({ trader: victim.address, marketId: "0", sizeDelta: wad("4.5").toString() });
    // Closed at its close fill (RT-02): $1,970 plus the premium of the long skew it leaves, not the bare index.
    expect(closedAt).to.deep.include({ marketId: "0", size: wad("4.5").toString(), price: wad("1970.0044325").toString() });
    expect(liquidated).to.deep.include({ keeper: trader.address, keeperReward: wad("8.865").toString() });
    expect(history.totals.fees).to.equal(opened.fee);
    expect(BigInt(history.totals.realizedPnl)).to.equal(BigInt(opened.realizedPnl) + BigInt(closedAt.realizedPnl));
    const text = (await ok(["history", "--trader", victim.address], { key: null })).stdout;
    expect(text).to.match(/│ +\d+ │ buy +│ ETH-USD +│ +4\.5 ETH │/);
    expect(text).to.match(/│ +│ total +│/);
  });

  it("reads the key from Hardhat's keystore (password on stdin here, on the terminal for a user)", async function () {
    const configHome = path.join(tmp, "xdg-config");
    const password = "a keystore password";
    await keystoreSet(configHome, "PERP_CLI_TEST_KEY", password, keystoreAccount.privateKey);
    const env = { XDG_CONFIG_HOME: configHome };
    const account = await okJson<{ trader: string }>(["account", "--keystore", "PERP_CLI_TEST_KEY"], {
      key: null,
      env,
      input: `${password}\n`,
    });
    expect(account.trader).to.equal(keystoreAccount.address);

    const wrong = await perp(["account", "--keystore", "PERP_CLI_TEST_KEY"], { key: null, env, input: "not the password\n" });
    expect(wrong.code).to.equal(1);
    expect(wrong.stdout).to.equal("");
    expect(wrong.stderr).to.match(/^error: cannot read "PERP_CLI_TEST_KEY" from the Hardhat keystore: .*Invalid password.*\n$/);
    // A missing key: the same path (the CLI prints the KeystoreError after "error: ", as above), read here without a
    // CLI process around the `hardhat keystore get` child.
    const missing = await readKeystoreValue("NO_SUCH_KEY", { dev: false, password, env: { ...process.env, ...env } }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(missing).to.be.instanceOf(KeystoreError);
    expect((missing as KeystoreError).message).to.equal(
      'cannot read "NO_SUCH_KEY" from the Hardhat keystore: Key "NO_SUCH_KEY" not found in the production keystore',
    );
  });

  it("piped to a reader that stops early (perp ... | head), drops the rest of its output, not the command: the deposit lands, exit 0", async function () {
    const [before] = await (await engine()).getAccount(trader.address);
    const run = await perp(["deposit", "25"], { closedStdout: true });
    expect([run.code, run.stderr]).to.deep.equal([0, ""]);
    const [after] = await (await engine()).getAccount(trader.address);
    expect(after - before).to.equal(wad("25"));
  });

  it("never prints a private key", function () {
    expect(printed.length).to.be.greaterThan(40);
    const everything = printed.join("\n").toLowerCase();
    for (const wallet of [lp, trader, victim, keystoreAccount]) {
      expect(everything).to.not.include(wallet.privateKey.slice(2).toLowerCase());
    }
  });
});
