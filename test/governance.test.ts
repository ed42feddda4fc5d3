import { expect } from "chai";

import { LiquidityVault__factory, PythPriceFeed__factory, StrictMockPyth__factory } from "@perp/sdk/contracts";
import { encodeMockPriceUpdate } from "@perp/sdk/prices";
import { BTC, deployEngine, deployFeed, deployProtocol, ETH, ethParams, PROTOCOL_PARAMS, usdc, wad } from "../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../scripts/lib/network.js";

describe("governance", function () {
  it("lists markets with validated parameters, owner only", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const feed = await deployFeed(p.owner, "SOL / USD", "150");
    await expect(p.engine.connect(p.alice).listMarket(feed.oracle, ethParams()))
      .to.be.revertedWithCustomError(p.engine, "OwnableUnauthorizedAccount")
      .withArgs(p.alice.address);
    await expect(p.engine.listMarket(feed.oracle, ethParams()))
      .to.emit(p.engine, "MarketListed")
      .withArgs(2, await feed.oracle.getAddress(), Object.values(ethParams()));
    expect(await p.engine.marketCount()).to.equal(3n);
  });

  const invalid: [string, Record<string, bigint>][] = [
    ["skewScale", { skewScale: 0n }],
    ["initialMarginRatio", { initialMarginRatio: wad("0.009") }], // 111x
    ["initialMarginRatio", { initialMarginRatio: wad("1.01") }],
    ["maintenanceMarginRatio", { maintenanceMarginRatio: wad("0.01") }], // = IMR
    ["maintenanceMarginRatio", { maintenanceMarginRatio: 0n }],
    ["liquidationPenalty", { keeperRewardRatio: wad("0.003"), insuranceShare: wad("0.003") }], // 0.6 % > MMR 0.5 %
    ["feeRate", { takerFeeRate: wad("0.0101") }],
    ["feeRate", { makerFeeRate: wad("0.02") }],
    ["fundingFactor", { fundingFactor: wad(11) }],
    ["maxFundingRatePerDay", { maxFundingRatePerDay: wad("1.01") }],
    ["openInterestCap", { maxLongOpenInterest: wad(100_001) }], // > K / 10
    ["openInterestCap", { maxShortOpenInterest: wad(100_001) }],
    ["minPositionNotional", { minPositionNotional: 0n }],
    ["maxPnlFactor", { maxPnlFactor: 0n }],
    ["maxPnlFactor", { maxPnlFactor: wad("1.5") }],
  ];
  for (const [code, override] of invalid) {
    it(`rejects ${code} out of bounds (${Object.keys(override).join(", ")})`, async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await expect(p.engine.listMarket(p.eth.oracle, ethParams(override)))
        .to.be.revertedWithCustomError(p.engine, "InvalidParameter")
        .withArgs(code);
      await expect(p.engine.setMarketParams(ETH, ethParams(override)))
        .to.be.revertedWithCustomError(p.engine, "InvalidParameter")
        .withArgs(code);
    });
  }

  it("lists a Pyth market whose only price is older than maxCacheAge (a slow chain's deployment), not one without a price", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const pyth = await new StrictMockPyth__factory(p.owner).deploy(1n);
    const id = "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace";
    const feed = await new PythPriceFeed__factory(p.owner).deploy({
      pyth: await pyth.getAddress(), priceId: id, maxConfBps: 100, maxFutureSkew: 5, maxCacheAge: 60,
      referenceFeed: ethers.ZeroAddress, refMaxDevBps: 300, refHeartbeat: 3600, expo: -8,
    }, ethers.ZeroAddress);
    await expect(p.engine.listMarket(feed, ethParams())).to.be.revertedWithCustomError(feed, "NoCachedPrice").withArgs(id);
    const t = BigInt(await networkHelpers.time.latest()) + 1n;
    await networkHelpers.time.setNextBlockTimestamp(t);
    await feed.updatePrice([encodeMockPriceUpdate({ id, price: { price: 2_000n * 10n ** 8n, conf: 10n ** 8n, expo: -8, publishTime: t } })], { value: 1n });
    // Ten minutes later (Ignition's five confirmations per step on a 12 s chain): the listing takes the cached price.
    await networkHelpers.time.increaseTo(t + 600n);
    await expect(feed.latestPrice()).to.be.revertedWithCustomError(feed, "StalePythPrice").withArgs(id, t, 60);
    const marketId = await p.engine.marketCount();
    await expect(p.engine.listMarket(feed, ethParams())).to.emit(p.engine, "MarketListed");
    const [, , , state] = await p.engine.getMarket(marketId);
    expect(state.lastPrice).to.equal(wad(2000));
    // Trading still needs a price within the feed's bound.
    await expect(p.engine.indexPrice(marketId)).to.be.revertedWithCustomError(feed, "StalePythPrice").withArgs(id, t, 60);
  });

  it("refuses a market whose feed does not answer a valid price", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const feed = await deployFeed(p.owner, "BAD / USD", "1");
    await feed.aggregator.setAnswer(0);
    await expect(p.engine.listMarket(feed.oracle, ethParams())).to.be.revertedWithCustomError(p.engine, "InvalidOraclePrice");
  });

  it("changes parameters after accruing funding under the old ones, never below the open interest", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1_000_000));
    await p.engine.connect(p.alice).trade(ETH, wad(2000), wad(1e9), 0, false);
    await networkHelpers.time.increase(600);
    const next = ethParams({ fundingFactor: wad(2) });
    await expect(p.engine.setMarketParams(ETH, next))
      .to.emit(p.engine, "FundingAccrued")
      .and.to.emit(p.engine, "MarketParamsUpdated");
    // The new factor governs from now on: 2000 / 1e6 * 2 = 0.4 % a day.
    expect((await p.engine.getMarket(ETH)).state.fundingRatePerDay).to.equal(wad("0.004"));
    // A skew scale that would put the 2,000 ETH of open interest above K / 10 is refused.
    await expect(
      p.engine.setMarketParams(
        ETH,
        ethParams({ skewScale: wad(19_999), maxLongOpenInterest: wad(1000), maxShortOpenInterest: wad(1000) }),
      ),
    )
      .to.be.revertedWithCustomError(p.engine, "InvalidParameter")
      .withArgs("skewScaleBelowOpenInterest");
  });

  it("replaces a price feed, accruing at the new feed's price", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const replacement = await deployFeed(p.owner, "ETH / USD v2", "2001");
    await p.eth.aggregator.setAnswer(0); // the old feed is dead
    await expect(p.engine.setPriceFeed(ETH, replacement.oracle))
      .to.emit(p.engine, "PriceFeedUpdated")
      .withArgs(ETH, await replacement.oracle.getAddress());
    expect(await p.engine.indexPrice(ETH)).to.equal(wad(2001));
    await expect(p.engine.connect(p.alice).setPriceFeed(ETH, replacement.oracle)).to.be.revertedWithCustomError(
      p.engine,
      "OwnableUnauthorizedAccount",
    );
  });

  it("protocol parameters within bounds", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const cases: [string, Record<string, bigint>][] = [
      ["insuranceFeeShare", { insuranceFeeShare: wad("0.51") }],
      ["vaultBackingRatio", { vaultBackingRatio: wad("0.009") }],
      ["vaultBackingRatio", { vaultBackingRatio: wad("1.01") }],
      ["keeperReward", { keeperRewardMin: 0n }],
      ["keeperReward", { keeperRewardMin: wad(600) }],
    ];
    for (const [code, override] of cases) {
      await expect(p.engine.setProtocolParams({ ...PROTOCOL_PARAMS, ...override }))
        .to.be.revertedWithCustomError(p.engine, "InvalidParameter")
        .withArgs(code);
    }
    const next = { ...PROTOCOL_PARAMS, keeperRewardMin: wad(5) };
    await expect(p.engine.setProtocolParams(next)).to.emit(p.engine, "ProtocolParamsSet");
    expect((await p.engine.protocolParams()).keeperRewardMin).to.equal(wad(5));
    await expect(p.engine.connect(p.alice).setProtocolParams(next)).to.be.revertedWithCustomError(
      p.engine,
      "OwnableUnauthorizedAccount",
    );
  });

  it("sets the vault once and the guardian at will; ownership moves in two steps", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await expect(p.engine.setVault(p.alice)).to.be.revertedWithCustomError(p.engine, "VaultAlreadySet");
    const fresh = await deployEngine(p.owner, await p.usdc.getAddress());
    await expect(fresh.setVault(ethers.ZeroAddress))
      .to.be.revertedWithCustomError(fresh, "InvalidParameter")
      .withArgs("vault");
    const vault = await new LiquidityVault__factory(p.owner).deploy(p.usdc, fresh, 0, "LP", "LP");
    await expect(fresh.setVault(vault)).to.emit(fresh, "VaultSet").withArgs(await vault.getAddress());
    await expect(p.engine.setGuardian(p.bob)).to.emit(p.engine, "GuardianSet").withArgs(p.bob.address);
    await p.engine.connect(p.bob).setReduceOnly(BTC, true);
    await p.engine.transferOwnership(p.carol);
    expect(await p.engine.owner()).to.equal(p.owner.address);
    await p.engine.connect(p.carol).acceptOwnership();
    expect(await p.engine.owner()).to.equal(p.carol.address);
    await p.engine.connect(p.carol).setReduceOnly(BTC, false);
  });

  it("the guardian's switch never blocks withdrawing free collateral, adding margin, or liquidation", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(2000));
    await p.engine.connect(p.bob).deposit(usdc(100_000));
    await p.engine.connect(p.bob).trade(ETH, wad(-5), 0, 0, false);
    await p.engine.connect(p.alice).trade(ETH, wad(5), wad(1e9), wad(1000), true);
    await p.engine.connect(p.guardian).setReduceOnly(ETH, true);
    await p.engine.connect(p.alice).addMargin(ETH, wad(100));
    await p.engine.connect(p.alice).withdraw(usdc(100), p.alice, []);
    await p.eth.aggregator.setAnswer((await p.engine.liquidationPrice(p.alice, ETH)) / 10n ** 10n);
    await p.engine.connect(p.keeper).liquidate(p.alice, ETH, []);
  });

  it("rejects unknown market ids in every market-scoped entry point", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const calls = [
      () => p.engine.setMarketParams(9, ethParams()),
      () => p.engine.setPriceFeed(9, p.eth.oracle),
      () => p.engine.setReduceOnly(9, true),
      () => p.engine.accrueFunding(9),
      () => p.engine.getMarket(9),
      () => p.engine.indexPrice(9),
      () => p.engine.quoteTrade(9, wad(1)),
      () => p.engine.positionHealth(p.alice, 9),
      () => p.engine.liquidationPrice(p.alice, 9),
      () => p.engine.pendingFunding(p.alice, 9),
      () => p.engine.autoDeleverage(p.alice, 9, []),
    ];
    for (const call of calls) {
      await expect(call()).to.be.revertedWithCustomError(p.engine, "UnknownMarket").withArgs(9);
    }
  });

  it("stops listing at 128 markets", async function () {
    this.timeout(120_000);
    const p = await networkHelpers.loadFixture(deployProtocol);
    for (let i = 2; i < 128; i++) await p.engine.listMarket(p.eth.oracle, ethParams());
    await expect(p.engine.listMarket(p.eth.oracle, ethParams()))
      .to.be.revertedWithCustomError(p.engine, "TooManyMarkets")
      .withArgs(128);
  });
});
