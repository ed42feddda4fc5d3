/**
 * Helpers of scripts/deploy.ts and of the demo (scripts/demo/deploy.ts): paths, parameter checks, the stale-journal
 * check, the Ignition deployment itself and the `deployments/<network>.json` record (schema: sdk/src/deployments.ts).
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

import {
  HardhatArtifactResolver,
  PrettyEventHandler,
  errorDeploymentResultToExceptionMessage,
} from "@nomicfoundation/hardhat-ignition/helpers";
import { DeploymentResultType, deploy, listTransactions } from "@nomicfoundation/ignition-core";
import type { DeploymentParameters, IgnitionModule } from "@nomicfoundation/ignition-core";
import { ZeroAddress, getAddress, type Provider } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";

import { FUTURE_IDS, MARKETS } from "../../ignition/lib/perp.js";
import type { Deployment, DeployedMarket } from "@perp/sdk";
import { PerpEngine__factory } from "@perp/sdk/contracts";
import { deploymentProblems as sdkDeploymentProblems } from "@perp/sdk/node";

/** Chain ids of development nodes (`hardhat node`, anvil, ganache): their state does not outlive the process. */
export const LOCAL_CHAIN_IDS: readonly number[] = [31337, 1337];

export const MODULE_IDS = ["PerpPythLocal", "PerpPyth", "PerpLocal", "PerpProtocol"] as const;
export type ModuleId = (typeof MODULE_IDS)[number];
/** Modules with Pyth markets and the order book (v2); the other two are v1's Chainlink-priced engine. */
export const PYTH_MODULE_IDS: readonly ModuleId[] = ["PerpPythLocal", "PerpPyth"];

export function isPythModule(moduleId: string): boolean {
  return (PYTH_MODULE_IDS as readonly string[]).includes(moduleId);
}

/** Environment variables the deploy script reads (all optional). */
export const ENV = {
  /** One of MODULE_IDS; default: `PerpPythLocal` on a local chain, `PerpPyth` elsewhere (v1: `PerpProtocol`, `PerpLocal`). */
  module: "PERP_MODULE",
  /** Parameters file; default `ignition/parameters/<network>.json` if it exists. */
  parameters: "PERP_PARAMETERS",
  /** Where `<network>.json` is written; default `deployments/`. */
  deploymentsDir: "PERP_DEPLOYMENTS_DIR",
  /** Where Ignition keeps its journals (`<dir>/chain-<id>/`); default `ignition/deployments/`. */
  ignitionDeploymentsDir: "PERP_IGNITION_DEPLOYMENTS_DIR",
} as const;

/**
 * The module to deploy: `$PERP_MODULE`, else the v2 protocol (Pyth markets and the order book, what the SDK, CLI,
 * keeper and web page default to): `PerpPythLocal` on a local chain, `PerpPyth` on any other (the public Pyth
 * testnets: Sei atlantic-2, Arbitrum Sepolia, Base Sepolia, Ethereum Sepolia). v1's Chainlink-priced engine only when
 * asked for: `PERP_MODULE=PerpProtocol` (`PerpLocal` locally). With `pyth` (deploy:pyth) only a Pyth module is accepted.
 */
export function chooseModule(chainId: number, options: { pyth?: boolean } = {}): ModuleId {
  const requested = process.env[ENV.module];
  const local = LOCAL_CHAIN_IDS.includes(chainId);
  if (requested === undefined || requested === "") return local ? "PerpPythLocal" : "PerpPyth";
  const allowed = options.pyth === true ? PYTH_MODULE_IDS : MODULE_IDS;
  if (!(allowed as readonly string[]).includes(requested)) {
    throw new Error(`${ENV.module}=${requested}: expected one of ${allowed.join(", ")}`);
  }
  return requested as ModuleId;
}

