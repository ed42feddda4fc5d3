/** `positions`, `markets` and `account`: reads at one block, no key needed with --trader. */
import type { Command } from "commander";

import { tokenInfo, type ContextOf } from "../context.js";
import { keyValues, marketsTable, positionsTable, tokens, usd } from "../format.js";
import { addressArg } from "../options.js";
import { hasKey } from "../session.js";

export function register(program: Command, ctx: ContextOf): void {
  program
    .command("positions")
    .description("open positions with PnL, funding, estimated liquidation price and distance")
    .option("--trader <address>", "whose positions (default: the key's)", addressArg)
    .option("--funding", "also the funding each position has paid (+) or received (-) so far: scans the account's events")
    .action(async (opts: { trader?: string; funding?: boolean }, command: Command) => {
      const c = ctx(command);
      await c.session(opts.trader === undefined && hasKey(c.options), async (session) => {
        const trader = await c.account(session, opts.trader, "positions");
        const snap = await session.client.snapshot(trader);
        const positions = await session.client.positions(trader, snap, { withFunding: opts.funding === true });
        c.print(
          () =>
            [
              positionsTable(positions),
              ...positions
                .filter((p) => p.fundingTotal !== undefined)
                .map((p) => `${p.symbol}: funding paid so far ${usd(p.fundingTotal!)} (settled ${usd(p.fundingPaid!)}, accrued ${usd(p.accruedFunding)})`),
            ].join("\n"),
          () => ({ trader, blockNumber: snap.blockNumber, positions }),
        );
      });
    });

  program
    .command("markets")
    .description("listed markets: index price, open interest, funding, limits")
    .action(async (_opts: unknown, command: Command) => {
      const c = ctx(command);
      await c.session(false, async ({ client }) => {
        const markets = await client.markets();
        c.print(() => marketsTable(markets), () => ({ markets }));
      });
    });

  program
    .command("account")
    .description("wallet and cross-account balances, cross health, positions")
    .option("--trader <address>", "which account (default: the key's)", addressArg)
    .action(async (opts: { trader?: string }, command: Command) => {
      const c = ctx(command);
      await c.session(opts.trader === undefined && hasKey(c.options), async (session) => {
        const { client } = session;
        const trader = await c.account(session, opts.trader, "account");
        const snap = await client.snapshot(trader);
        const [health, positions, walletBalance, token] = await Promise.all([
          client.crossHealth(trader, snap),
          client.positions(trader, snap),
          client.token.balanceOf(trader, { blockTag: snap.blockNumber }),
          tokenInfo(client),
        ]);
        const isolatedMargin = positions.filter((p) => p.isolated).reduce((sum, p) => sum + p.margin, 0n);
        const rows: [string, string][] = [
          ["Account", trader],
          ["Wallet", tokens(walletBalance, token.decimals, token.symbol)],
          ["Cross balance", usd(snap.account.crossBalance)],
          ["Cross equity", usd(health.equity)],
          ["Initial margin", usd(health.initialMargin)],
          ["Maintenance margin", usd(health.maintenanceMargin)],
        ];
        rows.push(["Isolated margin", usd(isolatedMargin)], ["Open positions", String(positions.length)], ["Block", String(snap.blockNumber)]);
        c.print(
          () => keyValues(rows) + (positions.length > 0 ? `\n${positionsTable(positions)}` : ""),
          () => ({
            trader,
            blockNumber: snap.blockNumber,
            walletBalance,
            tokenDecimals: token.decimals,
            crossBalance: snap.account.crossBalance,
            crossHealth: health,
            positions,
          }),
        );
      });
    });
}
