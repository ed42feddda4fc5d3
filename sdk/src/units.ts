/**
 * Conversions between human decimals, WAD (18 decimals) and collateral-token units, without floating point.
 *
 * @packageDocumentation
 */
import { InvalidRequestError } from "./errors/base.js";
import { WAD } from "./math.js";

// ===================================================================== branded units

/**
 * A `bigint` that carries its unit in its type, so that a USDC amount cannot be passed where a WAD is expected (and
 * the other way round). At run time it is a plain `bigint`: arithmetic on it gives an unbranded `bigint`.
 */
export type Branded<U extends string> = bigint & { readonly __unit: U };
/** 18-decimal fixed point: prices, sizes, USD amounts, ratios and rates, as in the contracts. */
export type Wad = Branded<"wad">;
/** Collateral-token units (6 decimals for USDC): `deposit`, `withdraw`, the LP vault. */
export type TokenUnits = Branded<"token">;
/** USD with 6 decimals, as the engine books vault cash and the ledger (`openNotionalUsd6`). */
export type Usd6 = Branded<"usd6">;
/** The unit names of the branded types. */
export type UnitName = "wad" | "token" | "usd6";

/**
 * A bigint accepted where unit `U` is expected: a plain bigint (read in unit `U`) or one branded `U`, never one
 * branded with another unit (`bigint & { __unit?: U }` admits the first two and refuses the third at compile time).
 */
export type UnitInput<U extends UnitName> = bigint & { readonly __unit?: U };
/** A WAD amount (size, price, ratio): a decimal string, or a `Wad` / plain bigint in WAD; never `TokenUnits`. */
export type WadAmount = string | UnitInput<"wad">;
/** A USD amount: a decimal string ("500"), or WAD (a `Wad`, or a plain bigint in WAD); never `TokenUnits`. */
export type UsdAmount = WadAmount;
/** A token amount: a decimal string of USDC ("1000.5"), or token units (`TokenUnits` or a plain bigint); never a `Wad`. */
export type TokenAmount = string | UnitInput<"token">;

/**
 * Brands a WAD value: a bigint as is, a decimal string or a number parsed exactly (a number must be an integer or
 * have at most 15 significant digits; prefer strings).
 * @example wad("2000.5") // 2000500000000000000000n as Wad
 * @example wad(10n ** 18n) // 1 as Wad
 */
export function wad(value: bigint | string | number): Wad {
  if (typeof value === "bigint") return value as Wad;
  return parseDecimal(typeof value === "number" ? numberText(value) : value, 18) as Wad;
}

/**
 * Brands token units: a bigint as is (already in units), or a decimal string / number of whole tokens parsed with
 * `decimals` (default 6, USDC).
 * @example tokenUnits("1000") // 1_000_000_000n as TokenUnits
 * @example tokenUnits(5n) // 5 units (0.000005 USDC)
 */
export function tokenUnits(value: bigint | string | number, decimals = 6): TokenUnits {
  if (typeof value === "bigint") return value as TokenUnits;
  return parseDecimal(typeof value === "number" ? numberText(value) : value, decimals) as TokenUnits;
}

/**
 * Brands a 6-decimal USD value.
 * @example usd6("2.5") // 2_500_000n as Usd6
 */
export function usd6(value: bigint | string | number): Usd6 {
  if (typeof value === "bigint") return value as Usd6;
  return parseDecimal(typeof value === "number" ? numberText(value) : value, 6) as Usd6;
}

/**
 * Token units to WAD, exactly (USDC: x 1e12).
 * @example tokenToWad(tokenUnits("1.5")) // wad("1.5")
 */
export function tokenToWad(units: UnitInput<"token">, decimals = 6): Wad {
  return (units * 10n ** BigInt(18 - decimals)) as Wad;
}

/**
 * WAD to token units, rounded down (as the engine pays out).
 * @example wadToToken(wad("1.5")) // tokenUnits("1.5")
 */
