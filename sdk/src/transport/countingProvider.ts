/**
 * An ethers `JsonRpcProvider` that counts what it sends, over the platform's `fetch`.
 *
 * @packageDocumentation
 */
import { JsonRpcProvider, makeError, type JsonRpcApiProviderOptions, type JsonRpcPayload, type JsonRpcResult, type Networkish } from "ethers";

/** What a `CountingJsonRpcProvider` has sent since it was created or last reset. */
export interface RpcStats {
  /** JSON-RPC calls (one per method call, whether sent alone or inside a batch). */
  readonly calls: number;
  /** HTTP requests (a JSON-RPC batch of many calls is one). */
  readonly httpRequests: number;
  /** HTTP requests that failed (time-out, refused or dropped connection, HTTP error status). */
  readonly failedHttpRequests: number;
  /** Calls by JSON-RPC method, e.g. `{ eth_call: 8, eth_getLogs: 2 }`. */
  readonly byMethod: Readonly<Record<string, number>>;
}

/** Options of `CountingJsonRpcProvider`: ethers' `JsonRpcProvider` options and a request time-out. */
export interface CountingJsonRpcProviderOptions extends JsonRpcApiProviderOptions {
  /** Time-out of one HTTP request in milliseconds (default 300,000, as ethers). */
  readonly timeoutMs?: number;
}

/**
 * An ethers `JsonRpcProvider` over HTTP that counts what it sends: JSON-RPC calls, HTTP requests (ethers batches
 * calls made in the same tick into one request, up to `batchMaxCount`) and calls per method. For measuring how many
 * requests a tool makes (the keeper's scan benchmark) and for RPC plans billed per call.
 *
 * It sends with the platform's `fetch` (Node 18+, browsers) and decodes with `Response.json()`, which is much faster
 * than ethers' own transport on large answers (ethers decodes UTF-8 in JavaScript: about 70 ms per megabyte). Failures
 * look like ethers': an HTTP error status is a `SERVER_ERROR`, a time-out a `TIMEOUT`, and a refused or dropped
 * connection rethrows the socket error (`ECONNREFUSED`, `ECONNRESET`...), so `isTransientError` recognises them.
 * @example
 * ```ts
 * const provider = new CountingJsonRpcProvider("http://127.0.0.1:8545", 31337, { staticNetwork: true, timeoutMs: 10_000 });
 * await Promise.all([provider.getBlockNumber(), provider.getBalance(address)]);
 * provider.stats; // { calls: 2, httpRequests: 1, failedHttpRequests: 0, byMethod: { eth_blockNumber: 1, eth_getBalance: 1 } }
 * provider.resetStats();
 * ```
 */
export class CountingJsonRpcProvider extends JsonRpcProvider {
  #calls = 0;
  #httpRequests = 0;
  #failedHttpRequests = 0;
  #byMethod = new Map<string, number>();
  readonly #url: string;
  readonly #timeoutMs: number;

  constructor(url: string, network?: Networkish, options: CountingJsonRpcProviderOptions = {}) {
    const { timeoutMs, ...providerOptions } = options;
    super(url, network, providerOptions);
    this.#url = url;
    this.#timeoutMs = timeoutMs ?? 300_000;
  }

  /** Counts, then posts the payload with `fetch`. */
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const calls = Array.isArray(payload) ? payload : [payload];
    this.#httpRequests += 1;
    this.#calls += calls.length;
    for (const call of calls) this.#byMethod.set(call.method, (this.#byMethod.get(call.method) ?? 0) + 1);
    try {
      const response = await fetch(this.#url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (!response.ok) {
        // A rate limit's Retry-After (seconds or an HTTP date) tells `withRetry` how long to wait at least.
        const retryAfterMs = retryAfter(response.headers.get("retry-after"));
        throw makeError(`server response ${response.status} ${response.statusText}`, "SERVER_ERROR", {
          request: this.#url,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        });
      }
      const body = (await response.json()) as JsonRpcResult | JsonRpcResult[];
      return Array.isArray(body) ? body : [body];
    } catch (error) {
      this.#failedHttpRequests += 1;
      const name = (error as { name?: string }).name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw makeError("request timeout", "TIMEOUT", { operation: "request", reason: "timeout" });
      }
      // fetch reports a refused or dropped connection as "fetch failed" with the socket error as its cause.
      if (error instanceof TypeError && error.message === "fetch failed" && error.cause !== undefined) throw error.cause;
      throw error;
    }
  }

  /** A copy of the counters. */
  get stats(): RpcStats {
    return {
      calls: this.#calls,
      httpRequests: this.#httpRequests,
      failedHttpRequests: this.#failedHttpRequests,
      byMethod: Object.fromEntries([...this.#byMethod.entries()].sort(([a], [b]) => a.localeCompare(b))),
    };
  }

  /** Sets every counter back to zero. */
  resetStats(): void {
    this.#calls = 0;
    this.#httpRequests = 0;
    this.#failedHttpRequests = 0;
    this.#byMethod = new Map();
  }
}

/** Milliseconds a `Retry-After` header asks to wait (delta-seconds or an HTTP date), undefined without a usable one. */
export function retryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The difference between two `RpcStats` readings: what was sent in between.
 * @example const before = provider.stats; await scan(); const used = rpcStatsSince(before, provider.stats)
 */
export function rpcStatsSince(before: RpcStats, after: RpcStats): RpcStats {
  const byMethod: Record<string, number> = {};
  for (const [method, count] of Object.entries(after.byMethod)) {
    const delta = count - (before.byMethod[method] ?? 0);
    if (delta !== 0) byMethod[method] = delta;
  }
  return {
    calls: after.calls - before.calls,
    httpRequests: after.httpRequests - before.httpRequests,
    failedHttpRequests: after.failedHttpRequests - before.failedHttpRequests,
    byMethod,
  };
}
