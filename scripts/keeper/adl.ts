/**
 * Auto-deleveraging, mirrored off-chain: `LiquidationLogic.autoDeleverage` closes a profitable position at the index
 * price (no fee) while traders' net unrealised profit in its market exceeds `maxPnlFactor x vault NAV`. The pure
 * functions compute the engine's check and each position's value exactly as the contract does; `deleverage` is the
 * keeper's phase that uses them: most profitable position first, simulated, one at a time, until under the bound.
 *
 * The contract (for reference):
 * ```solidity
 * uint256 limit = FPM.mulWadDown(s.vaultNav(), m.params.maxPnlFactor);
 * uint256 price = m.priceFeed.latestPrice();
 * AccountingLib.accrueInMemory(state, price);
 * int256 tradersProfit = PerpMath.tradersClaimUp(price, skew(state), skewScale, state.fundingIndex, state.entryFundingSum);
 * if (tradersProfit <= limit) revert DeleverageNotNeeded(tradersProfit, limit);
 * int256 value = s.closeAtIndex(...);            // pnlDown(size, entry, price) - fundingOwedUp(size, index, last)
 * if (value <= 0) revert PositionNotProfitable(value);
 * ```
 */
import type { TransactionReceipt } from "ethers";

import {
  PerpContractError,
  math,
  toPerpError,
  withRetry,
  type MarketInfo,
  type PerpClient,
  type PositionData,
  type PositionHealth,
  type PositionKey,
  type RetryOptions,
} from "@perp/sdk";
import { formatPlain } from "./format.js";
import type { Logger } from "./logger.js";

/** The engine's deleveraging check for one market at time `now` (seconds), given the vault NAV (USD WAD). */
export interface DeleverageCheck {
  readonly marketId: number;
  /** `tradersClaimUp` with the funding index accrued to `now`: what traders would take closing everything, USD WAD. */
  readonly tradersProfit: bigint;
  /** `maxPnlFactor x NAV` (rounded down), USD WAD. */
  readonly limit: bigint;
  /** `tradersProfit > limit`: the engine accepts `autoDeleverage` on a profitable position of this market. */
  readonly needed: boolean;
  /** The funding index accrued to `now` (what `accrueInMemory` computes). */
  readonly fundingIndex: bigint;
}

/** `AccountingLib.accrueInMemory`: the market's funding index brought to `now` at `price`. */
export function accruedIndex(market: Pick<MarketInfo, "state">, price: bigint, now: bigint): bigint {
  const elapsed = now - market.state.lastFundingTime;
  if (elapsed <= 0n) return market.state.fundingIndex;
  return math.accruedFundingIndex(market.state.fundingIndex, market.state.fundingRatePerDay, price, elapsed);
}

/** The engine's check in `autoDeleverage` for `market` at its index price and time `now`. */
export function deleverageCheck(market: Pick<MarketInfo, "id" | "state" | "params" | "price">, nav: bigint, now: bigint): DeleverageCheck {
  const fundingIndex = accruedIndex(market, market.price, now);
  const skew = market.state.longOpenInterest - market.state.shortOpenInterest;
  const tradersProfit = math.tradersClaimUp(market.price, skew, market.params.skewScale, fundingIndex, market.state.entryFundingSum);
  const limit = math.mulWadDown(nav, market.params.maxPnlFactor);
  return { marketId: market.id, tradersProfit, limit, needed: tradersProfit > limit, fundingIndex };
}

/** What `closeAtIndex` pays the trader for `position`: `pnlDown(size, entry, price) - fundingOwedUp(size, index, last)`. */
export function closeValue(position: PositionData, price: bigint, fundingIndex: bigint): bigint {
  return math.pnlDown(position.size, position.entryPrice, price) - math.fundingOwedUp(position.size, fundingIndex, position.lastFundingIndex);
}

/** A position `autoDeleverage` would close, with its value at the check's price and funding index. */
export interface DeleverageCandidate extends PositionKey {
  readonly size: bigint;
  /** USD WAD, positive. */
  readonly value: bigint;
}

/**
 * The profitable positions of the market, most profitable first (ties: larger size first, then trader address):
 * the order in which the keeper deleverages them.
 */
