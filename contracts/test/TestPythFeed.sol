// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {PythStructs} from "@pythnetwork/pyth-sdk-solidity/PythStructs.sol";
import {IPythPriceFeed, PythFeedConfig} from "../interfaces/IPythPriceFeed.sol";

/// @title TestPythFeed
/// @notice TEST ONLY. A minimal stand-in for `PythPriceFeed` + `StrictMockPyth` (built on another branch) so that the
/// order book's tests run before those land. It reads the same local update encoding
/// (`abi.encode(PythStructs.PriceFeed, uint64 prevPublishTime)`, sdk/src/prices/mockUpdate.ts) and applies the rules
/// the order book relies on: uniqueness of the first price in a window (`verifyAt`), a monotonic cache
/// (`updatePrice`), a fee per update, refund of the excess. No confidence or reference band checks.
contract TestPythFeed is IPythPriceFeed {
    bytes32 public immutable priceId;
    uint256 public immutable feePerUpdate;
    uint32 public constant MAX_CACHE_AGE = 60;
    uint32 public constant MAX_FUTURE_SKEW = 5;

    uint192 internal cachePrice;
    uint64 internal cacheTime;

    constructor(bytes32 priceId_, uint256 feePerUpdate_) {
        priceId = priceId_;
        feePerUpdate = feePerUpdate_;
    }

    function config() external view returns (PythFeedConfig memory c) {
        c.priceId = priceId;
        c.maxFutureSkew = MAX_FUTURE_SKEW;
        c.maxCacheAge = MAX_CACHE_AGE;
    }

    function pyth() external pure returns (IPyth) {
        return IPyth(address(0));
    }

    function cachedPrice() external view returns (uint256, uint256) {
        return (cachePrice, cacheTime);
    }

    function latestPrice() external view returns (uint256) {
        return freshPrice(MAX_CACHE_AGE);
    }

    function lastReportedPrice() external view returns (uint256) {
        if (cacheTime == 0) revert NoCachedPrice(priceId);
        return cachePrice;
    }

    function priceUnit() external pure returns (uint256) {
        return 1e10;
    }

    function freshPrice(uint256 maxAge) public view returns (uint256) {
        if (cacheTime == 0) revert NoCachedPrice(priceId);
        if (cacheTime + maxAge < block.timestamp) revert StalePythPrice(priceId, cacheTime, maxAge);
        return cachePrice;
    }

    function priceTime() external view returns (uint256) {
        return cacheTime;
    }

    function getUpdateFee(bytes[] calldata updateData) public view returns (uint256) {
        return feePerUpdate * updateData.length;
    }

    function updatePrice(bytes[] calldata updateData) external payable returns (uint256, uint256) {
        if (updateData.length == 0) return (freshPrice(MAX_CACHE_AGE), cacheTime);
        _takeFee(updateData);
        bool found;
        uint256 bestPrice;
        uint256 bestTime;
        for (uint256 i; i < updateData.length; ++i) {
            (PythStructs.PriceFeed memory feed,) = abi.decode(updateData[i], (PythStructs.PriceFeed, uint64));
            if (feed.id != priceId) continue;
            if (!found || feed.price.publishTime > bestTime) {
                (bestPrice, bestTime) = (_wad(feed.price), feed.price.publishTime);
                found = true;
            }
        }
        if (!found) revert PythPriceNotFound(priceId);
        _checkFuture(bestTime);
        if (bestTime < cacheTime) revert PythPriceOlderThanCache(priceId, bestTime, cacheTime);
        _store(bestPrice, bestTime);
        return (bestPrice, bestTime);
    }

    function verifyAt(bytes[] calldata updateData, uint64 minPublishTime, uint64 maxPublishTime)
        external
        payable
        returns (uint256, uint256)
    {
        _takeFee(updateData);
        for (uint256 i; i < updateData.length; ++i) {
            (PythStructs.PriceFeed memory feed, uint64 prev) =
                abi.decode(updateData[i], (PythStructs.PriceFeed, uint64));
            if (feed.id != priceId) continue;
            uint256 t = feed.price.publishTime;
            // parsePriceFeedUpdatesUnique: only the first update at or after minPublishTime qualifies.
            if (prev < minPublishTime && minPublishTime <= t && t <= maxPublishTime) {
                _checkFuture(t);
                uint256 p = _wad(feed.price);
                if (t > cacheTime) _store(p, t);
                return (p, t);
            }
        }
        revert PythPriceNotFound(priceId);
    }

    function _takeFee(bytes[] calldata updateData) internal {
        uint256 fee = getUpdateFee(updateData);
        if (msg.value < fee) revert InsufficientPythFee(fee, msg.value);
        if (msg.value > fee) {
            (bool ok,) = msg.sender.call{value: msg.value - fee}("");
            if (!ok) revert RefundFailed(msg.sender, msg.value - fee);
        }
    }

    function _checkFuture(uint256 t) internal view {
        if (t > block.timestamp + MAX_FUTURE_SKEW) revert PythPriceInFuture(priceId, t, block.timestamp, MAX_FUTURE_SKEW);
    }

    function _wad(PythStructs.Price memory p) internal view returns (uint256) {
        if (p.price <= 0) revert NonPositivePythPrice(priceId, p.price);
        if (p.expo > 0 || p.expo < -18) revert PythExponentUnsupported(priceId, p.expo);
        return uint256(uint64(p.price)) * 10 ** uint256(int256(18 + p.expo));
    }

    function _store(uint256 p, uint256 t) internal {
        cachePrice = uint192(p);
        cacheTime = uint64(t);
        emit PriceCached(priceId, p, t);
    }
}
