/**
 * The SDK's margin-change quote against the engine (the quoted liquidation price is the `liquidationPrice` view after
 * the change, to the wei, for an add and a removal on an isolated long and short with funding accruing; each
 * removal rule's rejection is the decoded revert's sentence); the account's history, summary and the price history
 * read from the chain.
 */
import { expect } from "chai";
import { ZeroAddress, type Signer } from "ethers";

import { PerpClient, PerpContractError, eventsNamed, fundingPaidFromHistory, getFundingPaid, getPriceHistory, mergeAccountHistory, mergePriceHistory, quoteMarginChange, type MarginChangeQuote } from "@perp/sdk";
import { BTC, ETH, deployProtocol, usdc, wad, type Protocol } from "../../scripts/lib/fixture.js";
import { networkHelpers } from "../../scripts/lib/network.js";
import { PYTH_FEE, deployOrders, now, priceUpdate } from "../helpers/orders.js";

const BUY_ANY = wad(1e9);

/** Alice: isolated ETH long; Bob: isolated BTC short; Carol's cross positions skew both markets, so funding accrues. */
async function opened() {
  const p = await deployProtocol();
  for (const trader of [p.alice, p.bob, p.carol]) await p.engine.connect(trader).deposit(usdc(100_000));
  await p.engine.connect(p.alice).trade(ETH, wad(5), BUY_ANY, wad(1_000), true);
  await p.engine.connect(p.bob).trade(BTC, wad("-0.5"), 0, wad(3_000), true);
  await p.engine.connect(p.carol).trade(ETH, wad(20), BUY_ANY, 0, false);
  await p.engine.connect(p.carol).trade(BTC, wad(-2), 0, 0, false);
  await networkHelpers.time.increase(6 * 3600);
  // Fresh answers at the same prices (the feeds' heartbeat is an hour).
  await p.eth.aggregator.setAnswer(2_000_00000000n);
  await p.btc.aggregator.setAnswer(60_000_00000000n);
  return p;
}

/** Pins the change's block time to the one the quote assumed, sends it, and checks the engine at that block. */
async function expectEngineMatches(
  p: Protocol,
  signer: Signer,
  marketId: bigint,
  q: MarginChangeQuote,
  at: bigint,
  send: () => Promise<{ blockNumber: number }>,
) {
  await networkHelpers.time.setNextBlockTimestamp(at);
  const receipt = await send();
  const trader = await signer.getAddress();
  const tag = { blockTag: receipt.blockNumber };
  const health = await p.engine.positionHealth(trader, marketId, tag);
  expect({
    liquidationPrice: await p.engine.liquidationPrice(trader, marketId, tag),
    margin: (await p.engine.getPosition(trader, marketId, tag)).margin,
    crossBalance: (await p.engine.getAccount(trader, tag))[0],
    equity: health.equity,
    maintenanceMargin: health.maintenanceMargin,
  }).to.deep.equal({
    liquidationPrice: q.liquidationPrice,
    margin: q.margin,
    crossBalance: q.crossBalance,
    equity: q.health.equity,
    maintenanceMargin: q.health.maintenanceMargin,
  });
}

