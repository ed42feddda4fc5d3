/**
 * What a command's action gets: its parsed global options, output in the chosen format, a session (endpoint,
 * deployment, client, key) and the small helpers several command groups share.
 */
import type { Command } from "commander";
import type { TransactionReceipt } from "ethers";

import { math, type Deployment, type PerpClient, type TradeQuote } from "@perp/sdk";
import { CliError } from "./errors.js";
import { baseOf, json, price, size, usd, type Output } from "./format.js";
import { openSession, type GlobalOptions, type Session } from "./session.js";

/** Chains of `npx hardhat node` and anvil (31337) and of other local dev nodes (1337): the mocks live there. */
export const LOCAL_CHAIN_IDS: readonly number[] = [31337, 1337];

export class Context {
  constructor(
    readonly command: Command,
    readonly io: Output,
  ) {}

  get options(): GlobalOptions {
    return this.command.optsWithGlobals<GlobalOptions>();
  }

  get json(): boolean {
    return Boolean(this.options.json);
  }

  print(human: () => string, machine: () => unknown): void {
    this.io.out(this.json ? json(machine()) : human());
  }

  /** Runs `fn` with a session (closed afterwards). */
  async session<T>(signer: boolean, fn: (s: Session) => Promise<T>): Promise<T> {
    const session = await openSession(this.options, signer);
    try {
      return await fn(session);
    } finally {
      session.close();
    }
  }

  /** `--trader`, else the key's address; neither is an error naming `what` needed it. */
  async account(session: Session, trader: string | undefined, what: string): Promise<string> {
    if (trader) return trader;
    if (session.wallet) return session.wallet.getAddress();
    throw new CliError(`${what} needs an account: pass --trader <address>, set PRIVATE_KEY or use --keystore <NAME>`);
  }
}

/** Makes a command's context; every `commands/*.ts` registers its commands with one. */
export type ContextOf = (command: Command) => Context;

/** Refuses `what` unless the deployment is on a local development chain (where the mocks have open setters). */
export function requireLocalChain(deployment: Pick<Deployment, "chainId" | "network">, what: string): void {
  if (!LOCAL_CHAIN_IDS.includes(deployment.chainId)) {
    throw new CliError(
      `${what} works on local development chains only (chain ${LOCAL_CHAIN_IDS.join(" or ")}); ` +
        `"${deployment.network}" is chain ${deployment.chainId}`,
    );
  }
}

export async function tokenInfo(client: PerpClient) {
  const [decimals, symbol] = await Promise.all([client.token.decimals(), client.token.symbol()]);
  return { decimals: Number(decimals), symbol };
}

/** "Sent 0x… (block n): filled 2.5 ETH at $2,000.00, fee 1.00 USD, funding settled …" from the trade's event. */
export function executedLine(client: PerpClient, quote: TradeQuote, receipt: TransactionReceipt) {
  const [executed] = client.tradeExecutions(receipt);
  const text = executed
    ? `filled ${size(math.abs(executed.sizeDelta), baseOf(quote.symbol))} at ${price(executed.fillPrice)}, fee ${usd(executed.fee)}` +
      (executed.realizedPnl !== 0n ? `, realised PnL ${usd(executed.realizedPnl)}` : "") +
      (executed.fundingPaid !== 0n ? `, funding settled ${usd(executed.fundingPaid)}` : "")
    : "no trade event in the receipt";
  return { executed, text: `Sent ${receipt.hash} (block ${receipt.blockNumber}): ${text}` };
}
