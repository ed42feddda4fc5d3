import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";

import { math as m } from "@perp/sdk";
import { BTC, deployFeed, deployProtocol, ETH, ethParams, usdc, wad, WAD, type Protocol } from "../scripts/lib/fixture.js";
import { networkHelpers } from "../scripts/lib/network.js";

const K = wad(1_000_000);
const P = wad(2000);
const MAKER = wad("0.0002");
const TAKER = wad("0.0005");
const BUY_ANY = wad(1e9);
const SELL_ANY = 0n;

async function funded() {
  const p = await deployProtocol();
  for (const trader of [p.alice, p.bob, p.carol]) await p.engine.connect(trader).deposit(usdc(100_000));
  return p;
}

/** The market's funding index now (the last touch was in an earlier block: the next touch accrues). */
async function stateOf(p: Protocol, market = ETH) {
  return (await p.engine.getMarket(market)).state;
}

describe("trading", function () {
  describe("open, increase, reduce, close", function () {
    it("opens a cross long at the skew-premium fill and charges the taker fee", async function () {
      const p = await networkHelpers.loadFixture(funded);
      const fill = m.fillPrice(P, 0n, wad(5), K); // 2000 * (1 + 5 / 2e6) = 2000.005
      expect(fill).to.equal(wad("2000.005"));
      const fee = m.tradeFee(0n, wad(5), fill, MAKER, TAKER);
      expect(fee).to.equal(wad("5.0000125"));
      await expect(p.engine.connect(p.alice).trade(ETH, wad(5), fill, 0, false))
        .to.emit(p.engine, "PositionModified")
        .withArgs(p.alice.address, ETH, wad(5), wad(5), fill, fee, 0, 0, false, 0);
      const pos = await p.engine.getPosition(p.alice, ETH);
      expect(pos.size).to.equal(wad(5));
      expect(pos.entryPrice).to.equal(fill);
      const [balance, markets] = await p.engine.getAccount(p.alice);
      expect(balance).to.equal(wad(100_000) - fee);
      expect(markets).to.equal(1n);
      const state = await stateOf(p);
      expect(state.longOpenInterest).to.equal(wad(5));
      expect(state.fundingRatePerDay).to.equal(m.fundingRatePerDay(wad(5), K, WAD, wad("0.01")));
      // Fees: 10 % to insurance, the rest to the vault.
      expect(await p.engine.insuranceFund()).to.equal(fee / 10n);
      expect(await p.engine.vaultCash()).to.equal(wad(500_000) + fee - fee / 10n);
    });

    it("increases at a weighted average entry and settles funding first", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.alice).trade(ETH, wad(5), BUY_ANY, 0, false);
      const before = await p.engine.getPosition(p.alice, ETH);
      const state = await stateOf(p);
      const t0 = BigInt(await networkHelpers.time.latest());
      await networkHelpers.time.setNextBlockTimestamp(t0 + 1800n);
      const index = m.accruedFundingIndex(state.fundingIndex, state.fundingRatePerDay, P, t0 + 1800n - state.lastFundingTime);
      const funding = m.fundingOwedUp(wad(5), index, before.lastFundingIndex);
      const fill = m.fillPrice(P, wad(5), wad(3), K);
      const fee = m.tradeFee(wad(5), wad(3), fill, MAKER, TAKER);
      const entry = m.entryAfterIncrease(wad(5), before.entryPrice, wad(3), fill);
      await expect(p.engine.connect(p.alice).trade(ETH, wad(3), BUY_ANY, 0, false))
        .to.emit(p.engine, "PositionModified")
        .withArgs(p.alice.address, ETH, wad(3), wad(8), fill, fee, 0, funding, false, index);
      const pos = await p.engine.getPosition(p.alice, ETH);
      expect(pos.entryPrice).to.equal(entry);
      expect(pos.lastFundingIndex).to.equal(index);
      expect(funding > 0n).to.equal(true); // longs pay when longs dominate
    });

    it("reduces: realises PnL on the closed part at the maker fee (it shrinks the skew)", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.alice).trade(ETH, wad(5), BUY_ANY, 0, false);
      const entry = (await p.engine.getPosition(p.alice, ETH)).entryPrice;
      await p.eth.aggregator.setAnswer(2100_00000000n);
      const state = await stateOf(p);
      const t = BigInt(await networkHelpers.time.latest()) + 10n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      const index = m.accruedFundingIndex(state.fundingIndex, state.fundingRatePerDay, wad(2100), t - state.lastFundingTime);
      const funding = m.fundingOwedUp(wad(5), index, 0n);
      const fill = m.fillPrice(wad(2100), wad(5), wad(-2), K);
      const fee = m.tradeFee(wad(5), wad(-2), fill, MAKER, TAKER);
      expect(fee).to.equal(m.mulDivUp(wad(2) * MAKER, fill, WAD * WAD));
      const pnl = m.pnlDown(wad(2), entry, fill);
      const [balanceBefore] = await p.engine.getAccount(p.alice);
      await expect(p.engine.connect(p.alice).trade(ETH, wad(-2), SELL_ANY, 0, false))
        .to.emit(p.engine, "PositionModified")
        .withArgs(p.alice.address, ETH, wad(-2), wad(3), fill, fee, pnl, funding, false, index);
      expect((await p.engine.getAccount(p.alice))[0]).to.equal(balanceBefore + pnl - fee - funding);
    });

    it("closes: deletes the position and clears the cross map", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.alice).trade(ETH, wad(5), BUY_ANY, 0, false);
      await p.engine.connect(p.alice).trade(ETH, wad(-5), SELL_ANY, 0, false);
      const pos = await p.engine.getPosition(p.alice, ETH);
      expect([pos.size, pos.entryPrice, pos.lastFundingIndex, pos.margin]).to.deep.equal([0n, 0n, 0n, 0n]);
      expect((await p.engine.getAccount(p.alice))[1]).to.equal(0n);
      const state = await stateOf(p);
      expect(state.longOpenInterest).to.equal(0n);
      expect(state.entryFundingSum).to.equal(0n);
      expect(await p.engine.totalMarkNotional()).to.equal(0n);
    });

    it("flips a short into a long in one call, each leg over its own skew segment", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.alice).trade(ETH, wad(-4), SELL_ANY, wad(1000), true);
      const short = await p.engine.getPosition(p.alice, ETH);
      await networkHelpers.time.setNextBlockTimestamp(BigInt(await networkHelpers.time.latest()) + 1n);
      const state = await stateOf(p);
      const index = m.accruedFundingIndex(state.fundingIndex, state.fundingRatePerDay, P, 1n);
      const funding = m.fundingOwedUp(wad(-4), index, short.lastFundingIndex);
      const closeFill = m.fillPrice(P, wad(-4), wad(4), K);
      const closeFee = m.tradeFee(wad(-4), wad(4), closeFill, MAKER, TAKER);
      const pnl = m.pnlDown(wad(-4), short.entryPrice, closeFill);
      const openFill = m.fillPrice(P, 0n, wad(6), K);
      const openFee = m.tradeFee(0n, wad(6), openFill, MAKER, TAKER);
      const margin = BigInt(short.margin) - funding + pnl - closeFee - openFee;
      await expect(p.engine.connect(p.alice).trade(ETH, wad(10), BUY_ANY, 0, true))
        .to.emit(p.engine, "PositionModified")
        .withArgs(p.alice.address, ETH, wad(10), wad(6), openFill, closeFee + openFee, pnl, funding, true, index);
      const pos = await p.engine.getPosition(p.alice, ETH);
      expect(pos.margin).to.equal(margin); // isolated margin carried over
      const after = await stateOf(p);
      expect([after.longOpenInterest, after.shortOpenInterest]).to.deep.equal([wad(6), 0n]);
    });

    it("checks the slippage of each leg, both sides", async function () {
      const p = await networkHelpers.loadFixture(funded);
      const buyFill = m.fillPrice(P, 0n, wad(5), K);
      await expect(p.engine.connect(p.alice).trade(ETH, wad(5), buyFill - 1n, 0, false))
        .to.be.revertedWithCustomError(p.engine, "SlippageExceeded")
        .withArgs(buyFill, buyFill - 1n);
      const sellFill = m.fillPrice(P, 0n, wad(-5), K);
      await expect(p.engine.connect(p.alice).trade(ETH, wad(-5), sellFill + 1n, 0, false))
        .to.be.revertedWithCustomError(p.engine, "SlippageExceeded")
        .withArgs(sellFill, sellFill + 1n);
      await p.engine.connect(p.alice).trade(ETH, wad(-5), sellFill, 0, false);
    });

    it("isolated: moves margin from cross, returns it on close", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.alice).trade(ETH, wad(5), BUY_ANY, wad(1000), true);
      const fee = m.tradeFee(0n, wad(5), m.fillPrice(P, 0n, wad(5), K), MAKER, TAKER);
      expect((await p.engine.getPosition(p.alice, ETH)).margin).to.equal(wad(1000) - fee);
      expect(await p.engine.getAccount(p.alice)).to.deep.equal([wad(99_000), 0n]);
      await p.engine.connect(p.alice).trade(ETH, wad(-5), SELL_ANY, 0, true);
      const [balance] = await p.engine.getAccount(p.alice);
      expect(balance < wad(100_000) - fee).to.equal(true); // fees and the premium round trip
      expect((await p.engine.getPosition(p.alice, ETH)).margin).to.equal(0n);
    });

    it("an isolated close at a loss beyond the margin is bad debt, not the cross balance's", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.alice).trade(ETH, wad(5), BUY_ANY, wad(200), true); // 50x
      await p.eth.aggregator.setAnswer(1900_00000000n); // -5 %: -500 on 200 of margin
      await expect(p.engine.connect(p.alice).trade(ETH, wad(-5), SELL_ANY, 0, true)).to.emit(p.engine, "BadDebtCovered");
      expect((await p.engine.getAccount(p.alice))[0]).to.equal(wad(99_800));
    });
  });

  describe("rejections", function () {
    it("zero size, unknown market", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await expect(p.engine.connect(p.alice).trade(ETH, 0, 0, 0, false)).to.be.revertedWithCustomError(p.engine, "ZeroAmount");
      await expect(p.engine.connect(p.alice).trade(5, wad(1), BUY_ANY, 0, false))
        .to.be.revertedWithCustomError(p.engine, "UnknownMarket")
        .withArgs(5);
    });

    it("leverage above the market maximum (cross and isolated)", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.connect(p.alice).deposit(usdc(100));
      // $100 at IMR 1 % backs $10,000 minus fees (0.05 % taker): 5 ETH ($10,000) fails, 4.7 ETH passes.
      // Equity at close: $100 - fee + the loss of closing at the premium fill (the skew after the open is 5).
      const fill = m.fillPrice(P, 0n, wad(5), K);
      const equityAtClose =
        wad(100) - m.tradeFee(0n, wad(5), fill, MAKER, TAKER) + m.pnlDown(wad(5), fill, m.fillPrice(P, wad(5), wad(-5), K));
      await expect(p.engine.connect(p.alice).trade(ETH, wad(5), BUY_ANY, 0, false))
        .to.be.revertedWithCustomError(p.engine, "TradeBelowInitialMargin")
        .withArgs(equityAtClose, wad(100));
      await expect(p.engine.connect(p.alice).trade(ETH, wad(5), BUY_ANY, wad(100), true))
        .to.be.revertedWithCustomError(p.engine, "TradeBelowInitialMargin")
        .withArgs(equityAtClose, wad(100));
      await p.engine.connect(p.alice).trade(ETH, wad("4.7"), BUY_ANY, wad(100), true);
    });

    it("an open above initial margin but below maintenance (the minimum keeper reward) is refused", async function () {
      const p = await networkHelpers.loadFixture(funded);
      // 0.01 ETH ($20): initial margin $0.20, maintenance $0.10 + the $2 minimum keeper reward = $2.10.
      const size = wad("0.01");
      const fill = m.fillPrice(P, 0n, size, K);
      const collateral = wad(1) - m.tradeFee(0n, size, fill, MAKER, TAKER);
      const atIndex = collateral + m.pnlDown(size, fill, P);
      const atClose = collateral + m.pnlDown(size, fill, m.fillPrice(P, size, -size, K));
      const lower = atIndex < atClose ? atIndex : atClose;
      expect(lower > wad("0.2")).to.equal(true);
      await expect(p.engine.connect(p.alice).trade(ETH, size, BUY_ANY, wad(1), true))
        .to.be.revertedWithCustomError(p.engine, "TradeBelowMaintenanceMargin")
        .withArgs(lower, wad("2.1"));
      await p.engine.connect(p.alice).trade(ETH, size, BUY_ANY, wad("2.2"), true);
    });

    it("a reduce that would leave an isolated margin negative is refused", async function () {
      const p = await networkHelpers.loadFixture(funded);
      // Bob's short first: the skew is back to zero after Alice's open, so no funding accrues before the reduce.
      await p.engine.connect(p.bob).trade(ETH, wad(-1), SELL_ANY, 0, false);
      await p.engine.connect(p.alice).trade(ETH, wad(1), BUY_ANY, wad(100), true);
      const pos = await p.engine.getPosition(p.alice, ETH);
      await p.eth.aggregator.setAnswer(1880_00000000n); // -$120 on 1 ETH, more than its $100 margin
      const price = wad(1880);
      const fill = m.fillPrice(price, 0n, wad("-0.9"), K);
      const margin =
        BigInt(pos.margin) + m.pnlDown(wad("0.9"), BigInt(pos.entryPrice), fill) - m.tradeFee(0n, wad("-0.9"), fill, MAKER, TAKER);
      expect(margin < 0n).to.equal(true);
      await expect(p.engine.connect(p.alice).trade(ETH, wad("-0.9"), SELL_ANY, 0, true))
        .to.be.revertedWithCustomError(p.engine, "TradeLeavesNegativeMargin")
        .withArgs(ETH, margin);
      // Closing it fully is allowed: the shortfall is bad debt, not the trader's cross balance.
      await p.engine.connect(p.alice).trade(ETH, wad(-1), SELL_ANY, 0, true);
      expect((await p.engine.getPosition(p.alice, ETH)).size).to.equal(0n);
    });

    it("more margin than the cross balance holds", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.connect(p.alice).deposit(usdc(100));
      await expect(p.engine.connect(p.alice).trade(ETH, wad(1), BUY_ANY, wad(101), true))
        .to.be.revertedWithCustomError(p.engine, "InsufficientCrossBalance")
        .withArgs(wad(100), wad(101));
    });

    it("mode mismatch and margin deltas on cross positions", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.alice).trade(ETH, wad(1), BUY_ANY, 0, false);
      await expect(p.engine.connect(p.alice).trade(ETH, wad(1), BUY_ANY, 0, true))
        .to.be.revertedWithCustomError(p.engine, "PositionModeMismatch")
        .withArgs(ETH, false);
      await expect(p.engine.connect(p.alice).trade(BTC, wad("0.1"), BUY_ANY, wad(100), false))
        .to.be.revertedWithCustomError(p.engine, "NotIsolated")
        .withArgs(BTC);
    });

    it("open-interest caps per side", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.setMarketParams(ETH, ethParams({ maxLongOpenInterest: wad(10), maxShortOpenInterest: wad(3) }));
      await p.engine.connect(p.alice).trade(ETH, wad(10), BUY_ANY, 0, false);
      await expect(p.engine.connect(p.bob).trade(ETH, wad("0.01"), BUY_ANY, 0, false))
        .to.be.revertedWithCustomError(p.engine, "OpenInterestCapExceeded")
        .withArgs(ETH, true, wad("10.01"), wad(10));
      await expect(p.engine.connect(p.bob).trade(ETH, wad(-4), SELL_ANY, 0, false))
        .to.be.revertedWithCustomError(p.engine, "OpenInterestCapExceeded")
        .withArgs(ETH, false, wad(4), wad(3));
      // Closing is never capped.
      await p.engine.connect(p.alice).trade(ETH, wad(-10), SELL_ANY, 0, false);
    });

    it("positions below the minimum notional, including a dust remainder", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await expect(p.engine.connect(p.alice).trade(ETH, wad("0.004"), BUY_ANY, 0, false))
        .to.be.revertedWithCustomError(p.engine, "PositionTooSmall")
        .withArgs(wad(8), wad(10));
      await p.engine.connect(p.alice).trade(ETH, wad(1), BUY_ANY, 0, false);
      await expect(p.engine.connect(p.alice).trade(ETH, wad("-0.999"), SELL_ANY, 0, false))
        .to.be.revertedWithCustomError(p.engine, "PositionTooSmall")
        .withArgs(wad(2), wad(10));
    });

    it("reduce-only: the guardian's switch blocks growth, never closing", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.alice).trade(ETH, wad(2), BUY_ANY, 0, false);
      await expect(p.engine.connect(p.alice).setReduceOnly(ETH, true))
        .to.be.revertedWithCustomError(p.engine, "NotGuardian")
        .withArgs(p.alice.address);
      await expect(p.engine.connect(p.guardian).setReduceOnly(ETH, true)).to.emit(p.engine, "ReduceOnlySet").withArgs(ETH, true);
      await expect(p.engine.connect(p.alice).trade(ETH, wad(1), BUY_ANY, 0, false))
        .to.be.revertedWithCustomError(p.engine, "MarketReduceOnly")
        .withArgs(ETH);
      // A flip's open leg is growth too.
      await expect(p.engine.connect(p.alice).trade(ETH, wad(-3), SELL_ANY, 0, false)).to.be.revertedWithCustomError(
        p.engine,
        "MarketReduceOnly",
      );
      await p.engine.connect(p.alice).trade(ETH, wad(-2), SELL_ANY, 0, false);
    });

    it("total open notional needs vault cash (utilisation cap)", async function () {
      const p = await networkHelpers.loadFixture(funded);
      // $500,000 of vault cash at a 10 % backing ratio backs $5,000,000 of open notional: 2,500 ETH.
      await p.engine.connect(p.alice).deposit(usdc(1_000_000));
      await expect(p.engine.connect(p.alice).trade(ETH, wad(2600), BUY_ANY, 0, false)).to.be.revertedWithCustomError(
        p.engine,
        "InsufficientVaultLiquidity",
      );
      await p.engine.connect(p.alice).trade(ETH, wad(2400), BUY_ANY, 0, false);
    });

    it("a stale, non-positive or out-of-band oracle blocks trading with the oracle's error", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.eth.aggregator.setAnswer(0);
      await expect(p.engine.connect(p.alice).trade(ETH, wad(1), BUY_ANY, 0, false))
        .to.be.revertedWithCustomError(p.engine, "InvalidOraclePrice")
        .withArgs(await p.eth.aggregator.getAddress(), 0);
      await p.eth.aggregator.setAnswer(-5);
      await expect(p.engine.connect(p.alice).trade(ETH, wad(1), BUY_ANY, 0, false)).to.be.revertedWithCustomError(
        p.engine,
        "InvalidOraclePrice",
      );
      const now = BigInt(await networkHelpers.time.latest());
      await p.eth.aggregator.setRound(2000_00000000n, now - 4000n, now - 3601n);
      await expect(p.engine.connect(p.alice).trade(ETH, wad(1), BUY_ANY, 0, false))
        .to.be.revertedWithCustomError(p.engine, "StaleOraclePrice")
        .withArgs(await p.eth.aggregator.getAddress(), now - 3601n, 3600);
    });

    it("at most 16 cross positions per account", async function () {
      const p = await networkHelpers.loadFixture(funded);
      for (let i = 0; i < 15; i++) {
        const feed = await deployFeed(p.owner, `X${i} / USD`, "100");
        await p.engine.listMarket(feed.oracle, ethParams());
      }
      for (let market = 0; market < 16; market++) {
        await p.engine.connect(p.alice).trade(market, market === 1 ? wad("0.01") : wad(1), BUY_ANY, 0, false);
      }
      expect((await p.engine.getAccount(p.alice))[1]).to.equal(0xffffn);
      const feed = await deployFeed(p.owner, "X15 / USD", "100");
      await p.engine.listMarket(feed.oracle, ethParams());
      await expect(p.engine.connect(p.alice).trade(16, wad(1), BUY_ANY, 0, false))
        .to.be.revertedWithCustomError(p.engine, "TooManyCrossPositions")
        .withArgs(16);
      // An isolated position in the 17th market is fine.
      await p.engine.connect(p.alice).trade(16, wad(1), BUY_ANY, wad(100), true);
    });
  });

  describe("isolated margin", function () {
    it("adds margin without needing the market's price", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.alice).trade(ETH, wad(5), BUY_ANY, wad(500), true);
      const margin = (await p.engine.getPosition(p.alice, ETH)).margin;
      await p.eth.aggregator.setAnswer(0);
      await expect(p.engine.connect(p.alice).addMargin(ETH, wad(250)))
        .to.emit(p.engine, "MarginAdded")
        .withArgs(p.alice.address, ETH, wad(250), margin + wad(250));
      expect((await p.engine.getAccount(p.alice))[0]).to.equal(wad(100_000) - wad(750));
    });

    it("removes margin down to the initial requirement, counting no unrealised profit", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.bob).trade(ETH, wad(-5), SELL_ANY, 0, false);
      await p.engine.connect(p.alice).trade(ETH, wad(5), BUY_ANY, wad(500), true); // skew back to 0: no funding
      const pos = await p.engine.getPosition(p.alice, ETH);
      await p.eth.aggregator.setAnswer(2200_00000000n); // +$1,000 unrealised, not removable
      // Initial margin at $2,200: 1 % of $11,000 = 110. Value at close is positive so it does not count.
      const removable = BigInt(pos.margin) - wad(110);
      await expect(p.engine.connect(p.alice).removeMargin(ETH, removable + 1n, []))
        .to.be.revertedWithCustomError(p.engine, "RemovalBelowInitialMargin")
        .withArgs(ETH, wad(110) - 1n, wad(110));
      await expect(p.engine.connect(p.alice).removeMargin(ETH, removable, []))
        .to.emit(p.engine, "MarginRemoved")
        .withArgs(p.alice.address, ETH, removable, wad(110));
      await expect(p.engine.connect(p.alice).removeMargin(ETH, 0, [])).to.be.revertedWithCustomError(p.engine, "ZeroAmount");
      const margin = (await p.engine.getPosition(p.alice, ETH)).margin;
      await expect(p.engine.connect(p.alice).removeMargin(ETH, margin + 1n, []))
        .to.be.revertedWithCustomError(p.engine, "RemovalExceedsMargin")
        .withArgs(ETH, margin, margin + 1n);
    });

    it("refuses a removal that would leave the position below maintenance (the minimum keeper reward)", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.bob).trade(ETH, wad("-0.01"), SELL_ANY, 0, false);
      await p.engine.connect(p.alice).trade(ETH, wad("0.01"), BUY_ANY, wad(5), true); // skew back to 0: no funding
      const health = await p.engine.positionHealth(p.alice, ETH);
      // Initial margin $0.20, maintenance $0.10 + the $2 minimum keeper reward.
      expect(health.initialMargin).to.equal(wad("0.2"));
      expect(health.maintenanceMargin).to.equal(wad("2.1"));
      const lower = health.equity < health.equityAtClose ? health.equity : health.equityAtClose;
      await expect(p.engine.connect(p.alice).removeMargin(ETH, wad("3.5"), []))
        .to.be.revertedWithCustomError(p.engine, "RemovalBelowMaintenanceMargin")
        .withArgs(ETH, lower - wad("3.5"), wad("2.1"));
      const removable = lower - wad("2.1");
      await p.engine.connect(p.alice).removeMargin(ETH, removable, []);
      expect((await p.engine.positionHealth(p.alice, ETH)).liquidatable).to.equal(false);
    });

    it("rejects add/remove on cross positions and missing positions", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.alice).trade(ETH, wad(1), BUY_ANY, 0, false);
      await expect(p.engine.connect(p.alice).addMargin(ETH, wad(1)))
        .to.be.revertedWithCustomError(p.engine, "NotIsolated")
        .withArgs(ETH);
      await expect(p.engine.connect(p.alice).removeMargin(BTC, wad(1), []))
        .to.be.revertedWithCustomError(p.engine, "NoPosition")
        .withArgs(p.alice.address, BTC);
      await expect(p.engine.connect(p.alice).addMargin(9, wad(1)))
        .to.be.revertedWithCustomError(p.engine, "UnknownMarket")
        .withArgs(9);
      for (const view of [() => p.engine.positionHealth(p.alice, BTC), () => p.engine.liquidationPrice(p.alice, BTC)]) {
        await expect(view()).to.be.revertedWithCustomError(p.engine, "NoPosition").withArgs(p.alice.address, BTC);
      }
    });

    it("adding margin is a cross debit: refused while the cross account is liquidatable", async function () {
      const p = await networkHelpers.loadFixture(funded);
      await p.engine.connect(p.carol).trade(ETH, wad(5), BUY_ANY, wad(1000), true);
      // Carol's cross account: 99,000 backing a 490 ETH long (~$980,000 at ~100x).
      await p.engine.connect(p.carol).trade(BTC, wad("16"), BUY_ANY, 0, false);
      await p.btc.aggregator.setAnswer(50000_00000000n);
      await expect(p.engine.connect(p.carol).addMargin(ETH, wad(1))).to.be.revertedWithCustomError(
        p.engine,
        "AccountLiquidatable",
      );
    });
  });
});
