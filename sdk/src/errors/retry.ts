/**
 * Transient failures and retries with exponential backoff.
 *
 * @packageDocumentation
 */
import { isError } from "ethers";

import type { PerpError } from "./base.js";
import { toPerpError } from "./decode.js";

/** Node.js socket error codes of a connection that failed or dropped: worth another try. */
const TRANSIENT_SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Each error of a `cause` / `error` chain, the outermost first (at most 8 deep). */
function errorChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 8 && !chain.includes(current)) {
    chain.push(current);
    const next = current as { cause?: unknown; error?: unknown };
    current = next.cause ?? next.error;
  }
  return chain;
}

/**
 * Whether a failure is transient, so that the same request may succeed if repeated: the RPC endpoint did not
 * answer in time, refused or dropped the connection, or answered with an HTTP 5xx / 429. Contract reverts, invalid
 * arguments and JSON-RPC errors of the node are not transient. Looks through `PerpError` causes.
 * @example if (isTransientError(error)) scheduleRetry()
 */
export function isTransientError(error: unknown): boolean {
  return errorChain(error).some((e) => {
    if (isError(e, "TIMEOUT") || isError(e, "NETWORK_ERROR")) return true;
    if (isError(e, "SERVER_ERROR")) {
      // ethers reports an HTTP error status as "server response <status> <text>".
      const status = /server response (\d{3})/.exec(e.shortMessage)?.[1];
      return status === undefined || status === "429" || status.startsWith("5");
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_SOCKET_CODES.has(code)) return true;
    const message = e instanceof Error ? e.message : "";
    return /socket hang up|fetch failed|other side closed/i.test(message);
  });
}

/**
 * Whether a transaction was refused because of its nonce: already used (another transaction from the account was
 * mined or is pending) or too high. The sender should re-read its nonce (`getTransactionCount(address, "pending")`).
 * @example if (isNonceError(error)) nonce = await provider.getTransactionCount(address, "pending")
 */
export function isNonceError(error: unknown): boolean {
  return errorChain(error).some(
    (e) =>
      isError(e, "NONCE_EXPIRED") ||
      isError(e, "REPLACEMENT_UNDERPRICED") ||
      (e instanceof Error && /nonce too (low|high)|nonce has already been used|invalid nonce/i.test(e.message)),
  );
}

/**
 * The wait an endpoint asked for: `CountingJsonRpcProvider` gives a 429's Retry-After as `retryAfterMs` in ethers'
 * error info (which `makeError` copies onto the error itself).
 */
function retryAfterMsOf(error: unknown): number | undefined {
  for (const e of errorChain(error)) {
    const ms = (e as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof ms === "number" && Number.isFinite(ms)) return ms;
  }
  return undefined;
}

/** Options of `withRetry`. */
export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  readonly attempts?: number;
  /** Delay before the first retry in milliseconds, doubled after each retry (default 250). */
  readonly baseDelayMs?: number;
  /** Upper bound of one delay in milliseconds (default 8,000). */
  readonly maxDelayMs?: number;
  /** Which failures are worth another attempt (default `isTransientError`). */
  readonly retryIf?: (error: unknown) => boolean;
  /** Called before waiting for each retry, e.g. to log it. */
  readonly onRetry?: (info: RetryInfo) => void;
  /** Stops the retries: a pending wait ends at once and the last failure is thrown. */
  readonly signal?: AbortSignal;
  /**
   * Spread of each delay (default 0: exact delays): a delay `d` becomes a uniform draw from `[d x (1 - jitter), d]`,
   * so that many clients failing together (keepers behind one rate-limited endpoint) do not retry in lockstep.
   */
  readonly jitter?: number;
  /** The source of randomness of `jitter` (default `Math.random`). */
  readonly random?: () => number;
}

/** What `RetryOptions.onRetry` is told. */
export interface RetryInfo {
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  /** The wait before the next attempt. */
  readonly delayMs: number;
  readonly error: PerpError;
}

/**
 * Runs `action` until it succeeds, retrying failures that `retryIf` accepts (by default transient ones: time-outs,
 * refused or dropped connections, HTTP 5xx) with exponential backoff: `baseDelayMs`, then twice that, and so on up
 * to `maxDelayMs`, at most `attempts` attempts in all. Anything else, or the last failure, is thrown as a
 * `PerpError` (`toPerpError`).
 * @example
 * ```ts
 * const block = await withRetry(() => provider.getBlockNumber(), {
 *   attempts: 4,
 *   onRetry: ({ attempt, delayMs, error }) => console.warn(`attempt ${attempt} failed (${error.message}); retry in ${delayMs} ms`),
 * });
 * ```
 */
export async function withRetry<T>(action: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 5);
  const baseDelayMs = options.baseDelayMs ?? 250;
  const maxDelayMs = options.maxDelayMs ?? 8_000;
  const retryIf = options.retryIf ?? isTransientError;
  for (let attempt = 1; ; attempt++) {
    try {
      return await action(attempt);
    } catch (error) {
      if (attempt >= attempts || options.signal?.aborted || !retryIf(error)) throw toPerpError(error);
      const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      const jitter = Math.min(1, Math.max(0, options.jitter ?? 0));
      const spread = jitter === 0 ? backoff : Math.round(backoff * (1 - jitter * (options.random ?? Math.random)()));
      // A rate limit that names its wait (HTTP 429 Retry-After) is honoured, within maxDelayMs.
      const asked = retryAfterMsOf(error);
      const delayMs = asked === undefined ? spread : Math.min(maxDelayMs, Math.max(spread, asked));
      options.onRetry?.({ attempt, delayMs, error: toPerpError(error) });
      await abortableDelay(delayMs, options.signal);
      if (options.signal?.aborted) throw toPerpError(error);
    }
  }
}

/**
 * Resolves after `ms`, or as soon as `signal` aborts (never rejects).
 * @example await abortableDelay(1000, controller.signal)
 */
export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