/** The parameters file to use, or undefined when there is none (allowed for `PerpLocal` only). */
export function parametersPath(root: string, networkName: string): string | undefined {
  const fromEnv = process.env[ENV.parameters];
  if (fromEnv !== undefined && fromEnv !== "") {
    const resolved = path.resolve(fromEnv);
    if (!existsSync(resolved)) throw new Error(`${ENV.parameters}: no file at ${resolved}`);
    return resolved;
  }
  const byNetwork = path.join(root, "ignition", "parameters", `${networkName}.json`);
  return existsSync(byNetwork) ? byNetwork : undefined;
}

/**
 * Every value still marked TODO in the module's section (or `$global`), as `name: value` lines. A TODO is a value
 * nobody has confirmed yet (docs/deployment.md); deploying with it would fail later or, worse, succeed wrongly.
 */
export function findTodos(parameters: DeploymentParameters, moduleId: string): string[] {
  const found: string[] = [];
  const visit = (value: unknown, name: string) => {
    if (typeof value === "string" && /^\s*TODO/i.test(value)) found.push(`${name}: ${value}`);
    else if (Array.isArray(value)) value.forEach((item, i) => visit(item, `${name}[${i}]`));
    else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) visit(item, name === "" ? key : `${name}.${key}`);
    }
  };
  visit(parameters[moduleId] ?? {}, "");
  visit(parameters.$global ?? {}, "$global");
  return found;
}

/** Futures every module deploys itself (not `contractAt`): on a live chain each has code. */
export function deployedFutureIds(moduleId: string): string[] {
  const ids = [
    FUTURE_IDS.liquidationLogic,
    FUTURE_IDS.liquidationPriceLogic,
    FUTURE_IDS.marketAdminLogic,
    FUTURE_IDS.engine,
    FUTURE_IDS.vault,
    FUTURE_IDS.lens,
    ...MARKETS.map(FUTURE_IDS.priceFeed),
    ...(isPythModule(moduleId) ? [FUTURE_IDS.orderBook] : []),
  ];
  return ids.map((id) => `${moduleId}#${id}`);
}

/**
 * Addresses the journal says were deployed but that have no code on the chain. Non-empty means the journal belongs
 * to an earlier instance of the chain (a restarted `hardhat node` or anvil) or to another chain with the same id.
 */
export async function missingCode(
  deploymentDir: string,
  moduleId: string,
  getCode: (address: string) => Promise<string>,
): Promise<string[]> {
  const file = path.join(deploymentDir, "deployed_addresses.json");
  if (!existsSync(file)) return [];
  const recorded = JSON.parse(await readFile(file, "utf8")) as Record<string, string>;
  const missing: string[] = [];
  for (const id of deployedFutureIds(moduleId)) {
    const address = recorded[id];
    if (address !== undefined && (await getCode(address)) === "0x") missing.push(`${id} ${address}`);
  }
  return missing;
}

export async function removeJournal(deploymentDir: string): Promise<void> {
  await rm(deploymentDir, { recursive: true, force: true });
}

/**
 * `deployments/<network>.json` from Ignition's result (future id -> address). A Pyth module's record also has the
 * order book, the Pyth contract, each market's feed id (`<market>PriceId` of the module's parameters, else the id of
 * MARKETS), as `aggregator` its Chainlink reference feed (address(0): none) and `hermesUrl`, where clients fetch
 * update data (Hermes, or the local price service).
 */
