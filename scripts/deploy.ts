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

import {
  HardhatArtifactResolver,
  PrettyEventHandler,
  errorDeploymentResultToExceptionMessage,
  readDeploymentParameters,
} from "@nomicfoundation/hardhat-ignition/helpers";
import { DeploymentResultType, deploy, listTransactions } from "@nomicfoundation/ignition-core";
import type { DeploymentParameters, IgnitionModule } from "@nomicfoundation/ignition-core";
import { ZeroAddress, getAddress } from "ethers";
import hre from "hardhat";

import { FUTURE_IDS, MARKETS } from "../ignition/lib/perp.js";
import PerpLocal from "../ignition/modules/PerpLocal.js";
import PerpProtocol from "../ignition/modules/PerpProtocol.js";
import {
  ENV,
  LOCAL_CHAIN_IDS,
  buildDeployment,
  chooseModule,
  findTodos,
  missingCode,
  parametersPath,
  removeJournal,
  writeDeployment,
} from "./lib/deployment.js";

const connection = await hre.network.getOrCreate();
const { provider, networkName, networkConfig, ethers } = connection;
const root = hre.config.paths.root;
const chainId = Number(await provider.request({ method: "eth_chainId" }));
const isLocalChain = LOCAL_CHAIN_IDS.includes(chainId);
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
const ephemeral = networkConfig.type === "edr-simulated";
const deploymentId = `chain-${chainId}`;
const deploymentDir = ephemeral
  ? undefined
  : path.join(
      process.env[ENV.ignitionDeploymentsDir] || path.join(hre.config.paths.ignition, "deployments"),
      deploymentId,
    );
if (deploymentDir !== undefined) {
  const missing = await missingCode(deploymentDir, moduleId, async (address) =>
    String(await provider.request({ method: "eth_getCode", params: [address, "latest"] })),
  );
  if (missing.length > 0) {
    const detail =
      `the journal ${path.relative(root, deploymentDir)} records contracts that have no code on ` +
      `chain ${chainId}:\n  ${missing.join("\n  ")}`;
    if (!isLocalChain) {
      throw new Error(`${detail}\nIt belongs to another chain or deployment: move it away if that is intended.`);
    }
    console.log(`Local chain ${chainId} was restarted (${detail}).\nDiscarding that journal and deploying afresh.\n`);
    await removeJournal(deploymentDir);
  }
}

// ------------------------------------------------------------------------------------------ deploy
console.log(
  `Deploying ${moduleId} to "${networkName}" (chain ${chainId})` +
    (parametersFile === undefined ? " with default parameters" : ` with ${path.relative(root, parametersFile)}`),
);
const artifactResolver = new HardhatArtifactResolver(hre.artifacts);
const accounts = (await provider.request({ method: "eth_accounts" })) as string[];
const result = await deploy({
  config: hre.config.ignition,
  provider,
  // Ignition's live progress display redraws itself: only on a terminal.
  executionEventListener: process.stdout.isTTY ? new PrettyEventHandler(hre.interruptions) : undefined,
  artifactResolver,
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
const addresses = Object.fromEntries(Object.entries(result.contracts).map(([id, c]) => [id, c.address]));

// ------------------------------------------------------------------------------------------ record
if (deploymentDir === undefined) {
  console.log(`\n"${networkName}" is the in-process network: it ends with this script, so no record is written.`);
} else {
  const engineAddress = getAddress(addresses[`${moduleId}#${FUTURE_IDS.engine}`]);
  const engineTx = (await listTransactions(deploymentDir, artifactResolver)).find(
    (tx) => tx.address !== undefined && getAddress(tx.address) === engineAddress,
  );
  if (engineTx === undefined) throw new Error(`The journal has no deployment transaction of ${engineAddress}`);
  const receipt = (await provider.request({ method: "eth_getTransactionReceipt", params: [engineTx.txHash] })) as {
    blockNumber: string;
  } | null;
  if (receipt === null) throw new Error(`No receipt for the engine's deployment ${engineTx.txHash}`);
  const deployment = buildDeployment({
    network: networkName,
    chainId,
    deploymentBlock: Number(receipt.blockNumber),
    moduleId,
    addresses,
  });

  // The record must describe the chain, not only the journal.
  const engine = await ethers.getContractAt("PerpEngine", deployment.contracts.PerpEngine);
  const marketCount = await engine.marketCount();
  if (marketCount !== BigInt(MARKETS.length)) {
    throw new Error(`Engine lists ${marketCount} markets, expected ${MARKETS.length}`);
  }
  for (const market of deployment.markets) {
    const [priceFeed] = await engine.getMarket(market.id);
    if (getAddress(priceFeed) !== market.priceFeed) {
      throw new Error(`Market ${market.id} (${market.symbol}) reads ${priceFeed}, expected ${market.priceFeed}`);
    }
  }
  if (getAddress(await engine.vault()) !== deployment.contracts.LiquidityVault) {
    throw new Error(`Engine's vault is ${await engine.vault()}, expected ${deployment.contracts.LiquidityVault}`);
  }

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
