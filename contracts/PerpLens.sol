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

    /// @notice The liquidatable and near-liquidation positions of one page of `(traders[i], marketIds[i])` pairs:
    /// health is computed here and the healthy majority never leaves the node. A position is returned when the engine
    /// calls it liquidatable (`positionHealth(...).liquidatable`, the predicate `liquidate` applies) or when its
    /// equity at close is within `nearMarginWad x notional` of its maintenance margin (a cross position carries its
    /// account's health, so every cross position of a flagged account is returned). A price move of less than
    /// `nearMarginWad / (1 + maintenance margin ratio)` cannot make a position this call left out liquidatable.
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
        flagged = new PositionView[](length);
        uint256 kept;
        for (uint256 i; i < length; ++i) {
            Position memory position = engine.getPosition(traders[i], marketIds[i]);
            if (position.size == 0) continue;
            ++open;
            Health memory health;
            try engine.positionHealth(traders[i], marketIds[i]) returns (Health memory h) {
                health = h;
            } catch {
                ++invalid;
                continue;
            }
            if (!health.liquidatable && !_near(health, nearMarginWad)) continue;
            (, uint256 crossMarkets) = engine.getAccount(traders[i]);
            flagged[kept++] = PositionView({
                trader: traders[i],
                marketId: marketIds[i],
                position: position,
                isolated: crossMarkets & (1 << marketIds[i]) == 0,
                health: health,
                healthValid: true
            });
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
