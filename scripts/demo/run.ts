/**
 * The demo's story, told through the SDK (`PerpClient`) against a deployment of `PerpPythLocal` (Pyth markets on the
 * local StrictMockPyth, the order book), with the local price service in process, one output section per chapter:
 *
 * 1. deployment: deploy (or, on a node, reuse a deployment that matches the chain), listed at the service's prices;
 * 2. set-up: MockUSDC is minted, the LP requests a vault deposit that the keeper settles, the traders deposit;
 * 3. the traders open the seed positions (scenario.ts): each trade a market order the trader commits and the keeper
 *    settles at the first price published once the order's window opens; printed as read back from the protocol;
 * 4. the price service walks the scripted price path over simulated hours, each step pushed on chain
 *    (`pokePrices`); after each step the keeper liquidates what fell below maintenance (liquidate.ts), printed from
 *    the engine's events; traders close (orders again) or add margin;
 * 5. the summary (summary.ts): PnL and funding per trader, LP vault, insurance fund, bad debt, keeper, gas.
 * 6. trigger orders (orders.ts), five more traders on the same deployment: stop-loss vs liquidation, take-profit,
 *    limit, trailing stop, latency arbitrage.
 *
 * The demo does no protocol math: sizes, fills, fees, funding, health, liquidation prices come from the SDK or the
 * chain; the demo chooses the inputs and formats the results.
 */
import { formatUnits, parseUnits } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";

import {
  PerpClient,
  UNBOUNDED_LEVERAGE,
  formatDecimal,
  leverageOf,
  math,
  type Deployment,
  type MarketInfo,
  type PositionInfo,
  type TradeExecution,
} from "@perp/sdk";

import { MARKETS } from "../../ignition/lib/perp.js";
import { IPriceFeed__factory, MockUSDC__factory, OrderBook__factory } from "@perp/sdk/contracts";
import { HermesPriceSource } from "@perp/sdk/prices";
import { startPriceService } from "../price-service/service.js";
import { ChainClock, ClockedSigner } from "./chain.js";
import type { Actor, Cast, DemoContext } from "./context.js";
import { ensureDeployment } from "./deploy.js";
import { latestBlock } from "./chain.js";
import { CROSS, liquidationDetails, loadEvents, sameAddress, type LiquidationDetail } from "./events.js";
import { liquidateUnhealthy, newLiquidationState, type LiquidationState } from "./liquidate.js";
import {
  Output,
  hours,
  liquidationPriceText,
  percent,
  price,
  sharePrice,
  signedPercent,
  signedUsd,
  size,
  usd,
} from "./report.js";
import {
  ACCOUNTS,
  LP_DEPOSIT,
  OPENING_PRICES,
  PRICE_PATH,
  TRADERS,
  type MarketSymbol,
  type PriceStep,
  type SeedOrder,
  type TraderAction,
} from "./scenario.js";
import { runOrdersChapter } from "./orders.js";
import { printSummary, type StoryMarks } from "./summary.js";

const { WAD } = math;
/** Exponent of the local Pyth feeds (as Pyth's ETH/USD and BTC/USD). */
const PRICE_EXPO = -8;

/** USDC decimal string to token units (6 decimals). */
function usdcUnits(amount: string): bigint {
  return parseUnits(amount, 6);
}

function orderOf(trader: string, market: string): SeedOrder | undefined {
  return TRADERS.find((t) => t.name === trader)?.orders.find((o) => o.market === market);
}

function nameOf(cast: Cast, address: string): string {
  return cast.names.get(address.toLowerCase()) ?? address;
}

