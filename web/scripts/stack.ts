/**
 * Everything the page needs on a local machine, as one object: anvil on 127.0.0.1, the order-book deployment
 * (deploy-local.ts, through Hardhat), the local price service (scripts/price-service) publishing at the chain's
 * time, an LP deposit backing open interest, and the order keeper (scripts/keeper) settling market orders and firing
 * triggers. `npm run web` (dev.ts) and the browser tests (test/web.test.ts) both start it.
 *
 * A heartbeat mines a block every second (anvil automines transactions, so they stay instant, but the keeper acts on
 * new heads and market orders settle at the first price published in their window), republishes the feeds at the
 * new block's time, and pushes them on chain every 15 beats so the adapters' caches stay fresh for the page.
 * Private keys are read from anvil's --config-out file and passed on only through the environment; none is printed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { JsonRpcProvider, Wallet, parseUnits } from "ethers";

import { PerpClient, type Deployment } from "@perp/sdk";
import { IPriceFeed__factory, MockUSDC__factory, OrderBook__factory } from "@perp/sdk/contracts";
import { HermesPriceSource, PYTH_FEED_IDS } from "@perp/sdk/prices";

import { startPriceService, type PriceService } from "../../scripts/price-service/service.js";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");
const FEEDS = { "ETH-USD": PYTH_FEED_IDS["ETH/USD"], "BTC-USD": PYTH_FEED_IDS["BTC/USD"] } as const;
export type Symbol = keyof typeof FEEDS;
const LP_USDC = 1_000_000n * 10n ** 6n;
/** Push the feeds on chain at least every this many beats (seconds; at most 15 x clockSpeed chain seconds, and the adapters refuse a cache older than 60). */
const POKE_EVERY_BEATS = 15;

export interface StackOptions {
  readonly rpcPort: number;
  readonly pricePort: number;
  /** Where the deployment record is written. */
  readonly deploymentFile: string;
  readonly log?: (line: string) => void;
  /** Keeper poll interval (ms). */
  readonly keeperPollMs?: number;
  /**
   * How many chain seconds pass per wall-clock second, a whole number (default 1). The heartbeat still mines a block
   * a second; above 1 it first moves the chain's time `clockSpeed - 1` seconds forward (`evm_increaseTime`), so the
   * order book's delays (settlement windows, expiries, LP delays) pass that much sooner: the browser tests use 2.
   */
  readonly clockSpeed?: number;
}

export interface Stack {
  readonly rpcUrl: string;
  readonly priceUrl: string;
  readonly deployment: Deployment;
  readonly chainId: number;
  /** Dev keys of anvil's accounts 3.. (0 deploys, 1 is the LP, 2 the keeper): for test wallets. */
  readonly traderKeys: readonly string[];
  readonly provider: JsonRpcProvider;
  readonly prices: PriceService;
  /** Publishes `usd` for the market at the next block's time and pushes it on chain. */
  setPrice(symbol: Symbol, usd: string): Promise<void>;
  /** Latest chain time (seconds). */
  now(): Promise<number>;
  /**
   * Stops the stack's keeper process (SIGSTOP) until `resumeKeeper`: nothing settles meanwhile, so a test can see
   * what a user sees while an order waits for a keeper.
   */
  pauseKeeper(): void;
  resumeKeeper(): void;
  stop(): Promise<void>;
}

function spawnLogged(cmd: string, args: string[], env: NodeJS.ProcessEnv, log: (l: string) => void, name: string): ChildProcess {
  // Its own process group: npx and the anvil wrapper start the real process as a grandchild, and stopping the group
  // stops it too.
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const killGroup = () => {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  };
  // Should this process end without stop() (a crash, an interrupted test run), take the group down with it.
  process.once("exit", killGroup);
  child.once("exit", () => process.removeListener("exit", killGroup));
  const forward = (data: Buffer) => {
    for (const line of data.toString().split("\n")) if (line.trim() !== "") log(`[${name}] ${line}`);
  };
  child.stdout?.on("data", forward);
  child.stderr?.on("data", forward);
  return child;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.pid === undefined) throw new Error(`the process to send ${signal} to has exited`);
  process.kill(-child.pid, signal);
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code ?? 1));
  });
}

/** The dev keys anvil wrote to its --config-out file, or undefined while the file is missing or being written. */
function readKeys(configOut: string): string[] | undefined {
  try {
    return (JSON.parse(readFileSync(configOut, "utf8")) as { private_keys: string[] }).private_keys;
  } catch {
    return undefined;
  }
}

