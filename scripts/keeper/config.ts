/**
 * Command line of the keeper: options, their validation, the deployment file and the key. Every problem is a
 * `ConfigError` with a one-line message that names the option and what it expects; main.ts prints it and exits 2.
 */
import { Command, CommanderError, Option } from "commander";

import { parseDecimal } from "@perp/sdk";
import {
  ConfigurationError,
  deploymentsDirectory,
  isDeploymentPath,
  resolveDeployment as resolveSdkDeployment,
  resolveRpcUrl,
  type ResolvedDeployment,
} from "@perp/sdk/node";
import { PROJECT_ROOT } from "../lib/keystore.js";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./logger.js";
import { MAX_BATCH } from "./keeper.js";
import { DEFAULT_ORDER_BATCH, MAX_ORDER_BATCH } from "./orders.js";

/**
 * A setting that cannot work; the keeper stops before connecting or sending anything. The SDK's node helpers raise
 * their `ConfigurationError` (this class's parent) for the deployment, the RPC URL and the key.
 */
export class ConfigError extends ConfigurationError {
  override name = "ConfigError";
}

export interface KeeperCliConfig {
  readonly rpcUrl: string;
  readonly deployment: string;
  readonly fromBlock: number | undefined;
  readonly once: boolean;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Port of the /health and /metrics server on 127.0.0.1 (undefined: no server). */
  readonly metricsPort: number | undefined;
  readonly autoDeleverage: boolean;
  readonly maxDeleverages: number;
  readonly maxBackoffMs: number;
  readonly pollMs: number;
  readonly batchSize: number;
  readonly lensBatchSize: number;
  readonly maxBatches: number | undefined;
  /** USD WAD. */
  readonly minProfitUsd: bigint;
  /** USD WAD, or undefined to use the ETH market's index price. */
  readonly ethUsd: bigint | undefined;
  readonly keystore: string | undefined;
  readonly keystoreDev: boolean;
  readonly txTimeoutMs: number;
  readonly rpcTimeoutMs: number;
  readonly retries: number;
  /**
   * Price service URL (`--prices`, else `$PERP_PRICES_URL`); undefined: the deployment's `hermesUrl` (locally the
   * price service `npm run deploy` recorded), else Hermes on public chains.
   */
  readonly pricesUrl: string | undefined;
  /** `$PYTH_API_KEY` (sent as a bearer token; never logged). */
  readonly pythApiKey: string | undefined;
  /** `--order-book` (else the deployment's `OrderBook`); `--no-orders` turns the order keeper off. */
  readonly orderBook: string | undefined;
  readonly orders: boolean;
  readonly orderBatchSize: number;
  /** Fee bumping of a pending transaction (`--max-bumps`, `--bump-after-ms`, `--bump-percent`). */
  readonly feeBump: { readonly maxBumps: number; readonly bumpAfterMs: number; readonly bumpPercent: bigint };
}

