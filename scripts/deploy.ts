/**
 * Deploys the protocol with Ignition and writes `deployments/<network>.json` (schema: sdk/src/deployments.ts).
 *
 *   npm run deploy -- --network localhost        (a running `npx hardhat node` or `anvil`)
 *   npm run deploy -- --network sepolia          (parameters from ignition/parameters/sepolia.json)
 *
 * Module: `PerpPythLocal` on a local chain (Pyth markets on the local StrictMockPyth and the order book: the v2
 * protocol the demo, CLI and keeper default to), `PerpProtocol` (real USDC and Chainlink feeds, timelock owner)
 * elsewhere; `PERP_MODULE` picks another (PerpLocal: v1's Chainlink-priced engine without a book). Testnets with Pyth
 * markets: `npm run deploy:pyth`, the same path. Ignition's journal (`ignition/deployments/chain-<chainId>[-pyth]/`)
 * makes a rerun idempotent: it sends only what is missing (nothing after a complete run) and the record is rewritten
 * with the same content. On a local chain a journal whose contracts have no code (the node was restarted) is
 * discarded and the protocol deployed afresh. Steps and environment: scripts/lib/deploy-protocol.ts.
 */
import hre from "hardhat";

import { deployMain } from "./lib/deploy-main.js";

await deployMain(hre, { pyth: false });
