// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {
    IPerpEngine, MarketState, Position, Health, LIQUIDATABLE_AT_ANY_PRICE, UNBOUNDED_LEVERAGE
} from "../interfaces/IPerpEngine.sol";
import {EngineState, Market, Account, Valuation} from "./EngineState.sol";
import {BitMap} from "./BitMap.sol";
import {MarketLib} from "./MarketLib.sol";
import {ValuationLib} from "./ValuationLib.sol";
import {FixedPointMath as FPM} from "./FixedPointMath.sol";

/// @title LiquidationPriceLogic
/// @notice The estimated liquidation price (SPEC "Liquidation"): exact to the oracle's last unit because it is found
/// by evaluating the very predicate `liquidate` uses, at prices the oracle can express.
library LiquidationPriceLogic {
    using SafeCast for uint256;
    using MarketLib for EngineState;
    using ValuationLib for EngineState;

    struct Search {
        address trader;
        uint256 marketId;
        Position pos;
        bool cross;
        /// @notice One oracle unit in WAD.
        uint256 unit;
    }

    /// @notice See `IPerpEngine.vaultNav` (here, not in the engine, for EIP-170: the market loop is only read by views
    /// and the vault's withdrawal).
    function vaultNav(EngineState storage s) external view returns (uint256) {
        return s.vaultNav();
    }

    /// @notice See `IPerpEngine.vaultWithdrawable`.
    function vaultWithdrawable(EngineState storage s) external view returns (uint256) {
        return s.vaultWithdrawable();
    }

    /// @notice See `IPerpEngine.liquidationPrice`.
    function liquidationPrice(EngineState storage s, address trader, uint256 marketId)
        external
        view
        returns (uint256)
    {
        Market storage m = s.market(marketId);
        Search memory search;
        search.trader = trader;
        search.marketId = marketId;
        search.pos = s.positions[trader][marketId];
        if (search.pos.size == 0) revert IPerpEngine.NoPosition(trader, marketId);
        search.cross = s.accounts[trader].crossMarkets & BitMap.bit(marketId) != 0;
        search.unit = m.priceFeed.priceUnit();
        return _search(s, search, _estimate(s, search));
    }

    /// @dev Whether the unit holding the position is liquidatable with this market's index price at `price` (other
    /// markets at their current prices, time now).
    function _liquidatableAt(EngineState storage s, Search memory search, uint256 price) private view returns (bool) {
        Valuation memory v;
        if (search.cross) {
            Account memory account = s.accounts[search.trader];
            v = s.valueCross(search.trader, account.crossMarkets, account.crossBalance, search.marketId, price);
        } else {
            Market storage m = s.markets[search.marketId];
            MarketState memory state = m.state;
            MarketLib.accrueInMemory(state, price);
            v = s.valueIsolated(search.pos, m.params, state, price);
        }
        return ValuationLib.isLiquidatable(v);
    }

    /// @dev Linear estimate in oracle units. With everything else fixed, equity at close - maintenance = A + B * price
    /// (roughly: the close fill's premium is left out of B) where,
    /// for this position, B = size * (1 - rate * elapsed / 1 day) - MMR * |size| (the funding accrued since the last
    /// touch grows with the price too). `_search` then makes the answer exact whatever the roundings.
    function _estimate(EngineState storage s, Search memory search) private view returns (uint256) {
        Market storage m = s.markets[search.marketId];
        uint256 price = m.priceFeed.latestPrice();
        Valuation memory v;
        if (search.cross) {
            Account memory account = s.accounts[search.trader];
            v = s.valueCross(search.trader, account.crossMarkets, account.crossBalance, ValuationLib.NO_OVERRIDE, 0);
        } else {
            MarketState memory state = m.state;
            MarketLib.accrueInMemory(state, price);
            v = s.valueIsolated(search.pos, m.params, state, price);
        }
        int256 size = search.pos.size;
        // A simulation whose block predates state already written (a keeper's eth_call racing its own batch) sees a
        // funding time after block.timestamp: no elapsed funding then, as in MarketLib.accrueInMemory.
        uint256 lastFunding = m.state.lastFundingTime;
        int256 elapsed = block.timestamp > lastFunding ? int256(block.timestamp - lastFunding) : int256(0);
        int256 slope = size - size * m.state.fundingRatePerDay * elapsed / int256(1 days * 1e18)
            - int256(FPM.abs(size) * m.params.maintenanceMarginRatio / 1e18);
        if (slope == 0) return 1;
        int256 estimate = int256(price) - (v.equityAtClose - v.maintenanceMargin.toInt256()) * 1e18 / slope;
        if (estimate <= int256(search.unit)) return 1;
        return uint256(estimate) / search.unit;
    }

    /// @dev Let safe(k) mean "at k oracle units the unit is on the side that moves away from liquidation as k grows":
    /// not liquidatable for a long, liquidatable for a short. It is false, then true, as k grows; T is the first
    /// true k. A long is liquidatable on [1, T - 1] (none if T = 1: returns 0), a short on [T, inf).
    /// Gallops from the estimate to bracket T, then bisects: a handful of evaluations when the estimate is close.
    function _search(EngineState storage s, Search memory search, uint256 guess) private view returns (uint256) {
        bool isLong = search.pos.size > 0;
        uint256 lo; // safe(lo) is false; 0 stands for "below every price"
        uint256 hi; // safe(hi) is true
        uint256 step = 1;
        if (_liquidatableAt(s, search, guess * search.unit) != isLong) {
            hi = guess;
            lo = guess - 1;
            while (lo != 0 && _liquidatableAt(s, search, lo * search.unit) != isLong) {
                hi = lo;
                step *= 2;
                lo = lo > step ? lo - step : 0;
            }
        } else {
            lo = guess;
            hi = guess + 1;
            while (_liquidatableAt(s, search, hi * search.unit) == isLong) {
                // Only a pathological long (funding accruing faster than the price) never becomes safe.
                if (hi > type(uint128).max) return LIQUIDATABLE_AT_ANY_PRICE;
                lo = hi;
                step *= 2;
                hi += step;
            }
        }
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) / 2;
            if (_liquidatableAt(s, search, mid * search.unit) != isLong) hi = mid;
            else lo = mid;
        }
        return (isLong ? hi - 1 : hi) * search.unit;
    }

    /// @notice See `IPerpEngine.positionHealth` (here only to keep the engine small).
    function positionHealth(EngineState storage s, address trader, uint256 marketId)
        external
        view
        returns (Health memory)
    {
        Market storage m = s.market(marketId);
        if (s.accounts[trader].crossMarkets & BitMap.bit(marketId) != 0) return crossAccountHealth(s, trader);
        Position memory pos = s.positions[trader][marketId];
        if (pos.size == 0) revert IPerpEngine.NoPosition(trader, marketId);
        uint256 price = m.priceFeed.latestPrice();
        MarketState memory state = m.state;
        MarketLib.accrueInMemory(state, price);
        return _health(s.valueIsolated(pos, m.params, state, price));
    }

    /// @notice See `IPerpEngine.crossAccountHealth`.
    function crossAccountHealth(EngineState storage s, address trader) public view returns (Health memory) {
        Account memory account = s.accounts[trader];
        return _health(s.valueCross(trader, account.crossMarkets, account.crossBalance, ValuationLib.NO_OVERRIDE, 0));
    }

    function _health(Valuation memory v) private pure returns (Health memory) {
        return Health({
            equity: v.equity,
            equityAtClose: v.equityAtClose,
            initialMargin: v.initialMargin,
            maintenanceMargin: v.maintenanceMargin,
            notional: v.notional,
            unrealizedPnl: v.pnl,
            accruedFunding: v.funding,
            leverage: v.equity > 0 ? FPM.mulDivUp(v.notional, 1e18, uint256(v.equity)) : UNBOUNDED_LEVERAGE,
            liquidatable: ValuationLib.isLiquidatable(v)
        });
    }
}