export function buildDeployment(args: {
  network: string;
  chainId: number;
  deploymentBlock: number;
  moduleId: string;
  addresses: Readonly<Record<string, string>>;
  /** The module's own parameters section (Pyth modules: feed ids and reference feeds). */
  moduleParameters?: Readonly<Record<string, unknown>>;
  /** Pyth modules: the price service the deployment was listed from. */
  hermesUrl?: string;
}): Deployment {
  const { network, chainId, deploymentBlock, moduleId, addresses, moduleParameters = {}, hermesUrl } = args;
  const address = (futureId: string): string => {
    const value = addresses[`${moduleId}#${futureId}`];
    if (value === undefined) throw new Error(`Ignition's result has no ${moduleId}#${futureId}`);
    return getAddress(value);
  };
  const pyth = isPythModule(moduleId);
  const parameter = (name: string): string | undefined => {
    const value = moduleParameters[name];
    return typeof value === "string" ? value : undefined;
  };
  const markets: DeployedMarket[] = MARKETS.map((market, id) => ({
    id,
    symbol: market.symbol,
    priceFeed: address(FUTURE_IDS.priceFeed(market)),
    aggregator: pyth
      ? getAddress(parameter(`${market.param}ReferenceFeed`) ?? ZeroAddress)
      : address(FUTURE_IDS.aggregator(market)),
    ...(pyth ? { pythPriceId: (parameter(`${market.param}PriceId`) ?? market.pythPriceId).toLowerCase() } : {}),
  }));
  return {
    schemaVersion: 1,
    network,
    chainId,
    deploymentBlock,
    contracts: {
      PerpEngine: address(FUTURE_IDS.engine),
      LiquidityVault: address(FUTURE_IDS.vault),
      CollateralToken: address(FUTURE_IDS.collateralToken),
      LiquidationLogic: address(FUTURE_IDS.liquidationLogic),
      LiquidationPriceLogic: address(FUTURE_IDS.liquidationPriceLogic),
      MarketAdminLogic: address(FUTURE_IDS.marketAdminLogic),
      PerpLens: address(FUTURE_IDS.lens),
      ...(pyth ? { OrderBook: address(FUTURE_IDS.orderBook) } : {}),
    },
    ...(pyth ? { pyth: address(FUTURE_IDS.pyth), ...(hermesUrl === undefined ? {} : { hermesUrl }) } : {}),
    markets,
  };
}

export function serializeDeployment(deployment: Deployment): string {
  return `${JSON.stringify(deployment, null, 2)}\n`;
}

/** Writes `<dir>/<network>.json`; returns its path. The same deployment always gives the same bytes. */
export async function writeDeployment(dir: string, deployment: Deployment): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${deployment.network}.json`);
  await writeFile(file, serializeDeployment(deployment));
  return file;
}

// ------------------------------------------------------------------------------------------ shared deploy steps
// Used by scripts/deploy.ts and by the demo (scripts/demo/deploy.ts).

/**
 * Ignition's journal directory for `chainId` (`<PERP_IGNITION_DEPLOYMENTS_DIR or ignition/deployments>/chain-<id>`,
 * `chain-<id>-pyth` for a Pyth module),
 * or undefined on the in-process network, whose state ends with the script (Ignition then keeps no journal).
 */
export function journalDir(
  hre: HardhatRuntimeEnvironment,
  connection: NetworkConnection,
  chainId: number,
  moduleId: string,
): string | undefined {
  if (connection.networkConfig.type === "edr-simulated") return undefined;
  const base = process.env[ENV.ignitionDeploymentsDir] || path.join(hre.config.paths.ignition, "deployments");
  // Pyth modules apart: a chain may carry a v1 deployment and a Pyth one, each with its own journal.
  return path.join(base, isPythModule(moduleId) ? `chain-${chainId}-pyth` : `chain-${chainId}`);
}

/**
 * Discards a journal that records contracts with no code on a local chain (the node was restarted), so that the
 * next deployment starts afresh; refuses (throws) on any other chain. Returns a message saying what was discarded,
 * or undefined when the journal is fine or absent.
 */
export async function discardStaleJournal(args: {
  root: string;
  deploymentDir: string;
  moduleId: string;
  chainId: number;
  getCode: (address: string) => Promise<string>;
}): Promise<string | undefined> {
  const { root, deploymentDir, moduleId, chainId, getCode } = args;
  const missing = await missingCode(deploymentDir, moduleId, getCode);
  if (missing.length === 0) return undefined;
  const detail =
    `the journal ${path.relative(root, deploymentDir)} records contracts that have no code on ` +
    `chain ${chainId}:\n  ${missing.join("\n  ")}`;
  if (!LOCAL_CHAIN_IDS.includes(chainId)) {
    throw new Error(`${detail}\nIt belongs to another chain or deployment: move it away if that is intended.`);
  }
  await removeJournal(deploymentDir);
  return `Local chain ${chainId} was restarted (${detail}).\nDiscarding that journal and deploying afresh.`;
}

/**
 * Deploys (or, with a complete journal, resumes: sends only what is missing) an Ignition module over `connection`,
 * from the node's accounts. Returns Ignition's future id -> address map (`<ModuleId>#<futureId>`).
 */
