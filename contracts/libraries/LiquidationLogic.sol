// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IPerpEngine, MarketParams, MarketState, Position, ProtocolParams} from "../interfaces/IPerpEngine.sol";
import {EngineState, Market, Account, Valuation} from "./EngineState.sol";
import {AccountingLib} from "./AccountingLib.sol";
import {FixedPointMath as FPM} from "./FixedPointMath.sol";
import {PerpMath} from "./PerpMath.sol";

/// @title LiquidationLogic
/// @notice Liquidation and auto-deleveraging (SPEC "Liquidation", "Deleveraging"). An external library: the engine
/// delegatecalls it, so it runs on the engine's storage, and its code does not count against the engine's size.
library LiquidationLogic {
    using SafeCast for uint256;
    using SafeCast for int256;
    using AccountingLib for EngineState;

    uint256 internal constant CROSS = type(uint256).max;

    /// @dev Who is liquidated in which market (CROSS for a whole cross account), and who gets the reward.
    struct Target {
        address trader;
        uint256 marketId;
        address keeper;
    }

    /// @notice Liquidates the unit holding `trader`'s position in `marketId` if it is below maintenance.
    /// @return done whether it was liquidated; `equity` and `maintenanceMargin` as checked (for the revert reason).
    function liquidate(EngineState storage s, address trader, uint256 marketId, address keeper)
        external
        returns (bool done, int256 equity, uint256 maintenanceMargin)
    {
        s.market(marketId);
        return _liquidate(s, trader, marketId, keeper);
    }

    /// @notice `liquidate` over a batch; entries that are not liquidatable (or name no market) are skipped.
    function liquidateMany(
        EngineState storage s,
        address[] calldata traders,
        uint256[] calldata marketIds,
        address keeper
    ) external returns (uint256 liquidated) {
        uint256 marketCount = s.marketCount;
        for (uint256 i; i < traders.length; ++i) {
            if (marketIds[i] >= marketCount) continue;
            (bool done,,) = _liquidate(s, traders[i], marketIds[i], keeper);
            if (done) ++liquidated;
        }
    }

    function _liquidate(EngineState storage s, address trader, uint256 marketId, address keeper)
        private
        returns (bool, int256, uint256)
    {
        Position memory pos = s.positions[trader][marketId];
        if (pos.size == 0) return (false, 0, 0);
        Account memory account = s.accounts[trader];
        if (account.crossMarkets & AccountingLib.bit(marketId) != 0) return _liquidateCross(s, trader, account, keeper);
        return _liquidateIsolated(s, Target(trader, marketId, keeper), pos);
    }

    function _liquidateIsolated(EngineState storage s, Target memory target, Position memory pos)
        private
        returns (bool, int256, uint256)
    {
        (Valuation memory v, MarketState memory state, uint256 price) = _valueIsolatedNow(s, target.marketId, pos);
        if (!AccountingLib.isLiquidatable(v)) return (false, v.equity, v.maintenanceMargin);
        s.closeAtIndex(target.trader, target.marketId, pos, state, price);
        MarketParams storage params = s.markets[target.marketId].params;
        uint256 traderRemainder = _distribute(
            s,
            target,
            v,
            FPM.mulWadDown(v.notional, params.keeperRewardRatio),
            FPM.mulWadDown(v.notional, params.insuranceShare)
        );
        // Isolated: the cross balance only ever receives the remainder.
        s.accounts[target.trader].crossBalance += traderRemainder.toInt256().toInt128();
        return (true, v.equity, v.maintenanceMargin);
    }

    function _valueIsolatedNow(EngineState storage s, uint256 marketId, Position memory pos)
        private
        view
        returns (Valuation memory v, MarketState memory state, uint256 price)
    {
        Market storage m = s.markets[marketId];
        price = m.priceFeed.latestPrice();
        state = m.state;
        AccountingLib.accrueInMemory(state, price);
        v = s.valueIsolated(pos, m.params, state, price);
    }

    function _liquidateCross(EngineState storage s, address trader, Account memory account, address keeper)
        private
        returns (bool, int256, uint256)
    {
        Valuation memory v =
            s.valueCross(trader, account.crossMarkets, account.crossBalance, AccountingLib.NO_OVERRIDE, 0);
        if (!AccountingLib.isLiquidatable(v)) return (false, v.equity, v.maintenanceMargin);

        uint256 rewardBase;
        uint256 insuranceBase;
        uint256 bits = account.crossMarkets;
        while (bits != 0) {
            uint256 id = AccountingLib.lowestBit(bits);
            bits &= bits - 1;
            (uint256 reward, uint256 insurance) = _closeCrossPosition(s, trader, id);
            rewardBase += reward;
            insuranceBase += insurance;
        }
        // v.equity is exactly the cross balance after these closes: the same formulas with the same roundings.
        s.accounts[trader] = Account(0, 0);
        uint256 traderRemainder = _distribute(s, Target(trader, CROSS, keeper), v, rewardBase, insuranceBase);
        s.accounts[trader].crossBalance = traderRemainder.toInt256().toInt128();
        return (true, v.equity, v.maintenanceMargin);
    }

    /// @dev Closes one position of a cross account being liquidated; returns its parts of the keeper's and the
    /// insurance fund's bases.
    function _closeCrossPosition(EngineState storage s, address trader, uint256 marketId)
        private
        returns (uint256 rewardBase, uint256 insuranceBase)
    {
        Market storage m = s.markets[marketId];
        Position memory pos = s.positions[trader][marketId];
        uint256 price = m.priceFeed.latestPrice();
        MarketState memory state = m.state;
        AccountingLib.accrueInMemory(state, price);
        s.closeAtIndex(trader, marketId, pos, state, price);
        uint256 notional = PerpMath.notionalDown(pos.size, price);
        rewardBase = FPM.mulWadDown(notional, m.params.keeperRewardRatio);
        insuranceBase = FPM.mulWadDown(notional, m.params.insuranceShare);
    }

    /// @dev SPEC: keeper R = clamp(rewardBase, min, max); insurance min(insuranceBase, max(E - R, 0)); the rest to
    /// the trader; a shortfall max(R - E, 0) (which includes any negative equity) is covered by insurance, then the
    /// vault. The keeper's reward is a credit to its cross balance: no token moves.
    function _distribute(
        EngineState storage s,
        Target memory target,
        Valuation memory v,
        uint256 rewardBase,
        uint256 insuranceBase
    ) private returns (uint256 traderRemainder) {
        ProtocolParams memory protocol = s.protocol;
        uint256 reward = rewardBase < protocol.keeperRewardMin
            ? protocol.keeperRewardMin
            : (rewardBase > protocol.keeperRewardMax ? protocol.keeperRewardMax : rewardBase);
        int256 afterReward = v.equity - reward.toInt256();
        uint256 insurancePaid;
        if (afterReward > 0) {
            insurancePaid = FPM.min(insuranceBase, uint256(afterReward));
            traderRemainder = uint256(afterReward) - insurancePaid;
            s.ledger.insuranceFund += insurancePaid.toUint96();
        } else if (afterReward < 0) {
            s.coverBadDebt(target.trader, uint256(-afterReward));
        }
        s.accounts[target.keeper].crossBalance += reward.toInt256().toInt128();
        emit IPerpEngine.Liquidated(
            target.trader, target.marketId, target.keeper, v.equity, v.notional, reward, insurancePaid, traderRemainder
        );
    }

    /// @notice Closes `trader`'s profitable position at the index price with no fee while traders' net unrealised
    /// profit in the market exceeds `maxPnlFactor` times the vault NAV.
    function autoDeleverage(EngineState storage s, address trader, uint256 marketId) external {
        Market storage m = s.market(marketId);
        Position memory pos = s.positions[trader][marketId];
        if (pos.size == 0) revert IPerpEngine.NoPosition(trader, marketId);
        uint256 limit = FPM.mulWadDown(s.vaultNav(), m.params.maxPnlFactor);
        uint256 price = m.priceFeed.latestPrice();
        MarketState memory state = m.state;
        AccountingLib.accrueInMemory(state, price);
        int256 tradersProfit = PerpMath.tradersClaimUp(
            price, AccountingLib.skew(state), m.params.skewScale, state.fundingIndex, state.entryFundingSum
        );
        if (tradersProfit <= limit.toInt256()) revert IPerpEngine.DeleverageNotNeeded(tradersProfit, limit);
        int256 value = s.closeAtIndex(trader, marketId, pos, state, price);
        if (value <= 0) revert IPerpEngine.PositionNotProfitable(value);

        Account storage account = s.accounts[trader];
        uint256 marketBit = AccountingLib.bit(marketId);
        if (account.crossMarkets & marketBit != 0) {
            account.crossMarkets &= ~uint128(marketBit);
            account.crossBalance += value.toInt128();
        } else {
            account.crossBalance += (int256(uint256(pos.margin)) + value).toInt128();
        }
        emit IPerpEngine.AutoDeleveraged(trader, marketId, tradersProfit, limit);
    }
}