export function wadToToken(value: UnitInput<"wad">, decimals = 6): TokenUnits {
  const step = 10n ** BigInt(18 - decimals);
  const q = value / step;
  return (value < 0n && q * step !== value ? q - 1n : q) as TokenUnits;
}

/**
 * Token units as a decimal string ("1,000.50 USDC" without the symbol: "1,000.5").
 * @example formatTokenUnits(tokenUnits("1000.5")) // "1,000.5"
 */
export function formatTokenUnits(units: UnitInput<"token">, decimals = 6, minFraction = 0): string {
  return formatDecimal(units, decimals, minFraction);
}

/**
 * A WAD as a decimal string, trimmed ("2,000.5").
 * @example formatWad(wad("2000.5")) // "2,000.5"
 */
export function formatWad(value: UnitInput<"wad">, minFraction = 0, maxFraction = 18): string {
  return formatDecimal(value, 18, minFraction, maxFraction);
}

function numberText(value: number): string {
  if (!Number.isFinite(value)) throw new InvalidAmountError(String(value), "not a finite number");
  // Exponent notation ("1e-7") is refused by parseDecimal; toFixed never uses it below 1e21.
  const text = Math.abs(value) < 1e21 ? value.toFixed(Math.min(20, Math.max(0, 15 - Math.floor(Math.log10(Math.abs(value) || 1))))) : String(value);
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

// ===================================================================== parsing and formatting

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
 * A USD amount as a positive WAD: a decimal string parsed exactly, or a WAD bigint as is.
 * @throws InvalidRequestError when it is not positive; InvalidAmountError for a malformed string.
 * @example toUsdWad("12.5") // 12.5e18
 */
export function toUsdWad(amount: UsdAmount): Wad {
  const value = typeof amount === "bigint" ? amount : parseDecimal(amount, 18);
  if (value <= 0n) throw new InvalidRequestError("the amount must be positive");
  return value as Wad;
}

/**
 * A WAD USD amount as "1,234.56 USD" (two decimals, rounded half away from zero).
 * @example formatUsd(1234_560000000000000000n) // "1,234.56 USD"
 */
export function formatUsd(value: UnitInput<"wad">, fractionDigits = 2): string {
  return `${formatDecimal(value, 18, fractionDigits, fractionDigits)} USD`;
}

/**
 * A WAD price as "$2,000.00" (`fractionDigits` decimals).
 * @example formatPrice(2000n * WAD) // "$2,000.00"
 */
export function formatPrice(value: UnitInput<"wad">, fractionDigits = 2): string {
  return `$${formatDecimal(value, 18, fractionDigits, fractionDigits)}`;
}

/**
 * A WAD ratio as a percentage with `fractionDigits` decimals, e.g. 0.0123e18 -> "1.23 %". A value that is not zero
 * but would round to zero keeps its sign and two significant digits instead ("-0.00067 %"): small funding rates
 * stay visible.
 * @example formatPercent(WAD / 100n) // "1.00 %"
 * @example formatPercent(-6_700_000_000n) // "-0.00000067 %"
 */
export function formatPercent(value: UnitInput<"wad">, fractionDigits = 2): string {
  const hundredfold = value * 100n;
  let digits = fractionDigits;
  const magnitude = hundredfold < 0n ? -hundredfold : hundredfold;
  if (magnitude !== 0n && magnitude * 2n < 10n ** BigInt(18 - digits)) {
    // It would round to zero: extend to its first significant digit, then one more (at most 18 decimals).
    while (digits < 18 && magnitude < 10n ** BigInt(18 - digits)) digits += 1;
    if (digits < 18) digits += 1;
  }
  return `${formatDecimal(hundredfold, 18, digits, digits)} %`;
}

/**
 * A WAD size, e.g. "2.5".
 * @example formatSize(25n * 10n ** 17n) // "2.5"
 */
export function formatSize(value: UnitInput<"wad">, maxFraction = 6): string {
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
