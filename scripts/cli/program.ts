/**
 * The `perp` program: a thin layer over @perp/sdk. Quotes, sizing, validation of trades and decoded errors come from
 * the SDK; the commands (one file per group in commands/) parse the command line, ask for confirmation and print.
 */
import { Command } from "commander";

import * as collateral from "./commands/collateral.js";
import * as dev from "./commands/dev.js";
import * as history from "./commands/history.js";
import * as liquidate from "./commands/liquidate.js";
import * as lp from "./commands/lp.js";
import * as margin from "./commands/margin.js";
import * as orders from "./commands/orders.js";
import * as reads from "./commands/reads.js";
import * as trade from "./commands/trade.js";
import { Context } from "./context.js";
import { EXIT, describeFailure, oneLine } from "./errors.js";
import { processOutput, type Output } from "./format.js";
import { addGlobalOptions } from "./options.js";

/** The command groups, in the order `--help` lists them. */
const GROUPS = [collateral, trade, orders, margin, reads, history, liquidate, lp, dev];

const HELP_AFTER = `
Units: USD and USDC amounts as decimals ("1000.5"), sizes in the base asset ("2.5" ETH), leverage "10" or "10x",
slippage "0.5%". With --json, prices, sizes and USD amounts are WAD integers (18 decimals) and token amounts are
token units, all as decimal strings.

Failures: one line on stderr, nothing sent; exit code 1, or 2 for a usage error. The key is never printed.

Examples:
  npm run perp -- markets
  PRIVATE_KEY=0x... npm run perp -- deposit 1000
  npm run perp -- open ETH long --margin 500 --leverage 10 --isolated
  npm run perp -- open ETH long --size 1 --sl 1850 --tp 2300 --self-settle
  npm run perp -- order stop ETH 1850 ; npm run perp -- order list
  npm run perp -- positions
  npm run perp -- close ETH
  npm run perp -- dev set-price ETH 1900        (local chains: move the mock oracle)`;

/** Builds the `perp` program. `io` receives results (stdout) and messages (stderr). */
export function buildProgram(io: Output = processOutput): Command {
  const program = addGlobalOptions(
    new Command("perp").description("Trade the perp protocol from the command line (a thin layer over @perp/sdk)."),
  )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: (text, write) => write(`${oneLine(text)}\n`),
    })
    .showHelpAfterError(false)
    .addHelpText("after", HELP_AFTER);
  const ctx = (command: Command) => new Context(command, io);
  for (const group of GROUPS) group.register(program, ctx);
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
