/**
 * SPEC v2 "Prices" and "Liquidation": the engine's priced paths take a `bytes[] priceUpdate`, pay every involved
 * feed its `getUpdateFee` out of `msg.value`, refund the rest exactly, and liquidate only on prices at most 15 s old.
 * A test-only pull feed (contracts/test/TestFeeFeed.sol) stands in for the Pyth adapter: a settable fee per update
 * entry, and a cache raised by `abi.encode(uint256 priceWad, uint64 publishTime)`.
 */
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";

import { PerpClient } from "@perp/sdk";
import { RejectingCaller__factory, TestFeeFeed__factory, type TestFeeFeed } from "@perp/sdk/contracts";
import { deployProtocol, ETH, ethParams, ORACLE_UNIT, usdc, wad, type Protocol } from "../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../scripts/lib/network.js";

const PULL_A = 2n;
const PULL_B = 3n;
const FEE_A = 1_000n;
const FEE_B = 700n;
const LIQUIDATION_MAX_AGE = 15n;

function update(priceWad: bigint, publishTime: bigint | number): string {
  return ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint64"], [priceWad, publishTime]);
}

async function now(): Promise<bigint> {
  return BigInt(await networkHelpers.time.latest());
}

/** The protocol plus two pull-feed markets at $2,000: PULL_A (fee 1,000 wei per entry) and PULL_B (700 wei). */
async function deployPriced() {
  const p = await deployProtocol();
  const feedA = await new TestFeeFeed__factory(p.owner).deploy(FEE_A, wad(2000));
  const feedB = await new TestFeeFeed__factory(p.owner).deploy(FEE_B, wad(2000));
  await p.engine.listMarket(feedA, ethParams());
  await p.engine.listMarket(feedB, ethParams());
  return { ...p, feedA, feedB };
}
type Priced = Awaited<ReturnType<typeof deployPriced>>;

/** Alice: an isolated 10x long of 2.5 on `market` with $500. */
async function aliceIsolated(p: Priced, market: bigint) {
  await p.engine.connect(p.alice).deposit(usdc(500));
  await p.engine.connect(p.alice).trade(market, wad("2.5"), wad(1e9), wad(500), true);
}

/** Carol: cross longs of 2.5 in PULL_A and PULL_B on $1,000 (about 10x). */
async function carolCross(p: Priced) {
  await p.engine.connect(p.carol).deposit(usdc(1_000));
  await p.engine.connect(p.carol).trade(PULL_A, wad("2.5"), wad(1e9), 0, false);
  await p.engine.connect(p.carol).trade(PULL_B, wad("2.5"), wad(1e9), 0, false);
}

/** Wei the sender paid in `tx` besides gas. */
async function paidBesidesGas(p: Protocol, tx: ContractTransactionResponse, before: bigint): Promise<bigint> {
  const receipt = await tx.wait();
  if (!receipt) throw new Error("no receipt");
  const after = await ethers.provider.getBalance(tx.from);
  return before - after - receipt.gasUsed * receipt.gasPrice;
}

async function refreshCache(feed: TestFeeFeed, priceWad: bigint) {
  await feed.setPrice(priceWad, (await now()) + 1n);
}