describe("SDK quoteMarginChange: the preview is what the engine does", function () {
  const cases: Array<[string, "alice" | "bob", bigint, "add" | "remove", string]> = [
    ["adding to an isolated long", "alice", ETH, "add", "250"],
    ["removing from an isolated long", "alice", ETH, "remove", "300"],
    ["adding to an isolated short", "bob", BTC, "add", "400"],
    ["removing from an isolated short", "bob", BTC, "remove", "900"],
  ];
  for (const [name, who, marketId, action, amount] of cases) {
    it(`${name}: the new liquidation price equals the engine's view after the change, to the wei`, async function () {
      const p = await networkHelpers.loadFixture(opened);
      const signer = p[who];
      const client = await PerpClient.connect({ runner: signer, deployment: p.deployment });
      const snap = await client.snapshot();
      // The change executes a minute after the snapshot: funding accrues over it, and the quote is told so.
      const at = snap.now + 60n;
      const q = quoteMarginChange(snap, { market: Number(marketId), action, amount, now: at });
      expect(q.rejection).to.equal(undefined);
      expect(q.margin - q.marginBefore).to.equal(action === "add" ? wad(amount) : -wad(amount));
      // More margin moves the liquidation price away from the index, less brings it closer.
      const long = who === "alice";
      expect(q.liquidationPrice > q.liquidationPriceBefore).to.equal(long === (action === "remove"));
      expect(q.leverage < q.leverageBefore).to.equal(action === "add");
      await expectEngineMatches(p, signer, marketId, q, at, () =>
        action === "add" ? client.addMargin(Number(marketId), amount) : client.removeMargin(Number(marketId), amount),
      );
    });
  }

  it("a removal priced at the index the chain will read: the preview from a snapshot taken before the price moved matches", async function () {
    const p = await networkHelpers.loadFixture(opened);
    const client = await PerpClient.connect({ runner: p.bob, deployment: p.deployment });
    const snap = await client.snapshot();
    await p.btc.aggregator.setAnswer(61_500_00000000n);
    const at = snap.now + 30n;
    const stale = quoteMarginChange(snap, { market: "BTC", action: "remove", amount: "500", now: at });
    const q = quoteMarginChange(snap, { market: "BTC", action: "remove", amount: "500", now: at, price: "61500" });
    // The liquidation price is searched over prices, so it does not depend on the index; its distance and the
    // position's equity do, and a preview must show them at the price the chain will use.
    expect(stale.liquidationPrice).to.equal(q.liquidationPrice);
    expect(stale.liquidationDistance).to.not.equal(q.liquidationDistance);
    expect(stale.health.equity > q.health.equity).to.equal(true);
    await expectEngineMatches(p, p.bob, BTC, q, at, () => client.removeMargin("BTC", "500"));
  });

  describe("rejections, in the words of the engine's revert", function () {
    /** Funding off (skew zero) so the revert's numbers do not depend on the block the estimate runs in. */
    async function balanced() {
      const p = await deployProtocol();
      for (const trader of [p.alice, p.bob]) await p.engine.connect(trader).deposit(usdc(100_000));
      await p.engine.connect(p.bob).trade(ETH, wad("-5.01"), 0, 0, false);
      await p.engine.connect(p.alice).trade(ETH, wad("5.01"), BUY_ANY, wad(500), true);
      return p;
    }

    async function refused(p: Protocol, amount: bigint, expected: string) {
      const client = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
      const q = quoteMarginChange(await client.snapshot(), { market: "ETH", action: "remove", amount });
      expect(q.rejection).to.equal(expected);
      // A refused change changes nothing.
      expect([q.margin, q.liquidationPrice]).to.deep.equal([q.marginBefore, q.liquidationPriceBefore]);
      const error = await client.removeMargin("ETH", amount).then(
        () => expect.fail("the engine should refuse it"),
        (e: unknown) => e as PerpContractError,
      );
      expect(error).to.be.instanceOf(PerpContractError);
      expect([error.errorName, error.args]).to.deep.equal([expected, q.rejectionArgs]);
      expect(q.explanation).to.equal(error.message);
      return q;
    }

    it("RemovalExceedsMargin: more than the isolated margin", async function () {
      const p = await networkHelpers.loadFixture(balanced);
      const margin = (await p.engine.getPosition(p.alice, ETH)).margin;
      const q = await refused(p, margin + 1n, "RemovalExceedsMargin");
      expect(q.explanation).to.match(/^RemovalExceedsMargin: the isolated margin in market 0 is [\d,]+\.\d\d USD, less than the [\d,]+\.\d\d USD asked$/);
    });

    it("RemovalBelowInitialMargin: the margin left, counting no profit, under the initial margin", async function () {
      const p = await networkHelpers.loadFixture(balanced);
      const health = await p.engine.positionHealth(p.alice, ETH);
      const margin = (await p.engine.getPosition(p.alice, ETH)).margin;
      // Equity counting no profit is min(margin, equity at close): one wei more than it less the initial margin.
      const noProfit = margin < health.equityAtClose ? margin : health.equityAtClose;
      const q = await refused(p, noProfit - health.initialMargin + 1n, "RemovalBelowInitialMargin");
      expect(q.explanation).to.match(/^RemovalBelowInitialMargin: after this removal, the margin in market 0 counting no profit /);
    });

    it("RemovalBelowMaintenanceMargin: a small position whose maintenance is mostly the minimum keeper reward", async function () {
      async function small() {
        const p = await deployProtocol();
        for (const trader of [p.alice, p.bob]) await p.engine.connect(trader).deposit(usdc(100_000));
        await p.engine.connect(p.bob).trade(ETH, wad("-0.01"), 0, 0, false);
        await p.engine.connect(p.alice).trade(ETH, wad("0.01"), BUY_ANY, wad(5), true);
        return p;
      }
      const p = await networkHelpers.loadFixture(small);
      const q = await refused(p, wad("3.5"), "RemovalBelowMaintenanceMargin");
      expect(q.explanation).to.match(/^RemovalBelowMaintenanceMargin: after this removal, equity in market 0 [\d.,-]+ USD < maintenance 2\.10 USD: the position would be liquidatable$/);
    });
  });
});

