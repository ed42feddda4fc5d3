// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";

/// @title ChainlinkPriceFeed
/// @notice Adapts one Chainlink `AggregatorV3Interface` feed to the protocol's WAD price.
/// @dev Every setting is immutable: changing a heartbeat or band means deploying a new adapter and pointing the
/// market at it (a public, timelocked owner action). Immutables also keep a price read to two calls and one
/// storage read, which matters when a cross account values up to 16 markets in one transaction.
///
/// Assumptions, in plain words:
/// - the feed is a Chainlink proxy (or behaves like one): `updatedAt` is the time of the answer, and an answer
///   pinned to the aggregator's `minAnswer`/`maxAnswer` means the real price is outside the band; the deployer
///   copies that band into `minAnswer`/`maxAnswer` here, and answers must lie strictly inside it;
/// - on an L2, `sequencerUptimeFeed` is Chainlink's uptime feed for that chain (answer 0 = up, 1 = down,
///   `startedAt` = time of the last status change); pass address(0) on L1.
contract ChainlinkPriceFeed is IPriceFeed {
    AggregatorV3Interface public immutable feed;
    AggregatorV3Interface public immutable sequencerUptimeFeed;
    /// @notice Maximum age of an answer, in seconds.
    uint256 public immutable heartbeat;
    /// @notice Seconds after the sequencer comes back up during which prices are not trusted.
    uint256 public immutable gracePeriod;
    int256 public immutable minAnswer;
    int256 public immutable maxAnswer;
    /// @inheritdoc IPriceFeed
    uint256 public immutable priceUnit;

    constructor(
        AggregatorV3Interface feed_,
        uint256 heartbeat_,
        int256 minAnswer_,
        int256 maxAnswer_,
        AggregatorV3Interface sequencerUptimeFeed_,
        uint256 gracePeriod_
    ) {
        if (heartbeat_ == 0 || minAnswer_ < 0 || maxAnswer_ <= minAnswer_ + 1) revert InvalidOracleConfig();
        uint8 decimals = feed_.decimals();
        if (decimals > 18) revert UnsupportedFeedDecimals(decimals);
        feed = feed_;
        heartbeat = heartbeat_;
        minAnswer = minAnswer_;
        maxAnswer = maxAnswer_;
        sequencerUptimeFeed = sequencerUptimeFeed_;
        gracePeriod = gracePeriod_;
        priceUnit = 10 ** (18 - decimals);
    }

    /// @inheritdoc IPriceFeed
    function latestPrice() external view returns (uint256) {
        return _latestPrice();
    }

    function _latestPrice() private view returns (uint256) {
        if (address(sequencerUptimeFeed) != address(0)) _checkSequencer();
        (, int256 answer,, uint256 updatedAt,) = feed.latestRoundData();
        uint256 price = _normalise(answer);
        if (updatedAt > block.timestamp || block.timestamp - updatedAt > heartbeat) {
            revert StaleOraclePrice(address(feed), updatedAt, heartbeat);
        }
        return price;
    }

    /// @inheritdoc IPriceFeed
    function freshPrice(uint256) external view returns (uint256) {
        // Internal, not `this.latestPrice()`: liquidations read every price this way, an external self-call each.
        return _latestPrice();
    }

    /// @inheritdoc IPriceFeed
    function priceTime() external view returns (uint256 updatedAt) {
        (,,, updatedAt,) = feed.latestRoundData();
    }

    /// @inheritdoc IPriceFeed
    function getUpdateFee(bytes[] calldata) external pure returns (uint256) {
        return 0;
    }

    /// @inheritdoc IPriceFeed
    /// @dev A push feed has nothing to verify; value sent by mistake goes back to the caller.
    function updatePrice(bytes[] calldata) external payable returns (uint256 priceWad, uint256 publishTime) {
        priceWad = _latestPrice();
        (,,, publishTime,) = feed.latestRoundData();
        if (msg.value > 0) {
            (bool ok,) = msg.sender.call{value: msg.value}("");
            if (!ok) revert InvalidOracleConfig();
        }
    }

    /// @inheritdoc IPriceFeed
    function lastReportedPrice() external view returns (uint256) {
        (, int256 answer,,,) = feed.latestRoundData();
        return _normalise(answer);
    }

    function _normalise(int256 answer) private view returns (uint256) {
        // minAnswer >= 0, so a strictly-inside answer is also strictly positive.
        if (answer <= minAnswer || answer >= maxAnswer) revert InvalidOraclePrice(address(feed), answer);
        return uint256(answer) * priceUnit;
    }

    function _checkSequencer() private view {
        (, int256 status, uint256 startedAt,,) = sequencerUptimeFeed.latestRoundData();
        if (status != 0) revert SequencerDown(address(sequencerUptimeFeed));
        // startedAt == 0 is how an uninitialised uptime feed answers: treat it as not yet safe.
        if (startedAt == 0 || block.timestamp - startedAt <= gracePeriod) {
            revert SequencerGracePeriodNotOver(startedAt, gracePeriod);
        }
    }
}
