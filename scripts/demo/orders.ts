/**
 * The demo's last chapter, "Orders on a pull oracle": a second deployment (`PerpPythLocal`: Pyth markets on the local
 * `StrictMockPyth`, plus an `OrderBook` wired to its engine), the local price service started in process
 * (scripts/price-service), and the order flow through the SDK: a bracket whose stop-loss fires above the liquidation
 * price (its take-profit leg cancelled, OCO), a take-profit, a limit entry on a dip, a trailing stop ratcheting on a
 * rally, and a latency arbitrage that gains nothing (a market order settles at the first price published after its
 * commit's window opens).
 *
 * The keeper step is small: after each price, the keeper simulates each open order against the new update
 * (`executeOrder.staticCall`) and executes those that fill, and ratchets the trailing stops. Every number printed is
 * read from the chain (balances, events) or the SDK (quotes, order views); the chapter only chooses the inputs.
 */
import { ZeroAddress, getAddress, parseUnits } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { PerpClient, type Deployment, type OrderInfo, type OrderOutcome, type TradeExecution } from "@perp/sdk";
import { IPriceFeed__factory, MockUSDC__factory, OrderBook__factory } from "@perp/sdk/contracts";
import { HermesPriceSource, PYTH_FEED_IDS } from "@perp/sdk/prices";

import { FUTURE_IDS, MARKETS } from "../../ignition/lib/perp.js";
import PerpPythLocal from "../../ignition/modules/PerpPythLocal.js";
import { deployWithIgnition } from "../lib/deployment.js";
import { pythListingParameters } from "../lib/pyth-listing.js";
import { startPriceService, type PriceService } from "../price-service/service.js";
import type { Actor, DemoContext } from "./context.js";
import { price, signedUsd, size, usd } from "./report.js";

const MODULE_ID = "PerpPythLocal";
const ETH_ID = PYTH_FEED_IDS["ETH/USD"];
const BTC_ID = PYTH_FEED_IDS["BTC/USD"];
const BTC_PRICE = "60000";
/** The order book's parameters (the BRIEF's defaults). */
const BOOK = {
  keeperFee: 5n * 10n ** 17n,
  minSettleDelay: 2n,
  maxSettleDelay: 30n,
  marketOrderExpiry: 120n,
  triggerMaxAge: 10n,
  minExecutionGas: 500_000n,
};
/** Seconds between two price steps (the feeds' cache stays well inside its 60 s maximum age). */
const STEP_SECONDS = 10n;

interface Chapter {
  readonly ctx: DemoContext;
  readonly service: PriceService;
  readonly source: HermesPriceSource;
  readonly deployment: Deployment;
  readonly clients: Map<Actor, PerpClient>;
  readonly book: ReturnType<typeof OrderBook__factory.connect>;
  ethPrice: string;
}

