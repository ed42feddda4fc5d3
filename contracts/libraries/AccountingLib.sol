// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IPerpEngine, MarketParams, MarketState, Position, ProtocolParams} from "../interfaces/IPerpEngine.sol";
import {EngineState, Market, Account, Ledger, Valuation} from "./EngineState.sol";
import {FixedPointMath as FPM} from "./FixedPointMath.sol";
import {PerpMath} from "./PerpMath.sol";

/// @title AccountingLib
/// @notice What the engine and its external libraries share: funding accrual, valuation of positions and
/// accounts, and the bookings between traders, the vault and the insurance fund. Internal: compiled into each user.
library AccountingLib {
    using SafeCast for uint256;
    using SafeCast for int256;

    uint256 internal constant NO_OVERRIDE = type(uint256).max;

    // ---------------------------------------------------------------- markets and funding

    /// @dev A listed market always has a feed; checking it (a slot every caller reads next anyway) is cheaper than
    /// reading `marketCount`.
    function market(EngineState storage s, uint256 marketId) internal view returns (Market storage m) {
        m = s.markets[marketId];
        if (address(m.priceFeed) == address(0)) revert IPerpEngine.UnknownMarket(marketId);
    }

    function skew(MarketState memory state) internal pure returns (int256) {
        return int256(uint256(state.longOpenInterest)) - int256(uint256(state.shortOpenInterest));
    }

    /// @dev Brings `state`'s funding index to now at index price `price`. The rate is the one in force since the
    /// last touch: it only moves with the skew, and the skew only moves when the market is touched.
    function accrueInMemory(MarketState memory state, uint256 price) internal view {
        uint256 elapsed = block.timestamp - state.lastFundingTime;
        if (elapsed == 0) return;
        state.fundingIndex =
            PerpMath.accruedFundingIndex(state.fundingIndex, state.fundingRatePerDay, price, elapsed).toInt128();
        state.lastFundingTime = uint64(block.timestamp);
    }

    function fundingRate(MarketParams storage params, MarketState memory state) internal view returns (int256) {
        return PerpMath.fundingRatePerDay(skew(state), params.skewScale, params.fundingFactor, params.maxFundingRatePerDay);
    }

    /// @dev The two state slots a valuation needs (open interest and funding), without the aggregates slot: a cross
    /// account's valuation reads this once per market, up to 16 times a transaction.
    function valuationState(MarketState storage stored) internal view returns (MarketState memory state) {
        state.longOpenInterest = stored.longOpenInterest;
        state.shortOpenInterest = stored.shortOpenInterest;
        state.fundingIndex = stored.fundingIndex;
        state.fundingRatePerDay = stored.fundingRatePerDay;
        state.lastFundingTime = stored.lastFundingTime;
    }

    /// @dev Writes `state` back after a change of skew or index: the new rate and the price it was touched at.
    function storeState(Market storage m, MarketState memory state, uint256 price) internal {
        state.fundingRatePerDay = fundingRate(m.params, state).toInt64();
        state.lastPrice = price.toUint128();
        m.state = state;
    }

    /// @dev Moves a leg of `delta` into (opening) or out of (closing) its side's open interest.
    function addOpenInterest(MarketState memory state, int256 delta, bool opening) internal pure {
        uint128 size = FPM.abs(delta).toUint128();
        // A long opens with delta > 0 and closes with delta < 0.
        if ((delta > 0) == opening) {
            state.longOpenInterest = opening ? state.longOpenInterest + size : state.longOpenInterest - size;
        } else {
            state.shortOpenInterest = opening ? state.shortOpenInterest + size : state.shortOpenInterest - size;
        }
    }

    // ---------------------------------------------------------------- valuation

    /// @dev Values one isolated position with its market's state accrued to now at index price `price`.
    function valueIsolated(
        EngineState storage s,
        Position memory pos,
        MarketParams storage params,
        MarketState memory state,
        uint256 price
    ) internal view returns (Valuation memory v) {
        int256 margin = int256(uint256(pos.margin));
        v.equity = margin;
        v.equityAtClose = margin;
        v.equityNoProfit = margin;
        addPosition(v, pos, params.skewScale, params.initialMarginRatio, params.maintenanceMarginRatio, state, price);
        v.maintenanceMargin += s.protocol.keeperRewardMin;
    }

    /// @dev Values a cross account: `crossBalance` plus every position in `crossMarkets`, each at its market's index
    /// price (`overridePrice` for market `overrideId`) with funding accrued to now.
    function valueCross(
        EngineState storage s,
        address trader,
        uint256 crossMarkets,
        int256 crossBalance,
        uint256 overrideId,
        uint256 overridePrice
    ) internal view returns (Valuation memory v) {
        v.equity = crossBalance;
        v.equityAtClose = crossBalance;
        v.equityNoProfit = crossBalance;
        while (crossMarkets != 0) {
            uint256 id = lowestBit(crossMarkets);
            crossMarkets &= crossMarkets - 1;
            Market storage m = s.markets[id];
            uint256 price = id == overrideId ? overridePrice : m.priceFeed.latestPrice();
            MarketState memory state = valuationState(m.state);
            accrueInMemory(state, price);
            addPosition(
                v,
                s.positions[trader][id],
                m.params.skewScale,
                m.params.initialMarginRatio,
                m.params.maintenanceMarginRatio,
                state,
                price
            );
        }
        if (v.count != 0) v.maintenanceMargin += s.protocol.keeperRewardMin;
    }

    function addPosition(
        Valuation memory v,
        Position memory pos,
        uint256 skewScale,
        uint256 initialMarginRatio,
        uint256 maintenanceMarginRatio,
        MarketState memory state,
        uint256 price
    ) internal pure {
        int256 funding = PerpMath.fundingOwedUp(pos.size, state.fundingIndex, pos.lastFundingIndex);
        int256 pnl = PerpMath.pnlDown(pos.size, pos.entryPrice, price);
        int256 value = pnl - funding;
        uint256 closeFill = PerpMath.fillPrice(price, skew(state), -pos.size, skewScale);
        int256 valueAtClose = PerpMath.pnlDown(pos.size, pos.entryPrice, closeFill) - funding;
        v.equity += value;
        v.equityAtClose += valueAtClose;
        v.equityNoProfit += valueAtClose < 0 ? valueAtClose : int256(0);
        v.initialMargin += PerpMath.requirementUp(pos.size, price, initialMarginRatio);
        v.maintenanceMargin += PerpMath.requirementUp(pos.size, price, maintenanceMarginRatio);
        v.notional += PerpMath.notionalDown(pos.size, price);
        v.pnl += pnl;
        v.funding += funding;
        v.count += 1;
    }

    function isLiquidatable(Valuation memory v) internal pure returns (bool) {
        return v.count != 0 && v.equity < v.maintenanceMargin.toInt256();
    }

    /// @dev Checks a debit of `amount` (WAD) from the cross balance and returns the new balance for the caller to
    /// write. With cross positions open: not liquidatable before, and afterwards equity at close prices counting
    /// no positive value >= initial margin.
    function debitCross(EngineState storage s, address trader, Account memory account, uint256 amount)
        internal
        view
        returns (int128)
    {
        if (amount == 0) revert IPerpEngine.ZeroAmount();
        if (amount.toInt256() > account.crossBalance) {
            revert IPerpEngine.InsufficientCrossBalance(account.crossBalance, amount);
        }
        if (account.crossMarkets != 0) {
            Valuation memory v = valueCross(s, trader, account.crossMarkets, account.crossBalance, NO_OVERRIDE, 0);
            if (isLiquidatable(v)) revert IPerpEngine.AccountLiquidatable(trader, v.equity, v.maintenanceMargin);
            int256 equityAfter = v.equityNoProfit - amount.toInt256();
            if (equityAfter < v.initialMargin.toInt256()) {
                revert IPerpEngine.InsufficientMargin(equityAfter, v.initialMargin);
            }
        }
        return account.crossBalance - amount.toInt256().toInt128();
    }

    // ---------------------------------------------------------------- bookings

    /// @dev Books a trade's or a close's effect on the ledgers in one read and one write of their slot: the vault is
    /// the counterparty of PnL and funding, fees are split by `insuranceFeeShare`, funding dust is insurance's, and the
    /// open notional (USD, 6 decimals) moves by `openNotionalChange`. When risk grows, the vault's cash must back the
    /// new open notional.
    function bookTrade(
        EngineState storage s,
        uint256 fee,
        int256 fundingToVault,
        int256 fundingDust,
        int256 realizedPnl,
        int256 openNotionalChange,
        bool addsRisk
    ) internal {
        ProtocolParams storage protocol = s.protocol;
        uint256 feeToInsurance = FPM.mulWadDown(fee, protocol.insuranceFeeShare);
        Ledger memory ledger = s.ledger;
        ledger.vaultCash += ((fee - feeToInsurance).toInt256() + fundingToVault - realizedPnl).toInt96();
        ledger.insuranceFund += (feeToInsurance + uint256(fundingDust)).toUint96();
        ledger.openNotionalUsd6 = (int256(uint256(ledger.openNotionalUsd6)) + openNotionalChange).toUint256().toUint64();
        s.ledger = ledger;
        if (addsRisk) {
            uint256 required = requiredVaultCash(s, ledger.openNotionalUsd6);
            if (required.toInt256() > ledger.vaultCash) {
                revert IPerpEngine.InsufficientVaultLiquidity(required, ledger.vaultCash);
            }
        }
    }

    /// @dev Vault cash (USD WAD) that `openNotionalUsd6` of open notional requires, rounded up.
    function requiredVaultCash(EngineState storage s, uint256 openNotionalUsd6) internal view returns (uint256) {
        return FPM.mulWadUp(openNotionalUsd6 * 1e12, s.protocol.vaultBackingRatio);
    }

    /// @dev Pays a shortfall from the insurance fund, then from vault cash (which may go negative: a liquidation
    /// must not revert for lack of funds; LPs then bear the loss through the NAV).
    function coverBadDebt(EngineState storage s, address trader, uint256 shortfall) internal {
        Ledger memory ledger = s.ledger;
        uint256 fromInsurance = FPM.min(ledger.insuranceFund, shortfall);
        uint256 fromVault = shortfall - fromInsurance;
        ledger.insuranceFund -= fromInsurance.toUint96();
        ledger.vaultCash -= fromVault.toInt256().toInt96();
        s.ledger = ledger;
        emit IPerpEngine.BadDebtCovered(trader, shortfall, fromInsurance, fromVault);
    }

    /// @dev Closes a position at the index price with no fee: settles its funding and PnL against the vault, updates
    /// the market and deletes the position. Returns what the position's collateral gains (may be negative).
    function closeAtIndex(
        EngineState storage s,
        address trader,
        uint256 marketId,
        Position memory pos,
        MarketState memory state,
        uint256 price
    ) internal returns (int256 value) {
        int256 fundingPaid = PerpMath.fundingOwedUp(pos.size, state.fundingIndex, pos.lastFundingIndex);
        int256 fundingToVault = PerpMath.fundingToVaultDown(pos.size, state.fundingIndex, pos.lastFundingIndex);
        int256 pnl = PerpMath.pnlDown(pos.size, pos.entryPrice, price);
        state.entryFundingSum -=
            PerpMath.entryFundingBasis(pos.size, pos.entryPrice, pos.lastFundingIndex).toInt128();
        addOpenInterest(state, -pos.size, false);
        storeState(s.markets[marketId], state, price);
        int256 openNotional = PerpMath.openNotionalUsd6Up(pos.size, pos.entryPrice).toInt256();
        bookTrade(s, 0, fundingToVault, fundingPaid - fundingToVault, pnl, -openNotional, false);
        delete s.positions[trader][marketId];
        emit IPerpEngine.PositionClosedAtIndex(trader, marketId, pos.size, price, pnl, fundingPaid, state.fundingIndex);
        return pnl - fundingPaid;
    }

    // ---------------------------------------------------------------- vault

    /// @dev Vault cash minus what traders would receive closing everything now, at each market's last reported
    /// price (the last touched price if the feed answers nothing valid). Never reverts on a stale feed.
    function vaultNav(EngineState storage s) internal view returns (uint256) {
        int256 nav = s.ledger.vaultCash;
        uint256 markets = s.marketCount;
        for (uint256 id; id < markets; ++id) {
            Market storage m = s.markets[id];
            MarketState memory state = m.state;
            if (state.longOpenInterest == 0 && state.shortOpenInterest == 0 && state.entryFundingSum == 0) continue;
            uint256 price = state.lastPrice;
            try m.priceFeed.lastReportedPrice() returns (uint256 reported) {
                price = reported;
            } catch {}
            accrueInMemory(state, price);
            nav -= PerpMath.tradersClaimUp(
                price, skew(state), m.params.skewScale, state.fundingIndex, state.entryFundingSum
            );
        }
        return nav > 0 ? uint256(nav) : 0;
    }

    // ---------------------------------------------------------------- bit maps

    function bit(uint256 marketId) internal pure returns (uint256) {
        return 1 << marketId;
    }

    function lowestBit(uint256 bits) internal pure returns (uint256) {
        // bits & -bits isolates the lowest set bit; its log2 is the index. unchecked: ~bits + 1 wraps for bits = 0,
        // which callers never pass.
        unchecked {
            return Math.log2(bits & (~bits + 1));
        }
    }

    function popCount(uint256 bits) internal pure returns (uint256 n) {
        while (bits != 0) {
            bits &= bits - 1;
            ++n;
        }
    }
}
