/**
 * `quote`, `open` and `close`: the trade is quoted first (the SDK mirrors the engine), shown, confirmed (or --yes)
 * and then sent with the quote's worst acceptable price. A quote the engine would reject is refused in one line.
 */
import type { Command } from "commander";

import { math, type PerpClient, type Snapshot, type TradeQuote, type TradeRequest } from "@perp/sdk";
import { executedLine, type Context, type ContextOf } from "../context.js";
import { CliError } from "../errors.js";
import { positionsTable, quoteJson, quoteTable, receiptJson } from "../format.js";
import { addSlippageOption, addTradeOptions, addressArg, checkSizing, checkSlippage, type TradeOptions } from "../options.js";
import { confirm } from "../prompt.js";
import { rejectionLine } from "../rejections.js";
import { hasKey } from "../session.js";

/** The SDK request for `open`/`quote`. */
function tradeRequest(market: string, side: "long" | "short", o: TradeOptions): TradeRequest {
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
  };
}

/** Shows the quote (on stderr with --json, and only when there is a terminal to confirm on), confirms, sends. */
async function confirmAndSend(
  c: Context,
  client: PerpClient,
  quote: TradeQuote,
  snap: Snapshot,
  opts: { yes?: boolean },
  closing: boolean,
) {
  if (quote.rejection) throw new CliError(rejectionLine(client, quote, snap));
  if (!c.json) c.io.out(quoteTable(quote, closing));
  else if (!opts.yes && process.stdin.isTTY) c.io.err(quoteTable(quote, closing));
  await confirm(closing ? "Close this position?" : "Send this trade?", opts.yes);
  const { receipt } = await client.sendQuote(quote);
  return { receipt, ...executedLine(client, quote, receipt) };
}

export function register(program: Command, ctx: ContextOf): void {
  addSlippageOption(addTradeOptions(program.command("quote")))
    .description("quote a trade as `open` would send it; sends nothing")
    .option("--trader <address>", "quote for this account (default: the key's)", addressArg)
    .action(async (market: string, side: "long" | "short", opts: TradeOptions, command: Command) => {
      const c = ctx(command);
      const request = tradeRequest(market, side, opts);
      const signer = opts.trader === undefined && hasKey(c.options);
      await c.session(signer, async (session) => {
        const trader = await c.account(session, opts.trader, "quote");
        const quote = await session.client.quoteTrade(request, trader);
        c.print(() => quoteTable(quote), () => ({ action: "quote", trader, quote: quoteJson(quote) }));
      });
    });

  addSlippageOption(addTradeOptions(program.command("open")))
    .description("open, grow or reduce a position (the other side reduces it): prints the quote, asks, sends")
    .option("-y, --yes", "do not ask for confirmation (also accepts a slippage above 5%)")
    .action(async (market: string, side: "long" | "short", opts: TradeOptions, command: Command) => {
      const c = ctx(command);
      const request = tradeRequest(market, side, opts);
      checkSlippage(opts.slippage, opts.yes);
      await c.session(true, async ({ client, wallet }) => {
        const trader = await wallet!.getAddress();
        const snap = await client.snapshot(trader);
        const quote = await client.quoteTrade(request, trader, snap);
        const { receipt, executed, text } = await confirmAndSend(c, client, quote, snap, opts, false);
        const position = (await client.positions(trader)).find((p) => p.marketId === quote.marketId);
        c.print(
          () => [text, position ? positionsTable([position]) : "The position is closed."].join("\n"),
          () => ({ action: "open", trader, quote: quoteJson(quote), transaction: receiptJson(receipt), executed, position }),
        );
      });
    });

  addSlippageOption(
    program
      .command("close")
      .description("close your whole position in a market: prints the quote, asks, sends")
      .argument("<market>", "market symbol or id"),
  )
    .option("-y, --yes", "do not ask for confirmation (also accepts a slippage above 5%)")
    .action(async (market: string, opts: { slippage?: string; yes?: boolean }, command: Command) => {
      const c = ctx(command);
      checkSlippage(opts.slippage, opts.yes);
      await c.session(true, async ({ client, wallet }) => {
        const trader = await wallet!.getAddress();
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
        const { receipt, executed, text } = await confirmAndSend(c, client, quote, snap, opts, true);
        c.print(
          () => text,
          () => ({ action: "close", quote: quoteJson(quote), transaction: receiptJson(receipt), executed }),
        );
      });
    });
}
