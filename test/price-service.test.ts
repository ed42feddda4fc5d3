/**
 * The local price service (scripts/price-service/) through the SDK's HermesPriceSource, the code path keepers use
 * against Hermes: exact prices and update data, `at(t)` = first point at or after t, Hermes-style 404s, and clear
 * errors for malformed requests. In process, on a free port; no chain needed.
 */
import { expect } from "chai";
import { ZeroAddress } from "ethers";

import {
  HermesPriceSource,
  PYTH_FEED_IDS,
  PriceSourceError,
  decodeMockPriceUpdate,
  normalizePriceId,
} from "@perp/sdk/prices";

import { parseFeeds, toFeedUnits } from "../scripts/price-service/main.js";
import { type PriceService, startPriceService } from "../scripts/price-service/service.js";
import { ethers, networkHelpers } from "../scripts/lib/network.js";

const ETH = PYTH_FEED_IDS["ETH/USD"];
const BTC = PYTH_FEED_IDS["BTC/USD"];
const UNKNOWN = `0x${"ab".repeat(32)}`;
const T0 = 1_800_000_000;

async function rejection(promise: Promise<unknown>): Promise<PriceSourceError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(PriceSourceError);
    return error as PriceSourceError;
  }
  throw new Error("expected a rejection");
}

async function get(service: PriceService, path: string, init?: RequestInit) {
  const response = await fetch(`${service.url}${path}`, init);
  return { status: response.status, body: await response.text() };
}

