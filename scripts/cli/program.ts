/**
 * The commands of `npm run perp`: a thin layer over @perp/sdk. Quotes, sizing, validation of trades and decoded
 * errors all come from the SDK; this file parses the command line, asks for confirmation and prints.
 */
import { Argument, Command, InvalidArgumentError, Option } from "commander";
import { Contract, type ContractTransactionResponse, type TransactionReceipt } from "ethers";

import {
  formatDecimal,
  formatPercent,
  parseDecimal,
  parsePercent,
  type PerpClient,
  type TradeQuote,
  type TradeRequest,
  withPerpErrors,
} from "@perp/sdk";
import { CliError, EXIT, UsageError, describeFailure, oneLine } from "./errors.js";
import {
  baseOf,
  json,
  keyValues,
  marketsTable,
  positionsTable,
  price,
  processOutput,
  quoteJson,
  quoteTable,
  receiptJson,
  size,
  tokens,
  usd,
  type Output,
} from "./format.js";
import { confirm } from "./prompt.js";
import { hasKey, openSession, parseAddress, type GlobalOptions, type Session } from "./session.js";

/** Chains of `npx hardhat node` and anvil (31337) and of other local dev nodes (1337): MockUSDC lives there. */
const LOCAL_CHAIN_IDS = [31337, 1337];

// ------------------------------------------------------------------------------------------ argument parsers

function decimal(what: string) {
  return (value: string): string => {
    try {
      parseDecimal(value, 18);
    } catch (error) {
      throw new InvalidArgumentError(`${what} must be a decimal number (${(error as Error).message}).`);
    }
    return value.trim();
  };
}

function leverageArg(value: string): string {
  const text = value.trim().replace(/x$/i, "");
  return decimal("the leverage")(text);
}

function percentArg(value: string): string {
  try {
    parsePercent(value);
  } catch (error) {
    throw new InvalidArgumentError(`the slippage must be a percentage such as 0.5% (${(error as Error).message}).`);
  }
  return value.trim();
}

function sideArg(value: string): "long" | "short" {
  const side = value.trim().toLowerCase();
  if (side !== "long" && side !== "short") throw new InvalidArgumentError("Allowed choices are long, short.");
  return side;
}

function addressArg(value: string): string {
  try {
    return parseAddress(value);
  } catch {
    throw new InvalidArgumentError("not an address (0x followed by 40 hex digits).");
  }
}

// ------------------------------------------------------------------------------------------ helpers

interface TradeOptions {
  size?: string;
  margin?: string;
  leverage?: string;
  isolated?: boolean;
  slippage?: string;
  yes?: boolean;
  trader?: string;
}

