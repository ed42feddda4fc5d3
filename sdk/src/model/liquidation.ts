/**
 * The liquidation of one unit (an isolated position or a whole cross account), mirrored in bigint from
 * `LiquidationLogic._liquidateIsolated` / `_liquidateCross` / `_distribute` and `LedgerLib.payFromVault`, with the
 * Solidity names. Given the same state, prices and time it returns what the engine books, to the wei.
 *
 * @packageDocumentation
 */
import * as m from "../math.js";
import {
  EMPTY_POSITION,
  accrue,
  crossMarketIds,
  isLiquidatable,
  valueCross,
  valueIsolated,
  type AccountSnapshot,
  type MarketSnapshot,
  type ProtocolParams,
  type Valuation,
} from "../valuation.js";

/** The engine's ledgers a liquidation books on (`vaultCash()`, `insuranceFund()`, `totalProfitClaims()`, `deficit()`). */
export interface Ledgers {
  readonly vaultCash: bigint;
  readonly insuranceFund: bigint;
  readonly totalProfitClaims: bigint;
  readonly deficit: bigint;
}

/** `LiquidationLogic.Collected`: what the unit hands over. */
export interface Collected {
  /** Cross balance (cross) or isolated margin, before the closes. */
  readonly collateral: bigint;
  /** Sum of `fundingOwedUp - fundingToVaultDown` over the closes: the insurance fund's. */
  readonly fundingDust: bigint;
}