export async function runDemo(hre: HardhatRuntimeEnvironment, connection: NetworkConnection, out: Output): Promise<void> {
  const provider = connection.ethers.provider;
  const chainId = Number((await provider.getNetwork()).chainId);
  const inProcess = connection.networkConfig.type === "edr-simulated";
  out.startProgress(4 + TRADERS.reduce((n, t) => n + t.orders.length, 0) + PRICE_PATH.length);
  out.print(
    `Perp protocol demo on network "${connection.networkName}" ` +
      `(${inProcess ? "in-process Hardhat network" : "JSON-RPC node"}, chain ${chainId})`,
  );

  // ---------------------------------------------------------------------------------------- 1. deployment
  out.section("1. Deployment");
  out.status("deploying the protocol");
  // The local price service, in process: the deployment lists the markets at its first prices, and from then on
  // every price the story publishes is one of its updates, pushed on chain with the transaction that needs it.
  const { timestamp: listedAt } = await latestBlock(connection.provider);
  const service = await startPriceService({
    port: 0,
    host: "127.0.0.1",
    feeds: MARKETS.map((m) => ({
      id: m.pythPriceId,
      expo: PRICE_EXPO,
      points: [{ publishTime: Number(listedAt), price: parseUnits(OPENING_PRICES[m.symbol as MarketSymbol], -PRICE_EXPO) }],
    })),
  });
  try {
    const source = new HermesPriceSource({ endpoint: service.url, httpRetries: 0 });
    await tellStory(hre, connection, out, { service, source });
  } finally {
    await service.close();
  }
}

async function tellStory(
  hre: HardhatRuntimeEnvironment,
  connection: NetworkConnection,
  out: Output,
  prices: DemoContext["prices"],
): Promise<void> {
  const provider = connection.ethers.provider;
  const firstBlock = await provider.getBlockNumber();
  const { deployment, deployedNow, notes } = await ensureDeployment(hre, connection, provider, prices.source);
  const deployedTo = await provider.getBlockNumber();
  for (const note of notes) out.print(note);

  const clock = await ChainClock.start(connection.provider);
  const cast = await castActors(connection, deployment, clock, prices.source);
  const reader = await PerpClient.connect({ runner: provider, deployment });
  const ctx: DemoContext = {
    out,
    connection,
    deployment,
    clock,
    cast,
    reader,
    liquidation: await newLiquidationState(cast.keeper.client),
    prices,
  };
  const markets = await reader.markets();
  out.print(
    out.table(
      ["Contract", "Address"],
      [
        ["PerpEngine", deployment.contracts.PerpEngine],
        ["LiquidityVault (ERC-4626)", deployment.contracts.LiquidityVault],
        ["MockUSDC (collateral)", deployment.contracts.CollateralToken],
        ["PerpLens", deployment.contracts.PerpLens],
        ["OrderBook (every trade is an order)", deployment.contracts.OrderBook ?? ""],
        ["StrictMockPyth (local Pyth)", deployment.pyth ?? ""],
        ...markets.map((m) => [
          `${m.symbol} Pyth adapter (market ${m.id}, ${m.maxLeverage}x max)`,
          deployment.markets.find((d) => d.id === m.id)?.priceFeed ?? "",
        ]),
      ],
      "ll",
    ),
  );
  out.print(`Insurance fund: ${usd(await reader.engine.insuranceFund())} USD.`);
  out.print(
    `Prices: the local price service (in process, Hermes' API) publishes Pyth updates for StrictMockPyth; a trade ` +
      `is an order, settled by the keeper at the first price published once its window opens.`,
  );
  out.tick("deployed");

  // ---------------------------------------------------------------------------------------- 2. set-up
  out.section("2. Set-up: MockUSDC minted, the LP funds the vault, traders deposit");
  out.status("funding the actors");
  await clearEarlierRun(ctx);
  // The summary adds up events from here on: this run's deposits, trades and liquidations only.
  const storyFrom = (await provider.getBlockNumber()) + 1;
  await publishPrices(ctx, OPENING_PRICES);
  await fundActors(ctx, storyFrom);
  out.tick("actors funded");

  const [navOpen, sharePriceOpen, insuranceOpen, protocol] = await Promise.all([
    reader.engine.vaultNav(),
    reader.vaultSharePrice(),
    reader.engine.insuranceFund(),
    reader.protocolParams(),
  ]);

  // ---------------------------------------------------------------------------------------- 3. seed positions
  out.section("3. Traders open positions");
  clock.markOrigin();
  for (const [i, plan] of TRADERS.entries()) {
    const trader = cast.traders[i];
    for (const order of plan.orders) {
      out.status(`${plan.name} opens ${order.market} ${order.side} ${order.leverage}x`);
      await tradeThroughKeeper(ctx, trader, {
        market: order.market,
        side: order.side,
        margin: order.margin,
        leverage: order.leverage,
        isolated: order.isolated,
        addMargin: order.extraMargin,
      });
      out.tick();
    }
  }
  await printSeedTable(ctx);
  await printMarkets(ctx, "After the opening trades");

  // ---------------------------------------------------------------------------------------- 4. price path
  const totalHours = PRICE_PATH.reduce((h, s) => h + s.hours, 0);
  out.section(`4. Price path: ${PRICE_PATH.length} Pyth price updates over ${totalHours} simulated hours`);
  out.print("Each step: simulated time passes (funding accrues), the price service publishes both markets' new prices");
  out.print("(change since the opening prices in brackets), pushed on chain; the keeper liquidates whatever fell below");
  out.print("maintenance, then traders act (a close is an order the keeper settles).");
  const opening = await pricesBySymbol(reader);
  for (const step of PRICE_PATH) {
    out.status(`${hours(clock.elapsed + BigInt(step.hours * 3600))}: ${step.headline}`);
    await runStep(ctx, step, opening);
    out.tick();
  }
  await printMarkets(ctx, "After the price path");

  // ---------------------------------------------------------------------------------------- 5. summary
  out.status("summing up");
  const marks: StoryMarks = {
    storyFrom,
    deploymentBlocks: deployedNow ? { from: firstBlock + 1, to: deployedTo } : undefined,
    gasFrom: deployedNow ? firstBlock + 1 : storyFrom,
    navOpen,
    sharePriceOpen,
    insuranceOpen,
    insuranceFeeShare: protocol.insuranceFeeShare,
  };
  await printSummary(ctx, marks);

  // ---------------------------------------------------------------------------------------- 6. orders
  await runOrdersChapter(ctx);
  out.tick("done");
  out.stopProgress();
}

