// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {
    IPerpEngine, MarketParams, MarketState, Position, ProtocolParams, CROSS, AUTO_PAID_CLAIMS
} from "../interfaces/IPerpEngine.sol";
import {EngineState, Market, Account, Ledger, Valuation} from "./EngineState.sol";
import {BitMap} from "./BitMap.sol";
import {LedgerLib} from "./LedgerLib.sol";
import {MarginLib} from "./MarginLib.sol";
import {MarketLib} from "./MarketLib.sol";
import {ValuationLib} from "./ValuationLib.sol";
import {FixedPointMath as FPM} from "./FixedPointMath.sol";
import {PerpMath} from "./PerpMath.sol";
import {PriceUpdateLib} from "./PriceUpdateLib.sol";

/// @title LiquidationLogic
/// @notice Liquidation and auto-deleveraging (SPEC "Liquidation", "Deleveraging"). An external library: the engine
/// delegatecalls it, so it runs on the engine's storage, and its code does not count against the engine's size.
library LiquidationLogic {
    using SafeCast for uint256;
    using SafeCast for int256;
    using LedgerLib for EngineState;
    using MarketLib for EngineState;
    using ValuationLib for EngineState;

    /// @dev Who is liquidated in which market (CROSS for a whole cross account), and who gets the reward.
    struct Target {
        address trader;
        uint256 marketId;
        address keeper;
    }

    /// @notice Updates the prices of the unit holding `trader`'s position in `marketId` with `priceUpdate` (paid
    /// out of `budget`, the caller's `msg.value`), liquidates the unit if it is below maintenance at prices at most
    /// `LIQUIDATION_MAX_AGE` old, and refunds the unspent budget; reverts `NotLiquidatable` otherwise.
    function liquidate(
        EngineState storage s,
        address trader,
        uint256 marketId,
        address keeper,
        bytes[] calldata priceUpdate,
        uint256 budget
    ) external {
        s.market(marketId);
        uint256 spent =
            PriceUpdateLib.updateMarkets(s, PriceUpdateLib.unitMarkets(s, trader, marketId), priceUpdate, budget, true);
        (bool done, int256 equity, uint256 maintenanceMargin) = _liquidate(s, trader, marketId, keeper);
        if (!done) revert IPerpEngine.NotLiquidatable(trader, marketId, equity, maintenanceMargin);
        s.payClaims(AUTO_PAID_CLAIMS);
        PriceUpdateLib.refund(budget, spent);
    }

    /// @notice `liquidate` over a batch; entries that are not liquidatable, name no market, or whose unit has a
    /// market without a usable price (no price at most `LIQUIDATION_MAX_AGE` old, or an invalid one) are skipped.
    /// `priceUpdate` goes once to the feed of every market the batch's units hold; a feed that rejects it keeps its
    /// cache, so its entries are judged on the cache, and skipped if that is stale. The fee of a rejected update is
    /// refunded when Pyth refused the data, spent when Pyth parsed it and the adapter refused the price.
    function liquidateMany(
        EngineState storage s,
        address[] calldata traders,
        uint256[] calldata marketIds,
        address keeper,
        bytes[] calldata priceUpdate,
        uint256 budget
    ) external returns (uint256 liquidated) {
        uint256 marketCount = s.marketCount;
        uint256 spent;
        if (priceUpdate.length != 0) {
            uint256 bits;
            for (uint256 i; i < traders.length; ++i) {
                if (marketIds[i] < marketCount) bits |= PriceUpdateLib.unitMarkets(s, traders[i], marketIds[i]);
            }
            spent = PriceUpdateLib.updateMarkets(s, bits, priceUpdate, budget, false);
        }
        // Each market's price is probed once per batch: it cannot change within the transaction.
        uint256 probed;
        uint256 usable;
        for (uint256 i; i < traders.length; ++i) {
            if (marketIds[i] >= marketCount) continue;
            uint256 unit = PriceUpdateLib.unitMarkets(s, traders[i], marketIds[i]);
            if (unit & ~probed != 0) {
                usable |= _probe(s, unit & ~probed);
                probed |= unit;
            }
            if (unit & ~usable != 0) continue;
            (bool done,,) = _liquidate(s, traders[i], marketIds[i], keeper);
            if (done) ++liquidated;
        }
        if (liquidated != 0) s.payClaims(AUTO_PAID_CLAIMS);
        PriceUpdateLib.refund(budget, spent);
    }

    /// @dev The markets of `bits` whose feed answers `freshPrice(LIQUIDATION_MAX_AGE)` without reverting.
    function _probe(EngineState storage s, uint256 bits) private view returns (uint256 usable) {
        while (bits != 0) {
            uint256 id = BitMap.lowestBit(bits);
            bits &= bits - 1;
            try s.markets[id].priceFeed.freshPrice(PriceUpdateLib.LIQUIDATION_MAX_AGE) returns (uint256) {
                usable |= BitMap.bit(id);
            } catch {}
        }
    }

    function _liquidate(EngineState storage s, address trader, uint256 marketId, address keeper)
        private
        returns (bool, int256, uint256)
    {
        Position memory pos = s.positions[trader][marketId];
        if (pos.size == 0) return (false, 0, 0);
        Account memory account = s.accounts[trader];
        if (account.crossMarkets & BitMap.bit(marketId) != 0) return _liquidateCross(s, trader, account, keeper);
        return _liquidateIsolated(s, Target(trader, marketId, keeper), pos);
    }

    function _liquidateIsolated(EngineState storage s, Target memory target, Position memory pos)
        private
        returns (bool, int256, uint256)
    {
        (Valuation memory v, MarketState memory state, uint256 price) = _valueIsolatedNow(s, target.marketId, pos);
        if (!ValuationLib.isLiquidatable(v)) return (false, v.equityAtClose, v.maintenanceMargin);
        LedgerLib.Close memory c = s.closeAtFill(target.trader, target.marketId, pos, state, price);
        MarketParams storage params = s.markets[target.marketId].params;
        _distribute(
            s,
            target,
            v,
            Collected(int256(uint256(pos.margin)), c.fundingPaid - c.fundingToVault, c.markChange),
            FPM.mulWadDown(v.notional, params.keeperRewardRatio),
            FPM.mulWadDown(v.notional, params.insuranceShare)
        );
        return (true, v.equityAtClose, v.maintenanceMargin);
    }

    function _valueIsolatedNow(EngineState storage s, uint256 marketId, Position memory pos)
        private
        view
        returns (Valuation memory v, MarketState memory state, uint256 price)
    {
        Market storage m = s.markets[marketId];
        price = m.priceFeed.freshPrice(PriceUpdateLib.LIQUIDATION_MAX_AGE);
        state = m.state;
        MarketLib.accrueInMemory(state, price);
        v = s.valueIsolated(pos, m.params, state, price);
    }

    function _liquidateCross(EngineState storage s, address trader, Account memory account, address keeper)
        private
        returns (bool, int256, uint256)
    {
        Valuation memory v = s.valueCrossAt(
            trader,
            account.crossMarkets,
            account.crossBalance,
            ValuationLib.NO_OVERRIDE,
            0,
            PriceUpdateLib.LIQUIDATION_MAX_AGE
        );
        if (!ValuationLib.isLiquidatable(v)) return (false, v.equityAtClose, v.maintenanceMargin);

        uint256 rewardBase;
        uint256 insuranceBase;
        Collected memory collected = Collected(account.crossBalance, 0, 0);
        uint256 bits = account.crossMarkets;
        while (bits != 0) {
            uint256 id = BitMap.lowestBit(bits);
            bits &= bits - 1;
            (uint256 reward, uint256 insurance) = _closeCrossPosition(s, trader, id, collected);
            rewardBase += reward;
            insuranceBase += insurance;
        }
        // v.equityAtClose is exactly the cross balance plus these closes' values: the same formulas, the same
        // roundings, each market's skew untouched until its own close.
        // The order escrow is not the account's to lose: it stays.
        s.storeAccount(trader, Account(0, account.escrowUsd6, 0));
        _distribute(s, Target(trader, CROSS, keeper), v, collected, rewardBase, insuranceBase);
        return (true, v.equityAtClose, v.maintenanceMargin);
    }

    /// @dev Closes one position of a cross account being liquidated; adds its funding dust and mark-notional change
    /// to `collected` and returns its parts of the keeper's and the insurance fund's bases.
    function _closeCrossPosition(EngineState storage s, address trader, uint256 marketId, Collected memory collected)
        private
        returns (uint256 rewardBase, uint256 insuranceBase)
    {
        Market storage m = s.markets[marketId];
        Position memory pos = s.positions[trader][marketId];
        // The price the valuation read: the same answer in the same transaction.
        uint256 price = m.priceFeed.freshPrice(PriceUpdateLib.LIQUIDATION_MAX_AGE);
        MarketState memory state = m.state;
        MarketLib.accrueInMemory(state, price);
        LedgerLib.Close memory c = s.closeAtFill(trader, marketId, pos, state, price);
        collected.fundingDust += c.fundingPaid - c.fundingToVault;
        collected.markChange += c.markChange;
        uint256 notional = PerpMath.notionalDown(pos.size, price);
        rewardBase = FPM.mulWadDown(notional, m.params.keeperRewardRatio);
        insuranceBase = FPM.mulWadDown(notional, m.params.insuranceShare);
    }

    /// @dev What a liquidated unit hands over: its collateral (cross balance or isolated margin, before the closes),
    /// the funding dust of its closes and their change of mark notional.
    struct Collected {
        int256 collateral;
        int256 fundingDust;
        int256 markChange;
    }

    /// @dev SPEC: keeper R = clamp(rewardBase, positions * min, max) (never below the per-position minimum);
    /// insurance min(insuranceBase, max(E - R, 0)); the rest to the trader; a shortfall max(R - E, 0) (which includes
    /// any negative equity) is covered by insurance, then the vault.
    /// The vault takes the whole unit (its collateral, less the funding dust, which is insurance's: the closes' PnL and
    /// funding are then internal to the vault) and pays the keeper and the trader's remainder out of it through
    /// `payFromVault`, keeper first. So vault cash never goes below zero: what it cannot pay is a claim of the keeper
    /// or the trader, and a unit that owed the vault more than it held (a negative cross balance whose cash already
    /// left) adds the excess to the deficit. Credits are `+=`, so a keeper liquidating itself loses nothing.
    function _distribute(
        EngineState storage s,
        Target memory target,
        Valuation memory v,
        Collected memory collected,
        uint256 rewardBase,
        uint256 insuranceBase
    ) private {
        uint256 reward = FPM.min(rewardBase, s.protocol.keeperRewardMax);
        uint256 minReward = uint256(s.protocol.keeperRewardMin) * v.count;
        if (reward < minReward) reward = minReward;
        Ledger memory ledger = s.ledger;
        int256 cash = ledger.vaultCash + collected.collateral - collected.fundingDust;
        uint256 insurance = ledger.insuranceFund + uint256(collected.fundingDust);
        int256 afterReward = v.equityAtClose - reward.toInt256();
        uint256 insurancePaid;
        uint256 traderRemainder;
        if (afterReward > 0) {
            insurancePaid = FPM.min(insuranceBase, uint256(afterReward));
            traderRemainder = uint256(afterReward) - insurancePaid;
            insurance += insurancePaid;
            cash -= insurancePaid.toInt256();
        } else if (afterReward < 0) {
            uint256 shortfall = uint256(-afterReward);
            uint256 fromInsurance = FPM.min(insurance, shortfall);
            insurance -= fromInsurance;
            cash += fromInsurance.toInt256();
            emit IPerpEngine.BadDebtCovered(target.trader, shortfall, fromInsurance, shortfall - fromInsurance);
        }
        uint256 uncovered;
        if (cash < 0) {
            uncovered = uint256(-cash);
            cash = 0;
        }
        ledger.vaultCash = cash.toInt96();
        ledger.insuranceFund = insurance.toUint96();
        ledger.markNotionalUsd6 =
            (int256(uint256(ledger.markNotionalUsd6)) + collected.markChange).toUint256().toUint56();
        s.ledger = ledger;
        if (uncovered != 0) s.addDeficit(target.trader, uncovered);
        s.payFromVault(target.keeper, reward);
        s.payFromVault(target.trader, traderRemainder);
        emit IPerpEngine.Liquidated(
            target.trader,
            target.marketId,
            target.keeper,
            v.equityAtClose,
            v.notional,
            reward,
            insurancePaid,
            traderRemainder
        );
    }

    /// @notice Closes `trader`'s profitable position at its close fill price with no fee while traders' net
    /// unrealised profit in the market exceeds `maxPnlFactor` times the vault NAV. An account (or isolated position)
    /// that is liquidatable is refused: it is liquidated, never deleveraged. Prices as for a liquidation: the
    /// unit's markets are updated with `priceUpdate` (paid out of `budget`, the rest refunded) and read at most
    /// `LIQUIDATION_MAX_AGE` old.
    function autoDeleverage(
        EngineState storage s,
        address trader,
        uint256 marketId,
        bytes[] calldata priceUpdate,
        uint256 budget
    ) external {
        Market storage m = s.market(marketId);
        Position memory pos = s.positions[trader][marketId];
        if (pos.size == 0) revert IPerpEngine.NoPosition(trader, marketId);
        uint256 spent =
            PriceUpdateLib.updateMarkets(s, PriceUpdateLib.unitMarkets(s, trader, marketId), priceUpdate, budget, true);
        uint256 limit = FPM.mulWadDown(s.vaultNav(), m.params.maxPnlFactor);
        uint256 price = m.priceFeed.freshPrice(PriceUpdateLib.LIQUIDATION_MAX_AGE);
        MarketState memory state = m.state;
        MarketLib.accrueInMemory(state, price);
        int256 tradersProfit = PerpMath.tradersClaimUp(
            price, MarketLib.skew(state), m.params.skewScale, state.fundingIndex, state.entryFundingSum
        );
        if (tradersProfit <= limit.toInt256()) revert IPerpEngine.DeleverageNotNeeded(tradersProfit, limit);

        _requireNotLiquidatable(s, trader, marketId, pos, state, price);
        _deleverage(s, trader, marketId, pos, state, price);
        emit IPerpEngine.AutoDeleveraged(trader, marketId, tradersProfit, limit);
        PriceUpdateLib.refund(budget, spent);
    }

    function _requireNotLiquidatable(
        EngineState storage s,
        address trader,
        uint256 marketId,
        Position memory pos,
        MarketState memory state,
        uint256 price
    ) private view {
        Account memory account = s.accounts[trader];
        Valuation memory v = account.crossMarkets & BitMap.bit(marketId) != 0
            ? s.valueCrossAt(
                trader, account.crossMarkets, account.crossBalance, marketId, price, PriceUpdateLib.LIQUIDATION_MAX_AGE
            )
            : s.valueIsolated(pos, s.markets[marketId].params, state, price);
        if (ValuationLib.isLiquidatable(v)) {
            revert IPerpEngine.AccountLiquidatable(trader, v.equityAtClose, v.maintenanceMargin);
        }
    }

    function _deleverage(
        EngineState storage s,
        address trader,
        uint256 marketId,
        Position memory pos,
        MarketState memory state,
        uint256 price
    ) private {
        LedgerLib.Close memory c = s.closeAtFill(trader, marketId, pos, state, price);
        int256 value = c.pnl - c.fundingPaid;
        if (value <= 0) revert IPerpEngine.PositionNotProfitable(value);
        uint256 unpaid =
            s.bookTrade(trader, 0, c.fundingToVault, c.fundingPaid - c.fundingToVault, c.pnl, c.markChange, false, true);
        int256 credit = value - unpaid.toInt256();
        Account memory account = s.accounts[trader];
        uint128 marketBit = uint128(BitMap.bit(marketId));
        if (account.crossMarkets & marketBit != 0) {
            account.crossMarkets &= ~marketBit;
            account.crossBalance = (account.crossBalance + credit).toInt96();
        } else {
            account.crossBalance = (account.crossBalance + int256(uint256(pos.margin)) + credit).toInt96();
        }
        s.storeAccount(trader, account);
        // Not reachable for an account that was not liquidatable unless the vault could not pay: then, as on the
        // trade path, a negative balance left with no cross position is bad debt, reset by the waterfall.
        if (account.crossMarkets == 0 && account.crossBalance < 0) {
            s.coverBadDebt(trader, uint256(-int256(account.crossBalance)));
            s.setCross(trader, 0);
        }
    }

    // ---------------------------------------------------------------- priced margin paths
    // Here rather than in the engine (EIP-170) or a library of their own (one more link everywhere): they share
    // PriceUpdateLib with liquidation.

    /// @notice The engine's `withdraw` price update (see `PriceUpdateLib.updateMarkets`, strict): here so that the
    /// update code is linked, not compiled into the engine (EIP-170).
    function updatePrices(EngineState storage s, uint256 bits, bytes[] calldata priceUpdate, uint256 budget)
        external
        returns (uint256)
    {
        return PriceUpdateLib.updateMarkets(s, bits, priceUpdate, budget, true);
    }

    /// @notice See `IPerpEngine.removeMargin`: updates the market's price, then moves `amount` (USD WAD) of the
    /// caller's isolated margin to its cross balance if the position keeps margin + min(PnL, 0) >= initial margin and
    /// stays above maintenance; refunds the unspent `budget`.
    function removeMargin(EngineState storage s, uint256 marketId, uint256 amount, bytes[] calldata data, uint256 budget)
        external
    {
        if (amount == 0) revert IPerpEngine.ZeroAmount();
        Market storage m = s.market(marketId);
        Position memory pos = s.positions[msg.sender][marketId];
        if (pos.size == 0) revert IPerpEngine.NoPosition(msg.sender, marketId);
        if (s.accounts[msg.sender].crossMarkets & BitMap.bit(marketId) != 0) {
            revert IPerpEngine.NotIsolated(marketId);
        }
        if (amount > pos.margin) revert IPerpEngine.RemovalExceedsMargin(marketId, pos.margin, amount);
        uint256 spent = PriceUpdateLib.updateMarkets(s, BitMap.bit(marketId), data, budget, true);
        uint256 price = m.priceFeed.latestPrice();
        _checkRemoval(s, m, marketId, pos, price, amount);
        uint96 newMargin = pos.margin - amount.toUint96();
        s.positions[msg.sender][marketId].margin = newMargin;
        s.creditCross(msg.sender, amount);
        emit IPerpEngine.MarginRemoved(msg.sender, marketId, amount, newMargin);
        PriceUpdateLib.refund(budget, spent);
    }

    /// @dev removeMargin's margin check, apart so that removeMargin stays within the stack.
    function _checkRemoval(
        EngineState storage s,
        Market storage m,
        uint256 marketId,
        Position memory pos,
        uint256 price,
        uint256 amount
    ) private view {
        MarketState memory state = m.state;
        MarketLib.accrueInMemory(state, price);
        Valuation memory v = s.valueIsolated(pos, m.params, state, price);
        MarginLib.checkRemoval(v, marketId, amount);
    }

    /// @notice See `IPerpEngine.payClaims`.
    function payClaims(EngineState storage s, uint256 maxCount) external returns (uint256) {
        return s.payClaims(maxCount);
    }
}