/** The `commander` program (exported for `--help` in the docs and tests). */
export function buildProgram(): Command {
  return new Command()
    .name("keeper")
    .description("Liquidation keeper of the perp protocol: finds unhealthy positions and liquidates them in batches.")
    .addHelpText(
      "after",
      "\nThe key comes from PRIVATE_KEY or from the Hardhat keystore (--keystore NAME). Logs go to stderr (JSON lines,\n" +
        "or text with --log-format pretty); with --once a JSON summary goes to stdout (`npm run -s keeper` keeps npm's\n" +
        "banner out of it). --metrics-port serves /health and /metrics on 127.0.0.1; --adl adds auto-deleveraging.\n" +
        "Exit codes: 0 done or stopped by SIGINT/SIGTERM, 1 failure while running, 2 configuration error. See docs/keeper.md.",
    )
    .option("--rpc <url>", "JSON-RPC endpoint (default: $RPC_URL)")
    .option("--deployment <name|path>", "deployment name in deployments/ (or $PERP_DEPLOYMENTS_DIR), or a JSON file", "localhost")
    .option("--from-block <n>", "first block of the event scan (default: the deployment block)")
    .option("--once", "scan and liquidate once, print a JSON summary, exit", false)
    .addOption(new Option("--log-level <level>", "log level").choices([...LOG_LEVELS]).default("info"))
    .addOption(new Option("--log-format <format>", "json lines, or text for a terminal").choices([...LOG_FORMATS]).default("json"))
    .option("--metrics-port <port>", "serve /health and Prometheus /metrics on 127.0.0.1:<port> (0: any free port)")
    .option("--adl", "auto-deleveraging: close the most profitable positions of a market over maxPnlFactor x vault NAV", false)
    .option("--max-deleverages <n>", "with --adl: at most this many autoDeleverage transactions per run", "20")
    .option("--max-backoff-ms <n>", "upper bound of the backoff while the endpoint is down or runs fail", "30000")
    .option("--poll-ms <n>", "how often to poll for a new block (ms)", "2000")
    .option("--batch-size <n>", `liquidations per liquidateMany transaction (1-${MAX_BATCH})`, String(MAX_BATCH))
    .option("--lens-batch-size <n>", "positions per PerpLens eth_call", "200")
    .option("--max-batches <n>", "at most this many liquidation transactions per run (default: no limit)")
    .option("--min-profit-usd <x>", "minimum profit per transaction: reward - gas cost (USD)", "0")
    .option("--eth-usd <price>", "USD price of the gas token (default: the ETH market's index price)")
    .option("--keystore <name>", "read the private key from the Hardhat keystore (npx hardhat keystore get NAME)")
    .option("--keystore-dev", "with --keystore: the development keystore (no password; local chains only)", false)
    .option("--tx-timeout-ms <n>", "a transaction not mined after this long counts as failed", "120000")
    .option("--rpc-timeout-ms <n>", "time-out of one RPC request", "15000")
    .option("--retries <n>", "attempts of a failed RPC request (exponential backoff)", "5")
    .option("--prices <url>", "Pyth price service (Hermes, or the local price service) (default: $PERP_PRICES_URL, else the deployment's hermesUrl, else Hermes on public chains)")
    .option("--order-book <address>", "the OrderBook to keep (default: the deployment's OrderBook)")
    .option("--no-orders", "liquidations only: do not settle, execute or clean up orders")
    .option("--order-batch-size <n>", `orders per settleOrders/executeOrders transaction (1-${MAX_ORDER_BATCH})`, String(DEFAULT_ORDER_BATCH))
    .option("--max-bumps <n>", "replacements of a transaction that stays in the pool, at most (0: never replace)", "3")
    .option("--bump-after-ms <n>", "time without a receipt before a pending transaction is replaced with higher fees", "30000")
    .option("--bump-percent <n>", "fee increase of each replacement, percent (at least 10, what a geth pool accepts; one wei is added on top)", "10")
    .helpOption("-h, --help")
    .exitOverride()
    .configureOutput({
      // Commander's own errors (unknown option, missing value) in the keeper's one-line format.
      outputError: (message, write) => write(`keeper: ${message.replace(/^error: /, "")}`),
    });
}

function integer(option: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new ConfigError(`${option} must be an integer ${range}, not "${value}"`);
  }
  return n;
}

function usd(option: string, value: string, positive: boolean): bigint {
  let amount: bigint;
  try {
    amount = parseDecimal(value, 18);
  } catch {
    throw new ConfigError(`${option} must be a decimal number of USD, not "${value}"`);
  }
  if (positive ? amount <= 0n : amount < 0n) {
    throw new ConfigError(`${option} must be ${positive ? "positive" : "zero or more"}, not "${value}"`);
  }
  return amount;
}

function address(option: string, value: string): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value.trim())) throw new ConfigError(`${option} must be an address (0x and 40 hex digits), not "${value}"`);
  return value.trim();
}

/** `--prices`, else `$PERP_PRICES_URL`: an http(s) URL. */
function pricesUrl(option: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const value = option ?? (env.PERP_PRICES_URL?.trim() === "" ? undefined : env.PERP_PRICES_URL?.trim());
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${option === undefined ? "PERP_PRICES_URL" : "--prices"} must be an http(s) URL, not "${redactUrl(value)}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${option === undefined ? "PERP_PRICES_URL" : "--prices"} must be an http(s) URL, not "${redactUrl(value)}"`);
  }
  return value;
}

