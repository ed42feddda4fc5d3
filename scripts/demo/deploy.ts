/**
 * The demo's deployment step, the deploy script's path (scripts/lib/deploy-protocol.ts) with the module
 * `PerpPythLocal` (Pyth markets on the local StrictMockPyth, the order book) and the demo's price service:
 *
 * - in-process network: deploys without a journal (the chain ends with the script);
 * - a node (`--network localhost`): uses `deployments/<network>.json` when it describes the chain and has an order
 *   book; otherwise deploys exactly as `npm run deploy` does (journal, stale-journal check) and writes that record.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import type { Provider } from "ethers";

import type { Deployment } from "@perp/sdk";
import type { PriceSource } from "@perp/sdk/prices";
import { deployProtocol } from "../lib/deploy-protocol.js";
import { ENV, LOCAL_CHAIN_IDS, deploymentProblems, journalDir } from "../lib/deployment.js";

const MODULE_ID = "PerpPythLocal";

export interface DemoDeployment {
  readonly deployment: Deployment;
  /** True when this run deployed the protocol (false: an existing deployment was reused). */
  readonly deployedNow: boolean;
  /** What was done, in a few words per line. */
  readonly notes: readonly string[];
}

export async function ensureDeployment(
  hre: HardhatRuntimeEnvironment,
  connection: NetworkConnection,
  provider: Provider,
  priceSource: PriceSource,
): Promise<DemoDeployment> {
  const { networkName } = connection;
  const root = hre.config.paths.root;
  const chainId = Number((await provider.getNetwork()).chainId);
  if (!LOCAL_CHAIN_IDS.includes(chainId)) {
    throw new Error(
      `network "${networkName}" is chain ${chainId}: the demo mints mock USDC, sets mock prices and moves time, so it ` +
        `runs only on a local development chain (${LOCAL_CHAIN_IDS.join(" or ")}): no --network, or --network localhost`,
    );
  }
  const notes: string[] = [];
  const deploymentDir = journalDir(hre, connection, chainId, MODULE_ID);

  if (deploymentDir !== undefined) {
    const recordFile = path.join(process.env[ENV.deploymentsDir] || path.join(root, "deployments"), `${networkName}.json`);
    const shown = display(root, recordFile);
    if (existsSync(recordFile)) {
      const recorded = JSON.parse(await readFile(recordFile, "utf8")) as Deployment;
      const problems = await deploymentProblems(provider, recorded);
      if (recorded.contracts.OrderBook === undefined) problems.push("it has no order book (a v1 deployment)");
      if (problems.length === 0) {
        return { deployment: recorded, deployedNow: false, notes: [`Using ${shown}: it matches the chain.`] };
      }
      notes.push(`${shown} does not describe this chain (${problems[0]}${problems.length > 1 ? ", ..." : ""}).`);
    } else {
      notes.push(`No ${shown} yet.`);
    }
  }

  const { deployment, file } = await deployProtocol({
    hre,
    connection,
    moduleId: MODULE_ID,
    priceSource,
    log: (line) => {
      if (line.startsWith("Local chain")) notes.push(line.split("\n")[0]);
    },
  });
  notes.push(`Deployed ${MODULE_ID} with Ignition (engine in block ${deployment.deploymentBlock}).`);
  if (file !== undefined) notes.push(`Wrote ${display(root, file)}.`);
  return { deployment, deployedNow: true, notes };
}

/** A path relative to the project when it is inside it, else absolute. */
function display(root: string, file: string): string {
  const relative = path.relative(root, file);
  return relative === "" || relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}
