/**
 * The trading page in a real browser: Debian's Chromium driven by playwright-core, the page built by Vite and served
 * by `vite preview`, an injected test wallet signing with a dev key, against anvil running the order-book deployment
 * with the local price service and the order keeper (web/scripts/stack.ts). Each scenario uses its own trader.
 * Screenshots go to docs/web/ (the README shows them). With WRITE_BENCH=1 the measured numbers go to bench/web.json.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";

import AxeBuilder from "@axe-core/playwright";
import { expect } from "chai";
import { JsonRpcProvider, Wallet, ZeroAddress } from "ethers";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { preview, type PreviewServer } from "vite";

import {
  PerpClient,
  PerpContractError,
  formatDecimal,
  formatPercent,
  formatPrice,
  formatSize,
  formatTokenUnits,
  formatUsd,
  getPriceTimes,
  toWad,
  tokenUnits,
  type MarginChangeQuote,
  type TradeRequest,
} from "@perp/sdk";
import { LiquidityVault__factory, MockUSDC__factory } from "@perp/sdk/contracts";
import { PYTH_FEED_IDS } from "@perp/sdk/prices";

import { installWallet, type TestWallet } from "../web/e2e/wallet.js";
import { ROOT, startStack, type Stack } from "../web/scripts/stack.js";

const WEB = path.join(ROOT, "web");
const DIST = path.join(WEB, "dist");
// The screenshots the README shows are committed: a test run writes them there only with WRITE_SHOTS=1 (as
// WRITE_BENCH=1 for bench/web.json), else to a temporary directory, so that `npm test` leaves the tree as it was.
const SHOTS = process.env.WRITE_SHOTS === "1" ? path.join(ROOT, "docs", "web") : path.join(os.tmpdir(), "perp-web-shots");
// The ports of this suite (anvil, price service, page): three from WEB_TEST_PORT (default 65445), apart from every
// other suite's node.
const BASE_PORT = Number(process.env.WEB_TEST_PORT ?? 65445);
const RPC_PORT = BASE_PORT;
const PRICE_PORT = BASE_PORT + 1;
const PAGE_PORT = BASE_PORT + 2;
const execFileAsync = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const BUNDLE_LIMIT_GZIP = 250 * 1024;
const QUOTE_LIMIT_MS = 100;

describe("web: the trading page in Chromium", function () {
  this.timeout(300_000);
  let stack: Stack;
  let server: PreviewServer;
  let browser: Browser;
  let nextTrader = 0;
  let started = 0;
  const bench: Record<string, unknown> = {};

  before(async function () {
    started = Date.now();
    // The stack (anvil, deployment, price service, keeper), the page's build and the browser start side by side.
    const [stackStarted, , launched] = await Promise.all([
      startStack({
        rpcPort: RPC_PORT,
        pricePort: PRICE_PORT,
        deploymentFile: path.join(ROOT, "cache", "web-test-deployment.json"),
        // Chain time at twice the wall clock's: the 2 s settlement delay of each of the file's market orders passes
        // in 1 s (the settlement window, 30 chain seconds, still lasts 15 s of wall time for the keeper).
        clockSpeed: 2,
        // WEB_TEST_LOG=1 shows the node, deploy and keeper output.
        log: process.env.WEB_TEST_LOG === "1" ? (line) => console.error(line) : undefined,
      }),
      // Asynchronous (a synchronous build would block the event loop, and the stack's start-up with it).
      execFileAsync("npx", ["vite", "build", "--logLevel", "warn"], { cwd: WEB, env: { ...process.env, NODE_ENV: "production" } }),
      chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
      }),
    ]);
    stack = stackStarted;
    browser = launched;
    writeFileSync(path.join(DIST, "deployments.local.json"), JSON.stringify(stack.deployment));
    server = await preview({ root: WEB, logLevel: "warn", preview: { port: PAGE_PORT, host: "127.0.0.1", strictPort: true } });
    mkdirSync(SHOTS, { recursive: true });
    bench.setupSeconds = round((Date.now() - started) / 1000);
  });

  after(async function () {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.httpServer.close(() => resolve()) : resolve()));
    await stack?.stop();
    bench.suiteSeconds = round((Date.now() - started) / 1000);
    if (process.env.WRITE_BENCH === "1") writeFileSync(path.join(ROOT, "bench", "web.json"), JSON.stringify(bench, null, 2) + "\n");
  });

  /** No serious or critical axe-core violation on the screen; every violation found goes to the benchmark. */
  async function expectAccessible(page: Page, screen: string) {
    const axe = await new AxeBuilder({ page }).analyze();
    const found = axe.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
    ((bench.axe ??= []) as unknown[]).push({ screen, violations: found });
    expect(found.filter((v) => v.impact === "serious" || v.impact === "critical")).to.deep.equal([]);
  }

  /** A fresh page with a test wallet of the next unused dev account, connected, on `chainId`. */
  /**
   * A fresh page with a test wallet of the next unused dev account, connected, on `chainId`. With `deposit`, the
   * account is funded first through the SDK (test USDC minted, then deposited), for scenarios that are not about
   * the faucet or the deposit screens (those have their own tests): two transactions instead of four page actions.
   */
  async function open(options: { chainId?: number; viewport?: { width: number; height: number }; deposit?: string } = {}) {
    const key = stack.traderKeys[nextTrader++];
    const trader = await PerpClient.connect({ runner: new Wallet(key, new JsonRpcProvider(stack.rpcUrl, stack.chainId, { staticNetwork: true, cacheTimeout: -1 })), deployment: stack.deployment });
    if (options.deposit !== undefined) {
      await (await MockUSDC__factory.connect(stack.deployment.contracts.CollateralToken, trader.signer!).mint(await trader.address(), tokenUnits(options.deposit))).wait();
      await trader.deposit(options.deposit);
    }
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
    const wallet = await installWallet(page, { rpcUrl: stack.rpcUrl, privateKey: key, chainId: options.chainId ?? stack.chainId, nodeChainId: stack.chainId });
    await page.goto(`http://127.0.0.1:${PAGE_PORT}/`);
    await page.getByRole("button", { name: "Connect Test Wallet" }).click();
    // Connected: the read-only view before it is gone (its header and ticket would otherwise match the same test ids).
    await page.getByTestId("account").waitFor();
    if (options.deposit !== undefined) await waitText(page.getByTestId("cross-balance"), formatUsd(toWad(options.deposit)));
    return { page, wallet, trader };
  }

  async function fundAndDeposit(page: Page, amount: string) {
    await page.getByRole("button", { name: "Faucet" }).click();
    await waitText(page.getByTestId("notice"), "Faucet: 10,000 test USDC and 10 ETH for gas sent to your wallet.");
    await page.getByLabel("Amount (USDC)").fill(amount);
    await page.getByRole("button", { name: "Deposit", exact: true }).click();
    await waitText(page.getByTestId("notice"), "Deposit: done.");
  }

  /**
   * Fills the ticket, reads the summary, checks it against the SDK's own quote, confirms, waits for the keeper. With
   * `showsPending`, the keeper is paused until the page has shown the order waiting for it (otherwise the keeper may
   * settle it before the page draws that state, which is correct and would make the check a race).
   */
  async function trade(page: Page, trader: PerpClient, request: TradeRequest & { market: number; margin: string; leverage: number; showsPending?: boolean }) {
    const symbol = stack.deployment.markets[request.market].symbol;
    await page.getByRole("navigation", { name: "Markets" }).getByRole("button", { name: symbol }).click();
    await waitText(page.getByTestId("market-header").getByRole("heading"), symbol);
    await page.getByRole("button", { name: request.side === "long" ? "Long" : "Short", exact: true }).click();
    await page.getByRole("button", { name: request.isolated ? "Isolated" : "Cross", exact: true }).click();
    await page.getByLabel("Margin (USD)").fill(request.margin);
    await setSlider(page.getByLabel(/^Leverage/), request.leverage);
    await page.getByLabel("Stop-loss (USD)").fill(String(request.stopLoss ?? ""));
    await page.getByLabel("Take-profit (USD)").fill(String(request.takeProfit ?? ""));
    await waitText(page.getByTestId("quote-leverage"), /×/);
    const { showsPending: _, ...quoted } = request;
    const expected = await trader.quoteTrade({ ...quoted, leverage: String(request.leverage) });
    await waitText(page.getByTestId("quote-fill"), formatPrice(expected.fillPrice));
    expect(await page.getByTestId("quote-fee").textContent()).to.equal(formatUsd(expected.fee));
    expect(expected.liquidationPrice).to.not.equal(0n);
    expect(await page.getByTestId("quote-liq").textContent()).to.match(new RegExp(`^${escape(formatPrice(expected.liquidationPrice))} \\(`));
    expect(await page.getByTestId("quote-keeper-fee").textContent()).to.equal(formatUsd(expected.orderFees));
    await page.getByRole("button", { name: new RegExp(`^Review ${request.side}`) }).click();
    const review = page.getByTestId("review");
    expect(await review.getByTestId("review-quote-fill").textContent()).to.equal(formatPrice(expected.fillPrice));
    expect(await review.getByTestId("review-quote-fee").textContent()).to.equal(formatUsd(expected.fee));
    if (request.showsPending) stack.pauseKeeper();
    try {
      await review.getByRole("button", { name: "Confirm" }).click();
      if (request.showsPending) {
        await waitText(page.getByTestId("pending-order"), /^Order #\d+ is waiting for a keeper: it settles at the first price published after /);
        await waitText(page.getByTestId("notice"), /^Order #\d+ committed; waiting for a keeper to settle it…$/);
      }
    } finally {
      if (request.showsPending) stack.resumeKeeper();
    }
    await waitText(page.getByTestId("notice"), /^Order #\d+ filled/);
    await page.getByTestId("pending-order").waitFor({ state: "detached" });
    return expected;
  }

  it("shows the market, the chart, the LP vault and a quote read-only without a wallet, with a call to connect one", async function () {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message) => void (message.type() === "error" && problems.push(`console: ${message.text()}`)));
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("response", (response) => void (response.status() >= 400 && problems.push(`${response.status()} ${response.url()}`)));
    await page.goto(`http://127.0.0.1:${PAGE_PORT}/`);
    const view = page.getByTestId("read-only");
    await waitText(page.getByRole("banner"), /No browser wallet found: install MetaMask or Rabby\./);

    // The header is the chain's, read by the SDK: index price to the cent, the oracle's age, the maximum leverage.
    const reader = await PerpClient.connect({ runner: stack.provider, deployment: stack.deployment });
    const eth = await reader.market("ETH-USD");
    await waitText(view.getByTestId("header-index"), new RegExp(`^${escape(formatPrice(eth.price))} oracle \\d+ s ago$`));
    expect(await view.getByTestId("header-max-leverage").textContent()).to.equal(`${String(eth.maxLeverage)}×`);
    await waitText(view.getByTestId("header-oi"), `${formatSize(eth.state.longOpenInterest)} long / ${formatSize(eth.state.shortOpenInterest)} short ETH`);
    await view.getByTestId("chart").locator("canvas").first().waitFor();
    expect(Number(await view.getByTestId("chart").getAttribute("data-points")) > 0).to.equal(true);
    await waitQuoted(view.getByTestId("vault-nav"), async () => formatUsd((await reader.vaultState()).nav));
    await waitQuoted(view.getByTestId("vault-share-price"), async () => formatDecimal(await reader.vaultSharePrice(), 18, 2, 6));

    // The ticket quotes its default (a 100 USD cross long at 5x) for a new account that deposits the margin and the
    // keeper fees: what a real account funded with exactly that is quoted by the SDK, to the cent.
    const request = { market: 0, side: "long", margin: "100", leverage: "5", isolated: false, slippage: "0.5%" } as const;
    const fees = (await reader.quoteTrade(request, ZeroAddress)).orderFees;
    const key = stack.traderKeys[nextTrader++];
    const funded = await PerpClient.connect({ runner: new Wallet(key, new JsonRpcProvider(stack.rpcUrl, stack.chainId, { staticNetwork: true, cacheTimeout: -1 })), deployment: stack.deployment });
    const deposit = formatDecimal(toWad("100") + fees, 18, 0, 6).replace(/,/g, "");
    await (await MockUSDC__factory.connect(stack.deployment.contracts.CollateralToken, funded.signer!).mint(await funded.address(), tokenUnits(deposit))).wait();
    await funded.deposit(deposit);
    await waitText(view.getByTestId("quote-basis"), `Quoted for a new account that deposits ${formatUsd(toWad(deposit))}: the margin and the order's keeper fees.`);
    await waitQuoted(view.getByTestId("quote-liq"), async () => {
      const q = await funded.quoteTrade(request);
      expect(q.rejection).to.equal(undefined);
      expect(q.liquidationPrice).to.not.equal(0n);
      return `${formatPrice(q.liquidationPrice)} (${formatPercent(q.liquidationDistance)} away)`;
    });
    await waitQuoted(view.getByTestId("quote-fill"), async () => formatPrice((await funded.quoteTrade(request)).fillPrice));
    await waitQuoted(view.getByTestId("quote-fee"), async () => formatUsd((await funded.quoteTrade(request)).fee));
    expect(await view.getByTestId("rejection").count()).to.equal(0);
    // No wallet to send with: the call to action stands where Review would.
    expect(await view.getByTestId("connect-cta").first().textContent()).to.equal("Connect a wallet to trade: install MetaMask or Rabby, then reload this page.");
    expect(await page.getByRole("button", { name: /^Review / }).count()).to.equal(0);
    await page.screenshot({ path: path.join(SHOTS, "00-read-only.png"), fullPage: true });
    await expectAccessible(page, "read-only, no wallet");
    expect(problems).to.deep.equal([]);
    await context.close();
  });

  it("says in words when the vault cannot be read, keeps trying at each block, and recovers", async function () {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const vault = stack.deployment.contracts.LiquidityVault.toLowerCase();
    let refusing = true;
    // The node refuses every request that reads the vault (HTTP 503, as an overloaded endpoint does): answered here,
    // in the browser's network layer.
    await page.route(
      (url) => url.port === String(RPC_PORT),
      async (route) => {
        const body = route.request().postDataJSON() as { id: number; method: string; params?: { to?: string }[] } | { id: number; method: string; params?: { to?: string }[] }[];
        const calls = Array.isArray(body) ? body : [body];
        if (!refusing || !calls.some((c) => c.method === "eth_call" && c.params?.[0]?.to?.toLowerCase() === vault)) return route.continue();
        await route.fulfill({ status: 503, contentType: "text/plain", headers: { "access-control-allow-origin": "*" }, body: "overloaded" });
      },
    );
    await page.goto(`http://127.0.0.1:${PAGE_PORT}/`);
    const overview = page.getByTestId("vault-overview");
    await waitText(overview.getByTestId("vault-read-error"), "Reading the vault failed: Server response 503 Service Unavailable. The page tries again at the next block.");
    expect(await overview.getByTestId("vault-nav").count()).to.equal(0);
    refusing = false;
    const reader = await PerpClient.connect({ runner: stack.provider, deployment: stack.deployment });
    await waitQuoted(overview.getByTestId("vault-nav"), async () => formatUsd((await reader.vaultState()).nav));
    expect(await overview.getByTestId("vault-read-error").count()).to.equal(0);
    await context.close();
  });

  it("finds the wallet through EIP-6963, shows the wrong network and switches to the deployment's", async function () {
    const { page, wallet } = await open({ chainId: 1 });
    await waitText(page.getByTestId("wrong-network"), /^Wrong network: the protocol is not deployed on Ethereum\. Switch to Local/);
    await page.screenshot({ path: path.join(SHOTS, "01-wrong-network.png") });
    await page.getByRole("button", { name: "Switch to Local (anvil / Hardhat)" }).click();
    await waitText(page.getByTestId("header-index"), /^\$2,000\.00 /);
    expect(await page.getByTestId("wrong-network").count()).to.equal(0);
    expect(await page.getByTestId("account").textContent()).to.contain(`${wallet.address.slice(0, 6)}…${wallet.address.slice(-4)} on Local (anvil / Hardhat) via Test Wallet`);
    expect(wallet.calls).to.include("wallet_switchEthereumChain");
    // The header's oracle age is block time minus the adapter's publish time (the SDK's getPriceTimes).
    const times = await getPriceTimes({ deployment: stack.deployment, provider: stack.provider });
    const published = BigInt(stack.prices.points(PYTH_FEED_IDS["ETH/USD"]).at(-1)!.publishTime);
    expect(times.get(0)! <= published).to.equal(true);
    await waitText(page.getByTestId("oracle-age"), /^oracle \d+ s ago$/);
    await page.context().close();
  });

  it("deposits by approve and by permit, and a rejected signature is a note, not an error", async function () {
    const { page, wallet, trader } = await open();
    await fundAndDeposit(page, "1000");
    await waitText(page.getByTestId("cross-balance"), "1,000.00 USD");
    // The faucet's gas: the node's anvil_setBalance, asked through the wallet; the wallet then paid the mint and the
    // deposit's gas out of the 10 ETH.
    expect(wallet.calls).to.include("anvil_setBalance");
    const gas = await stack.provider.getBalance(wallet.address);
    expect(gas < 10n ** 19n && gas > 10n ** 19n - 10n ** 17n).to.equal(true);
    await page.getByLabel("Amount (USDC)").fill("500");
    await page.getByRole("button", { name: "Deposit (permit)" }).click();
    await waitText(page.getByTestId("notice"), "Deposit with permit: done.");
    await waitText(page.getByTestId("cross-balance"), "1,500.00 USD");
    // With no position the whole balance is free and the health bar is full.
    await waitText(page.getByTestId("free-collateral"), "1,500.00 USD");
    expect(await page.getByTestId("health-text").textContent()).to.equal("no open position");
    expect(await page.getByTestId("health-bar").evaluate((el) => (el as HTMLMeterElement).value)).to.equal(1);
    expect(wallet.calls).to.include("eth_signTypedData_v4");
    expect((await trader.account()).crossBalance).to.equal(1500n * 10n ** 18n);
    wallet.rejectNext();
    await page.getByRole("button", { name: "Withdraw" }).click();
    await waitText(page.getByTestId("notice"), "Withdraw: you rejected the request in your wallet; nothing was sent.");
    expect(await page.getByTestId("notice").getAttribute("class")).to.equal("notice info");
    await page.context().close();
  });

  it("opens a cross long and an isolated short whose fill, fee and liquidation price equal the SDK's quote; adds and removes margin; closes", async function () {
    const { page, trader } = await open();
    await fundAndDeposit(page, "2000");
    await trade(page, trader, { market: 0, side: "long", margin: "1000", leverage: 10, isolated: false, showsPending: true });
    await page.getByTestId("position-ETH-USD").waitFor();
    // The account panel's free collateral and health are the SDK's accountSummary of the page's snapshot.
    await waitQuoted(page.getByTestId("free-collateral"), async () => formatUsd((await trader.accountSummary()).freeCollateral));
    await waitQuoted(page.getByTestId("health-text"), async () => formatPercent((await trader.accountSummary()).health, 0));
    // The chart (its own chunk, loaded on demand) draws the entry, liquidation, stop and target lines.
    await page.getByTestId("chart").locator("canvas").first().waitFor();
    await page.screenshot({ path: path.join(SHOTS, "02-trade.png"), fullPage: true });

    const short = await trade(page, trader, { market: 1, side: "short", margin: "300", leverage: 3, isolated: true });
    const row = page.getByTestId("position-BTC-USD");
    await row.waitFor();
    let btc = (await trader.positions()).find((p) => p.marketId === 1)!;
    expect(btc.side).to.equal("short");
    expect(btc.size).to.equal(short.sizeDelta);
    await waitText(row.getByTestId("pos-margin"), formatUsd(btc.margin));
    await waitText(row.getByTestId("pos-liq"), new RegExp(`^${escape(formatPrice(btc.liquidationPrice))}`));

    // Each margin move is previewed from the page's snapshot: the SDK's quoteMarginChange, shown to the cent.
    const marginBefore = btc.margin;
    const margins = page.getByTestId("margin-BTC-USD");
    const amountField = margins.getByLabel("Margin amount for BTC-USD (USD)");
    await amountField.fill("50");
    await waitQuoted(margins.getByTestId("margin-preview-add"), async () => marginPreview("After adding", await trader.quoteMarginChange({ market: 1, action: "add", amount: "50" })));
    await waitQuoted(margins.getByTestId("margin-preview-remove"), async () => marginPreview("After removing", await trader.quoteMarginChange({ market: 1, action: "remove", amount: "50" })));
    await page.screenshot({ path: path.join(SHOTS, "08-margin-preview.png"), fullPage: true });
    await margins.getByRole("button", { name: "Add margin" }).click();
    await waitText(page.getByTestId("notice"), "Add margin: done.");
    btc = (await trader.positions()).find((p) => p.marketId === 1)!;
    expect(btc.margin).to.equal(marginBefore + 50n * 10n ** 18n);
    await amountField.fill("20");
    await margins.getByRole("button", { name: "Remove margin" }).click();
    await waitText(page.getByTestId("notice"), "Remove margin: done.");
    btc = (await trader.positions()).find((p) => p.marketId === 1)!;
    expect(btc.margin).to.equal(marginBefore + 30n * 10n ** 18n);

    // A removal the engine would refuse is explained in its words, and its button stays disabled.
    await amountField.fill("100000");
    await waitText(margins.getByTestId("margin-preview-remove"), `After removing: RemovalExceedsMargin: the isolated margin in market 1 is ${formatUsd(btc.margin)}, less than the 100,000.00 USD asked`);
    await waitText(margins.getByTestId("margin-preview-add"), /^After adding: InsufficientCrossBalance: cross balance [\d,.]+ USD < 100,000\.00 USD$/);
    expect(await margins.getByRole("button", { name: "Remove margin" }).isDisabled()).to.equal(true);
    expect(await margins.getByRole("button", { name: "Add margin" }).isDisabled()).to.equal(true);
    const most = formatDecimal(btc.margin - 10n ** 18n, 18, 0, 2).replace(/,/g, "");
    await amountField.fill(most);
    await waitQuoted(margins.getByTestId("margin-preview-remove"), async () => {
      const q = await trader.quoteMarginChange({ market: 1, action: "remove", amount: most });
      expect(q.rejection).to.equal("RemovalBelowInitialMargin");
      return `After removing: ${q.explanation!}`;
    });
    expect(await margins.getByRole("button", { name: "Remove margin" }).isDisabled()).to.equal(true);

    await page.getByTestId("position-ETH-USD").getByRole("button", { name: "Close", exact: true }).click();
    await waitText(page.getByTestId("notice"), /^Closed ETH-USD at \$/);
    expect((await trader.positions()).map((p) => p.symbol)).to.deep.equal(["BTC-USD"]);
    await page.context().close();
  });

  it("closes part of a position: what remains is the position less the part; a part as large as the position is refused in words", async function () {
    const { page, trader } = await open({ deposit: "1000" });
    const opened = await trade(page, trader, { market: 0, side: "long", margin: "500", leverage: 4, isolated: false });
    const row = page.getByTestId("position-ETH-USD");
    await row.waitFor();
    await row.getByLabel("Size to close for ETH-USD (ETH)").fill("0.25");
    await row.getByRole("button", { name: "Close part" }).click();
    await waitText(page.getByTestId("notice"), /^Closed 0\.25 ETH of ETH-USD at \$/);
    const remaining = opened.sizeDelta - toWad("0.25");
    const [position] = await trader.positions();
    expect(position.size).to.equal(remaining);
    await waitText(row.getByTestId("pos-size"), `${formatSize(remaining)} ETH`);

    await row.getByLabel("Size to close for ETH-USD (ETH)").fill("5");
    await row.getByRole("button", { name: "Close part" }).click();
    await waitText(page.getByTestId("notice"), `Close part of ETH-USD failed: 5 ETH is not less than the position's ${formatSize(remaining)} ETH: use Close to close all of it`);
    expect((await trader.positions())[0].size).to.equal(remaining);
    await page.context().close();
  });

  it("places a bracket at entry; the stop fires after the price falls and the page shows the closed trade", async function () {
    const { page, trader } = await open({ deposit: "1000" });
    const quote = await trade(page, trader, { market: 0, side: "long", margin: "100", leverage: 5, isolated: true, stopLoss: "1900", takeProfit: "2300" });
    expect(await page.getByTestId("quote-at-stop").count()).to.equal(1);
    await page.getByTestId("order-stop-loss").waitFor();
    await page.getByTestId("order-take-profit").waitFor();
    expect((await trader.orders()).map((o) => o.kind).sort()).to.deep.equal(["stop-loss", "take-profit"]);
    expect((await trader.positions())[0].size).to.equal(quote.sizeDelta);
    await page.getByTestId("position-ETH-USD").waitFor();
    // The chart (its own chunk, loaded on demand) draws the entry, liquidation, stop and target lines.
    await page.getByTestId("chart").locator("canvas").first().waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="chart"]')?.getAttribute("data-lines")?.split(" ").length === 4);
    expect((await page.getByTestId("chart").getAttribute("data-lines"))!.split(" ").sort()).to.deep.equal(["entry", "liquidation", "stop", "target"]);
    await page.screenshot({ path: path.join(SHOTS, "03-bracket.png"), fullPage: true });

    await stack.setPrice("ETH-USD", "1890");
    await page.getByTestId("no-positions").waitFor({ timeout: 30_000 });
    await page.getByTestId("no-orders").waitFor();
    expect(await trader.positions()).to.deep.equal([]);
    await waitText(page.getByTestId("history-size-after").first(), "closed");
    await page.screenshot({ path: path.join(SHOTS, "04-stop-fired.png"), fullPage: true });
    await stack.setPrice("ETH-USD", "2000");
    await page.context().close();
  });

  it("shows the funding a position settled and its liquidation in the history tables, from the chain's events", async function () {
    const { page, trader } = await open({ deposit: "1000" });
    const opened = await trade(page, trader, { market: 0, side: "long", margin: "100", leverage: 20, isolated: true });
    await page.getByTestId("position-ETH-USD").waitFor();
    // Eight hours of funding, then a fall through the liquidation price: the stack's keeper (or this test, if it
    // comes first) liquidates, and the close settles the funding.
    await stack.provider.send("evm_increaseTime", [8 * 3600]);
    const crash = formatDecimal(opened.liquidationPrice - 20n * 10n ** 18n, 18, 0, 0).replace(/,/g, "");
    await stack.setPrice("ETH-USD", crash);
    const liquidator = await PerpClient.connect({ runner: new Wallet(stack.traderKeys[nextTrader++], stack.provider), deployment: stack.deployment });
    await liquidator.liquidate(await trader.address(), "ETH").catch(() => undefined);
    await page.getByTestId("liquidation-history").waitFor({ timeout: 30_000 });
    const history = await trader.accountHistory();
    const [liquidation] = history.liquidations;
    expect(history.liquidations.length).to.equal(1);
    expect(liquidation.closes.map((c) => c.size)).to.deep.equal([opened.sizeDelta]);
    expect(await page.getByTestId("liquidation-closed").textContent()).to.equal(`ETH-USD ${formatSize(opened.sizeDelta)} at ${formatPrice(liquidation.closes[0].price)}`);
    expect(await page.getByTestId("liquidation-equity").textContent()).to.equal(formatUsd(liquidation.equity));
    expect(await page.getByTestId("liquidation-returned").textContent()).to.equal(formatUsd(liquidation.traderRemainder));
    const [funding] = history.funding;
    expect(history.funding.map((f) => f.cause)).to.deep.equal(["liquidation"]);
    expect(funding.amount).to.not.equal(0n);
    await waitText(page.getByTestId("funding-amount"), funding.amount > 0n ? `paid ${formatUsd(funding.amount, 6)}` : `received ${formatUsd(-funding.amount, 6)}`);
    expect(await page.getByTestId("funding-cause").textContent()).to.equal("the liquidation");
    await page.getByTestId("no-positions").waitFor();
    await page.screenshot({ path: path.join(SHOTS, "09-history.png"), fullPage: true });
    await stack.setPrice("ETH-USD", "2000");
    await page.context().close();
  });

  it("moves an open take-profit's trigger from the open-orders table; a price that is not positive is refused in words", async function () {
    const { page, trader } = await open({ deposit: "1000" });
    await trade(page, trader, { market: 0, side: "long", margin: "100", leverage: 3, isolated: true, takeProfit: "2400" });
    const row = page.getByTestId("order-take-profit");
    await row.waitFor();
    const [order] = await trader.orders();
    expect(order.triggerPrice).to.equal(toWad("2400"));
    await row.getByLabel(`New trigger price for order #${order.id} (USD)`).fill("2350.5");
    await row.getByRole("button", { name: "Update" }).click();
    await waitText(page.getByTestId("notice"), `Order #${order.id} now triggers at $2,350.50.`);
    expect((await trader.orders()).map((o) => [o.id, o.kind, o.triggerPrice])).to.deep.equal([[order.id, "take-profit", toWad("2350.5")]]);
    await waitText(row.getByTestId("order-trigger"), "$2,350.50");
    // The row inputs (close part, margin, stop, new trigger) are named for screen readers.
    await expectAccessible(page, "trade, with a position and an open order");

    await row.getByLabel(`New trigger price for order #${order.id} (USD)`).fill("-5");
    await row.getByRole("button", { name: "Update" }).click();
    await waitText(page.getByTestId("notice"), `Update order #${order.id} failed: The trigger price must be positive`);
    expect((await trader.orders())[0].triggerPrice).to.equal(toWad("2350.5"));
    await page.context().close();
  });

  it("connects, funds and trades with the keyboard alone, every stop showing its focus ring", async function () {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
    const key = stack.traderKeys[nextTrader++];
    await installWallet(page, { rpcUrl: stack.rpcUrl, privateKey: key, chainId: stack.chainId, nodeChainId: stack.chainId });
    const trader = await PerpClient.connect({ runner: new Wallet(key, new JsonRpcProvider(stack.rpcUrl, stack.chainId, { staticNetwork: true, cacheTimeout: -1 })), deployment: stack.deployment });
    await page.goto(`http://127.0.0.1:${PAGE_PORT}/`);
    // Before connecting, the page is read-only, its wallet action the call to connect the wallet found.
    await page.getByRole("button", { name: "Connect a wallet to trade" }).waitFor();

    await tabTo(page, page.getByRole("button", { name: "Connect Test Wallet" }));
    await page.keyboard.press("Enter");
    await page.getByTestId("account").waitFor();
    await waitText(page.getByTestId("header-index"), /^\$2,000\.00 /);
    // The ticket comes before the account panel: Tab forward to the faucet and deposit, Shift+Tab back to the ticket.
    await tabTo(page, page.getByRole("button", { name: "Faucet" }));
    await page.keyboard.press("Enter");
    await waitText(page.getByTestId("notice"), "Faucet: 10,000 test USDC and 10 ETH for gas sent to your wallet.");
    await tabTo(page, page.getByLabel("Amount (USDC)"), "Shift+Tab");
    await typeOver(page, "1000");
    await tabTo(page, page.getByRole("button", { name: "Deposit", exact: true }));
    await page.keyboard.press("Enter");
    await waitText(page.getByTestId("notice"), "Deposit: done.");

    await tabTo(page, page.getByRole("button", { name: "Short", exact: true }), "Shift+Tab");
    await page.keyboard.press("Space");
    await tabTo(page, page.getByRole("button", { name: "Isolated", exact: true }));
    await page.keyboard.press("Enter");
    await tabTo(page, page.getByLabel("Margin (USD)"));
    await typeOver(page, "200");
    const slider = page.getByLabel(/^Leverage/);
    await tabTo(page, slider);
    for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowLeft");
    expect(await slider.inputValue()).to.equal("7");
    await waitText(page.getByText(/^Leverage: /), "Leverage: 7×");
    const expected = await trader.quoteTrade({ market: 0, side: "short", margin: "200", leverage: "7", isolated: true });
    await waitText(page.getByTestId("quote-fill"), formatPrice(expected.fillPrice));

    await tabTo(page, page.getByRole("button", { name: "Review short ETH-USD" }));
    await page.keyboard.press("Enter");
    // Opening the review puts the focus on Confirm; Escape leaves it and gives the focus back to Review.
    await expectFocused(page, page.getByTestId("review").getByRole("button", { name: "Confirm" }));
    await page.keyboard.press("Escape");
    expect(await page.getByTestId("review").count()).to.equal(0);
    await expectFocused(page, page.getByRole("button", { name: "Review short ETH-USD" }));
    await page.keyboard.press("Space");
    await expectFocused(page, page.getByTestId("review").getByRole("button", { name: "Confirm" }));
    expect(await page.getByTestId("review-quote-fill").textContent()).to.equal(formatPrice(expected.fillPrice));
    await page.keyboard.press("Enter");
    await waitText(page.getByTestId("notice"), /^Order #\d+ filled: short /);
    await page.getByTestId("position-ETH-USD").waitFor();
    const [position] = await trader.positions();
    expect(position.side).to.equal("short");
    expect(position.isolated).to.equal(true);
    expect(position.size).to.equal(expected.sizeDelta);
    await context.close();
  });

  it("explains a trade the engine would reject and keeps its button disabled; measures the quote latency and accessibility", async function () {
    const { page } = await open({ deposit: "100" });
    await page.getByLabel("Margin (USD)").fill("5000");
    await waitText(page.getByTestId("rejection"), /^TradeBelowInitialMargin: not enough margin/);
    expect(await page.getByRole("button", { name: /^Review long/ }).isDisabled()).to.equal(true);
    await page.screenshot({ path: path.join(SHOTS, "05-rejected.png"), fullPage: true });

    // From the input event the browser dispatches to the new quote on screen (the page quotes from its polled
    // snapshot: no request on the way).
    const samples: number[] = [];
    for (const value of ["10", "20", "30", "40", "50"]) {
      await page.evaluate(() => {
        const target = document.querySelector('[data-testid="quote-size"]')!;
        (window as any).__quoteMs = new Promise<number>((resolve) => {
          let start = 0;
          document.addEventListener("input", () => (start = performance.now()), { capture: true, once: true });
          new MutationObserver(() => resolve(performance.now() - start)).observe(target, { characterData: true, childList: true, subtree: true });
        });
      });
      await page.getByLabel("Margin (USD)").fill(value);
      samples.push(await page.evaluate(() => (window as any).__quoteMs as Promise<number>));
    }
    const worst = Math.max(...samples);
    expect(worst).to.be.lessThan(QUOTE_LIMIT_MS);
    bench.quoteRefreshMs = { worst: round(worst), samples: samples.map(round), limit: QUOTE_LIMIT_MS };

    await expectAccessible(page, "trade, with a rejected quote");
    await page.context().close();
  });

  it("deposits into the LP vault: a request, settled by a keeper after the vault's delay as the user clicks Settle, then claimed as shares", async function () {
    const { page, wallet, trader } = await open();
    await page.getByRole("button", { name: "Faucet" }).click();
    await waitText(page.getByTestId("notice"), "Faucet: 10,000 test USDC and 10 ETH for gas sent to your wallet.");
    await page.getByRole("navigation", { name: "Screens" }).getByRole("button", { name: "LP vault" }).click();
    const vault = page.getByTestId("vault");
    await vault.getByLabel("Amount (USDC)").fill("1000");
    await vault.getByRole("button", { name: "Request deposit" }).click();
    await waitText(page.getByTestId("notice"), "LP deposit request: done.");
    await waitText(vault.getByTestId("vault-pending-deposit"), /^1,000\.00 USDC, settles after /);
    // The user clicks "Settle deposit" just as a keeper settles the request (anyone may, for its fee): the wallet
    // holds the page's gas estimate while the delay passes and another account settles it through the SDK (or the
    // stack's keeper does first). The page then says so in words, not with the vault's raw NoPendingRequest.
    const { settleDelay } = await trader.lpRequests();
    const hold = wallet.holdNext("eth_estimateGas");
    await vault.getByRole("button", { name: "Settle deposit" }).click();
    await hold.reached;
    await stack.provider.send("evm_increaseTime", [Number(settleDelay)]);
    // Mines a block at the later time and pushes fresh prices: the settlement prices the request at the NAV.
    await stack.setPrice("ETH-USD", "2000");
    const other = await PerpClient.connect({ runner: new Wallet(stack.traderKeys[nextTrader++], stack.provider), deployment: stack.deployment });
    await other.lpSettle("deposit", await trader.address()).catch((error: unknown) => {
      if (!(error instanceof PerpContractError && error.errorName === "NoPendingRequest")) throw error;
    });
    expect((await trader.lpRequests()).pendingDeposit.amount).to.equal(0n);
    hold.release();
    await waitText(page.getByTestId("notice"), "Settle deposit: a keeper already settled this request; your shares are ready to claim.");
    await waitText(vault.getByTestId("vault-pending-deposit"), "none");
    await waitText(vault.getByTestId("vault-claimable"), /^[\d,]+\.\d\d USDC worth$/);
    await vault.getByRole("button", { name: "Claim shares" }).click();
    await waitText(page.getByTestId("notice"), "Claim shares: done.");
    const lp = await trader.lpPosition();
    expect(lp.shares > 0n).to.equal(true);
    // The shares' value moves with the NAV from block to block (funding accrues): the page's value is compared with
    // the vault's own at the block the page read it at, once the page shows the claimed shares (a value above 0).
    await waitText(vault.getByTestId("vault-lp-assets"), /^(?!0\.00 )[\d,]+\.\d\d+ USDC$/);
    const shown = await vault.evaluate((el) => ({ block: Number(el.getAttribute("data-block")), assets: el.querySelector('[data-testid="vault-lp-assets"]')!.textContent }));
    const assetsThen = await LiquidityVault__factory.connect(stack.deployment.contracts.LiquidityVault, stack.provider).convertToAssets(lp.shares, { blockTag: shown.block });
    expect(shown.assets).to.equal(`${formatTokenUnits(assetsThen, 6, 2)} USDC`);
    await waitText(vault.getByTestId("vault-cooldown"), /^locked for \d+ s more$/);
    await page.screenshot({ path: path.join(SHOTS, "07-vault.png"), fullPage: true });
    await expectAccessible(page, "vault");
    await page.context().close();
  });

  it("fits a phone screen; re-reads only new blocks, the history and the chart's prices incrementally", async function () {
    const { page, wallet, trader } = await open({ viewport: { width: 390, height: 844 } });
    await waitText(page.getByTestId("header-index"), /^\$2,000\.00/);
    // Three blocks later (the stack mines one a second): only the first account-history and price-history reads
    // start at the deployment block; every later one starts after the block already read.
    const first = Number(await page.locator("main").getAttribute("data-block"));
    await page.waitForFunction((b) => Number(document.querySelector("main")?.dataset.block) >= b + 3, first, { timeout: 20_000 });
    const fromDeployment = wallet.logRanges.filter((r) => r.fromBlock <= stack.deployment.deploymentBlock);
    expect(fromDeployment.length).to.equal(2);
    expect(wallet.logRanges.length > 2).to.equal(true);
    for (const r of wallet.logRanges.slice(2)) expect(r.toBlock - r.fromBlock < 10).to.equal(true);
    // The chart draws the prices cached on chain since the deployment (not since the page opened).
    const history = await trader.priceHistory();
    const eth = history.markets.get(0)!;
    expect(await page.getByTestId("chart").getAttribute("data-first-time")).to.equal(String(eth[0].publishTime));
    expect(Number(await page.getByTestId("chart").getAttribute("data-points")) > 1).to.equal(true);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).to.equal(0);
    await page.screenshot({ path: path.join(SHOTS, "06-mobile.png"), fullPage: true });
    await expectAccessible(page, "trade, phone");
    await page.context().close();
  });

  it("bundles the trading screen within 250 kB gzipped with one copy of ethers, the chart loaded apart", function () {
    // The trading screen is what index.html loads: its entry script and the chunks it preloads.
    const html = readFileSync(path.join(DIST, "index.html"), "utf8");
    const entry = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
    const all = readdirSync(path.join(DIST, "assets")).filter((f) => f.endsWith(".js")).map((f) => `assets/${f}`);
    const gzip = (files: string[]) => files.reduce((sum, f) => sum + gzipSync(readFileSync(path.join(DIST, f))).length, 0);
    const sources = (files: string[]) =>
      files.flatMap((f) => (JSON.parse(readFileSync(path.join(DIST, `${f}.map`), "utf8")) as { sources: string[] }).sources);
    const lazy = all.filter((f) => !entry.includes(f));
    const ethersCopies = sources(all).filter((s) => s.endsWith("ethers/lib.esm/_version.js")).length;
    const entryGzip = gzip(entry);
    bench.bundle = {
      tradingScreenGzipBytes: entryGzip,
      tradingScreenGzipKiB: round(entryGzip / 1024),
      limitKiB: BUNDLE_LIMIT_GZIP / 1024,
      lazyChunks: lazy.map((f) => ({ gzipKiB: round(gzip([f]) / 1024), holds: sources([f]).some((s) => s.includes("lightweight-charts")) ? "lightweight-charts" : "other" })),
      ethersCopies,
    };
    expect(entry.length).to.be.greaterThan(0);
    expect(ethersCopies).to.equal(1);
    expect(entryGzip).to.be.at.most(BUNDLE_LIMIT_GZIP);
    expect(sources(entry).some((s) => s.includes("lightweight-charts"))).to.equal(false);
    expect(sources(lazy).some((s) => s.includes("lightweight-charts"))).to.equal(true);
  });
});

