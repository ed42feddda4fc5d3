/**
 * The SDK's order flow (v2, SPEC "Orders"): quotes that carry the keeper fee, the settlement window and the value of
 * a stop-loss / take-profit (checked against the engine's own close at that price), the funding a position has
 * settled, and the order actions against the order book.
 */
import { expect } from "chai";

import {
  InvalidRequestError,
  OrderCancelledError,
  PerpClient,
  PerpContractError,
  SettlementTimeoutError,
  cancelOrder,
  commitOrder,
  eventsNamed,
  formatPrice,
  getFundingPaid,
  getOrders,
  placeTriggerOrder,
  quoteFromSnapshot,
  settleOrder,
  updateTriggerOrder,
  waitForSettlement,
  type CommittedOrder,
  type Deployment,
  type OrderBookParams,
  type Snapshot,
} from "@perp/sdk";
import { OrderBook__factory, PythPriceFeed__factory, StrictMockPyth__factory } from "@perp/sdk/contracts";
import { HermesPriceSource, encodeMockPriceUpdate } from "@perp/sdk/prices";
import { startPriceService, type PriceService } from "../../scripts/price-service/service.js";
import { DAY, ETH, ORACLE_UNIT, deployProtocol, ethParams, usdc, wad } from "../../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../../scripts/lib/network.js";

/** The default order book parameters (BRIEF): 0.5 USD keeper fee, settle 2-30 s after commit, expiry 120 s. */
const BOOK: OrderBookParams = {
  keeperFee: wad("0.5"),
  minSettleDelay: 2n,
  maxSettleDelay: 30n,
  marketOrderExpiry: 120n,
  triggerMaxAge: 10n,
  minExecutionGas: 500_000n,
};

