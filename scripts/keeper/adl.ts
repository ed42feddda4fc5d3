/**
 * The keeper's auto-deleveraging phase: `LiquidationLogic.autoDeleverage` closes a profitable position at the index
 * price (no fee) while traders' net unrealised profit in its market exceeds `maxPnlFactor x vault NAV`. The check and
 * each position's value are the SDK's pure mirror (`deleverageCheck`, `deleverageCandidates`, the same functions
 * `getDeleverageStatus` uses); this phase sends the most profitable position first, simulated, one at a time, until
 * the market is under the bound.
 */
import type { TransactionReceipt } from "ethers";

import {
  PerpContractError,
  deleverageCandidates,
  deleverageCheck,
  decodeReceipt,
  eventsNamed,
  toPerpError,
  withRetry,
  type DeleverageCandidate,
  type MarketInfo,
  type PerpClient,
  type PositionHealth,
  type RetryOptions,
} from "@perp/sdk";
import { formatPlain } from "./format.js";
import type { Logger } from "./logger.js";

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
            client.engine.autoDeleverage.staticCall(candidate.trader, candidate.marketId, []),
            client.engine.autoDeleverage.estimateGas(candidate.trader, candidate.marketId, []),
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
    const data = client.engine.interface.encodeFunctionData("autoDeleverage", [candidate.trader, candidate.marketId, []]);
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
    const events = decodeReceipt(receipt, { engine: client.deployment.contracts.PerpEngine });
    const [done] = eventsNamed(events, "AutoDeleveraged");
    const [closed] = eventsNamed(events, "PositionClosedAtIndex");
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
        priceUsd: closed ? formatPlain(closed.price) : undefined,
        paidUsd: closed ? formatPlain(closed.realizedPnl - closed.fundingPaid) : undefined,
        tradersProfitUsd: done ? formatPlain(done.tradersProfit) : undefined,
        limitUsd: done ? formatPlain(done.limit) : undefined,
        gasUsed: receipt.gasUsed,
      },
      "auto-deleveraging mined",
    );
  }
  return out;
}