// ------------------------------------------------------------------------------------------ actors

async function castActors(
  connection: NetworkConnection,
  deployment: Deployment,
  clock: ChainClock,
  priceSource: HermesPriceSource,
): Promise<Cast> {
  const signers = await connection.ethers.getSigners();
  const needed = ACCOUNTS.firstTrader + TRADERS.length;
  if (signers.length < needed) {
    throw new Error(`the demo needs ${needed} unlocked accounts on "${connection.networkName}", the node has ${signers.length}`);
  }
  const actor = async (index: number, name: string): Promise<Actor> => {
    const signer = new ClockedSigner(signers[index], clock);
    return {
      name,
      address: await signer.getAddress(),
      signer,
      client: await PerpClient.connect({ runner: signer, deployment, priceSource }),
    };
  };
  const operator = await actor(ACCOUNTS.operator, "operator");
  const lp = await actor(ACCOUNTS.lp, "LP");
  const keeper = await actor(ACCOUNTS.keeper, "keeper");
  const traders = await Promise.all(TRADERS.map((plan, i) => actor(ACCOUNTS.firstTrader + i, plan.name)));
  const names = new Map([operator, lp, keeper, ...traders].map((a) => [a.address.toLowerCase(), a.name]));
  return { operator, lp, keeper, traders, names };
}

/**
 * On a node that already ran the demo, the traders and the keeper may still hold positions and balances from that
 * run: close them at the opening prices (liquidating what is liquidatable first) and withdraw the balances, so that
 * this run starts from zero.
 */