describe("SDK orders: quotes of the order flow", function () {
  async function funded() {
    const p = await deployProtocol();
    await p.engine.connect(p.alice).deposit(usdc(10_000));
    const client = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    return { ...p, client };
  }

  it("carries the keeper fees and the settlement window, and values the stop-loss and take-profit as the engine closes", async function () {
    const p = await networkHelpers.loadFixture(funded);
    const snap: Snapshot = { ...(await p.client.snapshot()), orderBook: BOOK };
    const request = { market: "ETH", side: "long", margin: "500", leverage: 10, isolated: true, stopLoss: "1900", takeProfit: "2300" } as const;
    const quote = quoteFromSnapshot(snap, request);
    expect(quote.rejection).to.equal(undefined);
    expect([quote.keeperFee, quote.orderFees]).to.deep.equal([wad("0.5"), wad("1.5")]);
    expect(quote.settlement).to.deep.equal({ minDelay: 2n, maxDelay: 30n, expiry: 120n });
    expect(quote.warnings).to.deep.equal([]);
    // The same trade without the stops: the fees come out of the cross balance, not the isolated position.
    const plain = quoteFromSnapshot({ ...snap, orderBook: undefined }, { ...request, stopLoss: undefined, takeProfit: undefined });
    expect([plain.fillPrice, plain.fee, plain.liquidationPrice, plain.keeperFee, plain.settlement]).to.deep.equal([
      quote.fillPrice,
      quote.fee,
      quote.liquidationPrice,
      0n,
      undefined,
    ]);
    expect(quote.stopLoss!.beyondLiquidation).to.equal(false);
    expect(quote.stopLoss!.distanceToLiquidation).to.equal(((wad(1900) - quote.liquidationPrice) * wad(1)) / wad(1900));

    // The engine's own close at each trigger price books the quoted PnL and fee to the wei (v1 trade path: same math).
    await p.engine.connect(p.alice).trade(ETH, quote.sizeDelta, quote.acceptablePrice, quote.marginDelta, true);
    for (const [trigger, valued] of [
      [1900, quote.stopLoss!],
      [2300, quote.takeProfit!],
    ] as const) {
      const id = await networkHelpers.takeSnapshot();
      await p.eth.aggregator.setAnswer(wad(trigger) / ORACLE_UNIT);
      const receipt = await (await p.engine.connect(p.alice).trade(ETH, -quote.sizeDelta, 0, 0, true)).wait();
      const [closed] = p.client.tradeExecutions(receipt!);
      expect([closed!.realizedPnl, closed!.fee], `close at ${trigger}`).to.deep.equal([valued.realizedPnl, valued.fee]);
      // Valued at the quote's time, when the new position owes no funding yet.
      expect(valued.net).to.equal(valued.realizedPnl - valued.fee);
      await id.restore();
    }
  });

  it("warns when the stop sits beyond the liquidation price (it would never fire) or would trigger at once", async function () {
    const p = await networkHelpers.loadFixture(funded);
    const snap: Snapshot = { ...(await p.client.snapshot()), orderBook: BOOK };
    const base = { market: "ETH", side: "long", margin: "500", leverage: 10, isolated: true } as const;
    const liq = quoteFromSnapshot(snap, base).liquidationPrice;
    const beyond = quoteFromSnapshot(snap, { ...base, stopLoss: "1800" });
    expect(liq > wad(1800)).to.equal(true);
    expect(beyond.stopLoss!.beyondLiquidation).to.equal(true);
    expect(beyond.warnings).to.deep.equal([
      `the stop-loss at $1,800.00 is beyond the estimated liquidation price ${formatPrice(liq)}: the position would be ` +
        "liquidated first and the stop would never fire",
    ]);
    const atOnce = quoteFromSnapshot(snap, { ...base, takeProfit: "1990" });
    expect(atOnce.warnings).to.deep.equal([
      "the take-profit at $1,990.00 is at or below the index $2,000.00: it would trigger at once (the order book refuses it: use a market order)",
    ]);
    // A short's stop is above: beyond liquidation means above the liquidation price.
    const short = quoteFromSnapshot(snap, { ...base, side: "short", stopLoss: "2300" });
    expect(short.stopLoss!.beyondLiquidation).to.equal(true);
    expect(() => quoteFromSnapshot({ ...snap, orderBook: undefined }, { ...base, stopLoss: "1900" })).to.throw(
      InvalidRequestError,
      "stop-loss and take-profit orders need an order book (v2 deployment)",
    );
  });

  it("reports the funding each position settled: settled + accrued is what it paid so far", async function () {
    const p = await networkHelpers.loadFixture(funded);
    await p.engine.connect(p.alice).trade(ETH, wad(10), wad(1e9), 0, false); // cross long: the skew makes longs pay
    const refresh = () => p.eth.aggregator.setAnswer(wad(2000) / ORACLE_UNIT); // a day later the oracle must be fresh
    await networkHelpers.time.increase(DAY);
    await refresh();
    await p.engine.connect(p.alice).trade(ETH, wad(5), wad(1e9), 0, false); // settles a day of funding
    await networkHelpers.time.increase(DAY);
    await refresh();
    const events = eventsNamed(p.client.events((await (await p.engine.connect(p.alice).trade(ETH, wad(1), wad(1e9), 0, false)).wait())!), "PositionModified");
    const all = await p.engine.queryFilter(p.engine.filters.PositionModified(p.alice.address));
    const settled = all.reduce((sum, e) => sum + e.args.fundingPaid, 0n);
    expect(settled > 0n).to.equal(true);
    expect(events).to.have.length(1);
    const [position] = await p.client.positions(undefined, undefined, { withFunding: true });
    expect(position!.fundingPaid).to.equal(settled);
    expect(position!.fundingTotal).to.equal(settled + position!.accruedFunding);
    // Closing moves it to the lifetime total; a new position starts from zero.
    await p.engine.connect(p.alice).trade(ETH, -wad(16), 0, 0, false);
    const afterClose = await getFundingPaid(p.client, {});
    const closing = (await p.engine.queryFilter(p.engine.filters.PositionModified(p.alice.address))).at(-1)!.args.fundingPaid;
    expect(afterClose.get(ETH_ID)).to.deep.equal({ position: 0n, lifetime: settled + closing });
  });
});

const ETH_ID = Number(ETH);

// ===================================================================== against the order book (v2 contracts)

const PETH = 2;
const PRICE_ID = ethers.id("PETH/USD");
const PYTH_FEE = 1n;
const E8 = 10n ** 8n;

