/**
 * Wei-exact mirror of the contracts' math (`PerpMath.sol`, `MarketLib.sol`, `ValuationLib.sol`) in bigint.
 *
 * Every function rounds exactly as its Solidity twin: `...Down` toward negative infinity, `...Up` toward positive
 * infinity, whatever the sign. All values are WAD (1e18) unless a name says otherwise. The parity tests
 * (`test/sdk/parity.test.ts`) check each one against the chain across fuzzed inputs.
 *
 * @packageDocumentation
 */

/** 1e18, the fixed-point unit of every price, size, USD amount, ratio and rate. */
export const WAD = 10n ** 18n;
/** Seconds in a day: funding rates are per day. */
export const SECONDS_PER_DAY = 86_400n;

/**
 * Absolute value of a bigint.
 * @example abs(-5n) // 5n
 */
export function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

/**
 * floor(x * y / d) for signed x and y, d > 0 (Solidity `mulDivDown`).
 * @example mulDivDown(-7n, 1n, 2n) // -4n
 */
export function mulDivDown(x: bigint, y: bigint, d: bigint): bigint {
  const n = x * y;
  const q = n / d;
  return n < 0n && q * d !== n ? q - 1n : q;
}

/**
 * ceil(x * y / d) for signed x and y, d > 0 (Solidity `mulDivUp`).
 * @example mulDivUp(7n, 1n, 2n) // 4n
 */
export function mulDivUp(x: bigint, y: bigint, d: bigint): bigint {
  const n = x * y;
  const q = n / d;
  return n > 0n && q * d !== n ? q + 1n : q;
}

/**
 * floor(a * b / 1e18).
 * @example mulWadDown(3n * WAD, WAD / 2n) // 1.5e18
 */
export function mulWadDown(a: bigint, b: bigint): bigint {
  return mulDivDown(a, b, WAD);
}

/**
 * ceil(a * b / 1e18).
 * @example mulWadUp(1n, 1n) // 1n
 */
export function mulWadUp(a: bigint, b: bigint): bigint {
  return mulDivUp(a, b, WAD);
}

/** Truncating division toward zero, as Solidity's `/` on signed integers. */
function divTrunc(a: bigint, b: bigint): bigint {
  return a / b;
}

/**
 * Fill price of a trade of `delta` against skew `skew`: `price + price * (2 skew + delta) / (2 K)`,
 * rounded against the trader (up for a buy, down for a sell).
 * @example fillPrice(2000n * WAD, 0n, WAD, 1_000_000n * WAD) // 2000.001e18
 */
export function fillPrice(price: bigint, skew: bigint, delta: bigint, skewScale: bigint): bigint {
  const numerator = 2n * skew + delta;
  const roundUp = delta > 0n === numerator > 0n;
  const magnitude = abs(numerator);
  const adjustment = roundUp
    ? mulDivUp(price, magnitude, 2n * skewScale)
    : mulDivDown(price, magnitude, 2n * skewScale);
  return numerator >= 0n ? price + adjustment : price - adjustment;
}

/**
 * Trading fee of `delta` at `fill`: maker rate on the part that shrinks |skew|, taker on the rest; rounded up.
 * @example tradeFee(0n, WAD, 2000n * WAD, 2n * 10n ** 14n, 5n * 10n ** 14n) // 1e18 (taker 0.05 % of $2,000)
 */
export function tradeFee(skew: bigint, delta: bigint, fill: bigint, makerFeeRate: bigint, takerFeeRate: bigint): bigint {
  const size = abs(delta);
  const reduces = (skew > 0n && delta < 0n) || (skew < 0n && delta > 0n);
  const makerSize = reduces ? (size < abs(skew) ? size : abs(skew)) : 0n;
  const weighted = makerSize * makerFeeRate + (size - makerSize) * takerFeeRate;
  return mulDivUp(weighted, fill, WAD * WAD);
}

/**
 * Funding rate per day: `clamp(skew * fundingFactor / K, +-maxRate)`, truncated toward zero.
 * @example fundingRatePerDay(1000n * WAD, 1_000_000n * WAD, WAD, WAD / 100n) // 0.001e18
 */
export function fundingRatePerDay(skew: bigint, skewScale: bigint, fundingFactor: bigint, maxRatePerDay: bigint): bigint {
  const rate = divTrunc(skew * fundingFactor, skewScale);
  if (rate > maxRatePerDay) return maxRatePerDay;
  if (rate < -maxRatePerDay) return -maxRatePerDay;
  return rate;
}

/**
 * Funding index after `elapsed` seconds: `index + rate * price * elapsed / 1 day` (increment truncated toward zero).
 * @example accruedFundingIndex(0n, WAD / 1000n, 2000n * WAD, 86_400n) // 2e18
 */
export function accruedFundingIndex(index: bigint, ratePerDay: bigint, price: bigint, elapsed: bigint): bigint {
  return index + divTrunc(ratePerDay * price * elapsed, WAD * SECONDS_PER_DAY);
}

/**
 * Funding a position owes since its last settlement, rounded up (positive: the trader pays).
 * @example fundingOwedUp(WAD, 3n, 0n) // 1n (3e-18 USD rounds up to one wei)
 */
export function fundingOwedUp(size: bigint, indexNow: bigint, indexLast: bigint): bigint {
  return mulWadUp(size, indexNow - indexLast);
}

/**
 * The vault's side of a funding settlement, rounded down.
 * @example fundingToVaultDown(WAD, 3n, 0n) // 0n
 */
export function fundingToVaultDown(size: bigint, indexNow: bigint, indexLast: bigint): bigint {
  return mulWadDown(size, indexNow - indexLast);
}

/**
 * PnL of `size` entered at `entry` valued at `price`, rounded down.
 * @example pnlDown(WAD, 2000n * WAD, 2200n * WAD) // 200e18
 */
export function pnlDown(size: bigint, entry: bigint, price: bigint): bigint {
  return mulWadDown(size, price - entry);
}

/**
 * `|size| * price * ratio`, rounded up: a margin requirement.
 * @example requirementUp(WAD, 2000n * WAD, WAD / 100n) // 20e18
 */
export function requirementUp(size: bigint, price: bigint, ratio: bigint): bigint {
  return mulDivUp(abs(size) * price, ratio, WAD * WAD);
}

/**
 * `|size| * price`, rounded down.
 * @example notionalDown(-2n * WAD, 2000n * WAD) // 4000e18
 */
export function notionalDown(size: bigint, price: bigint): bigint {
  return mulWadDown(abs(size), price);
}

/**
 * Average entry after adding `delta` at `fill`, rounded up for a long and down for a short.
 * @example entryAfterIncrease(WAD, 2000n * WAD, WAD, 2100n * WAD) // 2050e18
 */
export function entryAfterIncrease(size: bigint, entry: bigint, delta: bigint, fill: bigint): bigint {
  const oldSize = abs(size);
  const addSize = abs(delta);
  const cost = oldSize * entry + addSize * fill;
  const newSize = oldSize + addSize;
  return delta > 0n ? mulDivUp(cost, 1n, newSize) : cost / newSize;
}

/**
 * What traders of a market would receive closing everything now, net of funding owed, rounded up.
 * @example tradersClaimUp(2000n * WAD, 0n, WAD, 0n, 5n) // -5n
 */
export function tradersClaimUp(price: bigint, skew: bigint, skewScale: bigint, index: bigint, entryFundingSum: bigint): bigint {
  if (skew === 0n) return -entryFundingSum;
  const closeFill = fillPrice(price, skew, -skew, skewScale);
  return mulWadUp(skew, closeFill) - mulWadDown(skew, index) - entryFundingSum;
}
