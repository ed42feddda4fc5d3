// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title FixedPointMath
/// @notice Signed and unsigned multiply-then-divide with the rounding direction in the name.
/// `Down` rounds toward negative infinity, `Up` toward positive infinity, for signed values too, so that
/// "the trader receives `...Down`, pays `...Up`" holds whatever the sign.
library FixedPointMath {
    uint256 internal constant WAD = 1e18;

    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d);
    }

    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }

    /// @dev The WAD variants multiply in 256 bits (checked): their operands are stored in at most 128 bits, so the
    /// product fits, and an absurd value reverts instead of wrapping. The general `mulDiv` variants use 512 bits.
    function mulWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return x * y / WAD;
    }

    function mulWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        uint256 product = x * y;
        unchecked {
            // Cannot underflow or overflow: product / WAD < product, and the +1 only applies to a non-zero remainder.
            return product / WAD + (product % WAD == 0 ? 0 : 1);
        }
    }

    /// @dev floor(x * y / d) for a signed x.
    function mulDivDown(int256 x, uint256 y, uint256 d) internal pure returns (int256) {
        if (x >= 0) return toInt(Math.mulDiv(uint256(x), y, d));
        return -toInt(Math.mulDiv(abs(x), y, d, Math.Rounding.Ceil));
    }

    /// @dev ceil(x * y / d) for a signed x.
    function mulDivUp(int256 x, uint256 y, uint256 d) internal pure returns (int256) {
        if (x >= 0) return toInt(Math.mulDiv(uint256(x), y, d, Math.Rounding.Ceil));
        return -toInt(Math.mulDiv(abs(x), y, d));
    }

    /// @dev floor(a * b / WAD) for two signed values.
    function mulWadDown(int256 a, int256 b) internal pure returns (int256 q) {
        int256 product = a * b;
        q = product / int256(WAD);
        // Solidity truncates toward zero; floor needs one less for a negative inexact quotient.
        if (product < 0 && q * int256(WAD) != product) q -= 1;
    }

    /// @dev ceil(a * b / WAD) for two signed values.
    function mulWadUp(int256 a, int256 b) internal pure returns (int256 q) {
        int256 product = a * b;
        q = product / int256(WAD);
        if (product > 0 && q * int256(WAD) != product) q += 1;
    }

    function abs(int256 x) internal pure returns (uint256) {
        // unchecked: -type(int256).min overflows int256 but not uint256 after the cast.
        unchecked {
            return x >= 0 ? uint256(x) : uint256(-x);
        }
    }

    function toInt(uint256 x) internal pure returns (int256) {
        return SafeCast.toInt256(x);
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function max(int256 a, int256 b) internal pure returns (int256) {
        return a > b ? a : b;
    }

    function min(int256 a, int256 b) internal pure returns (int256) {
        return a < b ? a : b;
    }

    function max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }
}
