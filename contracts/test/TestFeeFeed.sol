// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPriceFeed} from "../interfaces/IPriceFeed.sol";

/// @title TestFeeFeed
/// @notice Test-only pull feed: a settable fee per update entry and a price cache that `updatePrice` raises from
/// `abi.encode(uint256 priceWad, uint64 publishTime)` (the first entry). Lets engine tests check fee payment,
/// refunds and freshness without the Pyth adapter. Not for deployment.
contract TestFeeFeed is IPriceFeed {
    // Only IOracleErrors (inherited): the SDK explains every custom error of the project's contracts.

    uint256 public feePerEntry;
    uint256 public price;
    uint256 public publishTime;
    /// @notice The cache's staleness bound for `latestPrice` (the adapter's maxCacheAge).
    uint256 public maxCacheAge = 3600;
    /// @notice When set, `updatePrice` with data reverts (an update the feed rejects).
    bool public rejectUpdates;
    uint256 public updates;

    constructor(uint256 feePerEntry_, uint256 price_) {
        feePerEntry = feePerEntry_;
        price = price_;
        publishTime = block.timestamp;
    }

    function setFee(uint256 fee) external {
        feePerEntry = fee;
    }

    function setPrice(uint256 price_, uint256 publishTime_) external {
        price = price_;
        publishTime = publishTime_;
    }

    function setRejectUpdates(bool reject) external {
        rejectUpdates = reject;
    }

    function latestPrice() external view returns (uint256) {
        return _within(maxCacheAge);
    }

    function lastReportedPrice() external view returns (uint256) {
        return price;
    }

    function priceUnit() external pure returns (uint256) {
        return 1e10;
    }

    function freshPrice(uint256 maxAge) external view returns (uint256) {
        return _within(maxAge);
    }

    function priceTime() external view returns (uint256) {
        return publishTime;
    }

    function getUpdateFee(bytes[] calldata updateData) public view returns (uint256) {
        return feePerEntry * updateData.length;
    }

    function updatePrice(bytes[] calldata updateData) external payable returns (uint256, uint256) {
        if (updateData.length == 0) return (price, publishTime);
        // A rejected update, as the Pyth adapter rejects an invalid price.
        if (rejectUpdates) revert InvalidOraclePrice(address(this), 0);
        uint256 fee = getUpdateFee(updateData);
        require(msg.value >= fee, "TestFeeFeed: fee");
        (uint256 newPrice, uint64 newTime) = abi.decode(updateData[0], (uint256, uint64));
        if (newTime >= publishTime) {
            price = newPrice;
            publishTime = newTime;
        }
        ++updates;
        if (msg.value > fee) {
            (bool ok,) = msg.sender.call{value: msg.value - fee}("");
            require(ok);
        }
        return (price, publishTime);
    }

    function _within(uint256 maxAge) private view returns (uint256) {
        if (publishTime > block.timestamp || block.timestamp - publishTime > maxAge) {
            revert StaleOraclePrice(address(this), publishTime, maxAge);
        }
        return price;
    }
}
