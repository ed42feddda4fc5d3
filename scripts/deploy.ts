/**
 * Deploys the protocol with Ignition and writes `deployments/<network>.json` (schema: sdk/src/deployments.ts).
 *
 *   npm run deploy -- --network localhost        (a running `npx hardhat node` or `anvil`)
 *   PYTH_API_KEY=… npm run deploy -- --network sepolia   (PerpPyth; parameters from ignition/parameters/sepolia.json)
 *
 * Module: the v2 protocol (Pyth markets and the order book, what the SDK, CLI, keeper and web page default to):
 * `PerpPythLocal` on a local chain (the local StrictMockPyth), `PerpPyth` elsewhere (the network's Pyth; the
 * preflight refuses before anything is sent if its address has no code or a feed is unknown). v1's Chainlink-priced
 * engine without a book only when asked: `PERP_MODULE=PerpProtocol` (real USDC and Chainlink feeds, timelock owner)
 * or `PERP_MODULE=PerpLocal`. `npm run deploy:pyth` is the same path, restricted to the Pyth modules. Ignition's journal
 * (`ignition/deployments/chain-<chainId>[-pyth]/`)
 * makes a rerun idempotent: it sends only what is missing (nothing after a complete run) and the record is rewritten
 * with the same content. On a local chain a journal whose contracts have no code (the node was restarted) is
 * discarded and the protocol deployed afresh. Steps and environment: scripts/lib/deploy-protocol.ts.
 */
import hre from "hardhat";

import { deployMain } from "./lib/deploy-main.js";

process.exitCode = await deployMain(hre, { pyth: false });