async function clearEarlierRun(ctx: DemoContext): Promise<void> {
  const { cast, reader } = ctx;
  const accounts = [...cast.traders, cast.keeper];
  const leftovers = await Promise.all(
    accounts.map(async (a) => ({ actor: a, account: await reader.account(a.address) })),
  );
  const positions = leftovers.reduce((n, { account }) => n + account.positions.size, 0);
  const balances = leftovers.filter(({ account }) => account.crossBalance > 0n).length;
  if (positions === 0 && balances === 0) return;

  await publishPrices(ctx, OPENING_PRICES);
  await liquidateUnhealthy(ctx.liquidation);
  for (const { actor } of leftovers) {
    for (const position of await reader.positions(actor.address)) {
      await closeThroughKeeper(ctx, actor, position.marketId, "5%");
    }
    const { crossBalance } = await reader.account(actor.address);
    const units = crossBalance / 10n ** 12n;
    if (units > 0n) await actor.client.withdraw(units);
  }
  ctx.out.print(
    `An earlier run left ${positions} open position(s) and ${balances} cross balance(s) of the demo's accounts on ` +
      `this chain: liquidated or closed at the opening prices, and withdrawn, so that this run starts from zero.`,
  );
}

/**
 * The price service publishes `prices` at the next block's time and the operator pushes them on chain
 * (`OrderBook.pokePrices`, open to anyone): every market's cache is then fresh for what reads all of them (margin
 * checks, the vault's NAV, the keeper's health scan).
 */
export async function publishPrices(ctx: DemoContext, prices: Readonly<Record<MarketSymbol, string>>): Promise<void> {
  const publishTime = Number(ctx.clock.now) + 1;
  for (const market of ctx.deployment.markets) {
    const value = prices[market.symbol as MarketSymbol];
    if (value === undefined) throw new Error(`the scenario has no price for ${market.symbol}`);
    ctx.prices.service.setPrice(market.pythPriceId!, parseUnits(value, -PRICE_EXPO), publishTime);
  }
  const ids = ctx.deployment.markets.map((m) => m.pythPriceId!);
  const { updateData } = await ctx.prices.source.latest(ids);
  const book = OrderBook__factory.connect(ctx.deployment.contracts.OrderBook!, ctx.cast.operator.signer);
  const marketIds = ctx.deployment.markets.map((m) => m.id);
  await (await book.pokePrices(marketIds, updateData, { value: await updateFee(ctx, updateData) })).wait();
}

/** What the markets' adapters ask for verifying `updateData` (each `getUpdateFee`; StrictMockPyth: 1 wei a blob). */
export async function updateFee(ctx: DemoContext, updateData: string[]): Promise<bigint> {
  let fee = 0n;
  for (const market of ctx.deployment.markets) {
    fee += await IPriceFeed__factory.connect(market.priceFeed, ctx.connection.ethers.provider).getUpdateFee(updateData);
  }
  return fee;
}

/** The markets' current index prices as the scenario writes them ("2000"), for republishing at an order's window. */
async function currentPrices(ctx: DemoContext): Promise<Record<MarketSymbol, string>> {
  const markets = await ctx.reader.markets();
  return Object.fromEntries(markets.map((m) => [m.symbol, formatUnits(m.price, 18)])) as Record<MarketSymbol, string>;
}

/**
 * A trade as v2 makes it: the trader commits a market order, time passes to the order's window, the price service
 * publishes the (unchanged) prices at its first second, and the keeper settles it at that price for the keeper fee.
 */
export async function tradeThroughKeeper(
  ctx: DemoContext,
  trader: Actor,
  request: Parameters<PerpClient["trade"]>[0],
): Promise<TradeExecution> {
  const prices = await currentPrices(ctx);
  const { order } = await trader.client.trade({ ...request, settle: "none" });
  if (order === undefined) throw new Error(`${trader.name}'s trade committed no order`);
  return settleThroughKeeper(ctx, order.orderId, order.settleableAt, prices);
}