describe("price service + HermesPriceSource", function () {
  let service: PriceService;
  let source: HermesPriceSource;
  let clock: number;

  beforeEach(async function () {
    clock = T0 + 100;
    service = await startPriceService({
      port: 0,
      now: () => clock,
      feeds: [
        { id: ETH, expo: -8, conf: 150_000_000n, points: [{ publishTime: T0, price: 300_000_000_000n }] },
        { id: BTC, expo: -8 },
      ],
    });
    // No retries: the service answers at once, and a 404 must surface as one.
    source = new HermesPriceSource({ endpoint: service.url, httpRetries: 0 });
  });

  afterEach(async function () {
    await service.close();
  });

  it("latest: exact parsed price and the StrictMockPyth update data of the newest point", async function () {
    service.setPrice(ETH, 310_012_345_678n, T0 + 10);
    const bundle = await source.latest([ETH]);
    expect(bundle.prices).to.deep.equal({
      [ETH]: { price: 310_012_345_678n, conf: 150_000_000n, expo: -8, publishTime: T0 + 10, prevPublishTime: T0 },
    });
    expect(bundle.updateData).to.have.length(1);
    expect(bundle.updateData[0].startsWith("0x")).to.equal(true);
    const price = { price: 310_012_345_678n, conf: 150_000_000n, expo: -8, publishTime: BigInt(T0 + 10) };
    expect(decodeMockPriceUpdate(bundle.updateData[0])).to.deep.equal({
      id: ETH,
      price,
      emaPrice: price,
      prevPublishTime: BigInt(T0),
    });
  });

  it("the first point of a path has prevPublishTime 0; one blob per requested feed, in request order", async function () {
    service.setPrice(BTC, 6_000_000_000_000n, T0 + 5);
    const bundle = await source.latest([BTC, ETH]);
    expect(bundle.updateData.map((data) => decodeMockPriceUpdate(data).id)).to.deep.equal([BTC, ETH]);
    expect(decodeMockPriceUpdate(bundle.updateData[0]).prevPublishTime).to.equal(0n);
    expect(decodeMockPriceUpdate(bundle.updateData[1]).prevPublishTime).to.equal(0n);
    expect(bundle.prices[BTC]).to.deep.equal({
      price: 6_000_000_000_000n,
      conf: 0n,
      expo: -8,
      publishTime: T0 + 5,
      prevPublishTime: 0,
    });
  });

  it("at(t): the first point at or after t, its prevPublishTime the point before", async function () {
    service.setPrice(ETH, 301_000_000_000n, T0 + 10);
    service.setPrice(ETH, 302_000_000_000n, T0 + 20);
    const cases: Array<[number, bigint, number, number]> = [
      [T0 - 50, 300_000_000_000n, T0, 0],
      [T0, 300_000_000_000n, T0, 0],
      [T0 + 1, 301_000_000_000n, T0 + 10, T0],
      [T0 + 10, 301_000_000_000n, T0 + 10, T0],
      [T0 + 11, 302_000_000_000n, T0 + 20, T0 + 10],
      [T0 + 20, 302_000_000_000n, T0 + 20, T0 + 10],
    ];
    for (const [t, price, publishTime, prev] of cases) {
      const bundle = await source.at([ETH], t);
      expect(bundle.prices[ETH], `at(${t})`).to.deep.equal({
        price,
        conf: 150_000_000n,
        expo: -8,
        publishTime,
        prevPublishTime: prev,
      });
      const decoded = decodeMockPriceUpdate(bundle.updateData[0]);
      expect([decoded.price.price, decoded.price.publishTime, decoded.prevPublishTime]).to.deep.equal([
        price,
        BigInt(publishTime),
        BigInt(prev),
      ]);
    }
  });

  it("at(t) after the last point is a 404 until a point at or after t is published", async function () {
    const error = await rejection(source.at([ETH], T0 + 30));
    expect(error.status).to.equal(404);
    expect(error.body).to.equal(`No price update for ${ETH} published at or after ${T0 + 30}`);
    expect(error.message).to.equal(
      `${service.url}: update at or after ${T0 + 30} of ${ETH}: HTTP 404: No price update for ${ETH} published at or after ${T0 + 30}`,
    );
    service.setPrice(ETH, 305_000_000_000n, T0 + 31);
    expect((await source.at([ETH], T0 + 30)).prices[ETH].publishTime).to.equal(T0 + 31);
  });

  it("404 before a feed has any point, and for a feed the service does not know", async function () {
    const none = await rejection(source.latest([BTC]));
    expect([none.status, none.body]).to.deep.equal([404, `No price update yet for ${BTC}`]);
    const noneAt = await rejection(source.at([BTC], T0));
    expect([noneAt.status, noneAt.body]).to.deep.equal([404, `No price update for ${BTC} published at or after ${T0}`]);
    const unknown = await rejection(source.latest([ETH, UNKNOWN]));
    expect([unknown.status, unknown.body]).to.deep.equal([404, `Price ids not found: ${UNKNOWN}`]);
  });

  it("setPrice: default publish time max(now, last + 1); a path only moves forward; int64 prices", async function () {
    expect(service.setPrice(ETH, 1n)).to.deep.equal({ publishTime: T0 + 100, price: 1n });
    expect(service.setPrice(ETH, 2n)).to.deep.equal({ publishTime: T0 + 101, price: 2n });
    clock = T0 + 500;
    expect(service.setPrice(ETH, 3n)).to.deep.equal({ publishTime: T0 + 500, price: 3n });
    expect(() => service.setPrice(ETH, 4n, T0 + 500)).to.throw(
      `price service: feed ${ETH}: publish time ${T0 + 500} is not after the last point's (${T0 + 500}); a price path only moves forward`,
    );
    expect(() => service.setPrice(ETH, 2n ** 63n, T0 + 600)).to.throw(
      `price service: feed ${ETH}: price ${2n ** 63n} is not an int64`,
    );
    expect(() => service.setPrice(UNKNOWN, 1n)).to.throw(`price service: unknown feed ${UNKNOWN}`);
    expect(service.points(ETH).map((p) => p.price)).to.deep.equal([300_000_000_000n, 1n, 2n, 3n]);
  });

  it("POST /local/price appends a point for other processes", async function () {
    const posted = await get(service, "/local/price", {
      method: "POST",
      body: JSON.stringify({ id: ETH, price: "299900000000", publishTime: T0 + 7 }),
    });
    expect(posted).to.deep.equal({
      status: 200,
      body: JSON.stringify({ id: ETH, price: "299900000000", publishTime: T0 + 7 }),
    });
    expect((await source.latest([ETH])).prices[ETH].price).to.equal(299_900_000_000n);
    expect(await get(service, "/local/price", { method: "POST", body: "{" })).to.deep.equal({
      status: 400,
      body: 'Body is not JSON: expected {"id", "price", "publishTime"?}',
    });
    expect(
      await get(service, "/local/price", { method: "POST", body: JSON.stringify({ id: ETH, price: 1, publishTime: T0 }) }),
    ).to.deep.equal({
      status: 400,
      body: `price service: feed ${ETH}: publish time ${T0} is not after the last point's (${T0 + 7}); a price path only moves forward`,
    });
    expect(await get(service, "/local/price", { method: "POST", body: JSON.stringify({ id: UNKNOWN, price: 1 }) })).to.deep.equal({
      status: 404,
      body: `price service: unknown feed ${UNKNOWN}`,
    });
  });

  it("malformed HTTP requests get 400/404/405 with a plain reason", async function () {
    const id = ETH.slice(2);
    expect(await get(service, "/v2/updates/price/latest")).to.deep.equal({
      status: 400,
      body: "Missing query parameter ids[]: give at least one price feed id",
    });
    expect(await get(service, "/v2/updates/price/latest?ids[]=0x1234")).to.deep.equal({
      status: 400,
      body: 'Invalid price feed id "0x1234": expected 32 bytes of hex (64 digits, 0x optional)',
    });
    expect(await get(service, `/v2/updates/price/soon?ids[]=${id}`)).to.deep.equal({
      status: 400,
      body: 'Invalid publish_time "soon": expected Unix seconds (a non-negative integer)',
    });
    expect(await get(service, `/v2/updates/price/-5?ids[]=${id}`)).to.deep.equal({
      status: 400,
      body: 'Invalid publish_time "-5": expected Unix seconds (a non-negative integer)',
    });
    expect(await get(service, `/v2/updates/price/latest?ids[]=${id}&encoding=utf8`)).to.deep.equal({
      status: 400,
      body: 'Invalid encoding "utf8": expected hex or base64',
    });
    expect(await get(service, `/v2/updates/price/latest?ids[]=${id}&parsed=yes`)).to.deep.equal({
      status: 400,
      body: 'Invalid parsed "yes": expected true or false',
    });
    expect(await get(service, `/v2/updates/price/latest?ids[]=${id}`, { method: "POST" })).to.deep.equal({
      status: 405,
      body: "Method POST not allowed: use GET",
    });
    expect((await get(service, "/v2/price_feeds")).status).to.equal(404);
  });

  it("raw Hermes JSON shape: hex without 0x, ids without 0x, string prices; base64 and parsed=false", async function () {
    const id = ETH.slice(2);
    const raw = JSON.parse((await get(service, `/v2/updates/price/latest?ids[]=${id}`)).body);
    const data = raw.binary.data[0] as string;
    expect(raw.binary.encoding).to.equal("hex");
    expect(/^[0-9a-f]+$/.test(data)).to.equal(true);
    const rpcPrice = { price: "300000000000", conf: "150000000", expo: -8, publish_time: T0 };
    expect(raw.parsed).to.deep.equal([
      { id, price: rpcPrice, ema_price: rpcPrice, metadata: { slot: 0, proof_available_time: T0, prev_publish_time: 0 } },
    ]);
    const b64 = JSON.parse((await get(service, `/v2/updates/price/${T0}?ids[]=${id}&encoding=base64&parsed=false`)).body);
    expect(b64).to.deep.equal({ binary: { encoding: "base64", data: [Buffer.from(data, "hex").toString("base64")] } });
  });

  it("HermesPriceSource refuses bad arguments before any request, and reports a dead endpoint", async function () {
    expect(() => normalizePriceId("0x12")).to.throw(
      'invalid price feed id "0x12": expected 32 bytes of hex (64 digits, 0x optional)',
    );
    expect((await rejection(source.latest([]))).message).to.equal("no price feed ids given");
    expect((await rejection(source.latest([ETH, ETH.toUpperCase().replace("0X", "0x")]))).message).to.equal(
      `duplicate price feed id in ${ETH}, ${ETH}`,
    );
    expect((await rejection(source.at([ETH], 1.5))).message).to.equal(
      "invalid publish time 1.5: expected Unix seconds (a non-negative integer)",
    );
    const url = service.url;
    await service.close();
    const dead = await rejection(source.latest([ETH]));
    expect(dead.status).to.equal(undefined);
    expect(dead.message.startsWith(`${url}: latest update of ${ETH}: `)).to.equal(true);
    service = await startPriceService({ feeds: [] }); // for afterEach
  });

  it("accepts ids without 0x and in upper case (bundle keys normalized)", async function () {
    const bundle = await source.latest([ETH.slice(2).toUpperCase()]);
    expect(Object.keys(bundle.prices)).to.deep.equal([ETH]);
  });

  it("sends the API key as a bearer token and extra headers", async function () {
    const seen: Array<string | null> = [];
    const original = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      seen.push(headers.get("authorization"), headers.get("x-extra"));
      return original(input, init);
    };
    try {
      const keyed = new HermesPriceSource({
        endpoint: service.url,
        apiKey: "test-key",
        headers: { "x-extra": "1" },
        httpRetries: 0,
      });
      await keyed.latest([ETH]);
    } finally {
      globalThis.fetch = original;
    }
    expect(seen).to.deep.equal(["Bearer test-key", "1"]);
  });

  it("CLI arguments: feed names and ids, USD prices to feed units", function () {
    expect(parseFeeds("ETH/USD=3000,0xE62DF6C8B4A85FE1A67DB44DC12DE5DB330F7AC66B72DC658AFEDF0F4A415B43=60000.5")).to.deep.equal([
      { id: ETH, usd: "3000" },
      { id: BTC, usd: "60000.5" },
    ]);
    expect(() => parseFeeds("DOGE=1")).to.throw('"DOGE" is neither a feed id (32 bytes of hex) nor a known name (ETH/USD, BTC/USD)');
    expect(() => parseFeeds("ETH/USD")).to.throw('"ETH/USD": expected <feed id or name>=<USD price>');
    expect(toFeedUnits("3000.12345678", -8)).to.equal(300_012_345_678n);
    expect(() => toFeedUnits("1.123456789", -8)).to.throw('"1.123456789" has more decimals than expo -8 allows');
    expect(() => toFeedUnits("abc", -8)).to.throw('"abc" is not a decimal number');
  });
});

