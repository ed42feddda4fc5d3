// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {PerpEngine} from "../../../contracts/PerpEngine.sol";
import {LiquidityVault} from "../../../contracts/LiquidityVault.sol";
import {MarketParams, ProtocolParams} from "../../../contracts/interfaces/IPerpEngine.sol";
import {AggregatorV3Interface} from "../../../contracts/interfaces/AggregatorV3Interface.sol";
import {ChainlinkPriceFeed} from "../../../contracts/oracles/ChainlinkPriceFeed.sol";
import {MockAggregator} from "../../../contracts/mocks/MockAggregator.sol";
import {MockUSDC} from "../../../contracts/mocks/MockUSDC.sol";
import {Test} from "./Test.sol";

/// @notice Deploys the protocol the way the mocha fixture does (ETH-USD $2,000 and BTC-USD $60,000, 8-decimal feeds).
abstract contract ProtocolSetup is Test {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant UNIT = 1e10; // one 8-decimal oracle unit in WAD

    MockUSDC internal usdc;
    PerpEngine internal engine;
    LiquidityVault internal vault;
    MockAggregator[2] internal aggregators;

    function deployProtocol(uint256 lpCooldown) internal {
        usdc = new MockUSDC();
        engine = new PerpEngine(
            IERC20(address(usdc)),
            address(this),
            ProtocolParams({
                insuranceFeeShare: 0.1e18, vaultBackingRatio: 0.1e18, keeperRewardMin: 2e18, keeperRewardMax: 500e18
            })
        );
        vault = new LiquidityVault(IERC20(address(usdc)), engine, lpCooldown, "Perp LP", "pLP");
        engine.setVault(address(vault));
        aggregators[0] = new MockAggregator(8, "ETH / USD", 2000e8);
        aggregators[1] = new MockAggregator(8, "BTC / USD", 60_000e8);
        engine.listMarket(_adapter(aggregators[0]), marketParams(1_000_000e18));
        engine.listMarket(_adapter(aggregators[1]), marketParams(50_000e18));
    }

    function marketParams(uint128 skewScale) internal pure returns (MarketParams memory) {
        return MarketParams({
            skewScale: skewScale,
            initialMarginRatio: 0.01e18,
            maintenanceMarginRatio: 0.005e18,
            makerFeeRate: 0.0002e18,
            takerFeeRate: 0.0005e18,
            fundingFactor: 1e18,
            maxFundingRatePerDay: 0.01e18,
            maxLongOpenInterest: skewScale / 10,
            maxShortOpenInterest: skewScale / 10,
            minPositionNotional: 10e18,
            keeperRewardRatio: 0.001e18,
            insuranceShare: 0.002e18,
            maxPnlFactor: 0.5e18
        });
    }

    function _adapter(MockAggregator aggregator) private returns (ChainlinkPriceFeed) {
        return new ChainlinkPriceFeed(
            AggregatorV3Interface(address(aggregator)), 3600, 0, 1e16, AggregatorV3Interface(address(0)), 0
        );
    }

    /// @dev An LP deposit through the asynchronous flow, for tests that just need liquidity: `lp` requests, time moves
    /// past `lpSettleDelay`, this contract settles (it receives the keeper fee) and `lp` claims the shares.
    function lpDepositNow(address lp, uint256 assets) internal returns (uint256 shares) {
        vm.prank(lp);
        vault.requestDeposit(assets, lp, lp);
        vm.warp(vault.pendingDeposit(lp).requestedAt + vault.lpSettleDelay());
        shares = vault.settleDeposit(lp);
        vm.prank(lp);
        vault.deposit(assets, lp, lp);
    }

    /// @dev Mints `amount` USDC units to `account` and approves the engine and the vault for it.
    function fund(address account, uint256 amount) internal {
        usdc.mint(account, amount);
        vm.startPrank(account);
        usdc.approve(address(engine), type(uint256).max);
        usdc.approve(address(vault), type(uint256).max);
        vm.stopPrank();
    }
}
