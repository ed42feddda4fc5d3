/**
 * The protocol on a local chain with Pyth markets: `MockUSDC`, a `StrictMockPyth(pythUpdateFee)` (contracts/mocks,
 * the local Pyth whose updates the local price service serves: scripts/price-service/), one `PythPriceFeed` per
 * market on it without a Chainlink reference, the `OrderBook` set on the engine (every trade is an order), the
 * insurance fund seeded with minted MockUSDC, and the deployer as owner of the engine and the book, like `PerpLocal`.
 * The default local deployment (`npm run deploy`, the demo, the CLI and keeper defaults).
 *
 *   npm run deploy -- --network localhost        (fetches the listing updates, writes deployments/localhost.json)
 *
 * Parameters: `<market>PriceUpdate` (required: scripts/lib/deploy-protocol.ts fetches them); optional `pythUpdateFee`
 * (wei per update blob, default 1), `orderBookParams`, the `PythFeedConfig` fields per market, and what PerpLocal
 * takes (docs/deployment.md, "Pyth markets").
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import { FUTURE_IDS, MARKETS, deployCore } from "../lib/perp.js";
import { LOCAL_HEARTBEAT, LOCAL_INSURANCE_SEED } from "./PerpLocal.js";

/** Real Pyth's default fee on chains without a listed one (research/orders.md §4.3): 1 wei per update. */
export const LOCAL_PYTH_UPDATE_FEE = 1n;

export default buildModule("PerpPythLocal", (m) => {
  const deployer = m.getAccount(0);
  const token = m.contract("MockUSDC", [], { id: FUTURE_IDS.collateralToken });
  const pyth = m.contract("StrictMockPyth", [m.getParameter("pythUpdateFee", LOCAL_PYTH_UPDATE_FEE)], {
    id: FUTURE_IDS.pyth,
  });
  const core = deployCore(m, {
    token,
    aggregators: [],
    guardianDefault: m.getAccount(1),
    heartbeatDefault: LOCAL_HEARTBEAT,
    pyth: { pyth, referenceFeeds: MARKETS.map(() => undefined), refHeartbeatDefault: LOCAL_HEARTBEAT },
  });

  const insuranceSeed = m.getParameter("insuranceSeed", LOCAL_INSURANCE_SEED);
  const mint = m.call(token, "mint", [deployer, insuranceSeed], { id: "mintInsuranceSeed" });
  const approve = m.call(token, "approve", [core.engine, insuranceSeed], { id: "approveInsuranceSeed" });
  m.call(core.engine, "fundInsurance", [insuranceSeed], { after: [mint, approve] });

  return {
    collateralToken: token,
    pyth,
    engine: core.engine,
    orderBook: core.orderBook!,
    vault: core.vault,
    liquidationLogic: core.liquidationLogic,
    liquidationPriceLogic: core.liquidationPriceLogic,
    marketAdminLogic: core.marketAdminLogic,
  };
});
