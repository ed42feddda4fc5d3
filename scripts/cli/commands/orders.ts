/**
 * `order stop|tp|limit|stop-entry|trail|list|cancel|update|settle`: trigger orders and the trader's open orders (v2
 * order book). Each command is one SDK action; prices in USD, sizes in the base asset.
 */
import type { Command } from "commander";

import { PerpClient, formatPercent, type OrderInfo, type OrderOutcome, type PlaceTriggerOrderParameters } from "@perp/sdk";
import type { Context, ContextOf } from "../context.js";
import { CliError } from "../errors.js";
import { baseOf, price, receiptJson, size, table, usd } from "../format.js";
import {
  addSettleOptions,
  addressArg,
  decimal,
  orderIdArg,
  percentArg,
  priceArg,
  sideArg,
  sizeOrAllArg,
  trailArg,
  type SettleOptions,
} from "../options.js";
import { cliPriceSource } from "../prices.js";
import type { Session } from "../session.js";

/** The session's client, refusing a deployment without an order book. */
function orderClient(session: Session): PerpClient {
  if (!session.client.orderBook) {
    throw new CliError(`the deployment "${session.deployment.network}" has no order book (v1): trades go straight to the engine`);
  }
  return session.client;
}

/** The client with a price source attached, for settling. */
export async function settlingClient(session: Session, opts: SettleOptions): Promise<PerpClient> {
  const priceSource = cliPriceSource(opts.prices, session.deployment);
  return PerpClient.connect({ runner: session.wallet ?? session.provider, deployment: session.deployment, priceSource });
}

const when = (t: bigint | undefined) => (t === undefined ? "-" : new Date(Number(t) * 1000).toISOString().replace(".000Z", "Z"));

export function ordersTable(orders: readonly OrderInfo[]): string {
  if (orders.length === 0) return "No open orders.";
  return table(
    ["Id", "Market", "Kind", "Side", "Size", "Trigger", "Worst fill", "Fee", "Settles / expires", "OCO", "Status"],
    orders.map((o) => [
      String(o.id),
      o.symbol,
      o.kind + (o.kind === "trailing-stop" ? ` ${formatPercent(BigInt(o.trailBps) * 10n ** 14n)}` : ""),
      o.side,
      o.closeAll ? "all" : size(o.sizeDelta < 0n ? -o.sizeDelta : o.sizeDelta, baseOf(o.symbol)),
      o.kind === "market" ? "-" : o.kind === "trailing-stop" ? `${price(o.trailingTrigger ?? 0n)} (peak ${price(o.triggerPrice)})` : price(o.triggerPrice),
      o.acceptablePrice === undefined ? "market" : price(o.acceptablePrice),
      usd(o.keeperFee),
      o.kind === "market" ? `${when(o.settleableAt)} / ${when(o.expiresAt)}` : "-",
      o.ocoPartner === undefined ? "-" : `#${o.ocoPartner}`,
      o.voided ? "VOID (position closed)" : "open",
    ]),
    [0, 4, 5, 6, 7],
  );
}

/** "order #5 executed at $2,000.00 (keeper 0x…, fee 0.50 USD): filled …" or the cancel reason. */
export function outcomeLine(outcome: OrderOutcome): string {
  if (outcome.status === "executed") {
    const e = outcome.execution;
    return (
      `order #${outcome.orderId} executed at ${price(outcome.price)} (published ${when(outcome.publishTime)}), keeper fee ${usd(outcome.keeperFee)}` +
      (e ? `: filled at ${price(e.fillPrice)}, fee ${usd(e.fee)}` + (e.realizedPnl !== 0n ? `, realised PnL ${usd(e.realizedPnl)}` : "") : "")
    );
  }
  return `order #${outcome.orderId} cancelled (${outcome.reason})` + (outcome.error ? `: ${outcome.error.message}` : "");
}

interface TriggerOptions {
  size?: string;
  slippage?: string;
  acceptable?: string;
  margin?: string;
  isolated?: boolean;
}

async function place(c: Context, parameters: PlaceTriggerOrderParameters) {
  await c.session(true, async (session) => {
    const client = orderClient(session);
    const placed = await client.placeTriggerOrder(parameters);
    c.print(
      () =>
        `Placed ${parameters.kind} order #${placed.orderId} in ${placed.receipt.hash} (block ${placed.receipt.blockNumber}); ` +
        `keeper fee ${usd(placed.keeperFee)} in escrow`,
      () => ({ action: `order ${parameters.kind}`, ...placed, receipt: undefined, transaction: receiptJson(placed.receipt) }),
    );
  });
}