describe("SDK getAccountHistory: trades, funding and liquidations from the chain's events", function () {
  /** Alice's isolated long pays funding (Carol's cross long skews the market), trades again, then is liquidated. */
  async function lived() {
    const p = await deployProtocol();
    for (const trader of [p.alice, p.carol]) await p.engine.connect(trader).deposit(usdc(100_000));
    const alice = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    const keeper = await PerpClient.connect({ runner: p.keeper, deployment: p.deployment });
    const receipts = [];
    receipts.push(await alice.trade({ market: "ETH", side: "long", size: "5", margin: "1000", isolated: true }));
    await p.engine.connect(p.carol).trade(ETH, wad(20), BUY_ANY, 0, false);
    await networkHelpers.time.increase(86_400);
    await p.eth.aggregator.setAnswer(2_000_00000000n);
    const added = await alice.addMargin("ETH", "100");
    receipts.push(await alice.trade({ market: "ETH", side: "long", size: "1", isolated: true }));
    await networkHelpers.time.increase(3_600);
    await p.eth.aggregator.setAnswer(1_700_00000000n);
    const liquidated = await keeper.liquidate(p.alice.address, "ETH");
    return { ...p, alice, receipts, added, liquidated };
  }

  it("matches the receipts: each trade, each funding settlement (trade and liquidation close), the liquidation and the margin move", async function () {
    const p = await networkHelpers.loadFixture(lived);
    const history = await p.alice.accountHistory();
    const trades = p.receipts.map((r) => p.alice.tradeExecutions(r.receipt)).flat();
    expect(history.trades).to.deep.equal(trades);
    const [liquidation] = p.alice.liquidationEvents(p.liquidated);
    const closes = eventsNamed(p.alice.events(p.liquidated), "PositionClosedAtIndex");
    // At $1,700 the position is under water: the insurance fund covered the keeper's reward and the loss.
    const [badDebt] = eventsNamed(p.alice.events(p.liquidated), "BadDebtCovered");
    expect(badDebt.shortfall).to.equal(liquidation.keeperReward - liquidation.equity);
    expect(history.liquidations).to.deep.equal([
      {
        ...liquidation,
        txHash: p.liquidated.hash,
        closes: closes.map((c) => ({ marketId: 0, size: c.size, price: c.price, realizedPnl: c.realizedPnl, fundingPaid: c.fundingPaid })),
        shortfall: badDebt.shortfall,
      },
    ]);
    expect(closes.map((c) => c.size)).to.deep.equal([wad(6)]);
    // The first trade opened the position (nothing to settle); the second settled a day of funding, the
    // liquidation's close the hour after.
    expect(history.funding.map((f) => [f.cause, f.amount])).to.deep.equal([
      ["trade", trades[1].fundingPaid],
      ["liquidation", closes[0].fundingPaid],
    ]);
    expect(trades[1].fundingPaid > 0n && closes[0].fundingPaid > 0n).to.equal(true);
    const paid = await p.alice.fundingPaid();
    expect(history.funding.reduce((sum, f) => sum + f.amount, 0n)).to.equal(paid.get(0)!.lifetime);
    // The funding a page shows per position comes from the history it already holds: the same as a scan.
    expect(fundingPaidFromHistory(history)).to.deep.equal(paid);
    const [moved] = eventsNamed(p.alice.events(p.added), "MarginAdded");
    expect(history.margin).to.deep.equal([{ marketId: 0, amount: wad(100), newMargin: moved.newMargin, blockNumber: p.added.blockNumber, logIndex: moved.logIndex }]);
    // Another trader's history holds none of it.
    const carol = await p.alice.accountHistory({ trader: p.carol.address });
    expect([carol.trades.length, carol.funding.length, carol.liquidations.length]).to.deep.equal([1, 0, 0]);
  });

  it("reads incrementally: the history to a block merged with the one after it is the whole history", async function () {
    const p = await networkHelpers.loadFixture(lived);
    const whole = await p.alice.accountHistory();
    const split = p.added.blockNumber;
    const first = await p.alice.accountHistory({ toBlock: split });
    expect(first.toBlock).to.equal(split);
    expect(mergeAccountHistory(first, await p.alice.accountHistory({ fromBlock: split + 1, toBlock: whole.toBlock }))).to.deep.equal(whole);
    // Mid-life (the position open after its second trade), the settled funding equals getFundingPaid's.
    const mid = await p.alice.accountHistory({ toBlock: p.receipts[1].receipt.blockNumber });
    expect(fundingPaidFromHistory(mid)).to.deep.equal(await getFundingPaid(p.alice, { toBlock: p.receipts[1].receipt.blockNumber }));
    expect(await p.alice.accountHistory({ fromBlock: whole.toBlock + 1, toBlock: whole.toBlock })).to.deep.equal({ trades: [], funding: [], liquidations: [], margin: [], toBlock: whole.toBlock });
  });
});

