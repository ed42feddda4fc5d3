/**
 * The protocol on a public network with Pyth markets: like `PerpProtocol` (real USDC, insurance seed, guardian,
 * a `TimelockController` as pending owner of the engine and the order book), but each market is priced by a
 * `PythPriceFeed` adapter on the network's Pyth contract, optionally banded by a Chainlink reference feed, and every
 * trade goes through the `OrderBook`.
 *
 *   npm run deploy:check -- --network baseSepolia      (preflight: Pyth address has code, feed ids known; sends nothing)
 *   PYTH_API_KEY=… npm run deploy:pyth -- --network baseSepolia   (writes deployments/baseSepolia.json)
 *
 * Required parameters: collateralToken, pyth. Optional: `<market>PriceId` (default: the Pyth ids of MARKETS),
 * `<market>ReferenceFeed` (default address(0): no band), the `PythFeedConfig` fields and everything PerpProtocol
 * takes (docs/deployment.md, "Pyth markets").
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { ZeroAddress } from "ethers";

import { FUTURE_IDS, MARKETS, deployCore, openZeppelinArtifact, pythArtifact } from "../lib/perp.js";
import { TESTNET_HEARTBEAT, seedInsuranceAndHandOver } from "./PerpProtocol.js";

export default buildModule("PerpPyth", (m) => {
  const token = m.contractAt(
    "IERC20Metadata",
    openZeppelinArtifact("IERC20Metadata"),
    m.getParameter("collateralToken"),
    { id: FUTURE_IDS.collateralToken },
  );
  const pyth = m.contractAt("IPyth", pythArtifact(), m.getParameter<string>("pyth"), { id: FUTURE_IDS.pyth });
  const core = deployCore(m, {
    token,
    aggregators: [],
    guardianDefault: m.getAccount(0),
    heartbeatDefault: TESTNET_HEARTBEAT,
    pyth: {
      pyth,
      referenceFeeds: MARKETS.map((market) => m.getParameter<string>(`${market.param}ReferenceFeed`, ZeroAddress)),
      refHeartbeatDefault: TESTNET_HEARTBEAT,
    },
  });

  // As in PerpProtocol: the insurance seed, then a timelock as pending owner.
  const timelock = seedInsuranceAndHandOver(m, token, core);

  return {
    collateralToken: token,
    pyth,
    engine: core.engine,
    orderBook: core.orderBook!,
    vault: core.vault,
    liquidationLogic: core.liquidationLogic,
    liquidationPriceLogic: core.liquidationPriceLogic,
    marketAdminLogic: core.marketAdminLogic,
    timelock,
  };
});
