/**
 * The Pyth Ignition module on the in-process network: `PerpPythLocal` deploys StrictMockPyth and one PythPriceFeed
 * per market, pushes the updates the local price service serves (scripts/lib/pyth-listing.ts) and lists both
 * markets at exactly those prices.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { HermesPriceSource, PYTH_FEED_IDS } from "@perp/sdk/prices";

import { MARKETS } from "../ignition/lib/perp.js";
import PerpPythLocal from "../ignition/modules/PerpPythLocal.js";
import { pythListingParameters } from "../scripts/lib/pyth-listing.js";
import { startPriceService } from "../scripts/price-service/service.js";

describe("PerpPythLocal (Ignition, Pyth markets)", function () {
  it("deploys the adapters on StrictMockPyth, seeds them from the price service and lists ETH-USD and BTC-USD", async function () {
    const connection = await network.create();
    const { ethers, ignition } = connection;
    const now = (await ethers.provider.getBlock("latest"))!.timestamp;
    const service = await startPriceService({
      feeds: [
        { id: PYTH_FEED_IDS["ETH/USD"], expo: -8, conf: 100_000_000n, points: [{ publishTime: now, price: 200_012_345_678n }] },
        { id: PYTH_FEED_IDS["BTC/USD"], expo: -8, points: [{ publishTime: now, price: 6_000_000_000_000n }] },
      ],
    });
    try {
      const updates = await pythListingParameters(new HermesPriceSource({ endpoint: service.url, httpRetries: 0 }), MARKETS);
      const deployed = await ignition.deploy(PerpPythLocal, { parameters: { PerpPythLocal: updates } });
      const engine = deployed.engine;
      const pythAddress = await deployed.pyth.getAddress();
      expect(await engine.marketCount()).to.equal(2n);
      const expected = [
        { id: PYTH_FEED_IDS["ETH/USD"], wad: 200_012_345_678n * 10n ** 10n },
        { id: PYTH_FEED_IDS["BTC/USD"], wad: 6_000_000_000_000n * 10n ** 10n },
      ];
      for (const [i, { id, wad }] of expected.entries()) {
        const market = await engine.getMarket(i);
        const feed = await ethers.getContractAt("PythPriceFeed", market.priceFeed);
        expect(await feed.priceId()).to.equal(id);
        expect(await feed.pyth()).to.equal(pythAddress);
        expect(await feed.cachedPrice()).to.deep.equal([wad, BigInt(now)]);
        expect(market.state.lastPrice).to.equal(wad);
      }
      // The fee was exactly StrictMockPyth's 1 wei per blob: nothing stayed in the adapters.
      expect(await deployed.pyth.getUpdateFee(updates.ethUsdPriceUpdate)).to.equal(1n);
      expect(await ethers.provider.getBalance(pythAddress)).to.equal(2n);
    } finally {
      await service.close();
      await connection.close();
    }
  });
});