export async function closeThroughKeeper(
  ctx: DemoContext,
  trader: Actor,
  market: Parameters<PerpClient["closePosition"]>[0],
  slippage?: string,
): Promise<TradeExecution> {
  const prices = await currentPrices(ctx);
  const { order } = await trader.client.closePosition(market, { settle: "none", ...(slippage === undefined ? {} : { slippage }) });
  if (order === undefined) throw new Error(`${trader.name}'s close committed no order`);
  return settleThroughKeeper(ctx, order.orderId, order.settleableAt, prices);
}

async function settleThroughKeeper(
  ctx: DemoContext,
  orderId: bigint,
  settleableAt: bigint,
  prices: Readonly<Record<MarketSymbol, string>>,
): Promise<TradeExecution> {
  const wait = settleableAt - 1n - ctx.clock.now;
  if (wait > 0n) await ctx.clock.advance(wait);
  for (const market of ctx.deployment.markets) {
    ctx.prices.service.setPrice(market.pythPriceId!, parseUnits(prices[market.symbol as MarketSymbol], -PRICE_EXPO), Number(ctx.clock.now) + 1);
  }
  const { receipt } = await ctx.cast.keeper.client.settleOrder({ orderId, wait: false });
  const [execution] = ctx.cast.keeper.client.tradeExecutions(receipt);
  if (execution === undefined) throw new Error(`order #${orderId} was not executed by its settlement`);
  return execution;
}

async function fundActors(ctx: DemoContext, fromBlock: number): Promise<void> {
  const { out, cast, deployment, reader } = ctx;
  const mint = async (actor: Actor, amount: string) => {
    const token = MockUSDC__factory.connect(deployment.contracts.CollateralToken, actor.signer);
    await (await token.mint(actor.address, usdcUnits(amount))).wait();
  };
  await mint(cast.lp, LP_DEPOSIT);
  // The LP's deposit is an ERC-7540 request: priced only when the keeper settles it, lpSettleDelay later, at the NAV
  // then; the LP then claims its shares. (The keeper fee, escrowed on top, is minted too.)
  const requests = await cast.lp.client.lpRequests();
  await mint(cast.lp, formatUnits(requests.keeperFee, 6));
  await cast.lp.client.lpDeposit(LP_DEPOSIT);
  await ctx.clock.advance(requests.settleDelay - 1n);
  await publishPrices(ctx, OPENING_PRICES);
  await cast.keeper.client.lpSettle("deposit", cast.lp.address);
  await cast.lp.client.lpClaim("deposit");
  // On top of the plan's deposit, the keeper fee of each market order the trader will commit (every opening trade
  // and every close of the price path): escrowed at the commit, paid to the keeper who settles it.
  const { keeperFee } = await OrderBook__factory.connect(deployment.contracts.OrderBook!, ctx.connection.ethers.provider).params();
  for (const [i, plan] of TRADERS.entries()) {
    const closes = PRICE_PATH.flatMap((s) => s.actions ?? []).filter((a) => a.trader === plan.name && a.kind === "close").length;
    const amount = formatUnits(parseUnits(plan.deposit, 18) + keeperFee * BigInt(plan.orders.length + closes), 18);
    await mint(cast.traders[i], amount);
    await cast.traders[i].client.deposit(amount);
  }
  const rows: string[][] = [];
  const lpDeposits = await reader.vault.queryFilter(reader.vault.filters.Deposit(undefined, cast.lp.address), fromBlock);
  const lpAssets = lpDeposits.reduce((total, d) => total + d.args.assets, 0n);
  rows.push([cast.lp.name, cast.lp.address, "LP: vault deposit", usd(lpAssets * 10n ** 12n)]);
  for (const trader of cast.traders) {
    const account = await reader.account(trader.address);
    rows.push([trader.name, trader.address, "trader: cross balance", usd(account.crossBalance)]);
  }
  rows.push([cast.keeper.name, cast.keeper.address, "settles orders, liquidates", ""]);
  rows.push([cast.operator.name, cast.operator.address, "deployer, pushes prices", ""]);
  out.print(out.table(["Actor", "Account", "Role", "USD"], rows, "lllr"));
  const vault = await reader.vaultState();
  out.print(
    `LP vault: NAV ${usd(vault.nav)} USD, share price ${sharePrice(await reader.vaultSharePrice())} USDC; ` +
      `insurance fund ${usd(vault.insuranceFund)} USD.`,
  );
}

