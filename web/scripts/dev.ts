/**
 * `npm run web`: a local node on 127.0.0.1:8545 with the order-book deployment, the local price service, an LP
 * deposit and the order keeper (stack.ts), then the page (Vite's dev server). Prints the URL and the network to add
 * to MetaMask. Ctrl-C stops everything.
 *
 * Environment: WEB_RPC_PORT (8545), WEB_PRICE_PORT (8787), WEB_PORT (5173).
 */
import path from "node:path";

import { createServer } from "vite";

import { PYTH_FEED_IDS } from "@perp/sdk/prices";

import { ROOT, startStack } from "./stack.js";

const rpcPort = Number(process.env.WEB_RPC_PORT ?? 8545);
const pricePort = Number(process.env.WEB_PRICE_PORT ?? 8787);
const pagePort = Number(process.env.WEB_PORT ?? 5173);

console.log("Starting a local node, deploying the protocol with its order book, the price service and a keeper…");
const stack = await startStack({
  rpcPort,
  pricePort,
  deploymentFile: path.join(ROOT, "web", "public", "deployments.local.json"),
  log: (line) => {
    if (/error|fail/i.test(line)) console.error(line);
  },
});
const server = await createServer({ root: path.join(ROOT, "web"), server: { port: pagePort, host: "127.0.0.1", strictPort: true } });
await server.listen();
console.log(`
The trading page: http://127.0.0.1:${pagePort}/

Add this network to MetaMask (Settings > Networks > Add a network manually):
  Network name     Perp local
  RPC URL          ${stack.rpcUrl}
  Chain ID         ${stack.chainId}
  Currency symbol  ETH

Then connect, press "Faucet" (gas and 10,000 test USDC), deposit and trade. Prices come from the local price
service at ${stack.priceUrl}; move ETH to $1,900 (8 decimals) with
  curl -X POST ${stack.priceUrl}/local/price -d '{"id":"${PYTH_FEED_IDS["ETH/USD"]}","price":"190000000000"}'
(the keeper sees it at once; the heartbeat pushes it on chain within 15 s). Ctrl-C stops everything.`);

const shutdown = async () => {
  await server.close();
  await stack.stop();
  process.exit(0);
};
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
