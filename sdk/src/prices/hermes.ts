import { HermesClient, type HermesClientConfig } from "@pythnetwork/hermes-client";

import { type ParsedPrice, type PriceSource, type PriceUpdateBundle, PriceSourceError, normalizePriceId } from "./source.js";

/** Pyth's public Hermes. Since the Pyth Core upgrade (Aug 2026) it requires an API key (research/orders.md §4.1). */
export const HERMES_ENDPOINT = "https://hermes.pyth.network";

export interface HermesPriceSourceOptions {
  /** Base URL of the service: Hermes, or the local price service (`http://127.0.0.1:PORT`). Default `HERMES_ENDPOINT`. */
  endpoint?: string;
  /** Sent as `Authorization: Bearer <apiKey>`. The app reads it (e.g. from `PYTH_API_KEY`); the SDK never does. */
  apiKey?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Per-request timeout, ms (hermes-client default 5000). */
  timeoutMs?: number;
  /** Retries after a failed request, with exponential back-off from ~150 ms (hermes-client default 3). The client
   * retries HTTP 4xx too, so callers that poll `at()` for a time not yet published may want fewer. */
  httpRetries?: number;
}

/** Shape of hermes-client's `PriceUpdate` that we read (its zod schema validated the rest). */
interface HermesUpdate {
  binary: { encoding: string; data: string[] };
  parsed?: Array<{
    id: string;
    price: { price: string; conf: string; expo: number; publish_time: number };
    metadata: { prev_publish_time?: number | null };
  }> | null;
}

/**
 * `PriceSource` over Pyth's Hermes HTTP API (`/v2/updates/price/latest`, `/v2/updates/price/{publish_time}`), via
 * @pythnetwork/hermes-client. The same class serves the local price service: only the endpoint differs.
 */
export class HermesPriceSource implements PriceSource {
  readonly endpoint: string;
  readonly client: HermesClient;

  constructor(options: HermesPriceSourceOptions = {}) {
    this.endpoint = options.endpoint ?? HERMES_ENDPOINT;
    const config: HermesClientConfig = {};
    if (options.apiKey !== undefined && options.apiKey !== "") config.accessToken = options.apiKey;
    if (options.headers !== undefined) config.headers = options.headers;
    if (options.timeoutMs !== undefined) config.timeout = options.timeoutMs;
    if (options.httpRetries !== undefined) config.httpRetries = options.httpRetries;
    this.client = new HermesClient(this.endpoint, config);
  }

  async latest(priceIds: string[]): Promise<PriceUpdateBundle> {
    const ids = checkIds(priceIds);
    const update = await this.request(`latest update of ${ids.join(", ")}`, () =>
      this.client.getLatestPriceUpdates(ids, { encoding: "hex", parsed: true }),
    );
    return toBundle(update, ids, this.endpoint);
  }

  async at(priceIds: string[], publishTime: number): Promise<PriceUpdateBundle> {
    const ids = checkIds(priceIds);
    if (!Number.isSafeInteger(publishTime) || publishTime < 0) {
      throw new PriceSourceError(`invalid publish time ${String(publishTime)}: expected Unix seconds (a non-negative integer)`);
    }
    const update = await this.request(`update at or after ${publishTime} of ${ids.join(", ")}`, () =>
      this.client.getPriceUpdatesAtTimestamp(publishTime, ids, { encoding: "hex", parsed: true }),
    );
    return toBundle(update, ids, this.endpoint);
  }

  private async request(what: string, call: () => Promise<HermesUpdate>): Promise<HermesUpdate> {
    try {
      return await call();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // hermes-client reports a non-2xx answer as "HTTP error! status: 404, body: <text>".
      const http = /^HTTP error! status: (\d+)(?:, body: ([\s\S]*))?$/.exec(message);
      if (http !== null) {
        const status = Number(http[1]);
        const body = http[2];
        throw new PriceSourceError(`${this.endpoint}: ${what}: HTTP ${status}${body ? `: ${body}` : ""}`, {
          status,
          body,
          cause: error,
        });
      }
      throw new PriceSourceError(`${this.endpoint}: ${what}: ${message}`, { cause: error });
    }
  }
}

function checkIds(priceIds: string[]): string[] {
  if (!Array.isArray(priceIds) || priceIds.length === 0) throw new PriceSourceError("no price feed ids given");
  const ids = priceIds.map(normalizePriceId);
  if (new Set(ids).size !== ids.length) throw new PriceSourceError(`duplicate price feed id in ${ids.join(", ")}`);
  return ids;
}

function toBundle(update: HermesUpdate, ids: string[], endpoint: string): PriceUpdateBundle {
  if (update.binary.encoding !== "hex") {
    throw new PriceSourceError(`${endpoint}: answered in ${update.binary.encoding} encoding, hex was requested`);
  }
  const prices: Record<string, ParsedPrice> = {};
  for (const feed of update.parsed ?? []) {
    const id = normalizePriceId(feed.id);
    const parsed: ParsedPrice = {
      price: BigInt(feed.price.price),
      conf: BigInt(feed.price.conf),
      expo: feed.price.expo,
      publishTime: feed.price.publish_time,
    };
    const prev = feed.metadata.prev_publish_time;
    if (prev !== undefined && prev !== null) parsed.prevPublishTime = prev;
    prices[id] = parsed;
  }
  const missing = ids.filter((id) => prices[id] === undefined);
  if (missing.length > 0) throw new PriceSourceError(`${endpoint}: the answer has no price for ${missing.join(", ")}`);
  // Hermes sends hex without the 0x prefix (research/orders.md §4.6); contracts take bytes as 0x-hex.
  const updateData = update.binary.data.map((blob) => (blob.startsWith("0x") ? blob : `0x${blob}`));
  return { updateData, prices };
}
