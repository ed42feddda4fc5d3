// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title BitMap
/// @notice Market bit maps of a cross account (bit i = a position in market i).
/// Internal: compiled into each user. One of the five concerns v1's `AccountingLib` mixed.
library BitMap {
    function bit(uint256 marketId) internal pure returns (uint256) {
        return 1 << marketId;
    }

    function lowestBit(uint256 bits) internal pure returns (uint256) {
        // bits & -bits isolates the lowest set bit; its log2 is the index. unchecked: ~bits + 1 wraps for bits = 0,
        // which callers never pass.
        unchecked {
            return Math.log2(bits & (~bits + 1));
        }
    }

    function popCount(uint256 bits) internal pure returns (uint256 n) {
        while (bits != 0) {
            bits &= bits - 1;
            ++n;
        }
    }
}
