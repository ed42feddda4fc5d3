/**
 * The demo's deployment step, built from the deploy script's pieces (scripts/lib/deployment.ts):
 *
 * - in-process network: deploys `PerpLocal` with Ignition, without a journal (the chain ends with the script);
 * - a node (`--network localhost`): uses `deployments/<network>.json` when it describes the chain; otherwise deploys
 *   `PerpLocal` exactly as `npm run deploy` does (journal, stale-journal check) and writes that record.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";

import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import type { Provider } from "ethers";

import PerpLocal from "../../ignition/modules/PerpLocal.js";
import { FUTURE_IDS } from "../../ignition/lib/perp.js";
import type { Deployment } from "@perp/sdk";
import {
  ENV,
  LOCAL_CHAIN_IDS,
  buildDeployment,
  deployWithIgnition,
  deploymentProblems,
  discardStaleJournal,
  journalDeploymentBlock,
  journalDir,
  writeDeployment,
} from "../lib/deployment.js";

const MODULE_ID = "PerpLocal";

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
  const deploymentDir = journalDir(hre, connection, chainId);

  if (deploymentDir !== undefined) {
    const recordFile = path.join(process.env[ENV.deploymentsDir] || path.join(root, "deployments"), `${networkName}.json`);
    const shown = display(root, recordFile);
    if (existsSync(recordFile)) {
      const recorded = JSON.parse(await readFile(recordFile, "utf8")) as Deployment;
      const problems = await deploymentProblems(provider, recorded);
      if (problems.length === 0) {
        return { deployment: recorded, deployedNow: false, notes: [`Using ${shown}: it matches the chain.`] };
      }
      notes.push(`${shown} does not describe this chain (${problems[0]}${problems.length > 1 ? ", ..." : ""}).`);
    } else {
      notes.push(`No ${shown} yet.`);
    }
    const discarded = await discardStaleJournal({
      root,
      deploymentDir,
      moduleId: MODULE_ID,
      chainId,
      getCode: (address) => provider.getCode(address),
    });
    if (discarded !== undefined) notes.push(discarded.split("\n")[0]);
  }

  const fromBlock = await provider.getBlockNumber();
  const addresses = await deployWithIgnition({
    hre,
    connection,
    ignitionModule: PerpLocal,
    parameters: {},
    deploymentDir,
    showProgress: false,
  });
  const engine = addresses[`${MODULE_ID}#${FUTURE_IDS.engine}`];
  const deploymentBlock =
    deploymentDir === undefined
      ? await firstBlockWithCode(provider, engine, fromBlock + 1, await provider.getBlockNumber())
      : await journalDeploymentBlock(hre, connection, deploymentDir, engine);
  const deployment = buildDeployment({ network: networkName, chainId, deploymentBlock, moduleId: MODULE_ID, addresses });
  const problems = await deploymentProblems(provider, deployment);
  if (problems.length > 0) throw new Error(`the deployment does not match the chain: ${problems.join("; ")}`);
  notes.push(`Deployed ${MODULE_ID} with Ignition (engine in block ${deploymentBlock}).`);
  if (deploymentDir !== undefined) {
    const file = await writeDeployment(process.env[ENV.deploymentsDir] || path.join(root, "deployments"), deployment);
    notes.push(`Wrote ${display(root, file)}.`);
  }
  return { deployment, deployedNow: true, notes };
}

/** A path relative to the project when it is inside it, else absolute. */
function display(root: string, file: string): string {
  const relative = path.relative(root, file);
  return relative === "" || relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}

/** The first block in [from, to] at whose end `address` has code (binary search over historical state). */
async function firstBlockWithCode(provider: Provider, address: string, from: number, to: number): Promise<number> {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await provider.getCode(address, mid)) === "0x") lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
