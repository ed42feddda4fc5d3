/**
 * Branded units. The `@ts-expect-error` lines are the type-level test: `npm run typecheck` (tsc over test/) fails
 * if one of them compiles, that is, if a USDC amount could be passed where a WAD is expected or the other way round.
 */
import { expect } from "chai";

import {
  InvalidAmountError,
  formatPercent,
  formatTokenUnits,
  formatUsd,
  formatWad,
  toUsdWad,
  tokenToWad,
  tokenUnits,
  usd6,
  wad,
  wadToToken,
  type PerpClient,
  type TokenUnits,
  type TradeRequest,
  type Wad,
} from "@perp/sdk";

/** Compiled, never run. */
export function unitsAreChecked(client: PerpClient, plain: bigint): void {
  const usdc: TokenUnits = tokenUnits("100");
  const usd: Wad = wad("100");
  // Right units, and plain bigints (read in the parameter's unit), compile.
  void client.deposit(usdc);
  void client.deposit(plain);
  void client.addMargin("ETH", usd);
  void client.addMargin("ETH", plain);
  const ok: TradeRequest = { market: "ETH", side: "long", margin: usd, leverage: 5, size: wad("1") };
  void ok;
  formatUsd(usd);
  // @ts-expect-error a WAD is not token units
  void client.deposit(usd);
  // @ts-expect-error a WAD is not token units
  void client.lpWithdraw(usd);
  // @ts-expect-error token units are not USD WAD
  void client.addMargin("ETH", usdc);
  // @ts-expect-error token units are not USD WAD
  void client.removeMargin("ETH", usdc);
  // @ts-expect-error token units are not a size
  const bad: TradeRequest = { market: "ETH", side: "long", size: usdc };
  void bad;
  // @ts-expect-error token units are not USD
  formatUsd(usdc);
  // @ts-expect-error one brand is not the other
  const w: Wad = usdc;
  void w;
  // @ts-expect-error nor is a plain bigint a branded one: brand it with wad() or tokenUnits()
  const t: TokenUnits = plain;
  void t;
}

describe("SDK: branded units", function () {
  it("constructs each unit exactly from decimals, numbers and bigints", function () {
    expect(wad("2000.5")).to.equal(2000_500000000000000000n);
    expect(wad(1.25)).to.equal(1_250000000000000000n);
    expect(wad(10n)).to.equal(10n);
    expect(tokenUnits("1,000")).to.equal(1_000_000_000n);
    expect(tokenUnits(5n)).to.equal(5n);
    expect(tokenUnits(0.5)).to.equal(500_000n);
    expect(tokenUnits("1", 18)).to.equal(10n ** 18n);
    expect(usd6("2.5")).to.equal(2_500_000n);
    expect(() => tokenUnits("0.0000001")).to.throw(InvalidAmountError, "more than 6 decimals");
    expect(() => wad(Number.NaN)).to.throw(InvalidAmountError, "not a finite number");
  });

  it("converts between token units and WAD, rounding down towards minus infinity", function () {
    expect(tokenToWad(tokenUnits("1.5"))).to.equal(wad("1.5"));
    expect(wadToToken(wad("1.5"))).to.equal(tokenUnits("1.5"));
    expect(wadToToken(wad("0.0000019"))).to.equal(1n);
    expect(wadToToken(-wad("0.0000001") as Wad)).to.equal(-1n);
    expect(toUsdWad("12.5")).to.equal(wad("12.5"));
    expect(formatWad(wad("2000.5"))).to.equal("2,000.5");
    expect(formatTokenUnits(tokenUnits("1000.5"), 6, 2)).to.equal("1,000.50");
  });

  it("formatPercent keeps a small rate's sign and two significant digits instead of rounding it to zero", function () {
    expect(formatPercent(-wad("0.0000067"))).to.equal("-0.00067 %"); // the walkthrough's funding rate per day
    expect(formatPercent(wad("0.0000123"), 4)).to.equal("0.0012 %");
    expect(formatPercent(wad("0.00005"))).to.equal("0.01 %"); // rounds to a visible value: unchanged
    expect(formatPercent(wad("0.095"))).to.equal("9.50 %");
    expect(formatPercent(0n)).to.equal("0.00 %");
    expect(formatPercent(1n)).to.equal("0.00000000000000010 %");
  });
});
