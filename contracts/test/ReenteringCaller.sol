// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ReenteringCaller
/// @notice Test-only caller that, when it is first paid ether (an oracle-fee refund), makes one armed call and keeps
/// its outcome instead of reverting, so that the paying call goes on. Not for deployment.
contract ReenteringCaller {
    /// @dev Not `target`: typechain's contracts already have a `target` (their address).
    address public armedTarget;
    bytes public armedData;
    uint256 public armedValue;
    bool public reentered;
    bool public reentrySucceeded;
    bytes public reentryResult;

    function arm(address target_, bytes calldata data_, uint256 value_) external {
        armedTarget = target_;
        armedData = data_;
        armedValue = value_;
    }

    function run(address to, bytes calldata callData) external payable {
        (bool ok, bytes memory reason) = to.call{value: msg.value}(callData);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
    }

    receive() external payable {
        if (armedTarget == address(0) || reentered) return;
        reentered = true;
        (reentrySucceeded, reentryResult) = armedTarget.call{value: armedValue}(armedData);
    }
}
