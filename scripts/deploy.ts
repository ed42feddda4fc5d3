/**
 * Deploys the protocol with Ignition and writes `deployments/<network>.json` (schema: sdk/src/deployments.ts).
 *
 *   npm run deploy -- --network localhost        (a running `npx hardhat node` or `anvil`)
 *   npm run deploy -- --network sepolia          (parameters from ignition/parameters/sepolia.json)
 *
 * Module: `PerpLocal` (mocks) on a local chain, `PerpProtocol` (real USDC and Chainlink feeds, timelock owner)
 * elsewhere. Ignition's journal (`ignition/deployments/chain-<chainId>/`, shared with `npx hardhat ignition
 * deploy`) makes a rerun idempotent: it sends only what is missing (nothing after a complete run) and the record is
 * rewritten with the same content. On a local chain a journal whose contracts have no code (the node was restarted)
 * is discarded and the protocol deployed afresh. Environment overrides: `ENV` in scripts/lib/deployment.ts.
 */
import path from "node:path";

import { readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import type { DeploymentParameters, IgnitionModule } from "@nomicfoundation/ignition-core";
import { ZeroAddress } from "ethers";
import hre from "hardhat";

import { FUTURE_IDS } from "../ignition/lib/perp.js";
import PerpLocal from "../ignition/modules/PerpLocal.js";
import PerpProtocol from "../ignition/modules/PerpProtocol.js";
import {
  ENV,
  buildDeployment,
  chooseModule,
  deployWithIgnition,
  deploymentProblems,
  discardStaleJournal,
  findTodos,
  journalDeploymentBlock,
  journalDir,
  parametersPath,
  writeDeployment,
} from "./lib/deployment.js";

const connection = await hre.network.getOrCreate();
const { provider, networkName, ethers } = connection;
const root = hre.config.paths.root;
const chainId = Number(await provider.request({ method: "eth_chainId" }));
const moduleId = chooseModule(chainId);
const ignitionModule: IgnitionModule = moduleId === "PerpLocal" ? PerpLocal : PerpProtocol;

// ------------------------------------------------------------------------------------------ parameters
const parametersFile = parametersPath(root, networkName);
if (parametersFile === undefined && moduleId === "PerpProtocol") {
  throw new Error(
    `No parameters for network "${networkName}": create ignition/parameters/${networkName}.json (see ` +
      `docs/deployment.md) or set ${ENV.parameters}.`,
  );
}
const parameters: DeploymentParameters =
  parametersFile === undefined ? {} : await readDeploymentParameters(parametersFile);
const todos = findTodos(parameters, moduleId);
if (todos.length > 0) {
  throw new Error(
    `${path.relative(root, parametersFile ?? "")} still has values marked TODO for ${moduleId}; fill them in ` +
      `first:\n  ${todos.join("\n  ")}`,
  );
}

// ------------------------------------------------------------------------------------------ journal
const deploymentDir = journalDir(hre, connection, chainId);
if (deploymentDir !== undefined) {
  const discarded = await discardStaleJournal({
    root,
    deploymentDir,
    moduleId,
    chainId,
    getCode: async (address) => String(await provider.request({ method: "eth_getCode", params: [address, "latest"] })),
  });
  if (discarded !== undefined) console.log(`${discarded}\n`);
}

// ------------------------------------------------------------------------------------------ deploy
console.log(
  `Deploying ${moduleId} to "${networkName}" (chain ${chainId})` +
    (parametersFile === undefined ? " with default parameters" : ` with ${path.relative(root, parametersFile)}`),
);
// Ignition's live progress display redraws itself: only on a terminal.
const addresses = await deployWithIgnition({
  hre,
  connection,
  ignitionModule,
  parameters,
  deploymentDir,
  showProgress: process.stdout.isTTY === true,
});

// ------------------------------------------------------------------------------------------ record
if (deploymentDir === undefined) {
  console.log(`\n"${networkName}" is the in-process network: it ends with this script, so no record is written.`);
} else {
  const engineAddress = addresses[`${moduleId}#${FUTURE_IDS.engine}`];
  const deployment = buildDeployment({
    network: networkName,
    chainId,
    deploymentBlock: await journalDeploymentBlock(hre, connection, deploymentDir, engineAddress),
    moduleId,
    addresses,
  });

  // The record must describe the chain, not only the journal.
  const problems = await deploymentProblems(ethers.provider, deployment);
  if (problems.length > 0) throw new Error(problems.join("\n"));
  const engine = await ethers.getContractAt("PerpEngine", deployment.contracts.PerpEngine);

  const outputDir = process.env[ENV.deploymentsDir] || path.join(root, "deployments");
  const file = await writeDeployment(outputDir, deployment);
  const [owner, pendingOwner, guardian, insurance] = await Promise.all([
    engine.owner(),
    engine.pendingOwner(),
    engine.guardian(),
    engine.insuranceFund(),
  ]);
  console.log(`\nWrote ${path.relative(root, file) || file}`);
  console.log(`  engine ${deployment.contracts.PerpEngine} (block ${deployment.deploymentBlock})`);
  for (const market of deployment.markets) console.log(`  market ${market.id} ${market.symbol}: ${market.priceFeed}`);
  console.log(`  owner ${owner}${pendingOwner === ZeroAddress ? "" : `, pending owner ${pendingOwner}`}`);
  console.log(`  guardian ${guardian}; insurance fund ${ethers.formatUnits(insurance, 18)} USD`);
  const timelock = addresses[`${moduleId}#${FUTURE_IDS.timelock}`];
  if (timelock !== undefined) {
    console.log(
      `  timelock ${timelock}: schedule and execute engine.acceptOwnership() through it (docs/deployment.md)`,
    );
  }
}