/** The SDK request for `open`/`quote`; only the shape of the command line is checked here. */
function tradeRequest(market: string, side: "long" | "short", o: TradeOptions): TradeRequest {
  if (o.size !== undefined && o.leverage !== undefined) {
    throw new UsageError("give either --size, or --margin with --leverage, not both --size and --leverage");
  }
  if (o.size === undefined && (o.margin === undefined || o.leverage === undefined)) {
    throw new UsageError("give --size <n>, or --margin <usd> with --leverage <x>");
  }
  if (o.size !== undefined && o.margin !== undefined && !o.isolated) {
    throw new UsageError("--margin with --size moves margin into an isolated position: add --isolated");
  }
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

class Context {
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

async function tokenInfo(client: PerpClient) {
  const [decimals, symbol] = await Promise.all([client.token.decimals(), client.token.symbol()]);
  return { decimals: Number(decimals), symbol };
}

function executedLine(client: PerpClient, quote: TradeQuote, receipt: TransactionReceipt) {
  const [executed] = client.tradeExecutions(receipt);
  const text = executed
    ? `filled ${size(executed.sizeDelta < 0n ? -executed.sizeDelta : executed.sizeDelta, baseOf(quote.symbol))} at ` +
      `${price(executed.fillPrice)}, fee ${usd(executed.fee)}` +
      (executed.realizedPnl !== 0n ? `, realised PnL ${usd(executed.realizedPnl)}` : "")
    : "no trade event in the receipt";
  return { executed, text: `Sent ${receipt.hash} (block ${receipt.blockNumber}): ${text}` };
}

// ------------------------------------------------------------------------------------------ program

/**
 * Builds the `perp` program. `io` receives results (stdout) and messages (stderr).
 */
export function buildProgram(io: Output = processOutput): Command {
  const program = new Command("perp")
    .description("Trade the perp protocol from the command line (a thin layer over @perp/sdk).")
    .addOption(new Option("--rpc <url>", "JSON-RPC endpoint (default: env RPC_URL, else http://127.0.0.1:8545)"))
    .addOption(
      new Option(
        "--deployment <name-or-path>",
        "deployment record: a name in deployments/ or a JSON file (default: the one of the endpoint's chain id)",
      ),
    )
    .addOption(new Option("--keystore <NAME>", "read the private key from Hardhat's keystore (default: env PRIVATE_KEY)"))
    .addOption(new Option("--keystore-dev", "with --keystore: read Hardhat's development keystore (no password; local chains)"))
    .addOption(new Option("--json", "machine-readable output (exact integers as decimal strings)"))
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: (text, write) => write(`${oneLine(text)}\n`),
    })
    .showHelpAfterError(false)
    .addHelpText(
      "after",
      `
Units: USD and USDC amounts as decimals ("1000.5"), sizes in the base asset ("2.5" ETH), leverage "10" or "10x",
slippage "0.5%". With --json, prices, sizes and USD amounts are WAD integers (18 decimals) and token amounts are
token units, all as decimal strings.

Failures: one line on stderr, nothing sent; exit code 1, or 2 for a usage error. The key is never printed.

Examples:
  npm run perp -- markets
  PRIVATE_KEY=0x... npm run perp -- deposit 1000
  npm run perp -- open ETH long --margin 500 --leverage 10 --isolated
  npm run perp -- positions
  npm run perp -- close ETH`,
    );

  const ctx = (command: Command) => new Context(command, io);

  // ---------------------------------------------------------------------------------------- collateral

  program
    .command("deposit")
    .description("deposit USDC into your cross balance (approves the engine first if needed)")
    .argument("<amount>", "USDC, e.g. 1000", decimal("the amount"))
    .option("--permit", "sign an EIP-2612 permit instead of sending an approval (one transaction)")
    .action(async (amount: string, opts: { permit?: boolean }, command: Command) => {
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
    .action(async (amount: string, opts: { to?: string }, command: Command) => {
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
    .action(async (amount: string, _opts: unknown, command: Command) => {
      const c = ctx(command);
      await c.session(true, async ({ client, wallet, deployment }) => {
        const owner = await wallet!.getAddress();
        const token = await tokenInfo(client);
        const units = parseDecimal(amount, token.decimals);
        if (units <= 0n) throw new CliError("the amount must be positive");
        if (!LOCAL_CHAIN_IDS.includes(deployment.chainId)) {
          throw new CliError(`faucet mints local MockUSDC only; "${deployment.network}" is chain ${deployment.chainId}`);
        }
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

  // ---------------------------------------------------------------------------------------- trading

  const tradeOptions = (command: Command) =>
    command
      .argument("<market>", "market symbol or id: ETH-USD, ETH, 0")
      .addArgument(new Argument("<side>", "long or short").argParser(sideArg))
      .option("--size <n>", "size in the base asset, e.g. 2.5", decimal("the size"))
      .option("--margin <usd>", "margin in USD: with --leverage it sizes the trade; isolated margin moved in", decimal("the margin"))
      .option("--leverage <x>", "leverage, e.g. 10 (with --margin)", leverageArg)
      .option("--isolated", "isolated margin (default: the open position's mode, else cross)")
      .option("--slippage <percent>", "worst accepted fill beyond the quoted one (default 0.5%)", percentArg);

  tradeOptions(program.command("quote"))
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

  tradeOptions(program.command("open"))
    .description("open or grow a position: prints the quote, asks for confirmation, sends")
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (market: string, side: "long" | "short", opts: TradeOptions, command: Command) => {
      const c = ctx(command);
      const request = tradeRequest(market, side, opts);
      await c.session(true, async ({ client, wallet }) => {
        const trader = await wallet!.getAddress();
        const quote = await client.quoteTrade(request, trader);
        // The quote is what the trader confirms. With --json, stdout keeps one JSON document: the quote goes to
        // stderr, and only when there is a terminal to confirm on.
        if (!c.json) io.out(quoteTable(quote));
        else if (!opts.yes && process.stdin.isTTY) io.err(quoteTable(quote));
        if (quote.rejection) throw new CliError(`the engine would reject this trade: ${quote.rejection}`);
        await confirm("Send this trade?", opts.yes);
        const { receipt } = await client.sendQuote(quote);
        const { executed, text } = executedLine(client, quote, receipt);
        const position = (await client.positions(trader)).find((p) => p.marketId === quote.marketId);
        c.print(
          () => [text, position ? positionsTable([position]) : "The position is closed."].join("\n"),
          () => ({ action: "open", trader, quote: quoteJson(quote), transaction: receiptJson(receipt), executed, position }),
        );
      });
    });

  program
    .command("close")
    .description("close your whole position in a market")
    .argument("<market>", "market symbol or id")
    .option("--slippage <percent>", "worst accepted fill beyond the quoted one (default 0.5%)", percentArg)
    .action(async (market: string, opts: { slippage?: string }, command: Command) => {
      const c = ctx(command);
      await c.session(true, async ({ client }) => {
        const { quote, receipt } = await client.closePosition(market, { slippage: opts.slippage });
        const { executed, text } = executedLine(client, quote, receipt);
        c.print(
          () => [quoteTable(quote, true), text].join("\n"),
          () => ({ action: "close", quote: quoteJson(quote), transaction: receiptJson(receipt), executed }),
        );
      });
    });

  for (const [name, description, verb] of [
    ["add-margin", "move USD from your cross balance into an isolated position's margin", "addMargin"],
    ["remove-margin", "move USD from an isolated position's margin back to your cross balance", "removeMargin"],
  ] as const) {
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
              `${verb === "addMargin" ? "Added" : "Removed"} ${amount} USD ${verb === "addMargin" ? "to" : "from"} ` +
              `${info.symbol} in ${receipt.hash} (block ${receipt.blockNumber}); margin ${usd(position?.margin ?? 0n)}` +
              (position && position.liquidationPrice > 0n
                ? `, est. liquidation ${price(position.liquidationPrice)} (${formatPercent(position.liquidationDistance)} away)`
                : ""),
            () => ({ action: name, transaction: receiptJson(receipt), position }),
          );
        });
      });
  }

  // ---------------------------------------------------------------------------------------- reads

  program
    .command("positions")
    .description("open positions with PnL, funding, estimated liquidation price and distance")
    .option("--trader <address>", "whose positions (default: the key's)", addressArg)
    .action(async (opts: { trader?: string }, command: Command) => {
      const c = ctx(command);
      await c.session(opts.trader === undefined && hasKey(c.options), async (session) => {
        const trader = await c.account(session, opts.trader, "positions");
        const snap = await session.client.snapshot(trader);
        const positions = await session.client.positions(trader, snap);
        c.print(() => positionsTable(positions), () => ({ trader, blockNumber: snap.blockNumber, positions }));
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
        c.print(
          () =>
            keyValues([
              ["Account", trader],
              ["Wallet", tokens(walletBalance, token.decimals, token.symbol)],
              ["Cross balance", usd(snap.account.crossBalance)],
              ["Cross equity", usd(health.equity)],
              ["Initial margin", usd(health.initialMargin)],
              ["Maintenance margin", usd(health.maintenanceMargin)],
              ["Isolated margin", usd(isolatedMargin)],
              ["Open positions", String(positions.length)],
              ["Block", String(snap.blockNumber)],
            ]) + (positions.length > 0 ? `\n${positionsTable(positions)}` : ""),
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

  // ---------------------------------------------------------------------------------------- liquidation

  program
    .command("liquidate")
    .description("liquidate an unhealthy position (isolated) or cross account; the reward goes to your cross balance")
    .argument("<trader>", "the trader's address", addressArg)
    .argument("<market>", "market symbol or id")
    .action(async (trader: string, market: string, _opts: unknown, command: Command) => {
      const c = ctx(command);
      await c.session(true, async ({ client }) => {
        const receipt = await client.liquidate(trader, market);
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

  // ---------------------------------------------------------------------------------------- LP vault

  const lp = program.command("lp").description("the LP vault: deposit or withdraw USDC");
  for (const [name, description] of [
    ["deposit", "deposit USDC into the LP vault (approves it first if needed)"],
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
          const [shares, assets] = await Promise.all([client.vault.balanceOf(owner), client.vault.maxWithdraw(owner)]);
          const [shareDecimals, token] = await Promise.all([client.vault.decimals(), tokenInfo(client)]);
          c.print(
            () =>
              `${name === "deposit" ? "Deposited" : "Withdrew"} ${amount} ${token.symbol} in ${receipt.hash} ` +
              `(block ${receipt.blockNumber}); you hold ${tokens(shares, Number(shareDecimals), "shares")}` +
              ` (withdrawable now ${tokens(assets, token.decimals, token.symbol)})`,
            () => ({ action: `lp ${name}`, transaction: receiptJson(receipt), shares, maxWithdraw: assets }),
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
        const holding = owner
          ? await Promise.all([client.vault.balanceOf(owner), client.vault.maxWithdraw(owner)])
          : undefined;
        const rows: [string, string][] = [
          ["NAV", usd(state.nav)],
          ["Cash", usd(state.cash)],
          ["Withdrawable cash", usd(state.withdrawable)],
          ["Insurance fund", usd(state.insuranceFund)],
          ["Share price", `${formatDecimal(sharePrice, 18, 2, 6)} ${token.symbol} per share`],
          ["Shares outstanding", tokens(totalSupply, Number(shareDecimals), "shares")],
        ];
        if (owner && holding) {
          rows.push(["Your shares", `${tokens(holding[0], Number(shareDecimals), "shares")} (${owner})`]);
          rows.push(["Withdrawable now", tokens(holding[1], token.decimals, token.symbol)]);
        }
        c.print(
          () => keyValues(rows),
          () => ({
            ...state,
            sharePrice,
            totalSupply,
            ...(owner && holding ? { owner, shares: holding[0], maxWithdraw: holding[1] } : {}),
          }),
        );
      });
    });

  return program;
}

/** Runs the CLI; returns the exit code. Failures are one line on stderr, with any secret redacted. */
export async function main(argv: readonly string[], io: Output = processOutput): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return EXIT.ok;
  } catch (error) {
    const { message, exitCode } = describeFailure(error);
    if (message !== "") io.err(`error: ${oneLine(message)}`);
    return exitCode;
  }
}
