// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPythPriceFeed} from "../interfaces/IPythPriceFeed.sol";

/// @notice Test-only caller of a `PythPriceFeed`, to exercise its refund path: it can refuse refunds (to reach
/// `RefundFailed`) or re-enter the feed from its `receive` (to show the reentrancy guard), recording the inner revert.
contract PythFeedCaller {
    enum Mode {
        Accept,
        Reject,
        Reenter
    }

    IPythPriceFeed public immutable feed;
    Mode public mode;
    bytes public lastReentryRevert;
    bytes[] internal _reentryData;

    constructor(IPythPriceFeed feed_) {
        feed = feed_;
    }

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function callUpdate(bytes[] calldata data) external payable returns (uint256, uint256) {
        _reentryData = data;
        return feed.updatePrice{value: msg.value}(data);
    }

    function callVerify(bytes[] calldata data, uint64 minPublishTime, uint64 maxPublishTime)
        external
        payable
        returns (uint256, uint256)
    {
        _reentryData = data;
        return feed.verifyAt{value: msg.value}(data, minPublishTime, maxPublishTime);
    }

    receive() external payable {
        if (mode == Mode.Reject) revert("refund refused");
        if (mode == Mode.Reenter) {
            try feed.updatePrice(_reentryData) {
                lastReentryRevert = "";
            } catch (bytes memory reason) {
                lastReentryRevert = reason;
            }
        }
    }
}
