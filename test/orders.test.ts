import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";

import { encodeMockPriceUpdate } from "@perp/sdk/prices";
import { OrderBook__factory, PythPriceFeed__factory, ReenteringCaller__factory, StrictMockPyth__factory } from "@perp/sdk/contracts";

import { deployProtocol, ethParams, wad } from "../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../scripts/lib/network.js";
import { DEFAULT_PARAMS, deployOrders, ETH_ID, now, PBTC, PETH, priceUpdate, PYTH_FEE, type Orders } from "./helpers/orders.js";

const BUY_ANY = 2n ** 128n - 1n;
const SELL_ANY = 0n;
const CLOSE_ALL = -(2n ** 255n);
const FEE = wad("0.5");
const DEPOSIT = 10n ** 11n * 10n ** 12n; // $100,000 in WAD
enum Kind {
  Market,
  Limit,
  Stop,
  TakeProfit,
  StopLoss,
  TrailingStop,
}
enum Reason {
  ByTrader,
  Expired,
  ExecutionFailed,
  Voided,
  OcoPartnerExecuted,
}
type Signer = Orders["alice"];

async function cross(o: Orders, who: Signer | string): Promise<bigint> {
  return (await o.engine.getAccount(who))[0];
}

/** Commits a market order; returns its id and createdAt. */
async function commit(o: Orders, trader: Signer, size: bigint, acceptable = size > 0n ? BUY_ANY : SELL_ANY) {
  const tx = await o.book.connect(trader).commitOrder(PETH, size, acceptable, 0, false);
  const receipt = (await tx.wait())!;
  const id = await o.book.pendingMarketOrder(trader, PETH);
  const createdAt = BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
  return { id, createdAt, receipt };
}

/** The first price of a market order's window: published at createdAt + 2, the previous one a second before. */
function windowUpdate(createdAt: bigint, price: string) {
  return priceUpdate(price, createdAt + 2n, createdAt + 1n);
}

/** Settles at the first price of the window (block time = createdAt + 2). */
async function settle(o: Orders, keeper: Signer, id: bigint, createdAt: bigint, price: string) {
  await networkHelpers.time.setNextBlockTimestamp(createdAt + 2n);
  return o.book.connect(keeper).settleOrder(id, [windowUpdate(createdAt, price)], { value: PYTH_FEE });
}

async function openLong(o: Orders, trader: Signer, size = wad(5), price = "2000") {
  const { id, createdAt } = await commit(o, trader, size);
  await settle(o, o.keeper, id, createdAt, price);
}

/** A fresh price published one second after the latest block, for the next transaction. */
async function fresh(price: string, id?: string) {
  const t = (await now()) + 1n;
  return priceUpdate(price, t, undefined, id);
}

async function placeTrigger(
  o: Orders,
  trader: Signer,
  kind: Kind,
  size: bigint,
  trigger: bigint,
  acceptable = size > 0n ? BUY_ANY : SELL_ANY,
  trailBps = 0,
  market = PETH,
) {
  const id = await o.book.nextTriggerOrderId(trader);
  const tx = await o.book.connect(trader).placeTriggerOrder(market, kind, size, trigger, acceptable, 0, false, trailBps);
  const receipt = (await tx.wait())!;
  return { id, receipt };
}

async function execute(o: Orders, id: bigint, price: string, keeper = o.keeper) {
  return o.book.connect(keeper).executeOrder(id, [await fresh(price)], { value: PYTH_FEE });
}