export async function deployWithIgnition(args: {
  hre: HardhatRuntimeEnvironment;
  connection: NetworkConnection;
  ignitionModule: IgnitionModule;
  parameters: DeploymentParameters;
  /** Journal directory; undefined on the in-process network. */
  deploymentDir: string | undefined;
  /** Ignition's live display (a terminal only). */
  showProgress: boolean;
}): Promise<Record<string, string>> {
  const { hre, connection, ignitionModule, parameters, deploymentDir, showProgress } = args;
  const { provider, networkConfig } = connection;
  const accounts = (await provider.request({ method: "eth_accounts" })) as string[];
  const result = await deploy({
    config: hre.config.ignition,
    provider,
    executionEventListener: showProgress ? new PrettyEventHandler(hre.interruptions) : undefined,
    artifactResolver: new HardhatArtifactResolver(hre.artifacts),
    deploymentDir,
    ignitionModule,
    deploymentParameters: parameters,
    accounts,
    maxFeePerGasLimit: networkConfig.ignition.maxFeePerGasLimit,
    maxFeePerGas: networkConfig.ignition.maxFeePerGas,
    maxPriorityFeePerGas: networkConfig.ignition.maxPriorityFeePerGas,
    gasPrice: networkConfig.ignition.gasPrice,
    disableFeeBumping: hre.config.ignition.disableFeeBumping ?? networkConfig.ignition.disableFeeBumping,
  });
  if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) {
    throw new Error(errorDeploymentResultToExceptionMessage(result));
  }
  return Object.fromEntries(Object.entries(result.contracts).map(([id, c]) => [id, c.address]));
}

/** The block in which the journal's transaction deployed `address` (the engine: where event scans start). */
export async function journalDeploymentBlock(
  hre: HardhatRuntimeEnvironment,
  connection: NetworkConnection,
  deploymentDir: string,
  address: string,
): Promise<number> {
  const wanted = getAddress(address);
  const tx = (await listTransactions(deploymentDir, new HardhatArtifactResolver(hre.artifacts))).find(
    (t) => t.address !== undefined && getAddress(t.address) === wanted,
  );
  if (tx === undefined) throw new Error(`The journal has no deployment transaction of ${wanted}`);
  const receipt = (await connection.provider.request({
    method: "eth_getTransactionReceipt",
    params: [tx.txHash],
  })) as { blockNumber: string } | null;
  if (receipt === null) throw new Error(`No receipt for the deployment of ${wanted} (${tx.txHash})`);
  return Number(receipt.blockNumber);
}

/**
 * What is wrong with a deployment record of this repository's modules on the chain `provider` serves: the SDK's
 * checks (`@perp/sdk/node` `deploymentProblems`: chain id, code at every address, the engine wired to the vault, the
 * token and each market's adapter and aggregator) and, since the modules list `MARKETS`, their number.
 */
export async function deploymentProblems(provider: Provider, deployment: Deployment): Promise<string[]> {
  const problems = await sdkDeploymentProblems(provider, deployment);
  if (problems.length > 0 || deployment.chainId !== Number((await provider.getNetwork()).chainId)) return problems;
  const marketCount = await PerpEngine__factory.connect(deployment.contracts.PerpEngine, provider).marketCount();
  if (marketCount !== BigInt(MARKETS.length)) problems.push(`the engine lists ${marketCount} markets, expected ${MARKETS.length}`);
  if (deployment.markets.length !== MARKETS.length) {
    problems.push(`the record lists ${deployment.markets.length} markets, expected ${MARKETS.length}`);
  }
  return problems;
}
