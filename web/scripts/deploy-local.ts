/**
 * The deployment `npm run web` and the browser tests trade on: `npm run deploy`'s local default (the Ignition module
 * `PerpPythLocal`: Pyth markets on the local StrictMockPyth with the OrderBook, listed at the running local price
 * service's prices), with its record written where the page reads it.
 *
 *   LOCALHOST_RPC_URL=http://127.0.0.1:8545 PERP_PRICE_SERVICE_URL=http://127.0.0.1:8787 \
 *   WEB_DEPLOYMENT_OUT=web/public/deployments.local.json npx hardhat run web/scripts/deploy-local.ts --network localhost
 *
 * The stack's node is fresh on every start, so Ignition's journal and the `<network>.json` record go to a temporary
 * directory: the repository's committed `deployments/localhost.json` and journals are never touched.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import hre from "hardhat";

import { deployProtocol } from "../../scripts/lib/deploy-protocol.js";
import { ENV } from "../../scripts/lib/deployment.js";

const out = process.env.WEB_DEPLOYMENT_OUT;
if (out === undefined) throw new Error("set WEB_DEPLOYMENT_OUT to the file the deployment record goes to");
if (process.env.PERP_PRICE_SERVICE_URL === undefined) throw new Error("set PERP_PRICE_SERVICE_URL to the running local price service");

const scratch = await mkdtemp(path.join(tmpdir(), "perp-web-deploy-"));
process.env[ENV.deploymentsDir] = scratch;
process.env[ENV.ignitionDeploymentsDir] = scratch;
try {
  const connection = await hre.network.getOrCreate();
  const { deployment } = await deployProtocol({ hre, connection, moduleId: "PerpPythLocal" });
  // web/public/ is not in a fresh clone: the record is the only file there and it is ignored by git.
  await mkdir(path.dirname(out), { recursive: true });
  // With the node's RPC URL: the page reads the chain through it before a wallet is connected.
  const rpcUrl = process.env.LOCALHOST_RPC_URL ?? "http://127.0.0.1:8545";
  await writeFile(out, JSON.stringify({ ...deployment, rpcUrl }, null, 2) + "\n");
  console.log(`deployment written to ${out}`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
