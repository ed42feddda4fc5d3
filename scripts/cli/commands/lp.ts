/** `lp deposit|withdraw` (ERC-7540 requests), `lp settle|claim|cancel|requests` and `vault`: the LP vault. */
import { InvalidArgumentError, type Command } from "commander";

import { formatDecimal, type LpRequestKind } from "@perp/sdk";
import { tokenInfo, type ContextOf } from "../context.js";
import { keyValues, receiptJson, tokens, usd } from "../format.js";
import { addressArg, decimal } from "../options.js";
import { hasKey } from "../session.js";

/** "2026-12-03 00:41:07 UTC". */
/** "deposit" | "redeem". */
const kindArg = (value: string): LpRequestKind => {
  if (value !== "deposit" && value !== "redeem") throw new InvalidArgumentError("deposit or redeem");
  return value;
};
const when = (seconds: bigint) => `${new Date(Number(seconds) * 1000).toISOString().replace("T", " ").slice(0, 19)} UTC`;

export function register(program: Command, ctx: ContextOf): void {
  const lp = program.command("lp").description("the LP vault: request deposits/redemptions, settle, claim, cancel");
  for (const [name, description] of [
    ["deposit", "request a deposit of USDC into the LP vault (approves amount + keeper fee if needed); settled later at the NAV then"],
    ["withdraw", "request a redemption of the shares worth <amount> USDC now (after the cooldown); paid at the NAV at settle"],
  ] as const) {
    lp.command(name)
      .description(description)
      .argument("<amount>", "USDC", decimal("the amount"))
      .action(async (amount: string, _opts: unknown, command: Command) => {
        const c = ctx(command);
        await c.session(true, async ({ client, wallet }) => {
          const receipt = name === "deposit" ? await client.lpDeposit(amount) : await client.lpWithdraw(amount);
          const owner = await wallet!.getAddress();
          const requests = await client.lpRequests(owner);
          const pending = name === "deposit" ? requests.pendingDeposit : requests.pendingRedeem;
          const token = await tokenInfo(client);
          c.print(
            () =>
              `Requested to ${name} ${amount} ${token.symbol} in ${receipt.hash} (block ${receipt.blockNumber}); ` +
              `settleable from ${when(pending.settleableAt)}, cancellable from ${when(pending.cancellableAt)} ` +
              `(keeper fee ${tokens(pending.fee, token.decimals, token.symbol)} escrowed)`,
            () => ({ action: `lp ${name}`, transaction: receiptJson(receipt), ...pending }),
          );
        });
      });
  }
  lp.command("settle")
    .description("settle a due LP request of <controller> (anyone may; the escrowed keeper fee is paid to you)")
    .argument("<kind>", "deposit | redeem", kindArg)
    .argument("<controller>", "the LP's address", addressArg)
    .action(async (kind: LpRequestKind, controller: string, _opts: unknown, command: Command) => {
      const c = ctx(command);
      await c.session(true, async ({ client }) => {
        const receipt = await client.lpSettle(kind, controller);
        c.print(
          () => `Settled the ${kind} request of ${controller} in ${receipt.hash} (block ${receipt.blockNumber})`,
          () => ({ action: "lp settle", kind, controller, transaction: receiptJson(receipt) }),
        );
      });
    });
  lp.command("claim")
    .description("claim a settled LP request: the shares of a deposit, or the USDC of a redemption")
    .argument("<kind>", "deposit | redeem", kindArg)
    .action(async (kind: LpRequestKind, _opts: unknown, command: Command) => {
      const c = ctx(command);
      await c.session(true, async ({ client, wallet }) => {
        const owner = await wallet!.getAddress();
        const before = await client.lpRequests(owner);
        const claimed = kind === "deposit" ? before.claimableDeposit : before.claimableRedeem;
        const receipt = await client.lpClaim(kind);
        const [shareDecimals, token] = await Promise.all([client.vault.decimals(), tokenInfo(client)]);
        c.print(
          () =>
            `Claimed ${tokens(claimed.shares, Number(shareDecimals), "shares")} / ` +
            `${tokens(claimed.assets, token.decimals, token.symbol)} (${kind}) in ${receipt.hash} (block ${receipt.blockNumber})`,
          () => ({ action: "lp claim", kind, ...claimed, transaction: receiptJson(receipt) }),
        );
      });
    });
  lp.command("cancel")
    .description("cancel your LP request still pending an hour after it was made (assets or shares and fee back)")
    .argument("<kind>", "deposit | redeem", kindArg)
    .action(async (kind: LpRequestKind, _opts: unknown, command: Command) => {
      const c = ctx(command);
      await c.session(true, async ({ client }) => {
        const receipt = await client.lpCancel(kind);
        c.print(
          () => `Cancelled your ${kind} request in ${receipt.hash} (block ${receipt.blockNumber})`,
          () => ({ action: "lp cancel", kind, transaction: receiptJson(receipt) }),
        );
      });
    });
  lp.command("requests")
    .description("your (or --trader's) pending and claimable LP requests")
    .option("--trader <address>", "this account's requests", addressArg)
    .action(async (opts: { trader?: string }, command: Command) => {
      const c = ctx(command);
      const signer = opts.trader === undefined && hasKey(c.options);
      await c.session(signer, async (session) => {
        const { client } = session;
        const owner = opts.trader ?? (session.wallet ? await session.wallet.getAddress() : undefined);
        if (owner === undefined) throw new Error("give --trader or a key");
        const r = await client.lpRequests(owner);
        const [shareDecimals, token] = await Promise.all([client.vault.decimals(), tokenInfo(client)]);
        const sh = (v: bigint) => tokens(v, Number(shareDecimals), "shares");
        const tk = (v: bigint) => tokens(v, token.decimals, token.symbol);
        const p = (x: typeof r.pendingDeposit, amount: string) =>
          x.requestedAt === 0n ? "none" : `${amount}, settleable from ${when(x.settleableAt)}${x.due ? " (due)" : ""}`;
        c.print(
          () =>
            keyValues([
              ["Pending deposit", p(r.pendingDeposit, tk(r.pendingDeposit.amount))],
              ["Pending redemption", p(r.pendingRedeem, sh(r.pendingRedeem.amount))],
              ["Claimable deposit", `${sh(r.claimableDeposit.shares)} (for ${tk(r.claimableDeposit.assets)})`],
              ["Claimable redemption", `${tk(r.claimableRedeem.assets)} (for ${sh(r.claimableRedeem.shares)})`],
              ["Settle delay", `${r.settleDelay} s`],
              ["Keeper fee", tk(r.keeperFee)],
            ]),
          () => ({ owner, ...r }),
        );
      });
    });

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