/** Waits until anvil answers on `url` and has written its keys to `configOut` (it may answer first); returns them. */
async function waitForRpc(url: string, child: ChildProcess, configOut: string): Promise<string[]> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}`);
    const keys = readKeys(configOut);
    if (keys === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (response.ok) return keys;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not answer`);
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? (() => {});
  const host = "127.0.0.1";
  const rpcUrl = `http://${host}:${options.rpcPort}`;
  const scratch = mkdtempSync(path.join(tmpdir(), "perp-web-"));
  const configOut = path.join(scratch, "anvil.json");
  const children: ChildProcess[] = [];
  const anvil = spawnLogged(
    path.join(ROOT, "node_modules", ".bin", "anvil"),
    // 20 accounts: three for the stack, the rest for test wallets (one a browser scenario; anvil's default 10 runs out).
    ["--host", host, "--port", String(options.rpcPort), "--accounts", "20", "--silent", "--config-out", configOut],
    {},
    log,
    "anvil",
  );
  children.push(anvil);
  let heartbeat: NodeJS.Timeout | undefined;
  let prices: PriceService | undefined;
  const stop = async () => {
    if (heartbeat !== undefined) clearInterval(heartbeat);
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.pid !== undefined) {
        const done = exited(child);
        try {
          process.kill(-child.pid, "SIGTERM");
          // A paused (SIGSTOPped) process acts on SIGTERM only once continued.
          process.kill(-child.pid, "SIGCONT");
        } catch {
          // already gone
        }
        await done;
      }
    }
    await prices?.close();
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    const keys = await waitForRpc(rpcUrl, anvil, configOut);
    const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 250 });
    const chainId = Number((await provider.getNetwork()).chainId);
    const latestTime = async () => (await provider.getBlock("latest"))!.timestamp;
    let chainNow = await latestTime();
    const opening: Record<string, bigint> = { [FEEDS["ETH-USD"]]: parseUnits("2000", 8), [FEEDS["BTC-USD"]]: parseUnits("60000", 8) };
    prices = await startPriceService({
      port: options.pricePort,
      host,
      feeds: Object.values(FEEDS).map((id) => ({ id, expo: -8, points: [{ publishTime: chainNow, price: opening[id] }] })),
      now: () => chainNow,
    });
    const priceService = prices;
    const priceUrl = priceService.url;

    const deploy = spawnLogged(
      "npx",
      ["hardhat", "run", "web/scripts/deploy-local.ts", "--network", "localhost"],
      { LOCALHOST_RPC_URL: rpcUrl, PERP_PRICE_SERVICE_URL: priceUrl, WEB_DEPLOYMENT_OUT: options.deploymentFile },
      log,
      "deploy",
    );
    children.push(deploy);
    const code = await exited(deploy);
    if (code !== 0) throw new Error(`the deployment failed (exit code ${code}); run with a log to see why`);
    const deployment = JSON.parse(readFileSync(options.deploymentFile, "utf8")) as Deployment;
    const source = new HermesPriceSource({ endpoint: priceUrl, httpRetries: 0 });
    const operator = new Wallet(keys[0], provider);
    const book = OrderBook__factory.connect(deployment.contracts.OrderBook!, operator);
    const marketIds = deployment.markets.map((m) => m.id);
    let pushing: Promise<void> = Promise.resolve();
    /**
     * Republishes every feed's latest price (set by `setPrice` or by POST /local/price) at the latest block's time,
     * never ahead of it, and, when asked, pushes them on chain.
     */
    const publish = (push: boolean, change?: { id: string; price: bigint }) => {
      pushing = pushing.then(async () => {
        chainNow = await latestTime();
        for (const id of Object.values(FEEDS)) {
          const last = priceService.points(id).at(-1)!;
          const price = change?.id === id ? change.price : last.price;
          if (chainNow > last.publishTime || price !== last.price) priceService.setPrice(id, price, Math.max(chainNow, last.publishTime + 1));
        }
        if (!push) return;
        const data = (await source.latest(Object.values(FEEDS))).updateData;
        let fee = 0n;
        for (const m of deployment.markets) fee += await IPriceFeed__factory.connect(m.priceFeed, provider).getUpdateFee(data);
        await (await book.pokePrices(marketIds, data, { value: fee })).wait();
      });
      return pushing;
    };

    // The vault backs open interest: one LP deposit, settled after the vault's delay.
    const lp = await PerpClient.connect({ runner: new Wallet(keys[1], provider), deployment });
    const requests = await lp.lpRequests();
    await (await MockUSDC__factory.connect(deployment.contracts.CollateralToken, operator).mint(await lp.address(), LP_USDC + requests.keeperFee)).wait();
    await lp.lpDeposit(LP_USDC);
    await provider.send("evm_increaseTime", [Number(requests.settleDelay)]);
    await provider.send("evm_mine", []);
    await publish(true);
    await lp.lpSettle("deposit", await lp.address());
    await lp.lpClaim("deposit");

    const keeper = spawnLogged(
      "node",
      ["--import", "tsx", "scripts/keeper/main.ts", "--rpc", rpcUrl, "--deployment", options.deploymentFile, "--prices", priceUrl, "--poll-ms", String(options.keeperPollMs ?? 250)],
      { PRIVATE_KEY: keys[2] },
      log,
      "keeper",
    );
    children.push(keeper);

    let beats = 0;
    const clockSpeed = options.clockSpeed ?? 1;
    if (!Number.isInteger(clockSpeed) || clockSpeed < 1 || clockSpeed > 10) throw new Error(`clockSpeed must be a whole number from 1 to 10, got ${clockSpeed}`);
    heartbeat = setInterval(() => {
      beats++;
      // The wall clock moves the chain one second a beat; the beat adds the rest.
      void (clockSpeed > 1 ? provider.send("evm_increaseTime", [clockSpeed - 1]) : Promise.resolve())
        .then(() => provider.send("evm_mine", []))
        .then(() => publish(beats % POKE_EVERY_BEATS === 0))
        .catch((error: unknown) => log(`[heartbeat] ${String(error)}`));
    }, 1000);

    return {
      rpcUrl,
      priceUrl,
      deployment,
      chainId,
      traderKeys: keys.slice(3),
      provider,
      prices: priceService,
      async setPrice(symbol, usd) {
        await provider.send("evm_mine", []);
        await publish(true, { id: FEEDS[symbol], price: parseUnits(usd, 8) });
      },
      now: latestTime,
      pauseKeeper: () => signalGroup(keeper, "SIGSTOP"),
      resumeKeeper: () => signalGroup(keeper, "SIGCONT"),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
