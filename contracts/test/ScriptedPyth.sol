// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ScriptedPyth
/// @notice Test-only stand-in for Pyth that answers every parse call with bytes the test set (a non-conforming or
/// hostile Pyth), or reverts with them: checks that `PythParseLib` accepts exactly one well-formed feed of the
/// requested id and maps Pyth's errors as documented. Its fee is 0. Not for deployment.
contract ScriptedPyth {
    bytes internal answer;
    bool internal refuse;

    function script(bytes calldata answer_, bool refuse_) external {
        (answer, refuse) = (answer_, refuse_);
    }

    function getUpdateFee(bytes[] calldata) external pure returns (uint256) {
        return 0;
    }

    /// @dev `parsePriceFeedUpdates` and `parsePriceFeedUpdatesUnique` (and anything else) land here.
    fallback() external {
        bytes memory a = answer;
        if (refuse) {
            assembly ("memory-safe") {
                revert(add(a, 32), mload(a))
            }
        }
        assembly ("memory-safe") {
            return(add(a, 32), mload(a))
        }
    }
}
