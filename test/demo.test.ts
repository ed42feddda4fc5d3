/**
 * `npm start` end to end: the demo's body (`demoMain`, scripts/demo/main.ts, what scripts/demo.ts runs) in this
 * process with its output captured, first on a fresh in-process network, then over a connection to a Hardhat node
 * served from this process on a free port (`--network localhost`, test/helpers/node.ts), with the deployment record and Ignition journal in a temporary directory
 * (the committed deployments/localhost.json is never touched). The entry point itself runs once as a real child
 * `hardhat run --no-compile scripts/demo.ts` (what `npm start` runs, minus the compile step), against a node that
 * cannot be reached: one line on stderr and a non-zero exit code.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { expect } from "chai";
import hre from "hardhat";
import type { NetworkConnectionParams } from "hardhat/types/network";

import type { Deployment } from "@perp/sdk";
import { demoMain } from "../scripts/demo/main.js";
import { freePort, runHardhatScript, type ScriptRun } from "../scripts/lib/nodes.js";
import { startTestNode, type TestNode } from "./helpers/node.js";
import { withDeployEnv, type DeployEnv } from "./helpers/deploy.js";

/** The requirement on the in-process run. */
const MAX_RUNTIME_MS = 60_000;
/** A hung demo must not outlive the test (against a node the demo makes thousands of RPC round trips: minutes on a loaded machine). */
const KILL_AFTER_MS = 240_000;

/** `npm start` as a child process (`hardhat run --no-compile scripts/demo.ts`). */
function runDemoProcess(args: readonly string[], env: Record<string, string> = {}): Promise<ScriptRun> {
  const cleared = { LOCALHOST_RPC_URL: "", PERP_DEPLOYMENTS_DIR: "", PERP_IGNITION_DEPLOYMENTS_DIR: "" };
  return runHardhatScript("scripts/demo.ts", args, { ...cleared, ...env }, KILL_AFTER_MS);
}

/** `demoMain` in this process over a new connection (`network`; default the in-process network), output captured. */
async function runDemo(network?: NetworkConnectionParams, env: DeployEnv = {}): Promise<ScriptRun> {
  const started = performance.now();
  let stdout = "";
  let stderr = "";
  const code = await withDeployEnv(env, () =>
    demoMain(hre, {
      network,
      stdout: { isTTY: false, write: (text: string) => (stdout += text) },
      stderr: (text) => (stderr += text),
    }),
  );
  return { code, stdout, stderr, output: stdout + stderr, ms: performance.now() - started };
}

/** The text from the line starting with `from` up to (not including) the line starting with `to`. */
function between(output: string, from: string, to?: string): string {
  const start = output.indexOf(from);
  expect(start, `no "${from}" in the output:\n${output}`).to.be.greaterThanOrEqual(0);
  const end = to === undefined ? output.length : output.indexOf(to, start);
  expect(end, `no "${to}" after "${from}"`).to.be.greaterThan(start);
  return output.slice(start, end);
}