export async function runOrdersChapter(hre: HardhatRuntimeEnvironment, ctx: DemoContext): Promise<void> {
  const { out, clock, connection, cast } = ctx;
  out.section("6. Orders on a pull oracle");
  out.status("deploying PerpPythLocal and the order book");
  const provider = connection.ethers.provider;
  const start = Number(clock.now);
  const service = await startPriceService({
    port: 0,
    host: "127.0.0.1",
    feeds: [
      { id: ETH_ID, expo: -8, points: [{ publishTime: start, price: parseUnits("2000", 8) }] },
      { id: BTC_ID, expo: -8, points: [{ publishTime: start, price: parseUnits(BTC_PRICE, 8) }] },
    ],
    now: () => Number(clock.now),
  });
  try {
    const source = new HermesPriceSource({ endpoint: service.url, httpRetries: 0 });
    const fromBlock = await provider.getBlockNumber();
    const addresses = await deployWithIgnition({
      hre,
      connection,
      ignitionModule: PerpPythLocal,
      parameters: { [MODULE_ID]: await pythListingParameters(source, MARKETS) },
      deploymentDir: undefined,
      showProgress: false,
    });
    const at = (id: string) => getAddress(addresses[`${MODULE_ID}#${id}`]);
    const operator = cast.operator.signer;
    const bookContract = await new OrderBook__factory(operator).deploy(at(FUTURE_IDS.engine), BOOK, cast.operator.address);
    await bookContract.waitForDeployment();
    const chainId = Number((await provider.getNetwork()).chainId);
    const deployment: Deployment = {
      schemaVersion: 1,
      network: connection.networkName,
      chainId,
      deploymentBlock: fromBlock + 1,
      contracts: {
        PerpEngine: at(FUTURE_IDS.engine),
        LiquidityVault: at(FUTURE_IDS.vault),
        CollateralToken: at(FUTURE_IDS.collateralToken),
        LiquidationLogic: at(FUTURE_IDS.liquidationLogic),
        LiquidationPriceLogic: at(FUTURE_IDS.liquidationPriceLogic),
        MarketAdminLogic: at(FUTURE_IDS.marketAdminLogic),
        PerpLens: at(FUTURE_IDS.lens),
        OrderBook: await bookContract.getAddress(),
      },
      pyth: at(FUTURE_IDS.pyth),
      markets: MARKETS.map((m, id) => ({
        id,
        symbol: m.symbol,
        priceFeed: at(FUTURE_IDS.priceFeed(m)),
        aggregator: ZeroAddress,
        pythPriceId: m.pythPriceId,
      })),
    };
    const opClient = await PerpClient.connect({ runner: operator, deployment });
    await (await opClient.engine.setOrderBook(deployment.contracts.OrderBook!)).wait();

    const clients = new Map<Actor, PerpClient>();
    for (const actor of [cast.lp, cast.keeper, ...cast.traders]) {
      clients.set(actor, await PerpClient.connect({ runner: actor.signer, deployment, priceSource: source }));
    }
    const ch: Chapter = {
      ctx,
      service,
      source,
      deployment,
      clients,
      book: OrderBook__factory.connect(deployment.contracts.OrderBook!, cast.keeper.signer),
      ethPrice: "2000",
    };
    out.print(
      `Second deployment: ${MODULE_ID} (engine ${deployment.contracts.PerpEngine}, StrictMockPyth ${deployment.pyth}) ` +
        `and an OrderBook (${deployment.contracts.OrderBook}); prices from the local price service at ${service.url.replace(/:\d+$/, ":<port>")}.`,
    );
    await fundChapter(ch);
    out.tick("order book deployed");

    await storyOfOrders(ch);
  } finally {
    await service.close();
  }
}

// ------------------------------------------------------------------------------------------ helpers

function client(ch: Chapter, actor: Actor): PerpClient {
  const c = ch.clients.get(actor);
  if (c === undefined) throw new Error(`no client for ${actor.name}`);
  return c;
}

/** The oracle fee of pushing `data` into the feeds of `marketIds` (each feed's `getUpdateFee`). */
async function oracleFee(ch: Chapter, marketIds: readonly number[], data: string[]): Promise<bigint> {
  let fee = 0n;
  for (const id of marketIds) {
    const feed = ch.deployment.markets.find((m) => m.id === id)!.priceFeed;
    fee += await IPriceFeed__factory.connect(feed, ch.ctx.connection.ethers.provider).getUpdateFee(data);
  }
  return fee;
}

/**
 * Time passes, ETH (and BTC, unchanged) is published at the next block's time and pushed on chain (`pokePrices`,
 * anyone may: keeps both caches fresh for what reads every market, such as the vault's NAV). Returns ETH's update.
 */
async function step(ch: Chapter, eth: string): Promise<string[]> {
  await ch.ctx.clock.advance(STEP_SECONDS - 1n);
  const t = Number(ch.ctx.clock.now) + 1;
  ch.ethPrice = eth;
  ch.service.setPrice(ETH_ID, parseUnits(eth, 8), t);
  ch.service.setPrice(BTC_ID, parseUnits(BTC_PRICE, 8), t);
  const both = (await ch.source.latest([ETH_ID, BTC_ID])).updateData;
  await (await ch.book.pokePrices([0, 1], both, { value: await oracleFee(ch, [0, 1], both) })).wait();
  return (await ch.source.latest([ETH_ID])).updateData;
}

