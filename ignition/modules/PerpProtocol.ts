/**
 * The protocol on a public network: the real collateral token (USDC) and Chainlink feeds from the parameters file,
 * the core contracts, ETH-USD and BTC-USD listed, the insurance fund seeded from the deployer's USDC, a guardian
 * set, and ownership handed to an OpenZeppelin `TimelockController`.
 *
 * The hand-over is two-step (`Ownable2Step`): this module makes the timelock the engine's pending owner; the
 * timelock's proposer then schedules `engine.acceptOwnership()` through the timelock and anyone executes it once
 * the delay has passed (docs/deployment.md). Until then the deployer is still the owner.
 *
 *   npm run deploy -- --network sepolia        (reads ignition/parameters/sepolia.json)
 *
 * Required parameters: collateralToken, ethUsdAggregator, btcUsdAggregator. Optional ones: docs/deployment.md.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { ZeroAddress } from "ethers";

import type { CallableContractFuture, ContractFuture, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

import { FUTURE_IDS, MARKETS, deployCore, openZeppelinArtifact, usdc, type Core } from "../lib/perp.js";

/** 25 hours: testnet feeds have heartbeats of up to a day; tighten to the feed's heartbeat plus a margin on mainnet. */
export const TESTNET_HEARTBEAT = 90_000n;
/** 10 USDC: what a testnet faucet hands out; raise it on mainnet. */
export const TESTNET_INSURANCE_SEED = usdc("10");
/**
 * 25 hours on testnets: longer than the LP cooldown (24 h), so that an LP who deposited just before a change was
 * scheduled can still leave before it executes (SPEC "Markets"); 48 hours or more on mainnet. Every parameters file
 * in ignition/parameters/ must keep `timelockMinDelay` > `lpCooldown` (checked by test/attacks.test.ts, RT-08).
 */
export const TESTNET_TIMELOCK_DELAY = 90_000n;

/**
 * The public-network tail shared by `PerpProtocol` and `PerpPyth`: seeds the insurance fund from the deployer's
 * USDC and makes a `TimelockController` the engine's (and the order book's) pending owner. Proposers (also cancellers) schedule; executor
 * address(0) lets anyone execute a ready operation; no admin, so the timelock's own roles change only through it.
 */
export function seedInsuranceAndHandOver(
  m: IgnitionModuleBuilder,
  token: CallableContractFuture<string>,
  core: Core,
): ContractFuture<string> {
  const insuranceSeed = m.getParameter("insuranceSeed", TESTNET_INSURANCE_SEED);
  const approve = m.call(token, "approve", [core.engine, insuranceSeed], { id: "approveInsuranceSeed" });
  const fund = m.call(core.engine, "fundInsurance", [insuranceSeed], { after: [approve] });
  const timelock = m.contract(
    "TimelockController",
    openZeppelinArtifact("TimelockController"),
    [
      m.getParameter("timelockMinDelay", TESTNET_TIMELOCK_DELAY),
      [m.getParameter("timelockProposer", m.getAccount(0))],
      [ZeroAddress],
      ZeroAddress,
    ],
    { id: FUTURE_IDS.timelock },
  );
  m.call(core.engine, "transferOwnership", [timelock], { after: [...core.setup, fund] });
  // The book's parameters (keeper fee, settlement window) are governance too: the same timelock, the same two steps.
  if (core.orderBook !== undefined) {
    m.call(core.orderBook, "transferOwnership", [timelock], { id: "transferOrderBookOwnership", after: core.setup });
  }
  return timelock;
}

export default buildModule("PerpProtocol", (m) => {
  const token = m.contractAt(
    "IERC20Metadata",
    openZeppelinArtifact("IERC20Metadata"),
    m.getParameter("collateralToken"),
    {
      id: FUTURE_IDS.collateralToken,
    },
  );
  const aggregators = MARKETS.map((market) =>
    m.contractAt("AggregatorV3Interface", m.getParameter<string>(`${market.param}Aggregator`), {
      id: FUTURE_IDS.aggregator(market),
    }),
  );
  const core = deployCore(m, {
    token,
    aggregators,
    guardianDefault: m.getAccount(0),
    heartbeatDefault: TESTNET_HEARTBEAT,
  });

  const timelock = seedInsuranceAndHandOver(m, token, core);

  return {
    collateralToken: token,
    engine: core.engine,
    vault: core.vault,
    liquidationLogic: core.liquidationLogic,
    liquidationPriceLogic: core.liquidationPriceLogic,
    marketAdminLogic: core.marketAdminLogic,
    timelock,
  };
});
