/**
 * Helpers of scripts/deploy.ts: paths, parameter checks, the stale-journal check and the `deployments/<network>.json`
 * record (schema: sdk/src/deployments.ts).
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import { getAddress } from "ethers";

import { FUTURE_IDS, MARKETS } from "../../ignition/lib/perp.js";
import type { Deployment, DeployedMarket } from "../../sdk/src/deployments.js";

/** Chain ids of development nodes (`hardhat node`, anvil, ganache): their state does not outlive the process. */
export const LOCAL_CHAIN_IDS: readonly number[] = [31337, 1337];

export const MODULE_IDS = ["PerpLocal", "PerpProtocol"] as const;
export type ModuleId = (typeof MODULE_IDS)[number];

/** Environment variables the deploy script reads (all optional). */
export const ENV = {
  /** `PerpLocal` or `PerpProtocol`; default: `PerpLocal` on a local chain, `PerpProtocol` elsewhere. */
  module: "PERP_MODULE",
  /** Parameters file; default `ignition/parameters/<network>.json` if it exists. */
  parameters: "PERP_PARAMETERS",
  /** Where `<network>.json` is written; default `deployments/`. */
  deploymentsDir: "PERP_DEPLOYMENTS_DIR",
  /** Where Ignition keeps its journals (`<dir>/chain-<id>/`); default `ignition/deployments/`. */
  ignitionDeploymentsDir: "PERP_IGNITION_DEPLOYMENTS_DIR",
} as const;

export function chooseModule(chainId: number): ModuleId {
  const requested = process.env[ENV.module];
  if (requested === undefined || requested === "") {
    return LOCAL_CHAIN_IDS.includes(chainId) ? "PerpLocal" : "PerpProtocol";
  }
  if (!(MODULE_IDS as readonly string[]).includes(requested)) {
    throw new Error(`${ENV.module}=${requested}: expected one of ${MODULE_IDS.join(", ")}`);
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

/** `deployments/<network>.json` from Ignition's result (future id -> address). */
export function buildDeployment(args: {
  network: string;
  chainId: number;
  deploymentBlock: number;
  moduleId: string;
  addresses: Readonly<Record<string, string>>;
}): Deployment {
  const { network, chainId, deploymentBlock, moduleId, addresses } = args;
  const address = (futureId: string): string => {
    const value = addresses[`${moduleId}#${futureId}`];
    if (value === undefined) throw new Error(`Ignition's result has no ${moduleId}#${futureId}`);
    return getAddress(value);
  };
  const markets: DeployedMarket[] = MARKETS.map((market, id) => ({
    id,
    symbol: market.symbol,
    priceFeed: address(FUTURE_IDS.priceFeed(market)),
    aggregator: address(FUTURE_IDS.aggregator(market)),
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
    },
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
