/**
 * Deploys the protocol with Pyth markets and the order book (docs/deployment.md, "Pyth markets") and writes
 * `deployments/<network>.json`, by the same path as `npm run deploy` (scripts/lib/deploy-protocol.ts):
 *
 *   PYTH_API_KEY=… npm run deploy:pyth -- --network baseSepolia     PerpPyth, parameters from ignition/parameters/
 *   npm run deploy:pyth -- --network localhost                      PerpPythLocal (what `npm run deploy` does there)
 *
 * On a public network the preflight (scripts/lib/preflight.ts) refuses before anything is sent if the Pyth address
 * has no code or a feed id is unknown; then one fresh update per market is fetched and pushed into each adapter right
 * before it is listed. A rerun reuses the updates the journal recorded, so that Ignition sees unchanged arguments.
 *
 * Environment: PYTH_API_KEY (Hermes needs one), PYTH_HERMES_URL (default https://hermes.pyth.network),
 * PERP_PRICE_SERVICE_URL (local chains), PERP_MODULE (PerpPyth or PerpPythLocal), PERP_PARAMETERS,
 * PERP_DEPLOYMENTS_DIR, PERP_IGNITION_DEPLOYMENTS_DIR.
 */
import hre from "hardhat";

import { deployMain } from "./lib/deploy-main.js";

process.exitCode = await deployMain(hre, { pyth: true });
