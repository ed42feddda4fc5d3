// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IPerpEngine} from "../interfaces/IPerpEngine.sol";
import {EngineState, Account, Valuation} from "./EngineState.sol";
import {FixedPointMath as FPM} from "./FixedPointMath.sol";
import {ValuationLib} from "./ValuationLib.sol";

/// @title MarginLib
/// @notice The margin rules (SPEC "Margin accounts"), each with its own error: after a trade that adds risk, on a
/// debit of the cross balance (RT-04) and on `removeMargin`. The negative isolated margin of a trade is checked where
/// the trade stores it (`PerpEngine._storeTradeResult`).
/// Internal: compiled into each user. One of the five concerns v1's `AccountingLib` mixed.
library MarginLib {
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @dev Checks a debit of `amount` (WAD) from the cross balance and returns the new balance for the caller to
    /// write (SPEC "Margin accounts", the debit rule). With cross positions open: not liquidatable before; afterwards
    /// equity at close prices counting no positive value >= initial margin, and equity both at the index and at close
    /// prices >= maintenance (not liquidatable afterwards, whatever side of the skew the positions are on).
    function debitCross(EngineState storage s, address trader, Account memory account, uint256 amount)
        internal
        view
        returns (int96)
    {
        if (amount == 0) revert IPerpEngine.ZeroAmount();
        if (amount.toInt256() > account.crossBalance) {
            revert IPerpEngine.InsufficientCrossBalance(account.crossBalance, amount);
        }
        if (account.crossMarkets != 0) {
            Valuation memory v =
                ValuationLib.valueCross(s, trader, account.crossMarkets, account.crossBalance, ValuationLib.NO_OVERRIDE, 0);
            if (ValuationLib.isLiquidatable(v)) {
                revert IPerpEngine.AccountLiquidatable(trader, v.equityAtClose, v.maintenanceMargin);
            }
            int256 debit = amount.toInt256();
            int256 equityAfter = v.equityNoProfit - debit;
            if (equityAfter < v.initialMargin.toInt256()) {
                revert IPerpEngine.DebitBelowInitialMargin(equityAfter, v.initialMargin);
            }
            equityAfter = FPM.min(v.equity, v.equityAtClose) - debit;
            if (equityAfter < v.maintenanceMargin.toInt256()) {
                revert IPerpEngine.DebitBelowMaintenanceMargin(equityAfter, v.maintenanceMargin);
            }
        }
        return (int256(account.crossBalance) - amount.toInt256()).toInt96();
    }

    /// @dev After a trade that adds risk, `v` valued with the trade applied: equity at close prices >= initial
    /// margin, and not liquidatable (equity at close prices, and at the index, >= maintenance).
    function checkTrade(Valuation memory v) internal pure {
        if (v.equityAtClose < v.initialMargin.toInt256()) {
            revert IPerpEngine.TradeBelowInitialMargin(v.equityAtClose, v.initialMargin);
        }
        int256 equity = FPM.min(v.equity, v.equityAtClose);
        if (equity < v.maintenanceMargin.toInt256()) {
            revert IPerpEngine.TradeBelowMaintenanceMargin(equity, v.maintenanceMargin);
        }
    }

    /// @dev `removeMargin` of `amount` from the isolated position in `marketId` valued `v`: the debit rule of the
    /// cross balance applied to the position (no unrealised profit counts toward the initial margin; not
    /// liquidatable afterwards).
    function checkRemoval(Valuation memory v, uint256 marketId, uint256 amount) internal pure {
        int256 removed = amount.toInt256();
        if (v.equityNoProfit - removed < v.initialMargin.toInt256()) {
            revert IPerpEngine.RemovalBelowInitialMargin(marketId, v.equityNoProfit - removed, v.initialMargin);
        }
        int256 equityAfter = FPM.min(v.equity, v.equityAtClose) - removed;
        if (equityAfter < v.maintenanceMargin.toInt256()) {
            revert IPerpEngine.RemovalBelowMaintenanceMargin(marketId, equityAfter, v.maintenanceMargin);
        }
    }
}
