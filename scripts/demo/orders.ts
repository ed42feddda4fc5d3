/**
 * The demo's last chapter, "Trigger orders": on the same deployment (PerpPythLocal and its OrderBook) and the same
 * in-process price service as the chapters before, five more traders show what orders add beyond the market orders of
 * chapters 3-4: a bracket whose stop-loss fires above the liquidation price (its take-profit leg cancelled, OCO), a
 * take-profit, a limit entry on a dip, a trailing stop ratcheting on a rally, and a latency arbitrage that gains
 * nothing (a market order settles at the first price published after its commit's window opens).
 *
 * The keeper step is small: after each price, the keeper simulates each open order against the new update
 * (`executeOrder.staticCall`) and executes those that fill, and ratchets the trailing stops. Every number printed is
 * read from the chain (balances, events) or the SDK (quotes, order views); the chapter only chooses the inputs.
 */
import { formatUnits, parseUnits } from "ethers";

import { PerpClient, type Deployment, type OrderInfo, type OrderOutcome, type TradeExecution } from "@perp/sdk";
import { IPriceFeed__factory, MockUSDC__factory, OrderBook__factory } from "@perp/sdk/contracts";
import { PYTH_FEED_IDS, type HermesPriceSource } from "@perp/sdk/prices";

import type { PriceService } from "../price-service/service.js";
import { ClockedSigner } from "./chain.js";
import type { Actor, DemoContext } from "./context.js";
import { price, signedUsd, size, usd } from "./report.js";
import { ACCOUNTS, ORDER_TRADERS, TRADERS } from "./scenario.js";

const ETH_ID = PYTH_FEED_IDS["ETH/USD"];
const BTC_ID = PYTH_FEED_IDS["BTC/USD"];
/** Seconds between two price steps (the feeds' cache stays well inside its 60 s maximum age). */
const STEP_SECONDS = 10n;
const DEPOSIT = 5_000n * 10n ** 6n;

interface Chapter {
  readonly ctx: DemoContext;
  readonly service: PriceService;
  readonly source: HermesPriceSource;
  readonly deployment: Deployment;
  readonly traders: readonly Actor[];
  readonly clients: Map<Actor, PerpClient>;
  readonly book: ReturnType<typeof OrderBook__factory.connect>;
  ethPrice: string;
  /** BTC is held where the price path left it: the chapter moves ETH only. */
  readonly btcPrice: string;
}

export async function runOrdersChapter(ctx: DemoContext): Promise<void> {
  const { out, connection, cast, deployment, clock } = ctx;
  out.section("6. Trigger orders: stop-loss, take-profit, limit, trailing stop; latency arbitrage");
  out.status("trigger orders");
  const signers = await connection.ethers.getSigners();
  const first = ACCOUNTS.firstTrader + TRADERS.length;
  if (signers.length < first + ORDER_TRADERS.length) {
    throw new Error(`the demo needs ${first + ORDER_TRADERS.length} unlocked accounts on "${connection.networkName}", the node has ${signers.length}`);
  }
  const traders: Actor[] = [];
  for (const [i, name] of ORDER_TRADERS.entries()) {
    const signer = new ClockedSigner(signers[first + i], clock);
    traders.push({
      name,
      address: await signer.getAddress(),
      signer,
      client: await PerpClient.connect({ runner: signer, deployment, priceSource: ctx.prices.source }),
    });
  }
  const clients = new Map<Actor, PerpClient>([[cast.keeper, cast.keeper.client], ...traders.map((t) => [t, t.client] as const)]);
  const btc = (await ctx.reader.markets()).find((m) => m.symbol === "BTC-USD");
  if (btc === undefined) throw new Error("the deployment has no BTC-USD market");
  const ch: Chapter = {
    ctx,
    service: ctx.prices.service,
    source: ctx.prices.source,
    deployment,
    traders,
    clients,
    book: OrderBook__factory.connect(deployment.contracts.OrderBook!, cast.keeper.signer),
    ethPrice: "2000",
    btcPrice: formatUnits(btc.price, 18),
  };
  await fundChapter(ch);
  await storyOfOrders(ch);
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
  ch.service.setPrice(BTC_ID, parseUnits(ch.btcPrice, 8), t);
  const both = (await ch.source.latest([ETH_ID, BTC_ID])).updateData;
  await (await ch.book.pokePrices([0, 1], both, { value: await oracleFee(ch, [0, 1], both) })).wait();
  return (await ch.source.latest([ETH_ID])).updateData;
}