describe("price service updates on chain (StrictMockPyth + PythPriceFeed)", function () {
  async function deployOracle() {
    const pyth = await ethers.deployContract("StrictMockPyth", [1]);
    const feed = await ethers.deployContract("PythPriceFeed", [
      {
        pyth: await pyth.getAddress(),
        priceId: ETH,
        maxConfBps: 100,
        maxFutureSkew: 5,
        maxCacheAge: 60,
        referenceFeed: ZeroAddress,
        refMaxDevBps: 0,
        refHeartbeat: 0,
        expo: -8,
      },
      ZeroAddress,
    ]);
    return { pyth, feed };
  }

  it("a served at(t) update verifies on chain as the unique first price at or after t; the next one does not", async function () {
    const { pyth, feed } = await networkHelpers.loadFixture(deployOracle);
    const t0 = await networkHelpers.time.latest();
    const service = await startPriceService({
      feeds: [{ id: ETH, expo: -8, conf: 100_000_000n, points: [{ publishTime: t0, price: 300_012_345_678n }] }],
    });
    try {
      service.setPrice(ETH, 301_000_000_000n, t0 + 10);
      const source = new HermesPriceSource({ endpoint: service.url, httpRetries: 0 });

      // at(t0 + 1) is the second point (prev = t0): unique for the window starting at t0 + 1.
      const second = await source.at([ETH], t0 + 1);
      const [parsed] = await pyth.parsePriceFeedUpdatesUnique.staticCall(second.updateData, [ETH], t0 + 1, t0 + 30, {
        value: 1,
      });
      expect([parsed.id, parsed.price.price, parsed.price.publishTime]).to.deep.equal([ETH, 301_000_000_000n, BigInt(t0 + 10)]);
      // For a window starting at t0 it is not the first price: the point at t0 is.
      await expect(
        pyth.parsePriceFeedUpdatesUnique.staticCall(second.updateData, [ETH], t0, t0 + 30, { value: 1 }),
      ).to.be.revertedWithCustomError(pyth, "PriceFeedNotFoundWithinRange");
      await expect(feed.verifyAt(second.updateData, t0, t0 + 30, { value: 1 }))
        .to.be.revertedWithCustomError(feed, "PythPriceNotFound")
        .withArgs(ETH);

      const first = await source.at([ETH], t0);
      await networkHelpers.time.increaseTo(t0 + 10);
      await expect(feed.verifyAt(first.updateData, t0, t0 + 30, { value: 1 }))
        .to.emit(feed, "PriceCached")
        .withArgs(ETH, 300_012_345_678n * 10n ** 10n, t0);
      await expect(feed.verifyAt(second.updateData, t0 + 1, t0 + 30, { value: 1 }))
        .to.emit(feed, "PriceCached")
        .withArgs(ETH, 301_000_000_000n * 10n ** 10n, t0 + 10);
      expect(await feed.cachedPrice()).to.deep.equal([301_000_000_000n * 10n ** 10n, BigInt(t0 + 10)]);

      // latest() feeds updatePrice the same way a keeper does; the fee is what the adapter asks for.
      service.setPrice(ETH, 299_000_000_000n, t0 + 12);
      const latest = await source.latest([ETH]);
      expect(await feed.getUpdateFee(latest.updateData)).to.equal(1n);
      await expect(feed.updatePrice(latest.updateData, { value: 1 }))
        .to.emit(feed, "PriceCached")
        .withArgs(ETH, 299_000_000_000n * 10n ** 10n, t0 + 12);
    } finally {
      await service.close();
    }
  });
});
