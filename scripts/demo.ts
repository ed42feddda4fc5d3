/**
 * `npm start`: the whole protocol at work on a local chain, through the SDK (docs/demo.md).
 *
 *   npm start                               the in-process Hardhat network: nothing to set up
 *   npm start -- --network localhost        a running `npx hardhat node` or `anvil` (LOCALHOST_RPC_URL overrides
 *                                           the URL); deploys there unless deployments/localhost.json matches
 *
 * Starts the local price service in process, deploys `PerpPythLocal` (Pyth markets on StrictMockPyth and the order
 * book, as `npm run deploy`), funds an LP and seven traders, opens positions from 2x to 50x (cross and isolated,
 * ETH-USD and BTC-USD) as market orders that the keeper settles at Pyth prices, walks the prices along a scripted
 * path over simulated hours while the keeper liquidates what falls below maintenance, and ends with a summary (PnL
 * and funding per trader, LP vault, insurance fund, bad debt, keeper rewards, gas per operation), then a chapter of
 * trigger orders (stop-loss, take-profit, limit, trailing stop, latency arbitrage). The logic is in scripts/demo/.
 *
 * Output is identical from run to run on the in-process network (block timestamps are chosen by the demo, see
 * scripts/demo/chain.ts). A progress bar is drawn only when stdout is a terminal. On failure: one line on stderr
 * and exit code 1. The body is demoMain (scripts/demo/main.ts), which test/demo.test.ts also runs in process.
 */
import hre from "hardhat";

import { demoMain } from "./demo/main.js";

process.exitCode = await demoMain(hre);
