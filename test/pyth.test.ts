import { expect } from "chai";
import { ZeroAddress, ZeroHash } from "ethers";

import {
  MockAggregator__factory,
  PythFeedCaller__factory,
  PythPriceFeed__factory,
  StrictMockPyth__factory,
} from "@perp/sdk/contracts";
import { encodeMockPriceUpdate } from "@perp/sdk/prices";
import { answer, wad } from "../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../scripts/lib/network.js";

const { time } = networkHelpers;

const ETH_ID = "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace";
const BTC_ID = "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";
const FEE = 1_000n; // wei per update element
const E8 = 10n ** 8n;
const U64_MAX = 2n ** 64n - 1n;

/** A Pyth price of `usd` dollars (8 decimals) published at `t`; conf 0.1 % unless given. */
function update(
  t: bigint,
  usd: bigint | number = 2000,
  opts: { conf?: bigint; expo?: number; id?: string; prev?: bigint; raw?: bigint } = {},
): string {
  const price = opts.raw ?? BigInt(usd) * E8;
  return encodeMockPriceUpdate({
    id: opts.id ?? ETH_ID,
    price: { price, conf: opts.conf ?? price / 1000n, expo: opts.expo ?? -8, publishTime: t },
    prevPublishTime: opts.prev,
  });
}

function config(pyth: string, overrides: Record<string, unknown> = {}) {
  return {
    pyth,
    priceId: ETH_ID,
    maxConfBps: 100,
    maxFutureSkew: 5,
    maxCacheAge: 60,
    referenceFeed: ZeroAddress,
    refMaxDevBps: 300,
    refHeartbeat: 3600,
    expo: -8,
    ...overrides,
  };
}

async function deployed() {
  const [owner, keeper] = await ethers.getSigners();
  const pyth = await new StrictMockPyth__factory(owner).deploy(FEE);
  const reference = await new MockAggregator__factory(owner).deploy(8, "ETH / USD", answer(2000));
  const pythAddress = await pyth.getAddress();
  const feed = await new PythPriceFeed__factory(owner).deploy(config(pythAddress), ZeroAddress);
  const banded = await new PythPriceFeed__factory(owner).deploy(
    config(pythAddress, { referenceFeed: await reference.getAddress() }),
    ZeroAddress,
  );
  const caller = await new PythFeedCaller__factory(owner).deploy(feed);
  const now = BigInt(await time.latest());
  return { owner, keeper, pyth, reference, feed, banded, caller, now };
}

/** Mines the next transaction at exactly `t`. */
async function at(t: bigint) {
  await time.setNextBlockTimestamp(t);
}

