/**
 * Pyth price feed ids (the same on every EVM chain). Source: /work/shared/research/orders.md §4.2 "Feed ids"
 * (hermes-client README; the ETH/USD id also appears as the PriceFeedUpdate topic in Pyth's EVM tutorial receipt).
 */
export const PYTH_FEED_IDS = {
  "ETH/USD": "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace",
  "BTC/USD": "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43",
} as const;

/** Exponent of the ETH/USD and BTC/USD feeds: prices are `price * 10^-8` USD. */
export const PYTH_USD_EXPO = -8;
