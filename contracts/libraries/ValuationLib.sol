// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {MarketParams, MarketState, Position, NO_MARKET} from "../interfaces/IPerpEngine.sol";
import {EngineState, Market, Valuation} from "./EngineState.sol";
import {FixedPointMath as FPM} from "./FixedPointMath.sol";
import {PerpMath} from "./PerpMath.sol";
import {MarketLib} from "./MarketLib.sol";
import {LedgerLib} from "./LedgerLib.sol";
import {BitMap} from "./BitMap.sol";

/// @title ValuationLib
/// @notice Valuation: one isolated position or a cross account at index and close prices, with its margin
/// requirements; the liquidation predicate; the LP vault's NAV and withdrawable cash.
/// Internal: compiled into each user. One of the five concerns v1's `AccountingLib` mixed.
library ValuationLib {
    using SafeCast for uint256;
    using SafeCast for int256;

    uint256 internal constant NO_OVERRIDE = NO_MARKET;

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
        return valueCrossAt(s, trader, crossMarkets, crossBalance, overrideId, overridePrice, 0);
    }

    /// @dev `valueCross` with every price read (but the override) by `freshPrice(maxAge)` when `maxAge != 0`
    /// (liquidation and deleveraging), by `latestPrice()` (the feed's own staleness bound) otherwise.
    /// Each position is valued straight from its slots (`addStoredPosition`): up to 16 markets a transaction, the
    /// memory copies of position and state that `addPosition` takes cost more than the math.
    function valueCrossAt(
        EngineState storage s,
        address trader,
        uint256 crossMarkets,
        int256 crossBalance,
        uint256 overrideId,
        uint256 overridePrice,
        uint256 maxAge
    ) internal view returns (Valuation memory v) {
        v.equity = crossBalance;
        v.equityAtClose = crossBalance;
        v.equityNoProfit = crossBalance;
        mapping(uint256 => Position) storage positions = s.positions[trader];
        while (crossMarkets != 0) {
            uint256 id = BitMap.lowestBit(crossMarkets);
            crossMarkets &= crossMarkets - 1;
            Market storage m = s.markets[id];
            uint256 price = id == overrideId ? overridePrice : MarketLib.priceOf(m.priceFeed, maxAge);
            addStoredPosition(v, positions[id], m.params, m.state, price);
        }
        // The minimum keeper reward per position: liquidating 16 positions costs a keeper 16 closes of gas.
        v.maintenanceMargin += s.protocol.keeperRewardMin * v.count;
    }

    /// @dev `addPosition` of a stored position, with its market's funding accrued to now at `price` as
    /// `accrueInMemory` does, reading each field once from storage.
    function addStoredPosition(
        Valuation memory v,
        Position storage pos,
        MarketParams storage params,
        MarketState storage stored,
        uint256 price
    ) internal view {
        int256 index = stored.fundingIndex;
        uint256 last = stored.lastFundingTime;
        if (last < block.timestamp) {
            // unchecked: last < block.timestamp just above.
            uint256 elapsed;
            unchecked {
                elapsed = block.timestamp - last;
            }
            index = int256(PerpMath.accruedFundingIndex(index, stored.fundingRatePerDay, price, elapsed).toInt128());
        }
        int256 size = pos.size;
        addTerms(
            v,
            size,
            pos.entryPrice,
            PerpMath.fundingOwedUp(size, index, pos.lastFundingIndex),
            int256(uint256(stored.longOpenInterest)) - int256(uint256(stored.shortOpenInterest)),
            params.skewScale,
            params.initialMarginRatio,
            params.maintenanceMarginRatio,
            price
        );
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
        addTerms(
            v,
            pos.size,
            pos.entryPrice,
            PerpMath.fundingOwedUp(pos.size, state.fundingIndex, pos.lastFundingIndex),
            MarketLib.skew(state),
            skewScale,
            initialMarginRatio,
            maintenanceMarginRatio,
            price
        );
    }

    /// @dev Adds one position (`funding` owed, the market's `skew_`) to `v`: value at the index and at its close
    /// fill, and its requirements.
    function addTerms(
        Valuation memory v,
        int256 size,
        uint256 entry,
        int256 funding,
        int256 skew_,
        uint256 skewScale,
        uint256 initialMarginRatio,
        uint256 maintenanceMarginRatio,
        uint256 price
    ) internal pure {
        int256 pnl = PerpMath.pnlDown(size, entry, price);
        uint256 closeFill = PerpMath.fillPrice(price, skew_, -size, skewScale);
        int256 valueAtClose = PerpMath.pnlDown(size, entry, closeFill) - funding;
        // Computed once for both requirements and the notional (`requirementUp` and `notionalDown` of the same).
        uint256 sizePrice = FPM.abs(size) * price;
        uint256 initialMargin = FPM.mulDivUp(sizePrice, initialMarginRatio, 1e36);
        uint256 maintenanceMargin = FPM.mulDivUp(sizePrice, maintenanceMarginRatio, 1e36);
        // unchecked: every term is below 2^200 in magnitude (128-bit sizes and prices, WAD ratios), a sum of at most
        // 16 of them and a 128-bit balance is far from 2^255.
        unchecked {
            v.equity += pnl - funding;
            v.equityAtClose += valueAtClose;
            if (valueAtClose < 0) v.equityNoProfit += valueAtClose;
            v.initialMargin += initialMargin;
            v.maintenanceMargin += maintenanceMargin;
            v.notional += sizePrice / 1e18;
            v.pnl += pnl;
            v.funding += funding;
            v.count += 1;
        }
    }

    /// @dev SPEC "Liquidation": equity with each position valued at the price it would close at (its fill price for
    /// -size, premium included) below maintenance. Liquidation closes at exactly those prices.
    function isLiquidatable(Valuation memory v) internal pure returns (bool) {
        return v.count != 0 && v.equityAtClose < v.maintenanceMargin.toInt256();
    }

    /// @dev Vault cash minus claims and deficit minus what traders would receive closing everything now, at each
    /// market's last reported price (the last touched price if the feed answers nothing valid). Never reverts on a
    /// stale feed.
    function vaultNav(EngineState storage s) internal view returns (uint256) {
        (int256 nav,,) = vaultView(s);
        return nav > 0 ? uint256(nav) : 0;
    }

    /// @dev Vault cash that may leave: free cash beyond the backing the mark notional (at reported prices) needs, and
    /// no more than keeps every market's traders' profit within `maxPnlFactor` of the NAV left.
    function vaultWithdrawable(EngineState storage s) internal view returns (uint256) {
        (int256 nav, uint256 markUsd6, uint256 adlFloor) = vaultView(s);
        int256 byBacking =
            LedgerLib.spendableCash(s, s.ledger.vaultCash, s.ledger.owes) - LedgerLib.requiredVaultCash(s, markUsd6).toInt256();
        int256 byDeleverage = nav - adlFloor.toInt256();
        int256 free = FPM.min(byBacking, byDeleverage);
        return free > 0 ? uint256(free) : 0;
    }

    /// @dev One pass over the markets: the NAV (signed), the mark notional at reported prices (USD, 6 decimals) and
    /// the NAV below which some market would be ADL-eligible.
    function vaultView(EngineState storage s) internal view returns (int256 nav, uint256 markUsd6, uint256 adlFloor) {
        nav = LedgerLib.freeVaultCash(s, s.ledger.vaultCash, s.ledger.owes);
        uint256 markets = s.marketCount;
        for (uint256 id; id < markets; ++id) {
            Market storage m = s.markets[id];
            (int256 claim, uint256 mark) = marketExposure(m);
            nav -= claim;
            markUsd6 += mark;
            if (claim > 0) adlFloor = FPM.max(adlFloor, FPM.mulDivUp(uint256(claim), 1e18, m.params.maxPnlFactor));
        }
    }

    /// @dev One market's part of `vaultView`: traders' claim on the vault and the mark notional (USD, 6 decimals), at
    /// the last reported price (the last touched price if the feed answers nothing valid); zero for an empty market.
    /// Apart from the loop to keep `vaultView` within the stack.
    function marketExposure(Market storage m) internal view returns (int256 claim, uint256 markUsd6) {
        MarketState memory state = m.state;
        if (state.longOpenInterest == 0 && state.shortOpenInterest == 0 && state.entryFundingSum == 0) return (0, 0);
        uint256 price = state.lastPrice;
        try m.priceFeed.lastReportedPrice() returns (uint256 reported) {
            price = reported;
        } catch {}
        MarketLib.accrueInMemory(state, price);
        claim = PerpMath.tradersClaimUp(price, MarketLib.skew(state), m.params.skewScale, state.fundingIndex, state.entryFundingSum);
        markUsd6 = PerpMath.markNotionalUsd6Up(uint256(state.longOpenInterest) + state.shortOpenInterest, price);
    }
}