describe("StrictMockPyth", function () {
  it("charges the fee per update element and refuses less (InsufficientFee)", async function () {
    const { pyth, now } = await networkHelpers.loadFixture(deployed);
    const data = [update(now), update(now, 30000, { id: BTC_ID })];
    expect(await pyth.getUpdateFee([])).to.equal(0n);
    expect(await pyth.getUpdateFee(data)).to.equal(2n * FEE);
    await expect(pyth.parsePriceFeedUpdates(data, [ETH_ID], 0, U64_MAX, { value: 2n * FEE - 1n }))
      .to.be.revertedWithCustomError(pyth, "InsufficientFee");
    await expect(pyth.parsePriceFeedUpdatesUnique(data, [ETH_ID], 0, U64_MAX, { value: 2n * FEE - 1n }))
      .to.be.revertedWithCustomError(pyth, "InsufficientFee");
    await expect(pyth.updatePriceFeeds(data, { value: 2n * FEE - 1n })).to.be.revertedWithCustomError(pyth, "InsufficientFee");
  });

  it("parsePriceFeedUpdates returns the newest update in range per id and stores nothing", async function () {
    const { pyth, now } = await networkHelpers.loadFixture(deployed);
    const data = [update(now - 5n, 1990), update(now - 1n, 2010), update(now - 3n, 2000), update(now - 2n, 30000, { id: BTC_ID })];
    const value = 4n * FEE;
    const [eth, btc] = await pyth.parsePriceFeedUpdates.staticCall(data, [ETH_ID, BTC_ID], 0, U64_MAX, { value });
    expect(eth.id).to.equal(ETH_ID);
    expect(eth.price.price).to.equal(2010n * E8);
    expect(eth.price.publishTime).to.equal(now - 1n);
    expect(btc.price.price).to.equal(30000n * E8);
    // A range that excludes the newest picks the newest inside it.
    const [inRange] = await pyth.parsePriceFeedUpdates.staticCall(data, [ETH_ID], now - 5n, now - 2n, { value });
    expect(inRange.price.publishTime).to.equal(now - 3n);
    const tx = await pyth.parsePriceFeedUpdates(data, [ETH_ID, BTC_ID], 0, U64_MAX, { value });
    const receipt = await tx.wait();
    expect(receipt!.logs).to.have.length(0);
    expect(await pyth.priceFeedExists(ETH_ID)).to.equal(false);
    await expect(pyth.getPriceUnsafe(ETH_ID)).to.be.revertedWithCustomError(pyth, "PriceFeedNotFound");
    // Unique parses and the config form without the store flag store nothing either.
    await pyth.parsePriceFeedUpdatesUnique([update(now)], [ETH_ID], now, now, { value: FEE });
    await pyth.parsePriceFeedUpdatesWithConfig([update(now)], [ETH_ID], 0, U64_MAX, false, false, false, { value: FEE });
    expect(await pyth.priceFeedExists(ETH_ID)).to.equal(false);
  });

  it("refuses an absent id or one only outside the range with PriceFeedNotFoundWithinRange", async function () {
    const { pyth, now } = await networkHelpers.loadFixture(deployed);
    const data = [update(now)];
    await expect(pyth.parsePriceFeedUpdates(data, [BTC_ID], 0, U64_MAX, { value: FEE }))
      .to.be.revertedWithCustomError(pyth, "PriceFeedNotFoundWithinRange");
    await expect(pyth.parsePriceFeedUpdates(data, [ETH_ID], now + 1n, U64_MAX, { value: FEE }))
      .to.be.revertedWithCustomError(pyth, "PriceFeedNotFoundWithinRange");
    await expect(pyth.parsePriceFeedUpdates(data, [ETH_ID], 0, now - 1n, { value: FEE }))
      .to.be.revertedWithCustomError(pyth, "PriceFeedNotFoundWithinRange");
    await expect(pyth.parsePriceFeedUpdates([], [ETH_ID], 0, U64_MAX)).to.be.revertedWithCustomError(pyth, "PriceFeedNotFoundWithinRange");
    await expect(pyth.parsePriceFeedUpdates(["0x1234"], [ETH_ID], 0, U64_MAX, { value: FEE }))
      .to.be.revertedWithCustomError(pyth, "InvalidUpdateData");
    await expect(pyth.parsePriceFeedUpdates([update(now, 2000, { id: ZeroHash })], [ETH_ID], 0, U64_MAX, { value: FEE }))
      .to.be.revertedWithCustomError(pyth, "InvalidUpdateData");
  });

  it("parsePriceFeedUpdatesUnique accepts only prevPublishTime < min <= publishTime <= max", async function () {
    const { pyth, now } = await networkHelpers.loadFixture(deployed);
    const min = now;
    const max = now + 10n;
    const parse = (u: string) => pyth.parsePriceFeedUpdatesUnique.staticCall([u], [ETH_ID], min, max, { value: FEE });
    // publishTime = min, prev = min - 1: the first update at or after min.
    expect((await parse(update(min, 2000, { prev: min - 1n })))[0].price.publishTime).to.equal(min);
    // publishTime = max, prev = min - 1 (nothing published in between): still the first.
    expect((await parse(update(max, 2000, { prev: min - 1n })))[0].price.publishTime).to.equal(max);
    for (const refused of [
      update(min + 3n, 2000, { prev: min }), // prev == min: an earlier update at min exists
      update(min + 3n, 2000, { prev: min + 2n }), // a later, duplicate-window update
      update(min - 1n, 2000, { prev: min - 2n }), // published before min
      update(max + 1n, 2000, { prev: min - 1n }), // published after max
    ]) {
      await expect(parse(refused)).to.be.revertedWithCustomError(pyth, "PriceFeedNotFoundWithinRange");
    }
    // Among several, the unique one is returned wherever it is listed.
    const [picked] = await pyth.parsePriceFeedUpdatesUnique.staticCall(
      [update(min + 3n, 2100, { prev: min + 1n }), update(min + 1n, 2050, { prev: min - 1n })],
      [ETH_ID],
      min,
      max,
      { value: 2n * FEE },
    );
    expect(picked.price.price).to.equal(2050n * E8);
    // The SDK's MockPyth would accept a non-first update here; the general form with checkUniqueness refuses it.
    await expect(
      pyth.parsePriceFeedUpdatesWithConfig.staticCall([update(min + 3n, 2000, { prev: min + 2n })], [ETH_ID], min, max, true, false, false, { value: FEE }),
    ).to.be.revertedWithCustomError(pyth, "PriceFeedNotFoundWithinRange");
    const [, slots] = await pyth.parsePriceFeedUpdatesWithConfig.staticCall([update(min + 3n, 2000, { prev: min + 2n })], [ETH_ID], min, max, false, true, false, { value: FEE });
    expect(slots).to.deep.equal([min + 3n]);
    await expect(
      pyth.parsePriceFeedUpdatesWithConfig.staticCall([update(min), update(min + 1n)], [ETH_ID], min, max, false, true, false, { value: 2n * FEE }),
    ).to.be.revertedWithCustomError(pyth, "InvalidArgument");
  });

  it("updatePriceFeeds stores only newer prices; getters behave like Pyth's", async function () {
    const { pyth, now } = await networkHelpers.loadFixture(deployed);
    await expect(pyth.updatePriceFeeds([update(now - 10n, 1900)], { value: FEE }))
      .to.emit(pyth, "PriceFeedUpdate")
      .withArgs(ETH_ID, now - 10n, 1900n * E8, 1900n * E8 / 1000n);
    await expect(pyth.updatePriceFeeds([update(now - 20n, 1800)], { value: FEE })).to.not.emit(pyth, "PriceFeedUpdate");
    const stored = await pyth.getPriceUnsafe(ETH_ID);
    expect(stored.price).to.equal(1900n * E8);
    expect(stored.publishTime).to.equal(now - 10n);
    expect((await pyth.getEmaPriceUnsafe(ETH_ID)).price).to.equal(1900n * E8);
    const t = BigInt(await time.latest());
    expect((await pyth.getPriceNoOlderThan(ETH_ID, t - (now - 10n))).price).to.equal(1900n * E8);
    await expect(pyth.getPriceNoOlderThan(ETH_ID, t - (now - 10n) - 1n)).to.be.revertedWithCustomError(pyth, "StalePrice");
    await expect(pyth.getEmaPriceNoOlderThan(ETH_ID, 0)).to.be.revertedWithCustomError(pyth, "StalePrice");
    await expect(pyth.getPriceUnsafe(BTC_ID)).to.be.revertedWithCustomError(pyth, "PriceFeedNotFound");
    await expect(pyth.updatePriceFeedsIfNecessary([update(now)], [ETH_ID], [now - 10n], { value: FEE }))
      .to.be.revertedWithCustomError(pyth, "NoFreshUpdate");
    await expect(pyth.updatePriceFeedsIfNecessary([update(now)], [ETH_ID], [now - 9n], { value: FEE })).to.emit(pyth, "PriceFeedUpdate");
    await expect(pyth.updatePriceFeedsIfNecessary([update(now)], [ETH_ID], [], { value: FEE })).to.be.revertedWithCustomError(pyth, "InvalidArgument");
    // The config form stores when asked to.
    await pyth.parsePriceFeedUpdatesWithConfig([update(now + 1n, 2222)], [ETH_ID], 0, U64_MAX, false, false, true, { value: FEE });
    expect((await pyth.getPriceUnsafe(ETH_ID)).price).to.equal(2222n * E8);
    await expect(pyth.parseTwapPriceFeedUpdates([], [ETH_ID]))
      .to.be.revertedWithCustomError(pyth, "StrictMockPythUnsupported")
      .withArgs("parseTwapPriceFeedUpdates");
    expect(await pyth.getTwapUpdateFee([update(now)])).to.equal(FEE);
  });

  it("createPriceFeedUpdateData encodes like the SDK's encodeMockPriceUpdate", async function () {
    const { pyth, now } = await networkHelpers.loadFixture(deployed);
    const onChain = await pyth.createPriceFeedUpdateData(ETH_ID, 2000n * E8, 2n * E8, -8, 2000n * E8, 2n * E8, now, now - 4n);
    expect(onChain).to.equal(update(now, 2000, { conf: 2n * E8, prev: now - 4n }));
  });
});