/** `deployProtocol` plus a Pyth-priced market (id 2, $2,000: StrictMockPyth + PythPriceFeed) and the order book. */
async function deployV2() {
  const p = await deployProtocol();
  const pyth = await new StrictMockPyth__factory(p.owner).deploy(PYTH_FEE);
  const book = await new OrderBook__factory(p.owner).deploy(p.engine, { ...BOOK }, p.owner);
  await p.engine.setOrderBook(book);
  const feed = await new PythPriceFeed__factory(p.owner).deploy({
    pyth: await pyth.getAddress(),
    priceId: PRICE_ID,
    maxConfBps: 100,
    maxFutureSkew: 5,
    maxCacheAge: 60,
    referenceFeed: ethers.ZeroAddress,
    refMaxDevBps: 300,
    refHeartbeat: 3600,
    expo: -8,
  }, book);
  const t = BigInt(await networkHelpers.time.latest()) + 1n;
  const first = encodeMockPriceUpdate({ id: PRICE_ID, price: { price: 2000n * E8, conf: 0n, expo: -8, publishTime: t }, prevPublishTime: 0n });
  await networkHelpers.time.setNextBlockTimestamp(t);
  await feed.updatePrice([first], { value: PYTH_FEE });
  await p.engine.listMarket(feed, ethParams());
  for (const trader of [p.alice, p.bob]) await p.engine.connect(trader).deposit(usdc(10_000));
  const deployment: Deployment = {
    ...p.deployment,
    contracts: { ...p.deployment.contracts, OrderBook: await book.getAddress() },
    pyth: await pyth.getAddress(),
    markets: [
      ...p.deployment.markets,
      { id: PETH, symbol: "PETH-USD", priceFeed: await feed.getAddress(), aggregator: ethers.ZeroAddress, pythPriceId: PRICE_ID },
    ],
  };
  return { ...p, pyth, feed, book, deployment };
}

