/**
 * The body of scripts/deploy.ts and scripts/deploy-pyth.ts (the two differ only in the module they default to):
 * deploy with `deployProtocol`, then print what was written and who owns what. A refusal (parameters, TODOs,
 * preflight) prints its reasons and returns exit code 1 before anything was sent. The tests call it in process
 * (test/helpers/deploy.ts) with a connection to their node and captured output: the scripts' own path, no child.
 */
import path from "node:path";

import { ZeroAddress, formatUnits } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";

import { PerpEngine__factory } from "@perp/sdk/contracts";

import { FUTURE_IDS } from "../../ignition/lib/perp.js";
import { DeployRefused, deployProtocol } from "./deploy-protocol.js";
import { chooseModule } from "./deployment.js";

export interface DeployIo {
  /** One line of the normal output (default console.log). */
  readonly out?: (line: string) => void;
  /** One line of a refusal (default console.error). */
  readonly err?: (line: string) => void;
  /** Ignition's live progress display (default: stdout is a terminal). */
  readonly showProgress?: boolean;
}

/** Deploys over `connection` (default: the network of `--network`); returns the exit code (0, or 1 on a refusal). */
export async function deployMain(
  hre: HardhatRuntimeEnvironment,
  options: { pyth: boolean; connection?: NetworkConnection },
  io: DeployIo = {},
): Promise<number> {
  const out = io.out ?? ((line: string) => console.log(line));
  const err = io.err ?? ((line: string) => console.error(line));
  const connection = options.connection ?? (await hre.network.getOrCreate());
  const { networkName, ethers } = connection;
  const root = hre.config.paths.root;
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  let result;
  try {
    result = await deployProtocol({
      hre,
      connection,
      moduleId: chooseModule(chainId, options),
      log: out,
      // Ignition's live progress display redraws itself: only on a terminal.
      showProgress: io.showProgress ?? process.stdout.isTTY === true,
    });
  } catch (error) {
    if (!(error instanceof DeployRefused)) throw error;
    err(error.message);
    return 1;
  }
  const { deployment, file, addresses, moduleId } = result;
  if (file === undefined) {
    out(`\n"${networkName}" is the in-process network: it ends with this script, so no record is written.`);
    return 0;
  }
  const engine = PerpEngine__factory.connect(deployment.contracts.PerpEngine, ethers.provider);
  const [owner, pendingOwner, guardian, insurance] = await Promise.all([
    engine.owner(),
    engine.pendingOwner(),
    engine.guardian(),
    engine.insuranceFund(),
  ]);
  out(`\nWrote ${path.relative(root, file) || file}`);
  out(`  engine ${deployment.contracts.PerpEngine} (block ${deployment.deploymentBlock})`);
  if (deployment.contracts.OrderBook !== undefined) {
    out(`  order book ${deployment.contracts.OrderBook}; Pyth ${deployment.pyth}; prices from ${deployment.hermesUrl}`);
  }
  for (const market of deployment.markets) {
    out(`  market ${market.id} ${market.symbol}: ${market.priceFeed}${market.pythPriceId ? ` (Pyth feed ${market.pythPriceId})` : ""}`);
  }
  out(`  owner ${owner}${pendingOwner === ZeroAddress ? "" : `, pending owner ${pendingOwner}`}`);
  out(`  guardian ${guardian}; insurance fund ${formatUnits(insurance, 18)} USD`);
  const timelock = addresses[`${moduleId}#${FUTURE_IDS.timelock}`];
  if (timelock !== undefined) {
    out(`  timelock ${timelock}: schedule and execute engine.acceptOwnership() through it (docs/deployment.md)`);
  }
  return 0;
}
