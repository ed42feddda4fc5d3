/**
 * `@perp/sdk/node`: what needs Node (the file system, the environment). Finding, reading and validating
 * `deployments/<network>.json`, the RPC URL from the environment, URL redaction for logs, key checks, and a
 * deployment's check against the chain. One behaviour for every app: the CLI and the keeper use the same defaults.
 * Browsers import the JSON themselves and pass it to `PerpClient.connect`.
 *
 * @packageDocumentation
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { getAddress, isAddress, type Provider } from "ethers";

import { DEFAULT_RPC_URL } from "./constants.js";
import type { Deployment } from "./deployments.js";
import { PerpError } from "./errors.js";
import { ChainlinkPriceFeed__factory, IOrderEngine__factory, IPythPriceFeed__factory, PerpEngine__factory } from "./generated/index.js";

/** A setting (deployment, URL, key) that cannot work; nothing was sent. */
export class ConfigurationError extends PerpError {
  override name = "ConfigurationError";
}

/** No deployment file matches the network name, path or chain id. */
export class DeploymentNotFoundError extends ConfigurationError {
  override name = "DeploymentNotFoundError";
}

/** A file that is not a deployment record of the supported schema. */
export class InvalidDeploymentError extends ConfigurationError {
  override name = "InvalidDeploymentError";
}

/** The environment variables the node helpers read. */
export const ENV_VARS = {
  /** The JSON-RPC endpoint. */
  rpcUrl: "RPC_URL",
  /** The local node's endpoint (as `hardhat.config.ts`'s `localhost` network reads it), when `RPC_URL` is unset. */
  localhostRpcUrl: "LOCALHOST_RPC_URL",
  /** The directory of deployment records (default `./deployments`). */
  deploymentsDir: "PERP_DEPLOYMENTS_DIR",
} as const;

/** Networks whose default endpoint is the local node (`LOCALHOST_RPC_URL`). */
const LOCAL_NETWORKS = new Set(["localhost", "hardhat", "anvil"]);

/**
 * The directory of deployment records: `$PERP_DEPLOYMENTS_DIR`, else `<root>/deployments`.
 * @example deploymentsDirectory(process.env, repoRoot)
 */
export function deploymentsDirectory(env: NodeJS.ProcessEnv = process.env, root = process.cwd()): string {
  const fromEnv = env[ENV_VARS.deploymentsDir];
  return fromEnv ? path.resolve(fromEnv) : path.resolve(root, "deployments");
}

/**
 * Checks the shape of a deployment record (`deployments.ts`): schema version, chain id, deployment block, the
 * addresses clients use, the markets.
 * @throws InvalidDeploymentError naming `source` and the first problem.
 * @example const deployment = validateDeployment(JSON.parse(text), file)
 */