/** A market order's window opens: its first price is published at `settleableAt`, the chain moves there. */
function publishAtWindow(ch: Chapter, eth: string) {
  return async (order: { settleableAt: bigint }) => {
    ch.ethPrice = eth;
    ch.service.setPrice(ETH_ID, parseUnits(eth, 8), Number(order.settleableAt));
    ch.service.setPrice(BTC_ID, parseUnits(ch.btcPrice, 8), Number(order.settleableAt));
    const wait = order.settleableAt - ch.ctx.clock.now;
    if (wait > 0n) await ch.ctx.clock.advance(wait);
  };
}

async function fundChapter(ch: Chapter): Promise<void> {
  const token = (actor: Actor) => MockUSDC__factory.connect(ch.deployment.contracts.CollateralToken, actor.signer);
  for (const trader of ch.traders) {
    await (await token(trader).mint(trader.address, DEPOSIT)).wait();
    await client(ch, trader).deposit(DEPOSIT);
  }
  await step(ch, "2000");
  ch.ctx.out.print(
    `ETH is back at $2,000.00 (BTC held at ${price(parseUnits(ch.btcPrice, 18))}). ${ch.traders.map((t) => t.name).join(", ")} ` +
      `deposit ${usd(DEPOSIT * 10n ** 12n)} USDC each; each trade below is a market order, settled like those above.`,
  );
}

