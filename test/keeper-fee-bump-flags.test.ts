/**
 * The keeper's fee-bumping flags (issue 12): `--max-bumps`, `--bump-after-ms` and `--bump-percent` reach the
 * keeper's policy as given, and a malformed value is refused before anything connects, naming the option and the
 * range it takes.
 */
import { expect } from "chai";

import { ConfigError, parseConfig } from "../scripts/keeper/config.js";

const ENV = { RPC_URL: "http://127.0.0.1:1" };

describe("keeper fee-bumping flags", function () {
  it("defaults to 3 bumps of 10 % after 30 s, and takes the values given", function () {
    expect(parseConfig([], ENV).feeBump).to.deep.equal({ maxBumps: 3, bumpAfterMs: 30_000, bumpPercent: 10n });
    const given = parseConfig(["--max-bumps", "0", "--bump-after-ms", "250", "--bump-percent", "25"], ENV);
    expect(given.feeBump).to.deep.equal({ maxBumps: 0, bumpAfterMs: 250, bumpPercent: 25n });
  });

  it("refuses malformed values with the option and its range", function () {
    const refused = (args: string[]) => {
      try {
        parseConfig(args, ENV);
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${args.join(" ")}`);
    };
    expect(refused(["--max-bumps", "-1"])).to.equal('--max-bumps must be an integer from 0 to 100, not "-1"');
    expect(refused(["--max-bumps", "two"])).to.equal('--max-bumps must be an integer from 0 to 100, not "two"');
    expect(refused(["--bump-after-ms", "50"])).to.equal('--bump-after-ms must be an integer 100 or more, not "50"');
    // Below 10 % a geth pool refuses the replacement as underpriced.
    expect(refused(["--bump-percent", "5"])).to.equal('--bump-percent must be an integer from 10 to 1000, not "5"');
    expect(refused(["--bump-percent", "12.5"])).to.equal('--bump-percent must be an integer from 10 to 1000, not "12.5"');
  });
});
