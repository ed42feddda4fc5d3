/**
 * The README's liquidation table states what the deployed parameters give (scripts/readme-table.ts), and the
 * generator reproduces, to the wei, the prices the contracts computed for the test fixture's parameters.
 */
import { readFileSync } from "node:fs";

import { expect } from "chai";

import { README, currentSection, liquidationRows, readmeSection } from "../scripts/readme-table.js";
import { PROTOCOL_PARAMS, ethParams, wad } from "../scripts/lib/fixture.js";
import { MARKETS } from "../ignition/lib/perp.js";

describe("README liquidation table", function () {
  it("is the table the deployed parameters give (regenerate: npx tsx scripts/readme-table.ts --write)", function () {
    expect(currentSection(readFileSync(README, "utf8"))).to.equal(readmeSection());
  });

  it("states the deployed maintenance margin ratio", function () {
    expect(MARKETS[0].params.maintenanceMarginRatio).to.equal(wad("0.01"));
    expect(readmeSection()).to.include("MMR 1 %").and.include("| 10x | long | $1,818.99 | 9.05 % |");
  });

  it("reproduces the engine's liquidation prices for the fixture's parameters (MMR 0.5 %), to the wei", function () {
    // `liquidationPrice` read from the engine by test/liquidation.test.ts ("liquidation price, exact to one oracle
    // unit"; the predicate values the position at its close fill), for $1,000 of isolated margin opened against an equal and opposite position at $2,000.
    const onChain = [
      "1007.43668695", "2982.68607807", "1609.24573975", "2386.86518997", "1809.84876745",
      "2188.25823717", "1930.21061438", "2069.09409519", "1970.33128054", "2029.37276403",
    ].map(wad);
    const rows = liquidationRows(
      ethParams(),
      PROTOCOL_PARAMS,
      wad(2000),
      [2n, 5n, 10n, 25n, 50n],
    );
    expect(rows.map((r) => r.price)).to.deep.equal(onChain);
  });
});