/** Data rows of the first table in `text`: cells of lines between the heading rule and the closing rule. */
function tableRows(text: string): string[][] {
  const lines = text.split("\n");
  const headRule = lines.findIndex((line) => line.startsWith("├"));
  expect(headRule, `no table in:\n${text}`).to.be.greaterThan(0);
  const rows: string[][] = [];
  for (const line of lines.slice(headRule + 1)) {
    if (!line.startsWith("│")) break;
    rows.push(
      line
        .split("│")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

/** The story from the seed positions to the gas table (which depends on warm or cold storage, not on the story). */
function storyOf(output: string): string {
  return between(output, "== 3. Traders open positions ==", "Gas used per operation");
}

describe("npm start: the demo", function () {
  this.timeout(KILL_AFTER_MS + 30_000);

  let run: ScriptRun;

  before(async function () {
    run = await runDemo();
  });

  it(`runs on a fresh in-process network and exits 0 within ${MAX_RUNTIME_MS / 1000} s`, function () {
    expect(run.code, `${run.stdout}\n${run.stderr}`).to.equal(0);
    expect(run.stderr).to.not.match(/Demo failed/);
    expect(run.ms).to.be.below(MAX_RUNTIME_MS);
    expect(run.stdout).to.match(/^Perp protocol demo on network "default" \(in-process Hardhat network, chain 31337\)$/m);
    // The default local deployment: Pyth markets on the local StrictMockPyth, every trade through the order book.
    expect(run.stdout).to.include("Deployed PerpPythLocal with Ignition (engine in block 6).");
    expect(run.stdout).to.match(/│ OrderBook \(every trade is an order\)\s+│ 0x[0-9a-fA-F]{40} │/);
    // Not a terminal: no progress bar, no colours, no cursor control.
    expect(run.stdout).to.not.include("\u001b");
    for (const heading of [
      "== 1. Deployment ==",
      "== 2. Set-up",
      "== 3. Traders open positions ==",
      "== 4. Price path",
      "== 5. Summary ==",
      "== 6. Trigger orders: stop-loss, take-profit, limit, trailing stop; latency arbitrage ==",
    ]) {
      expect(run.stdout).to.include(heading);
    }
  });

  it("prints the seed positions from the protocol: 2x to 50x, long and short, cross and isolated, both markets", function () {
    const rows = tableRows(between(run.stdout, "== 3. Traders open positions ==", "After the opening trades"));
    // Trader, Market, Side, Mode, Leverage, Margin, Size, Entry, Liq. price, Adverse move
    expect(rows.length).to.be.greaterThanOrEqual(10);
    for (const row of rows) expect(row).to.have.length(10);
    const leverages = rows.map((row) => row[4].split(" ")[0]);
    for (const leverage of ["2x", "5x", "10x", "25x", "50x"]) expect(leverages, leverage).to.include(leverage);
    expect(new Set(rows.map((row) => row[0])).size).to.be.within(6, 10);
    expect(new Set(rows.map((row) => row[1]))).to.deep.equal(new Set(["ETH-USD", "BTC-USD"]));
    expect(new Set(rows.map((row) => row[2]))).to.deep.equal(new Set(["long", "short"]));
    expect(new Set(rows.map((row) => row[3]))).to.deep.equal(new Set(["cross", "isolated"]));
    for (const row of rows) {
      const [, , , , leverage, margin, size, entry, liqPrice, move] = row;
      expect(leverage).to.match(/^\d+x \(\d+\.\dx\)$/);
      expect(margin).to.match(/^[\d,]+\.\d\d\*?$/);
      expect(size).to.match(/^[\d.]+$/);
      expect(entry).to.match(/^\$[\d,]+\.\d\d$/);
      expect(liqPrice).to.match(/^(\$[\d,]+\.\d\d|none)$/);
      expect(move).to.match(/^(\d+\.\d\d %|-)$/);
    }
    // Isolated positions always have a liquidation price; the 50x ones lie about 1 % away.
    for (const row of rows.filter((r) => r[3] === "isolated")) expect(row[8]).to.match(/^\$/);
    for (const row of rows.filter((r) => r[4].startsWith("50x"))) {
      expect(Number.parseFloat(row[9])).to.be.within(0.5, 2);
    }
  });

  it("walks the price path and prints a line per liquidation", function () {
    const path = between(run.stdout, "== 4. Price path", "== 5. Summary ==");
    const steps = path.split("\n").filter((line) => /^\+\d+h\s+ETH \$/.test(line));
    expect(steps.length).to.be.greaterThanOrEqual(4);
    const liquidations = path.split("\n").filter((line) => /^\s+liquidated \w+'s (isolated|cross) /.test(line));
    expect(liquidations.length, path).to.be.greaterThanOrEqual(1);
    for (const line of liquidations) expect(line).to.match(/equity [+-]?[\d,]+\.\d\d -> keeper [\d,]+\.\d\d/);
    expect(path).to.match(/funding per day: ETH-USD [+-]?\d+\.\d{4} %, BTC-USD [+-]?\d+\.\d{4} %/);
  });

  it("ends with the summary: PnL and funding per trader, LP fees, insurance fund, bad debt, keeper, gas", function () {
    const summary = between(run.stdout, "== 5. Summary ==");
    const traders = tableRows(between(summary, "PnL per trader"));
    // Trader, Realised, Unrealised, Fees, Funding paid, Funding received, Liq. penalties, Bad debt, Net result
    expect(traders.length).to.be.greaterThanOrEqual(7);
    expect(traders.at(-1)?.[0]).to.equal("Total");
    for (const row of traders) {
      expect(row).to.have.length(9);
      for (const cell of row.slice(1)) expect(cell).to.match(/^[+-]?[\d,]+\.\d\d( \(\d+\))?$/);
    }
    const head = between(summary, "PnL per trader", "├");
    for (const word of ["Realised", "Unrealised", "Fees", "Funding", "paid", "received", "penalties", "Bad debt", "Net"]) {
      expect(head).to.include(word);
    }

    const items = tableRows(between(summary, "LPs, insurance fund, bad debt and keeper"));
    const item = (pattern: RegExp) => {
      const row = items.find((r) => pattern.test(r[1]));
      expect(row, `no row ${pattern} in ${JSON.stringify(items)}`).to.not.equal(undefined);
      return row![2];
    };
    expect(item(/^Trading fees paid by traders/)).to.match(/^[\d,]+\.\d\d USD$/);
    expect(item(/^NAV: first trade -> now$/)).to.match(/^[\d,]+\.\d\d -> [\d,]+\.\d\d USD$/);
    expect(item(/^Share price/)).to.match(/^\d\.\d{6} -> \d\.\d{6} \([+-]?\d+\.\d{3} %\)$/);
    expect(items.some((r) => r[0] === "Insurance fund")).to.equal(true);
    expect(item(/^First trade -> now$/)).to.match(/^[\d,]+\.\d\d -> [\d,]+\.\d\d USD$/);
    expect(items.some((r) => r[0] === "Bad debt")).to.equal(true);
    expect(item(/^Total \(BadDebtCovered events: \d+\)$/)).to.match(/^[\d,]+\.\d\d USD$/);
    expect(items.some((r) => r[0] === "Keeper")).to.equal(true);
    expect(item(/^Rewards: [1-9]\d* units liquidated/)).to.match(/^[\d,]+\.\d\d USD$/);

    const gas = tableRows(between(summary, "Gas used per operation"));
    const operations = gas.map((row) => row[0]);
    for (const pattern of [
      /^deposit \(cross balance\)$/,
      /^LP deposit/,
      /^trade: commit market order$/,
      /^trade: settle \+ execute: open \(cross\)$/,
      /^trade: settle \+ execute: open \(isolated\)$/,
      /^trade: settle \+ execute: close/,
      /^liquidateMany/,
      /^oracle price update \(pokePrices\)$/,
    ]) {
      expect(operations.some((op) => pattern.test(op)), `${pattern} in ${operations.join(", ")}`).to.equal(true);
    }
    for (const row of gas.slice(0, -1)) expect(row[2]).to.match(/^[\d,]+$/);
  });

  it("trades through orders settled by the keeper: every seed trade and close is a committed market order", function () {
    // 13 opening trades and 3 closes, each committed by its trader and settled by the keeper for the 0.50 USD fee.
    const summary = between(run.stdout, "== 5. Summary ==");
    const gas = tableRows(between(summary, "Gas used per operation"));
    const count = (name: string) => Number(gas.find((row) => row[0] === name)?.[1]);
    expect(count("trade: commit market order")).to.equal(16);
    expect(
      count("trade: settle + execute: open (cross)") +
        count("trade: settle + execute: open (isolated)") +
        count("trade: settle + execute: close (isolated)") +
        count("trade: settle + execute: close (cross)"),
    ).to.equal(16);
    const items = tableRows(between(summary, "LPs, insurance fund, bad debt and keeper"));
    expect(items.find((r) => r[1] === "Order fees: 16 market orders settled")?.[2]).to.equal("8.00 USD");
    expect(items.find((r) => r[1] === "Keeper's cross balance (withdrawable)")?.[2]).to.equal("592.40 USD");
    // The story's numbers, exact (every price published by the demo at times its clock chose).
    const pathLines = between(run.stdout, "+24h ETH", "+30h ETH").trimEnd().split("\n");
    expect(pathLines).to.deep.equal([
      "+24h ETH $1,840.00 (-8.00 %), BTC $57,000.00 (-5.00 %): sell-off deepens",
      "     funding per day: ETH-USD +0.0700 %, BTC-USD +0.0333 %",
      "     liquidated Frank's isolated BTC-USD long 25x: equity -1,366.01 -> keeper 118.75, bad debt 1,484.76",
      "       bad debt 1,484.76 (negative equity + keeper reward) covered by the insurance fund 1,484.76, the vault 0.00",
      "     Grace adds 5,000.00 USD margin to the ETH-USD long: liq. price $1,619.12 -> $1,417.15 (12.00 % -> 22.98 % away)",
    ]);
    expect(between(run.stdout, "     Bob closes", "After the price path").trimEnd().split("\n")).to.deep.equal([
      "     Bob closes the ETH-USD short at $1,860.70: realised PnL +7,002.63 USD, fee 46.52, funding received 108.51",
      "     Frank closes the ETH-USD short at $1,860.77: realised PnL +3,500.82 USD, fee 23.26, funding received 54.25",
      "     Grace closes the BTC-USD short at $56,107.32: realised PnL +1,952.34 USD, fee 14.03, funding received 16.78",
    ]);
    const total = tableRows(between(summary, "PnL per trader")).at(-1);
    expect(total).to.deep.equal(["Total", "-11,952.13", "-75,947.36", "925.48", "1,289.05", "199.66", "1,515.70", "1,484.76", "-89,945.29"]);
  });

  it("ends with orders on a pull oracle: a stop above the liquidation price, OCO, take-profit, limit, trailing stop, no latency arbitrage", function () {
    const chapter = between(run.stdout, "== 6. Trigger orders");
    expect(chapter).to.include(
      "ETH is back at $2,000.00 (BTC held at $56,100.00). Heidi, Ivan, Judy, Ken, Liam deposit 5,000.00 USDC each; each trade below is a market order, settled like those above.",
    );
    // Every number from the chain or the SDK, every block stamped by the demo's clock: the same to the cent each run.
    expect(between(chapter, "ETH $2,000.00: Heidi opens").trimEnd().split("\n")).to.deep.equal([
      "ETH $2,000.00: Heidi opens a 10x isolated long with a bracket; Ivan opens the same long without stops.",
      "     Heidi: filled at $2,000.86, liq. price $1,819.67, stop-loss #650117126219158049033412030756644440320985891116673 at $1,900.00 (above it), take-profit #650117126219158049033412030756644440320985891116672 at $2,200.00 (OCO pair)",
      "     Ivan: filled at $2,000.87, liq. price $1,819.68, no stop",
      "     Judy: 5x isolated short filled at $2,000.87 with a take-profit #740587650353607639906684721816279204044526567639680 at $1,850.00",
      "     Ken: limit buy #416146783437311849785856743977939504481655509871744 of 2 ETH at $1,850.00 (cross)",
      "ETH $1,930.00: the price falls",
      "     keeper: nothing triggers",
      "ETH $1,880.00: through Heidi's stop",
      "     keeper: #650117126219158049033412030756644440320985891116673 stop-loss",
      "     Heidi's stop-loss executed at $1,880.00 (fill $1,880.81, realised -600.23, fee 1.88); take-profit #650117126219158049033412030756644440320985891116672 cancelled (oco-partner-executed)",
      "     Heidi's result: -607.62 USD of her 5,000.00",
      "ETH $1,840.00: Judy's take-profit and Ken's limit",
      "     keeper: #740587650353607639906684721816279204044526567639680 take-profit, #416146783437311849785856743977939504481655509871744 limit",
      "     Judy's take-profit executed at $1,840.00 (realised +400.20, fee 2.30): result +396.40 USD",
      "     Ken's limit filled: long 2 ETH at $1,840.79",
      "ETH $1,815.00: below Ivan's liquidation price",
      "     keeper liquidates Ivan: equity +69.57 -> keeper 9.08, insurance 18.15, Ivan 42.34; Ivan's result -957.66 USD",
      "     the stop-loss saved Heidi 350.04 USD of the 1,000.00 margin vs being liquidated like Ivan",
      "Ken adds a 2 % trailing stop #790291202594022996846000061153307957513574240873600 on his long: high $1,815.00, stop $1,778.70",
      "ETH $1,880.00: the rally",
      "     keeper: nothing triggers; trailing stop at $1,842.40",
      "ETH $1,950.00: the rally extends",
      "     keeper: nothing triggers; trailing stop at $1,911.00",
      "ETH $1,905.00: pullback",
      "     keeper: #790291202594022996846000061153307957513574240873600 trailing-stop",
      "     Ken's trailing stop locked in: result +126.43 USD",
      "ETH $1,905.00: Liam knows the next price is $2,000.00 and commits a 5 ETH market long right before the jump",
      "     order #700413795594992774838642143308344080502566882940672 settles at the first price published once its window opens: $2,000.00, fill $2,000.86",
      "     closes at $2,000.86: realised 0.00; Liam's result after fees -7.00 USD",
    ]);
  });

  it("npm start's entry point, a child process: a node that cannot be reached is one line on stderr and exit code 1", async function () {
    const failed = await runDemoProcess(["--network", "localhost"], {
      LOCALHOST_RPC_URL: `http://127.0.0.1:${await freePort()}`,
    });
    expect(failed.code).to.equal(1);
    const messages = failed.stderr.split("\n").filter((line) => line.startsWith("Demo failed: "));
    expect(messages, failed.stderr).to.have.length(1);
    expect(messages[0]).to.match(/localhost/);
  });

  describe("--network localhost against a hardhat node", function () {
    let node: TestNode | undefined;
    let tmp: string;
    let env: DeployEnv;
    let localhost: NetworkConnectionParams;

    before(async function () {
      tmp = await mkdtemp(path.join(os.tmpdir(), "perp-demo-"));
      node = await startTestNode("hardhat");
      localhost = { network: "localhost", override: { url: node.url } };
      env = {
        PERP_DEPLOYMENTS_DIR: path.join(tmp, "deployments"),
        PERP_IGNITION_DEPLOYMENTS_DIR: path.join(tmp, "ignition"),
      };
    });

    after(async function () {
      await node?.stop();
      if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    });

    it("deploys to a fresh node, records the deployment and tells the same story as in process", async function () {
      const first = await runDemo(localhost, env);
      expect(first.code, `${first.stdout}\n${first.stderr}`).to.equal(0);
      expect(first.stdout).to.match(/^Perp protocol demo on network "localhost" \(JSON-RPC node, chain 31337\)$/m);
      expect(first.stdout).to.include("Deployed PerpPythLocal with Ignition");
      const deployment = JSON.parse(await readFile(path.join(tmp, "deployments", "localhost.json"), "utf8")) as Deployment;
      expect(first.stdout).to.include(deployment.contracts.PerpEngine);
      // Same code, same inputs, block timestamps chosen by the demo: the same numbers, to the cent.
      expect(storyOf(first.stdout)).to.equal(storyOf(run.stdout));
      // The trigger-order chapter too.
      expect(between(first.stdout, "== 6. Trigger orders")).to.equal(between(run.stdout, "== 6. Trigger orders"));
    });

    it("runs again on the same node: reuses the deployment and starts from zero", async function () {
      const second = await runDemo(localhost, env);
      expect(second.code, `${second.stdout}\n${second.stderr}`).to.equal(0);
      expect(second.stdout).to.match(/matches the chain/);
      expect(second.stdout).to.not.include("Deployed PerpPythLocal");
      expect(second.stdout).to.match(/An earlier run left \d+ open position\(s\)/);
      // The traders' story does not depend on what an earlier run left behind.
      const pnl = (output: string) => tableRows(between(output, "PnL per trader"));
      expect(pnl(second.stdout)).to.deep.equal(pnl(run.stdout));
    });
  });
});
