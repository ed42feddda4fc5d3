/**
 * The local price service (service.ts) as a process: a Hermes-compatible HTTP API for the local StrictMockPyth.
 *
 *   npm run price-service -- --port 8787 --feeds ETH/USD=3000,BTC/USD=60000
 *   npm run price-service -- --feeds 0xff61…0ace=3000.5 --expo -8 --conf 0.5 --interval 1
 *
 * A feed is `<id or name>=<USD price>`; names: the keys of PYTH_FEED_IDS. Prices are converted to the feed's units
 * with --expo (default -8). --interval N republishes each feed's last price every N seconds at the current time,
 * so the adapter's staleness checks pass on a chain that keeps moving. Other processes set prices with
 * `POST /local/price {"id", "price", "publishTime"?}` (price in the feed's units).
 */
import { pathToFileURL } from "node:url";

import { Command, InvalidArgumentError } from "commander";
import { JsonRpcProvider, parseUnits } from "ethers";

import { PYTH_FEED_IDS, PYTH_USD_EXPO, normalizePriceId } from "@perp/sdk/prices";

import { type PriceServiceFeed, startPriceService } from "./service.js";

/** Converts a decimal USD amount to a feed's integer units (`price * 10^expo` USD). */
export function toFeedUnits(usd: string, expo: number): bigint {
  if (!/^-?\d+(\.\d+)?$/.test(usd)) throw new InvalidArgumentError(`"${usd}" is not a decimal number`);
  if (expo > 0) throw new InvalidArgumentError(`expo ${expo} > 0 is not supported`);
  try {
    return parseUnits(usd, -expo);
  } catch {
    throw new InvalidArgumentError(`"${usd}" has more decimals than expo ${expo} allows`);
  }
}

/** `ETH/USD=3000,0xabc…=1.5` → feed ids and USD prices. */
export function parseFeeds(value: string): Array<{ id: string; usd: string }> {
  return value
    .split(",")
    .filter((item) => item.trim() !== "")
    .map((item) => {
      const [name, usd, ...rest] = item.trim().split("=");
      if (usd === undefined || rest.length > 0) {
        throw new InvalidArgumentError(`"${item}": expected <feed id or name>=<USD price>`);
      }
      const known = (PYTH_FEED_IDS as Record<string, string>)[name];
      let id: string;
      try {
        id = normalizePriceId(known ?? name);
      } catch {
        throw new InvalidArgumentError(
          `"${name}" is neither a feed id (32 bytes of hex) nor a known name (${Object.keys(PYTH_FEED_IDS).join(", ")})`,
        );
      }
      return { id, usd };
    });
}

function integer(name: string) {
  return (value: string) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
    return Number(value);
  };
}

export const program = new Command("price-service")
  .description("Local Hermes-compatible price service serving StrictMockPyth updates")
  .option("--port <port>", "TCP port (0 = any free port)", integer("--port"), 8787)
  .option("--host <host>", "interface to listen on", "127.0.0.1")
  .requiredOption("--feeds <feeds>", "comma-separated <feed id or name>=<USD price>", parseFeeds)
  .option("--expo <expo>", "Pyth exponent of the feeds", integer("--expo"), PYTH_USD_EXPO)
  .option("--conf <usd>", "confidence interval in USD", "0")
  .option("--interval <seconds>", "republish the last prices every N seconds (0 = never)", integer("--interval"), 0)
  .option("--chain-rpc <url>", "take publish times from this chain's latest block instead of the wall clock")
  .action(async (opts: {
    port: number;
    host: string;
    feeds: Array<{ id: string; usd: string }>;
    expo: number;
    conf: string;
    interval: number;
    chainRpc?: string;
  }) => {
    const conf = toFeedUnits(opts.conf, opts.expo);
    const chain = opts.chainRpc === undefined ? undefined : new JsonRpcProvider(opts.chainRpc, undefined, { staticNetwork: true, batchMaxCount: 1 });
    const chainTime = async () => {
      if (chain === undefined) return Math.floor(Date.now() / 1000);
      const block = await chain.getBlock("latest");
      if (block === null) throw new Error(`${opts.chainRpc}: no latest block`);
      return block.timestamp;
    };
    let now: number;
    try {
      now = await chainTime();
    } catch (error) {
      program.error(`price service: cannot read the time of ${opts.chainRpc}: ${(error as Error).message}`);
    }
    const feeds: PriceServiceFeed[] = opts.feeds.map(({ id, usd }) => ({
      id,
      expo: opts.expo,
      conf,
      points: [{ publishTime: now, price: toFeedUnits(usd, opts.expo) }],
    }));
    const service = await startPriceService({ port: opts.port, host: opts.host, feeds });
    console.log(`price service on ${service.url} (feeds ${feeds.map((f) => f.id).join(", ")})`);
    const timer =
      opts.interval > 0
        ? setInterval(() => {
            void chainTime().then(
              (time) => {
                for (const feed of feeds) {
                  const last = service.points(feed.id).at(-1)!;
                  // Never ahead of the clock: the adapter refuses prices from the future.
                  if (time > last.publishTime) service.setPrice(feed.id, last.price, time);
                }
              },
              (error: unknown) => console.error(`price service: reading the chain time failed: ${String(error)}`),
            );
          }, opts.interval * 1000)
        : undefined;
    const stop = () => {
      if (timer !== undefined) clearInterval(timer);
      void service.close().then(() => process.exit(0));
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await program.parseAsync();
