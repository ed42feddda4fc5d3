// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {MarketParams, MarketState, Position, ProtocolParams} from "../interfaces/IPerpEngine.sol";

/// @notice One market: its oracle, the guardian's switch, its parameters and its state.
struct Market {
    IPriceFeed priceFeed;
    bool reduceOnly;
    MarketParams params;
    MarketState state;
}

/// @notice A trader's cross account in one slot.
struct Account {
    /// @notice Signed USD WAD: a realised loss may take it below zero while other cross positions carry it.
    int128 crossBalance;
    /// @notice Bit i set = an open cross position in market i (hence at most 128 markets).
    uint128 crossMarkets;
}

/// @notice The two ledgers that belong to no account, in one slot because fees touch both.
struct Ledger {
    int128 vaultCash;
    uint128 insuranceFund;
}

/// @notice Everything the engine stores, so that its libraries can take it as one storage pointer.
struct EngineState {
    uint256 marketCount;
    mapping(uint256 => Market) markets;
    mapping(address => Account) accounts;
    mapping(address => mapping(uint256 => Position)) positions;
    Ledger ledger;
    ProtocolParams protocol;
    /// @notice Sum over positions of |size| * entry, rounded up per position (see `PerpMath.openNotionalUp`).
    uint256 totalOpenNotional;
}

/// @notice Sums over a set of positions valued together: one isolated position, or a cross account.
struct Valuation {
    /// @notice Collateral + PnL - funding owed, each position at its index price.
    int256 equity;
    /// @notice The same, each position at the price it would close at (its fill price for -size).
    int256 equityAtClose;
    /// @notice `equityAtClose` counting no position with positive value: what a debit may rely on.
    int256 equityNoProfit;
    uint256 initialMargin;
    /// @notice Includes the minimum keeper reward once when `count > 0`.
    uint256 maintenanceMargin;
    uint256 notional;
    /// @notice Sum of PnL at the index price (rounded down per position).
    int256 pnl;
    /// @notice Sum of funding owed (rounded up per position; negative = receivable).
    int256 funding;
    uint256 count;
}