describe("SDK accountSummary: free collateral and health as the engine counts them", function () {
  /** Alice: a cross ETH long near its initial margin (Carol's short balances the skew: no funding) and an isolated BTC short. */
  async function summarized() {
    const p = await deployProtocol();
    await p.engine.connect(p.alice).deposit(usdc(1_500));
    await p.engine.connect(p.carol).deposit(usdc(100_000));
    await p.engine.connect(p.carol).trade(ETH, wad(-40), 0, 0, false);
    await p.engine.connect(p.alice).trade(ETH, wad(40), BUY_ANY, 0, false);
    await p.engine.connect(p.alice).trade(BTC, wad("-0.1"), 0, wad(500), true);
    return p;
  }

  it("free collateral is the largest debit the engine allows, to the wei; the units' health are the engine's valuations", async function () {
    const p = await networkHelpers.loadFixture(summarized);
    const alice = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    const summary = await alice.accountSummary();
    const [cross, btc] = [await p.engine.positionHealth(p.alice, ETH), await p.engine.positionHealth(p.alice, BTC)];
    expect(summary.units.map((u) => [u.marketId, u.valuation.equity, u.valuation.maintenanceMargin, u.liquidatable])).to.deep.equal([
      [undefined, cross.equity, cross.maintenanceMargin, false],
      [1, btc.equity, btc.maintenanceMargin, false],
    ]);
    expect(summary.isolatedMargin).to.equal((await p.engine.getPosition(p.alice, BTC)).margin);
    expect(summary.totalEquity).to.equal(cross.equity + btc.equity);
    const crossUnit = summary.units[0];
    expect(crossUnit.health).to.equal(((cross.equityAtClose - cross.maintenanceMargin) * wad(1)) / cross.equityAtClose);
    expect(summary.health).to.equal(summary.units.reduce((min, u) => (u.health < min ? u.health : min), wad(1)));
    // The initial margin binds: less than the balance is free, and one wei more than it is refused.
    const free = summary.freeCollateral;
    expect(free > 0n && free < summary.crossBalance).to.equal(true);
    await expect(alice.addMargin("BTC", free + 1n)).to.be.rejectedWith(PerpContractError, /^DebitBelowInitialMargin: /);
    await alice.addMargin("BTC", free);
    const after = await alice.accountSummary();
    expect(after.freeCollateral).to.equal(0n);
    expect(after.isolatedMargin).to.equal(summary.isolatedMargin + free);
  });

  it("with no cross position the whole balance is free and health is full", async function () {
    const p = await deployProtocol();
    await p.engine.connect(p.alice).deposit(usdc(250));
    const alice = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    const summary = await alice.accountSummary();
    expect([summary.freeCollateral, summary.health, summary.units.length, summary.liquidatable]).to.deep.equal([wad(250), wad(1), 0, false]);
  });
});

describe("SDK getPriceHistory: the prices the engine's Pyth adapters cached, from their events", function () {
  async function priced() {
    const o = await deployOrders();
    const deployment = {
      ...o.deployment,
      markets: [
        ...o.deployment.markets,
        { id: 2, symbol: "PETH-USD", priceFeed: await o.feed.getAddress(), aggregator: ZeroAddress },
        { id: 3, symbol: "PBTC-USD", priceFeed: await o.btcFeed.getAddress(), aggregator: ZeroAddress },
      ],
    };
    const published: Array<[bigint, bigint, number]> = [];
    for (const price of ["2010.5", "1990", "2025.25"]) {
      const t = (await now()) + 1n;
      const receipt = await (await o.feed.updatePrice([priceUpdate(price, t)], { value: PYTH_FEE })).wait();
      published.push([t, wad(price), receipt!.blockNumber]);
    }
    return { ...o, deployment, published };
  }

  it("lists each cached price with its publish time, in order, per market; Chainlink markets have none", async function () {
    const o = await networkHelpers.loadFixture(priced);
    const client = await PerpClient.connect({ runner: o.alice, deployment: o.deployment });
    const history = await getPriceHistory(client);
    const eth = history.markets.get(2)!;
    // The listing's first price, then the three updates, each what the adapter holds after it.
    expect(eth.slice(1).map((p) => [p.publishTime, p.price, p.blockNumber])).to.deep.equal(o.published);
    expect(eth[0].price).to.equal(wad(2000));
    expect(eth.at(-1)!.price).to.equal(await o.engine.indexPrice(2));
    expect(history.markets.get(3)!.map((p) => p.price)).to.deep.equal([wad(60_000)]);
    expect([history.markets.get(0), history.markets.get(1)]).to.deep.equal([[], []]);
    // Incrementally: up to the second update, then the rest.
    const split = o.published[1][2];
    const first = await getPriceHistory(client, { toBlock: split });
    expect(first.markets.get(2)!.length).to.equal(3);
    expect(mergePriceHistory(first, await getPriceHistory(client, { fromBlock: split + 1, toBlock: history.toBlock }))).to.deep.equal(history);
  });
});
