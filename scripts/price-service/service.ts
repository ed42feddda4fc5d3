/**
 * Local price service: the subset of Pyth Hermes' HTTP API that @pythnetwork/hermes-client uses for
 * `getLatestPriceUpdates` and `getPriceUpdatesAtTimestamp`, serving updates for the local `StrictMockPyth`
 * (`encodeMockPriceUpdate`: `abi.encode(PriceFeed, prevPublishTime)`). The keeper points `HermesPriceSource` at it
 * exactly as at Hermes, so the keeper's code path is the same locally and on testnets.
 *
 *   GET /v2/updates/price/latest?ids[]=<id>&...[&encoding=hex|base64][&parsed=true|false]
 *   GET /v2/updates/price/<publish_time>?ids[]=<id>&...     first point of each feed at or after publish_time
 *   POST /local/price {"id", "price", "publishTime"?}      local extension (not Hermes): appends a point
 *
 * Each feed has a price path: (publishTime, price) points, strictly increasing in time, appended at runtime with
 * `setPrice`. A point's update carries prevPublishTime = the previous point's publish time (0 for the first), which
 * is what `parsePriceFeedUpdatesUnique` checks. Errors are plain-text bodies with Hermes' status codes: 400 for a
 * malformed request, 404 for an unknown feed or no update at or after the time asked for.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

import { encodeMockPriceUpdate, normalizePriceId } from "@perp/sdk/prices";

export interface PricePoint {
  publishTime: number;
  /** In the feed's units: the USD price is `price * 10^expo`. */
  price: bigint;
}

export interface PriceServiceFeed {
  id: string;
  /** Pyth exponent, e.g. -8 (the ETH/USD and BTC/USD feeds). */
  expo: number;
  /** Confidence interval in the feed's units, the same for every point. Default 0. */
  conf?: bigint;
  /** Initial price path. */
  points?: PricePoint[];
}

export interface PriceServiceOptions {
  /** 0 = any free port. */
  port?: number;
  host?: string;
  feeds: PriceServiceFeed[];
  /** Clock for `setPrice` without a publish time (Unix seconds). Default: wall clock. */
  now?: () => number;
}

export interface PriceService {
  /** `http://host:port`, the endpoint for `HermesPriceSource`. */
  url: string;
  /** Appends a point to the feed's path and returns it. `publishTime` defaults to max(now(), last + 1). */
  setPrice(id: string, price: bigint, publishTime?: number): PricePoint;
  /** The feed's path so far (a copy). */
  points(id: string): PricePoint[];
  close(): Promise<void>;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** A request we refuse, with the status and text the client sees. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Feed {
  id: string;
  expo: number;
  conf: bigint;
  points: PricePoint[];
}

export async function startPriceService(options: PriceServiceOptions): Promise<PriceService> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const feeds = new Map<string, Feed>();
  for (const spec of options.feeds) {
    const id = normalizePriceId(spec.id);
    if (feeds.has(id)) throw new Error(`price service: feed ${id} given twice`);
    if (!Number.isInteger(spec.expo) || spec.expo < -2_147_483_648 || spec.expo > 2_147_483_647) {
      throw new Error(`price service: feed ${id}: expo ${spec.expo} is not an int32`);
    }
    const conf = spec.conf ?? 0n;
    if (conf < 0n || conf > UINT64_MAX) throw new Error(`price service: feed ${id}: conf ${conf} is not a uint64`);
    const feed: Feed = { id, expo: spec.expo, conf, points: [] };
    feeds.set(id, feed);
    for (const point of spec.points ?? []) append(feed, point.price, point.publishTime);
  }

  function feedOf(id: string): Feed {
    const feed = feeds.get(normalizePriceId(id));
    if (feed === undefined) throw new Error(`price service: unknown feed ${id}`);
    return feed;
  }

  function append(feed: Feed, price: bigint, publishTime: number | undefined): PricePoint {
    if (typeof price !== "bigint" || price < INT64_MIN || price > INT64_MAX) {
      throw new Error(`price service: feed ${feed.id}: price ${String(price)} is not an int64`);
    }
    const last = feed.points.at(-1);
    const time = publishTime ?? Math.max(now(), last === undefined ? 0 : last.publishTime + 1);
    if (!Number.isSafeInteger(time) || time <= 0) {
      throw new Error(`price service: feed ${feed.id}: publish time ${time} is not a positive integer (Unix seconds)`);
    }
    if (last !== undefined && time <= last.publishTime) {
      throw new Error(
        `price service: feed ${feed.id}: publish time ${time} is not after the last point's (${last.publishTime}); ` +
          "a price path only moves forward",
      );
    }
    const point = { publishTime: time, price };
    feed.points.push(point);
    return point;
  }

  function updateOf(feed: Feed, index: number, encoding: "hex" | "base64") {
    const point = feed.points[index];
    const prev = index === 0 ? 0 : feed.points[index - 1].publishTime;
    const price = { price: point.price, conf: feed.conf, expo: feed.expo, publishTime: BigInt(point.publishTime) };
    const data = encodeMockPriceUpdate({ id: feed.id, price, prevPublishTime: BigInt(prev) }).slice(2);
    const rpcPrice = {
      price: point.price.toString(),
      conf: feed.conf.toString(),
      expo: feed.expo,
      publish_time: point.publishTime,
    };
    return {
      blob: encoding === "hex" ? data : Buffer.from(data, "hex").toString("base64"),
      parsed: {
        id: feed.id.slice(2), // Hermes spells ids without 0x
        price: rpcPrice,
        ema_price: { ...rpcPrice },
        metadata: { slot: index, proof_available_time: point.publishTime, prev_publish_time: prev },
      },
    };
  }

