/**
 * `liquidate` (an unhealthy isolated position or cross account; the reward goes to your cross balance) and `adl`
 * (auto-deleveraging: closes a profitable position at the index price when traders' profit exceeds what the vault
 * can pay). Both check first that the trader holds a position there, so an empty account reads as such.
 */
import type { Command } from "commander";

import type { PerpClient } from "@perp/sdk";
import type { ContextOf } from "../context.js";
import { CliError } from "../errors.js";
import { receiptJson, usd } from "../format.js";
import { addressArg } from "../options.js";

/** The market, after checking that `trader` holds a position in it. */
async function heldMarket(client: PerpClient, trader: string, market: string, what: string) {
  const info = await client.market(market);
  const snap = await client.snapshot(trader);
  if (!snap.account.positions.has(info.id)) {
    throw new CliError(`${trader} has no position in ${info.symbol}: nothing to ${what}`);
  }
  return info;
}

export function register(program: Command, ctx: ContextOf): void {
  program
    .command("liquidate")
    .description("liquidate an unhealthy position (isolated) or cross account; the reward goes to your cross balance")
    .argument("<trader>", "the trader's address", addressArg)
    .argument("<market>", "market symbol or id")
    .action(async (trader: string, market: string, _opts: unknown, command: Command) => {
      const c = ctx(command);
      await c.session(true, async ({ client }) => {
        const info = await heldMarket(client, trader, market, "liquidate");
        const receipt = await client.liquidate(trader, info.id);
        const liquidations = client.liquidationEvents(receipt);
        c.print(
          () =>
            [
              `Liquidated in ${receipt.hash} (block ${receipt.blockNumber})`,
              ...liquidations.map(
                (l) =>
                  `  ${l.trader} ${l.marketId === undefined ? "cross account" : `market ${l.marketId}`}: notional ` +
                  `${usd(l.notional)}, equity ${usd(l.equity)}, your reward ${usd(l.keeperReward)}`,
              ),
            ].join("\n"),
          () => ({ action: "liquidate", transaction: receiptJson(receipt), liquidations }),
        );
      });
    });

  program
    .command("adl")
    .description("auto-deleverage: close a profitable position at the index price while traders' profit is above the vault's limit")
    .argument("<trader>", "the trader's address", addressArg)
    .argument("<market>", "market symbol or id")
    .action(async (trader: string, market: string, _opts: unknown, command: Command) => {
      const c = ctx(command);
      await c.session(true, async ({ client }) => {
        const info = await heldMarket(client, trader, market, "deleverage");
        const receipt = await client.autoDeleverage(trader, info.id);
        c.print(
          () => `Auto-deleveraged ${trader} in ${info.symbol}: closed at the index price in ${receipt.hash} (block ${receipt.blockNumber})`,
          () => ({ action: "adl", trader, marketId: info.id, transaction: receiptJson(receipt) }),
        );
      });
    });
}
