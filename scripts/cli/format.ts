/**
 * Output of the CLI: aligned tables in human units, or JSON (bigints as decimal strings, exact).
 */
import Table from "cli-table3";
import type { TransactionReceipt } from "ethers";

import {
  formatDecimal,
  formatPercent,
  formatUsd,
  math,
  type MarketInfo,
  type PositionInfo,
  type TradeQuote,
} from "@perp/sdk";

/** Where output goes (stdout for results, stderr for prompts and errors); replaceable in tests. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Set once the reader of stdout is gone (`perp markets | head -1`): the rest of the output is dropped. */
let stdoutClosed = false;

/**
 * A closed stdout (EPIPE) is not the command's failure: its remaining output is dropped and the command runs to its
 * end, so a transaction it was sending is neither abandoned halfway nor reported as failed. Any other write error
 * still ends the process.
 */
export function tolerateClosedStdout(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    stdoutClosed = true;
  });
}

export const processOutput: Output = {
  out: (text) => {
    if (!stdoutClosed) process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  },
  err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
};

// ------------------------------------------------------------------------------------------ JSON

/** A JSON-safe copy: bigints as decimal strings, Maps as objects, undefined fields dropped. */
export function toJsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), toJsonValue(v)]));
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined && typeof v !== "function")
        .map(([k, v]) => [k, toJsonValue(v)]),
    );
  }
  return value;
}

export function json(value: unknown): string {
  return JSON.stringify(toJsonValue(value), null, 2);
}

/** The transaction part of a command's JSON result. */
export function receiptJson(receipt: TransactionReceipt) {
  return { hash: receipt.hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, status: receipt.status };
}

/** A quote without its bulky simulation, plus side, absolute size and the realised PnL it implies. */
export function quoteJson(quote: TradeQuote) {
  const { simulation, ...rest } = quote;
  return {
    ...rest,
    side: quote.sizeDelta > 0n ? "long" : "short",
    size: math.abs(quote.sizeDelta),
    realizedPnl: simulation.realizedPnl,
    newSize: simulation.position.size,
  };
}

// ------------------------------------------------------------------------------------------ human units

/** "1,234.57 USD" (WAD, 2 decimals). */
export const usd = (value: bigint) => formatUsd(value);
/** "$2,000.0025": at least 2, at most 4 decimals (WAD). */
export const price = (value: bigint) => `$${formatDecimal(value, 18, 2, 4)}`;
/** "2.5 ETH" (WAD size, up to 6 decimals). */
export const size = (value: bigint, base: string) => `${formatDecimal(value, 18, 0, 6)} ${base}`;
/** "0.0500 %/day" with the sign: positive, longs pay shorts. */
export const fundingRate = (value: bigint) => `${value > 0n ? "+" : ""}${formatPercent(value, 4)}/day`;
/** "10.02x" (WAD). */
export const leverage = (value: bigint) => `${formatDecimal(value, 18, 2, 2)}x`;
/** "1,000.00 USDC" from token units (2 decimals, rounded half away from zero). */
export const tokens = (units: bigint, decimals: number, symbol = "USDC") =>
  `${formatDecimal(units, decimals, 2, Math.min(2, decimals))} ${symbol}`;
/** The base asset of a symbol: "ETH" for "ETH-USD". */
export const baseOf = (symbol: string) => symbol.split("-")[0];

// ------------------------------------------------------------------------------------------ tables

const PLAIN = { head: [] as string[], border: [] as string[], compact: true };

/** A table with a header row; numeric columns are right-aligned. */
export function table(head: string[], rows: string[][], rightAligned: number[] = []): string {
  const t = new Table({
    head,
    style: PLAIN,
    colAligns: head.map((_, i) => (rightAligned.includes(i) ? "right" : "left")),
  });
  t.push(...rows);
  return t.toString();
}

/** A two-column table of labels and values. */
export function keyValues(rows: [string, string][]): string {
  const t = new Table({ style: PLAIN });
  t.push(...rows.map(([k, v]) => [k, v]));
  return t.toString();
}

// ------------------------------------------------------------------------------------------ views

