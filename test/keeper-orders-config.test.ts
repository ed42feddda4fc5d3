/**
 * The order keeper's command-line settings (scripts/keeper/config.ts): the price service URL from `--prices` or
 * `$PERP_PRICES_URL`, the Pyth API key from `$PYTH_API_KEY` only, the order book and batch options, and their
 * one-line errors. Pure: no chain, no network.
 */
import { expect } from "chai";

import { ConfigError, parseConfig, redactUrl } from "../scripts/keeper/config.js";

const BOOK = "0x00000000000000000000000000000000000000b0";

function error(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(argv, env);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("keeper config: orders and prices", () => {
  it("defaults: orders on, batches of 50, no price URL, no key", () => {
    const config = parseConfig([], {});
    expect(config).to.include({ orders: true, orderBatchSize: 50, pricesUrl: undefined, pythApiKey: undefined, orderBook: undefined });
  });

  it("--prices wins over PERP_PRICES_URL; PYTH_API_KEY is read from the environment only", () => {
    const env = { PERP_PRICES_URL: "http://127.0.0.1:8788", PYTH_API_KEY: " secret-key " };
    expect(parseConfig([], env)).to.include({ pricesUrl: "http://127.0.0.1:8788", pythApiKey: "secret-key" });
    expect(parseConfig(["--prices", "https://hermes.example/v2"], env)).to.include({ pricesUrl: "https://hermes.example/v2" });
    expect(parseConfig([], { PYTH_API_KEY: "  " }).pythApiKey).to.equal(undefined);
  });

  it("--order-book, --no-orders, --order-batch-size", () => {
    expect(parseConfig(["--order-book", BOOK, "--order-batch-size", "7"], {})).to.include({ orderBook: BOOK, orderBatchSize: 7, orders: true });
    expect(parseConfig(["--no-orders"], {}).orders).to.equal(false);
  });

  it("refuses what cannot work, in one line naming the option (a URL's secret part never shown)", () => {
    expect(error(["--order-batch-size", "51"])).to.equal('--order-batch-size must be an integer from 1 to 50, not "51"');
    expect(error(["--order-book", "0x1234"])).to.equal('--order-book must be an address (0x and 40 hex digits), not "0x1234"');
    expect(error(["--prices", "ftp://prices.example/key/SECRET"])).to.equal(`--prices must be an http(s) URL, not "${redactUrl("ftp://prices.example/key/SECRET")}"`);
    expect(error(["--prices", "ftp://prices.example/key/SECRET"])).to.not.include("SECRET");
    expect(error([], { PERP_PRICES_URL: "not a url" })).to.match(/^PERP_PRICES_URL must be an http\(s\) URL/);
  });
});