/**
 * Parses and validates the command line (`argv` without the node and script paths).
 * @throws ConfigError, or commander's `CommanderError` (already printed) for unknown options and `--help`.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): KeeperCliConfig {
  const program = buildProgram();
  program.parse([...argv], { from: "user" });
  const o = program.opts<Record<string, string | boolean | undefined>>();
  // The SDK's rule, as in the CLI: --rpc, else $RPC_URL, else (a local deployment) $LOCALHOST_RPC_URL or 127.0.0.1:8545.
  const deployment = o.deployment as string;
  const rpcUrl = resolveRpcUrl(o.rpc as string | undefined, { network: isDeploymentPath(deployment) ? undefined : deployment, env });
  const keystore = o.keystore as string | undefined;
  if (o.keystoreDev === true && keystore === undefined) throw new ConfigError("--keystore-dev needs --keystore <name>");
  return {
    rpcUrl,
    deployment,
    fromBlock: o.fromBlock === undefined ? undefined : integer("--from-block", o.fromBlock as string, 0),
    once: o.once === true,
    logLevel: o.logLevel as LogLevel,
    logFormat: o.logFormat as LogFormat,
    metricsPort: o.metricsPort === undefined ? undefined : integer("--metrics-port", o.metricsPort as string, 0, 65_535),
    autoDeleverage: o.adl === true,
    maxDeleverages: integer("--max-deleverages", o.maxDeleverages as string, 1),
    maxBackoffMs: integer("--max-backoff-ms", o.maxBackoffMs as string, 100),
    pollMs: integer("--poll-ms", o.pollMs as string, 10),
    batchSize: integer("--batch-size", o.batchSize as string, 1, MAX_BATCH),
    lensBatchSize: integer("--lens-batch-size", o.lensBatchSize as string, 1, 5_000),
    maxBatches: o.maxBatches === undefined ? undefined : integer("--max-batches", o.maxBatches as string, 1),
    minProfitUsd: usd("--min-profit-usd", o.minProfitUsd as string, false),
    ethUsd: o.ethUsd === undefined ? undefined : usd("--eth-usd", o.ethUsd as string, true),
    keystore,
    keystoreDev: o.keystoreDev === true,
    txTimeoutMs: integer("--tx-timeout-ms", o.txTimeoutMs as string, 1_000),
    rpcTimeoutMs: integer("--rpc-timeout-ms", o.rpcTimeoutMs as string, 100),
    retries: integer("--retries", o.retries as string, 1, 20),
    pricesUrl: pricesUrl(o.prices as string | undefined, env),
    pythApiKey: env.PYTH_API_KEY === undefined || env.PYTH_API_KEY.trim() === "" ? undefined : env.PYTH_API_KEY.trim(),
    orderBook: o.orderBook === undefined ? undefined : address("--order-book", o.orderBook as string),
    orders: o.orders !== false,
    orderBatchSize: integer("--order-batch-size", o.orderBatchSize as string, 1, MAX_ORDER_BATCH),
    feeBump: {
      maxBumps: integer("--max-bumps", o.maxBumps as string, 0, 100),
      bumpAfterMs: integer("--bump-after-ms", o.bumpAfterMs as string, 100),
      bumpPercent: BigInt(integer("--bump-percent", o.bumpPercent as string, 10, 1_000)),
    },
  };
}

export { CommanderError };

import { redactUrl } from "@perp/sdk/node";
export { normalizePrivateKey, redactUrl } from "@perp/sdk/node";

/**
 * The deployment named by `--deployment`, by the SDK's rule (`resolveDeployment`), looked up in the repository's
 * `deployments/` (or `$PERP_DEPLOYMENTS_DIR`) wherever the keeper is started from.
 * @throws the SDK's ConfigurationError (DeploymentNotFoundError, InvalidDeploymentError).
 */
export function resolveDeployment(value: string, env: NodeJS.ProcessEnv): ResolvedDeployment {
  return resolveSdkDeployment(value, { directory: deploymentsDirectory(env, PROJECT_ROOT), env });
}
