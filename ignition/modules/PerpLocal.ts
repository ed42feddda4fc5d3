/**
 * The protocol on a local chain (`npx hardhat node`, anvil, the in-process network): a `MockUSDC` collateral token,
 * one `MockAggregator` per market, the core contracts, ETH-USD and BTC-USD listed, the insurance fund seeded with
 * minted MockUSDC and a guardian set. The deployer (account #0) stays the owner so that local tools can change
 * parameters without a timelock.
 *
 *   npm run deploy -- --network localhost
 *   npx hardhat ignition deploy ignition/modules/PerpLocal.ts --network localhost
 *
 * Parameters (all optional): see docs/deployment.md.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import { FUTURE_IDS, MARKETS, deployCore, usdc } from "../lib/perp.js";

/** A day: local mocks are only updated by hand or by the demo, so a Chainlink-like hour would go stale. */
export const LOCAL_HEARTBEAT = 86_400n;
/** 100,000 USDC of minted MockUSDC. */
export const LOCAL_INSURANCE_SEED = usdc("100000");

export default buildModule("PerpLocal", (m) => {
  const deployer = m.getAccount(0);
  const token = m.contract("MockUSDC", [], { id: FUTURE_IDS.collateralToken });
  const aggregators = MARKETS.map((market) =>
    m.contract(
      "MockAggregator",
      [8, market.description, m.getParameter(`${market.param}InitialAnswer`, market.localInitialAnswer)],
      { id: FUTURE_IDS.aggregator(market) },
    ),
  );
  const core = deployCore(m, {
    token,
    aggregators,
    guardianDefault: m.getAccount(1),
    heartbeatDefault: LOCAL_HEARTBEAT,
  });

  const insuranceSeed = m.getParameter("insuranceSeed", LOCAL_INSURANCE_SEED);
  const mint = m.call(token, "mint", [deployer, insuranceSeed], { id: "mintInsuranceSeed" });
  const approve = m.call(token, "approve", [core.engine, insuranceSeed], { id: "approveInsuranceSeed" });
  m.call(core.engine, "fundInsurance", [insuranceSeed], { after: [mint, approve] });

  return {
    collateralToken: token,
    engine: core.engine,
    vault: core.vault,
    liquidationLogic: core.liquidationLogic,
    liquidationPriceLogic: core.liquidationPriceLogic,
    marketAdminLogic: core.marketAdminLogic,
  };
});