/** The quote as the trader confirms it; `closing` titles it as the close of the opposite position. */
export function quoteTable(quote: TradeQuote, closing = false): string {
  const base = baseOf(quote.symbol);
  const side = quote.sizeDelta > 0n ? "long" : "short";
  const mode = quote.isolated ? "isolated" : "cross";
  const rows: [string, string][] = [
    closing
      ? ["Close", `${quote.symbol} ${side === "long" ? "short" : "long"} position (${mode})`]
      : ["Quote", `${quote.symbol} ${side} (${mode})`],
    ["Size", size(math.abs(quote.sizeDelta), base)],
    ["Notional", usd(quote.notional)],
    ["Index price", price(quote.indexPrice)],
    ["Fill price", price(quote.fillPrice)],
    ["Fee", usd(quote.fee)],
  ];
  if (quote.marginDelta > 0n) rows.push(["Margin moved in", usd(quote.marginDelta)]);
  if (quote.simulation.realizedPnl !== 0n) rows.push(["Realised PnL", usd(quote.simulation.realizedPnl)]);
  // A cross position has no leverage of its own: the quote's is the whole cross account's after the trade.
  if (quote.leverage > 0n) rows.push([quote.isolated ? "Leverage" : "Account leverage", leverage(quote.leverage)]);
  rows.push(["Funding rate", `${fundingRate(quote.fundingRatePerDay)} now, ${fundingRate(quote.fundingRatePerDayAfter)} after`]);
  if (quote.rejection) {
    // No resulting position to value.
  } else if (quote.liquidationPrice > 0n) {
    rows.push(["Est. liquidation", `${price(quote.liquidationPrice)} (${formatPercent(quote.liquidationDistance)} away)`]);
  } else if (quote.simulation.position.size !== 0n) {
    rows.push(["Est. liquidation", "none"]);
  }
  rows.push([quote.sizeDelta > 0n ? "Worst fill (max)" : "Worst fill (min)", price(quote.acceptablePrice)]);
  if (quote.settlement) {
    rows.push(["Keeper fee", quote.orderFees > quote.keeperFee ? `${usd(quote.keeperFee)} (${usd(quote.orderFees)} with the stop orders)` : usd(quote.keeperFee)]);
    rows.push([
      "Settlement",
      `at the first price ${quote.settlement.minDelay} s to ${quote.settlement.maxDelay} s after the commit (expires after ${quote.settlement.expiry} s)`,
    ]);
  }
  for (const [label, t] of [["Stop-loss", quote.stopLoss], ["Take-profit", quote.takeProfit]] as const) {
    if (!t) continue;
    rows.push([
      label,
      `${price(t.price)}: ${usd(t.net)} net (PnL ${usd(t.realizedPnl)}, fee ${usd(t.fee)})` +
        (t.distanceToLiquidation > 0n ? `, ${formatPercent(t.distanceToLiquidation)} from liquidation` : ""),
    ]);
  }
  for (const warning of quote.warnings) rows.push(["WARNING", warning]);
  return keyValues(rows);
}

export function positionsTable(positions: readonly PositionInfo[]): string {
  if (positions.length === 0) return "No open positions.";
  return table(
    ["Market", "Side", "Mode", "Size", "Entry", "Notional", "Margin", "uPnL", "Funding owed", "Liq. price", "Distance", "Status"],
    positions.map((p) => [
      p.symbol,
      p.side,
      p.isolated ? "isolated" : "cross",
      size(math.abs(p.size), baseOf(p.symbol)),
      price(p.entryPrice),
      usd(p.notional),
      p.isolated ? usd(p.margin) : "(cross)",
      usd(p.unrealizedPnl),
      usd(p.accruedFunding),
      p.liquidationPrice === 0n ? "none" : price(p.liquidationPrice),
      p.liquidationPrice === 0n ? "-" : formatPercent(p.liquidationDistance),
      p.liquidatable ? "LIQUIDATABLE" : "ok",
    ]),
    [3, 4, 5, 6, 7, 8, 9, 10],
  );
}

export function marketsTable(markets: readonly MarketInfo[]): string {
  return table(
    ["Id", "Market", "Index price", "Long OI", "Short OI", "Funding", "Max lev.", "Maker / taker", "Status"],
    markets.map((mk) => {
      const base = baseOf(mk.symbol);
      return [
        String(mk.id),
        mk.symbol,
        price(mk.price),
        size(mk.state.longOpenInterest, base),
        size(mk.state.shortOpenInterest, base),
        fundingRate(mk.state.fundingRatePerDay),
        `${mk.maxLeverage.toString()}x`,
        `${formatPercent(mk.params.makerFeeRate, 3)} / ${formatPercent(mk.params.takerFeeRate, 3)}`,
        !mk.priceValid ? "oracle down" : mk.reduceOnly ? "reduce-only" : "open",
      ];
    }),
    [2, 3, 4, 5, 6],
  );
}