export function register(program: Command, ctx: ContextOf): void {
  const order = program.command("order").description("trigger orders (stop-loss, take-profit, limit, stop entry, trailing stop) and open orders");

  for (const [name, kind, what] of [
    ["stop", "stop-loss", "stop-loss: close when the price reaches the stop (stop-market unless --slippage/--acceptable)"],
    ["tp", "take-profit", "take-profit: close when the price reaches the target"],
  ] as const) {
    order
      .command(name)
      .description(what)
      .argument("<market>", "market symbol or id")
      .argument("<price>", "trigger price in USD, e.g. 1850", priceArg("the trigger price"))
      .option("--size <n>", "size to close (default: the whole position)", decimal("the size"))
      .option("--slippage <percent>", "worst fill beyond the trigger, e.g. 1%", percentArg)
      .option("--acceptable <price>", "worst fill price", priceArg("the acceptable price"))
      .action(async (market: string, trigger: string, opts: TriggerOptions, command: Command) => {
        await place(ctx(command), {
          market,
          kind,
          triggerPrice: trigger,
          size: opts.size,
          slippage: opts.slippage,
          acceptablePrice: opts.acceptable,
        });
      });
  }

  for (const [name, kind, what] of [
    ["limit", "limit", "limit entry: buy at or below (sell at or above) the price"],
    ["stop-entry", "stop", "stop entry: buy at or above (sell at or below) the price, a breakout"],
  ] as const) {
    order
      .command(name)
      .description(what)
      .argument("<market>", "market symbol or id")
      .argument("<side>", "long or short", sideArg)
      .argument("<price>", "trigger price in USD", priceArg("the trigger price"))
      .requiredOption("--size <n>", "size in the base asset", decimal("the size"))
      .option("--margin <usd>", "isolated margin moved in on execution", decimal("the margin"))
      .option("--isolated", "isolated margin (default cross)")
      .option("--slippage <percent>", "worst fill beyond the trigger (stop entry; default 0.5%)", percentArg)
      .option("--acceptable <price>", "worst fill price", priceArg("the acceptable price"))
      .action(async (market: string, side: "long" | "short", trigger: string, opts: TriggerOptions, command: Command) => {
        if (opts.margin !== undefined && !opts.isolated) throw new CliError("--margin moves margin into an isolated position: add --isolated", 2);
        await place(ctx(command), {
          market,
          kind,
          side,
          size: opts.size,
          triggerPrice: trigger,
          margin: opts.margin,
          isolated: opts.isolated,
          slippage: opts.slippage,
          acceptablePrice: opts.acceptable,
        });
      });
  }

  order
    .command("trail")
    .description("trailing stop: close when the price retraces the distance from the best price since placement")
    .argument("<market>", "market symbol or id")
    .argument("<distance>", "retrace from the peak, e.g. 2% or 150bps", trailArg)
    .option("--size <n>", "size to close (default: the whole position)", decimal("the size"))
    .action(async (market: string, trailBps: number, opts: TriggerOptions, command: Command) => {
      await place(ctx(command), { market, kind: "trailing-stop", trailBps, size: opts.size });
    });

  order
    .command("list")
    .description("your open orders (or --trader's): kind, prices, fee, times, OCO partner, void flag")
    .option("--trader <address>", "another account", addressArg)
    .action(async (opts: { trader?: string }, command: Command) => {
      const c = ctx(command);
      await c.session(opts.trader === undefined, async (session) => {
        const trader = await c.account(session, opts.trader, "order list");
        const orders = await orderClient(session).orders(trader);
        c.print(() => ordersTable(orders), () => ({ action: "order list", trader, orders }));
      });
    });

  order
    .command("cancel")
    .description("cancel a trigger order (fee back), or an expired market order")
    .argument("<id>", "order id", orderIdArg)
    .action(async (id: bigint, _opts: unknown, command: Command) => {
      const c = ctx(command);
      await c.session(true, async (session) => {
        const { receipt, outcome } = await orderClient(session).cancelOrder(id);
        c.print(() => `${outcomeLine(outcome)} in ${receipt.hash}`, () => ({ action: "order cancel", outcome, transaction: receiptJson(receipt) }));
      });
    });

  order
    .command("update")
    .description("change a trigger order's trigger, size or worst fill (only newer prices can execute it then)")
    .argument("<id>", "order id", orderIdArg)
    .option("--price <price>", "new trigger price", priceArg("the trigger price"))
    .option("--size <n>", 'new size, or "all"', sizeOrAllArg)
    .option("--acceptable <price>", "new worst fill price", priceArg("the acceptable price"))
    .action(async (id: bigint, opts: { price?: string; size?: string; acceptable?: string }, command: Command) => {
      if (opts.price === undefined && opts.size === undefined && opts.acceptable === undefined) {
        throw new CliError("give --price, --size or --acceptable", 2);
      }
      const c = ctx(command);
      await c.session(true, async (session) => {
        const updated = await orderClient(session).updateTriggerOrder({
          orderId: id,
          triggerPrice: opts.price,
          size: opts.size as string | "all" | undefined,
          acceptablePrice: opts.acceptable,
        });
        c.print(
          () => `Updated order #${id} in ${updated.receipt.hash}: trigger ${price(updated.triggerPrice)}`,
          () => ({ action: "order update", ...updated, receipt: undefined, transaction: receiptJson(updated.receipt) }),
        );
      });
    });

  addSettleOptions(
    order
      .command("settle")
      .description("settle a market order yourself with a price source (the keeper fee is yours)")
      .argument("<id>", "order id", orderIdArg),
  ).action(async (id: bigint, opts: SettleOptions, command: Command) => {
    const c = ctx(command);
    await c.session(true, async (session) => {
      orderClient(session);
      const client = await settlingClient(session, opts);
      const settled = await client.settleOrder({ orderId: id });
      c.print(
        () => `${outcomeLine(settled.outcome)} in ${settled.receipt.hash}`,
        () => ({ action: "order settle", outcome: settled.outcome, oracleFee: settled.oracleFee, transaction: receiptJson(settled.receipt) }),
      );
    });
  });
}
