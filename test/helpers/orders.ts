import { encodeMockPriceUpdate } from "@perp/sdk/prices";
import { OrderBook__factory, PythPriceFeed__factory, StrictMockPyth__factory } from "@perp/sdk/contracts";
import { btcParams, deployProtocol, ethParams, wad } from "../../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../../scripts/lib/network.js";

/** Pyth feed id of the test ETH market. */
export const ETH_ID = ethers.id("ETH/USD");
/** Oracle fee per update (wei). */
export const PYTH_FEE = 1n;
/** The Pyth-priced ETH market listed after the two Chainlink markets of `deployProtocol`. */
export const PETH = 2n;
/** A second Pyth-priced market (BTC-like id, $60,000), for account-wide limits. */
export const PBTC = 3n;
export const BTC_ID = ethers.id("BTC/USD");

export const DEFAULT_PARAMS = {
  keeperFee: wad("0.5"),
  minSettleDelay: 2,
  maxSettleDelay: 30,
  marketOrderExpiry: 120,
  triggerMaxAge: 10,
  minExecutionGas: 500_000,
};

/** One encoded price update of `id` at `price` (USD, 8 decimals after the point) published at `publishTime`. */
export function priceUpdate(price: string, publishTime: bigint, prevPublishTime?: bigint, id = ETH_ID): string {
  return encodeMockPriceUpdate({
    id,
    price: { price: ethers.parseUnits(price, 8), conf: 0n, expo: -8, publishTime },
    prevPublishTime,
  });
}

export async function now(): Promise<bigint> {
  return BigInt(await networkHelpers.time.latest());
}

/**
 * `deployProtocol` plus Pyth-priced ETH (id 2, $2,000) and BTC (id 3, $60,000) markets (`PythPriceFeed` over
 * `StrictMockPyth`), the order book with the default
 * parameters wired to the engine, and $100,000 deposited by alice, bob and carol.
 */
export async function deployOrders() {
  const p = await deployProtocol();
  const pyth = await new StrictMockPyth__factory(p.owner).deploy(PYTH_FEE);
  const config = (priceId: string) => ({
    pyth: pyth.target as string,
    priceId,
    maxConfBps: 100,
    maxFutureSkew: 5,
    maxCacheAge: 60,
    referenceFeed: ethers.ZeroAddress,
    refMaxDevBps: 0,
    refHeartbeat: 0,
    expo: -8,
  });
  // The book first, set on the engine before the Pyth listings: each adapter is built naming it (`acceptPrice` is the
  // book's and its engine's alone), and the engine's listing checks that it does.
  const book = await new OrderBook__factory(p.owner).deploy(p.engine, DEFAULT_PARAMS, p.owner);
  await p.engine.setOrderBook(book);
  const feed = await new PythPriceFeed__factory(p.owner).deploy(config(ETH_ID), book);
  await feed.updatePrice([priceUpdate("2000", await now())], { value: PYTH_FEE });
  await p.engine.listMarket(feed, ethParams());
  const btcFeed = await new PythPriceFeed__factory(p.owner).deploy(config(BTC_ID), book);
  await btcFeed.updatePrice([priceUpdate("60000", await now(), undefined, BTC_ID)], { value: PYTH_FEE });
  await p.engine.listMarket(btcFeed, btcParams());
  for (const trader of [p.alice, p.bob, p.carol]) await p.engine.connect(trader).deposit(10n ** 11n);
  return { ...p, pyth, feed, btcFeed, book };
}

export type Orders = Awaited<ReturnType<typeof deployOrders>>;