  /** GET /v2/updates/price/{latest|publish_time}. */
  function priceUpdates(which: string, query: URLSearchParams) {
    let publishTime: number | undefined;
    if (which !== "latest") {
      if (!/^\d+$/.test(which) || !Number.isSafeInteger(Number(which))) {
        throw new HttpError(400, `Invalid publish_time "${which}": expected Unix seconds (a non-negative integer)`);
      }
      publishTime = Number(which);
    }
    const raw = [...query.getAll("ids[]"), ...query.getAll("ids")];
    if (raw.length === 0) throw new HttpError(400, "Missing query parameter ids[]: give at least one price feed id");
    const ids: string[] = [];
    for (const id of raw) {
      try {
        ids.push(normalizePriceId(id));
      } catch {
        throw new HttpError(400, `Invalid price feed id "${id}": expected 32 bytes of hex (64 digits, 0x optional)`);
      }
    }
    const encoding = query.get("encoding") ?? "hex";
    if (encoding !== "hex" && encoding !== "base64") {
      throw new HttpError(400, `Invalid encoding "${encoding}": expected hex or base64`);
    }
    const parsedFlag = query.get("parsed") ?? "true";
    if (parsedFlag !== "true" && parsedFlag !== "false") {
      throw new HttpError(400, `Invalid parsed "${parsedFlag}": expected true or false`);
    }
    const unknown = ids.filter((id) => !feeds.has(id));
    if (unknown.length > 0) throw new HttpError(404, `Price ids not found: ${unknown.join(", ")}`);

    const updates = ids.map((id) => {
      const feed = feeds.get(id)!;
      const index =
        publishTime === undefined
          ? feed.points.length - 1
          : feed.points.findIndex((point) => point.publishTime >= publishTime);
      if (index < 0) {
        throw new HttpError(
          404,
          publishTime === undefined
            ? `No price update yet for ${id}`
            : `No price update for ${id} published at or after ${publishTime}`,
        );
      }
      return updateOf(feed, index, encoding);
    });
    return {
      binary: { encoding, data: updates.map((u) => u.blob) },
      ...(parsedFlag === "true" ? { parsed: updates.map((u) => u.parsed) } : {}),
    };
  }

  /** POST /local/price: {"id": "0x…", "price": "123" | 123, "publishTime"?: 1700000000}. */
  function postPrice(body: string) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new HttpError(400, "Body is not JSON: expected {\"id\", \"price\", \"publishTime\"?}");
    }
    const { id, price, publishTime } = (json ?? {}) as { id?: unknown; price?: unknown; publishTime?: unknown };
    if (typeof id !== "string") throw new HttpError(400, "Missing id (a price feed id)");
    if (!(typeof price === "string" && /^-?\d+$/.test(price)) && !Number.isSafeInteger(price)) {
      throw new HttpError(400, "price must be an integer in the feed's units (a decimal string or a safe integer)");
    }
    if (publishTime !== undefined && !Number.isSafeInteger(publishTime)) {
      throw new HttpError(400, "publishTime must be an integer (Unix seconds)");
    }
    let feed: Feed;
    try {
      feed = feedOf(id);
    } catch (error) {
      throw new HttpError(404, (error as Error).message);
    }
    try {
      const point = append(feed, BigInt(price as string | number), publishTime as number | undefined);
      return { id: feed.id, price: point.price.toString(), publishTime: point.publishTime };
    } catch (error) {
      throw new HttpError(400, (error as Error).message);
    }
  }

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      let status = 200;
      let payload: string;
      let type = "application/json";
      try {
        const url = new URL(request.url ?? "/", "http://localhost");
        const match = /^\/v2\/updates\/price\/([^/]+)$/.exec(url.pathname);
        if (match !== null && match[1] !== "stream") {
          if (request.method !== "GET") throw new HttpError(405, `Method ${request.method} not allowed: use GET`);
          payload = JSON.stringify(priceUpdates(decodeURIComponent(match[1]), url.searchParams));
        } else if (url.pathname === "/local/price") {
          if (request.method !== "POST") throw new HttpError(405, `Method ${request.method} not allowed: use POST`);
          payload = JSON.stringify(postPrice(Buffer.concat(chunks).toString("utf8")));
        } else if (url.pathname === "/live" || url.pathname === "/ready") {
          payload = JSON.stringify({ ok: true });
        } else {
          throw new HttpError(
            404,
            `Not found: ${url.pathname} (this local price service serves /v2/updates/price/latest and ` +
              "/v2/updates/price/<publish_time>)",
          );
        }
      } catch (error) {
        status = error instanceof HttpError ? error.status : 500;
        payload = error instanceof Error ? error.message : String(error);
        type = "text/plain; charset=utf-8";
      }
      response.writeHead(status, { "content-type": type, "access-control-allow-origin": "*" });
      response.end(payload);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    setPrice: (id, price, publishTime) => append(feedOf(id), price, publishTime),
    points: (id) => feedOf(id).points.map((point) => ({ ...point })),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