export function deleverageCandidates(
  positions: readonly (PositionKey & { readonly position: PositionData })[],
  market: Pick<MarketInfo, "id" | "price">,
  check: Pick<DeleverageCheck, "fundingIndex">,
): DeleverageCandidate[] {
  const candidates: DeleverageCandidate[] = [];
  for (const p of positions) {
    if (p.marketId !== market.id || p.position.size === 0n) continue;
    const value = closeValue(p.position, market.price, check.fundingIndex);
    if (value > 0n) candidates.push({ trader: p.trader, marketId: p.marketId, size: p.position.size, value });
  }
  const abs = (x: bigint) => (x < 0n ? -x : x);
  return candidates.sort(
    (a, b) =>
      (a.value > b.value ? -1 : a.value < b.value ? 1 : 0) ||
      (abs(a.size) > abs(b.size) ? -1 : abs(a.size) < abs(b.size) ? 1 : 0) ||
      a.trader.toLowerCase().localeCompare(b.trader.toLowerCase()),
  );
}

// =============================================================================================== the keeper's phase

/** What the deleveraging phase needs from the keeper. */
export interface DeleverageContext {
  readonly client: PerpClient;
  readonly log: Logger;
  readonly retry: RetryOptions;
  /** At most this many rounds (transactions, or refused simulations) per run. */
  readonly maxTransactions: number;
  readonly stopping: () => boolean;
  /** Signs and broadcasts a call to the engine; returns the transaction hash. */
  send(data: string, gas: bigint): Promise<string>;
  /** The receipt, or null when not mined in time. */
  receipt(hash: string): Promise<TransactionReceipt | null>;
  readonly onDeleveraged?: () => void;
  /** A transaction reverted or was not mined: the nonce must be read again. */
  readonly onFailedTransaction?: () => void;
}

/** What the phase did (added to the run's summary). */
export interface DeleverageOutcome {
  deleveraged: number;
  marketsOverPnlBound: number;
  transactions: number;
  gasUsed: bigint;
  gasCostWei: bigint;
  readonly hashes: string[];
  readonly errors: string[];
}

/**
 * Mirrors `LiquidationLogic.autoDeleverage`'s check per market at the latest block (the vault NAV read from the
 * engine at that block). While a market is over its bound, its most profitable position is simulated, sent and
 * mined, and the check is made again on fresh reads: one transaction at a time, because each close changes the
 * skew, the funding sum and the NAV that the next check depends on.
 */
