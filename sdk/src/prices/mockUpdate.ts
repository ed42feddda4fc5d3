import { AbiCoder } from "ethers";

/** One Pyth price as published: `price * 10^expo` USD, `conf` in the same units, `publishTime` in Unix seconds. */
export interface PythPrice {
  price: bigint;
  conf: bigint;
  expo: number;
  publishTime: bigint;
}

/** A Pyth price feed update: the feed id, its price and EMA price, and the previous publish time (for uniqueness). */
export interface MockPriceUpdate {
  id: string;
  price: PythPrice;
  emaPrice?: PythPrice;
  /** Publish time of the previous update of this feed; `parsePriceFeedUpdatesUnique` accepts the update only for a
   * window that starts after it. Defaults to `publishTime - 1`. */
  prevPublishTime?: bigint;
}

const PRICE_TUPLE = "tuple(int64 price, uint64 conf, int32 expo, uint256 publishTime)";
const FEED_TUPLE = `tuple(bytes32 id, ${PRICE_TUPLE} price, ${PRICE_TUPLE} emaPrice)`;

/**
 * Update data for the local `StrictMockPyth`: `abi.encode(PythStructs.PriceFeed, uint64 prevPublishTime)`, the
 * encoding SPEC "Prices (pull oracle)" fixes for local chains. The real Pyth contract takes Hermes' signed VAAs.
 */
export function encodeMockPriceUpdate(update: MockPriceUpdate): string {
  const { id, price } = update;
  const ema = update.emaPrice ?? price;
  const prev = update.prevPublishTime ?? price.publishTime - 1n;
  return AbiCoder.defaultAbiCoder().encode(
    [FEED_TUPLE, "uint64"],
    [
      [id, [price.price, price.conf, price.expo, price.publishTime], [ema.price, ema.conf, ema.expo, ema.publishTime]],
      prev,
    ],
  );
}

/** Inverse of `encodeMockPriceUpdate` (for the local price service and tests). */
export function decodeMockPriceUpdate(data: string): Required<MockPriceUpdate> {
  const [feed, prev] = AbiCoder.defaultAbiCoder().decode([FEED_TUPLE, "uint64"], data);
  const toPrice = (p: { price: bigint; conf: bigint; expo: bigint; publishTime: bigint }): PythPrice => ({
    price: p.price,
    conf: p.conf,
    expo: Number(p.expo),
    publishTime: p.publishTime,
  });
  return { id: feed.id, price: toPrice(feed.price), emaPrice: toPrice(feed.emaPrice), prevPublishTime: prev };
}