/** What `_distribute` does, named as in the contract and its events. */
export interface Distribution {
  /** `Liquidated.keeperReward`: clamp(rewardBase, positions * keeperRewardMin, keeperRewardMax). */
  readonly reward: bigint;
  /** `Liquidated.insurancePaid`. */
  readonly insurancePaid: bigint;
  /** `Liquidated.traderRemainder`. */
  readonly traderRemainder: bigint;
  /** `BadDebtCovered.shortfall` (0 when none): max(reward - equity, 0). */
  readonly shortfall: bigint;
  /** `BadDebtCovered.fromInsurance`. */
  readonly fromInsurance: bigint;
  /** `BadDebtCovered.fromVault`. */
  readonly fromVault: bigint;
  /** Added to the deficit (`DeficitIncreased.amount`): what the unit owed beyond vault cash. */
  readonly uncovered: bigint;
  /** Of the reward, credited to the keeper now; the rest is the keeper's new profit claim. */
  readonly keeperPaid: bigint;
  readonly keeperClaim: bigint;
  /** Of the remainder, credited to the trader now; the rest is the trader's new profit claim. */
  readonly traderPaid: bigint;
  readonly traderClaim: bigint;
  /** The ledgers afterwards (before `payClaims`, which only acts when a deficit or claims are owed). */
  readonly ledgers: Ledgers;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/**
 * `LiquidationLogic._distribute`: splits the unit's equity at close between keeper, insurance and trader, covers a
 * shortfall from insurance then vault, and pays through `payFromVault` (keeper first).
 * @example distribute(v, { collateral, fundingDust }, rewardBase, insuranceBase, protocol, ledgers).reward
 */
export function distribute(
  v: Pick<Valuation, "equityAtClose" | "count">,
  collected: Collected,
  rewardBase: bigint,
  insuranceBase: bigint,
  protocol: ProtocolParams,
  ledgers: Ledgers,
): Distribution {
  let reward = min(rewardBase, protocol.keeperRewardMax);
  const minReward = protocol.keeperRewardMin * BigInt(v.count);
  if (reward < minReward) reward = minReward;
  let cash = ledgers.vaultCash + collected.collateral - collected.fundingDust;
  let insurance = ledgers.insuranceFund + collected.fundingDust;
  const afterReward = v.equityAtClose - reward;
  let insurancePaid = 0n;
  let traderRemainder = 0n;
  let shortfall = 0n;
  let fromInsurance = 0n;
  if (afterReward > 0n) {
    insurancePaid = min(insuranceBase, afterReward);
    traderRemainder = afterReward - insurancePaid;
    insurance += insurancePaid;
    cash -= insurancePaid;
  } else if (afterReward < 0n) {
    shortfall = -afterReward;
    fromInsurance = min(insurance, shortfall);
    insurance -= fromInsurance;
    cash += fromInsurance;
  }
  let uncovered = 0n;
  if (cash < 0n) {
    uncovered = -cash;
    cash = 0n;
  }
  // LedgerLib.payFromVault, keeper first.
  const keeperPaid = min(reward, cash);
  cash -= keeperPaid;
  const traderPaid = min(traderRemainder, cash);
  cash -= traderPaid;
  const keeperClaim = reward - keeperPaid;
  const traderClaim = traderRemainder - traderPaid;
  return {
    reward,
    insurancePaid,
    traderRemainder,
    shortfall,
    fromInsurance,
    fromVault: shortfall - fromInsurance,
    uncovered,
    keeperPaid,
    keeperClaim,
    traderPaid,
    traderClaim,
    ledgers: {
      vaultCash: cash,
      insuranceFund: insurance,
      totalProfitClaims: ledgers.totalProfitClaims + keeperClaim + traderClaim,
      deficit: ledgers.deficit + uncovered,
    },
  };
}

/** A unit's liquidation as the engine would run it now. */
export interface LiquidationSimulation {
  /** `Liquidated.marketId`: the market of an isolated position, or undefined for a cross account (`CROSS`). */
  readonly marketId: number | undefined;
  readonly valuation: Valuation;
  readonly liquidatable: boolean;
  readonly collected: Collected;
  readonly rewardBase: bigint;
  readonly insuranceBase: bigint;
  /** Each close's fill price (`PositionClosedAtIndex.price`) by market id. */
  readonly closeFills: ReadonlyMap<number, bigint>;
  /** Undefined when the unit is not liquidatable. */
  readonly distribution?: Distribution;
}

/**
 * Simulates `liquidate(trader, marketId)` at time `now` (`LiquidationLogic._liquidate`): the unit holding the
 * position, its valuation at close prices, the closes' funding dust, the keeper and insurance bases and the split.
 * @example simulateLiquidation(account, markets, 0, protocol, ledgers, now).distribution?.reward
 */
export function simulateLiquidation(
  account: AccountSnapshot,
  markets: ReadonlyMap<number, MarketSnapshot>,
  marketId: number,
  protocol: ProtocolParams,
  ledgers: Ledgers,
  now: bigint,
): LiquidationSimulation {
  const cross = ((account.crossMarkets >> BigInt(marketId)) & 1n) === 1n;
  const ids = cross ? crossMarketIds(account.crossMarkets) : [marketId];
  const market = (id: number) => {
    const found = markets.get(id);
    if (!found) throw new Error(`market ${id} is missing from the snapshot`);
    return found;
  };
  const valuation = cross
    ? valueCross(account, markets, now, protocol.keeperRewardMin)
    : valueIsolated(account.positions.get(marketId) ?? EMPTY_POSITION, market(marketId), market(marketId).price, now, protocol.keeperRewardMin);
  let fundingDust = 0n;
  let rewardBase = 0n;
  let insuranceBase = 0n;
  const closeFills = new Map<number, bigint>();
  for (const id of ids) {
    const snap = market(id);
    const pos = account.positions.get(id) ?? EMPTY_POSITION;
    const state = accrue(snap.state, snap.price, now);
    fundingDust +=
      m.fundingOwedUp(pos.size, state.fundingIndex, pos.lastFundingIndex) -
      m.fundingToVaultDown(pos.size, state.fundingIndex, pos.lastFundingIndex);
    closeFills.set(id, m.fillPrice(snap.price, state.longOpenInterest - state.shortOpenInterest, -pos.size, snap.params.skewScale));
    if (cross) {
      const notional = m.notionalDown(pos.size, snap.price);
      rewardBase += m.mulWadDown(notional, snap.params.keeperRewardRatio);
      insuranceBase += m.mulWadDown(notional, snap.params.insuranceShare);
    }
  }
  if (!cross) {
    rewardBase = m.mulWadDown(valuation.notional, market(marketId).params.keeperRewardRatio);
    insuranceBase = m.mulWadDown(valuation.notional, market(marketId).params.insuranceShare);
  }
  const collected: Collected = {
    collateral: cross ? account.crossBalance : (account.positions.get(marketId) ?? EMPTY_POSITION).margin,
    fundingDust,
  };
  const liquidatable = isLiquidatable(valuation);
  return {
    marketId: cross ? undefined : marketId,
    valuation,
    liquidatable,
    collected,
    rewardBase,
    insuranceBase,
    closeFills,
    distribution: liquidatable ? distribute(valuation, collected, rewardBase, insuranceBase, protocol, ledgers) : undefined,
  };
}