describe("priced engine paths (pull-oracle updates)", function () {
  describe("liquidate", function () {
    it("pays the feed exactly its getUpdateFee and refunds the rest to the wei", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await aliceIsolated(p, PULL_A);
      const data = [update(wad(1800), await now()), update(wad(1800), await now())];
      // Two entries: the feed asks 2 x 1,000 wei.
      expect(await p.feedA.getUpdateFee(data)).to.equal(2n * FEE_A);
      const before = await ethers.provider.getBalance(p.keeper);
      const tx = await p.engine.connect(p.keeper).liquidate(p.alice, PULL_A, data, { value: 2n * FEE_A + 12_345n });
      await expect(tx).to.emit(p.engine, "Liquidated");
      expect(await paidBesidesGas(p, tx, before)).to.equal(2n * FEE_A);
      expect(await ethers.provider.getBalance(p.feedA)).to.equal(2n * FEE_A);
      expect(await ethers.provider.getBalance(p.engine)).to.equal(0n);
      expect(await p.feedA.updates()).to.equal(1n);
      expect(await p.feedA.price()).to.equal(wad(1800));
      expect((await p.engine.getPosition(p.alice, PULL_A)).size).to.equal(0n);
    });

    it("a cross account pays every feed of its cross set, and too little reverts with the total needed", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await carolCross(p);
      const data = [update(wad(1700), await now())];
      await expect(p.engine.connect(p.keeper).liquidate(p.carol, PULL_A, data, { value: FEE_A + FEE_B - 1n }))
        .to.be.revertedWithCustomError(p.engine, "InsufficientUpdateFee")
        .withArgs(FEE_A + FEE_B, FEE_A + FEE_B - 1n);
      await expect(p.engine.connect(p.keeper).liquidate(p.carol, PULL_A, data))
        .to.be.revertedWithCustomError(p.engine, "InsufficientUpdateFee")
        .withArgs(FEE_A + FEE_B, 0n);
      const before = await ethers.provider.getBalance(p.keeper);
      const tx = await p.engine.connect(p.keeper).liquidate(p.carol, PULL_B, data, { value: FEE_A + FEE_B + 1n });
      await expect(tx).to.emit(p.engine, "Liquidated");
      expect(await paidBesidesGas(p, tx, before)).to.equal(FEE_A + FEE_B);
      expect(await ethers.provider.getBalance(p.feedA)).to.equal(FEE_A);
      expect(await ethers.provider.getBalance(p.feedB)).to.equal(FEE_B);
      expect(await ethers.provider.getBalance(p.engine)).to.equal(0n);
      expect((await p.engine.getAccount(p.carol)).crossMarkets).to.equal(0n);
    });

    it("empty data updates nothing, uses the cache and refunds all the value sent", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await aliceIsolated(p, PULL_A);
      await refreshCache(p.feedA, wad(1800));
      const before = await ethers.provider.getBalance(p.keeper);
      const tx = await p.engine.connect(p.keeper).liquidate(p.alice, PULL_A, [], { value: 5_000n });
      await expect(tx).to.emit(p.engine, "Liquidated");
      expect(await paidBesidesGas(p, tx, before)).to.equal(0n);
      expect(await p.feedA.updates()).to.equal(0n);
      expect(await ethers.provider.getBalance(p.engine)).to.equal(0n);
    });

    it("refuses a price older than 15 s, and liquidates once fresh data is passed", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await aliceIsolated(p, PULL_A);
      // Published 16 s before the next block: within the cache's bound for views, too old for a liquidation.
      const stale = (await now()) + 1n - LIQUIDATION_MAX_AGE - 1n;
      await p.feedA.setPrice(wad(1800), stale);
      expect((await p.engine.positionHealth(p.alice, PULL_A)).liquidatable).to.equal(true);
      await expect(p.engine.connect(p.keeper).liquidate(p.alice, PULL_A, []))
        .to.be.revertedWithCustomError(p.feedA, "StaleOraclePrice")
        .withArgs(await p.feedA.getAddress(), stale, LIQUIDATION_MAX_AGE);
      await expect(
        p.engine.connect(p.keeper).liquidate(p.alice, PULL_A, [update(wad(1800), await now())], { value: FEE_A }),
      ).to.emit(p.engine, "Liquidated");
    });

    it("a Chainlink market with empty data behaves as before, and value sent is refunded", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await aliceIsolated(p, ETH);
      await p.eth.aggregator.setAnswer(wad(1800) / ORACLE_UNIT);
      const before = await ethers.provider.getBalance(p.keeper);
      const tx = await p.engine.connect(p.keeper).liquidate(p.alice, ETH, [], { value: 777n });
      await expect(tx).to.emit(p.engine, "Liquidated");
      expect(await paidBesidesGas(p, tx, before)).to.equal(0n);
    });
  });

  describe("refunds", function () {
    it("a caller that cannot take the refund gets RefundFailed with the amount; exact value goes through", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await aliceIsolated(p, PULL_A);
      const caller = await new RejectingCaller__factory(p.keeper).deploy();
      const data = [update(wad(1800), await now())];
      await expect(caller.liquidate(p.engine, p.alice, PULL_A, data, { value: FEE_A + 1n }))
        .to.be.revertedWithCustomError(p.engine, "RefundFailed")
        .withArgs(await caller.getAddress(), 1n);
      await expect(caller.liquidate(p.engine, p.alice, PULL_A, data, { value: FEE_A })).to.emit(p.engine, "Liquidated");
    });
  });

  describe("autoDeleverage", function () {
    it("updates the market's feed, pays its fee, refunds the rest, and refuses a price older than 15 s", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await p.engine.setMarketParams(PULL_A, ethParams({ maxPnlFactor: wad("0.0001") }));
      await aliceIsolated(p, PULL_A);
      // Alice's profit at $2,200 (about $500) is far over 0.0001 x NAV (about $50).
      await p.feedA.setPrice(wad(2200), (await now()) - 30n);
      await expect(p.engine.autoDeleverage(p.alice, PULL_A, [])).to.be.revertedWithCustomError(p.feedA, "StaleOraclePrice");
      const data = [update(wad(2200), await now())];
      await expect(p.engine.connect(p.keeper).autoDeleverage(p.alice, PULL_A, data))
        .to.be.revertedWithCustomError(p.engine, "InsufficientUpdateFee")
        .withArgs(FEE_A, 0n);
      const before = await ethers.provider.getBalance(p.keeper);
      const tx = await p.engine.connect(p.keeper).autoDeleverage(p.alice, PULL_A, data, { value: FEE_A + 3n });
      await expect(tx).to.emit(p.engine, "AutoDeleveraged");
      expect(await paidBesidesGas(p, tx, before)).to.equal(FEE_A);
      expect((await p.engine.getPosition(p.alice, PULL_A)).size).to.equal(0n);
    });
  });

  describe("SDK", function () {
    it("sends the sum of the involved feeds' getUpdateFee as value, and none for empty data", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await carolCross(p);
      const keeper = await PerpClient.connect({ runner: p.keeper, deployment: p.deployment });
      const data = [update(wad(1700), await now())];
      const before = await ethers.provider.getBalance(p.keeper);
      const receipt = await keeper.liquidate(p.carol.address, Number(PULL_A), data);
      const tx = await ethers.provider.getTransaction(receipt.hash);
      expect(tx?.value).to.equal(FEE_A + FEE_B);
      const after = await ethers.provider.getBalance(p.keeper);
      expect(before - after - receipt.gasUsed * receipt.gasPrice).to.equal(FEE_A + FEE_B);
      await aliceIsolated(p, ETH);
      await p.eth.aggregator.setAnswer(wad(1800) / ORACLE_UNIT);
      const plain = await keeper.liquidateMany([{ trader: p.alice.address, marketId: Number(ETH) }]);
      expect((await ethers.provider.getTransaction(plain.hash))?.value).to.equal(0n);
      expect((await p.engine.getPosition(p.alice, ETH)).size).to.equal(0n);
    });
  });

  describe("liquidateMany", function () {
    it("skips an entry whose feed is stale and liquidates the rest", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await aliceIsolated(p, PULL_A);
      await p.engine.connect(p.bob).deposit(usdc(500));
      await p.engine.connect(p.bob).trade(ETH, wad("2.5"), wad(1e9), wad(500), true);
      await p.eth.aggregator.setAnswer(wad(1800) / ORACLE_UNIT);
      await p.feedA.setPrice(wad(1800), (await now()) - 30n);
      const traders = [p.alice.address, p.bob.address];
      const markets = [PULL_A, ETH];
      expect(await p.engine.connect(p.keeper).liquidateMany.staticCall(traders, markets, [])).to.equal(1n);
      const tx = await p.engine.connect(p.keeper).liquidateMany(traders, markets, []);
      await expect(tx).to.emit(p.engine, "Liquidated").withArgs(p.bob.address, ETH, p.keeper.address, anyValue, anyValue, anyValue, anyValue, anyValue);
      expect((await p.engine.getPosition(p.alice, PULL_A)).size).to.equal(wad("2.5"));
      expect((await p.engine.getPosition(p.bob, ETH)).size).to.equal(0n);
    });

    it("a feed that rejects its update keeps the batch going, its fee refunded; fresh data liquidates its entries", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await aliceIsolated(p, PULL_A);
      await carolCross(p);
      await p.feedA.setPrice(wad(1700), (await now()) - 30n);
      await p.feedB.setPrice(wad(1700), (await now()) - 30n);
      await p.feedB.setRejectUpdates(true);
      const data = [update(wad(1700), await now())];
      const traders = [p.alice.address, p.carol.address];
      const markets = [PULL_A, PULL_B];
      // Each feed of the batch once: A (Alice, Carol) and B (Carol).
      await expect(p.engine.connect(p.keeper).liquidateMany(traders, markets, data, { value: FEE_A }))
        .to.be.revertedWithCustomError(p.engine, "InsufficientUpdateFee")
        .withArgs(FEE_A + FEE_B, FEE_A);
      expect(await p.engine.connect(p.keeper).liquidateMany.staticCall(traders, markets, data, { value: FEE_A + FEE_B })).to.equal(1n);
      const before = await ethers.provider.getBalance(p.keeper);
      const tx = await p.engine.connect(p.keeper).liquidateMany(traders, markets, data, { value: FEE_A + FEE_B + 99n });
      // A accepted (Alice liquidated); B rejected: Carol's cross account (A and B) is skipped, B's fee comes back.
      expect(await paidBesidesGas(p, tx, before)).to.equal(FEE_A);
      expect((await p.engine.getPosition(p.alice, PULL_A)).size).to.equal(0n);
      expect((await p.engine.getAccount(p.carol)).crossMarkets).to.equal((1n << PULL_A) | (1n << PULL_B));
      expect(await ethers.provider.getBalance(p.engine)).to.equal(0n);
    });
  });

  describe("removeMargin and withdraw", function () {
    it("removeMargin updates its market's feed and refunds the rest", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await aliceIsolated(p, PULL_A);
      const data = [update(wad(2100), await now())];
      await expect(p.engine.connect(p.alice).removeMargin(PULL_A, wad(100), data, { value: FEE_A - 1n }))
        .to.be.revertedWithCustomError(p.engine, "InsufficientUpdateFee")
        .withArgs(FEE_A, FEE_A - 1n);
      const before = await ethers.provider.getBalance(p.alice);
      const tx = await p.engine.connect(p.alice).removeMargin(PULL_A, wad(100), data, { value: FEE_A + 5n });
      await expect(tx).to.emit(p.engine, "MarginRemoved");
      expect(await paidBesidesGas(p, tx, before)).to.equal(FEE_A);
      expect(await p.feedA.price()).to.equal(wad(2100));
    });

    it("withdraw pays the feeds of the cross set; without cross positions nothing is paid", async function () {
      const p = await networkHelpers.loadFixture(deployPriced);
      await carolCross(p);
      await p.engine.connect(p.carol).deposit(usdc(1_000));
      const data = [update(wad(2000), await now())];
      let before = await ethers.provider.getBalance(p.carol);
      let tx = await p.engine.connect(p.carol).withdraw(usdc(100), p.carol, data, { value: FEE_A + FEE_B + 1n });
      await expect(tx).to.emit(p.engine, "Withdrawn");
      expect(await paidBesidesGas(p, tx, before)).to.equal(FEE_A + FEE_B);
      await p.engine.connect(p.dave).deposit(usdc(100));
      before = await ethers.provider.getBalance(p.dave);
      tx = await p.engine.connect(p.dave).withdraw(usdc(100), p.dave, data, { value: 3_000n });
      expect(await paidBesidesGas(p, tx, before)).to.equal(0n);
      expect(await ethers.provider.getBalance(p.engine)).to.equal(0n);
    });
  });
});
