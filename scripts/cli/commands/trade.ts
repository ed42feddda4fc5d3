/**
 * `quote`, `open` and `close`: the trade is quoted first (the SDK mirrors the engine), shown, confirmed (or --yes)
 * and then sent with the quote's worst acceptable price. A quote the engine would reject is refused in one line.
 */
import type { Command } from "commander";

import { math, sendOrder, type PerpClient, type SendOrderReturnType, type Snapshot, type TradeQuote, type TradeRequest } from "@perp/sdk";
import { executedLine, type Context, type ContextOf } from "../context.js";
import { CliError } from "../errors.js";
import { positionsTable, quoteJson, quoteTable, receiptJson, usd } from "../format.js";
import {
  addSettleOptions,
  addSlippageOption,
  addTradeOptions,
  addressArg,
  checkSettleOptions,
  checkSizing,
  checkSlippage,
  priceArg,
  settlesSelf,
  type SettleOptions,
  type TradeOptions,
} from "../options.js";
import { outcomeLine, settlingClient } from "./orders.js";
import { refreshStalePrices } from "../fresh-prices.js";
import type { Session } from "../session.js";
import { confirm } from "../prompt.js";
import { rejectionLine } from "../rejections.js";
import { hasKey } from "../session.js";

/** `--sl` / `--tp` of `quote` and `open`. */
interface BracketOptions {
  sl?: string;
  tp?: string;
}

/** The SDK request for `open`/`quote`. */
function tradeRequest(market: string, side: "long" | "short", o: TradeOptions & BracketOptions): TradeRequest {
  checkSizing(o);
  return {
    market,
    side,
    size: o.size,
    margin: o.margin,
    leverage: o.leverage,
    // Without --isolated: the existing position's mode, or cross for a new one.
    isolated: o.isolated ? true : undefined,
    slippage: o.slippage,
    stopLoss: o.sl,
    takeProfit: o.tp,
  };
}

function addBracketOptions(command: Command): Command {
  return command
    .option("--sl <price>", "place a stop-loss at this price with the trade (order book)", priceArg("the stop-loss price"))
    .option("--tp <price>", "place a take-profit at this price with the trade (order book)", priceArg("the take-profit price"));
}

/**
 * Sends a confirmed quote: straight to the engine on a v1 deployment; as a market order (with its stop-loss /
 * take-profit) on a v2 one, settled by the trader (--self-settle, the default on a local chain) or by a keeper.
 */
async function send(c: Context, session: Session, quote: TradeQuote, o: SettleOptions & BracketOptions) {
  const { client } = session;
  if (!client.orderBook) {
    if (o.sl !== undefined || o.tp !== undefined || o.selfSettle || o.waitKeeper) {
      throw new CliError(`--sl, --tp, --self-settle and --wait-keeper need an order book; the deployment "${session.deployment.network}" has none`);
    }
    const { receipt } = await client.sendQuote(quote);
    return { receipt, ...executedLine(client, quote, receipt), order: undefined };
  }
  const self = settlesSelf(session.deployment, o);
  const sender = self ? await settlingClient(session, o) : client;
  const sent: SendOrderReturnType = await sendOrder(sender, {
    quote,
    stopLoss: o.sl,
    takeProfit: o.tp,
    settle: self ? "self" : "keeper",
    onCommitted: (order) =>
      c.io.err(
        `Committed order #${order.orderId} (keeper fee ${usd(order.keeperFee)} in escrow); ` +
          (self ? "settling it with the price source…" : "waiting for a keeper to settle it…"),
      ),
  });
  const receipt = sent.settleReceipt ?? sent.receipt;
  const executed = sent.outcome?.status === "executed" ? sent.outcome.execution : undefined;
  const legs = [
    sent.stopLossId === undefined ? "" : `stop-loss #${sent.stopLossId}`,
    sent.takeProfitId === undefined ? "" : `take-profit #${sent.takeProfitId}`,
  ].filter(Boolean);
  const text =
    `Committed ${sent.receipt.hash} (block ${sent.receipt.blockNumber}): ${sent.outcome ? outcomeLine(sent.outcome) : "pending"}` +
    (legs.length > 0 ? `; placed ${legs.join(" and ")}` : "");
  return { receipt, executed, text, order: sent };
}

