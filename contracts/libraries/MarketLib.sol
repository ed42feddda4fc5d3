// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IPerpEngine, MarketParams, MarketState} from "../interfaces/IPerpEngine.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {EngineState, Market} from "./EngineState.sol";
import {FixedPointMath as FPM} from "./FixedPointMath.sol";
import {PerpMath} from "./PerpMath.sol";

/// @title MarketLib
/// @notice Market state: lookup, skew, funding accrual and the rate, open interest, and the write-back of a
/// touched market with its mark-notional change.
/// Internal: compiled into each user. One of the five concerns v1's `AccountingLib` mixed.
library MarketLib {
    using SafeCast for uint256;
    using SafeCast for int256;

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
    /// A last touch at or after the block time accrues nothing (issue 12): the subtraction can never underflow, so a
    /// market whose funding time is ahead of the chain's (a reorg or a clock step) can still be valued and liquidated.
    function accrueInMemory(MarketState memory state, uint256 price) internal view {
        uint256 last = state.lastFundingTime;
        if (last >= block.timestamp) return;
        uint256 elapsed;
        // unchecked: last < block.timestamp just above.
        unchecked {
            elapsed = block.timestamp - last;
        }
        state.fundingIndex =
            PerpMath.accruedFundingIndex(state.fundingIndex, state.fundingRatePerDay, price, elapsed).toInt128();
        state.lastFundingTime = uint64(block.timestamp);
    }

    /// @dev `feed.freshPrice(maxAge)`, or `feed.latestPrice()` for `maxAge == 0`.
    function priceOf(IPriceFeed feed, uint256 maxAge) internal view returns (uint256) {
        return maxAge == 0 ? feed.latestPrice() : feed.freshPrice(maxAge);
    }

    function fundingRate(MarketParams storage params, MarketState memory state) internal view returns (int256) {
        return PerpMath.fundingRatePerDay(skew(state), params.skewScale, params.fundingFactor, params.maxFundingRatePerDay);
    }

    /// @dev Writes `state` back after a change of skew or index: the new rate and the price it was touched at.
    /// Returns the change of the market's mark notional (USD, 6 decimals) for the caller to book on the ledger.
    function storeState(Market storage m, MarketState memory state, uint256 price) internal returns (int256) {
        MarketState storage stored = m.state;
        uint256 markBefore = PerpMath.markNotionalUsd6Up(
            uint256(stored.longOpenInterest) + stored.shortOpenInterest, stored.lastPrice
        );
        state.fundingRatePerDay = fundingRate(m.params, state).toInt64();
        state.lastPrice = price.toUint128();
        m.state = state;
        uint256 markAfter =
            PerpMath.markNotionalUsd6Up(uint256(state.longOpenInterest) + state.shortOpenInterest, price);
        return markAfter.toInt256() - markBefore.toInt256();
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
}