/** A market order's window opens: its first price is published at `settleableAt`, the chain moves there. */
function publishAtWindow(ch: Chapter, eth: string) {
  return async (order: { settleableAt: bigint }) => {
    ch.ethPrice = eth;
    ch.service.setPrice(ETH_ID, parseUnits(eth, 8), Number(order.settleableAt));
    ch.service.setPrice(BTC_ID, parseUnits(BTC_PRICE, 8), Number(order.settleableAt));
    const wait = order.settleableAt - ch.ctx.clock.now;
    if (wait > 0n) await ch.ctx.clock.advance(wait);
  };
}

async function fundChapter(ch: Chapter): Promise<void> {
  const { cast, clock } = ch.ctx;
  const token = (actor: Actor) => MockUSDC__factory.connect(ch.deployment.contracts.CollateralToken, actor.signer);
  const lp = client(ch, cast.lp);
  const requests = await lp.lpRequests();
  const lpAmount = 1_000_000n * 10n ** 6n;
  await (await token(cast.lp).mint(cast.lp.address, lpAmount + requests.keeperFee)).wait();
  await lp.lpDeposit(lpAmount);
  await clock.advance(requests.settleDelay);
  await step(ch, "2000");
  await client(ch, cast.keeper).lpSettle("deposit", cast.lp.address);
  await lp.lpClaim("deposit");
  for (const trader of cast.traders.slice(0, 5)) {
    await (await token(trader).mint(trader.address, 5_000n * 10n ** 6n)).wait();
    await client(ch, trader).deposit(5_000n * 10n ** 6n);
  }
  ch.ctx.out.print(
    `The LP deposits ${usd(lpAmount * 10n ** 12n)} USDC into the new vault; Alice, Bob, Carol, Dave and Erin deposit 5,000.00 each.`,
  );
}

/** The keeper's step: every open order of the chapter's traders that the new update fills is executed. */
async function keeperStep(ch: Chapter, data: string[]): Promise<OrderInfo[]> {
  const executed: OrderInfo[] = [];
  const fee = await oracleFee(ch, [0], data);
  for (const trader of ch.ctx.cast.traders.slice(0, 5)) {
    for (const order of await client(ch, trader).orders()) {
      if (order.kind === "market" || order.voided) continue;
      try {
        // What a keeper does before paying gas: simulate. A revert means the update does not fill it (trigger not
        // crossed); a real failure would surface below, in the order's absence from the story's next lines.
        await ch.book.executeOrder.staticCall(order.id, data, { value: fee });
      } catch {
        if (order.kind === "trailing-stop") {
          try {
            await ch.book.ratchetTrailingStop.staticCall(order.id, data, { value: fee });
            await (await ch.book.ratchetTrailingStop(order.id, data, { value: fee })).wait();
          } catch {
            // nothing to ratchet: the price is not above the high-water mark
          }
        }
        continue;
      }
      await (await ch.book.executeOrder(order.id, data, { value: fee })).wait();
      executed.push(order);
    }
  }
  return executed;
}

/** An executed order's outcome with its fill (the SDK throws on a cancelled market order; this checks the rest). */
function filled(outcome: OrderOutcome | undefined): Extract<OrderOutcome, { status: "executed" }> & { execution: TradeExecution } {
  if (outcome?.status !== "executed" || outcome.execution === undefined) throw new Error(`order not executed: ${outcome?.status}`);
  return { ...outcome, execution: outcome.execution };
}

async function balance(ch: Chapter, actor: Actor): Promise<bigint> {
  return (await client(ch, actor).account()).crossBalance;
}

// ------------------------------------------------------------------------------------------ the story