describe("PythPriceFeed", function () {
  it("validates its configuration (InvalidPythConfig with the field) and reports it back", async function () {
    const { owner, pyth, reference, feed } = await networkHelpers.loadFixture(deployed);
    const factory = new PythPriceFeed__factory(owner);
    const p = await pyth.getAddress();
    const ref = await reference.getAddress();
    const decimals19 = await new MockAggregator__factory(owner).deploy(19, "X", 1);
    const cases: [Record<string, unknown>, string][] = [
      [{ pyth: owner.address }, "pyth"],
      [{ priceId: ZeroHash }, "priceId"],
      [{ maxConfBps: 0 }, "maxConfBps"],
      [{ maxConfBps: 10_001 }, "maxConfBps"],
      [{ maxFutureSkew: 61 }, "maxFutureSkew"],
      [{ maxCacheAge: 0 }, "maxCacheAge"],
      [{ maxCacheAge: 86_401 }, "maxCacheAge"],
      [{ expo: 1 }, "expo"],
      [{ expo: -19 }, "expo"],
      [{ referenceFeed: owner.address }, "referenceFeed"],
      [{ referenceFeed: ref, refMaxDevBps: 0 }, "refMaxDevBps"],
      [{ referenceFeed: ref, refMaxDevBps: 10_001 }, "refMaxDevBps"],
      [{ referenceFeed: ref, refHeartbeat: 0 }, "refHeartbeat"],
      [{ referenceFeed: await decimals19.getAddress() }, "refDecimals"],
    ];
    for (const [overrides, code] of cases) {
      await expect(factory.deploy(config(p, overrides), ZeroAddress)).to.be.revertedWithCustomError(feed, "InvalidPythConfig").withArgs(code);
    }
    // The bounds themselves are accepted.
    await factory.deploy(config(p, { maxConfBps: 10_000, maxFutureSkew: 60, maxCacheAge: 86_400, expo: -18 }), ZeroAddress);
    const c = await feed.config();
    expect([c.pyth, c.priceId, c.maxConfBps, c.maxFutureSkew, c.maxCacheAge, c.referenceFeed, c.refMaxDevBps, c.refHeartbeat, c.expo])
      .to.deep.equal([p, ETH_ID, 100n, 5n, 60n, ZeroAddress, 300n, 3600n, -8n]);
    expect(await feed.priceId()).to.equal(ETH_ID);
    expect(await feed.pyth()).to.equal(p);
  });

  it("priceUnit is 10^(18 + expo)", async function () {
    const { owner, pyth, feed } = await networkHelpers.loadFixture(deployed);
    expect(await feed.priceUnit()).to.equal(10n ** 10n);
    const factory = new PythPriceFeed__factory(owner);
    const p = await pyth.getAddress();
    expect(await (await factory.deploy(config(p, { expo: -18 }), ZeroAddress)).priceUnit()).to.equal(1n);
    expect(await (await factory.deploy(config(p, { expo: 0 }), ZeroAddress)).priceUnit()).to.equal(wad(1));
  });

  it("has no price before the first update (NoCachedPrice), and fee 0 for empty data", async function () {
    const { feed } = await networkHelpers.loadFixture(deployed);
    expect(await feed.cachedPrice()).to.deep.equal([0n, 0n]);
    expect(await feed.priceTime()).to.equal(0n);
    for (const read of [() => feed.latestPrice(), () => feed.freshPrice(15), () => feed.lastReportedPrice(), () => feed.updatePrice.staticCall([])]) {
      await expect(read()).to.be.revertedWithCustomError(feed, "NoCachedPrice").withArgs(ETH_ID);
    }
    expect(await feed.getUpdateFee([])).to.equal(0n);
    expect(await feed.getUpdateFee([update(1n), update(2n)])).to.equal(2n * FEE);
  });

  it("updatePrice caches the WAD price, emits PriceCached, pays Pyth the fee and refunds the rest to the wei", async function () {
    const { keeper, pyth, feed, now } = await networkHelpers.loadFixture(deployed);
    const t = now + 10n;
    const data = [update(t - 1n, 0, { raw: 200_050_000_000n })];
    const extra = 123_456_789n;
    const before = await ethers.provider.getBalance(keeper.address);
    await at(t);
    const tx = await feed.connect(keeper).updatePrice(data, { value: FEE + extra });
    const receipt = (await tx.wait())!;
    await expect(tx).to.emit(feed, "PriceCached").withArgs(ETH_ID, wad("2000.5"), t - 1n);
    const after = await ethers.provider.getBalance(keeper.address);
    expect(before - after).to.equal(FEE + receipt.gasUsed * receipt.gasPrice);
    expect(await ethers.provider.getBalance(await pyth.getAddress())).to.equal(FEE);
    expect(await ethers.provider.getBalance(await feed.getAddress())).to.equal(0n);
    expect(await feed.cachedPrice()).to.deep.equal([wad("2000.5"), t - 1n]);
    expect(await feed.latestPrice()).to.equal(wad("2000.5"));
    expect(await feed.lastReportedPrice()).to.equal(wad("2000.5"));
    expect(await feed.priceTime()).to.equal(t - 1n);
    // The mock stored nothing: the adapter only parsed.
    expect(await pyth.priceFeedExists(ETH_ID)).to.equal(false);
    // Gas of one update of one feed through the strict mock (first write of the cache slot, then a rewrite).
    expect(receipt.gasUsed).to.be.lessThan(110_000n);
    const second = (await (await feed.connect(keeper).updatePrice([update(t + 1n)], { value: FEE })).wait())!;
    expect(second.gasUsed).to.be.lessThan(receipt.gasUsed);
  });

  it("returns what it caches (static call) and with empty data returns the cache, refunding all of msg.value", async function () {
    const { keeper, feed, now } = await networkHelpers.loadFixture(deployed);
    await feed.updatePrice([update(now)], { value: FEE });
    expect(await feed.updatePrice.staticCall([update(now + 1n, 2100)], { value: FEE })).to.deep.equal([wad(2100), now + 1n]);
    expect(await feed.updatePrice.staticCall([])).to.deep.equal([wad(2000), now]);
    const before = await ethers.provider.getBalance(keeper.address);
    const tx = await feed.connect(keeper).updatePrice([], { value: 777n });
    const receipt = (await tx.wait())!;
    await expect(tx).to.not.emit(feed, "PriceCached");
    expect(before - (await ethers.provider.getBalance(keeper.address))).to.equal(receipt.gasUsed * receipt.gasPrice);
  });

  it("refuses a fee too low (InsufficientPythFee), a wrong feed and undecodable data", async function () {
    const { feed, pyth, now } = await networkHelpers.loadFixture(deployed);
    await expect(feed.updatePrice([update(now), update(now, 30000, { id: BTC_ID })], { value: 2n * FEE - 1n }))
      .to.be.revertedWithCustomError(feed, "InsufficientPythFee")
      .withArgs(2n * FEE, 2n * FEE - 1n);
    await expect(feed.verifyAt([update(now)], now, now, { value: 0 }))
      .to.be.revertedWithCustomError(feed, "InsufficientPythFee")
      .withArgs(FEE, 0n);
    await expect(feed.updatePrice([update(now, 30000, { id: BTC_ID })], { value: FEE }))
      .to.be.revertedWithCustomError(feed, "PythPriceNotFound")
      .withArgs(ETH_ID);
    await expect(feed.verifyAt([update(now, 30000, { id: BTC_ID, prev: now - 1n })], now, now, { value: FEE }))
      .to.be.revertedWithCustomError(feed, "PythPriceNotFound")
      .withArgs(ETH_ID);
    // Pyth's own data errors propagate unchanged.
    await expect(feed.updatePrice(["0xdeadbeef"], { value: FEE })).to.be.revertedWithCustomError(pyth, "InvalidUpdateData");
  });

  it("keeps the cache monotonic: older refused, same second keeps the first price, newer raises", async function () {
    const { feed, now } = await networkHelpers.loadFixture(deployed);
    await feed.updatePrice([update(now, 2000)], { value: FEE });
    await expect(feed.updatePrice([update(now - 1n, 1990)], { value: FEE }))
      .to.be.revertedWithCustomError(feed, "PythPriceOlderThanCache")
      .withArgs(ETH_ID, now - 1n, now);
    // Same publish time, other price: accepted but the cached price of that second stays.
    expect(await feed.updatePrice.staticCall([update(now, 2001)], { value: FEE })).to.deep.equal([wad(2000), now]);
    await expect(feed.updatePrice([update(now, 2001)], { value: FEE })).to.not.emit(feed, "PriceCached");
    expect(await feed.cachedPrice()).to.deep.equal([wad(2000), now]);
    // Of several updates the newest is used.
    await expect(feed.updatePrice([update(now + 1n, 2010), update(now + 2n, 2020), update(now - 5n, 1950)], { value: 3n * FEE }))
      .to.emit(feed, "PriceCached")
      .withArgs(ETH_ID, wad(2020), now + 2n);
    expect(await feed.cachedPrice()).to.deep.equal([wad(2020), now + 2n]);
  });

  it("refuses a price published more than maxFutureSkew after the block", async function () {
    const { feed, now } = await networkHelpers.loadFixture(deployed);
    const t = now + 100n;
    await at(t);
    await expect(feed.updatePrice([update(t + 6n)], { value: FEE }))
      .to.be.revertedWithCustomError(feed, "PythPriceInFuture")
      .withArgs(ETH_ID, t + 6n, t, 5);
    await at(t + 1n);
    await expect(feed.updatePrice([update(t + 6n)], { value: FEE })).to.emit(feed, "PriceCached").withArgs(ETH_ID, wad(2000), t + 6n);
    // A cache ahead of the block is fresh (age 0), not an underflow.
    expect(await feed.freshPrice(0)).to.equal(wad(2000));
  });

  it("refuses a non-positive price and any exponent but the configured one", async function () {
    const { feed, now } = await networkHelpers.loadFixture(deployed);
    for (const raw of [0n, -1n, -(2000n * E8)]) {
      await expect(feed.updatePrice([update(now, 0, { raw, conf: 0n })], { value: FEE }))
        .to.be.revertedWithCustomError(feed, "NonPositivePythPrice")
        .withArgs(ETH_ID, raw);
    }
    for (const expo of [-6, -9, 0]) {
      await expect(feed.updatePrice([update(now, 2000, { expo })], { value: FEE }))
        .to.be.revertedWithCustomError(feed, "PythExponentUnsupported")
        .withArgs(ETH_ID, expo);
    }
  });

  it("accepts a confidence interval up to maxConfBps of the price and not one unit more", async function () {
    const { feed, now } = await networkHelpers.loadFixture(deployed);
    const price = 2000n * E8;
    const limit = (price * 100n) / 10_000n;
    await expect(feed.updatePrice([update(now, 2000, { conf: limit + 1n })], { value: FEE }))
      .to.be.revertedWithCustomError(feed, "PythConfidenceTooWide")
      .withArgs(ETH_ID, (limit + 1n) * 10n ** 10n, wad(2000), 100);
    await expect(feed.updatePrice([update(now, 2000, { conf: limit })], { value: FEE })).to.emit(feed, "PriceCached");
    await expect(feed.updatePrice([update(now + 1n, 2000, { conf: 0n })], { value: FEE })).to.emit(feed, "PriceCached");
  });

  it("bands prices by the Chainlink reference (3 %), and ignores a stale, future or non-positive reference", async function () {
    const { banded, reference, now } = await networkHelpers.loadFixture(deployed);
    let t = now + 10n;
    // Every transaction at an explicit time, one second apart.
    const tick = async () => {
      t += 1n;
      await at(t);
    };
    const send = async (raw: bigint) => {
      await tick();
      return banded.updatePrice([update(t, 0, { raw })], { value: FEE });
    };
    // 2000 * 1.03 = 2060 and 2000 * 0.97 = 1940 are inside; one Pyth unit beyond is out.
    await expect(send(2060n * E8)).to.emit(banded, "PriceCached");
    await expect(send(1940n * E8)).to.emit(banded, "PriceCached");
    await expect(send(2060n * E8 + 1n))
      .to.be.revertedWithCustomError(banded, "PythPriceOutOfBand")
      .withArgs(ETH_ID, wad(2060) + 10n ** 10n, wad(2000), 300);
    await expect(send(1940n * E8 - 1n))
      .to.be.revertedWithCustomError(banded, "PythPriceOutOfBand")
      .withArgs(ETH_ID, wad(1940) - 10n ** 10n, wad(2000), 300);
    // verifyAt applies the band too.
    await tick();
    await expect(banded.verifyAt([update(t, 2500, { prev: t - 1n })], t, t, { value: FEE }))
      .to.be.revertedWithCustomError(banded, "PythPriceOutOfBand")
      .withArgs(ETH_ID, wad(2500), wad(2000), 300);
    // Exactly at its heartbeat (3600 s) the reference still bands; one second older it no longer does.
    await tick();
    await reference.setRound(answer(2000), t + 1n - 3600n, t + 1n - 3600n);
    await expect(send(3000n * E8)).to.be.revertedWithCustomError(banded, "PythPriceOutOfBand");
    await tick();
    await reference.setRound(answer(2000), t - 3600n, t - 3600n);
    await expect(send(3000n * E8)).to.emit(banded, "PriceCached").withArgs(ETH_ID, wad(3000), t);
    // Dated in the future, zero or negative: skipped.
    await tick();
    await reference.setRound(answer(2000), t + 100n, t + 100n);
    await expect(send(3100n * E8)).to.emit(banded, "PriceCached");
    for (const bad of [0n, -1n]) {
      await tick();
      await reference.setAnswer(bad);
      await expect(send(3200n * E8 + bad)).to.emit(banded, "PriceCached");
    }
    // A fresh valid reference bands again.
    await tick();
    await reference.setAnswer(answer(2000));
    await expect(send(3300n * E8)).to.be.revertedWithCustomError(banded, "PythPriceOutOfBand");
  });

  it("latestPrice and freshPrice refuse a cache older than their bound; lastReportedPrice ignores age", async function () {
    const { feed, now } = await networkHelpers.loadFixture(deployed);
    const t = now + 5n;
    await at(t);
    await feed.updatePrice([update(t)], { value: FEE });
    await time.increaseTo(t + 15n);
    expect(await feed.freshPrice(15)).to.equal(wad(2000));
    await time.increaseTo(t + 16n);
    await expect(feed.freshPrice(15)).to.be.revertedWithCustomError(feed, "StalePythPrice").withArgs(ETH_ID, t, 15);
    await time.increaseTo(t + 60n);
    expect(await feed.latestPrice()).to.equal(wad(2000));
    await time.increaseTo(t + 61n);
    await expect(feed.latestPrice()).to.be.revertedWithCustomError(feed, "StalePythPrice").withArgs(ETH_ID, t, 60);
    expect(await feed.lastReportedPrice()).to.equal(wad(2000));
    expect(await feed.priceTime()).to.equal(t);
    expect(await feed.freshPrice(2n ** 256n - 1n)).to.equal(wad(2000));
    // Empty data applies maxCacheAge, as latestPrice does: a caller never gets a stale price by sending no data.
    await expect(feed.updatePrice.staticCall([])).to.be.revertedWithCustomError(feed, "StalePythPrice").withArgs(ETH_ID, t, 60);
  });

  describe("verifyAt", function () {
    it("accepts the unique first price at the window's edges and refuses min - 1 and max + 1", async function () {
      const { feed, now } = await networkHelpers.loadFixture(deployed);
      const min = now + 2n;
      const max = now + 30n;
      // The whole window is in the past, as when a keeper settles a market order.
      await time.increaseTo(max + 2n);
      await expect(feed.verifyAt([update(min - 1n, 2000, { prev: min - 2n })], min, max, { value: FEE }))
        .to.be.revertedWithCustomError(feed, "PythPriceNotFound")
        .withArgs(ETH_ID);
      await expect(feed.verifyAt([update(max + 1n, 2000, { prev: min - 1n })], min, max, { value: FEE }))
        .to.be.revertedWithCustomError(feed, "PythPriceOutsideWindow")
        .withArgs(ETH_ID, max + 1n, min, max);
      expect(await feed.verifyAt.staticCall([update(max, 2030, { prev: min - 1n })], min, max, { value: FEE })).to.deep.equal([wad(2030), max]);
      await expect(feed.verifyAt([update(min, 2010, { prev: min - 1n })], min, max, { value: FEE }))
        .to.emit(feed, "PriceCached")
        .withArgs(ETH_ID, wad(2010), min);
      expect(await feed.cachedPrice()).to.deep.equal([wad(2010), min]);
    });

    it("refuses a duplicate (not the first update of the window) and picks the unique one among several", async function () {
      const { feed, now } = await networkHelpers.loadFixture(deployed);
      const min = now;
      const max = now + 30n;
      await expect(feed.verifyAt([update(min + 3n, 2100, { prev: min + 1n })], min, max, { value: FEE }))
        .to.be.revertedWithCustomError(feed, "PythPriceNotFound")
        .withArgs(ETH_ID);
      await expect(feed.verifyAt([update(min, 2100, { prev: min })], min, max, { value: FEE }))
        .to.be.revertedWithCustomError(feed, "PythPriceNotFound")
        .withArgs(ETH_ID);
      const both = [update(min + 3n, 2100, { prev: min + 1n }), update(min + 1n, 2050, { prev: min - 1n })];
      expect(await feed.verifyAt.staticCall(both, min, max, { value: 2n * FEE })).to.deep.equal([wad(2050), min + 1n]);
    });

    it("never lowers the cache, raises it when newer, and applies the same checks", async function () {
      const { feed, now } = await networkHelpers.loadFixture(deployed);
      await time.increaseTo(now + 20n);
      await feed.updatePrice([update(now + 10n, 2100)], { value: FEE });
      // An older window (a market order committed earlier) still verifies, without touching the cache.
      const tx = feed.verifyAt([update(now, 2000, { prev: now - 1n })], now, now + 5n, { value: FEE });
      await expect(tx).to.not.emit(feed, "PriceCached");
      expect(await feed.verifyAt.staticCall([update(now, 2000, { prev: now - 1n })], now, now + 5n, { value: FEE })).to.deep.equal([wad(2000), now]);
      expect(await feed.cachedPrice()).to.deep.equal([wad(2100), now + 10n]);
      await expect(feed.verifyAt([update(now + 11n, 2110, { prev: now + 10n })], now + 11n, now + 40n, { value: FEE }))
        .to.emit(feed, "PriceCached")
        .withArgs(ETH_ID, wad(2110), now + 11n);
      // Same checks as updatePrice.
      const block = BigInt(await time.latest()) + 10n;
      await at(block);
      await expect(feed.verifyAt([update(block + 6n, 2000, { prev: block - 1n })], block, block + 60n, { value: FEE }))
        .to.be.revertedWithCustomError(feed, "PythPriceInFuture")
        .withArgs(ETH_ID, block + 6n, block, 5);
      await expect(feed.verifyAt([update(now + 12n, 2000, { prev: now + 11n, conf: 21n * E8 })], now + 12n, now + 40n, { value: FEE }))
        .to.be.revertedWithCustomError(feed, "PythConfidenceTooWide")
        .withArgs(ETH_ID, 21n * E8 * 10n ** 10n, wad(2000), 100);
      await expect(feed.verifyAt([update(now + 12n, 0, { prev: now + 11n, raw: 0n })], now + 12n, now + 40n, { value: FEE }))
        .to.be.revertedWithCustomError(feed, "NonPositivePythPrice")
        .withArgs(ETH_ID, 0);
      await expect(feed.verifyAt([update(now + 12n, 2000, { prev: now + 11n, expo: -10 })], now + 12n, now + 40n, { value: FEE }))
        .to.be.revertedWithCustomError(feed, "PythExponentUnsupported")
        .withArgs(ETH_ID, -10);
      await expect(feed.verifyAt([], now, now + 40n)).to.be.revertedWithCustomError(feed, "PythPriceNotFound").withArgs(ETH_ID);
    });

    it("refunds the excess of msg.value to the wei", async function () {
      const { keeper, feed, pyth, now } = await networkHelpers.loadFixture(deployed);
      const before = await ethers.provider.getBalance(keeper.address);
      const tx = await feed.connect(keeper).verifyAt([update(now, 2000, { prev: now - 1n })], now, now + 30n, { value: FEE + 1n });
      const receipt = (await tx.wait())!;
      expect(before - (await ethers.provider.getBalance(keeper.address))).to.equal(FEE + receipt.gasUsed * receipt.gasPrice);
      expect(await ethers.provider.getBalance(await pyth.getAddress())).to.equal(FEE);
      expect(await ethers.provider.getBalance(await feed.getAddress())).to.equal(0n);
      expect(await pyth.priceFeedExists(ETH_ID)).to.equal(false);
    });
  });

  it("reverts RefundFailed when the caller refuses its refund, and guards against reentry from the refund", async function () {
    const { feed, caller, now } = await networkHelpers.loadFixture(deployed);
    const callerAddress = await caller.getAddress();
    await caller.setMode(1); // Reject
    await expect(caller.callUpdate([update(now)], { value: FEE + 1n }))
      .to.be.revertedWithCustomError(feed, "RefundFailed")
      .withArgs(callerAddress, 1n);
    await expect(caller.callVerify([update(now, 2000, { prev: now - 1n })], now, now, { value: FEE + 5n }))
      .to.be.revertedWithCustomError(feed, "RefundFailed")
      .withArgs(callerAddress, 5n);
    // Exactly the fee: nothing to refund, so a refusing caller is fine.
    await caller.callUpdate([update(now)], { value: FEE });
    expect(await feed.cachedPrice()).to.deep.equal([wad(2000), now]);
    await caller.setMode(2); // Reenter
    await caller.callUpdate([update(now + 1n)], { value: FEE + 1n });
    expect(await caller.lastReentryRevert()).to.equal(feed.interface.getError("ReentrancyGuardReentrantCall")!.selector);
    expect(await feed.cachedPrice()).to.deep.equal([wad(2000), now + 1n]);
  });

  it("keys on its own priceId only: another feed's update in the same data is ignored", async function () {
    const { feed, now } = await networkHelpers.loadFixture(deployed);
    const data = [update(now, 30000, { id: BTC_ID }), update(now, 2000)];
    await expect(feed.updatePrice(data, { value: 2n * FEE })).to.emit(feed, "PriceCached").withArgs(ETH_ID, wad(2000), now);
  });
});
