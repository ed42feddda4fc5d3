/**
 * Typed errors: every revert of the protocol's contracts is decoded into a `PerpContractError` that names the custom
 * error and states its arguments in plain words, never as raw revert data.
 *
 * @packageDocumentation
 */
import { Interface, isCallException, isError, type ErrorDescription } from "ethers";

import {
  ICollateralToken__factory,
  LiquidityVault__factory,
  PerpEngine__factory,
  PerpLens__factory,
} from "./generated/index.js";
import { formatDecimal, formatPrice, formatUsd } from "./units.js";

/** Base class of every error the SDK throws on purpose. */
export class PerpError extends Error {
  override name = "PerpError";
  constructor(
    message: string,
    readonly details?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A decoded custom error (or panic) from the protocol's contracts. */
export class PerpContractError extends PerpError {
  override name = "PerpContractError";
  constructor(
    /** The Solidity error's name, e.g. "InsufficientMargin". */
    readonly errorName: string,
    /** Its arguments by name. */
    readonly args: Readonly<Record<string, unknown>>,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, undefined, options);
  }
}

/** The transaction or call failed for a reason that is not a contract revert (network, nonce, funds...). */
export class PerpTransportError extends PerpError {
  override name = "PerpTransportError";
}

const usd = (v: unknown) => formatUsd(BigInt(v as bigint));
const usdc = (v: unknown) => `${formatDecimal(BigInt(v as bigint), 6, 2)} USDC`;
const price = (v: unknown) => formatPrice(BigInt(v as bigint), 2);
const size = (v: unknown) => formatDecimal(BigInt(v as bigint), 18, 0, 6);
const shares = (v: unknown) => formatDecimal(BigInt(v as bigint), 12, 0, 6);
const when = (v: unknown) => new Date(Number(v as bigint) * 1000).toISOString();
const market = (v: unknown) => (BigInt(v as bigint) === 2n ** 256n - 1n ? "the cross account" : `market ${String(v)}`);

/** How each error's arguments read in plain words. */
const FORMATS: Record<string, (a: Record<string, unknown>) => string> = {
  InsufficientMargin: (a) => `equity ${usd(a.equity)} < required ${usd(a.required)}`,
  InsufficientCrossBalance: (a) => `cross balance ${usd(a.balance)} < ${usd(a.amount)}`,
  AccountLiquidatable: (a) =>
    `account ${a.trader} is liquidatable: equity ${usd(a.equity)} < maintenance ${usd(a.maintenanceMargin)}`,
  SlippageExceeded: (a) => `fill price ${price(a.fillPrice)} is worse than the acceptable ${price(a.acceptablePrice)}`,
  MarketReduceOnly: (a) => `${market(a.marketId)} is reduce-only: positions can shrink, not grow`,
  OpenInterestCapExceeded: (a) =>
    `${market(a.marketId)} ${a.isLong ? "long" : "short"} open interest would be ${size(a.openInterest)}, above the cap ${size(a.cap)}`,
  InsufficientVaultLiquidity: (a) => `the LP vault needs ${usd(a.required)} of cash, it has ${usd(a.available)}`,
  PositionTooSmall: (a) => `position notional ${usd(a.notional)} is below the minimum ${usd(a.minNotional)}`,
  PositionModeMismatch: (a) =>
    `the position in ${market(a.marketId)} is ${a.positionIsIsolated ? "isolated" : "cross"}: trade it in that mode`,
  NotIsolated: (a) => `the position in ${market(a.marketId)} is not isolated`,
  TooManyCrossPositions: (a) => `at most ${String(a.max)} cross positions per account`,
  NoPosition: (a) => `${a.trader} has no position in ${market(a.marketId)}`,
  NotLiquidatable: (a) =>
    `${a.trader} in ${market(a.marketId)} is not liquidatable: equity ${usd(a.equity)} >= maintenance ${usd(a.maintenanceMargin)}`,
  UnknownMarket: (a) => `no market with id ${String(a.marketId)}`,
  ZeroAmount: () => "the amount or size must not be zero",
  ShortTransfer: (a) => `the token delivered ${usdc(a.received)} instead of ${usdc(a.expected)}`,
  InvalidBatch: (a) => `batch arrays of lengths ${String(a.tradersLength)} and ${String(a.marketIdsLength)}`,
  DeleverageNotNeeded: (a) => `traders' profit ${usd(a.tradersProfit)} is within the limit ${usd(a.limit)}`,
  PositionNotProfitable: (a) => `the position's value ${usd(a.value)} is not positive`,
  InvalidParameter: (a) => `parameter out of bounds: ${String(a.code)}`,
  NotGuardian: (a) => `${a.caller} is neither the guardian nor the owner`,
  NotVault: (a) => `${a.caller} is not the LP vault`,
  VaultAlreadySet: () => "the vault is already set",
  TooManyMarkets: (a) => `at most ${String(a.max)} markets`,
  InvalidOraclePrice: (a) => `oracle ${a.feed} answered an invalid price (${String(a.answer)})`,
  StaleOraclePrice: (a) =>
    `oracle ${a.feed} is stale: last update ${when(a.updatedAt)}, heartbeat ${String(a.heartbeat)} s`,
  SequencerDown: () => "the L2 sequencer is down",
  SequencerGracePeriodNotOver: (a) =>
    `the L2 sequencer restarted at ${when(a.upSince)}; prices are trusted ${String(a.gracePeriod)} s later`,
  SharesLocked: (a) => `LP shares of ${a.account} are locked until ${when(a.unlocksAt)}`,
  DepositForAnotherAccount: (a) => `vault deposits must be made for yourself (caller ${a.caller}, receiver ${a.receiver})`,
  ERC4626ExceededMaxWithdraw: (a) => `can withdraw at most ${usdc(a.max)} now, asked ${usdc(a.assets)}`,
  ERC4626ExceededMaxRedeem: (a) => `can redeem at most ${shares(a.max)} shares now, asked ${shares(a.shares)}`,
  ERC4626ExceededMaxDeposit: (a) => `the vault accepts at most ${usdc(a.max)} now (NAV is zero?), asked ${usdc(a.assets)}`,
  ERC20InsufficientBalance: (a) => `${a.sender} holds ${usdc(a.balance)}, needs ${usdc(a.needed)}`,
  ERC20InsufficientAllowance: (a) => `allowance ${usdc(a.allowance)} is below ${usdc(a.needed)}: approve first`,
  OwnableUnauthorizedAccount: (a) => `${a.account} is not the owner`,
};

let combined: Interface | undefined;
/** Every error the protocol's contracts can raise, in one ABI. */
function errorInterface(): Interface {
  if (combined) return combined;
  const fragments = new Map<string, unknown>();
  for (const abi of [PerpEngine__factory.abi, LiquidityVault__factory.abi, ICollateralToken__factory.abi, PerpLens__factory.abi]) {
    for (const item of abi) if (item.type === "error") fragments.set(JSON.stringify(item), item);
  }
  combined = new Interface([...fragments.values()] as never);
  return combined;
}

function revertData(error: unknown): string | undefined {
  // ethers puts revert data on CALL_EXCEPTION errors; some providers nest it deeper.
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    const data = (current as { data?: unknown }).data;
    if (typeof data === "string" && data.startsWith("0x") && data.length >= 10) return data;
    if (data && typeof data === "object" && typeof (data as { data?: unknown }).data === "string") {
      return (data as { data: string }).data;
    }
    current = (current as { error?: unknown; info?: { error?: unknown }; cause?: unknown }).error ??
      (current as { info?: { error?: unknown } }).info?.error ??
      (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Decodes raw revert data into a `PerpContractError`, or undefined if it is not one of the protocol's errors.
 * @example decodeRevertData("0x...") // PerpContractError("InsufficientMargin: equity 480.12 USD < required 500.00 USD")
 */
export function decodeRevertData(data: string, cause?: unknown): PerpContractError | undefined {
  let parsed: ErrorDescription | null = null;
  try {
    parsed = errorInterface().parseError(data);
  } catch {
    parsed = null;
  }
  if (!parsed) return undefined;
  const args: Record<string, unknown> = {};
  parsed.fragment.inputs.forEach((input, i) => {
    args[input.name || `arg${i}`] = parsed!.args[i];
  });
  const format = FORMATS[parsed.name];
  const text = format ? format(args) : parsed.fragment.inputs.map((i, n) => `${i.name}=${String(parsed!.args[n])}`).join(", ");
  return new PerpContractError(parsed.name, args, text ? `${parsed.name}: ${text}` : parsed.name, { cause });
}

/**
 * Turns whatever a contract call or transaction threw into a `PerpError`: a decoded contract error when the revert
 * data is one of the protocol's errors, otherwise a `PerpTransportError` with the provider's short message.
 * @example try { await client.withdraw("100") } catch (e) { console.error(toPerpError(e).message) }
 */
export function toPerpError(error: unknown): PerpError {
  if (error instanceof PerpError) return error;
  const data = revertData(error);
  if (data) {
    const decoded = decodeRevertData(data, error);
    if (decoded) return decoded;
  }
  if (isCallException(error) && error.reason) {
    return new PerpContractError("Error", { reason: error.reason }, `reverted: ${error.reason}`, { cause: error });
  }
  const shortMessage =
    isError(error, "INSUFFICIENT_FUNDS") ? "the sender cannot pay for gas" :
    isError(error, "NONCE_EXPIRED") ? "nonce already used (another transaction from this account was mined)" :
    isError(error, "NETWORK_ERROR") || isError(error, "TIMEOUT") ? "the RPC endpoint did not answer" :
    ((error as { shortMessage?: string })?.shortMessage ?? (error instanceof Error ? error.message : String(error)));
  return new PerpTransportError(shortMessage, undefined, { cause: error });
}

/**
 * Runs `action` and rethrows any failure as a `PerpError`.
 * @example const receipt = await withPerpErrors(() => engine.deposit(amount))
 */
export async function withPerpErrors<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw toPerpError(error);
  }
}

// ===================================================================== transient failures and retries

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
      const delayMs = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
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