async function storyOfOrders(ch: Chapter): Promise<void> {
  const { out, cast } = ch.ctx;
  const [alice, bob, carol, dave, erin] = cast.traders;
  const line = (text: string) => out.print(`     ${text}`);
  const startBalance = new Map<Actor, bigint>();
  for (const t of [alice, bob, carol, dave, erin]) startBalance.set(t, await balance(ch, t));

  // 1. A bracket at entry, and a twin without one.
  out.print();
  const now = () => price(parseUnits(ch.ethPrice, 18));
  out.print(`ETH ${now()}: Alice opens a 10x isolated long with a bracket; Bob opens the same long without stops.`);
  const request = { market: "ETH-USD", side: "long", margin: "1000", leverage: 10, isolated: true } as const;
  const aliceTrade = await client(ch, alice).trade({
    ...request,
    stopLoss: "1900",
    takeProfit: "2200",
    settle: "self",
    onCommitted: publishAtWindow(ch, "2000"),
  });
  const aliceQuote = aliceTrade.quote;
  line(
    `Alice: filled at ${price(filled(aliceTrade.outcome).execution.fillPrice)}, liq. price ${price(aliceQuote.liquidationPrice)}, ` +
      `stop-loss #${aliceTrade.stopLossId} at $1,900.00 (${aliceQuote.stopLoss!.beyondLiquidation ? "beyond" : "above"} it), ` +
      `take-profit #${aliceTrade.takeProfitId} at $2,200.00 (OCO pair)`,
  );
  const bobTrade = await client(ch, bob).trade({ ...request, settle: "self", onCommitted: publishAtWindow(ch, "2000") });
  line(`Bob: filled at ${price(filled(bobTrade.outcome).execution.fillPrice)}, liq. price ${price(bobTrade.quote.liquidationPrice)}, no stop`);

  // Carol shorts with a take-profit; Dave waits for a dip with a limit buy.
  const carolTrade = await client(ch, carol).trade({
    market: "ETH-USD",
    side: "short",
    margin: "1000",
    leverage: 5,
    isolated: true,
    takeProfit: "1850",
    settle: "self",
    onCommitted: publishAtWindow(ch, "2000"),
  });
  line(
    `Carol: 5x isolated short filled at ${price(filled(carolTrade.outcome).execution.fillPrice)} with a take-profit ` +
      `#${carolTrade.takeProfitId} at $1,850.00`,
  );
  const limit = await client(ch, dave).placeTriggerOrder({ market: "ETH-USD", kind: "limit", side: "long", size: "2", triggerPrice: "1850" });
  line(`Dave: limit buy #${limit.orderId} of 2 ETH at $1,850.00 (cross)`);

  const report = async (data: string[], headline: string) => {
    const executed = await keeperStep(ch, data);
    out.print(`ETH ${price(parseUnits(ch.ethPrice, 18))}: ${headline}`);
    return executed;
  };

  // The fall.
  const said = (executed: OrderInfo[]) =>
    executed.map((o) => `#${o.id} ${o.kind}`).join(", ") || "nothing triggers";
  let executed = await report(await step(ch, "1930"), "the price falls");
  line(`keeper: ${said(executed)}`);
  const aliceBefore = startBalance.get(alice)!;
  executed = await report(await step(ch, "1880"), "through Alice's stop");
  line(`keeper: ${said(executed)}`);
  const aliceOutcome = await client(ch, alice).waitForSettlement({ orderId: aliceTrade.stopLossId!, fromBlock: aliceTrade.receipt.blockNumber, timeoutMs: 0 });
  const tpOutcome = await client(ch, alice).waitForSettlement({ orderId: aliceTrade.takeProfitId!, fromBlock: aliceTrade.receipt.blockNumber, timeoutMs: 0 });
  if (aliceOutcome.status !== "executed" || tpOutcome.status !== "cancelled") throw new Error("Alice's bracket did not resolve as expected");
  const aliceAfter = await balance(ch, alice);
  line(
    `Alice's stop-loss executed at ${price(aliceOutcome.price)} (fill ${price(aliceOutcome.execution!.fillPrice)}, realised ` +
      `${signedUsd(aliceOutcome.execution!.realizedPnl)}, fee ${usd(aliceOutcome.execution!.fee)}); take-profit #${tpOutcome.orderId} ` +
      `cancelled (${tpOutcome.reason})`,
  );
  line(`Alice's result: ${signedUsd(aliceAfter - aliceBefore)} USD of her 5,000.00`);

  executed = await report(await step(ch, "1840"), "Carol's take-profit and Dave's limit");
  line(`keeper: ${said(executed)}`);
  const carolTp = filled(
    await client(ch, carol).waitForSettlement({ orderId: carolTrade.takeProfitId!, fromBlock: carolTrade.receipt.blockNumber, timeoutMs: 0 }),
  );
  const carolAfter = await balance(ch, carol);
  line(
    `Carol's take-profit executed at ${price(carolTp.price)} (realised ${signedUsd(carolTp.execution.realizedPnl)}, fee ` +
      `${usd(carolTp.execution.fee)}): result ${signedUsd(carolAfter - startBalance.get(carol)!)} USD`,
  );
  const [davePosition] = await client(ch, dave).positions();
  line(`Dave's limit filled: long ${davePosition ? `${size(davePosition.size)} ETH at ${price(davePosition.entryPrice)}` : "none"}`);

  // Bob has no stop: he is liquidated below his liquidation price.
  const bobData = await step(ch, "1815");
  const bobReceipt = await client(ch, cast.keeper).liquidate(bob.address, "ETH-USD", bobData);
  const [liq] = client(ch, cast.keeper).liquidationEvents(bobReceipt);
  out.print(`ETH ${price(parseUnits(ch.ethPrice, 18))}: below Bob's liquidation price`);
  const bobAfter = await balance(ch, bob);
  line(
    `keeper liquidates Bob: equity ${signedUsd(liq.equity)} -> keeper ${usd(liq.keeperReward)}, insurance ${usd(liq.insurancePaid)}, ` +
      `Bob ${usd(liq.traderRemainder)}; Bob's result ${signedUsd(bobAfter - startBalance.get(bob)!)} USD`,
  );
  const aliceResult = aliceAfter - aliceBefore;
  const bobResult = bobAfter - startBalance.get(bob)!;
  line(`the stop-loss saved Alice ${usd(aliceResult - bobResult)} USD of the 1,000.00 margin vs being liquidated like Bob`);

  // 4. A trailing stop on Dave's long.
  const trail = await client(ch, dave).placeTriggerOrder({ market: "ETH-USD", kind: "trailing-stop", trailBps: 200 });
  const [placed] = (await client(ch, dave).orders()).filter((o) => o.id === trail.orderId);
  out.print(
    `Dave adds a 2 % trailing stop #${trail.orderId} on his long: high ${price(trail.triggerPrice)}, ` +
      `stop ${price(placed?.trailingTrigger ?? 0n)}`,
  );
  for (const [eth, headline] of [
    ["1880", "the rally"],
    ["1950", "the rally extends"],
    ["1905", "pullback"],
  ] as const) {
    executed = await report(await step(ch, eth), headline);
    const [order] = (await client(ch, dave).orders()).filter((o) => o.id === trail.orderId);
    line(`keeper: ${said(executed)}${order ? `; trailing stop at ${price(order.trailingTrigger ?? 0n)}` : ""}`);
  }
  const daveAfter = await balance(ch, dave);
  line(`Dave's trailing stop locked in: result ${signedUsd(daveAfter - startBalance.get(dave)!)} USD`);

  // 5. Latency arbitrage.
  const jump = "2000";
  out.print(
    `ETH ${now()}: Erin knows the next price is ${price(parseUnits(jump, 18))} and commits a 5 ETH market long right before the jump`,
  );
  // She accepts any fill up to 10 % away: what she is after is the stale price, not protection.
  const erinOpen = await client(ch, erin).trade({
    market: "ETH-USD",
    side: "long",
    size: "5",
    slippage: "10%",
    settle: "self",
    onCommitted: publishAtWindow(ch, jump),
  });
  line(
    `order #${erinOpen.order!.orderId} settles at the first price published once its window opens: ` +
      `${price(filled(erinOpen.outcome).price)}, fill ${price(filled(erinOpen.outcome).execution.fillPrice)}`,
  );
  const erinClose = await client(ch, erin).closePosition("ETH-USD", { settle: "self", onCommitted: publishAtWindow(ch, jump) });
  const erinAfter = await balance(ch, erin);
  line(
    `closes at ${price(filled(erinClose.outcome).execution.fillPrice)}: realised ${signedUsd(filled(erinClose.outcome).execution.realizedPnl)}; ` +
      `Erin's result after fees ${signedUsd(erinAfter - startBalance.get(erin)!)} USD`,
  );
}
