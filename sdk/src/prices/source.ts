/**
 * Where keepers and apps get Pyth price updates: `PriceSource`, one interface for Hermes (Pyth's price service) and
 * for the local price service (scripts/price-service/), which speaks the same HTTP API. Browser-safe: only `fetch`
 * (through @pythnetwork/hermes-client), no Node modules.
 */

/** One parsed price of a feed as the price service published it: `price * 10^expo` USD, `conf` in the same units. */
export interface ParsedPrice {
  price: bigint;
  conf: bigint;
  expo: number;
  /** Unix seconds. */
  publishTime: number;
  /** Publish time of the feed's previous update, when the service reports it (Hermes `metadata.prev_publish_time`). */
  prevPublishTime?: number;
}

/** What a price source returns: the update data to pass on chain, and the prices it carries. */
export interface PriceUpdateBundle {
  /** `0x`-prefixed hex blobs, ready for `updatePrice(bytes[])` / `getUpdateFee(bytes[])`. */
  updateData: string[];
  /** Parsed price per requested id; keys are ids as `normalizePriceId` spells them (`0x` + 64 lowercase hex). */
  prices: Record<string, ParsedPrice>;
}

export interface PriceSource {
  /** The newest update of each feed. */
  latest(priceIds: string[]): Promise<PriceUpdateBundle>;
  /** For each feed, the first update published at or after `publishTime` (Unix seconds); fails if there is none yet. */
  at(priceIds: string[], publishTime: number): Promise<PriceUpdateBundle>;
}

/** A price source failed: a bad argument (no `status`), an HTTP error of the service (`status`), or a bad answer. */
export class PriceSourceError extends Error {
  readonly status: number | undefined;
  readonly body: string | undefined;
  constructor(message: string, options: { status?: number; body?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PriceSourceError";
    this.status = options.status;
    this.body = options.body;
  }
}

const PRICE_ID = /^(0x)?[0-9a-fA-F]{64}$/;

/** `0x` + 64 lowercase hex digits; throws `PriceSourceError` for anything that is not a 32-byte hex id. */
export function normalizePriceId(id: string): string {
  if (typeof id !== "string" || !PRICE_ID.test(id)) {
    throw new PriceSourceError(`invalid price feed id ${JSON.stringify(id)}: expected 32 bytes of hex (64 digits, 0x optional)`);
  }
  return `0x${id.replace(/^0x/, "").toLowerCase()}`;
}