/** The keeper's step: every open order of the chapter's traders that the new update fills is executed. */
async function keeperStep(ch: Chapter, data: string[]): Promise<OrderInfo[]> {
  const executed: OrderInfo[] = [];
  const fee = await oracleFee(ch, [0], data);
  for (const trader of ch.traders) {
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
  const [alice, bob, carol, dave, erin] = ch.traders;
  const line = (text: string) => out.print(`     ${text}`);
  const startBalance = new Map<Actor, bigint>();
  for (const t of [alice, bob, carol, dave, erin]) startBalance.set(t, await balance(ch, t));

  // 1. A bracket at entry, and a twin without one.
  out.print();
  const now = () => price(parseUnits(ch.ethPrice, 18));
  out.print(`ETH ${now()}: Heidi opens a 10x isolated long with a bracket; Ivan opens the same long without stops.`);
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
    `Heidi: filled at ${price(filled(aliceTrade.outcome).execution.fillPrice)}, liq. price ${price(aliceQuote.liquidationPrice)}, ` +
      `stop-loss #${aliceTrade.stopLossId} at $1,900.00 (${aliceQuote.stopLoss!.beyondLiquidation ? "beyond" : "above"} it), ` +
      `take-profit #${aliceTrade.takeProfitId} at $2,200.00 (OCO pair)`,
  );
  const bobTrade = await client(ch, bob).trade({ ...request, settle: "self", onCommitted: publishAtWindow(ch, "2000") });
  line(`Ivan: filled at ${price(filled(bobTrade.outcome).execution.fillPrice)}, liq. price ${price(bobTrade.quote.liquidationPrice)}, no stop`);

  // Judy shorts with a take-profit; Ken waits for a dip with a limit buy.
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
    `Judy: 5x isolated short filled at ${price(filled(carolTrade.outcome).execution.fillPrice)} with a take-profit ` +
      `#${carolTrade.takeProfitId} at $1,850.00`,
  );
  const limit = await client(ch, dave).placeTriggerOrder({ market: "ETH-USD", kind: "limit", side: "long", size: "2", triggerPrice: "1850" });
  line(`Ken: limit buy #${limit.orderId} of 2 ETH at $1,850.00 (cross)`);

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
  executed = await report(await step(ch, "1880"), "through Heidi's stop");
  line(`keeper: ${said(executed)}`);
  const aliceOutcome = await client(ch, alice).waitForSettlement({ orderId: aliceTrade.stopLossId!, fromBlock: aliceTrade.receipt.blockNumber, timeoutMs: 0 });
  const tpOutcome = await client(ch, alice).waitForSettlement({ orderId: aliceTrade.takeProfitId!, fromBlock: aliceTrade.receipt.blockNumber, timeoutMs: 0 });
  if (aliceOutcome.status !== "executed" || tpOutcome.status !== "cancelled") throw new Error("Heidi's bracket did not resolve as expected");
  const aliceAfter = await balance(ch, alice);
  line(
    `Heidi's stop-loss executed at ${price(aliceOutcome.price)} (fill ${price(aliceOutcome.execution!.fillPrice)}, realised ` +
      `${signedUsd(aliceOutcome.execution!.realizedPnl)}, fee ${usd(aliceOutcome.execution!.fee)}); take-profit #${tpOutcome.orderId} ` +
      `cancelled (${tpOutcome.reason})`,
  );
  line(`Heidi's result: ${signedUsd(aliceAfter - aliceBefore)} USD of her 5,000.00`);

  executed = await report(await step(ch, "1840"), "Judy's take-profit and Ken's limit");
  line(`keeper: ${said(executed)}`);
  const carolTp = filled(
    await client(ch, carol).waitForSettlement({ orderId: carolTrade.takeProfitId!, fromBlock: carolTrade.receipt.blockNumber, timeoutMs: 0 }),
  );
  const carolAfter = await balance(ch, carol);
  line(
    `Judy's take-profit executed at ${price(carolTp.price)} (realised ${signedUsd(carolTp.execution.realizedPnl)}, fee ` +
      `${usd(carolTp.execution.fee)}): result ${signedUsd(carolAfter - startBalance.get(carol)!)} USD`,
  );
  const [davePosition] = await client(ch, dave).positions();
  line(`Ken's limit filled: long ${davePosition ? `${size(davePosition.size)} ETH at ${price(davePosition.entryPrice)}` : "none"}`);

  // Ivan has no stop: he is liquidated below his liquidation price.
  const bobData = await step(ch, "1815");
  const bobReceipt = await client(ch, cast.keeper).liquidate(bob.address, "ETH-USD", bobData);
  const [liq] = client(ch, cast.keeper).liquidationEvents(bobReceipt);
  out.print(`ETH ${price(parseUnits(ch.ethPrice, 18))}: below Ivan's liquidation price`);
  const bobAfter = await balance(ch, bob);
  line(
    `keeper liquidates Ivan: equity ${signedUsd(liq.equity)} -> keeper ${usd(liq.keeperReward)}, insurance ${usd(liq.insurancePaid)}, ` +
      `Ivan ${usd(liq.traderRemainder)}; Ivan's result ${signedUsd(bobAfter - startBalance.get(bob)!)} USD`,
  );
  const aliceResult = aliceAfter - aliceBefore;
  const bobResult = bobAfter - startBalance.get(bob)!;
  line(`the stop-loss saved Heidi ${usd(aliceResult - bobResult)} USD of the 1,000.00 margin vs being liquidated like Ivan`);

  // 4. A trailing stop on Ken's long.
  const trail = await client(ch, dave).placeTriggerOrder({ market: "ETH-USD", kind: "trailing-stop", trailBps: 200 });
  const [placed] = (await client(ch, dave).orders()).filter((o) => o.id === trail.orderId);
  out.print(
    `Ken adds a 2 % trailing stop #${trail.orderId} on his long: high ${price(trail.triggerPrice)}, ` +
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
  line(`Ken's trailing stop locked in: result ${signedUsd(daveAfter - startBalance.get(dave)!)} USD`);

  // 5. Latency arbitrage.
  const jump = "2000";
  out.print(
    `ETH ${now()}: Liam knows the next price is ${price(parseUnits(jump, 18))} and commits a 5 ETH market long right before the jump`,
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
      `Liam's result after fees ${signedUsd(erinAfter - startBalance.get(erin)!)} USD`,
  );
}
