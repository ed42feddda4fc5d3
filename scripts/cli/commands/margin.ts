/** `add-margin` and `remove-margin`: USD between the cross balance and an isolated position. */
import type { Command } from "commander";

import { formatPercent } from "@perp/sdk";
import type { ContextOf } from "../context.js";
import { price, receiptJson, usd } from "../format.js";
import { decimal } from "../options.js";

const VERBS = [
  ["add-margin", "move USD from your cross balance into an isolated position's margin", "addMargin", "Added", "to"],
  ["remove-margin", "move USD from an isolated position's margin back to your cross balance", "removeMargin", "Removed", "from"],
] as const;

export function register(program: Command, ctx: ContextOf): void {
  for (const [name, description, verb, done, preposition] of VERBS) {
    program
      .command(name)
      .description(description)
      .argument("<market>", "market symbol or id")
      .argument("<usd>", "amount in USD, e.g. 100", decimal("the amount"))
      .action(async (market: string, amount: string, _opts: unknown, command: Command) => {
        const c = ctx(command);
        await c.session(true, async ({ client, wallet }) => {
          const receipt = await client[verb](market, amount);
          const trader = await wallet!.getAddress();
          const info = await client.market(market);
          const position = (await client.positions(trader)).find((p) => p.marketId === info.id);
          c.print(
            () =>
              `${done} ${amount} USD ${preposition} ${info.symbol} in ${receipt.hash} (block ${receipt.blockNumber}); ` +
              `margin ${usd(position?.margin ?? 0n)}` +
              (position && position.liquidationPrice > 0n
                ? `, est. liquidation ${price(position.liquidationPrice)} (${formatPercent(position.liquidationDistance)} away)`
                : ""),
            () => ({ action: name, transaction: receiptJson(receipt), position }),
          );
        });
      });
  }
}
