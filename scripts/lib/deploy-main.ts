/**
 * The body of scripts/deploy.ts and scripts/deploy-pyth.ts (the two differ only in the module they default to):
 * deploy with `deployProtocol`, then print what was written and who owns what. A refusal (parameters, TODOs,
 * preflight) prints its reasons and exits with code 1 before anything was sent.
 */
import path from "node:path";

import { ZeroAddress, formatUnits } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

import { PerpEngine__factory } from "@perp/sdk/contracts";

import { FUTURE_IDS } from "../../ignition/lib/perp.js";
import { DeployRefused, deployProtocol } from "./deploy-protocol.js";
import { chooseModule } from "./deployment.js";

export async function deployMain(hre: HardhatRuntimeEnvironment, options: { pyth: boolean }): Promise<void> {
  const connection = await hre.network.getOrCreate();
  const { networkName, ethers } = connection;
  const root = hre.config.paths.root;
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  let result;
  try {
    result = await deployProtocol({
      hre,
      connection,
      moduleId: chooseModule(chainId, options),
      log: (line) => console.log(line),
      // Ignition's live progress display redraws itself: only on a terminal.
      showProgress: process.stdout.isTTY === true,
    });
  } catch (error) {
    if (!(error instanceof DeployRefused)) throw error;
    console.error(error.message);
    process.exitCode = 1;
    return;
  }
  const { deployment, file, addresses, moduleId } = result;
  if (file === undefined) {
    console.log(`\n"${networkName}" is the in-process network: it ends with this script, so no record is written.`);
    return;
  }
  const engine = PerpEngine__factory.connect(deployment.contracts.PerpEngine, ethers.provider);
  const [owner, pendingOwner, guardian, insurance] = await Promise.all([
    engine.owner(),
    engine.pendingOwner(),
    engine.guardian(),
    engine.insuranceFund(),
  ]);
  console.log(`\nWrote ${path.relative(root, file) || file}`);
  console.log(`  engine ${deployment.contracts.PerpEngine} (block ${deployment.deploymentBlock})`);
  if (deployment.contracts.OrderBook !== undefined) {
    console.log(`  order book ${deployment.contracts.OrderBook}; Pyth ${deployment.pyth}; prices from ${deployment.hermesUrl}`);
  }
  for (const market of deployment.markets) {
    console.log(`  market ${market.id} ${market.symbol}: ${market.priceFeed}${market.pythPriceId ? ` (Pyth feed ${market.pythPriceId})` : ""}`);
  }
  console.log(`  owner ${owner}${pendingOwner === ZeroAddress ? "" : `, pending owner ${pendingOwner}`}`);
  console.log(`  guardian ${guardian}; insurance fund ${formatUnits(insurance, 18)} USD`);
  const timelock = addresses[`${moduleId}#${FUTURE_IDS.timelock}`];
  if (timelock !== undefined) {
    console.log(`  timelock ${timelock}: schedule and execute engine.acceptOwnership() through it (docs/deployment.md)`);
  }
}
