/**
 * Preflight of a Pyth deployment (scripts/lib/preflight.ts): reads `ignition/parameters/<network>.json` (or
 * PERP_PARAMETERS), then checks on the network, with reads only, that the `PerpPyth` Pyth address has code and knows
 * every market's feed id. Exit code 1 with the reasons if not; nothing is ever sent.
 *
 *   npm run deploy:check -- --network baseSepolia
 */
import path from "node:path";

import { readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import hre from "hardhat";

import { MARKETS } from "../ignition/lib/perp.js";
import { ENV, parametersPath } from "./lib/deployment.js";
import { PYTH_MODULE, PreflightError, formatPreflight, pythPreflight, pythTargetFromParameters } from "./lib/preflight.js";

const connection = await hre.network.getOrCreate();
const root = hre.config.paths.root;
try {
  const file = parametersPath(root, connection.networkName);
  if (file === undefined) {
    throw new PreflightError([
      `no parameters for network "${connection.networkName}": create ignition/parameters/${connection.networkName}.json ` +
        `with a ${PYTH_MODULE} section, or set ${ENV.parameters}`,
    ]);
  }
  const parameters = (await readDeploymentParameters(file)) as Parameters<typeof pythTargetFromParameters>[0];
  const target = pythTargetFromParameters(parameters, MARKETS);
  console.log(`Checking ${path.relative(root, file)} (${PYTH_MODULE}) against "${connection.networkName}"`);
  console.log(formatPreflight(await pythPreflight(connection.ethers.provider, target)));
  console.log("Preflight passed: the deployment may go ahead.");
} catch (error) {
  if (!(error instanceof PreflightError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