// ------------------------------------------------------------------------------------------ seed table

async function printSeedTable(ctx: DemoContext): Promise<void> {
  const { out, cast, reader } = ctx;
  const rows: string[][] = [];
  for (const [i, plan] of TRADERS.entries()) {
    const trader = cast.traders[i];
    const snap = await reader.snapshot(trader.address);
    const positions = await reader.positions(trader.address, snap);
    for (const order of plan.orders) {
      const p = positions.find((pos) => pos.symbol === order.market);
      if (p === undefined) throw new Error(`${plan.name} has no ${order.market} position after opening it`);
      rows.push([
        plan.name,
        p.symbol,
        p.side,
        p.isolated ? "isolated" : "cross",
        `${order.leverage}x (${effectiveLeverage(p)})`,
        p.isolated ? usd(p.margin) : `${usd(snap.account.crossBalance)}*`,
        size(math.abs(p.size)),
        price(p.entryPrice),
        liquidationPriceText(p),
        p.liquidationPrice === 0n ? "-" : percent(p.liquidationDistance),
      ]);
    }
  }
  out.print("Seed positions, read back from the protocol. Leverage: as ordered (effective: notional / equity). Entry:");
  out.print("average fill price. Liquidation price and adverse move: from the SDK, exact to one oracle unit, other prices");
  out.print("held (none: no price of this market alone liquidates it). * cross: the whole cross account's balance.");
  out.print(
    out.table(
      ["Trader", "Market", "Side", "Mode", "Leverage", "Margin\n(USD)", "Size", "Entry", "Liq.\nprice", "Adverse\nmove"],
      rows,
      "llllrrrrrr",
    ),
  );
}

/** Notional / equity of the position (isolated) or of its cross account, from the SDK's valuation. */
function effectiveLeverage(p: PositionInfo): string {
  const leverage = leverageOf(p.health);
  return leverage === UNBOUNDED_LEVERAGE ? "n/a" : `${formatDecimal(leverage, 18, 1, 1)}x`;
}

async function pricesBySymbol(reader: PerpClient): Promise<Map<string, bigint>> {
  return new Map((await reader.markets()).map((m) => [m.symbol, m.price]));
}

async function printMarkets(ctx: DemoContext, title: string): Promise<void> {
  const markets: MarketInfo[] = await ctx.reader.markets();
  const rows = markets.map((m) => [
    m.symbol,
    price(m.price),
    size(m.state.longOpenInterest),
    size(m.state.shortOpenInterest),
    `${signedPercent(m.state.fundingRatePerDay, 4)}`,
  ]);
  ctx.out.print();
  ctx.out.print(`${title}:`);
  ctx.out.print(
    ctx.out.table(["Market", "Index price", "Long OI", "Short OI", "Funding / day\n(+: longs pay)"], rows, "lrrrr"),
  );
}

// ------------------------------------------------------------------------------------------ price path

async function runStep(ctx: DemoContext, step: PriceStep, opening: ReadonlyMap<string, bigint>): Promise<void> {
  const { out, clock, reader, connection } = ctx;
  await clock.advance(BigInt(step.hours * 3600));
  const from = (await connection.ethers.provider.getBlockNumber()) + 1;
  await publishPrices(ctx, step.prices);
  await liquidateUnhealthy(ctx.liquidation);
  const liquidationsTo = await connection.ethers.provider.getBlockNumber();

  const markets = await reader.markets();
  const moves = markets.map((m) => {
    const open = opening.get(m.symbol) ?? m.price;
    return `${m.symbol.split("-")[0]} ${price(m.price)} (${signedPercent(((m.price - open) * WAD) / open)})`;
  });
  out.print();
  out.print(`${hours(clock.elapsed).padEnd(5)}${moves.join(", ")}: ${step.headline}`);
  out.print(
    `     funding per day: ${markets.map((m) => `${m.symbol} ${signedPercent(m.state.fundingRatePerDay, 4)}`).join(", ")}`,
  );

  const details = liquidationDetails((await loadEvents(ctx.connection.ethers.provider, ctx.deployment, from, liquidationsTo)).all);
  for (const detail of details) for (const line of liquidationLines(ctx, detail)) out.print(`     ${line}`);
  if (details.length === 0) out.print("     no position below maintenance");

  for (const action of step.actions ?? []) out.print(`     ${await runAction(ctx, action)}`);
}

