import { expect } from "chai";
import { ZeroAddress } from "ethers";

import { ChainlinkPriceFeed__factory, MockAggregator__factory } from "@perp/sdk/contracts";
import { answer, MAX_ANSWER, wad } from "../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../scripts/lib/network.js";

async function feeds() {
  const [owner] = await ethers.getSigners();
  const aggregator = await new MockAggregator__factory(owner).deploy(8, "ETH / USD", answer(2000));
  const sequencer = await new MockAggregator__factory(owner).deploy(0, "L2 Sequencer Uptime", 0);
  const oracle = await new ChainlinkPriceFeed__factory(owner).deploy(aggregator, 3600, 1000, MAX_ANSWER, ZeroAddress, 0);
  const l2Oracle = await new ChainlinkPriceFeed__factory(owner).deploy(aggregator, 3600, 0, MAX_ANSWER, sequencer, 3600);
  return { owner, aggregator, sequencer, oracle, l2Oracle };
}

describe("ChainlinkPriceFeed", function () {
  it("normalises the answer to WAD and exposes its unit", async function () {
    const { oracle } = await networkHelpers.loadFixture(feeds);
    expect(await oracle.latestPrice()).to.equal(wad(2000));
    expect(await oracle.priceUnit()).to.equal(10n ** 10n);
  });

  it("handles 18-decimal and 0-decimal feeds, rejects more than 18", async function () {
    const { owner } = await networkHelpers.loadFixture(feeds);
    const f18 = await new MockAggregator__factory(owner).deploy(18, "X", wad(3));
    const o18 = await new ChainlinkPriceFeed__factory(owner).deploy(f18, 60, 0, 10n ** 30n, ZeroAddress, 0);
    expect(await o18.latestPrice()).to.equal(wad(3));
    expect(await o18.priceUnit()).to.equal(1n);
    const f0 = await new MockAggregator__factory(owner).deploy(0, "X", 7);
    const o0 = await new ChainlinkPriceFeed__factory(owner).deploy(f0, 60, 0, 100, ZeroAddress, 0);
    expect(await o0.latestPrice()).to.equal(wad(7));
    const f19 = await new MockAggregator__factory(owner).deploy(19, "X", 1);
    await expect(new ChainlinkPriceFeed__factory(owner).deploy(f19, 60, 0, 100, ZeroAddress, 0))
      .to.be.revertedWithCustomError(o0, "UnsupportedFeedDecimals")
      .withArgs(19);
  });

  it("rejects a zero heartbeat and an empty band", async function () {
    const { owner, aggregator, oracle } = await networkHelpers.loadFixture(feeds);
    const factory = new ChainlinkPriceFeed__factory(owner);
    await expect(factory.deploy(aggregator, 0, 0, 100, ZeroAddress, 0)).to.be.revertedWithCustomError(oracle, "InvalidOracleConfig");
    await expect(factory.deploy(aggregator, 60, 5, 6, ZeroAddress, 0)).to.be.revertedWithCustomError(oracle, "InvalidOracleConfig");
    await expect(factory.deploy(aggregator, 60, -1, 6, ZeroAddress, 0)).to.be.revertedWithCustomError(oracle, "InvalidOracleConfig");
  });

  it("requires the answer strictly inside (minAnswer, maxAnswer) and positive", async function () {
    const { aggregator, oracle } = await networkHelpers.loadFixture(feeds);
    for (const bad of [1000n, 999n, 0n, -1n, MAX_ANSWER]) {
      await aggregator.setAnswer(bad);
      await expect(oracle.latestPrice())
        .to.be.revertedWithCustomError(oracle, "InvalidOraclePrice")
        .withArgs(await aggregator.getAddress(), bad);
      await expect(oracle.lastReportedPrice()).to.be.revertedWithCustomError(oracle, "InvalidOraclePrice");
    }
    await aggregator.setAnswer(1001n);
    expect(await oracle.latestPrice()).to.equal(1001n * 10n ** 10n);
    await aggregator.setAnswer(MAX_ANSWER - 1n);
    expect(await oracle.latestPrice()).to.equal((MAX_ANSWER - 1n) * 10n ** 10n);
  });

  it("rejects an answer older than the heartbeat or from the future; lastReportedPrice ignores age", async function () {
    const { aggregator, oracle } = await networkHelpers.loadFixture(feeds);
    const now = BigInt(await networkHelpers.time.latest());
    await aggregator.setRound(answer(1900), now - 3500n, now - 3500n);
    expect(await oracle.latestPrice()).to.equal(wad(1900));
    await networkHelpers.time.increase(200);
    await expect(oracle.latestPrice())
      .to.be.revertedWithCustomError(oracle, "StaleOraclePrice")
      .withArgs(await aggregator.getAddress(), now - 3500n, 3600);
    expect(await oracle.lastReportedPrice()).to.equal(wad(1900));
    await aggregator.setRound(answer(1900), now, now + 1000n);
    await expect(oracle.latestPrice()).to.be.revertedWithCustomError(oracle, "StaleOraclePrice");
  });

  it("on an L2: refuses prices while the sequencer is down and during the grace period after it restarts", async function () {
    const { sequencer, l2Oracle } = await networkHelpers.loadFixture(feeds);
    const now = BigInt(await networkHelpers.time.latest());
    // Uptime feed answered 0 (up) at deployment, startedAt = now: within the grace period.
    await expect(l2Oracle.latestPrice())
      .to.be.revertedWithCustomError(l2Oracle, "SequencerGracePeriodNotOver")
      .withArgs(anyStartedAt(now), 3600);
    await networkHelpers.time.increase(3601);
    await expect(l2Oracle.latestPrice()).to.be.revertedWithCustomError(l2Oracle, "StaleOraclePrice"); // ETH feed aged too
    await sequencer.setRound(1, now, now);
    await expect(l2Oracle.latestPrice())
      .to.be.revertedWithCustomError(l2Oracle, "SequencerDown")
      .withArgs(await sequencer.getAddress());
    const restart = BigInt(await networkHelpers.time.latest());
    await sequencer.setRound(0, restart, restart);
    await expect(l2Oracle.latestPrice()).to.be.revertedWithCustomError(l2Oracle, "SequencerGracePeriodNotOver");
    await sequencer.setRound(0, 0, restart);
    await expect(l2Oracle.latestPrice())
      .to.be.revertedWithCustomError(l2Oracle, "SequencerGracePeriodNotOver")
      .withArgs(0, 3600);
  });

  it("on an L2: prices flow once the grace period is over", async function () {
    const { aggregator, sequencer, l2Oracle } = await networkHelpers.loadFixture(feeds);
    const now = BigInt(await networkHelpers.time.latest());
    await sequencer.setRound(0, now - 7200n, now - 7200n);
    await aggregator.setAnswer(answer(2500));
    expect(await l2Oracle.latestPrice()).to.equal(wad(2500));
  });
});

/** The uptime feed's startedAt is its deployment time: any value at or before `now`. */
function anyStartedAt(now: bigint) {
  return (value: bigint) => value <= now && value > 0n;
}
