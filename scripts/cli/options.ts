/**
 * The command line's shared vocabulary: the global options (defined once on the program), the argument parsers, the
 * trade options of `quote`/`open`, and the guard on a large slippage.
 */
import { LOCAL_CHAIN_IDS } from "./context.js";
import { Argument, Command, InvalidArgumentError, Option } from "commander";
import { getAddress, isAddress } from "ethers";

import { formatPercent, parseDecimal, parsePercent } from "@perp/sdk";
import { CliError, UsageError } from "./errors.js";

/** A slippage above this (5 %) is sent only with --yes: a typo such as "50%" would otherwise fill far from the quote. */
export const SLIPPAGE_CONFIRM_ABOVE = parsePercent("5%");

/** Adds the options every command accepts (`GlobalOptions` in session.ts). */
export function addGlobalOptions(program: Command): Command {
  return program
    .addOption(new Option("--rpc <url>", "JSON-RPC endpoint (default: env RPC_URL, else LOCALHOST_RPC_URL, else http://127.0.0.1:8545)"))
    .addOption(
      new Option(
        "--deployment <name-or-path>",
        "deployment record: a name in deployments/ or a JSON file (default: the one of the endpoint's chain id)",
      ),
    )
    .addOption(new Option("--keystore <NAME>", "read the private key from Hardhat's keystore (default: env PRIVATE_KEY)"))
    .addOption(new Option("--keystore-dev", "with --keystore: read Hardhat's development keystore (no password; local chains)"))
    .addOption(new Option("--json", "machine-readable output (exact integers as decimal strings)"));
}

// ------------------------------------------------------------------------------------------ argument parsers

export function decimal(what: string) {
  return (value: string): string => {
    try {
      parseDecimal(value, 18);
    } catch (error) {
      throw new InvalidArgumentError(`${what} must be a decimal number (${(error as Error).message}).`);
    }
    return value.trim();
  };
}

export function leverageArg(value: string): string {
  return decimal("the leverage")(value.trim().replace(/x$/i, ""));
}

export function percentArg(value: string): string {
  try {
    parsePercent(value);
  } catch (error) {
    throw new InvalidArgumentError(`the slippage must be a percentage such as 0.5% (${(error as Error).message}).`);
  }
  return value.trim();
}

export function sideArg(value: string): "long" | "short" {
  const side = value.trim().toLowerCase();
  if (side !== "long" && side !== "short") throw new InvalidArgumentError("Allowed choices are long, short.");
  return side;
}

/** An address; a mixed-case one must carry a valid EIP-55 checksum (a typo in it is caught, not sent to). */
export function addressArg(value: string): string {
  const text = value.trim();
  if (!/^0x[0-9a-fA-F]{40}$/.test(text)) throw new InvalidArgumentError("not an address (0x followed by 40 hex digits).");
  if (!isAddress(text)) {
    throw new InvalidArgumentError(
      "the mixed-case checksum (EIP-55) does not match: check the address for a typo (all lower-case skips the check).",
    );
  }
  return getAddress(text);
}

// ------------------------------------------------------------------------------------------ trade options

export interface TradeOptions {
  size?: string;
  margin?: string;
  leverage?: string;
  isolated?: boolean;
  slippage?: string;
  yes?: boolean;
  trader?: string;
}

/** `<market> <side>` and the sizing options of `quote` and `open`. */
export function addTradeOptions(command: Command): Command {
  return command
    .argument("<market>", "market symbol or id: ETH-USD, ETH, 0")
    .addArgument(new Argument("<side>", "long or short").argParser(sideArg))
    .option("--size <n>", "size in the base asset, e.g. 2.5", decimal("the size"))
    .option("--margin <usd>", "margin in USD: with --leverage it sizes the trade; isolated margin moved in", decimal("the margin"))
    .option("--leverage <x>", "leverage, e.g. 10 (with --margin)", leverageArg)
    .option("--isolated", "isolated margin (default: the open position's mode, else cross)");
}

export function addSlippageOption(command: Command): Command {
  return command.option(
    "--slippage <percent>",
    `worst accepted fill beyond the quoted one (default 0.5%; above ${formatPercent(SLIPPAGE_CONFIRM_ABOVE, 0)} only with --yes)`,
    percentArg,
  );
}

