/** `lp deposit`, `lp withdraw` and `vault`: the LP vault, with the end of the holder's cooldown. */
import type { Command } from "commander";

import { formatDecimal } from "@perp/sdk";
import { tokenInfo, type ContextOf } from "../context.js";
import { keyValues, receiptJson, tokens, usd } from "../format.js";
import { addressArg, decimal } from "../options.js";
import { hasKey } from "../session.js";

/** "2026-12-03 00:41:07 UTC". */
const when = (seconds: bigint) => `${new Date(Number(seconds) * 1000).toISOString().replace("T", " ").slice(0, 19)} UTC`;

export function register(program: Command, ctx: ContextOf): void {
  const lp = program.command("lp").description("the LP vault: deposit or withdraw USDC");
  for (const [name, description] of [
    ["deposit", "deposit USDC into the LP vault (approves it first if needed; starts the withdrawal cooldown)"],
    ["withdraw", "withdraw USDC from the LP vault (after the cooldown)"],
  ] as const) {
    lp.command(name)
      .description(description)
      .argument("<amount>", "USDC", decimal("the amount"))
      .action(async (amount: string, _opts: unknown, command: Command) => {
        const c = ctx(command);
        await c.session(true, async ({ client, wallet }) => {
          const receipt = name === "deposit" ? await client.lpDeposit(amount) : await client.lpWithdraw(amount);
          const owner = await wallet!.getAddress();
          const { shares, maxWithdraw: assets, ...lock } = await client.lpPosition(owner);
          const [shareDecimals, token] = await Promise.all([client.vault.decimals(), tokenInfo(client)]);
          c.print(
            () =>
              `${name === "deposit" ? "Deposited" : "Withdrew"} ${amount} ${token.symbol} in ${receipt.hash} ` +
              `(block ${receipt.blockNumber}); you hold ${tokens(shares, Number(shareDecimals), "shares")}` +
              ` (withdrawable now ${tokens(assets, token.decimals, token.symbol)}` +
              `${lock.locked ? `; locked until ${when(lock.cooldownEndsAt)}` : ""})`,
            () => ({ action: `lp ${name}`, transaction: receiptJson(receipt), shares, maxWithdraw: assets, cooldownEndsAt: lock.cooldownEndsAt }),
          );
        });
      });
  }

  program
    .command("vault")
    .description("the LP vault: NAV, cash, share price, insurance fund (and your shares with a key or --trader)")
    .option("--trader <address>", "show this account's shares", addressArg)
    .action(async (opts: { trader?: string }, command: Command) => {
      const c = ctx(command);
      const signer = opts.trader === undefined && hasKey(c.options);
      await c.session(signer, async (session) => {
        const { client } = session;
        const owner = opts.trader ?? (session.wallet ? await session.wallet.getAddress() : undefined);
        const [state, sharePrice, totalSupply, shareDecimals, token] = await Promise.all([
          client.vaultState(),
          client.vaultSharePrice(),
          client.vault.totalSupply(),
          client.vault.decimals(),
          tokenInfo(client),
        ]);
        const holding = owner ? await client.lpPosition(owner) : undefined;
        const rows: [string, string][] = [
          ["NAV", usd(state.nav)],
          ["Cash", usd(state.cash)],
          ["Cash free for LP withdrawals", usd(state.withdrawable)],
          ["Insurance fund", usd(state.insuranceFund)],
          ["Share price", `${formatDecimal(sharePrice, 18, 2, 6)} ${token.symbol} per share`],
          ["Shares outstanding", tokens(totalSupply, Number(shareDecimals), "shares")],
        ];
        if (owner && holding) {
          rows.push(["Your shares", `${tokens(holding.shares, Number(shareDecimals), "shares")} (${owner})`]);
          rows.push(["You can withdraw now", tokens(holding.maxWithdraw, token.decimals, token.symbol)]);
          if (holding.locked) rows.push(["Your cooldown ends", when(holding.cooldownEndsAt)]);
        }
        c.print(
          () => keyValues(rows),
          () => ({
            ...state,
            sharePrice,
            totalSupply,
            ...(owner && holding ? { owner, ...holding } : {}),
          }),
        );
      });
    });
}