describe("SDK orders: against the order book, settled by a keeper or by the trader", function () {
  let service: PriceService;
  let source: HermesPriceSource;

  beforeEach(async function () {
    // A price path per test: the chain goes back to the fixture, the service starts afresh.
    service = await startPriceService({ port: 0, feeds: [{ id: PRICE_ID, expo: -8 }] });
    source = new HermesPriceSource({ endpoint: service.url, httpRetries: 0 });
  });
  afterEach(async function () {
    await service.close();
  });

  async function setup() {
    const o = await networkHelpers.loadFixture(deployV2);
    const alice = await PerpClient.connect({ runner: o.alice, deployment: o.deployment, priceSource: source });
    const bob = await PerpClient.connect({ runner: o.bob, deployment: o.deployment, priceSource: source });
    await poke(o, "2000");
    return { ...o, client: alice, bobClient: bob };
  }

  /** Publishes `usd` one second after the latest block and raises the feed's cache to it (a fresh price). */
  async function fresh(usd: string): Promise<string[]> {
    const t = (await networkHelpers.time.latest()) + 1;
    service.setPrice(PRICE_ID, ethers.parseUnits(usd, 8), t);
    return (await source.latest([PRICE_ID])).updateData;
  }
  async function poke(o: Awaited<ReturnType<typeof deployV2>>, usd: string) {
    await o.feed.updatePrice(await fresh(usd), { value: PYTH_FEE });
  }
  /** The window's first price: published at settleableAt; the chain is moved there (no waiting). */
  function publishAtWindow(usd: string) {
    return async (order: CommittedOrder) => {
      service.setPrice(PRICE_ID, ethers.parseUnits(usd, 8), Number(order.settleableAt));
      if (BigInt(await networkHelpers.time.latest()) < order.settleableAt) await networkHelpers.time.increaseTo(order.settleableAt);
    };
  }

  it("trade() with settle: self fills at the verified price exactly as quoted; the keeper fee comes back", async function () {
    const o = await setup();
    const before = await o.client.account();
    const quote = await o.client.quoteTrade({ market: "PETH", side: "long", size: "5" });
    expect([quote.keeperFee, quote.orderFees, quote.rejection]).to.deep.equal([wad("0.5"), wad("0.5"), undefined]);
    const sent = await o.client.trade({ market: "PETH", side: "long", size: "5", settle: "self", onCommitted: publishAtWindow("2000") });
    expect(sent.quote).to.deep.equal({ ...quote, simulation: sent.quote.simulation }); // same trade, re-quoted at the commit's block
    const outcome = sent.outcome!;
    if (outcome.status !== "executed") throw new Error("not executed");
    expect([outcome.price, outcome.publishTime, outcome.keeper, outcome.keeperFee]).to.deep.equal([
      wad(2000),
      sent.order!.settleableAt,
      o.alice.address,
      wad("0.5"),
    ]);
    expect([outcome.execution!.fillPrice, outcome.execution!.fee, outcome.execution!.sizeDelta]).to.deep.equal([
      quote.fillPrice,
      quote.fee,
      wad(5),
    ]);
    // Escrowed at commit, paid to the settler: alice paid the trading fee only.
    const after = await o.client.account();
    expect(after.crossBalance).to.equal(before.crossBalance - quote.fee);
    expect(await o.engine.orderEscrow(o.alice.address)).to.equal(0n);
    expect(await o.book.ordersOf(o.alice.address)).to.deep.equal([]);
  });

  it("a keeper settles the order; waitForSettlement decodes the fill; the bracket's stop-loss executes and cancels the take-profit", async function () {
    const o = await setup();
    const before = await o.client.account();
    const sent = await o.client.trade({ market: "PETH", side: "long", size: "5", stopLoss: "1850", takeProfit: "2300", settle: "none" });
    const { order, stopLossId, takeProfitId } = sent;
    expect([order!.keeperFee, order!.settleableAt, order!.expiresAt]).to.deep.equal([
      wad("0.5"),
      order!.settleableAt,
      order!.settleableAt - 2n + 120n,
    ]);
    const open = await o.client.orders();
    expect(open.map((x) => [x.id, x.kind, x.side, x.closeAll, x.triggerPrice, x.acceptablePrice, x.keeperFee, x.ocoPartner, x.voided])).to.deep.equal([
      [order!.orderId, "market", "long", false, 0n, sent.quote.acceptablePrice, wad("0.5"), undefined, false],
      [takeProfitId, "take-profit", "short", true, wad(2300), open[1]!.acceptablePrice, wad("0.5"), stopLossId, false],
      [stopLossId, "stop-loss", "short", true, wad(1850), undefined, wad("0.5"), takeProfitId, false],
    ]);
    expect([open[0]!.settleableAt, open[0]!.settleBy, open[0]!.expiresAt]).to.deep.equal([
      order!.settleableAt,
      order!.settleableAt + 28n,
      order!.expiresAt,
    ]);
    expect(await o.engine.orderEscrow(o.alice.address)).to.equal(wad("1.5"));

    // Bob is the keeper.
    await publishAtWindow("2000")(order!);
    const data = (await source.at([PRICE_ID], Number(order!.settleableAt))).updateData;
    await o.book.connect(o.bob).settleOrder(order!.orderId, data, { value: PYTH_FEE });
    const settled = await o.client.waitForSettlement({ orderId: order!.orderId, fromBlock: sent.receipt.blockNumber, timeoutMs: 0 });
    if (settled.status !== "executed") throw new Error("not executed");
    expect([settled.keeper, settled.price, settled.execution!.fillPrice, settled.execution!.fee]).to.deep.equal([
      o.bob.address,
      wad(2000),
      sent.quote.fillPrice,
      sent.quote.fee,
    ]);
    expect((await o.client.account()).crossBalance).to.equal(before.crossBalance - wad("1.5") - sent.quote.fee);

    // The price falls through the stop: executed at the verified price (not the trigger); the take-profit leg goes.
    await networkHelpers.time.increase(1);
    await o.book.connect(o.bob).executeOrder(stopLossId!, await fresh("1840"), { value: PYTH_FEE });
    const stopped = await waitForSettlement(o.client, { orderId: stopLossId!, timeoutMs: 0 });
    const tp = await waitForSettlement(o.client, { orderId: takeProfitId!, timeoutMs: 0 });
    if (stopped.status !== "executed" || tp.status !== "cancelled") throw new Error("wrong outcomes");
    expect([stopped.kind, stopped.price, stopped.execution!.sizeDelta, stopped.execution!.newSize]).to.deep.equal([
      "stop-loss",
      wad(1840),
      -wad(5),
      0n,
    ]);
    expect([tp.reason, tp.by, tp.fee, tp.feeRecipient, tp.error]).to.deep.equal(["oco-partner-executed", o.bob.address, wad("0.5"), o.alice.address, undefined]);
    expect(await o.client.orders()).to.deep.equal([]);
    expect(await o.engine.orderEscrow(o.alice.address)).to.equal(0n);
  });

  it("a fill beyond the quote's bound cancels the order: trade() throws the engine's reason, decoded", async function () {
    const o = await setup();
    const error = await o.client
      .trade({ market: "PETH", side: "long", size: "5", slippage: "0.1%", settle: "self", onCommitted: publishAtWindow("2010") })
      .then(
        () => expect.fail("should be cancelled"),
        (e: unknown) => e,
      );
    expect(error).to.be.instanceOf(OrderCancelledError);
    const { outcome } = error as OrderCancelledError;
    // Settled by alice herself: the fee a keeper would have earned goes to her.
    expect([outcome.reason, outcome.by, outcome.fee, outcome.feeRecipient, outcome.error?.errorName]).to.deep.equal([
      "execution-failed",
      o.alice.address,
      wad("0.5"),
      o.alice.address,
      "SlippageExceeded",
    ]);
    // The quoted fill $2,000.005 with 0.1 % slippage bounds it at $2,002.005005; the window's first price is $2,010.
    expect((error as Error).message).to.equal(
      `order #${outcome.orderId} was cancelled (execution-failed): SlippageExceeded: fill price $2,010.01 is worse than the acceptable $2,002.01`,
    );
    expect(outcome.error?.args).to.deep.equal({ fillPrice: wad("2010.0050250"), acceptablePrice: wad("2002.005005") });
  });

  it("settling before the window opens is refused with the times; no keeper in time is a SettlementTimeoutError", async function () {
    const o = await setup();
    const { order, receipt } = await commitOrder(o.client, { quote: await o.client.quoteTrade({ market: "PETH", side: "long", size: "1" }) });
    service.setPrice(PRICE_ID, 2000n * E8, Number(order.settleableAt));
    const early = await settleOrder(o.client, { orderId: order.orderId, wait: false }).then(
      () => expect.fail("too early"),
      (e: unknown) => e as PerpContractError,
    );
    const blockTime = order.settleableAt - 1n; // the next block after the commit's
    expect([early.errorName, early.args]).to.deep.equal([
      "SettlementTooEarly",
      { orderId: order.orderId, settleableAt: order.settleableAt, blockTime },
    ]);
    expect(early.message).to.equal(
      `SettlementTooEarly: order #${order.orderId} settles from ${new Date(Number(order.settleableAt) * 1000).toISOString()} on ` +
        "(1 s after the block time): no price of its window is published yet",
    );
    const timeout = await waitForSettlement(o.client, { orderId: order.orderId, fromBlock: receipt.blockNumber, timeoutMs: 0 }).then(
      () => expect.fail("nobody settled"),
      (e: unknown) => e,
    );
    expect(timeout).to.be.instanceOf(SettlementTimeoutError);
    expect((timeout as Error).message).to.equal(
      `order #${order.orderId} was neither settled nor cancelled within 0 s: settle it yourself (settleOrder) or cancel it once it expired`,
    );
    // A second market order in the same market waits for the first.
    const pending = await commitOrder(o.client, { quote: await o.client.quoteTrade({ market: "PETH", side: "long", size: "1" }) }).then(
      () => expect.fail("one pending order per market"),
      (e: unknown) => e as PerpContractError,
    );
    expect([pending.errorName, pending.args]).to.deep.equal([
      "PendingMarketOrder",
      { trader: o.alice.address, marketId: BigInt(PETH), orderId: order.orderId },
    ]);
  });

  it("places, updates and cancels trigger orders; refusals are decoded with their numbers", async function () {
    const o = await setup();
    const limit = await placeTriggerOrder(o.client, { market: "PETH", kind: "limit", side: "long", size: "2", triggerPrice: "1950" });
    expect([limit.sizeDelta, limit.triggerPrice, limit.acceptablePrice, limit.keeperFee]).to.deep.equal([wad(2), wad(1950), wad(1950), wad("0.5")]);
    const updated = await updateTriggerOrder(o.client, { orderId: limit.orderId, triggerPrice: "1940" });
    expect([updated.sizeDelta, updated.triggerPrice, updated.acceptablePrice]).to.deep.equal([wad(2), wad(1940), wad(1950)]);
    const [listed] = await getOrders(o.client, {});
    expect([listed!.kind, listed!.triggerPrice, listed!.acceptablePrice, listed!.createdAt]).to.deep.equal([
      "limit",
      wad(1940),
      wad(1950),
      BigInt((await updated.receipt.getBlock()).timestamp),
    ]);
    const cancelled = await cancelOrder(o.client, { orderId: limit.orderId });
    expect(cancelled.outcome).to.deep.include({
      status: "cancelled",
      reason: "by-trader",
      by: o.alice.address,
      fee: wad("0.5"),
      feeRecipient: o.alice.address,
    });
    expect(await o.engine.orderEscrow(o.alice.address)).to.equal(0n);

    // A limit buy above the price would fill at once.
    const wrong = await placeTriggerOrder(o.client, { market: "PETH", kind: "limit", side: "long", size: "1", triggerPrice: "2100" }).then(
      () => expect.fail("refused"),
      (e: unknown) => e as PerpContractError,
    );
    expect(wrong).to.be.instanceOf(PerpContractError);
    expect([wrong.errorName, wrong.args]).to.deep.equal(["TriggerOnWrongSide", { kind: 1n, isBuy: true, triggerPrice: wad(2100), currentPrice: wad(2000) }]);
    expect(wrong.message).to.equal(
      "TriggerOnWrongSide: a buy limit order at $2,100.00 would trigger at once at the current price $2,000.00: use a market order, or a trigger on the other side of the price",
    );
    // Reduce-only without a position: refused locally.
    await expect(placeTriggerOrder(o.client, { market: "PETH", kind: "stop-loss", triggerPrice: "1900" })).to.be.rejectedWith(
      InvalidRequestError,
      "no position (or pending order opening one) in market 2 to close",
    );
    // A market order cannot be cancelled before it expires: the SDK says until when.
    const { order } = await commitOrder(o.client, { quote: await o.client.quoteTrade({ market: "PETH", side: "short", size: "1" }) });
    const early = await cancelOrder(o.client, { orderId: order.orderId }).then(
      () => expect.fail("refused"),
      (e: unknown) => e as PerpContractError,
    );
    expect([early.errorName, early.args.expiresAt]).to.deep.equal(["MarketOrderNotExpired", order.expiresAt]);
  });

  it("closePosition with a trailing stop open: the close voids it (position epoch), getOrders flags it", async function () {
    const o = await setup();
    await o.client.trade({ market: "PETH", side: "short", size: "3", settle: "self", onCommitted: publishAtWindow("2000") });
    const trail = await placeTriggerOrder(o.client, { market: "PETH", kind: "trailing-stop", trailBps: 200 });
    expect([trail.sizeDelta, trail.triggerPrice, trail.acceptablePrice]).to.deep.equal([-(2n ** 255n), wad(2000), 2n ** 128n - 1n]);
    await poke(o, "2000");
    const closed = await o.client.closePosition("PETH", { settle: "self", onCommitted: publishAtWindow("2000") });
    expect(closed.outcome?.status).to.equal("executed");
    const [voided] = await o.client.orders();
    expect([voided!.id, voided!.kind, voided!.side, voided!.trailBps, voided!.trailingTrigger, voided!.voided]).to.deep.equal([
      trail.orderId,
      "trailing-stop",
      "long",
      200,
      wad(2040),
      true,
    ]);
  });
});
