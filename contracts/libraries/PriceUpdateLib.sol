// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPerpEngine} from "../interfaces/IPerpEngine.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {EngineState} from "./EngineState.sol";
import {BitMap} from "./BitMap.sol";

/// @title PriceUpdateLib
/// @notice The pull-oracle side of the engine's priced entry points (SPEC "Prices"): each takes a `bytes[]
/// priceUpdate`, hands it to the feed of every market whose price it reads (paying each feed's `getUpdateFee` out of
/// `msg.value`) and refunds the rest to the caller at the end. Empty data costs nothing and uses the feeds' caches,
/// so a push (Chainlink) market behaves exactly as before. Internal functions: compiled into LiquidationLogic, the
/// linked library that runs every priced entry point (the engine is near the EIP-170 limit).
library PriceUpdateLib {
    /// @notice Oldest price (seconds) a liquidation or a deleveraging may use (SPEC "Prices": liquidations <= 15 s).
    uint256 internal constant LIQUIDATION_MAX_AGE = 15;

    /// @dev Hands `data` to the feed of every market in `bits`, paying `getUpdateFee(data)` each out of `budget`
    /// (the caller's `msg.value`). Reverts `InsufficientUpdateFee(required, budget)`, with the total every feed in
    /// `bits` needs, when the budget does not cover it. `strict`: a feed that rejects the data reverts the call;
    /// otherwise (keeper batches) its cache is left as it was, its fee unspent, and the unusable price is the
    /// caller's to skip. Returns what was paid.
    function updateMarkets(EngineState storage s, uint256 bits, bytes[] calldata data, uint256 budget, bool strict)
        internal
        returns (uint256 spent)
    {
        if (data.length == 0) return 0;
        uint256 left = bits;
        while (left != 0) {
            uint256 id = BitMap.lowestBit(left);
            left &= left - 1;
            IPriceFeed feed = s.markets[id].priceFeed;
            uint256 fee = feed.getUpdateFee(data);
            if (spent + fee > budget) revert IPerpEngine.InsufficientUpdateFee(_totalFee(s, bits, data), budget);
            if (strict) {
                feed.updatePrice{value: fee}(data);
                spent += fee;
            } else {
                // A rejected update returns its value with the revert: only accepted ones are spent.
                try feed.updatePrice{value: fee}(data) {
                    spent += fee;
                } catch {}
            }
        }
    }

    /// @dev What updating every market in `bits` costs (only for the revert reason).
    function _totalFee(EngineState storage s, uint256 bits, bytes[] calldata data) private view returns (uint256 total) {
        while (bits != 0) {
            uint256 id = BitMap.lowestBit(bits);
            bits &= bits - 1;
            total += s.markets[id].priceFeed.getUpdateFee(data);
        }
    }

    /// @dev Sends `budget - spent` back to the caller (`msg.sender` of the engine call: the library runs by
    /// delegatecall). Called last: after it nothing is written, and the engine's reentrancy guard is still held.
    function refund(uint256 budget, uint256 spent) internal {
        uint256 excess = budget - spent;
        if (excess == 0) return;
        (bool ok,) = payable(msg.sender).call{value: excess}("");
        if (!ok) revert IPerpEngine.RefundFailed(msg.sender, excess);
    }

    /// @dev The markets whose prices valuing `trader`'s unit holding `marketId` reads: the whole cross set for a
    /// cross position, the market alone for an isolated one, none without a position.
    function unitMarkets(EngineState storage s, address trader, uint256 marketId) internal view returns (uint256) {
        if (s.positions[trader][marketId].size == 0) return 0;
        uint256 crossMarkets = s.accounts[trader].crossMarkets;
        return crossMarkets & BitMap.bit(marketId) != 0 ? crossMarkets : BitMap.bit(marketId);
    }
}
