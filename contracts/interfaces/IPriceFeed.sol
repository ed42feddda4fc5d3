// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Errors an oracle adapter raises. The engine inherits them so that they decode from its ABI too.
interface IOracleErrors {
    /// @notice The feed answered a non-positive price or one outside its `(minAnswer, maxAnswer)` band.
    error InvalidOraclePrice(address feed, int256 answer);
    /// @notice The feed's last update is older than its heartbeat (or in the future).
    error StaleOraclePrice(address feed, uint256 updatedAt, uint256 heartbeat);
    /// @notice The L2 sequencer-uptime feed reports the sequencer as down.
    error SequencerDown(address sequencerFeed);
    /// @notice The sequencer came back up less than `gracePeriod` seconds ago.
    error SequencerGracePeriodNotOver(uint256 upSince, uint256 gracePeriod);
    /// @notice The feed reports more than 18 decimals, which the WAD normalisation cannot express.
    error UnsupportedFeedDecimals(uint8 decimals);
    /// @notice An adapter was configured with a zero heartbeat or an empty answer band.
    error InvalidOracleConfig();
}

/// @title IPriceFeed
/// @notice Index price source of a market. Prices are WAD (18 decimals) USD per unit of the base asset.
interface IPriceFeed is IOracleErrors {
    /// @notice The current index price, reverting with an `IOracleErrors` error whenever it cannot be trusted
    /// (non-positive, outside the feed's band, stale, sequencer down or in its grace period).
    function latestPrice() external view returns (uint256 priceWad);

    /// @notice The last reported answer normalised to WAD, ignoring staleness and the sequencer.
    /// @dev Used only where a value is better than a revert (LP vault NAV). Reverts if the answer itself is invalid.
    function lastReportedPrice() external view returns (uint256 priceWad);

    /// @notice The smallest price step the feed can express, in WAD (1e10 for an 8-decimal feed).
    function priceUnit() external view returns (uint256);

    /// @notice The current price if it was published at most `maxAge` seconds ago (liquidations: 15 s), else a
    /// revert. A push adapter applies its own heartbeat instead (it has no finer notion of age).
    function freshPrice(uint256 maxAge) external view returns (uint256 priceWad);

    /// @notice Publish time of the price `latestPrice()` returns (push adapter: the answer's `updatedAt`).
    function priceTime() external view returns (uint256);

    /// @notice The fee `updatePrice(updateData)` needs in `msg.value` (0 for a push adapter or empty data).
    function getUpdateFee(bytes[] calldata updateData) external view returns (uint256);

    /// @notice Verifies the newest price of this feed in `updateData` and raises the adapter's cache to it; the
    /// price must be at least as new as the cache (SPEC "Prices": no caller picks an older price than one used).
    /// Empty data is a no-op that returns the current price. Excess `msg.value` is refunded to `msg.sender`.
    /// A push adapter ignores the data and returns `latestPrice()`.
    function updatePrice(bytes[] calldata updateData) external payable returns (uint256 priceWad, uint256 publishTime);
}