/** Refuses a slippage above SLIPPAGE_CONFIRM_ABOVE unless --yes says it is meant. */
export function checkSlippage(slippage: string | undefined, yes: boolean | undefined): void {
  if (slippage === undefined || yes) return;
  if (parsePercent(slippage) > SLIPPAGE_CONFIRM_ABOVE) {
    throw new CliError(
      `a slippage of ${slippage} accepts a fill that far from the quote; above ${formatPercent(SLIPPAGE_CONFIRM_ABOVE, 0)} ` +
        "pass --yes to confirm it is meant",
    );
  }
}

/** Checks the shape of the `quote`/`open` command line; the SDK checks the values. */
export function checkSizing(o: TradeOptions): void {
  if (o.size !== undefined && o.leverage !== undefined) {
    throw new UsageError("give either --size, or --margin with --leverage, not both --size and --leverage");
  }
  if (o.size === undefined && (o.margin === undefined || o.leverage === undefined)) {
    throw new UsageError("give --size <n>, or --margin <usd> with --leverage <x>");
  }
  if (o.size !== undefined && o.margin !== undefined && !o.isolated) {
    throw new UsageError("--margin with --size moves margin into an isolated position: add --isolated");
  }
}

// ------------------------------------------------------------------------------------------ orders

/** A positive price in USD, e.g. 1850 or 1850.25. */
export function priceArg(what: string) {
  return (value: string): string => {
    const text = decimal(what)(value);
    if (parseDecimal(text, 18) <= 0n) throw new InvalidArgumentError(`${what} must be positive.`);
    return text;
  };
}

/** An order id: a whole number from 1 (ids are never 0). */
export function orderIdArg(value: string): bigint {
  const text = value.trim().replace(/^#/, "");
  if (!/^[0-9]+$/.test(text) || BigInt(text) === 0n) throw new InvalidArgumentError("an order id is a whole number from 1, e.g. 7.");
  return BigInt(text);
}

/** A trailing distance such as "2%" (or "200bps") as whole basis points, from 0.01 % to 99.99 %. */
export function trailArg(value: string): number {
  const text = value.trim().toLowerCase();
  let bps: bigint;
  try {
    bps = text.endsWith("bps") ? parseDecimal(text.slice(0, -3), 0) : parsePercent(text) / 10n ** 14n;
    if (!text.endsWith("bps") && (parsePercent(text) % 10n ** 14n) !== 0n) throw new Error("finer than 0.01 %");
  } catch (error) {
    throw new InvalidArgumentError(`the trailing distance must be a percentage such as 2% or 150bps (${(error as Error).message}).`);
  }
  if (bps <= 0n || bps >= 10_000n) throw new InvalidArgumentError("the trailing distance must be between 0.01% and 99.99%.");
  return Number(bps);
}

/** `--size` of an order update: a decimal, or "all" (the whole position). */
export function sizeOrAllArg(value: string): string {
  return value.trim().toLowerCase() === "all" ? "all" : decimal("the size")(value);
}

export interface SettleOptions {
  selfSettle?: boolean;
  waitKeeper?: boolean;
  prices?: string;
}

/**
 * How a market order gets settled: by the trader with a price source (`--self-settle`), or by a keeper
 * (`--wait-keeper`). Default: yourself on a local chain whose deployment names its price service (`hermesUrl`, the
 * local price service of `npm run deploy`), so that one terminal is enough to trade; a keeper elsewhere.
 */
export function settlesSelf(deployment: { readonly chainId: number; readonly hermesUrl?: string }, o: SettleOptions): boolean {
  checkSettleOptions(o);
  if (o.selfSettle) return true;
  if (o.waitKeeper) return false;
  return LOCAL_CHAIN_IDS.includes(deployment.chainId) && deployment.hermesUrl !== undefined;
}

/** Refuses contradictory settlement options before anything is read or sent. */
export function checkSettleOptions(o: SettleOptions): void {
  if (o.selfSettle && o.waitKeeper) throw new UsageError("--self-settle and --wait-keeper exclude each other.");
}

export function addSettleOptions(command: Command): Command {
  return command
    .option("--self-settle", "settle the order yourself with a price source (the keeper fee comes back) (default on a local chain)")
    .option("--wait-keeper", "wait for a keeper to settle the order (default on public chains)")
    .option("--prices <url>", "price source (Hermes) for --self-settle (default: the deployment's hermesUrl; env PYTH_API_KEY)", urlArg);
}

/** An http(s) URL. */
export function urlArg(value: string): string {
  const text = value.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError("not a URL (e.g. https://hermes.pyth.network).");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidArgumentError("the URL must be http or https.");
  return text;
}