/** The page's margin preview line for a quote (the same formatting as web/src/panels.tsx). */
function marginPreview(what: string, q: MarginChangeQuote): string {
  if (q.explanation) return `${what}: ${q.explanation}`;
  return `${what}: margin ${formatUsd(q.margin)}, liq. ${formatPrice(q.liquidationPrice)} (${formatPercent(q.liquidationDistance)}), leverage ${formatDecimal(q.leverage, 18, 2, 2)}×`;
}

/**
 * Waits until `locator` shows what `expected` computes from the chain now. The page quotes from its latest snapshot:
 * a block mined in between (a keeper's price push) moves both, so a miss is retried with a fresh quote.
 */
async function waitQuoted(locator: Locator, expected: () => Promise<string>, attempts = 5): Promise<void> {
  for (let i = 1; ; i++) {
    const text = await expected();
    try {
      return await waitText(locator, text, 4_000);
    } catch (error) {
      if (i === attempts) throw error;
    }
  }
}

async function waitText(locator: Locator, expected: string | RegExp, timeout = 20_000): Promise<void> {
  const target = locator.first();
  try {
    await target.waitFor({ timeout });
    const matcher = typeof expected === "string" ? { text: expected } : { re: expected.source, flags: expected.flags };
    await target.page().waitForFunction(
      ([el, m]) => {
        const text = el?.textContent ?? "";
        return "text" in m ? text === m.text : new RegExp(m.re, m.flags).test(text);
      },
      [await target.elementHandle(), matcher] as const,
      { timeout },
    );
  } catch (error) {
    const actual = await target.textContent({ timeout: 1000 }).catch(() => "<missing>");
    throw new Error(`expected ${String(expected)}, the page shows ${JSON.stringify(actual)}: ${(error as Error).message.split("\n")[0]}`);
  }
}

