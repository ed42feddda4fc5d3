// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PerpEngine} from "../../../contracts/PerpEngine.sol";
import {LiquidityVault} from "../../../contracts/LiquidityVault.sol";
import {
    IPerpEngine, Health, Position, MarketParams, ProtocolParams
} from "../../../contracts/interfaces/IPerpEngine.sol";
import {MockAggregator} from "../../../contracts/mocks/MockAggregator.sol";
import {MockUSDC} from "../../../contracts/mocks/MockUSDC.sol";
import {PerpMath} from "../../../contracts/libraries/PerpMath.sol";
import {Vm} from "../utils/Test.sol";

/// @notice Drives the protocol with random but well-formed calls (deposits, withdrawals, trades in both modes,
/// margin moves, price moves, +-30 % gaps and crashes, time, liquidations by a third party and by the trader itself,
/// auto-deleveraging, every actor exiting everything, parameter changes, LP flows) and keeps a ghost ledger rebuilt
/// from the engine's events, against which the invariant test checks the engine's own books. Properties that are
/// about one call (SPEC 3, 4, 11 and 12) are checked inside the action and recorded in `violation`.
contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant WAD = 1e18;
    uint256 internal constant TO_WAD = 1e12;
    uint256 internal constant NO_MARKET = type(uint256).max;
    /// @dev SPEC "Markets": governance bounds that every accepted parameter set must satisfy.
    uint256 internal constant MAX_KEEPER_REWARD_MIN = 50e18;
    uint256 internal constant MAX_KEEPER_REWARD_MAX = 10_000e18;
    uint256 internal constant MAX_MARGIN_STEP = 0.25e18;

    PerpEngine public immutable engine;
    LiquidityVault public immutable vault;
    MockUSDC public immutable usdc;
    MockAggregator[2] internal aggregators;
    address public immutable lp;
    address public immutable owner;
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
    /// @notice Bad debt forgiven when the actor closed an underwater position by trading (or was deleveraged).
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
    /// @notice Profit claims (what the vault could not pay at once): created, and paid from vault income.
    int256 public totalClaimsCreated;
    int256 public totalClaimsPaid;
    /// @notice Deficit (bad debt beyond insurance and vault cash) repaid from vault income.
    int256 public totalDeficitRepaid;
    /// @notice Deficit that a liquidation left: its BadDebtCovered reports it inside `fromVault` (the vault takes the
    /// unit, cash stops at zero), whereas `coverBadDebt` reports only what cash paid and the deficit separately.
    int256 public liquidationDeficit;
    /// @dev shortfall - fromInsurance - fromVault of the last BadDebtCovered: a DeficitIncreased of exactly this
    /// amount right after it comes from `coverBadDebt`.
    uint256 internal uncoveredByLastCover;
    uint256 public settlements;
    /// @notice Sum over settlements of (what the trader paid - the vault's rounded-down share), from each
    /// position's size and index before the call and the index it settled at.
    int256 public expectedDust;
    /// @notice Sum over settlements of the vault's rounded-down share.
    int256 public expectedVaultFunding;

    /// @dev Positions as they were before the current call, to price each settlement independently.
    mapping(address => mapping(uint256 => Position)) internal before;

    /// @dev The last Liquidated event folded in (for the credit checks of `liquidate`).
    uint256 internal lastReward;
    uint256 internal lastRemainder;
    uint256 internal liquidatedEvents;

    // ---------------------------------------------------------------- failure flags (single-call properties)
    /// @notice SPEC 3 and 4 (and the funding formula): liquidation agrees with the view, isolation holds.
    string public violation;
    /// @notice SPEC 12, first half: a successful debit followed by an immediate liquidation attempt.
    string public debitViolation;
    /// @notice SPEC 12, second half (and every liquidation): reward and remainder credited in full.
    string public creditViolation;
    /// @notice SPEC 11: a close or a withdrawal of a free balance (trader or LP) was refused.
    string public exitViolation;
    /// @notice SPEC "Markets": an accepted parameter outside the governance bounds.
    string public boundsViolation;

    uint256 public calls;
    uint256 public successfulTrades;
    uint256 public liquidations;
    uint256 public selfLiquidations;
    uint256 public deleverages;
    uint256 public exits;
    uint256 public paramChanges;
    uint256 public badDebts;

    constructor(
        PerpEngine engine_,
        LiquidityVault vault_,
        MockUSDC usdc_,
        MockAggregator[2] memory aggregators_,
        address lp_,
        address owner_,
        address[] memory actors_
    ) {
        engine = engine_;
        vault = vault_;
        usdc = usdc_;
        aggregators = aggregators_;
        lp = lp_;
        owner = owner_;
        actors = actors_;
        vm.recordLogs();
    }

    /// @dev Drops logs recorded outside the handler's own calls (an invariant's sandboxed exit that reverted midway
    /// leaves its logs in the recorder), so that the ghost ledger only ever folds in this call's events.
    modifier fresh() {
        vm.getRecordedLogs();
        _;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function actorAt(uint256 i) external view returns (address) {
        return actors[i];
    }

    // ================================================================ actions: collateral

    function deposit(uint256 actorSeed, uint256 amountSeed) external fresh {
        address actor = _trader(actorSeed);
        _snapshot(actor);
        uint256 amount = 1 + amountSeed % 200_000e6;
        vm.prank(actor);
        engine.deposit(amount);
        _record(actor, false);
    }

    /// A partial withdrawal; when it succeeds the account must not be liquidatable (SPEC 12).
    function withdraw(uint256 actorSeed, uint256 amountSeed) external fresh {
        address actor = actors[actorSeed % actors.length];
        _snapshot(actor);
        (int256 balance,) = engine.getAccount(actor);
        if (balance <= int256(TO_WAD)) return;
        uint256 amount = 1 + amountSeed % (uint256(balance) / TO_WAD);
        vm.prank(actor);
        bool ok;
        try engine.withdraw(amount, actor, new bytes[](0)) {
            ok = true;
        } catch {
            _discard();
        }
        _record(actor, false);
        if (ok) _liquidateAfterDebit(actor, NO_MARKET, true, "withdraw");
    }

    /// Every actor, the keeper included, closes every position and withdraws its whole balance. Closing is never
    /// refused, and a balance with no cross position behind it is free: both must succeed (SPEC 11).
    function exitAll(uint256 actorSeed) external fresh {
        address actor = actors[actorSeed % actors.length];
        _snapshot(actor);
        for (uint256 market; market < 2; ++market) {
            Position memory pos = engine.getPosition(actor, market);
            if (pos.size == 0) continue;
            (, uint256 crossMarkets) = engine.getAccount(actor);
            bool isolated = crossMarkets & (1 << market) == 0;
            vm.prank(actor);
            try engine.trade(market, -int256(pos.size), pos.size > 0 ? 0 : type(uint256).max, 0, isolated) {}
            catch {
                _discard();
                exitViolation = "closing a position reverted";
            }
            _record(actor, true);
        }
        (int256 balance,) = engine.getAccount(actor);
        if (balance >= int256(TO_WAD)) {
            uint256 amount = uint256(balance) / TO_WAD;
            vm.prank(actor);
            try engine.withdraw(amount, actor, new bytes[](0)) {
                ++exits;
            } catch {
                _discard();
                exitViolation = "a free balance could not be withdrawn";
            }
        }
        _record(actor, false);
    }

    // ================================================================ actions: trading and margin

    function trade(uint256 actorSeed, uint256 marketSeed, uint256 sizeSeed, bool isolated, uint256 marginSeed) external fresh {
        address actor = _trader(actorSeed);
        _snapshot(actor);
        uint256 market = marketSeed % 2;
        Position memory pos = engine.getPosition(actor, market);
        (int256 crossBefore, uint256 crossMarkets) = engine.getAccount(actor);
        if (pos.size != 0) isolated = crossMarkets & (1 << market) == 0;
        // ETH sizes 0.01..200, BTC 0.001..6; one trade in four closes the position exactly.
        uint256 magnitude = market == 0 ? 0.01e18 + sizeSeed % 200e18 : 0.001e18 + sizeSeed % 6e18;
        int256 delta = sizeSeed % 2 == 0 ? int256(magnitude) : -int256(magnitude);
        if (pos.size != 0 && sizeSeed % 4 == 1) delta = -int256(pos.size);
        uint256 marginDelta;
        if (isolated && crossBefore > 0) marginDelta = marginSeed % uint256(crossBefore);
        bool ok;
        vm.prank(actor);
        try engine.trade(market, delta, delta > 0 ? type(uint256).max : 0, marginDelta, isolated) {
            ok = true;
            ++successfulTrades;
            (int256 crossAfter,) = engine.getAccount(actor);
            // Invariant 4: an isolated trade moves at most marginDelta out of the cross balance.
            if (isolated && crossAfter < crossBefore - int256(marginDelta)) violation = "isolated loss hit cross balance";
        } catch {
            _discard();
        }
        _record(actor, true);
        if (ok && marginDelta != 0) {
            // An isolated open or increase that debits the cross balance leaves neither the cross account nor the
            // new position liquidatable (a reduce may leave an already-liquidatable position as it was).
            int256 newSize = engine.getPosition(actor, market).size;
            bool addedRisk = _abs(newSize) > _abs(pos.size) || (newSize > 0) != (pos.size > 0);
            _liquidateAfterDebit(actor, addedRisk ? market : NO_MARKET, true, "isolated open");
        }
    }

    /// Opens or increases a position at 20x..99x of the actor's cross balance (the leverage at which liquidations,
    /// premiums of several % and vault shortfalls happen after one price step).
    function openLeveraged(uint256 actorSeed, uint256 marketSeed, uint256 leverageSeed, bool isolated, bool long)
        external fresh
    {
        address actor = _trader(actorSeed);
        _snapshot(actor);
        uint256 market = marketSeed % 2;
        Position memory pos = engine.getPosition(actor, market);
        (int256 balance, uint256 crossMarkets) = engine.getAccount(actor);
        if (balance < 1_000e18) {
            vm.prank(actor);
            engine.deposit(1_000e6 + (leverageSeed >> 16) % 200_000e6);
            _record(actor, false);
            (balance,) = engine.getAccount(actor);
        }
        if (pos.size != 0) {
            isolated = crossMarkets & (1 << market) == 0;
            long = pos.size > 0;
        }
        uint256 leverage = 20 + leverageSeed % 80;
        uint256 collateral = isolated ? uint256(balance) * (1 + (leverageSeed >> 8) % 99) / 100 : uint256(balance);
        uint256 size = collateral * leverage * WAD / engine.indexPrice(market);
        if (size == 0) return;
        int256 delta = long ? int256(size) : -int256(size);
        (int256 crossBefore,) = engine.getAccount(actor);
        bool ok;
        vm.prank(actor);
        try engine.trade(market, delta, long ? type(uint256).max : 0, isolated ? collateral : 0, isolated) {
            ok = true;
            ++successfulTrades;
            (int256 crossAfter,) = engine.getAccount(actor);
            if (isolated && crossAfter < crossBefore - int256(collateral)) violation = "isolated loss hit cross balance";
        } catch {
            _discard();
        }
        _record(actor, true);
        if (ok && isolated) _liquidateAfterDebit(actor, market, true, "isolated open");
    }

    function addMargin(uint256 actorSeed, uint256 marketSeed, uint256 amountSeed) external fresh {
        address actor = _trader(actorSeed);
        _snapshot(actor);
        (int256 balance,) = engine.getAccount(actor);
        if (balance <= 0) return;
        bool ok;
        vm.prank(actor);
        try engine.addMargin(marketSeed % 2, 1 + amountSeed % uint256(balance)) {
            ok = true;
        } catch {
            _discard();
        }
        _record(actor, false);
        if (ok) _liquidateAfterDebit(actor, NO_MARKET, true, "addMargin");
    }

    /// Tops up an isolated margin straight from the wallet (no price, no debit of the cross balance).
    function addMarginFromWallet(uint256 actorSeed, uint256 marketSeed, uint256 amountSeed) external fresh {
        address actor = _trader(actorSeed);
        _snapshot(actor);
        uint256 amount = 1 + amountSeed % 50_000e6;
        vm.prank(actor);
        try engine.addMarginFromWallet(marketSeed % 2, amount) {
            deposited[actor] += int256(amount * TO_WAD); // tokens in, like a deposit (the event is MarginAdded)
        } catch {
            _discard();
        }
        _record(actor, false);
    }

    function removeMargin(uint256 actorSeed, uint256 marketSeed, uint256 amountSeed) external fresh {
        address actor = _trader(actorSeed);
        _snapshot(actor);
        uint256 market = marketSeed % 2;
        Position memory pos = engine.getPosition(actor, market);
        if (pos.margin == 0) return;
        bool ok;
        vm.prank(actor);
        try engine.removeMargin(market, 1 + amountSeed % pos.margin, new bytes[](0)) {
            ok = true;
        } catch {
            _discard();
        }
        _record(actor, false);
        if (ok) _liquidateAfterDebit(actor, market, false, "removeMargin");
    }

    // ================================================================ actions: prices and time

    /// Moves a price by -20 %..+20 %, or one time in eight gaps it by -45 %..+45 % (bad debt territory).
    function movePrice(uint256 marketSeed, uint256 moveSeed) external fresh {
        int256 range = moveSeed % 8 == 0 ? int256(4500) : int256(2000);
        int256 bps = int256(moveSeed % uint256(2 * range + 1)) - range;
        _movePrice(marketSeed % 2, bps);
    }

    /// A +-30 % gap in one oracle step: no keeper can act in between.
    function gapPrice(uint256 marketSeed, bool up) external fresh {
        _movePrice(marketSeed % 2, up ? int256(3000) : int256(-3000));
    }

    /// Lets up to 50 minutes pass (funding accrues) and refreshes both feeds so they stay within their heartbeat.
    function warp(uint256 secondsSeed) external fresh {
        vm.warp(block.timestamp + 1 + secondsSeed % 50 minutes);
        for (uint256 i; i < 2; ++i) aggregators[i].setAnswer(int96(aggregators[i].latestAnswer()));
        _record(address(0), false);
    }

    // ================================================================ actions: keepers

    /// Invariant 3: liquidation succeeds exactly when the view says the unit is liquidatable. The keeper is a third
    /// party or (`selfKeeper`) the trader itself; either way the reward and the remainder are credited in full
    /// (SPEC 12: a keeper liquidating itself loses nothing and strands nothing).
    function liquidate(uint256 actorSeed, uint256 marketSeed, bool selfKeeper) external fresh {
        // Three calls in four go for a liquidatable unit if there is one (rare otherwise); the rest probe any.
        if (marketSeed % 4 != 0) (actorSeed, marketSeed) = _findPosition(actorSeed, marketSeed, true);
        address trader = _trader(actorSeed);
        _snapshot(trader);
        uint256 market = marketSeed % 2;
        if (engine.getPosition(trader, market).size == 0) return;
        Health memory health = engine.positionHealth(trader, market);
        (int256 crossBefore, uint256 crossMarkets) = engine.getAccount(trader);
        bool isolated = crossMarkets & (1 << market) == 0;
        address keeper = selfKeeper ? trader : actors[actors.length - 1];
        (int256 keeperBefore,) = engine.getAccount(keeper);
        // What the vault cannot pay at once is a claim: a credit is balance plus claim.
        int256 claimBefore = int256(engine.profitClaim(trader));
        crossBefore += claimBefore;
        keeperBefore += int256(engine.profitClaim(keeper));
        uint256 eventsBefore = liquidatedEvents;
        bool ok;
        vm.prank(keeper);
        try engine.liquidate(trader, market, new bytes[](0)) {
            ok = true;
            ++liquidations;
            if (selfKeeper) ++selfLiquidations;
            if (!health.liquidatable) violation = "healthy position liquidated";
        } catch {
            _discard();
            if (health.liquidatable) violation = "liquidatable position could not be liquidated";
        }
        _record(trader, false);
        if (!ok) return;
        if (liquidatedEvents != eventsBefore + 1) {
            creditViolation = "a liquidation did not emit exactly one Liquidated";
            return;
        }
        (int256 traderAfter,) = engine.getAccount(trader);
        traderAfter += int256(engine.profitClaim(trader));
        int256 reward = int256(lastReward);
        // Isolated: the cross balance only ever receives the remainder; cross: the account is replaced by it.
        int256 expected = (isolated ? crossBefore : claimBefore) + int256(lastRemainder) + (selfKeeper ? reward : int256(0));
        if (isolated && traderAfter < crossBefore) violation = "isolated liquidation decreased cross balance";
        if (traderAfter != expected) {
            creditViolation = selfKeeper
                ? "self-liquidation: reward or remainder not credited"
                : "liquidation: remainder not credited to the trader";
        }
        if (!selfKeeper) {
            (int256 keeperAfter,) = engine.getAccount(keeper);
            keeperAfter += int256(engine.profitClaim(keeper));
            if (keeperAfter != keeperBefore + reward) creditViolation = "liquidation: reward not credited to the keeper";
        }
    }

    /// Auto-deleveraging by a keeper (permissionless), whenever the engine accepts it. A deleveraged position is
    /// closed at a profit, never at a loss.
    function autoDeleverage(uint256 actorSeed, uint256 marketSeed) external fresh {
        (actorSeed, marketSeed) = _findPosition(actorSeed, marketSeed, false);
        address trader = _trader(actorSeed);
        _snapshot(trader);
        uint256 market = marketSeed % 2;
        if (engine.getPosition(trader, market).size == 0) return;
        vm.prank(actors[actors.length - 1]);
        try engine.autoDeleverage(trader, market, new bytes[](0)) {
            ++deleverages;
        } catch {
            _discard();
        }
        _record(trader, true);
    }

    // ================================================================ actions: governance, insurance, LPs

    /// The owner changes one parameter group to a random value, sometimes beyond SPEC's bounds; whatever the engine
    /// accepts must lie within them.
    function changeParams(uint256 marketSeed, uint256 fieldSeed, uint256 valueSeed) external fresh {
        uint256 market = marketSeed % 2;
        uint256 field = fieldSeed % 6;
        bool accepted;
        if (field == 5) {
            ProtocolParams memory p = engine.protocolParams();
            uint256 which = valueSeed % 3;
            uint256 v = valueSeed >> 8;
            if (which == 0) {
                // Keeper reward bounds: up to twice SPEC's caps, so that out-of-bound values are proposed too.
                p.keeperRewardMin = uint96(1e18 + v % (2 * MAX_KEEPER_REWARD_MIN));
                p.keeperRewardMax = uint96(p.keeperRewardMin + (v >> 64) % (2 * MAX_KEEPER_REWARD_MAX));
            } else if (which == 1) {
                p.vaultBackingRatio = uint64(0.01e18 + v % 0.3e18);
            } else {
                p.insuranceFeeShare = uint64(v % 0.5e18);
            }
            vm.prank(owner);
            try engine.setProtocolParams(p) {
                accepted = true;
                _checkProtocolBounds(engine.protocolParams());
            } catch {
            _discard();
        }
        } else {
            (,, MarketParams memory p,) = engine.getMarket(market);
            (,, MarketParams memory old,) = engine.getMarket(market);
            uint256 v = valueSeed >> 8;
            if (field == 0) {
                // Skew scale down to 5,000 ETH / 200 BTC (premiums of several %), caps at K / 10 as ParamsLib allows.
                uint256 minK = market == 0 ? 5_000e18 : 200e18;
                p.skewScale = uint128(minK + v % (market == 0 ? 1_000_000e18 : 50_000e18));
                p.maxLongOpenInterest = p.skewScale / 10;
                p.maxShortOpenInterest = p.skewScale / 10;
            } else if (field == 1) {
                // Margin ratios: a step of up to +-50 % of the current ones.
                p.maintenanceMarginRatio = uint64(_step(p.maintenanceMarginRatio, v));
                p.initialMarginRatio = uint64(_step(p.initialMarginRatio, v >> 64));
            } else if (field == 2) {
                p.maxPnlFactor = uint64(0.001e18 + v % 1e18);
            } else if (field == 3) {
                p.makerFeeRate = uint64(v % 0.002e18);
                p.takerFeeRate = uint64((v >> 64) % 0.003e18);
            } else {
                p.fundingFactor = uint64(v % 5e18);
                p.maxFundingRatePerDay = uint64((v >> 64) % 0.1e18);
            }
            vm.prank(owner);
            try engine.setMarketParams(market, p) {
                accepted = true;
                (,, MarketParams memory stored,) = engine.getMarket(market);
                _checkMarketBounds(stored, old);
            } catch {
            _discard();
        }
        }
        if (accepted) ++paramChanges;
        _record(address(0), false);
    }

    /// Anyone pays profit claims from vault cash, oldest first.
    function payClaims(uint256 countSeed) external fresh {
        engine.payClaims(1 + countSeed % 8);
        _record(address(0), false);
    }

    function fundInsurance(uint256 amountSeed) external fresh {
        vm.prank(lp);
        engine.fundInsurance(1 + amountSeed % 10_000e6);
        _record(address(0), false);
    }

    /// An LP deposit request (ERC-7540): nothing moves into the engine until it is settled (`lpSettle`, after a
    /// `warp` past the settle delay). Refused while the vault takes no deposits (NAV zero).
    function lpDeposit(uint256 amountSeed) external fresh {
        if (vault.pendingDeposit(lp).requestedAt != 0) return;
        vm.prank(lp);
        try vault.requestDeposit(1 + amountSeed % 2_000_000e6, lp, lp) {}
        catch {
            _discard();
        }
        _record(address(0), false);
    }

    /// A redeem request of what `maxRedeem` reports; one time in four all of it. A request within it never reverts.
    function lpWithdraw(uint256 amountSeed) external fresh {
        if (vault.pendingRedeem(lp).requestedAt != 0) return;
        uint256 max = vault.maxRedeem(lp);
        if (max == 0) return;
        uint256 shares = amountSeed % 4 == 0 ? max : 1 + amountSeed % max;
        vm.prank(lp);
        try vault.requestRedeem(shares, lp, lp) {}
        catch {
            _discard();
            exitViolation = "LP redeem request within maxRedeem reverted";
        }
        _record(address(0), false);
    }

    /// The keeper settles the LP's due requests (at the NAV now), then the LP claims what is claimable. A settle may
    /// revert only for the reasons the vault names (NAV zero for a deposit, a request worth nothing).
    function lpSettle(uint256 seed) external fresh {
        address keeper = actors[actors.length - 1];
        uint256 delay = vault.lpSettleDelay();
        uint256 at = vault.pendingDeposit(lp).requestedAt;
        if (at != 0 && block.timestamp >= at + delay) {
            vm.prank(keeper);
            try vault.settleDeposit(lp) {} catch {}
        }
        at = vault.pendingRedeem(lp).requestedAt;
        if (at != 0 && block.timestamp >= at + delay) {
            vm.prank(keeper);
            try vault.settleRedeem(lp) {} catch {}
        }
        // Claiming new shares restarts the cooldown: only one time in two.
        uint256 claimShares = vault.claimableDeposit(lp).shares;
        if (claimShares != 0 && seed % 2 == 0) {
            vm.prank(lp);
            vault.mint(claimShares, lp, lp);
        }
        uint256 claimRedeem = vault.claimableRedeem(lp).shares;
        if (claimRedeem != 0) {
            vm.prank(lp);
            vault.redeem(claimRedeem, lp, lp);
        }
        _record(address(0), false);
    }

    // ================================================================ single-call checks

    /// @dev SPEC 12: after a successful debit an immediate liquidation of the cross account (and of
    /// `isolatedMarket`, if given) must be refused.
    /// `checkCross`: false for a debit that only credits the cross balance (removeMargin), which cannot make the
    /// cross account liquidatable; an account that already was is not this debit's doing.
    function _liquidateAfterDebit(address actor, uint256 isolatedMarket, bool checkCross, string memory what) internal {
        (, uint256 crossMarkets) = engine.getAccount(actor);
        if (!checkCross) crossMarkets = 0;
        address keeper = actors[actors.length - 1];
        for (uint256 market; market < 2; ++market) {
            bool isCross = crossMarkets & (1 << market) != 0;
            if (!isCross && market != isolatedMarket) continue;
            if (engine.getPosition(actor, market).size == 0) continue;
            _snapshot(actor);
            vm.prank(keeper);
            try engine.liquidate(actor, market, new bytes[](0)) {
                ++liquidations;
                debitViolation = string.concat("a successful ", what, " left the account or position liquidatable");
            } catch {
            _discard();
        }
            _record(actor, false);
            if (isCross) crossMarkets = 0; // the cross account is one unit: checked once
        }
    }

    function _checkProtocolBounds(ProtocolParams memory p) internal {
        if (p.keeperRewardMin > MAX_KEEPER_REWARD_MIN) boundsViolation = "accepted keeperRewardMin above $50";
        if (p.keeperRewardMax > MAX_KEEPER_REWARD_MAX) boundsViolation = "accepted keeperRewardMax above $10,000";
    }

    function _checkMarketBounds(MarketParams memory p, MarketParams memory old) internal {
        // A margin ratio moves by at most a quarter of itself per change, and MMR never above the old IMR (SPEC: a
        // bounded step, so that no single change makes healthy positions liquidatable).
        if (!_withinStep(old.maintenanceMarginRatio, p.maintenanceMarginRatio)) boundsViolation = "MMR step above 25 %";
        if (!_withinStep(old.initialMarginRatio, p.initialMarginRatio)) boundsViolation = "IMR step above 25 %";
        if (p.maintenanceMarginRatio > old.initialMarginRatio) boundsViolation = "MMR raised above the old IMR";
        if (p.initialMarginRatio < 0.01e18) boundsViolation = "accepted leverage above 100x";
        if (p.maintenanceMarginRatio >= p.initialMarginRatio) boundsViolation = "accepted MMR >= IMR";
        if (p.makerFeeRate > 0.01e18 || p.takerFeeRate > 0.01e18) boundsViolation = "accepted a fee above 1 %";
        if (uint256(p.keeperRewardRatio) + p.insuranceShare > p.maintenanceMarginRatio) {
            boundsViolation = "accepted MMR below keeper ratio + insurance share";
        }
        if (p.maxLongOpenInterest > p.skewScale / 10 || p.maxShortOpenInterest > p.skewScale / 10) {
            boundsViolation = "accepted an open-interest cap above K / 10";
        }
    }

    // ================================================================ ghost ledger

    /// @dev The first (trader, market) from the seeds on whose position is liquidatable (`liquidatable`) or in
    /// profit at the index (otherwise); the seeds themselves if none is.
    function _findPosition(uint256 actorSeed, uint256 marketSeed, bool liquidatable)
        internal
        view
        returns (uint256, uint256)
    {
        uint256 traders = actors.length - 1;
        for (uint256 i; i < 2 * traders; ++i) {
            uint256 a = (actorSeed % traders + i / 2) % traders;
            uint256 m = (marketSeed + i) % 2;
            Position memory pos = engine.getPosition(actors[a], m);
            if (pos.size == 0) continue;
            bool hit;
            if (liquidatable) {
                hit = engine.positionHealth(actors[a], m).liquidatable;
            } else {
                uint256 price = engine.indexPrice(m);
                hit = pos.size > 0 ? price > pos.entryPrice : price < pos.entryPrice;
            }
            if (hit) return (a, m);
        }
        return (actorSeed, marketSeed);
    }

    /// @dev The recorder keeps the logs of a call that reverted; they describe no state change, so a failed call's
    /// catch drops them before the ghost ledger folds in the action's events.
    function _discard() internal {
        vm.getRecordedLogs();
    }

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
                lastReward = reward;
                lastRemainder = remainder;
                ++liquidatedEvents;
            } else if (topic == IPerpEngine.BadDebtCovered.selector) {
                (uint256 shortfall, uint256 fromInsurance, uint256 fromVault) =
                    abi.decode(log.data, (uint256, uint256, uint256));
                uncoveredByLastCover = shortfall - fromInsurance - fromVault;
                if (byTrade) forgivenByTrade[trader] += int256(shortfall);
                ++badDebts;
                totalBadDebtFromInsurance += int256(fromInsurance);
                totalBadDebtFromVault += int256(fromVault);
            } else if (topic == IPerpEngine.ProfitClaimCreated.selector) {
                totalClaimsCreated += int256(abi.decode(log.data, (uint256)));
            } else if (topic == IPerpEngine.ProfitClaimPaid.selector) {
                (uint256 paid,) = abi.decode(log.data, (uint256, uint256));
                totalClaimsPaid += int256(paid);
            } else if (topic == IPerpEngine.DeficitIncreased.selector) {
                (uint256 amount,) = abi.decode(log.data, (uint256, uint256));
                if (amount != uncoveredByLastCover) liquidationDeficit += int256(amount);
                uncoveredByLastCover = 0;
            } else if (topic == IPerpEngine.DeficitRepaid.selector) {
                (uint256 repaid,) = abi.decode(log.data, (uint256, uint256));
                totalDeficitRepaid += int256(repaid);
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

    /// @dev Sets the market's answer to `bps` basis points away from the current one, within [$1, $10M] (inside
    /// the adapter's band).
    function _movePrice(uint256 market, int256 bps) internal {
        MockAggregator aggregator = aggregators[market];
        int256 next = aggregator.latestAnswer() * (10_000 + bps) / 10_000;
        if (next < 1e8) next = 1e8;
        if (next > 1e15) next = 1e15;
        aggregator.setAnswer(int96(next));
        _record(address(0), false);
    }

    function _withinStep(uint256 current, uint256 next) internal pure returns (bool) {
        uint256 step = current * MAX_MARGIN_STEP / WAD;
        return next <= current + step && next + step >= current;
    }

    /// @dev A ratio moved by up to +-50 % of itself.
    function _step(uint256 ratio, uint256 seed) internal pure returns (uint256) {
        uint256 delta = seed % (ratio + 1);
        return seed % 2 == 0 ? ratio + delta / 2 : ratio - delta / 2;
    }

    function _abs(int256 x) internal pure returns (uint256) {
        return uint256(x < 0 ? -x : x);
    }

    function _addr(bytes32 topic) internal pure returns (address) {
        return address(uint160(uint256(topic)));
    }
}
