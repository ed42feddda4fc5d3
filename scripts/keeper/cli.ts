/**
 * The keeper's command line (main.ts is its entry point).
 *
 *   npm run keeper -- --rpc http://127.0.0.1:8545 --once
 *   npm run keeper -- --rpc "$RPC_URL" --deployment sepolia --keystore KEEPER_PRIVATE_KEY --min-profit-usd 1
 *
 * Exit codes: 0 done (or stopped by SIGINT/SIGTERM), 1 a failure while running (with --once: some batch failed),
 * 2 a configuration problem found before anything was sent (one line on stderr says which).
 * Documentation: docs/keeper.md.
 */
import { FetchRequest, Wallet } from "ethers";

import {
  CountingJsonRpcProvider,
  PerpClient,
  WrongChainError,
  toPerpError,
  withRetry,
} from "@perp/sdk";
import { ConfigurationError } from "@perp/sdk/node";
import { HERMES_ENDPOINT, HermesPriceSource } from "@perp/sdk/prices";
import {
  CommanderError,
  ConfigError,
  normalizePrivateKey,
  parseConfig,
  redactUrl,
  resolveDeployment,
  type KeeperCliConfig,
} from "./config.js";
import { ContractsMissingError, Keeper, formatPlain, summaryJson } from "./keeper.js";
import { KeystoreError, readKeystoreValue } from "../lib/keystore.js";
import { watchWrappers } from "./lifecycle.js";
import { createLogger, type Logger } from "./logger.js";
import { KeeperMetrics, startOpsServer, type OpsServer } from "./metrics.js";

/** `eth_chainId` with a time-out and a few retries, without ethers' endless network detection. */
async function chainIdOf(url: string, timeoutMs: number, attempts: number): Promise<number> {
  try {
    return await withRetry(
      async () => {
        const request = new FetchRequest(url);
        request.timeout = timeoutMs;
        request.setHeader("content-type", "application/json");
        request.body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] });
        const response = await request.send();
        response.assertOk();
        const body = response.bodyJson as { result?: unknown; error?: { message?: string } };
        if (typeof body.result !== "string") throw new ConfigError(body.error?.message ?? "no chain id in the answer");
        return Number(BigInt(body.result));
      },
      { attempts, baseDelayMs: 250 },
    );
  } catch (error) {
    const reason = error instanceof ConfigError ? error.message : toPerpError(error).message;
    throw new ConfigError(`cannot reach the RPC endpoint ${redactUrl(url)}: ${reason}`);
  }
}

