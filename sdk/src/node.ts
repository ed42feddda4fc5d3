/**
 * Node-only helpers (file system): loading `deployments/<network>.json`. Browsers import the JSON themselves and pass
 * it to `PerpClient.connect`.
 *
 * @packageDocumentation
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import type { Deployment } from "./deployments.js";
import { PerpError } from "./errors.js";

/** No deployment file matches the network name or chain id. */
export class DeploymentNotFoundError extends PerpError {
  override name = "DeploymentNotFoundError";
}

/**
 * Loads a deployment by network name ("localhost", "sepolia") or chain id (31337) from `directory`
 * (default `./deployments`).
 * @example const deployment = loadDeployment("localhost")
 */
export function loadDeployment(network: string | number, directory = path.resolve("deployments")): Deployment {
  if (!existsSync(directory)) throw new DeploymentNotFoundError(`no deployments directory at ${directory}`);
  const files = readdirSync(directory).filter((f) => f.endsWith(".json"));
  for (const file of files) {
    const deployment = JSON.parse(readFileSync(path.join(directory, file), "utf8")) as Deployment;
    if (typeof network === "number" ? deployment.chainId === network : file === `${network}.json`) {
      if (deployment.schemaVersion !== 1) {
        throw new DeploymentNotFoundError(`${file}: unsupported schemaVersion ${String(deployment.schemaVersion)}`);
      }
      return deployment;
    }
  }
  throw new DeploymentNotFoundError(
    `no deployment for ${typeof network === "number" ? `chain ${network}` : `network "${network}"`} in ${directory} ` +
      `(found: ${files.join(", ") || "none"}); run \`npm run deploy -- --network <name>\` first`,
  );
}
