// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Health} from "../../contracts/interfaces/IPerpEngine.sol";
import {ProtocolSetup} from "./utils/ProtocolSetup.sol";

/// @notice The estimated liquidation price is exact to one oracle unit in the same block, with funding accruing
/// (the test moves time and leaves a skew, so the pending funding depends on the price too).
contract LiquidationPriceTest is ProtocolSetup {
    address internal constant TRADER = address(0xA11CE);
    address internal constant HEDGER = address(0xB0B);

    function setUp() public {
        deployProtocol(0);
        fund(address(this), 10_000_000e6);
        lpDepositNow(address(this), 5_000_000e6);
        fund(TRADER, 10_000_000e6);
        fund(HEDGER, 10_000_000e6);
        vm.prank(HEDGER);
        engine.deposit(5_000_000e6);
    }

    function _setPrice(uint256 market, uint256 priceWad) internal {
        aggregators[market].setAnswer(int96(int256(priceWad / UNIT)));
    }

    function _liquidatable() internal view returns (bool) {
        Health memory health = engine.positionHealth(TRADER, 0);
        return health.liquidatable;
    }

    /// Isolated ETH position of 1x..90x on $1,000, either side, after a hedge that leaves funding flowing, and up to
    /// 50 minutes of accrual since the last touch.
    function testFuzz_isolatedLiquidationPriceIsExact(uint256 leverageSeed, bool isLong, int256 hedgeSeed, uint256 waitSeed)
        public
    {
        uint256 leverage = bound(leverageSeed, 1, 90);
        int256 size = int256(leverage * 1000e18 * WAD / 2000e18);
        // Whole hundredths of an ETH, so that any non-zero hedge clears the minimum position notional.
        int256 hedge = boundInt(hedgeSeed, -20_000, 20_000) * 0.01e18;
        if (hedge != 0) {
            vm.prank(HEDGER);
            engine.trade(0, hedge, hedge > 0 ? type(uint256).max : 0, 0, false);
        }
        vm.startPrank(TRADER);
        engine.deposit(1000e6);
        engine.trade(0, isLong ? size : -size, isLong ? type(uint256).max : 0, 1000e18, true);
        vm.stopPrank();
        vm.warp(block.timestamp + bound(waitSeed, 0, 50 minutes));
        _setPrice(0, 2000e18);
        _setPrice(1, 60_000e18);

        uint256 price = engine.liquidationPrice(TRADER, 0);
        assertEq(price % UNIT, 0, "not a whole oracle unit");
        assertTrue(price > 0, "a long always has a liquidation price here");
        _setPrice(0, price);
        assertTrue(_liquidatable(), "not liquidatable at the liquidation price");
        _setPrice(0, isLong ? price + UNIT : price - UNIT);
        assertTrue(!_liquidatable(), "liquidatable one unit on the safe side");
        _setPrice(0, isLong ? price - UNIT : price + UNIT);
        assertTrue(_liquidatable(), "not liquidatable one unit past");
        vm.prank(address(0xBEEF));
        engine.liquidate(TRADER, 0, new bytes[](0));
    }

    /// Cross account with an ETH and a BTC position: the ETH liquidation price holds BTC fixed.
    function testFuzz_crossLiquidationPriceIsExact(uint256 ethSeed, uint256 btcSeed, bool ethLong, bool btcLong, uint256 waitSeed)
        public
    {
        int256 ethSize = int256(bound(ethSeed, 1e18, 20e18));
        int256 btcSize = int256(bound(btcSeed, 0.01e18, 0.6e18));
        vm.startPrank(TRADER);
        engine.deposit(2000e6);
        engine.trade(0, ethLong ? ethSize : -ethSize, ethLong ? type(uint256).max : 0, 0, false);
        engine.trade(1, btcLong ? btcSize : -btcSize, btcLong ? type(uint256).max : 0, 0, false);
        vm.stopPrank();
        vm.warp(block.timestamp + bound(waitSeed, 0, 50 minutes));
        _setPrice(0, 2000e18);
        _setPrice(1, 60_000e18);

        uint256 price = engine.liquidationPrice(TRADER, 0);
        if (price == 0) {
            // A long the rest of the account keeps safe down to a zero price: no boundary to test.
            assertTrue(ethLong, "a short always has a liquidation price");
            return;
        }
        _setPrice(0, price);
        assertTrue(_liquidatable(), "not liquidatable at the liquidation price");
        _setPrice(0, ethLong ? price + UNIT : price - UNIT);
        assertTrue(!_liquidatable(), "liquidatable one unit on the safe side");
    }
}