async function privateKey(config: KeeperCliConfig, env: NodeJS.ProcessEnv): Promise<{ key: string; source: string }> {
  if (config.keystore !== undefined) {
    try {
      const value = await readKeystoreValue(config.keystore, { dev: config.keystoreDev });
      const source = `the keystore value "${config.keystore}"`;
      return { key: normalizePrivateKey(value, source), source };
    } catch (error) {
      if (error instanceof KeystoreError) throw new ConfigError(error.message);
      throw error;
    }
  }
  const value = env.PRIVATE_KEY;
  if (value === undefined || value.trim() === "") {
    throw new ConfigError("no key: set PRIVATE_KEY or pass --keystore <NAME> (Hardhat keystore)");
  }
  return { key: normalizePrivateKey(value, "PRIVATE_KEY"), source: "PRIVATE_KEY" };
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let config: KeeperCliConfig;
  try {
    config = parseConfig(argv, env);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2; // printed by commander
    throw error;
  }
  const logger = createLogger(config.logLevel, 2, config.logFormat);
  const { deployment, source: deploymentSource } = resolveDeployment(config.deployment, env);
  const { key, source: keySource } = await privateKey(config, env);
  const chainId = await chainIdOf(config.rpcUrl, config.rpcTimeoutMs, Math.min(config.retries, 3));
  if (chainId !== deployment.chainId) {
    throw new ConfigError(new WrongChainError(deployment.chainId, chainId).message + ` (${deploymentSource})`);
  }
  const provider = new CountingJsonRpcProvider(config.rpcUrl, chainId, {
    staticNetwork: true,
    timeoutMs: config.rpcTimeoutMs,
    cacheTimeout: -1,
    pollingInterval: config.pollMs,
  });
  try {
    let wallet: Wallet;
    try {
      wallet = new Wallet(key, provider);
    } catch {
      throw new ConfigError(`${keySource} is not a valid private key`);
    }
    const retry = { attempts: config.retries };
    const client = await PerpClient.connect({ runner: wallet, deployment });
    const [engineCode, lensCode, balance] = await Promise.all([
      withRetry(() => provider.getCode(deployment.contracts.PerpEngine), retry),
      withRetry(() => provider.getCode(deployment.contracts.PerpLens), retry),
      withRetry(() => provider.getBalance(wallet.address), retry),
    ]);
    if (engineCode === "0x" || lensCode === "0x") {
      const missing = new ContractsMissingError(engineCode === "0x" ? deployment.contracts.PerpEngine : deployment.contracts.PerpLens, chainId);
      throw new ConfigError(
        `${missing.message} (${deploymentSource}; a restarted local node needs \`npm run deploy -- --network localhost\` again)`,
      );
    }
    if (balance === 0n) {
      throw new ConfigError(`the keeper account ${wallet.address} has a zero balance on chain ${chainId}: it cannot pay for gas; fund it first`);
    }
    // Orders: the deployment's OrderBook unless --order-book or --no-orders say otherwise. Prices: --prices or
    // PERP_PRICES_URL, else the deployment's hermesUrl (a local deployment names the local price service), else Hermes
    // on public chains; the same HermesPriceSource for Hermes and the local service.
    const orderBook = config.orders ? (config.orderBook ?? (deployment.contracts as { OrderBook?: string }).OrderBook) : undefined;
    const localChain = chainId === 31337 || chainId === 1337;
    const pricesUrl = config.pricesUrl ?? deployment.hermesUrl ?? (localChain ? undefined : HERMES_ENDPOINT);
    if (orderBook !== undefined && pricesUrl === undefined) {
      throw new ConfigError(
        "the order book needs a price service: --prices <url> or PERP_PRICES_URL (locally: npm run price-service), or --no-orders",
      );
    }
    const prices =
      pricesUrl === undefined
        ? undefined
        : new HermesPriceSource({ endpoint: pricesUrl, apiKey: config.pythApiKey, timeoutMs: config.rpcTimeoutMs, httpRetries: 1 });
    const metrics = config.metricsPort === undefined ? undefined : new KeeperMetrics();
    const keeper = await Keeper.create({
      client,
      logger,
      fromBlock: config.fromBlock,
      batchSize: config.batchSize,
      lensBatchSize: config.lensBatchSize,
      minProfitUsd: config.minProfitUsd,
      ethUsd: config.ethUsd,
      maxBatchesPerRun: config.maxBatches,
      pollMs: config.pollMs,
      txTimeoutMs: config.txTimeoutMs,
      retry,
      rpcStats: () => provider.stats,
      metrics,
      autoDeleverage: config.autoDeleverage,
      maxDeleveragesPerRun: config.maxDeleverages,
      maxBackoffMs: config.maxBackoffMs,
      orderBook,
      prices,
      orderBatchSize: config.orderBatchSize,
      feeBump: config.feeBump,
    });
    let server: OpsServer | undefined;
    if (metrics) {
      try {
        server = await startOpsServer({ port: config.metricsPort!, metrics, health: () => keeper.health() });
      } catch (error) {
        throw new ConfigError(`--metrics-port ${config.metricsPort}: cannot listen on 127.0.0.1: ${(error as Error).message}`);
      }
    }
    logger.info(
      {
        rpc: redactUrl(config.rpcUrl),
        chainId,
        deployment: deploymentSource,
        engine: deployment.contracts.PerpEngine,
        keeper: wallet.address,
        pid: process.pid,
        keySource,
        balanceEth: formatPlain(balance),
        fromBlock: config.fromBlock ?? deployment.deploymentBlock,
        batchSize: config.batchSize,
        minProfitUsd: formatPlain(config.minProfitUsd),
        mode: config.once ? "once" : "continuous",
        autoDeleverage: config.autoDeleverage,
        orderBook: orderBook ?? null,
        orderBatchSize: orderBook === undefined ? undefined : config.orderBatchSize,
        // The URL without path or query (a key may sit there); the API key only as "set" or not.
        prices: pricesUrl === undefined ? null : redactUrl(pricesUrl),
        pythApiKey: config.pythApiKey === undefined ? "unset" : "set",
        metrics: server ? `http://127.0.0.1:${server.port}/metrics` : undefined,
      },
      "keeper started",
    );
    installSignalHandlers(keeper, logger);
    try {
      if (config.once) {
        const summary = await keeper.runOnce();
        process.stdout.write(`${JSON.stringify(summaryJson(summary))}\n`);
        logger.info("keeper stopped");
        return summary.errors.length === 0 ? 0 : 1;
      }
      await keeper.run();
      return 0;
    } finally {
      await server?.close();
    }
  } finally {
    provider.destroy();
  }
}

/**
 * First SIGINT/SIGTERM: stop gracefully (exit 0). A second one: exit at once (code 130). The same graceful stop when
 * the `npm run` wrapper that started the keeper is gone (see lifecycle.ts: npm's `sh` does not pass SIGTERM on).
 */
function installSignalHandlers(keeper: Keeper, logger: Logger): void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received += 1;
    if (received > 1) {
      process.stderr.write(`keeper: second ${signal}, exiting without waiting\n`);
      process.exit(130);
    }
    logger.info({ signal }, "stopping: finishing the current step");
    keeper.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  watchWrappers((pid) => {
    if (received > 0) return;
    received += 1;
    logger.info({ wrapperPid: pid }, "stopping: the npm run wrapper exited (signal not passed on); finishing the current step");
    keeper.stop();
  });
}

/**
 * The keeper's command line, run in this process: the exit code, with a failure's one line (`keeper: ...`) written
 * to `stderr`. main.ts runs it for `npm run keeper`; the tests call it directly for configuration cases.
 */
export async function runKeeperCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  stderr: (text: string) => void = (text) => void process.stderr.write(text),
): Promise<number> {
  try {
    return await main(argv, env);
  } catch (error) {
    const config = error instanceof ConfigurationError; // the SDK's, the keeper's KeeperConfigError and ConfigError
    const message = config ? (error as Error).message : toPerpError(error).message;
    stderr(`keeper: ${message}\n`);
    return config ? 2 : 1;
  }
}
