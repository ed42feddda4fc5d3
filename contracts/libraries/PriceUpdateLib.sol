// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPerpEngine} from "../interfaces/IPerpEngine.sol";
import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {IPythPriceFeed} from "../interfaces/IPythPriceFeed.sol";
import {EngineState} from "./EngineState.sol";
import {BitMap} from "./BitMap.sol";
import {PythParseLib} from "./PythParseLib.sol";

/// @title PriceUpdateLib
/// @notice The pull-oracle side of the engine's priced entry points (SPEC "Prices"): each takes a `bytes[]
/// priceUpdate`, updates the price of every market it reads with it (paying the fee out of `msg.value`) and refunds
/// the rest to the caller at the end. A Pyth adapter of the engine's own order book (which takes prices from that
/// book's engine: `PythPriceFeed.engine`) is updated the way the book does it: the engine has Pyth parse the data,
/// pays Pyth itself and hands the price to the adapter's `acceptPrice` (one value transfer per update instead of
/// two). Any other feed gets the data through its `updatePrice`. Empty data costs nothing and uses the feeds'
/// caches, so a push (Chainlink) market behaves exactly as before. Internal functions: compiled into
/// LiquidationLogic, the linked library that runs every priced entry point (the engine is near the EIP-170 limit).
library PriceUpdateLib {
    /// @notice Oldest price (seconds) a liquidation or a deleveraging may use (SPEC "Prices": liquidations <= 15 s).
    uint256 internal constant LIQUIDATION_MAX_AGE = 15;

    /// @dev Updates the price of every market in `bits` with `data`, paying each update's fee (Pyth's
    /// `getUpdateFee(data)`) out of `budget` (the caller's `msg.value`). Reverts `InsufficientUpdateFee(required,
    /// budget)`, with the total every feed in `bits` needs, when the budget does not cover it. `strict`: a price
    /// that is refused reverts the call with the refusal (Pyth's or the adapter's); otherwise (keeper batches) the
    /// feed's cache is left as it was and the unusable price is the caller's to skip. A refused update's fee is
    /// unspent when Pyth refused the data (its revert returned the value), spent when Pyth parsed it and the adapter
    /// refused the price (Pyth kept it). Returns what was paid.
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
            (IPyth pyth, bytes32 priceId) = _pythOfBook(feed);
            uint256 fee = address(pyth) != address(0) ? pyth.getUpdateFee(data) : feed.getUpdateFee(data);
            if (spent + fee > budget) revert IPerpEngine.InsufficientUpdateFee(_totalFee(s, bits, data), budget);
            if (address(pyth) != address(0)) {
                (, bool paid,,) = PythParseLib.parseAndAccept(
                    IPythPriceFeed(address(feed)), pyth, priceId, data, fee, false, 0, 0, strict
                );
                if (paid) spent += fee;
            } else if (strict) {
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

    /// @dev The Pyth contract and price id of `feed` when it is a Pyth adapter of an order book; zero for any other
    /// feed (a push adapter, a Pyth adapter of no book). A listed adapter answering `pythRequest` names the engine's
    /// book or none and, naming the book, takes `acceptPrice` from this engine (`MarketAdminLogic._checkBook`, with
    /// the same probe), so the engine's book slot need not be read here.
    function _pythOfBook(IPriceFeed feed) private view returns (IPyth pyth, bytes32 priceId) {
        try IPythPriceFeed(address(feed)).pythRequest() returns (IPyth p, bytes32 id, address itsBook) {
            if (itsBook != address(0)) return (p, id);
        } catch {}
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
