/**
 * Conversions between human decimals, WAD (18 decimals) and collateral-token units, without floating point.
 *
 * @packageDocumentation
 */
import { WAD } from "./math.js";

/** Thrown when a decimal string cannot be parsed. */
export class InvalidAmountError extends Error {
  override readonly name = "InvalidAmountError";
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`invalid amount "${input}": ${reason}`);
  }
}

/**
 * Parses a decimal string into an integer with `decimals` decimals, exactly. Rejects more fractional digits than
 * `decimals`, exponents, and anything that is not a plain decimal number.
 * @example parseDecimal("1.5", 6) // 1_500_000n
 * @example parseDecimal("-0.25", 18) // -250000000000000000n
 */
export function parseDecimal(input: string, decimals: number): bigint {
  const text = input.trim().replace(/_/g, "").replace(/,/g, "");
  const match = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[2] === "" && (match[3] === undefined || match[3] === ""))) {
    throw new InvalidAmountError(input, "not a decimal number");
  }
  const [, sign, whole, fraction = ""] = match;
  if (fraction.length > decimals) throw new InvalidAmountError(input, `more than ${decimals} decimals`);
  const value = BigInt(whole || "0") * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  return sign === "-" ? -value : value;
}

/**
 * Formats a fixed-point integer with `decimals` decimals, trimming trailing zeros but keeping at least `minFraction`.
 * @example formatDecimal(1_500_000n, 6) // "1.5"
 * @example formatDecimal(1_500_000n, 6, 2) // "1.50"
 */
export function formatDecimal(value: bigint, decimals: number, minFraction = 0, maxFraction = decimals): string {
  const negative = value < 0n;
  let magnitude = negative ? -value : value;
  let shownDecimals = decimals;
  if (maxFraction < decimals) {
    // Round half away from zero to maxFraction digits.
    const step = 10n ** BigInt(decimals - maxFraction);
    magnitude = (magnitude + step / 2n) / step;
    shownDecimals = maxFraction;
  }
  const unit = 10n ** BigInt(shownDecimals);
  const whole = magnitude / unit;
  let fraction = (magnitude % unit).toString().padStart(shownDecimals, "0").replace(/0+$/, "");
  if (fraction.length < minFraction) fraction = fraction.padEnd(minFraction, "0");
  const wholeText = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  // A value that rounds to zero is shown without a sign.
  return `${negative && magnitude !== 0n ? "-" : ""}${wholeText}${fraction ? `.${fraction}` : ""}`;
}

/**
 * Decimal string to WAD.
 * @example toWad("2000.5") // 2000500000000000000000n
 */
export function toWad(input: string): bigint {
  return parseDecimal(input, 18);
}

/**
 * A WAD USD amount as "1,234.56 USD" (two decimals, rounded half away from zero).
 * @example formatUsd(1234_560000000000000000n) // "1,234.56 USD"
 */
export function formatUsd(value: bigint, fractionDigits = 2): string {
  return `${formatDecimal(value, 18, fractionDigits, fractionDigits)} USD`;
}

/**
 * A WAD price as "$2,000.00" (`fractionDigits` decimals).
 * @example formatPrice(2000n * WAD) // "$2,000.00"
 */
export function formatPrice(value: bigint, fractionDigits = 2): string {
  return `$${formatDecimal(value, 18, fractionDigits, fractionDigits)}`;
}

/**
 * A WAD ratio as a percentage, e.g. 0.0123e18 -> "1.23 %".
 * @example formatPercent(WAD / 100n) // "1.00 %"
 * @example formatPercent(-67n * 10n ** 11n) // "-0.00067 %"
 */
export function formatPercent(value: bigint, fractionDigits = 2): string {
  const percent = value * 100n;
  const magnitude = percent < 0n ? -percent : percent;
  // A small non-zero ratio (a funding rate of -0.00067 %/day) keeps its sign and two significant digits, rather
  // than reading "0.00 %".
  let digits = fractionDigits;
  while (magnitude !== 0n && digits < 18 && magnitude < 10n ** BigInt(19 - digits)) digits++;
  return `${formatDecimal(percent, 18, fractionDigits, digits)} %`;
}

/**
 * A WAD size, e.g. "2.5".
 * @example formatSize(25n * 10n ** 17n) // "2.5"
 */
export function formatSize(value: bigint, maxFraction = 6): string {
  return formatDecimal(value, 18, 0, maxFraction);
}

/**
 * Parses a percentage such as "0.5%" or "0.5" into a WAD ratio (0.005e18).
 * @example parsePercent("0.5%") // 5000000000000000n
 */
export function parsePercent(input: string): bigint {
  const text = input.trim().replace(/%$/, "").trim();
  return parseDecimal(text, 18) / 100n;
}

export { WAD };
