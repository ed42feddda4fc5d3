// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MarketState} from "../../contracts/interfaces/IPerpEngine.sol";
import {MarketLib} from "../../contracts/libraries/MarketLib.sol";
import {PerpMath} from "../../contracts/libraries/PerpMath.sol";
import {Test} from "./utils/Test.sol";

/// @notice Issue 12: `accrueInMemory` computes `block.timestamp - lastFundingTime`; a last touch ahead of the block
/// time (a reorg, a clock step back) must accrue nothing instead of reverting with an underflow, or the market could
/// be neither valued nor liquidated.
contract FundingAccrualTest is Test {
    uint256 internal constant NOW = 1_800_000_000;
    uint256 internal constant PRICE = 2_000e18;

    function _state(uint64 lastFundingTime) internal pure returns (MarketState memory state) {
        state.longOpenInterest = 10e18;
        state.fundingIndex = 5e18;
        state.fundingRatePerDay = 1e16;
        state.lastFundingTime = lastFundingTime;
    }

    function test_lastTouchInTheFuture_accruesNothing() public {
        vm.warp(NOW);
        MarketState memory state = _state(uint64(NOW + 100));
        MarketLib.accrueInMemory(state, PRICE);
        assertEq(int256(state.fundingIndex), int256(5e18), "index moved");
        assertEq(uint256(state.lastFundingTime), NOW + 100, "time moved");
    }

    function testFuzz_lastTouchAtOrAfterNow_neverReverts(uint64 ahead) public {
        vm.warp(NOW);
        uint64 last = uint64(bound(ahead, NOW, type(uint64).max));
        MarketState memory state = _state(last);
        MarketLib.accrueInMemory(state, PRICE);
        assertEq(int256(state.fundingIndex), int256(5e18), "index moved");
        assertEq(uint256(state.lastFundingTime), last, "time moved");
    }

    function test_lastTouchInThePast_accruesElapsedTime() public {
        vm.warp(NOW);
        MarketState memory state = _state(uint64(NOW - 3600));
        MarketLib.accrueInMemory(state, PRICE);
        int256 expected = PerpMath.accruedFundingIndex(5e18, 1e16, PRICE, 3600);
        assertEq(int256(state.fundingIndex), expected, "index");
        assertTrue(expected != 5e18, "no accrual over an hour");
        assertEq(uint256(state.lastFundingTime), NOW, "time");
    }
}
