/**
 * Deploys the protocol with Pyth markets (docs/deployment.md, "Pyth markets"):
 *
 *   PYTH_API_KEY=… npm run deploy:pyth -- --network baseSepolia     PerpPyth, parameters from ignition/parameters/
 *   PERP_PRICE_SERVICE_URL=http://127.0.0.1:8787 npm run deploy:pyth -- --network localhost     PerpPythLocal
 *
 * Order: (public networks) the preflight of scripts/lib/preflight.ts refuses before anything is sent if the Pyth
 * address has no code or a feed id is unknown; then one fresh update per market is fetched (Hermes, or the local
 * price service) and passed as `<market>PriceUpdate`, which the module pushes into each adapter right before
 * listing it. Journal: `ignition/deployments/chain-<id>-pyth/` (apart from the Chainlink deployment's). A rerun
 * reuses the updates recorded in the journal for the steps already sent, so that Ignition sees unchanged arguments.
 * Writes no deployments/<network>.json yet (its schema has Chainlink aggregators; see docs).
 *
 * Environment: PYTH_API_KEY (Hermes needs one), PYTH_HERMES_URL (default https://hermes.pyth.network),
 * PERP_PRICE_SERVICE_URL (local chains, default http://127.0.0.1:8787), PERP_PARAMETERS, PERP_IGNITION_DEPLOYMENTS_DIR.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";

import { readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import hre from "hardhat";

import { HERMES_ENDPOINT, HermesPriceSource } from "@perp/sdk/prices";

import { MARKETS } from "../ignition/lib/perp.js";
import PerpPyth from "../ignition/modules/PerpPyth.js";
import PerpPythLocal from "../ignition/modules/PerpPythLocal.js";
import { ENV, LOCAL_CHAIN_IDS, deployWithIgnition, findTodos, parametersPath } from "./lib/deployment.js";
import { PYTH_MODULE, PreflightError, formatPreflight, pythPreflight, pythTargetFromParameters } from "./lib/preflight.js";
import { pythListingParameters } from "./lib/pyth-listing.js";

/** `<market>PriceUpdate` values the journal recorded for `updatePrice_<KEY>` steps already started. */
async function journaledUpdates(deploymentDir: string, moduleId: string): Promise<Record<string, string[]>> {
  const file = path.join(deploymentDir, "journal.jsonl");
  if (!existsSync(file)) return {};
  const found: Record<string, string[]> = {};
  for (const line of (await readFile(file, "utf8")).split("\n")) {
    if (!line.includes("updatePrice_")) continue;
    const entry = JSON.parse(line) as { type?: string; futureId?: string; args?: unknown[] };
    const market = MARKETS.find((m) => entry.futureId === `${moduleId}#updatePrice_${m.key}`);
    if (market !== undefined && entry.type === "CALL_EXECUTION_STATE_INITIALIZE" && Array.isArray(entry.args?.[0])) {
      found[`${market.param}PriceUpdate`] = entry.args[0] as string[];
    }
  }
  return found;
}

const connection = await hre.network.getOrCreate();
const { networkName, ethers, networkConfig } = connection;
const root = hre.config.paths.root;
const chainId = Number((await ethers.provider.getNetwork()).chainId);
const local = LOCAL_CHAIN_IDS.includes(chainId);
const moduleId = local ? "PerpPythLocal" : PYTH_MODULE;

const parametersFile = parametersPath(root, networkName);
if (parametersFile === undefined && !local) {
  throw new Error(`No parameters for network "${networkName}": add a ${PYTH_MODULE} section to ignition/parameters/${networkName}.json or set ${ENV.parameters}.`);
}
const parameters: DeploymentParameters = parametersFile === undefined ? {} : await readDeploymentParameters(parametersFile);
const todos = findTodos(parameters, moduleId);
if (todos.length > 0) throw new Error(`${parametersFile} still has values marked TODO for ${moduleId}:\n  ${todos.join("\n  ")}`);
const section = (parameters[moduleId] ?? {}) as Record<string, string>;

if (!local) {
  try {
    const target = pythTargetFromParameters(parameters as Parameters<typeof pythTargetFromParameters>[0], MARKETS);
    console.log(formatPreflight(await pythPreflight(ethers.provider, target)));
  } catch (error) {
    if (error instanceof PreflightError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

const endpoint = local
  ? process.env.PERP_PRICE_SERVICE_URL || "http://127.0.0.1:8787"
  : process.env.PYTH_HERMES_URL || HERMES_ENDPOINT;
const apiKey = process.env.PYTH_API_KEY;
if (!local && endpoint === HERMES_ENDPOINT && (apiKey === undefined || apiKey === "")) {
  throw new Error("PYTH_API_KEY is not set: Hermes requires an API key (docs/deployment.md, \"Pyth markets\").");
}

const deploymentDir =
  networkConfig.type === "edr-simulated"
    ? undefined
    : path.join(process.env[ENV.ignitionDeploymentsDir] || path.join(hre.config.paths.ignition, "deployments"), `chain-${chainId}-pyth`);
const fresh = await pythListingParameters(new HermesPriceSource({ endpoint, apiKey }), MARKETS, section);
const reused = deploymentDir === undefined ? {} : await journaledUpdates(deploymentDir, moduleId);
const updates = { ...fresh, ...reused };

console.log(`Deploying ${moduleId} to "${networkName}" (chain ${chainId}) with prices from ${endpoint}`);
const addresses = await deployWithIgnition({
  hre,
  connection,
  ignitionModule: local ? PerpPythLocal : PerpPyth,
  parameters: { ...parameters, [moduleId]: { ...section, ...updates } },
  deploymentDir,
  showProgress: process.stdout.isTTY === true,
});
for (const [id, address] of Object.entries(addresses)) console.log(`  ${id} ${address}`);