describe("order book", function () {
  describe("market orders", function () {
    it("commit escrows the fee; settle fills at the window's first price exactly as quoteTrade prices it", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id, createdAt } = await commit(o, o.alice, wad(5));
      expect(await o.engine.orderEscrow(o.alice)).to.equal(FEE);
      expect(await cross(o, o.alice)).to.equal(DEPOSIT - FEE);
      expect(await o.book.pendingMarketOrder(o.alice, PETH)).to.equal(id);
      // Raise the cache to the settlement price so that quoteTrade prices at it.
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 2n);
      await o.book.pokePrices([PETH], [windowUpdate(createdAt, "2010")], { value: PYTH_FEE });
      const [fill, fee] = await o.engine.quoteTrade(PETH, wad(5));
      expect(fill).to.equal(wad("2010.005025"));
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 3n);
      await expect(o.book.connect(o.keeper).settleOrder(id, [windowUpdate(createdAt, "2010")], { value: PYTH_FEE }))
        .to.emit(o.engine, "PositionModified")
        .withArgs(o.alice.address, PETH, wad(5), wad(5), fill, fee, 0, 0, false, 0)
        .and.to.emit(o.book, "OrderExecuted")
        .withArgs(id, o.alice.address, PETH, Kind.Market, wad(5), wad(2010), createdAt + 2n, o.keeper.address, FEE);
      expect(await o.engine.orderEscrow(o.alice)).to.equal(0n);
      expect(await cross(o, o.alice)).to.equal(DEPOSIT - FEE - fee);
      expect(await cross(o, o.keeper)).to.equal(FEE);
      expect(await o.book.pendingMarketOrder(o.alice, PETH)).to.equal(0n);
      expect((await o.engine.getPosition(o.alice, PETH)).entryPrice).to.equal(fill);
    });

    it("two keepers with different payloads: only the window's first price settles, the second attempt finds nothing", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id, createdAt } = await commit(o, o.alice, wad(5));
      // A later price in the window is not the first one (its predecessor is in the window too).
      const later = priceUpdate("2020", createdAt + 3n, createdAt + 2n);
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 3n);
      await expect(o.book.connect(o.bob).settleOrder(id, [later], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.feed, "PythPriceNotFound")
        .withArgs(await o.feed.priceId());
      await o.book.connect(o.keeper).settleOrder(id, [windowUpdate(createdAt, "2010")], { value: PYTH_FEE });
      await expect(o.book.connect(o.bob).settleOrder(id, [windowUpdate(createdAt, "2010")], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.book, "OrderNotFound")
        .withArgs(id);
      expect(await cross(o, o.bob)).to.equal(DEPOSIT);
    });

    it("refuses a settlement too early, a price outside the window, and an expired order", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id, createdAt } = await commit(o, o.alice, wad(5));
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 1n);
      await expect(o.book.connect(o.keeper).settleOrder(id, [windowUpdate(createdAt, "2010")], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.book, "SettlementTooEarly")
        .withArgs(id, createdAt + 2n, createdAt + 1n);
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 40n);
      const late = priceUpdate("2010", createdAt + 31n, createdAt + 1n);
      await expect(o.book.connect(o.keeper).settleOrder(id, [late], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.feed, "PythPriceOutsideWindow")
        .withArgs(await o.feed.priceId(), createdAt + 31n, createdAt + 2n, createdAt + 30n);
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 121n);
      await expect(o.book.connect(o.keeper).settleOrder(id, [windowUpdate(createdAt, "2010")], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.book, "MarketOrderExpired")
        .withArgs(id, createdAt + 120n, createdAt + 121n);
      // The keeper's failures left the order and its escrow in place.
      expect(await o.engine.orderEscrow(o.alice)).to.equal(FEE);
      expect(await o.book.pendingMarketOrder(o.alice, PETH)).to.equal(id);
    });

    it("a trader's-fault failure cancels the order, pays the keeper and changes nothing else", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id, createdAt } = await commit(o, o.alice, wad(5), wad(2000));
      const vaultCash = await o.engine.vaultCash();
      const fill = wad("2010.005025");
      const reason = o.engine.interface.encodeErrorResult("SlippageExceeded", [fill, wad(2000)]);
      await expect(settle(o, o.keeper, id, createdAt, "2010"))
        .to.emit(o.book, "OrderCancelled")
        .withArgs(id, o.alice.address, Reason.ExecutionFailed, o.keeper.address, FEE, reason)
        .and.not.to.emit(o.engine, "PositionModified");
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(0n);
      expect(await cross(o, o.alice)).to.equal(DEPOSIT - FEE);
      expect(await cross(o, o.keeper)).to.equal(FEE);
      expect(await o.engine.orderEscrow(o.alice)).to.equal(0n);
      expect(await o.engine.vaultCash()).to.equal(vaultCash);
      expect(await o.book.pendingMarketOrder(o.alice, PETH)).to.equal(0n);
    });

    it("one pending market order per account and market", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id } = await commit(o, o.alice, wad(5));
      await expect(o.book.connect(o.alice).commitOrder(PETH, wad(1), BUY_ANY, 0, false))
        .to.be.revertedWithCustomError(o.book, "PendingMarketOrder")
        .withArgs(o.alice.address, PETH, id);
      await expect(o.book.connect(o.alice).commitOrder(PETH, 0, BUY_ANY, 0, false)).to.be.revertedWithCustomError(
        o.book,
        "ZeroSize",
      );
    });

    it("a market order's id is seq << 168 | trader << 8 | marketId; an old id never reaches the newer order", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const first = await commit(o, o.alice, wad(5));
      const id = (seq: bigint, trader: string, market: bigint) => (seq << 168n) | (BigInt(trader) << 8n) | market;
      expect(first.id).to.equal(id(1n, o.alice.address, PETH));
      await settle(o, o.keeper, first.id, first.createdAt, "2000");
      expect(await o.book.pendingMarketOrder(o.alice, PETH)).to.equal(0n);
      const second = await commit(o, o.alice, -wad(5));
      expect(second.id).to.equal(id(2n, o.alice.address, PETH));
      // Each market counts its own sequence; so does each trader.
      await o.book.connect(o.alice).commitOrder(PBTC, wad(1), BUY_ANY, 0, false);
      expect(await o.book.pendingMarketOrder(o.alice, PBTC)).to.equal(id(1n, o.alice.address, PBTC));
      expect((await commit(o, o.bob, wad(1))).id).to.equal(id(1n, o.bob.address, PETH));
      // The settled first id reads as absent, though its slot now holds the second order.
      expect((await o.book.getOrder(first.id)).trader).to.equal(ethers.ZeroAddress);
      await expect(o.book.connect(o.keeper).settleOrder(first.id, [windowUpdate(second.createdAt, "2000")], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.book, "OrderNotFound")
        .withArgs(first.id);
      await expect(o.book.connect(o.alice).cancelOrder(first.id))
        .to.be.revertedWithCustomError(o.book, "OrderNotFound")
        .withArgs(first.id);
      // A future or out-of-range sequence number is no order either.
      for (const forged of [id(3n, o.alice.address, PETH), id(2n ** 32n, o.alice.address, PETH)]) {
        expect((await o.book.getOrder(forged)).trader).to.equal(ethers.ZeroAddress);
      }
      // The trigger-order paths name a live market order's kind.
      await expect(o.book.connect(o.alice).updateTriggerOrder(second.id, -wad(1), wad(1900), 0))
        .to.be.revertedWithCustomError(o.book, "WrongOrderKind")
        .withArgs(second.id, Kind.Market);
      await expect(o.book.connect(o.keeper).ratchetTrailingStop(second.id, [await fresh("2000")], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.book, "WrongOrderKind")
        .withArgs(second.id, Kind.Market);
      await expect(execute(o, second.id, "2000"))
        .to.be.revertedWithCustomError(o.book, "WrongOrderKind")
        .withArgs(second.id, Kind.Market);
      await expect(o.book.connect(o.alice).updateTriggerOrder(first.id, -wad(1), wad(1900), 0))
        .to.be.revertedWithCustomError(o.book, "OrderNotFound")
        .withArgs(first.id);
      const order = await o.book.getOrder(second.id);
      expect([order.trader, order.marketId, order.kind, order.sizeDelta, order.keeperFee, order.createdAt]).to.deep.equal([
        o.alice.address,
        PETH,
        BigInt(Kind.Market),
        -wad(5),
        FEE,
        second.createdAt,
      ]);
    });

    it("too little gas is the keeper's fault, never the trader's: InsufficientExecutionGas below the floor, ExecutionOutOfGas when the engine runs out; the order stays", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id, createdAt } = await commit(o, o.alice, wad(5));
      await networkHelpers.time.increaseTo(createdAt + 2n);
      const data = [windowUpdate(createdAt, "2000")];
      const params = await o.book.params();
      await expect(o.book.connect(o.keeper).settleOrder(id, data, { value: PYTH_FEE, gasLimit: 300_000 }))
        .to.be.revertedWithCustomError(o.book, "InsufficientExecutionGas")
        .withArgs(anyValue, params.minExecutionGas);
      // Without the floor (an owner may set 0), a limit short of what the trade needs starves the engine call.
      await o.book.setParams({
        keeperFee: params.keeperFee,
        minSettleDelay: params.minSettleDelay,
        maxSettleDelay: params.maxSettleDelay,
        marketOrderExpiry: params.marketOrderExpiry,
        triggerMaxAge: params.triggerMaxAge,
        minExecutionGas: 0,
      });
      const call = {
        from: o.keeper.address,
        to: await o.book.getAddress(),
        data: o.book.interface.encodeFunctionData("settleOrder", [id, data]),
        value: PYTH_FEE,
      };
      const needed = await ethers.provider.estimateGas(call);
      // Every limit below the estimate, in steps of 2,000 gas: the call reverts (the engine out of gas, or the
      // whole call), and never cancels the order for the trader's reasons.
      const outcomes: Record<string, number> = {};
      for (let gasLimit = needed - 1n; gasLimit > 60_000n; gasLimit -= 2_000n) {
        let outcome: string;
        try {
          await ethers.provider.call({ ...call, gasLimit });
          const snapshot = await networkHelpers.takeSnapshot();
          const receipt = (await (await o.keeper.sendTransaction({ ...call, gasLimit })).wait())!;
          outcome = receipt.logs.map((l) => o.book.interface.parseLog(l)?.name).find((n) => n === "OrderExecuted" || n === "OrderCancelled") ?? "none";
          await snapshot.restore();
        } catch (error) {
          // ethers' CALL_EXCEPTION data: the revert data, or (from the in-process node) an object that carries it.
          const raw = (error as { data?: unknown }).data;
          const revert = typeof raw === "string" ? raw : (raw as { data?: string } | undefined)?.data;
          outcome = revert === undefined || revert === "0x" ? "out of gas" : (o.book.interface.parseError(revert)?.name ?? revert);
        }
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
      expect(Object.keys(outcomes).sort()).to.deep.equal(["ExecutionOutOfGas", "out of gas"]);
      expect(await o.book.pendingMarketOrder(o.alice, PETH)).to.equal(id);
      await expect(o.book.connect(o.keeper).settleOrder(id, data, { value: PYTH_FEE, gasLimit: needed })).to.emit(o.book, "OrderExecuted");
    });

    it("cancel: not before expiry; after it a third party earns the fee", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id, createdAt } = await commit(o, o.alice, wad(5));
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 120n);
      await expect(o.book.connect(o.alice).cancelOrder(id))
        .to.be.revertedWithCustomError(o.book, "MarketOrderNotExpired")
        .withArgs(id, createdAt + 120n, createdAt + 120n);
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 121n);
      await expect(o.book.connect(o.bob).cancelOrder(id))
        .to.emit(o.book, "OrderCancelled")
        .withArgs(id, o.alice.address, Reason.Expired, o.bob.address, FEE, "0x");
      expect(await cross(o, o.bob)).to.equal(DEPOSIT + FEE);
      expect(await cross(o, o.alice)).to.equal(DEPOSIT - FEE);
      expect(await o.engine.orderEscrow(o.alice)).to.equal(0n);
      expect(await o.book.pendingMarketOrder(o.alice, PETH)).to.equal(0n);
    });

    it("CLOSE_ALL resolves at settlement from the position", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      await openLong(o, o.alice, wad(5));
      const { id, createdAt } = await commit(o, o.alice, CLOSE_ALL, SELL_ANY);
      await expect(settle(o, o.keeper, id, createdAt, "2000"))
        .to.emit(o.book, "OrderExecuted")
        .withArgs(id, o.alice.address, PETH, Kind.Market, -wad(5), wad(2000), createdAt + 2n, o.keeper.address, FEE);
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(0n);
      expect(await o.engine.positionEpoch(o.alice, PETH)).to.equal(1n);
    });
  });

  describe("trigger orders", function () {
    it("a trigger id encodes seq, trader and 0x80 | lane; a freed lane's stale id is absent, the lane's next order gets seq + 1", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const trader = BigInt(await o.alice.getAddress());
      const id = (seq: bigint, lane: bigint) => (seq << 168n) | (trader << 8n) | 0x80n | lane;
      expect(await o.book.nextTriggerOrderId(o.alice)).to.equal(id(1n, 0n));
      const first = await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1990));
      const second = await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1980));
      expect([first.id, second.id]).to.deep.equal([id(1n, 0n), id(1n, 1n)]);
      await o.book.connect(o.alice).cancelOrder(first.id);
      expect((await o.book.getOrder(first.id)).trader).to.equal(ethers.ZeroAddress);
      await expect(o.book.connect(o.alice).cancelOrder(first.id)).to.be.revertedWithCustomError(o.book, "OrderNotFound").withArgs(first.id);
      const third = await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1970));
      expect(third.id).to.equal(id(2n, 0n));
      expect((await o.book.getOrder(third.id)).triggerPrice).to.equal(wad(1970));
      // The stale id still names lane 0 at seq 1: not the new order.
      await expect(o.book.connect(o.alice).cancelOrder(first.id)).to.be.revertedWithCustomError(o.book, "OrderNotFound").withArgs(first.id);
      expect(await o.book.ordersOf(o.alice)).to.deep.equal([third.id, second.id]);
      // Another trader naming alice's order is refused as not its owner; a lane past 7 or seq 0 is no order.
      await expect(o.book.connect(o.bob).cancelOrder(third.id))
        .to.be.revertedWithCustomError(o.book, "NotOrderOwner")
        .withArgs(third.id, await o.bob.getAddress(), await o.alice.getAddress());
      for (const bad of [id(2n, 8n), id(0n, 0n), id(2n ** 31n, 0n)]) {
        await expect(o.book.connect(o.alice).cancelOrder(bad)).to.be.revertedWithCustomError(o.book, "OrderNotFound").withArgs(bad);
      }
    });

    it("Limit buy fires at or below its price, not before", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id } = await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1990));
      expect(await o.engine.orderEscrow(o.alice)).to.equal(FEE);
      await expect(execute(o, id, "1995"))
        .to.be.revertedWithCustomError(o.book, "TriggerNotReached")
        .withArgs(id, wad(1995), wad(1990));
      await expect(execute(o, id, "1990")).to.emit(o.book, "OrderExecuted");
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(wad(1));
      expect(await cross(o, o.keeper)).to.equal(FEE);
      expect(await o.book.openOrderCount(o.alice)).to.equal(0n);
    });

    it("Stop sell fires at or below its price, not before; placement on the wrong side is refused", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      await expect(o.book.connect(o.alice).placeTriggerOrder(PETH, Kind.Stop, -wad(1), wad(2010), 0, 0, false, 0))
        .to.be.revertedWithCustomError(o.book, "TriggerOnWrongSide")
        .withArgs(Kind.Stop, false, wad(2010), wad(2000));
      const { id } = await placeTrigger(o, o.alice, Kind.Stop, -wad(1), wad(1980));
      await expect(execute(o, id, "1981"))
        .to.be.revertedWithCustomError(o.book, "TriggerNotReached")
        .withArgs(id, wad(1981), wad(1980));
      await expect(execute(o, id, "1980")).to.emit(o.book, "OrderExecuted");
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(-wad(1));
    });

    it("TakeProfit and StopLoss of a long fire at their prices, never before", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      await openLong(o, o.alice, wad(5));
      const tp = await placeTrigger(o, o.alice, Kind.TakeProfit, -wad(2), wad(2050));
      const sl = await placeTrigger(o, o.alice, Kind.StopLoss, CLOSE_ALL, wad(1950));
      await expect(execute(o, tp.id, "2049"))
        .to.be.revertedWithCustomError(o.book, "TriggerNotReached")
        .withArgs(tp.id, wad(2049), wad(2050));
      await expect(execute(o, tp.id, "2050"))
        .to.emit(o.book, "OrderExecuted")
        .withArgs(tp.id, o.alice.address, PETH, Kind.TakeProfit, -wad(2), wad(2050), (await now()) + 1n, o.keeper.address, FEE);
      await expect(execute(o, sl.id, "1951"))
        .to.be.revertedWithCustomError(o.book, "TriggerNotReached")
        .withArgs(sl.id, wad(1951), wad(1950));
      await expect(execute(o, sl.id, "1950")).to.emit(o.book, "OrderExecuted");
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(0n);
    });

    it("a reduce-only size is clamped to the position (never flips it)", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      await openLong(o, o.alice, wad(2));
      const sl = await placeTrigger(o, o.alice, Kind.StopLoss, -wad(10), wad(1950));
      await expect(execute(o, sl.id, "1950"))
        .to.emit(o.book, "OrderExecuted")
        .withArgs(sl.id, o.alice.address, PETH, Kind.StopLoss, -wad(2), wad(1950), (await now()) + 1n, o.keeper.address, FEE);
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(0n);
    });

    it("reduce-only needs an opposite position, or a pending market order that opens one", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      await expect(o.book.connect(o.alice).placeTriggerOrder(PETH, Kind.StopLoss, CLOSE_ALL, wad(1950), 0, 0, false, 0))
        .to.be.revertedWithCustomError(o.book, "NotReducing")
        .withArgs(o.alice.address, PETH, 0, CLOSE_ALL);
      await commit(o, o.alice, wad(3));
      await expect(o.book.connect(o.alice).placeTriggerOrder(PETH, Kind.StopLoss, wad(1), wad(1950), BUY_ANY, 0, false, 0))
        .to.be.revertedWithCustomError(o.book, "NotReducing")
        .withArgs(o.alice.address, PETH, wad(3), wad(1));
      await o.book.connect(o.alice).placeTriggerOrder(PETH, Kind.StopLoss, CLOSE_ALL, wad(1950), 0, 0, false, 0);
      expect(await o.book.positionOrderCount(o.alice, PETH)).to.equal(1n);
    });

    it("a bracket placed with its pending entry cannot be voided before the entry settles", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const entry = await commit(o, o.alice, wad(3));
      const tpId = await o.book.nextTriggerOrderId(o.alice);
      await o.book.connect(o.alice).placeBracket(PETH, CLOSE_ALL, wad(2050), wad(1950), 0);
      const slId = tpId + 1n;
      await expect(execute(o, slId, "1900"))
        .to.be.revertedWithCustomError(o.book, "PendingMarketOrder")
        .withArgs(o.alice.address, PETH, entry.id);
      expect(await o.book.connect(o.keeper).executeOrders.staticCall([tpId, slId], [await fresh("1900")], { value: PYTH_FEE })).to.equal(0n);
      await settle(o, o.keeper, entry.id, entry.createdAt, "2000");
      expect((await o.book.getOrder(slId)).ocoPartner).to.equal(tpId);
      await expect(execute(o, slId, "1950")).to.emit(o.book, "OrderExecuted");
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(0n);
    });

    it("a price published before the order (or its update) cannot execute it", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id, receipt } = await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1990));
      const createdAt = BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
      await expect(o.book.connect(o.keeper).executeOrder(id, [priceUpdate("1980", createdAt)], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.book, "PriceBeforeOrder")
        .withArgs(id, createdAt, createdAt);
      await networkHelpers.time.increase(20);
      const old = priceUpdate("1980", createdAt + 1n);
      await expect(o.book.connect(o.keeper).executeOrder(id, [old], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.book, "TriggerPriceTooOld")
        .withArgs(id, createdAt + 1n, (await now()) + 1n, 10);
    });

    it("OCO: executing one bracket leg cancels the other and refunds its fee", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      await openLong(o, o.alice, wad(5));
      const tpId = await o.book.nextTriggerOrderId(o.alice);
      await o.book.connect(o.alice).placeBracket(PETH, CLOSE_ALL, wad(2050), wad(1950), 0);
      const slId = tpId + 1n;
      expect((await o.book.getOrder(tpId)).ocoPartner).to.equal(slId);
      expect((await o.book.getOrder(slId)).ocoPartner).to.equal(tpId);
      expect(await o.engine.orderEscrow(o.alice)).to.equal(2n * FEE);
      const before = await cross(o, o.alice);
      await expect(execute(o, tpId, "2050"))
        .to.emit(o.book, "OrderExecuted")
        .and.to.emit(o.book, "OrderCancelled")
        .withArgs(slId, o.alice.address, Reason.OcoPartnerExecuted, o.keeper.address, FEE, "0x");
      expect(await o.engine.orderEscrow(o.alice)).to.equal(0n);
      expect((await o.book.getOrder(slId)).trader).to.equal(ethers.ZeroAddress);
      expect(await o.book.openOrderCount(o.alice)).to.equal(0n);
      // The SL's fee came back; the TP's went to the keeper.
      expect(await cross(o, o.keeper)).to.equal(2n * FEE);
      expect((await cross(o, o.alice)) > before).to.equal(true);
    });

    it("voided after a full close: the cleanup fee goes to the caller and nothing trades", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      await openLong(o, o.alice, wad(5));
      const sl = await placeTrigger(o, o.alice, Kind.StopLoss, -wad(5), wad(1950));
      const { id, createdAt } = await commit(o, o.alice, CLOSE_ALL, SELL_ANY);
      await settle(o, o.keeper, id, createdAt, "2000");
      await openLong(o, o.alice, wad(1));
      expect(await o.engine.positionEpoch(o.alice, PETH)).to.equal(1n);
      await expect(execute(o, sl.id, "1950", o.bob))
        .to.emit(o.book, "OrderCancelled")
        .withArgs(sl.id, o.alice.address, Reason.Voided, o.bob.address, FEE, "0x")
        .and.not.to.emit(o.engine, "PositionModified");
      expect(await cross(o, o.bob)).to.equal(DEPOSIT + FEE);
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(wad(1));
    });

    it("voided after liquidation", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id, createdAt } = await (async () => {
        const r = (await (await o.book.connect(o.alice).commitOrder(PETH, wad(5), BUY_ANY, wad(150), true)).wait())!;
        const id = await o.book.pendingMarketOrder(o.alice, PETH);
        return { id, createdAt: BigInt((await ethers.provider.getBlock(r.blockNumber))!.timestamp) };
      })();
      await settle(o, o.keeper, id, createdAt, "2000");
      expect((await o.engine.getPosition(o.alice, PETH)).margin > 0n).to.equal(true);
      const sl = await placeTrigger(o, o.alice, Kind.StopLoss, CLOSE_ALL, wad(1900));
      await o.book.pokePrices([PETH], [await fresh("1970")], { value: PYTH_FEE });
      await o.engine.connect(o.bob).liquidate(o.alice, PETH, []);
      expect(await o.engine.positionEpoch(o.alice, PETH)).to.equal(1n);
      await expect(execute(o, sl.id, "1890"))
        .to.emit(o.book, "OrderCancelled")
        .withArgs(sl.id, o.alice.address, Reason.Voided, o.keeper.address, FEE, "0x");
    });

    it("trailing stop: the peak ratchets with later verified prices and it fires on the retrace", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      await openLong(o, o.alice, wad(5));
      const ts = await placeTrigger(o, o.alice, Kind.TrailingStop, CLOSE_ALL, 0n, SELL_ANY, 100);
      expect((await o.book.getOrder(ts.id)).triggerPrice).to.equal(wad(2000));
      const t = (await now()) + 1n;
      await expect(o.book.ratchetTrailingStop(ts.id, [priceUpdate("2100", t)], { value: PYTH_FEE }))
        .to.emit(o.book, "TrailingPeakRatcheted")
        .withArgs(ts.id, wad(2100), t);
      // A lower price does not lower a long's peak.
      await o.book.ratchetTrailingStop(ts.id, [await fresh("2090")], { value: PYTH_FEE });
      expect((await o.book.getOrder(ts.id)).triggerPrice).to.equal(wad(2100));
      await expect(execute(o, ts.id, "2080"))
        .to.be.revertedWithCustomError(o.book, "TriggerNotReached")
        .withArgs(ts.id, wad(2080), wad(2079));
      await expect(execute(o, ts.id, "2079")).to.emit(o.book, "OrderExecuted");
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(0n);
    });

    it("limits: 4 per position, 8 per account", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      for (let i = 0; i < 4; i++) await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1900 - i));
      await expect(o.book.connect(o.alice).placeTriggerOrder(PETH, Kind.Limit, wad(1), wad(1800), BUY_ANY, 0, false, 0))
        .to.be.revertedWithCustomError(o.book, "TooManyPositionOrders")
        .withArgs(o.alice.address, PETH, 4, 4);
      for (let i = 0; i < 4; i++) await placeTrigger(o, o.alice, Kind.Limit, wad("0.1"), wad(59000 - i), BUY_ANY, 0, PBTC);
      await expect(o.book.connect(o.alice).placeTriggerOrder(PBTC, Kind.Limit, wad(1), wad(50000), BUY_ANY, 0, false, 0))
        .to.be.revertedWithCustomError(o.book, "TooManyOrders")
        .withArgs(o.alice.address, 8, 8);
      expect(await o.book.openOrderCount(o.alice)).to.equal(8n);
      expect((await o.book.ordersOf(o.alice)).length).to.equal(8);
      expect(await o.engine.orderEscrow(o.alice)).to.equal(8n * FEE);
    });

    it("update changes the trigger and resets createdAt: older prices no longer execute it", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id } = await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1990));
      await networkHelpers.time.increase(5);
      const t = (await now()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(o.book.connect(o.alice).updateTriggerOrder(id, wad(2), wad(1980), BUY_ANY))
        .to.emit(o.book, "TriggerOrderUpdated")
        .withArgs(id, wad(2), wad(1980), BUY_ANY, t);
      await expect(o.book.connect(o.keeper).executeOrder(id, [priceUpdate("1980", t)], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.book, "PriceBeforeOrder")
        .withArgs(id, t, t);
      await expect(execute(o, id, "1980")).to.emit(o.book, "OrderExecuted");
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(wad(2));
    });

    it("a trigger order the engine refuses is cancelled for the trader's reasons, the keeper paid", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id } = await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1990), wad(1900));
      const fill = wad(1990) + (wad(1990) * wad(1)) / (2n * wad(1_000_000));
      const reason = o.engine.interface.encodeErrorResult("SlippageExceeded", [fill, wad(1900)]);
      await expect(execute(o, id, "1990"))
        .to.emit(o.book, "OrderCancelled")
        .withArgs(id, o.alice.address, Reason.ExecutionFailed, o.keeper.address, FEE, reason);
      expect(await cross(o, o.keeper)).to.equal(FEE);
      expect(await o.engine.orderEscrow(o.alice)).to.equal(0n);
      expect(await o.book.openOrderCount(o.alice)).to.equal(0n);
    });

    it("cancelling one bracket leg leaves the other standing alone", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      await openLong(o, o.alice, wad(5));
      const tpId = await o.book.nextTriggerOrderId(o.alice);
      await o.book.connect(o.alice).placeBracket(PETH, CLOSE_ALL, wad(2050), wad(1950), 0);
      await o.book.connect(o.alice).cancelOrder(tpId);
      expect((await o.book.getOrder(tpId + 1n)).ocoPartner).to.equal(0n);
      await expect(execute(o, tpId + 1n, "1950")).to.emit(o.book, "OrderExecuted");
      expect(await o.engine.orderEscrow(o.alice)).to.equal(0n);
    });

    it("only the trader cancels a trigger order, and gets its fee back", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id } = await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1990));
      await expect(o.book.connect(o.bob).cancelOrder(id))
        .to.be.revertedWithCustomError(o.book, "NotOrderOwner")
        .withArgs(id, o.bob.address, o.alice.address);
      await expect(o.book.connect(o.bob).updateTriggerOrder(id, wad(1), wad(1980), BUY_ANY))
        .to.be.revertedWithCustomError(o.book, "NotOrderOwner")
        .withArgs(id, o.bob.address, o.alice.address);
      await expect(o.book.connect(o.alice).cancelOrder(id))
        .to.emit(o.book, "OrderCancelled")
        .withArgs(id, o.alice.address, Reason.ByTrader, o.alice.address, FEE, "0x");
      expect(await cross(o, o.alice)).to.equal(DEPOSIT);
      expect(await o.engine.orderEscrow(o.alice)).to.equal(0n);
    });
  });

  describe("batches", function () {
    it("settleOrders settles the usable ids and skips the rest", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const a = await commit(o, o.alice, wad(1));
      const b = await commit(o, o.bob, wad(1));
      const trigger = await placeTrigger(o, o.carol, Kind.Limit, wad(1), wad(1990));
      // One update is the first of both windows (nothing was published since a's commit).
      const update = priceUpdate("2000", b.createdAt + 2n, a.createdAt + 1n);
      await networkHelpers.time.setNextBlockTimestamp(b.createdAt + 2n);
      const ids = [999n, a.id, trigger.id, b.id];
      const pythBefore = await ethers.provider.getBalance(o.pyth);
      await expect(o.book.connect(o.keeper).settleOrders(ids, [update], { value: 10n }))
        .to.emit(o.book, "OrderExecuted")
        .withArgs(b.id, o.bob.address, PETH, Kind.Market, wad(1), wad(2000), b.createdAt + 2n, o.keeper.address, FEE);
      // a's verification proved the price the first one at or after a's window start; b's window starts later and
      // the price is in it, so it is b's first price too: verified (and paid to Pyth) once for both.
      expect((await ethers.provider.getBalance(o.pyth)) - pythBefore).to.equal(PYTH_FEE);
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(wad(1));
      expect((await o.engine.getPosition(o.bob, PETH)).size).to.equal(wad(1));
      expect(await cross(o, o.keeper)).to.equal(2n * FEE);
      expect((await o.book.getOrder(trigger.id)).trader).to.equal(o.carol.address);
    });

    it("settleOrders reuses a verified price only for a window it opens; a later window is verified on its own", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const a = await commit(o, o.alice, wad(1));
      await networkHelpers.time.setNextBlockTimestamp(a.createdAt + 5n);
      const b = await commit(o, o.bob, wad(1));
      // a's first price (published at a.createdAt + 2) is before b's window (from b.createdAt + 2): b must not get it.
      await networkHelpers.time.setNextBlockTimestamp(b.createdAt + 2n);
      const pythBefore = await ethers.provider.getBalance(o.pyth);
      await expect(o.book.connect(o.keeper).settleOrders([a.id, b.id], [windowUpdate(a.createdAt, "2000")], { value: 2n }))
        .to.emit(o.book, "OrderExecuted")
        .withArgs(a.id, o.alice.address, PETH, Kind.Market, wad(1), wad(2000), a.createdAt + 2n, o.keeper.address, FEE);
      expect(await o.book.pendingMarketOrder(o.bob, PETH)).to.equal(b.id);
      expect((await o.engine.getPosition(o.bob, PETH)).size).to.equal(0n);
      // b's own verification failed (its window holds no price of this data): its fee was not spent.
      expect((await ethers.provider.getBalance(o.pyth)) - pythBefore).to.equal(PYTH_FEE);
      expect(await ethers.provider.getBalance(o.book)).to.equal(0n);
    });

    it("settleOrders skips orders too early or expired, and returns the unspent oracle fee", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const old = await commit(o, o.alice, wad(1));
      await networkHelpers.time.setNextBlockTimestamp(old.createdAt + 121n);
      const young = await commit(o, o.bob, wad(1));
      const ids = [old.id, young.id];
      // Neither can settle now (one expired, one before its window): nothing settles, nothing is spent.
      const update = windowUpdate(young.createdAt, "2000");
      expect(await o.book.connect(o.keeper).settleOrders.staticCall(ids, [update], { value: 2n })).to.equal(0n);
      const balance = await ethers.provider.getBalance(o.pyth);
      await o.book.connect(o.keeper).settleOrders(ids, [update], { value: 2n });
      expect(await ethers.provider.getBalance(o.pyth)).to.equal(balance);
      expect(await ethers.provider.getBalance(o.book)).to.equal(0n);
      expect(await o.book.pendingMarketOrder(o.alice, PETH)).to.equal(old.id);
      expect(await o.book.pendingMarketOrder(o.bob, PETH)).to.equal(young.id);
    });

    it("executeOrders executes the triggered ids, skips the rest, and pays the oracle once", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const x = await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1990));
      const y = await placeTrigger(o, o.bob, Kind.Limit, wad(1), wad(1980));
      const z = await placeTrigger(o, o.carol, Kind.Limit, wad(1), wad(1995));
      const balance = await ethers.provider.getBalance(o.pyth);
      const ids = [x.id, 12345n, y.id, z.id];
      expect(await o.book.connect(o.keeper).executeOrders.staticCall(ids, [await fresh("1990")], { value: 5n })).to.equal(
        2n,
      );
      await o.book.connect(o.keeper).executeOrders(ids, [await fresh("1990")], { value: 5n });
      expect(await ethers.provider.getBalance(o.pyth)).to.equal(balance + PYTH_FEE);
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(wad(1));
      expect((await o.engine.getPosition(o.bob, PETH)).size).to.equal(0n);
      expect((await o.engine.getPosition(o.carol, PETH)).size).to.equal(wad(1));
    });
  });

  describe("prices: the book pays Pyth, the adapter checks and caches", function () {
    it("one value transfer: Pyth gets exactly the fee, the adapter none, and caches the price; nobody else may hand the adapter a price", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id, createdAt } = await commit(o, o.alice, wad(5));
      const pythBefore = await ethers.provider.getBalance(o.pyth);
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 2n);
      const tx = await o.book.connect(o.keeper).settleOrder(id, [windowUpdate(createdAt, "2001")], { value: PYTH_FEE + 7n });
      await expect(tx).to.emit(o.feed, "PriceCached").withArgs(ETH_ID, wad(2001), createdAt + 2n);
      // The keeper sent the fee + 7 wei: Pyth holds the fee, the book and the adapter nothing (the 7 came back).
      expect((await ethers.provider.getBalance(o.pyth)) - pythBefore).to.equal(PYTH_FEE);
      expect(await ethers.provider.getBalance(o.feed)).to.equal(0n);
      expect(await ethers.provider.getBalance(o.book)).to.equal(0n);
      expect(await o.feed.cachedPrice()).to.deep.equal([wad(2001), createdAt + 2n]);
      expect(await o.feed.pythRequest()).to.deep.equal([await o.pyth.getAddress(), ETH_ID, await o.book.getAddress()]);
      const price = { price: 3_000n * 10n ** 8n, conf: 0n, expo: -8, publishTime: createdAt + 3n };
      await expect(o.feed.connect(o.alice).acceptPrice(price, false, 0, 0))
        .to.be.revertedWithCustomError(o.feed, "NotPriceWriter")
        .withArgs(o.alice.address);
      expect(await o.feed.cachedPrice()).to.deep.equal([wad(2001), createdAt + 2n]);
    });

    it("an update the adapter refuses reverts a single settlement with the adapter's error; in a batch it skips the order and its fee stays with Pyth, which parsed it", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const { id, createdAt } = await commit(o, o.alice, wad(5));
      // Confidence 2 % of the price: Pyth parses it, the adapter's bound (1 %) refuses it.
      const wide = encodeMockPriceUpdate({
        id: ETH_ID,
        price: { price: 2_000n * 10n ** 8n, conf: 40n * 10n ** 8n, expo: -8, publishTime: createdAt + 2n },
        prevPublishTime: createdAt + 1n,
      });
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 2n);
      await expect(o.book.connect(o.keeper).settleOrder(id, [wide], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.feed, "PythConfidenceTooWide")
        .withArgs(ETH_ID, wad(40), wad(2000), 100);
      const pythBefore = await ethers.provider.getBalance(o.pyth);
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 3n);
      const tx = await o.book.connect(o.keeper).settleOrders([id], [wide], { value: 5n });
      await expect(tx).to.not.emit(o.book, "OrderExecuted");
      expect((await ethers.provider.getBalance(o.pyth)) - pythBefore).to.equal(PYTH_FEE);
      expect(await ethers.provider.getBalance(o.book)).to.equal(0n);
      expect(await o.book.pendingMarketOrder(o.alice, PETH)).to.equal(id);
      // Data Pyth itself refuses (no price in the window) costs nothing.
      const early = priceUpdate("2000", createdAt + 1n, createdAt);
      await o.book.connect(o.keeper).settleOrders([id], [early], { value: 5n });
      expect((await ethers.provider.getBalance(o.pyth)) - pythBefore).to.equal(PYTH_FEE);
      expect(await ethers.provider.getBalance(o.book)).to.equal(0n);
    });

    it("the engine pays Pyth itself for its book's adapters: liquidate sends one value transfer; a price the adapter refuses reverts liquidate and costs liquidateMany its fee", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      expect(await o.feed.engine()).to.equal(await o.engine.getAddress());
      const r = (await (await o.book.connect(o.alice).commitOrder(PETH, wad(5), BUY_ANY, wad(150), true)).wait())!;
      const id = await o.book.pendingMarketOrder(o.alice, PETH);
      await settle(o, o.keeper, id, BigInt((await ethers.provider.getBlock(r.blockNumber))!.timestamp), "2000");
      // Confidence $40 at $1,970 (2 %): Pyth parses it, the adapter (1 %) refuses it.
      const t = (await now()) + 1n;
      const wide = encodeMockPriceUpdate({
        id: ETH_ID,
        price: { price: 1_970n * 10n ** 8n, conf: 40n * 10n ** 8n, expo: -8, publishTime: t },
      });
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(o.engine.connect(o.bob).liquidate(o.alice, PETH, [wide], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.feed, "PythConfidenceTooWide")
        .withArgs(ETH_ID, wad(40), wad(1970), 100);
      const pythBefore = await ethers.provider.getBalance(o.pyth);
      const cacheBefore = await o.feed.cachedPrice();
      await networkHelpers.time.setNextBlockTimestamp(t + 1n);
      expect(await o.engine.connect(o.bob).liquidateMany.staticCall([o.alice], [PETH], [wide], { value: 5n })).to.equal(0n);
      await o.engine.connect(o.bob).liquidateMany([o.alice], [PETH], [wide], { value: 5n });
      // Pyth kept the fee of the price it parsed; the engine holds nothing; the cache did not move.
      expect((await ethers.provider.getBalance(o.pyth)) - pythBefore).to.equal(PYTH_FEE);
      expect(await ethers.provider.getBalance(o.engine)).to.equal(0n);
      expect(await o.feed.cachedPrice()).to.deep.equal(cacheBefore);
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(wad(5));
      const good = priceUpdate("1970", t + 2n);
      await networkHelpers.time.setNextBlockTimestamp(t + 2n);
      const tx = o.engine.connect(o.bob).liquidate(o.alice, PETH, [good], { value: PYTH_FEE + 7n });
      await expect(tx).to.emit(o.feed, "PriceCached").withArgs(ETH_ID, wad(1970), t + 2n);
      await expect(tx).to.emit(o.engine, "Liquidated");
      // One value transfer: Pyth got exactly the fee, the 7 wei came back, the adapter and the engine hold nothing.
      expect((await ethers.provider.getBalance(o.pyth)) - pythBefore).to.equal(2n * PYTH_FEE);
      expect(await ethers.provider.getBalance(o.engine)).to.equal(0n);
      expect(await ethers.provider.getBalance(o.feed)).to.equal(0n);
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(0n);
    });

    it("an engine without a book lists no Pyth adapter naming an address; setOrderBook takes only a book of this engine; an adapter naming the book must take prices from this engine", async function () {
      const p = await deployProtocol();
      const pyth = await new StrictMockPyth__factory(p.owner).deploy(PYTH_FEE);
      const config = { pyth: await pyth.getAddress(), priceId: ETH_ID, maxConfBps: 100, maxFutureSkew: 5, maxCacheAge: 60, referenceFeed: ethers.ZeroAddress, refMaxDevBps: 0, refHeartbeat: 0, expo: -8 };
      const named = await new PythPriceFeed__factory(p.owner).deploy(config, p.alice.address);
      await named.updatePrice([priceUpdate("2000", await now())], { value: PYTH_FEE });
      await expect(p.engine.listMarket(named, ethParams()))
        .to.be.revertedWithCustomError(p.engine, "PriceFeedOfAnotherBook")
        .withArgs(await named.getAddress(), p.alice.address);
      const other = await deployProtocol();
      const foreignBook = await new OrderBook__factory(p.owner).deploy(other.engine, DEFAULT_PARAMS, p.owner);
      for (const book of [ethers.ZeroAddress, p.alice.address, await pyth.getAddress(), await foreignBook.getAddress()]) {
        await expect(p.engine.setOrderBook(book))
          .to.be.revertedWithCustomError(p.engine, "InvalidParameter")
          .withArgs("orderBook");
      }
      expect(await p.engine.orderBook()).to.equal(ethers.ZeroAddress);
      // An adapter built naming the book's address before the book existed reads no engine from it: refused.
      const nonce = await p.owner.getNonce();
      const early = await new PythPriceFeed__factory(p.owner).deploy(config, ethers.getCreateAddress({ from: p.owner.address, nonce: nonce + 1 }));
      const book = await new OrderBook__factory(p.owner).deploy(p.engine, DEFAULT_PARAMS, p.owner);
      expect(await early.orderBook()).to.equal(await book.getAddress());
      expect(await early.engine()).to.equal(ethers.ZeroAddress);
      await expect(p.engine.setOrderBook(book)).to.emit(p.engine, "OrderBookSet").withArgs(await book.getAddress());
      await early.updatePrice([priceUpdate("2000", await now())], { value: PYTH_FEE });
      await expect(p.engine.listMarket(early, ethParams()))
        .to.be.revertedWithCustomError(p.engine, "PriceFeedOfAnotherEngine")
        .withArgs(await early.getAddress(), ethers.ZeroAddress);
      const built = await new PythPriceFeed__factory(p.owner).deploy(config, book);
      await built.updatePrice([priceUpdate("2000", await now())], { value: PYTH_FEE });
      await expect(p.engine.listMarket(built, ethParams())).to.emit(p.engine, "MarketListed");
    });

    it("the engine lists or sets only Pyth adapters naming its book (PriceFeedOfAnotherBook); a feed that is no Pyth adapter takes no orders (FeedNotOfThisBook alone, skipped in a batch)", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const id = ethers.id("SOL/USD");
      const config = { pyth: await o.pyth.getAddress(), priceId: id, maxConfBps: 100, maxFutureSkew: 5, maxCacheAge: 60, referenceFeed: ethers.ZeroAddress, refMaxDevBps: 0, refHeartbeat: 0, expo: -8 };
      for (const named of [ethers.ZeroAddress, o.alice.address]) {
        const stray = await new PythPriceFeed__factory(o.owner).deploy(config, named);
        await stray.updatePrice([priceUpdate("100", await now(), undefined, id)], { value: PYTH_FEE });
        await expect(o.engine.listMarket(stray, ethParams()))
          .to.be.revertedWithCustomError(o.engine, "PriceFeedOfAnotherBook")
          .withArgs(await stray.getAddress(), named);
        await expect(o.engine.setPriceFeed(PETH, stray))
          .to.be.revertedWithCustomError(o.engine, "PriceFeedOfAnotherBook")
          .withArgs(await stray.getAddress(), named);
      }
      const own = await new PythPriceFeed__factory(o.owner).deploy(config, o.book);
      await own.updatePrice([priceUpdate("100", await now(), undefined, id)], { value: PYTH_FEE });
      await expect(o.engine.listMarket(own, ethParams())).to.emit(o.engine, "MarketListed");
      // Market 0 of the fixture is priced by a Chainlink adapter (no `orderBook()`): listed, but the book refuses it.
      const chainlink = (await o.engine.getMarket(0))[0];
      await o.book.connect(o.alice).commitOrder(0, wad(1), BUY_ANY, 0, false);
      const orderId = await o.book.pendingMarketOrder(o.alice, 0);
      const createdAt = await now();
      const update = priceUpdate("2000", createdAt + 2n, createdAt + 1n);
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 2n);
      await expect(o.book.connect(o.keeper).settleOrder(orderId, [update], { value: PYTH_FEE }))
        .to.be.revertedWithCustomError(o.book, "FeedNotOfThisBook")
        .withArgs(chainlink, ethers.ZeroAddress);
      expect(await o.book.connect(o.keeper).settleOrders.staticCall([orderId], [update], { value: PYTH_FEE })).to.equal(0n);
      expect(await o.book.pendingMarketOrder(o.alice, 0)).to.equal(orderId);
    });
  });

  describe("engine hooks and parameters", function () {
    it("only the order book calls the hooks; the book is set once", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      await expect(o.engine.connect(o.alice).executeOrder(o.alice, PETH, wad(1), BUY_ANY, 0, false, wad(1), 0, o.alice))
        .to.be.revertedWithCustomError(o.engine, "NotOrderBook")
        .withArgs(o.alice.address);
      await expect(o.engine.connect(o.alice).lockEscrow(o.alice, 1))
        .to.be.revertedWithCustomError(o.engine, "NotOrderBook")
        .withArgs(o.alice.address);
      await expect(o.engine.setOrderBook(o.alice)).to.be.revertedWithCustomError(o.engine, "OrderBookAlreadySet");
    });

    it("an order cannot be cancelled by settling it from inside an engine call (the oracle-fee refund): the settlement reverts, the order stays", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      // No fee escrow: there is no release that would revert the cancellation on its own.
      await o.book.setParams({ ...DEFAULT_PARAMS, keeperFee: 0 });
      const attacker = await new ReenteringCaller__factory(o.keeper).deploy();
      await o.keeper.sendTransaction({ to: attacker, value: 10n });
      const { id, createdAt } = await commit(o, o.alice, wad(1));
      await attacker.arm(o.book, o.book.interface.encodeFunctionData("settleOrder", [id, [windowUpdate(createdAt, "2000")]]), PYTH_FEE);
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 2n);
      // liquidateMany of nothing refunds the 1 wei sent, with the engine's guard held: the attacker settles from there.
      await attacker.run(o.engine, o.engine.interface.encodeFunctionData("liquidateMany", [[], [], []]), { value: 1n, gasLimit: 3_000_000 });
      expect(await attacker.reentered()).to.equal(true);
      expect(await attacker.reentrySucceeded()).to.equal(false);
      expect(await attacker.reentryResult()).to.equal(o.book.interface.getError("ReentrancyGuardReentrantCall")!.selector);
      expect(await o.book.pendingMarketOrder(o.alice, PETH)).to.equal(id);
      // The order settles normally afterwards at its window's first price.
      await networkHelpers.time.setNextBlockTimestamp(createdAt + 3n);
      await expect(o.book.connect(o.keeper).settleOrder(id, [windowUpdate(createdAt, "2000")], { value: PYTH_FEE })).to.emit(o.book, "OrderExecuted");
      expect((await o.engine.getPosition(o.alice, PETH)).size).to.equal(wad(1));
    });

    it("closes the atomic trade path for good once the order book is set", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const before = await o.engine.getAccount(o.alice);
      await expect(o.engine.connect(o.alice).trade(PETH, wad(1), BUY_ANY, 0, false))
        .to.be.revertedWithCustomError(o.engine, "AtomicTradingClosed")
        .withArgs(await o.book.getAddress());
      expect(await o.engine.getAccount(o.alice)).to.deep.equal(before);
    });

    it("escrow needs free cross balance like a withdrawal", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      await expect(o.book.connect(o.dave).commitOrder(PETH, wad(1), BUY_ANY, 0, false))
        .to.be.revertedWithCustomError(o.engine, "InsufficientCrossBalance")
        .withArgs(0, FEE);
    });

    it("setParams enforces the hard bounds, owner only", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      const current = await o.book.params();
      const good = {
        keeperFee: current.keeperFee,
        minSettleDelay: current.minSettleDelay,
        maxSettleDelay: current.maxSettleDelay,
        marketOrderExpiry: current.marketOrderExpiry,
        triggerMaxAge: current.triggerMaxAge,
        minExecutionGas: current.minExecutionGas,
      };
      await expect(o.book.connect(o.alice).setParams(good)).to.be.revertedWithCustomError(o.book, "OwnableUnauthorizedAccount");
      const bad: [string, object][] = [
        ["keeperFee", { keeperFee: wad(11) }],
        ["minSettleDelay", { minSettleDelay: 0 }],
        ["maxSettleDelay", { maxSettleDelay: 121 }],
        ["marketOrderExpiry", { marketOrderExpiry: 29 }],
        ["triggerMaxAge", { triggerMaxAge: 61 }],
        ["minExecutionGas", { minExecutionGas: 5_000_001 }],
      ];
      for (const [code, change] of bad) {
        await expect(o.book.setParams({ ...good, ...change }))
          .to.be.revertedWithCustomError(o.book, "InvalidOrderBookParam")
          .withArgs(code);
      }
      await expect(o.book.setParams({ ...good, keeperFee: wad(1) })).to.emit(o.book, "OrderBookParamsSet");
    });
  });

  describe("gas", function () {
    it("reports commit, settle, place, execute and batch settle gas", async function () {
      const o = await networkHelpers.loadFixture(deployOrders);
      // A first round: the keeper, the traders' escrow and position slots are written once (first-use costs).
      const first = await commit(o, o.alice, wad(5));
      const firstSettle = await (await settle(o, o.keeper, first.id, first.createdAt, "2000")).wait();
      const firstPlace = await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1990));
      const firstExecute = await (await execute(o, firstPlace.id, "1990")).wait();
      // Steady state (what the targets are about): the same actions again on accounts that have used the book.
      const c = await commit(o, o.alice, wad(5));
      const s = await (await settle(o, o.keeper, c.id, c.createdAt, "2000")).wait();
      const p = await placeTrigger(o, o.alice, Kind.Limit, wad(1), wad(1990));
      const e = await (await execute(o, p.id, "1990")).wait();
      const one = await commit(o, o.bob, wad(1));
      await networkHelpers.time.setNextBlockTimestamp(one.createdAt + 2n);
      const b1 = await (
        await o.book.connect(o.keeper).settleOrders([one.id], [windowUpdate(one.createdAt, "1990")], { value: 1n })
      ).wait();
      const a3 = await commit(o, o.alice, wad(1));
      const b3 = await commit(o, o.bob, wad(1));
      const c3 = await commit(o, o.carol, wad(1));
      await networkHelpers.time.setNextBlockTimestamp(c3.createdAt + 2n);
      const b3r = await (
        await o.book
          .connect(o.keeper)
          .settleOrders([a3.id, b3.id, c3.id], [priceUpdate("1990", c3.createdAt + 2n, a3.createdAt + 1n)], { value: 3n })
      ).wait();
      const report = {
        firstCommit: first.receipt.gasUsed,
        firstSettle: firstSettle!.gasUsed,
        firstPlaceTrigger: firstPlace.receipt.gasUsed,
        firstExecuteTrigger: firstExecute!.gasUsed,
        commit: c.receipt.gasUsed,
        settle: s!.gasUsed,
        placeTrigger: p.receipt.gasUsed,
        executeTrigger: e!.gasUsed,
        batchSettle1: b1!.gasUsed,
        batchSettle3: b3r!.gasUsed,
        perExtraOrder: (b3r!.gasUsed - b1!.gasUsed) / 2n,
      };
      console.log("      gas", JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? Number(v) : v)));
      expect(report.settle > 0n).to.equal(true);
    });
  });
});