/** Shows the quote (on stderr with --json, and only when there is a terminal to confirm on), confirms, sends. */
async function confirmAndSend(
  c: Context,
  session: Session,
  quote: TradeQuote,
  snap: Snapshot,
  opts: { yes?: boolean } & SettleOptions & BracketOptions,
  closing: boolean,
) {
  const { client } = session;
  if (quote.rejection) throw new CliError(rejectionLine(client, quote, snap));
  if (!c.json) c.io.out(quoteTable(quote, closing));
  else if (!opts.yes && process.stdin.isTTY) c.io.err(quoteTable(quote, closing));
  await confirm(closing ? "Close this position?" : "Send this trade?", opts.yes);
  return send(c, session, quote, opts);
}

export function register(program: Command, ctx: ContextOf): void {
  addBracketOptions(addSlippageOption(addTradeOptions(program.command("quote"))))
    .description("quote a trade as `open` would send it; sends nothing")
    .option("--trader <address>", "quote for this account (default: the key's)", addressArg)
    .action(async (market: string, side: "long" | "short", opts: TradeOptions & BracketOptions, command: Command) => {
      const c = ctx(command);
      const request = tradeRequest(market, side, opts);
      const signer = opts.trader === undefined && hasKey(c.options);
      await c.session(signer, async (session) => {
        const trader = await c.account(session, opts.trader, "quote");
        const quote = await session.client.quoteTrade(request, trader);
        c.print(() => quoteTable(quote), () => ({ action: "quote", trader, quote: quoteJson(quote) }));
      });
    });

  addSettleOptions(addBracketOptions(addSlippageOption(addTradeOptions(program.command("open")))))
    .description("open, grow or reduce a position (the other side reduces it): prints the quote, asks, sends")
    .option("-y, --yes", "do not ask for confirmation (also accepts a slippage above 5%)")
    .action(async (market: string, side: "long" | "short", opts: TradeOptions & BracketOptions & SettleOptions, command: Command) => {
      const c = ctx(command);
      const request = tradeRequest(market, side, opts);
      checkSlippage(opts.slippage, opts.yes);
      checkSettleOptions(opts);
      await c.session(true, async (session) => {
        const { client, wallet } = session;
        const trader = await wallet!.getAddress();
        await refreshStalePrices(c, session, opts);
        const snap = await client.snapshot(trader);
        const quote = await client.quoteTrade(request, trader, snap);
        const { receipt, executed, text, order } = await confirmAndSend(c, session, quote, snap, opts, false);
        const position = (await client.positions(trader)).find((p) => p.marketId === quote.marketId);
        c.print(
          () => [text, position ? positionsTable([position]) : "The position is closed."].join("\n"),
          () => ({
            action: "open",
            trader,
            quote: quoteJson(quote),
            transaction: receiptJson(receipt),
            executed,
            position,
            ...(order ? { order: order.order, outcome: order.outcome, stopLossId: order.stopLossId, takeProfitId: order.takeProfitId } : {}),
          }),
        );
      });
    });

  addSettleOptions(
    addSlippageOption(
      program
        .command("close")
        .description("close your whole position in a market: prints the quote, asks, sends")
        .argument("<market>", "market symbol or id"),
    ),
  )
    .option("-y, --yes", "do not ask for confirmation (also accepts a slippage above 5%)")
    .action(async (market: string, opts: { slippage?: string; yes?: boolean } & SettleOptions, command: Command) => {
      const c = ctx(command);
      checkSlippage(opts.slippage, opts.yes);
      checkSettleOptions(opts);
      await c.session(true, async (session) => {
        const { client, wallet } = session;
        const trader = await wallet!.getAddress();
        await refreshStalePrices(c, session, opts);
        const snap = await client.snapshot(trader);
        const info = await client.market(market);
        const position = (await client.positions(trader, snap)).find((p) => p.marketId === info.id);
        if (!position) throw new CliError(`no position in ${info.symbol}`);
        const request: TradeRequest = {
          market: info.id,
          side: position.size > 0n ? "short" : "long",
          size: math.abs(position.size),
          isolated: position.isolated,
          slippage: opts.slippage,
        };
        const quote = await client.quoteTrade(request, trader, snap);
        const { receipt, executed, text, order } = await confirmAndSend(c, session, quote, snap, opts, true);
        c.print(
          () => text,
          () => ({
            action: "close",
            quote: quoteJson(quote),
            transaction: receiptJson(receipt),
            executed,
            ...(order ? { order: order.order, outcome: order.outcome } : {}),
          }),
        );
      });
    });
}