export async function deleverage(ctx: DeleverageContext, views: readonly PositionHealth[]): Promise<DeleverageOutcome> {
const out: DeleverageOutcome = { deleveraged: 0, marketsOverPnlBound: 0, transactions: 0, gasUsed: 0n, gasCostWei: 0n, hashes: [], errors: [] };
const { client, log, retry } = ctx;
  let positions = views
    .filter((v) => v.position.size !== 0n)
    .map((v) => ({ trader: v.trader, marketId: v.marketId, position: v.position }));
  const refused = new Set<string>();
  const refusedMarkets = new Set<number>();
  for (let round = 0; !ctx.stopping(); round++) {
    const block = await withRetry(() => client.provider.getBlock("latest"), retry);
    if (!block) throw new Error("the endpoint returned no latest block");
    const [marketList, nav] = await withRetry(
      () => Promise.all([client.markets(block.number), client.engine.vaultNav({ blockTag: block.number })]),
      retry,
    );
    const checks = marketList
      .filter((market) => market.priceValid && !refusedMarkets.has(market.id))
      .map((market) => ({ market, check: deleverageCheck(market, nav, BigInt(block.timestamp)) }));
    const over = checks.filter((c) => c.check.needed);
    if (round === 0) {
      out.marketsOverPnlBound = over.length;
      log[over.length > 0 ? "info" : "debug"](
        {
          block: block.number,
          navUsd: formatPlain(nav),
          markets: checks.map(({ market, check }) => ({
            market: market.symbol,
            tradersProfitUsd: formatPlain(check.tradersProfit),
            limitUsd: formatPlain(check.limit),
            over: check.needed,
          })),
        },
        "deleveraging check",
      );
    }
    if (over.length === 0) return out;
    if (round >= ctx.maxTransactions) {
      log.warn({ markets: over.map((c) => c.market.symbol), limit: ctx.maxTransactions }, "deleveraging limit of this run reached; the next run goes on");
      return out;
    }
    let choice: { candidate: DeleverageCandidate; market: MarketInfo; tradersProfit: bigint; limit: bigint } | undefined;
    for (const { market, check } of over) {
      const candidate = deleverageCandidates(positions, market, check).find((c) => !refused.has(`${c.trader.toLowerCase()}:${c.marketId}`));
      if (candidate) {
        choice = { candidate, market, tradersProfit: check.tradersProfit, limit: check.limit };
        break;
      }
    }
    if (!choice) {
      log.warn({ markets: over.map((c) => c.market.symbol) }, "a market is over its deleveraging bound but holds no profitable position to close");
      return out;
    }
    const { candidate, market } = choice;
    const key = `${candidate.trader.toLowerCase()}:${candidate.marketId}`;
    const named = { trader: candidate.trader, market: market.symbol, side: candidate.size > 0n ? "long" : "short", valueUsd: formatPlain(candidate.value) };
    let gas: bigint;
    try {
      [, gas] = await withRetry(
        () =>
          Promise.all([
            client.engine.autoDeleverage.staticCall(candidate.trader, candidate.marketId),
            client.engine.autoDeleverage.estimateGas(candidate.trader, candidate.marketId),
          ]),
        retry,
      );
    } catch (error) {
      const failure = toPerpError(error);
      if (failure instanceof PerpContractError && failure.errorName === "DeleverageNotNeeded") {
        // The state moved between the read and the simulation (or the mirror disagrees): leave the market.
        refusedMarkets.add(market.id);
        log.info({ ...named, reason: failure.message }, "deleveraging no longer needed in this market");
      } else {
        refused.add(key);
        log.info({ ...named, reason: failure.message }, "deleveraging simulation refused; position skipped");
      }
      continue;
    }
    const data = client.engine.interface.encodeFunctionData("autoDeleverage", [candidate.trader, candidate.marketId]);
    let hash: string;
    try {
      hash = await ctx.send(data, gas);
    } catch (error) {
      const message = toPerpError(error).message;
      out.errors.push(`sending autoDeleverage(${candidate.trader}, ${candidate.marketId}) failed: ${message}`);
      log.error({ ...named, error: message }, "sending the deleveraging failed");
      return out;
    }
    log.info(
      { hash, ...named, tradersProfitUsd: formatPlain(choice.tradersProfit), limitUsd: formatPlain(choice.limit), gas },
      "auto-deleveraging sent",
    );
    const receipt = await ctx.receipt(hash);
    if (!receipt || receipt.status !== 1) {
      refused.add(key);
      ctx.onFailedTransaction?.();
      out.errors.push(`autoDeleverage transaction ${hash} ${receipt ? "reverted" : `not mined in time`}`);
      log.error({ hash, ...named }, receipt ? "deleveraging transaction reverted" : "deleveraging not mined in time");
      if (!receipt) return out;
      continue;
    }
    out.transactions += 1;
    out.hashes.push(hash);
    out.gasUsed += receipt.gasUsed;
    out.gasCostWei += receipt.gasUsed * receipt.gasPrice;
    const engine = client.engine;
    const events = receipt.logs.map((log) => engine.interface.parseLog(log)).filter((e) => e !== null);
    const done = events.find((e) => e.name === "AutoDeleveraged");
    const closed = events.find((e) => e.name === "PositionClosedAtIndex");
    if (done) {
      out.deleveraged += 1;
      ctx.onDeleveraged?.();
      positions = positions.filter((p) => `${p.trader.toLowerCase()}:${p.marketId}` !== key);
    }
    log.info(
      {
        hash,
        block: receipt.blockNumber,
        ...named,
        priceUsd: closed ? formatPlain(closed.args.price as bigint) : undefined,
        paidUsd: closed ? formatPlain((closed.args.realizedPnl as bigint) - (closed.args.fundingPaid as bigint)) : undefined,
        tradersProfitUsd: done ? formatPlain(done.args.tradersProfit as bigint) : undefined,
        limitUsd: done ? formatPlain(done.args.limit as bigint) : undefined,
        gasUsed: receipt.gasUsed,
      },
      "auto-deleveraging mined",
    );
  }
  return out;
}
