// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PerpEngine} from "../../../contracts/PerpEngine.sol";
import {LiquidityVault} from "../../../contracts/LiquidityVault.sol";
import {IPerpEngine, Health, Position} from "../../../contracts/interfaces/IPerpEngine.sol";
import {MockAggregator} from "../../../contracts/mocks/MockAggregator.sol";
import {MockUSDC} from "../../../contracts/mocks/MockUSDC.sol";
import {PerpMath} from "../../../contracts/libraries/PerpMath.sol";
import {Vm} from "../utils/Test.sol";

/// @notice Drives the protocol with random but well-formed calls (deposits, withdrawals, trades in both modes,
/// margin moves, price moves and crashes, time, liquidations, LP flows) and keeps a ghost ledger rebuilt from the
/// engine's events, against which the invariant test checks the engine's own books.
contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant WAD = 1e18;
    uint256 internal constant TO_WAD = 1e12;

    PerpEngine public immutable engine;
    LiquidityVault public immutable vault;
    MockUSDC public immutable usdc;
    MockAggregator[2] internal aggregators;
    address public immutable lp;
    address[] internal actors; // traders, then the keeper last

    // ---------------------------------------------------------------- ghost ledger (WAD, from events)
    mapping(address => int256) public deposited;
    mapping(address => int256) public withdrawn;
    mapping(address => int256) public realizedPnl;
    mapping(address => int256) public feesPaid;
    mapping(address => int256) public fundingPaid;
    mapping(address => int256) public keeperRewards;
    /// @notice Sum over the actor's liquidations of (remainder - equity): the penalty (negative) or forgiven debt.
    mapping(address => int256) public liquidationAdjustment;
    /// @notice Bad debt forgiven when the actor closed an underwater position by trading.
    mapping(address => int256) public forgivenByTrade;

    int256 public totalFees;
    int256 public totalFeeToInsurance;
    int256 public totalPnl;
    int256 public totalFunding;
    int256 public totalInsurancePenalties;
    int256 public totalBadDebtFromInsurance;
    int256 public totalBadDebtFromVault;
    int256 public insuranceTopUps;
    int256 public vaultDeposits;
    int256 public vaultWithdrawals;
    uint256 public settlements;
    /// @notice Sum over settlements of (what the trader paid - the vault's rounded-down share), from each
    /// position's size and index before the call and the index it settled at.
    int256 public expectedDust;
    /// @notice Sum over settlements of the vault's rounded-down share.
    int256 public expectedVaultFunding;

    /// @dev Positions as they were before the current call, to price each settlement independently.
    mapping(address => mapping(uint256 => Position)) internal before;

    // ---------------------------------------------------------------- failure flags (invariants 3 and 4)
    string public violation;

    uint256 public calls;
    uint256 public successfulTrades;
    uint256 public liquidations;
    uint256 public badDebts;

    constructor(PerpEngine engine_, LiquidityVault vault_, MockUSDC usdc_, MockAggregator[2] memory aggregators_, address lp_, address[] memory actors_) {
        engine = engine_;
        vault = vault_;
        usdc = usdc_;
        aggregators = aggregators_;
        lp = lp_;
        actors = actors_;
        vm.recordLogs();
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function actorAt(uint256 i) external view returns (address) {
        return actors[i];
    }

    // ================================================================ actions

    function deposit(uint256 actorSeed, uint256 amountSeed) external {
        address actor = _trader(actorSeed);
        _snapshot(actor);
        uint256 amount = 1 + amountSeed % 50_000e6;
        vm.prank(actor);
        engine.deposit(amount);
        _record(actor, false);
    }

    function withdraw(uint256 actorSeed, uint256 amountSeed) external {
        address actor = actors[actorSeed % actors.length];
        _snapshot(actor);
        (int256 balance,) = engine.getAccount(actor);
        if (balance <= int256(TO_WAD)) return;
        uint256 amount = 1 + amountSeed % (uint256(balance) / TO_WAD);
        vm.prank(actor);
        try engine.withdraw(amount, actor) {} catch {}
        _record(actor, false);
    }

    function trade(uint256 actorSeed, uint256 marketSeed, uint256 sizeSeed, bool isolated, uint256 marginSeed) external {
        address actor = _trader(actorSeed);
        _snapshot(actor);
        uint256 market = marketSeed % 2;
        Position memory pos = engine.getPosition(actor, market);
        (int256 crossBefore, uint256 crossMarkets) = engine.getAccount(actor);
        if (pos.size != 0) isolated = crossMarkets & (1 << market) == 0;
        // ETH sizes 0.01..40, BTC 0.001..1.5; one trade in four closes the position exactly.
        uint256 magnitude = market == 0 ? 0.01e18 + sizeSeed % 40e18 : 0.001e18 + sizeSeed % 1.5e18;
        int256 delta = sizeSeed % 2 == 0 ? int256(magnitude) : -int256(magnitude);
        if (pos.size != 0 && sizeSeed % 4 == 1) delta = -int256(pos.size);
        uint256 marginDelta;
        if (isolated && crossBefore > 0) marginDelta = marginSeed % uint256(crossBefore);
        vm.prank(actor);
        try engine.trade(market, delta, delta > 0 ? type(uint256).max : 0, marginDelta, isolated) {
            ++successfulTrades;
            (int256 crossAfter,) = engine.getAccount(actor);
            // Invariant 4: an isolated trade moves at most marginDelta out of the cross balance.
            if (isolated && crossAfter < crossBefore - int256(marginDelta)) violation = "isolated loss hit cross balance";
        } catch {}
        _record(actor, true);
    }

    function addMargin(uint256 actorSeed, uint256 marketSeed, uint256 amountSeed) external {
        address actor = _trader(actorSeed);
        (int256 balance,) = engine.getAccount(actor);
        if (balance <= 0) return;
        vm.prank(actor);
        try engine.addMargin(marketSeed % 2, 1 + amountSeed % uint256(balance)) {} catch {}
        _record(actor, false);
    }

    function removeMargin(uint256 actorSeed, uint256 marketSeed, uint256 amountSeed) external {
        address actor = _trader(actorSeed);
        Position memory pos = engine.getPosition(actor, marketSeed % 2);
        if (pos.margin == 0) return;
        vm.prank(actor);
        try engine.removeMargin(marketSeed % 2, 1 + amountSeed % pos.margin) {} catch {}
        _record(actor, false);
    }

    /// Moves a price by -20 %..+20 %, or one time in eight gaps it by -45 %..+45 % (bad debt territory).
    function movePrice(uint256 marketSeed, uint256 moveSeed) external {
        MockAggregator aggregator = aggregators[marketSeed % 2];
        int256 answer = aggregator.latestAnswer();
        int256 range = moveSeed % 8 == 0 ? int256(4500) : int256(2000);
        int256 bps = int256(moveSeed % uint256(2 * range + 1)) - range;
        int256 next = answer * (10_000 + bps) / 10_000;
        if (next < 1e8) next = 1e8; // keep at least $1
        aggregator.setAnswer(int96(next));
        _record(address(0), false);
    }

    /// Lets up to 50 minutes pass (funding accrues) and refreshes both feeds so they stay within their heartbeat.
    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + 1 + secondsSeed % 50 minutes);
        for (uint256 i; i < 2; ++i) aggregators[i].setAnswer(int96(aggregators[i].latestAnswer()));
        _record(address(0), false);
    }

    /// Invariant 3: liquidation succeeds exactly when the view says the unit is liquidatable.
    function liquidate(uint256 actorSeed, uint256 marketSeed) external {
        address trader = _trader(actorSeed);
        _snapshot(trader);
        uint256 market = marketSeed % 2;
        if (engine.getPosition(trader, market).size == 0) return;
        Health memory health = engine.positionHealth(trader, market);
        (, uint256 crossMarkets) = engine.getAccount(trader);
        bool isolated = crossMarkets & (1 << market) == 0;
        (int256 crossBefore,) = engine.getAccount(trader);
        address keeper = actors[actors.length - 1];
        vm.prank(keeper);
        try engine.liquidate(trader, market) {
            ++liquidations;
            if (!health.liquidatable) violation = "healthy position liquidated";
            (int256 crossAfter,) = engine.getAccount(trader);
            if (isolated && crossAfter < crossBefore) violation = "isolated liquidation decreased cross balance";
        } catch {
            if (health.liquidatable) violation = "liquidatable position could not be liquidated";
        }
        _record(trader, false);
    }

    function fundInsurance(uint256 amountSeed) external {
        vm.prank(lp);
        engine.fundInsurance(1 + amountSeed % 10_000e6);
        _record(address(0), false);
    }

    function lpDeposit(uint256 amountSeed) external {
        if (vault.maxDeposit(lp) == 0) return;
        vm.prank(lp);
        vault.deposit(1 + amountSeed % 200_000e6, lp);
        _record(address(0), false);
    }

    function lpWithdraw(uint256 amountSeed) external {
        uint256 max = vault.maxWithdraw(lp);
        if (max == 0) return;
        vm.prank(lp);
        vault.withdraw(1 + amountSeed % max, lp, lp);
        _record(address(0), false);
    }

    // ================================================================ ghost ledger

    function _trader(uint256 seed) internal view returns (address) {
        return actors[seed % (actors.length - 1)];
    }

    /// Folds the call's engine events into the ghost ledger. `byTrade`: a BadDebtCovered in this call is debt the
    /// trader was forgiven by closing (in a liquidation the Liquidated event carries it instead).
    function _record(address trader, bool byTrade) internal {
        ++calls;
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 feeShare = engine.protocolParams().insuranceFeeShare;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory log = logs[i];
            if (log.emitter != address(engine)) continue;
            bytes32 topic = log.topics[0];
            if (topic == IPerpEngine.Deposited.selector) {
                deposited[_addr(log.topics[1])] += int256(abi.decode(log.data, (uint256)) * TO_WAD);
            } else if (topic == IPerpEngine.Withdrawn.selector) {
                withdrawn[_addr(log.topics[1])] += int256(abi.decode(log.data, (uint256)) * TO_WAD);
            } else if (topic == IPerpEngine.PositionModified.selector) {
                _recordTrade(_addr(log.topics[1]), uint256(log.topics[2]), log.data, feeShare);
            } else if (topic == IPerpEngine.PositionClosedAtIndex.selector) {
                (,, int256 pnl, int256 funding, int256 index) =
                    abi.decode(log.data, (int256, uint256, int256, int256, int256));
                address who = _addr(log.topics[1]);
                realizedPnl[who] += pnl;
                fundingPaid[who] += funding;
                totalPnl += pnl;
                totalFunding += funding;
                _settled(who, uint256(log.topics[2]), funding, index);
            } else if (topic == IPerpEngine.Liquidated.selector) {
                (int256 equity,, uint256 reward, uint256 insurancePaid, uint256 remainder) =
                    abi.decode(log.data, (int256, uint256, uint256, uint256, uint256));
                liquidationAdjustment[_addr(log.topics[1])] += int256(remainder) - equity;
                keeperRewards[_addr(log.topics[3])] += int256(reward);
                totalInsurancePenalties += int256(insurancePaid);
            } else if (topic == IPerpEngine.BadDebtCovered.selector) {
                (uint256 shortfall, uint256 fromInsurance, uint256 fromVault) =
                    abi.decode(log.data, (uint256, uint256, uint256));
                if (byTrade) forgivenByTrade[trader] += int256(shortfall);
                ++badDebts;
                totalBadDebtFromInsurance += int256(fromInsurance);
                totalBadDebtFromVault += int256(fromVault);
            } else if (topic == IPerpEngine.InsuranceFunded.selector) {
                insuranceTopUps += int256(abi.decode(log.data, (uint256)) * TO_WAD);
            } else if (topic == IPerpEngine.VaultCashDeposited.selector) {
                vaultDeposits += int256(abi.decode(log.data, (uint256)) * TO_WAD);
            } else if (topic == IPerpEngine.VaultCashWithdrawn.selector) {
                vaultWithdrawals += int256(abi.decode(log.data, (uint256)) * TO_WAD);
            }
        }
    }

    function _recordTrade(address who, uint256 market, bytes memory data, uint256 feeShare) internal {
        (,,, uint256 fee, int256 pnl, int256 funding,, int256 index) =
            abi.decode(data, (int256, int256, uint256, uint256, int256, int256, bool, int256));
        _settled(who, market, funding, index);
        realizedPnl[who] += pnl;
        feesPaid[who] += int256(fee);
        fundingPaid[who] += funding;
        totalFees += int256(fee);
        totalFeeToInsurance += int256(fee * feeShare / WAD);
        totalPnl += pnl;
        totalFunding += funding;
    }

    /// @dev One funding settlement: the engine's charge must be the rounded-up formula; the vault's share is the
    /// rounded-down one and the difference is dust.
    function _settled(address who, uint256 market, int256 charged, int256 index) internal {
        Position memory pos = before[who][market];
        int256 owed = PerpMath.fundingOwedUp(pos.size, index, pos.lastFundingIndex);
        int256 toVault = PerpMath.fundingToVaultDown(pos.size, index, pos.lastFundingIndex);
        if (charged != owed) violation = "funding charged differs from size * index delta rounded up";
        expectedDust += owed - toVault;
        expectedVaultFunding += toVault;
        ++settlements;
    }

    function _snapshot(address actor) internal {
        for (uint256 market; market < 2; ++market) before[actor][market] = engine.getPosition(actor, market);
    }

    function _addr(bytes32 topic) internal pure returns (address) {
        return address(uint160(uint256(topic)));
    }
}
