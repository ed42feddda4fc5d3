/**
 * `history`: an account's trades, funding settled, positions closed at the index (liquidation, deleveraging) and
 * liquidations, from the engine's events (the SDK's decoder), with totals.
 */
import type { Command } from "commander";

import { eventsNamed, getPerpEvents, liquidatedMarket, math, type Deployment, type PerpEvent } from "@perp/sdk";
import type { ContextOf } from "../context.js";
import { baseOf, price, size, table, usd } from "../format.js";
import { addressArg } from "../options.js";
import { hasKey } from "../session.js";

const NAMES = ["PositionModified", "PositionClosedAtIndex", "Liquidated"] as const;

/** One table row per event: block, what, market, size, price, fee, realised PnL, funding paid. */
function row(event: PerpEvent, deployment: Deployment): string[] {
  const symbolOf = (id: bigint | number | undefined) =>
    id === undefined ? "cross account" : (deployment.markets.find((m) => BigInt(m.id) === BigInt(id))?.symbol ?? `market ${id}`);
  switch (event.name) {
    case "PositionModified": {
      const symbol = symbolOf(event.marketId);
      const what = event.newSize === 0n ? "close" : event.sizeDelta > 0n ? "buy" : "sell";
      return [String(event.blockNumber), what, symbol, size(math.abs(event.sizeDelta), baseOf(symbol)), price(event.fillPrice), usd(event.fee), usd(event.realizedPnl), usd(event.fundingPaid)];
    }
    case "PositionClosedAtIndex": {
      const symbol = symbolOf(event.marketId);
      return [String(event.blockNumber), "closed at index", symbol, size(math.abs(event.size), baseOf(symbol)), price(event.price), "-", usd(event.realizedPnl), usd(event.fundingPaid)];
    }
    case "Liquidated":
      return [String(event.blockNumber), `liquidated (keeper ${usd(event.keeperReward)}, back ${usd(event.traderRemainder)})`, symbolOf(liquidatedMarket(event.marketId)), "-", "-", "-", "-", "-"];
    default:
      return [];
  }
}

export function register(program: Command, ctx: ContextOf): void {
  program
    .command("history")
    .description("an account's trades, funding settled and liquidations, from the engine's events")
    .option("--trader <address>", "whose history (default: the key's)", addressArg)
    .option("--from-block <n>", "first block (default: the deployment's)", (v) => Number.parseInt(v, 10))
    .action(async (opts: { trader?: string; fromBlock?: number }, command: Command) => {
      const c = ctx(command);
      await c.session(opts.trader === undefined && hasKey(c.options), async (session) => {
        const { provider, deployment } = session;
        const trader = await c.account(session, opts.trader, "history");
        const toBlock = await provider.getBlockNumber();
        const fromBlock = opts.fromBlock ?? deployment.deploymentBlock;
        const events = (await getPerpEvents(provider, deployment, { fromBlock, toBlock, names: NAMES })).filter(
          (e) => e.contract === "engine" && "trader" in e && e.trader.toLowerCase() === trader.toLowerCase(),
        );
        const trades = eventsNamed(events, "PositionModified");
        const closes = eventsNamed(events, "PositionClosedAtIndex");
        const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);
        const totals = {
          fees: sum(trades.map((t) => t.fee)),
          realizedPnl: sum([...trades, ...closes].map((t) => t.realizedPnl)),
          fundingPaid: sum([...trades, ...closes].map((t) => t.fundingPaid)),
        };
        c.print(
          () =>
            events.length === 0
              ? `No trades or liquidations for ${trader} in blocks ${fromBlock} to ${toBlock}.`
              : table(
                  ["Block", "Event", "Market", "Size", "Price", "Fee", "Realised PnL", "Funding paid"],
                  [...events.map((e) => row(e, deployment)), ["", "total", "", "", "", usd(totals.fees), usd(totals.realizedPnl), usd(totals.fundingPaid)]],
                  [0, 3, 4, 5, 6, 7],
                ),
          () => ({ trader, fromBlock, toBlock, events, totals }),
        );
      });
    });
}
