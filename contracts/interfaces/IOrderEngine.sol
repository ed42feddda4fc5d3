// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Position} from "./IPerpEngine.sol";

/// @title IOrderEngine
/// @notice What the engine exposes to its order book (SPEC "Orders"). Only the order book set once by the owner may
/// call the state-changing hooks; traders have no atomic trading path.
interface IOrderEngine {
    /// @notice Caller is not the engine's order book.
    error NotOrderBook(address caller);
    error OrderBookAlreadySet();
    /// @notice A Pyth adapter hands `acceptPrice` to one order book (`IPythPriceFeed.orderBook`): a listed or
    /// replacing adapter must name the engine's book, zero on an engine without one (`itsBook` would write the
    /// prices the engine reads).
    error PriceFeedOfAnotherBook(address feed, address itsBook);
    /// @notice A Pyth adapter naming the engine's book takes `acceptPrice` from another engine than this one (it was
    /// built before the book existed, or for another deployment): the engine's priced calls could not update it.
    error PriceFeedOfAnotherEngine(address feed, address itsEngine);
    /// @notice `trade()` is closed for good once the order book is set: every trade goes through an order.
    error AtomicTradingClosed(address orderBook);
    /// @notice Releasing more escrow than the trader has locked.
    error InsufficientEscrow(address trader, uint256 escrowed, uint256 amount);

    event OrderBookSet(address indexed orderBook);
    event EscrowLocked(address indexed trader, uint256 amount, uint256 escrowed);
    event EscrowReleased(address indexed trader, address indexed to, uint256 amount, uint256 escrowed);

    /// @notice Sets the order book; once. `InvalidParameter("orderBook")` unless its `engine()` is this engine (the
    /// book's Pyth adapters take prices from the book's engine: `PythPriceFeed.engine`).
    function setOrderBook(address orderBook) external;

    function orderBook() external view returns (address);

    /// @notice Executes a trader's order at `price` (WAD), a price the order book verified for `marketId`; every
    /// other market the check touches is valued at its adapter's `latestPrice()`. Same rules, effects, events and
    /// errors as v1's `trade` (the trade path is unchanged), with `sizeDelta != 0`. Then moves `keeperFee` of the
    /// trader's escrow to `keeper`'s cross balance (as `releaseEscrow`, in the same call).
    function executeOrder(
        address trader,
        uint256 marketId,
        int256 sizeDelta,
        uint256 acceptablePrice,
        uint256 marginDelta,
        bool isolated,
        uint256 price,
        uint256 keeperFee,
        address keeper
    ) external;

    /// @notice Moves `amount` (USD WAD) of `trader`'s free cross balance into order escrow. Reverts with
    /// `InsufficientCrossBalance` or `AccountLiquidatable` like a withdrawal (SPEC invariant 12).
    function lockEscrow(address trader, uint256 amount) external;

    /// @notice Moves `amount` of `trader`'s escrow to `to`'s cross balance (the trader on a refund, the keeper or
    /// canceller on a fee).
    function releaseEscrow(address trader, uint256 amount, address to) external;

    /// @notice USD WAD the order book holds in escrow for `trader`.
    function orderEscrow(address trader) external view returns (uint256);

    /// @notice The price feed of `marketId` (`UnknownMarket` if none): what the order book verifies prices with, read
    /// without `getMarket`'s parameters and state.
    function priceFeedOf(uint256 marketId) external view returns (address);

    /// @notice Counter that increases each time the position in `marketId` is closed to zero (trade, liquidation,
    /// ADL): reduce-only orders placed at an older epoch are void (SPEC invariant 10) without a loop over orders.
    function positionEpoch(address trader, uint256 marketId) external view returns (uint256);

    /// @notice `getPosition(trader, marketId)` and `getAccount(trader)`'s cross-market bits in one call: what a
    /// reduce-only order reads before it executes.
    function positionAndCrossMarkets(address trader, uint256 marketId)
        external
        view
        returns (Position memory position, uint256 crossMarkets);
}
