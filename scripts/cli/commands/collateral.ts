/** `deposit`, `withdraw` and (local chains) `faucet`: USDC in and out of the cross balance. */
import { Contract, type ContractTransactionResponse } from "ethers";
import type { Command as Program } from "commander";

import { parseDecimal, withPerpErrors } from "@perp/sdk";
import { requireLocalChain, tokenInfo, type ContextOf } from "../context.js";
import { CliError } from "../errors.js";
import { receiptJson, tokens, usd } from "../format.js";
import { addressArg, decimal } from "../options.js";

export function register(program: Program, ctx: ContextOf): void {
  program
    .command("deposit")
    .description("deposit USDC into your cross balance (approves the engine first if needed)")
    .argument("<amount>", "USDC, e.g. 1000", decimal("the amount"))
    .option("--permit", "sign an EIP-2612 permit instead of sending an approval (one transaction)")
    .action(async (amount: string, opts: { permit?: boolean }, command: Program) => {
      const c = ctx(command);
      await c.session(true, async ({ client, wallet }) => {
        const receipt = opts.permit ? await client.depositWithPermit(amount) : await client.deposit(amount);
        const account = await client.account(await wallet!.getAddress());
        const token = await tokenInfo(client);
        c.print(
          () =>
            `Deposited ${amount} ${token.symbol}${opts.permit ? " (permit)" : ""} in ${receipt.hash} (block ${receipt.blockNumber}); ` +
            `cross balance ${usd(account.crossBalance)}`,
          () => ({ action: "deposit", permit: Boolean(opts.permit), transaction: receiptJson(receipt), crossBalance: account.crossBalance }),
        );
      });
    });

  program
    .command("withdraw")
    .description("withdraw USDC from your cross balance")
    .argument("<amount>", "USDC, e.g. 250", decimal("the amount"))
    .option("--to <address>", "receiver (default: yourself)", addressArg)
    .action(async (amount: string, opts: { to?: string }, command: Program) => {
      const c = ctx(command);
      await c.session(true, async ({ client, wallet }) => {
        const receipt = await client.withdraw(amount, opts.to);
        const account = await client.account(await wallet!.getAddress());
        const receiver = opts.to ?? (await wallet!.getAddress());
        const token = await tokenInfo(client);
        c.print(
          () =>
            `Withdrew ${amount} ${token.symbol} to ${receiver} in ${receipt.hash} (block ${receipt.blockNumber}); ` +
            `cross balance ${usd(account.crossBalance)}`,
          () => ({ action: "withdraw", receiver, transaction: receiptJson(receipt), crossBalance: account.crossBalance }),
        );
      });
    });

  program
    .command("faucet")
    .description("mint collateral to yourself: local deployments only (MockUSDC has an open mint)")
    .argument("<amount>", "USDC, e.g. 10000", decimal("the amount"))
    .action(async (amount: string, _opts: unknown, command: Program) => {
      const c = ctx(command);
      await c.session(true, async ({ client, wallet, deployment }) => {
        const owner = await wallet!.getAddress();
        const token = await tokenInfo(client);
        const units = parseDecimal(amount, token.decimals);
        if (units <= 0n) throw new CliError("the amount must be positive");
        requireLocalChain(deployment, "faucet (MockUSDC's open mint)");
        const mintable = new Contract(deployment.contracts.CollateralToken, ["function mint(address,uint256)"], wallet);
        const receipt = await withPerpErrors(async () => {
          const tx = (await mintable.mint(owner, units)) as ContractTransactionResponse;
          const mined = await tx.wait();
          if (!mined) throw new CliError("the transaction was dropped");
          return mined;
        });
        const balance = await client.token.balanceOf(owner);
        c.print(
          () =>
            `Minted ${amount} ${token.symbol} in ${receipt.hash} (block ${receipt.blockNumber}); ` +
            `wallet ${tokens(balance, token.decimals, token.symbol)}`,
          () => ({ action: "faucet", transaction: receiptJson(receipt), walletBalance: balance }),
        );
      });
    });
}