/**
 * Presses `key` (Tab or Shift+Tab) until `target` has the focus, at most 60 times, and checks the browser shows the
 * focus there (`:focus-visible` with a drawn outline).
 */
async function tabTo(page: Page, target: Locator, key: "Tab" | "Shift+Tab" = "Tab"): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press(key);
    if (await target.evaluate((el) => el === document.activeElement)) return expectFocused(page, target);
  }
  const at = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120));
  throw new Error(`${key} never reached ${String(target)}; the focus is on ${at}`);
}

async function expectFocused(page: Page, target: Locator): Promise<void> {
  await target.page().waitForFunction((el) => el === document.activeElement, await target.elementHandle(), { timeout: 5_000 });
  const ring = await target.evaluate((el) => {
    const style = getComputedStyle(el);
    return { visible: el.matches(":focus-visible"), outline: `${style.outlineStyle} ${style.outlineWidth}` };
  });
  expect(ring).to.deep.equal({ visible: true, outline: "solid 2px" });
}

/** Replaces the focused field's text, as a keyboard user does: select all, then type. */
async function typeOver(page: Page, text: string): Promise<void> {
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type(text);
}

async function setSlider(slider: Locator, value: number): Promise<void> {
  await slider.evaluate((el, v) => {
    const input = el as HTMLInputElement;
    // React tracks the value through the native setter: set it there, then fire the event React listens to.
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!.call(input, String(v));
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }, value);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
