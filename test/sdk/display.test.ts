import { readFileSync } from "node:fs";
import path from "node:path";

import { expect } from "chai";

import { REJECTION_EXPLANATIONS, explainRejection, formatPercent, math, priceImpact, wad } from "@perp/sdk";

const { WAD } = math;

describe("priceImpact", function () {
  it("is the fill's premium over the index, signed, as a WAD ratio", function () {
    expect(priceImpact({ fillPrice: wad("2001"), indexPrice: wad("2000") })).to.equal(WAD / 2000n);
    expect(priceImpact({ fillPrice: wad("1999"), indexPrice: wad("2000") })).to.equal(-WAD / 2000n);
    expect(formatPercent(priceImpact({ fillPrice: wad("2001"), indexPrice: wad("2000") }))).to.equal("0.05 %");
  });

  it("rounds toward zero and is 0 without an index price", function () {
    // 1 wei above a $3 index: 1e-18 / 3 rounds to 0.
    expect(priceImpact({ fillPrice: wad("3") + 1n, indexPrice: wad("3") })).to.equal(0n);
    expect(priceImpact({ fillPrice: wad("3") - 1n, indexPrice: wad("3") })).to.equal(0n);
    expect(priceImpact({ fillPrice: wad("2000"), indexPrice: 0n })).to.equal(0n);
  });
});

describe("explainRejection", function () {
  it("puts every rejection the quote mirror returns into plain words after the engine's error name", function () {
    expect(explainRejection("TradeBelowInitialMargin")).to.equal(
      "TradeBelowInitialMargin: not enough margin: your equity would not cover this trade's initial margin; lower the size or the leverage, or deposit more",
    );
    expect(explainRejection("oracle price unavailable")).to.equal(
      "Oracle: the oracle price is stale or unavailable, so the market cannot trade until a fresh price is published",
    );
    expect(explainRejection("SomethingNew")).to.equal("SomethingNew");
  });

  it("covers each rejection name that valuation.ts can set", function () {
    const source = readFileSync(path.join(import.meta.dirname, "..", "..", "sdk", "src", "valuation.ts"), "utf8");
    const names = new Set([...source.matchAll(/rejection (?:\?\?)?= "(\w+)"|return "(\w+)"/g)].map((m) => m[1] ?? m[2]));
    expect(names.size).to.be.greaterThan(8);
    for (const name of names) expect(REJECTION_EXPLANATIONS, name).to.have.property(name);
  });
});
