// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPerpEngine, MarketParams, MarketState, Position, Health} from "./interfaces/IPerpEngine.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";

/// @title PerpLens
/// @notice Read-only batch views for clients and keepers: many positions' health, or every market with its index
/// price, in one `eth_call`. Holds no state and no privileges; any number can be deployed against an engine.
contract PerpLens {
    IPerpEngine public immutable engine;

    struct MarketView {
        uint256 marketId;
        IPriceFeed priceFeed;
        bool reduceOnly;
        MarketParams params;
        MarketState state;
        /// @notice The oracle's price now; 0 when `priceValid` is false.
        uint256 indexPrice;
        /// @notice False when the oracle reverts (stale, out of band, sequencer down).
        bool priceValid;
    }

    struct PositionView {
        address trader;
        uint256 marketId;
        Position position;
        bool isolated;
        /// @notice The position's health (the whole account's for a cross position); zero when `healthValid` is
        /// false.
        Health health;
        /// @notice False when there is no position or a price the health needs is unavailable.
        bool healthValid;
    }

    /// @notice Most pairs one `scan` call reads: bounds the call's gas (about 35k a position) under the usual
    /// `eth_call` caps.
    uint256 public constant MAX_SCAN_PAGE = 1_000;

    /// @notice A `scan` page longer than `MAX_SCAN_PAGE`.
    error ScanPageTooLarge(uint256 length, uint256 max);

    constructor(IPerpEngine engine_) {
        engine = engine_;
    }

    /// @notice Every listed market with its parameters, state and current index price.
    function markets() external view returns (MarketView[] memory views) {
        uint256 count = engine.marketCount();
        views = new MarketView[](count);
        for (uint256 id; id < count; ++id) {
            MarketView memory view_ = views[id];
            view_.marketId = id;
            (view_.priceFeed, view_.reduceOnly, view_.params, view_.state) = engine.getMarket(id);
            try engine.indexPrice(id) returns (uint256 price) {
                view_.indexPrice = price;
                view_.priceValid = true;
            } catch {}
        }
    }

    /// @notice Position, mode and health of each `(traders[i], marketIds[i])` pair; the arrays must be equally long.
    /// @dev The caller bounds the batch by the `eth_call` gas it can afford (about 40k gas per isolated position).
    function positions(address[] calldata traders, uint256[] calldata marketIds)
        external
        view
        returns (PositionView[] memory views)
    {
        if (traders.length != marketIds.length) revert IPerpEngine.InvalidBatch(traders.length, marketIds.length);
        views = new PositionView[](traders.length);
        for (uint256 i; i < traders.length; ++i) {
            PositionView memory view_ = views[i];
            view_.trader = traders[i];
            view_.marketId = marketIds[i];
            view_.position = engine.getPosition(traders[i], marketIds[i]);
            if (view_.position.size == 0) continue;
            (, uint256 crossMarkets) = engine.getAccount(traders[i]);
            view_.isolated = crossMarkets & (1 << marketIds[i]) == 0;
            try engine.positionHealth(traders[i], marketIds[i]) returns (Health memory health) {
                view_.health = health;
                view_.healthValid = true;
            } catch {}
        }
    }

    /// @notice The stored position (size, entry, funding index, margin, epoch) of each `(traders[i], marketIds[i])`
    /// pair, without health: what an order keeper needs to tell a reduce-only order's position apart from a closed,
    /// flipped or liquidated one (SPEC invariant 10), for many orders in one `eth_call`.
    /// @dev About 5k gas a pair (two cold slots); the caller pages by its `eth_call` gas cap, at most `MAX_SCAN_PAGE`.
    function positionStates(address[] calldata traders, uint256[] calldata marketIds)
        external
        view
        returns (Position[] memory states)
    {
        if (traders.length != marketIds.length) revert IPerpEngine.InvalidBatch(traders.length, marketIds.length);
        if (traders.length > MAX_SCAN_PAGE) revert ScanPageTooLarge(traders.length, MAX_SCAN_PAGE);
        states = new Position[](traders.length);
        for (uint256 i; i < traders.length; ++i) {
            states[i] = engine.getPosition(traders[i], marketIds[i]);
        }
    }

    /// @notice The liquidatable and near-liquidation positions of one page of `(traders[i], marketIds[i])` pairs:
    /// health is computed here and the healthy majority never leaves the node. A position is returned when the engine
    /// calls it liquidatable (`positionHealth(...).liquidatable`, the predicate `liquidate` applies) or when its
    /// equity at close is within `nearMarginWad x notional` of its maintenance margin (a cross position carries its
    /// account's health, so every cross position of a flagged account is returned). A price move of less than
    /// `nearMarginWad / (1 + maintenance margin ratio)` cannot make a position this call left out liquidatable.
    /// @dev Cheapest with the pairs grouped by trader: a cross account is valued once for its consecutive pairs
    /// (`crossAccountHealth`, what `positionHealth` returns for each of them), and its mode is read once. A healthy
    /// pair costs one `positionHealth` (no position read: only a flagged one is returned with its position), and
    /// the memory its call used is given back.
    /// @return open Pairs that hold a position.
    /// @return invalid Open positions whose health needs a price that is unavailable (left out of `flagged`).
    /// @return flagged The liquidatable and near positions, in page order.
    function scan(address[] calldata traders, uint256[] calldata marketIds, uint256 nearMarginWad)
        external
        view
        returns (uint256 open, uint256 invalid, PositionView[] memory flagged)
    {
        uint256 length = traders.length;
        if (length != marketIds.length) revert IPerpEngine.InvalidBatch(length, marketIds.length);
        if (length > MAX_SCAN_PAGE) revert ScanPageTooLarge(length, MAX_SCAN_PAGE);
        // Room for `length` pointers, not `length` zeroed views: only the flagged entries are ever written.
        assembly ("memory-safe") {
            flagged := mload(0x40)
            mstore(flagged, length)
            mstore(0x40, add(flagged, mul(add(length, 1), 0x20)))
        }
        uint256 kept;
        // The account of the last trader read: its cross markets and, once needed, its cross health.
        address account;
        uint256 crossMarkets;
        uint256 crossState; // 0 not read yet, 1 valid (`crossHealth`), 2 unavailable
        Health memory crossHealth;
        for (uint256 i; i < length; ++i) {
            address trader = traders[i];
            uint256 marketId = marketIds[i];
            uint256 mark;
            assembly ("memory-safe") {
                mark := mload(0x40)
            }
            // Whether this iteration allocated something a later one reads (a new cross health, a flagged view).
            bool keep;
            if (trader != account) {
                (, crossMarkets) = engine.getAccount(trader);
                account = trader;
                crossState = 0;
            }
            bool cross = marketId < 256 && crossMarkets & (1 << marketId) != 0;
            Health memory health;
            if (cross) {
                // A cross bit is an open position; its health is the account's (positionHealth's own answer).
                ++open;
                if (crossState == 0) {
                    try engine.crossAccountHealth(trader) returns (Health memory h) {
                        crossHealth = h;
                        crossState = 1;
                        keep = true;
                    } catch {
                        crossState = 2;
                    }
                }
                if (crossState == 2) {
                    ++invalid;
                    assembly ("memory-safe") {
                        mstore(0x40, mark)
                    }
                    continue;
                }
                health = crossHealth;
            } else {
                try engine.positionHealth(trader, marketId) returns (Health memory h) {
                    health = h;
                    ++open;
                } catch {
                    // No position, an unknown market, or a price that is unavailable: only the last counts.
                    if (engine.getPosition(trader, marketId).size != 0) {
                        ++open;
                        ++invalid;
                    }
                    assembly ("memory-safe") {
                        mstore(0x40, mark)
                    }
                    continue;
                }
            }
            if (health.liquidatable || _near(health, nearMarginWad)) {
                flagged[kept++] = PositionView({
                    trader: trader,
                    marketId: marketId,
                    position: engine.getPosition(trader, marketId),
                    isolated: !cross,
                    health: health,
                    healthValid: true
                });
                keep = true;
            }
            if (!keep) {
                assembly ("memory-safe") {
                    mstore(0x40, mark)
                }
            }
        }
        // Shrink to the flagged entries: the tail was never written.
        assembly ("memory-safe") {
            mstore(flagged, kept)
        }
    }

    /// @dev Equity at close below maintenance margin plus `nearMarginWad` of the notional (rounded up: a
    /// borderline position is flagged, never missed).
    function _near(Health memory health, uint256 nearMarginWad) private pure returns (bool) {
        uint256 cushion = (health.notional * nearMarginWad + 1e18 - 1) / 1e18;
        return health.equityAtClose < int256(health.maintenanceMargin + cushion);
    }
}