export function validateDeployment(value: unknown, source: string): Deployment {
  const fail = (what: string): never => {
    throw new InvalidDeploymentError(`${source} is not a deployment file: ${what}`);
  };
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail("not a JSON object");
  const d = value as Partial<Record<keyof Deployment, unknown>> & { contracts?: Record<string, unknown> };
  if (d.schemaVersion !== 1) fail(`schemaVersion is ${JSON.stringify(d.schemaVersion)}, expected 1`);
  if (!Number.isSafeInteger(d.chainId) || (d.chainId as number) <= 0) fail("chainId is missing");
  if (!Number.isSafeInteger(d.deploymentBlock) || (d.deploymentBlock as number) < 0) fail("deploymentBlock is missing");
  for (const name of ["PerpEngine", "PerpLens", "LiquidityVault", "CollateralToken"]) {
    const address = d.contracts?.[name];
    if (typeof address !== "string" || !isAddress(address)) fail(`contracts.${name} is not an address`);
  }
  // v2 fields are optional; when present they must be what they say.
  const orderBook = d.contracts?.OrderBook;
  if (orderBook !== undefined && (typeof orderBook !== "string" || !isAddress(orderBook))) fail("contracts.OrderBook is not an address");
  if (d.pyth !== undefined && (typeof d.pyth !== "string" || !isAddress(d.pyth))) fail("pyth is not an address");
  if (d.hermesUrl !== undefined && (typeof d.hermesUrl !== "string" || !/^https?:\/\//.test(d.hermesUrl))) fail("hermesUrl is not an http(s) URL");
  if (!Array.isArray(d.markets)) fail("markets is missing");
  for (const [i, market] of (d.markets as unknown[]).entries()) {
    const mk = market as { id?: unknown; symbol?: unknown; priceFeed?: unknown; pythPriceId?: unknown };
    if (!Number.isSafeInteger(mk?.id) || typeof mk.symbol !== "string" || typeof mk.priceFeed !== "string" || !isAddress(mk.priceFeed)) {
      fail(`markets[${i}] needs an id, a symbol and a priceFeed address`);
    }
    if (mk.pythPriceId !== undefined && (typeof mk.pythPriceId !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(mk.pythPriceId))) {
      fail(`markets[${i}].pythPriceId is not a 32-byte hex feed id`);
    }
  }
  return value as Deployment;
}

/**
 * Reads and validates one deployment file.
 * @example readDeploymentFile("deployments/localhost.json").chainId // 31337
 */
export function readDeploymentFile(file: string): Deployment {
  const resolved = path.resolve(file);
  if (!existsSync(resolved)) throw new DeploymentNotFoundError(`no deployment file at ${resolved}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(resolved, "utf8"));
  } catch (error) {
    throw new InvalidDeploymentError(`${resolved} is not a deployment file: ${(error as Error).message}`);
  }
  return validateDeployment(parsed, resolved);
}

/**
 * Loads a deployment by network name ("localhost", "sepolia") or chain id (31337) from `directory` (default
 * `./deployments`), validated.
 * @example const deployment = loadDeployment("localhost")
 */
export function loadDeployment(network: string | number, directory = path.resolve("deployments")): Deployment {
  if (!existsSync(directory)) throw new DeploymentNotFoundError(`no deployments directory at ${directory}`);
  const files = readdirSync(directory).filter((f) => f.endsWith(".json")).sort();
  for (const file of files) {
    const full = path.join(directory, file);
    if (typeof network === "number") {
      let chainId: unknown;
      try {
        chainId = (JSON.parse(readFileSync(full, "utf8")) as { chainId?: unknown }).chainId;
      } catch {
        continue; // not a record; a name lookup would report it
      }
      if (chainId === network) return readDeploymentFile(full);
    } else if (file === `${network}.json`) {
      return readDeploymentFile(full);
    }
  }
  throw new DeploymentNotFoundError(
    `no deployment for ${typeof network === "number" ? `chain ${network}` : `network "${network}"`} in ${directory} ` +
      `(found: ${files.join(", ") || "none"}); run \`npm run deploy -- --network <name>\` first`,
  );
}

/**
 * Whether a `--deployment` value names a file rather than a network.
 * @example isDeploymentPath("./my.json") // true
 */
export function isDeploymentPath(value: string): boolean {
  return value.endsWith(".json") || value.includes("/") || value.includes("\\");
}

/** Options of `resolveDeployment`. */
export interface ResolveDeploymentOptions {
  /** The endpoint's chain id: picks the record when no name is given. */
  readonly chainId?: number;
  /** Where records are looked up (default `deploymentsDirectory(env)`). */
  readonly directory?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A resolved deployment and the file it came from. */
export interface ResolvedDeployment {
  readonly deployment: Deployment;
  readonly source: string;
}

/**
 * The deployment a user named, the same way in every app: a path to a JSON file; a network name looked up in the
 * deployments directory; or, when nothing is given, the record whose `chainId` is the endpoint's (with `chainId`),
 * else `localhost`.
 * @example const { deployment, source } = resolveDeployment(options.deployment, { chainId: 31337 })
 */
export function resolveDeployment(nameOrPath: string | undefined, options: ResolveDeploymentOptions = {}): ResolvedDeployment {
  if (nameOrPath !== undefined && nameOrPath !== "" && isDeploymentPath(nameOrPath)) {
    const file = path.resolve(nameOrPath);
    return { deployment: readDeploymentFile(file), source: file };
  }
  const directory = options.directory ?? deploymentsDirectory(options.env ?? process.env);
  const wanted: string | number = nameOrPath || (options.chainId ?? "localhost");
  const deployment = loadDeployment(wanted, directory);
  return { deployment, source: path.join(directory, `${typeof wanted === "string" ? wanted : deployment.network}.json`) };
}

/**
 * The RPC URL to use, the same way in every app: the explicit option, else `$RPC_URL`, else (for a local network
 * or when no network is named) `$LOCALHOST_RPC_URL`, else `http://127.0.0.1:8545`. Checked: http(s) only.
 * @throws ConfigurationError for a value that is not an http(s) URL.
 * @example const url = resolveRpcUrl(options.rpc) // honours RPC_URL and LOCALHOST_RPC_URL
 */
export function resolveRpcUrl(option?: string, options: { network?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const env = options.env ?? process.env;
  const local = options.network === undefined || LOCAL_NETWORKS.has(options.network);
  const url = option || env[ENV_VARS.rpcUrl] || (local ? env[ENV_VARS.localhostRpcUrl] : undefined) || (local ? DEFAULT_RPC_URL : undefined);
  if (!url) {
    throw new ConfigurationError(`no RPC endpoint for network "${options.network}": pass --rpc <url> or set ${ENV_VARS.rpcUrl}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigurationError(`the RPC URL is not a URL (expected http://... or https://...)`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConfigurationError(`the RPC URL must be http:// or https://, not ${parsed.protocol}`);
  }
  return url;
}

/**
 * An RPC URL fit for logs and messages: scheme, host and port only (paths, queries and user info often carry API
 * keys), with "/…" when something was hidden.
 * @example redactUrl("https://eth.example/v2/SECRET") // "https://eth.example/…"
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const hidden = (u.pathname !== "" && u.pathname !== "/") || u.search !== "" || u.username !== "" || u.password !== "";
    return `${u.protocol}//${u.host}${hidden ? "/…" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * A private key (32 bytes as 64 hex digits, with or without 0x) normalised to 0x-hex; the error never echoes it.
 * @throws ConfigurationError naming `source`.
 * @example normalizePrivateKey(process.env.PRIVATE_KEY!, "PRIVATE_KEY")
 */
export function normalizePrivateKey(value: string, source: string): string {
  const trimmed = value.trim();
  const hex = trimmed.startsWith("0x") || trimmed.startsWith("0X") ? trimmed.slice(2) : trimmed;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new ConfigurationError(`${source} is not a private key (expected 32 bytes as 64 hex digits)`);
  }
  return `0x${hex}`;
}

/**
 * What is wrong with a deployment record on the chain `provider` serves; empty when the record describes it: the
 * chain id, code at every address ("contracts missing: redeploy" after a node restart), the engine wired to the
 * vault, the token and each market's adapter, each adapter reading the recorded aggregator.
 * @example const problems = await deploymentProblems(provider, deployment); if (problems.length) console.error(problems.join("\n"))
 */
export async function deploymentProblems(provider: Provider, deployment: Deployment): Promise<string[]> {
  const chainId = Number((await provider.getNetwork()).chainId);
  if (chainId !== deployment.chainId) return [`the record is for chain ${deployment.chainId}, the node serves ${chainId}`];
  const problems: string[] = [];
  const addresses = [
    ...Object.entries(deployment.contracts).map(([name, address]) => [name, address] as const),
    ...deployment.markets.flatMap((m) =>
      m.pythPriceId ? [[`${m.symbol} adapter`, m.priceFeed] as const] : [[`${m.symbol} adapter`, m.priceFeed] as const, [`${m.symbol} aggregator`, m.aggregator] as const],
    ),
  ];
  const codes = await Promise.all(addresses.map(([, address]) => provider.getCode(address)));
  addresses.forEach(([name, address], i) => {
    if (codes[i] === "0x") problems.push(`no code at ${name} ${address}`);
  });
  if (problems.length > 0) return problems;
  const engine = PerpEngine__factory.connect(deployment.contracts.PerpEngine, provider);
  const marketCount = await engine.marketCount();
  for (const market of deployment.markets) {
    if (BigInt(market.id) >= marketCount) {
      problems.push(`the engine lists ${marketCount} markets; the record's market ${market.id} (${market.symbol}) is not one`);
      continue;
    }
    const [priceFeed] = await engine.getMarket(market.id);
    if (getAddress(priceFeed) !== getAddress(market.priceFeed)) {
      problems.push(`market ${market.id} (${market.symbol}) reads ${priceFeed}, expected ${market.priceFeed}`);
    }
    if (market.pythPriceId) {
      // A Pyth market: its adapter verifies the recorded feed id.
      const id = await IPythPriceFeed__factory.connect(market.priceFeed, provider).priceId();
      if (id.toLowerCase() !== market.pythPriceId.toLowerCase()) {
        problems.push(`${market.symbol} adapter verifies Pyth feed ${id}, expected ${market.pythPriceId}`);
      }
      continue;
    }
    const feed = await ChainlinkPriceFeed__factory.connect(market.priceFeed, provider).feed();
    if (getAddress(feed) !== getAddress(market.aggregator)) {
      problems.push(`${market.symbol} adapter reads aggregator ${feed}, expected ${market.aggregator}`);
    }
  }
  if (deployment.contracts.OrderBook) {
    const book = await IOrderEngine__factory.connect(deployment.contracts.PerpEngine, provider).orderBook();
    if (getAddress(book) !== getAddress(deployment.contracts.OrderBook)) {
      problems.push(`the engine's order book is ${book}, expected ${deployment.contracts.OrderBook}`);
    }
  }
  const [vault, token] = await Promise.all([engine.vault(), engine.collateralToken()]);
  if (getAddress(vault) !== getAddress(deployment.contracts.LiquidityVault)) {
    problems.push(`the engine's vault is ${vault}, expected ${deployment.contracts.LiquidityVault}`);
  }
  if (getAddress(token) !== getAddress(deployment.contracts.CollateralToken)) {
    problems.push(`the engine's collateral token is ${token}, expected ${deployment.contracts.CollateralToken}`);
  }
  return problems;
}
