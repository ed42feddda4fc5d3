// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {PythErrors} from "@pythnetwork/pyth-sdk-solidity/PythErrors.sol";
import {PythStructs} from "@pythnetwork/pyth-sdk-solidity/PythStructs.sol";
import {IPythErrors, IPythPriceFeed} from "../interfaces/IPythPriceFeed.sol";

/// @title PythParseLib
/// @notice One feed's price out of Pyth update data, the way the adapter (`updatePrice`, `verifyAt`), the order book
/// and the engine's priced entry points (both pay Pyth themselves and hand the result to the adapter: one value
/// transfer instead of two) ask for it. Internal functions: compiled into each caller.
library PythParseLib {
    /// @dev Pyth's price of `priceId` in `data` (newest, or with `unique` the unique first at `minPublishTime`),
    /// paying exactly `fee`. Pyth is asked for the widest range and the caller applies the time bounds itself, so
    /// that a refused price names the bound that failed. Pyth's "not found" errors, and a result that is not exactly
    /// the requested feed, become `PythPriceNotFound(priceId)`; any other Pyth error (invalid data, fee) propagates
    /// unchanged. `strict` false: returns `ok` false instead of reverting (a keeper batch skips the order); `paid`
    /// says whether Pyth kept `fee` (it accepted the call, whatever it returned).
    function parse(
        IPyth pyth,
        bytes32 priceId,
        bytes[] calldata data,
        uint256 fee,
        bool unique,
        uint64 minPublishTime,
        bool strict
    ) internal returns (bool ok, bool paid, PythStructs.Price memory price) {
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = priceId;
        // One call site for both functions (same arguments): the order book is near the EIP-170 limit.
        (bool called, bytes memory reason) = address(pyth).call{value: fee}(
            abi.encodeWithSelector(
                unique ? IPyth.parsePriceFeedUpdatesUnique.selector : IPyth.parsePriceFeedUpdates.selector,
                data,
                ids,
                unique ? minPublishTime : 0,
                type(uint64).max
            )
        );
        bool refused = !called;
        // A conforming Pyth returns exactly the requested feed: `abi.encode(PriceFeed[1])`, 11 words (offset, length,
        // id, price, emaPrice: static structs are inline). Read in place, each field range-checked, instead of a
        // generic decoder of PriceFeed[] (~600 bytes of the order book's code). Anything else is "not found".
        if (called && reason.length == 352) {
            uint256 offset;
            uint256 length;
            bytes32 id;
            int256 p;
            uint256 conf;
            int256 expo;
            uint256 publishTime;
            assembly ("memory-safe") {
                offset := mload(add(reason, 32))
                length := mload(add(reason, 64))
                id := mload(add(reason, 96))
                p := mload(add(reason, 128))
                conf := mload(add(reason, 160))
                expo := mload(add(reason, 192))
                publishTime := mload(add(reason, 224))
            }
            if (
                offset == 32 && length == 1 && id == priceId && p == int64(p) && conf == uint64(conf)
                    && expo == int32(expo)
            ) {
                return (true, true, PythStructs.Price(int64(p), uint64(conf), int32(expo), publishTime));
            }
        }
        if (!strict) return (false, called, price);
        bytes4 selector = reason.length >= 4 ? bytes4(reason) : bytes4(0);
        if (
            !refused || selector == PythErrors.PriceFeedNotFoundWithinRange.selector
                || selector == PythErrors.PriceFeedNotFound.selector
        ) revert IPythErrors.PythPriceNotFound(priceId);
        assembly ("memory-safe") {
            revert(add(reason, 32), mload(reason))
        }
    }

    /// @dev The book's and the engine's update of a Pyth adapter: `parse` (paying Pyth `fee`), then the adapter's
    /// `acceptPrice` with the same rule (`window`: the unique first price from `minPublishTime`, at most
    /// `maxPublishTime`; otherwise at least as new as the cache). `strict`: a refusal reverts with its reason
    /// (Pyth's, mapped as in `parse`, or the adapter's); otherwise `ok` is false. `paid`: Pyth kept `fee` (it
    /// answered), so a price the adapter refused has cost it.
    function parseAndAccept(
        IPythPriceFeed feed,
        IPyth pyth,
        bytes32 priceId,
        bytes[] calldata data,
        uint256 fee,
        bool window,
        uint64 minPublishTime,
        uint64 maxPublishTime,
        bool strict
    ) internal returns (bool, bool, uint256, uint256) {
        (bool parsed, bool paid, PythStructs.Price memory price) =
            parse(pyth, priceId, data, fee, window, minPublishTime, strict);
        if (!parsed) return (false, paid, 0, 0);
        try feed.acceptPrice(price, window, minPublishTime, maxPublishTime) returns (uint256 pr, uint256 t) {
            return (true, true, pr, t);
        } catch (bytes memory reason) {
            if (!strict) return (false, true, 0, 0);
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
    }
}