/**
 * "liquidated Dave's isolated ETH-USD short 50x: equity 693.81 -> keeper 75.90, insurance 151.80, Dave 466.11", and
 * a second line when the liquidation left bad debt.
 */
function liquidationLines(ctx: DemoContext, detail: LiquidationDetail): string[] {
  const { cast, deployment } = ctx;
  const { event, closes, badDebt } = detail;
  const trader = nameOf(cast, event.trader);
  const what = closes.map((c) => {
    const symbol = deployment.markets.find((m) => BigInt(m.id) === c.marketId)?.symbol ?? `market ${c.marketId}`;
    const order = orderOf(trader, symbol);
    return `${symbol} ${c.size > 0n ? "long" : "short"}${order ? ` ${order.leverage}x` : ""}`;
  });
  const unit = `${event.marketId === CROSS ? "cross" : "isolated"} ${what.join(" + ")}`;
  const by = sameAddress(event.keeper, cast.keeper.address) ? "" : ` (by ${nameOf(cast, event.keeper)})`;
  const split =
    badDebt === undefined
      ? `keeper ${usd(event.keeperReward)}, insurance ${usd(event.insurancePaid)}, ${trader} ${usd(event.traderRemainder)}`
      : `keeper ${usd(event.keeperReward)}, bad debt ${usd(badDebt.shortfall)}`;
  const lines = [`liquidated ${trader}'s ${unit}${by}: equity ${signedUsd(event.equity)} -> ${split}`];
  if (badDebt !== undefined) {
    lines.push(
      `  bad debt ${usd(badDebt.shortfall)} (negative equity + keeper reward) covered by the insurance fund ` +
        `${usd(badDebt.fromInsurance)}, the vault ${usd(badDebt.fromVault)}`,
    );
  }
  return lines;
}

async function runAction(ctx: DemoContext, action: TraderAction): Promise<string> {
  const { cast, reader } = ctx;
  const trader = cast.traders.find((t) => t.name === action.trader);
  if (trader === undefined) throw new Error(`the scenario names an unknown trader ${action.trader}`);
  const before = (await reader.positions(trader.address)).find((p) => p.symbol === action.market);
  if (before === undefined) return `${action.trader} has no ${action.market} position any more (liquidated)`;
  if (action.kind === "addMargin") {
    await trader.client.addMargin(action.market, action.amount);
    const after = (await reader.positions(trader.address)).find((p) => p.symbol === action.market);
    if (after === undefined) throw new Error(`${action.trader}'s ${action.market} position vanished`);
    return (
      `${action.trader} adds ${usd(parseUnits(action.amount, 18))} USD margin to the ${action.market} ${before.side}: ` +
      `liq. price ${price(before.liquidationPrice)} -> ${price(after.liquidationPrice)} ` +
      `(${percent(before.liquidationDistance)} -> ${percent(after.liquidationDistance)} away)`
    );
  }
  const trade = await closeThroughKeeper(ctx, trader, action.market);
  return (
    `${action.trader} closes the ${action.market} ${before.side} at ${price(trade.fillPrice)}: realised PnL ` +
    `${signedUsd(trade.realizedPnl)} USD, fee ${usd(trade.fee)}, funding ${trade.fundingPaid >= 0n ? "paid" : "received"} ` +
    `${usd(math.abs(trade.fundingPaid))}`
  );
}

