// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {MarketParams, MarketState, Position} from "../interfaces/IPerpEngine.sol";

/// @notice One market: its oracle, the guardian's switch, its parameters and its state.
struct Market {
    IPriceFeed priceFeed;
    bool reduceOnly;
    MarketParams params;
    MarketState state;
}

/// @notice A trader's cross account and order escrow in one slot: every settlement, execution, commit, placement and
/// cancellation reads and writes both, so one cold slot instead of two.
struct Account {
    /// @notice Signed USD WAD: a realised loss may take it below zero while other cross positions carry it. Below
    /// $39.6 billion in magnitude (like the vault's cash); past it a change reverts (SafeCast) rather than wraps.
    int96 crossBalance;
    /// @notice USD with 6 decimals (1e12 WAD) the order book holds in escrow for the trader (keeper fees of open
    /// orders): owed to the trader like a cross balance (solvency counts it), but outside the account's equity, so
    /// no liquidation or loss can take it. Keeper fees are whole micro-dollars (`OrderBook` refuses others); at most
    /// $4,294 (8 trigger orders and one market order per market at the $10 fee cap are $1,360).
    uint32 escrowUsd6;
    /// @notice Bit i set = an open cross position in market i (hence at most 128 markets).
    uint128 crossMarkets;
}

/// @notice The ledgers that belong to no account, in one slot because every trade touches all three.
/// @dev Bounds: vault cash below $39.6 billion, the insurance fund below $79 billion, mark notional below $72
/// billion; a change past them reverts (SafeCast) rather than wraps.
struct Ledger {
    /// @notice The LP vault's cash, USD WAD; never negative (SPEC "Who pays a winner"): what it cannot pay becomes a
    /// profit claim (or, for bad debt, the deficit).
    int96 vaultCash;
    /// @notice USD WAD.
    uint96 insuranceFund;
    /// @notice Sum over markets of (long + short open interest) * the market's last touched price, in USD with 6
    /// decimals, rounded up per market (`PerpMath.markNotionalUsd6Up`): what the vault's cash must back.
    uint56 markNotionalUsd6;
    /// @notice Whether any profit claim or deficit is outstanding: spares every trade a read of the claim queue.
    bool owes;
}

/// @notice One unpaid profit claim in the FIFO queue.
struct Claim {
    address account;
    /// @notice USD WAD still owed.
    uint96 amount;
}

/// @notice The queue of profit claims (FIFO, paid from vault income) and the bad debt nobody could cover.
struct ClaimQueue {
    /// @notice Sum of the claims' amounts (USD WAD): a liability of the vault, subtracted from its NAV.
    uint96 total;
    /// @notice Bad debt beyond the insurance fund and vault cash (USD WAD), repaid from vault income before any
    /// claim; also subtracted from the NAV.
    uint96 deficit;
    /// @notice Id of the oldest unpaid claim.
    uint32 head;
    /// @notice Id the next claim gets.
    uint32 tail;
}

/// @notice `ProtocolParams` and the order book's address as stored, grouped by who reads them together: a
/// liquidation reads only the first slot (the reward bounds and the backing ratio), an order's close only the second
/// (the caller check and the fee split).
struct StoredProtocol {
    uint64 vaultBackingRatio;
    uint96 keeperRewardMin;
    uint96 keeperRewardMax;
    /// @notice `IOrderEngine.orderBook`: set once.
    address orderBook;
    uint64 insuranceFeeShare;
}

/// @notice Everything the engine stores, so that its libraries can take it as one storage pointer.
struct EngineState {
    uint256 marketCount;
    mapping(uint256 => Market) markets;
    mapping(address => Account) accounts;
    mapping(address => mapping(uint256 => Position)) positions;
    Ledger ledger;
    StoredProtocol protocol;
    ClaimQueue claims;
    mapping(uint256 => Claim) claimAt;
    mapping(address => uint256) claimOf;
    /// @notice Sum of the negative cross balances (USD WAD): losses booked into vault cash that no token has paid
    /// yet. Vault cash minus this is the cash that exists; only that may be paid out. `owes` is set while it is
    /// non-zero.
    uint256 receivable;
}

/// @notice Sums over a set of positions valued together: one isolated position, or a cross account.
struct Valuation {
    /// @notice Collateral + PnL - funding owed, each position at its index price.
    int256 equity;
    /// @notice The same, each position at the price it would close at (its fill price for -size).
    int256 equityAtClose;
    /// @notice `equityAtClose` counting no position with positive value: what a debit may rely on. The liquidation
    /// predicate is `equityAtClose < maintenanceMargin`.
    int256 equityNoProfit;
    uint256 initialMargin;
    /// @notice Includes the minimum keeper reward once per position.
    uint256 maintenanceMargin;
    uint256 notional;
    /// @notice Sum of PnL at the index price (rounded down per position).
    int256 pnl;
    /// @notice Sum of funding owed (rounded up per position; negative = receivable).
    int256 funding;
    uint256 count;
}
