// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @notice The cheatcodes these tests use. forge-std cannot be installed here (GitHub is unreachable), but Hardhat's
/// EDR serves the cheatcodes at the standard address.
interface Vm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function warp(uint256 timestamp) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 selector) external;
    function assume(bool condition) external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
    function label(address account, string calldata name) external;
}

/// @notice Minimal test base: the cheatcode handle, `bound`, and assertions whose messages show both values.
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev Maps any x into [lo, hi] without rejecting inputs (rejections waste fuzz runs).
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (lo == 0 && hi == type(uint256).max) return x;
        return lo + x % (hi - lo + 1);
    }

    function boundInt(int256 x, int256 lo, int256 hi) internal pure returns (int256) {
        uint256 span = uint256(hi - lo);
        uint256 offset = uint256(x < 0 ? -(x + 1) : x) % (span + 1);
        return lo + int256(offset);
    }

    function assertTrue(bool condition, string memory message) internal pure {
        require(condition, message);
    }

    function assertEq(uint256 a, uint256 b, string memory message) internal pure {
        if (a != b) revert(string.concat(message, ": ", Strings.toString(a), " != ", Strings.toString(b)));
    }

    function assertEq(int256 a, int256 b, string memory message) internal pure {
        if (a != b) revert(string.concat(message, ": ", Strings.toStringSigned(a), " != ", Strings.toStringSigned(b)));
    }

    function assertLe(uint256 a, uint256 b, string memory message) internal pure {
        if (a > b) revert(string.concat(message, ": ", Strings.toString(a), " > ", Strings.toString(b)));
    }

    function assertGe(uint256 a, uint256 b, string memory message) internal pure {
        if (a < b) revert(string.concat(message, ": ", Strings.toString(a), " < ", Strings.toString(b)));
    }

    function assertLe(int256 a, int256 b, string memory message) internal pure {
        if (a > b) revert(string.concat(message, ": ", Strings.toStringSigned(a), " > ", Strings.toStringSigned(b)));
    }

    function assertGe(int256 a, int256 b, string memory message) internal pure {
        if (a < b) revert(string.concat(message, ": ", Strings.toStringSigned(a), " < ", Strings.toStringSigned(b)));
    }
}
