// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MarketParams, MarketState, Position} from "../../../contracts/interfaces/IPerpEngine.sol";
import {LiquidityVault} from "../../../contracts/LiquidityVault.sol";
import {MockAggregator} from "../../../contracts/mocks/MockAggregator.sol";
import {PerpMath} from "../../../contracts/libraries/PerpMath.sol";
import {ProtocolSetup} from "../utils/ProtocolSetup.sol";
import {Handler} from "./Handler.sol";

/// @notice SPEC invariants 1-6, 11 and 12, checked after every call of random sequences (trades in both margin modes,
/// price moves and +-30 % gaps, time warps, liquidations by third parties and by the trader itself, deleveraging,
/// parameter changes within bounds, full exits, LP and insurance flows).
contract PerpInvariantsTest is ProtocolSetup {
    /// @dev `exitEveryone` reverts with this once every exit succeeded, so that its state changes are discarded.
    error EveryoneExited();

    Handler internal handler;
    address internal constant LP = address(0x7000);
    int256 internal initialVaultCash;
    int256 internal initialInsurance;

    function setUp() public {
        deployProtocol(1 hours);
        fund(LP, 100_000_000e6);
        lpDepositNow(LP, 500_000e6);
        address[] memory actors = new address[](5);
        for (uint256 i; i < 5; ++i) {
            actors[i] = address(uint160(0x1000 + i)); // four traders, then the keeper
            fund(actors[i], 100_000_000e6);
        }
        // Deleveraging starts at a traders' profit of 10 % of NAV (instead of 50 %), so that sequences reach it;
        // `changeParams` moves it from there.
        for (uint256 market; market < 2; ++market) {
            (,, MarketParams memory params,) = engine.getMarket(market);
            params.maxPnlFactor = 0.1e18;
            engine.setMarketParams(market, params);
        }
        initialVaultCash = engine.vaultCash();
        initialInsurance = int256(engine.insuranceFund());
        handler = new Handler(engine, vault, usdc, aggregators, LP, address(this), actors);
        vm.label(address(handler), "Handler");
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// 1. Solvency: the engine's tokens cover every ledger, exactly (no rounding leaks value either way), and a
    /// negative cross balance only exists while cross positions carry it.
    function invariant_solvency() public view {
        int256 owed = engine.vaultCash() + int256(engine.insuranceFund());
        for (uint256 i; i < handler.actorCount(); ++i) {
            address actor = handler.actorAt(i);
            (int256 balance, uint256 crossMarkets) = engine.getAccount(actor);
            // Order escrow is owed to traders like a cross balance (zero unless an order book is set).
            owed += balance + int256(engine.orderEscrow(actor));
            if (balance < 0) assertTrue(crossMarkets != 0, "negative cross balance without cross positions");
            for (uint256 market; market < 2; ++market) owed += int256(uint256(engine.getPosition(actor, market).margin));
        }
        int256 held = int256(usdc.balanceOf(address(engine)) * 1e12);
        assertEq(held, owed, "token balance != sum of ledgers");
    }

    /// 2. Funding is zero-sum up to dust, and the dust is in the insurance fund: the insurance fund holds exactly its
    /// inflows plus the dust, the vault exactly its flows plus its funding, and what traders paid equals the vault's
    /// funding plus the dust.
    function invariant_fundingZeroSum() public view {
        int256 dust = int256(engine.insuranceFund()) - initialInsurance - handler.insuranceTopUps()
            - handler.totalFeeToInsurance() - handler.totalInsurancePenalties() + handler.totalBadDebtFromInsurance();
        int256 vaultFunding = engine.vaultCash() - initialVaultCash - handler.vaultDeposits()
            + handler.vaultWithdrawals() - (handler.totalFees() - handler.totalFeeToInsurance()) + handler.totalPnl()
            + handler.totalBadDebtFromVault() - handler.totalClaimsCreated() + handler.totalClaimsPaid()
            + handler.totalDeficitRepaid() - handler.liquidationDeficit();
        assertGe(dust, 0, "negative funding dust");
        assertLe(dust, int256(handler.settlements()), "more dust than settlements");
        assertEq(dust, handler.expectedDust(), "insurance fund does not hold exactly the funding dust");
        assertEq(vaultFunding, handler.expectedVaultFunding(), "vault funding is not the rounded-down share");
        assertEq(handler.totalFunding() - vaultFunding, dust, "traders' funding != vault's + dust");
    }

    /// 3, 4, 11 and 12 as properties of one call, checked by the handler inside the call and recorded:
    /// - 3 and 4: a liquidation succeeds exactly when the view says liquidatable; isolation holds;
    /// - 12: every liquidation credits the whole reward to the keeper and the whole remainder to the trader, also when
    ///   the keeper is the trader (cross or isolated): a keeper liquidating itself loses nothing, strands nothing;
    /// - 12: a successful debit (withdraw, addMargin, removeMargin, isolated open) is followed at once by a
    ///   liquidation attempt of the account and the position, which must be refused;
    /// - 11: closing a position is never refused, and a free balance (trader, or what `maxWithdraw` promises an LP)
    ///   can always be withdrawn, by every actor in any order;
    /// - governance: whatever parameter set the engine accepts lies within SPEC's hard bounds.
    /// (One invariant function, not five: each runs its own campaign, and the campaigns are what costs time.)
    function invariant_perCallProperties() public view {
        _noViolation(handler.violation());
        _noViolation(handler.creditViolation());
        _noViolation(handler.debitViolation());
        _noViolation(handler.exitViolation());
        _noViolation(handler.boundsViolation());
    }

    function _noViolation(string memory violation) internal pure {
        assertTrue(bytes(violation).length == 0, violation);
    }

    /// 5. Open-interest and entry aggregates equal the sums over positions (and the vault views never revert).
    function invariant_aggregates() public view {
        uint256 markNotional;
        for (uint256 market; market < 2; ++market) {
            (,,, MarketState memory state) = engine.getMarket(market);
            uint256 longs;
            uint256 shorts;
            int256 entryFunding;
            for (uint256 i; i < handler.actorCount(); ++i) {
                Position memory pos = engine.getPosition(handler.actorAt(i), market);
                if (pos.size > 0) longs += uint256(int256(pos.size));
                else shorts += uint256(-int256(pos.size));
                entryFunding += PerpMath.entryFundingBasis(pos.size, pos.entryPrice, pos.lastFundingIndex);
            }
            markNotional += PerpMath.markNotionalUsd6Up(longs + shorts, state.lastPrice) * 1e12;
            assertEq(state.longOpenInterest, longs, "long open interest");
            assertEq(state.shortOpenInterest, shorts, "short open interest");
            assertEq(int256(state.entryFundingSum), entryFunding, "entry-funding sum");
        }
        assertEq(engine.totalMarkNotional(), markNotional, "total mark notional");
        uint256 claims;
        for (uint256 i; i < handler.actorCount(); ++i) claims += engine.profitClaim(handler.actorAt(i));
        assertEq(engine.totalProfitClaims(), claims, "total profit claims != sum of the accounts' claims");
        // The vault's NAV views never revert, whatever state the sequence reached.
        vault.totalAssets();
        vault.maxWithdraw(LP);
    }

    /// 6. Conservation per trader: what it holds plus what it withdrew is exactly what it deposited plus realised PnL,
    /// keeper rewards, liquidation remainders and forgiven debt, minus fees, funding and liquidation penalties.
    /// (SPEC's inequality follows: penalties are never negative.)
    function invariant_conservation() public view {
        for (uint256 i; i < handler.actorCount(); ++i) {
            address actor = handler.actorAt(i);
            (int256 holdings,) = engine.getAccount(actor);
            for (uint256 market; market < 2; ++market) holdings += int256(uint256(engine.getPosition(actor, market).margin));
            int256 entitled = handler.deposited(actor) + handler.realizedPnl(actor) - handler.feesPaid(actor)
                - handler.fundingPaid(actor) + handler.keeperRewards(actor) + handler.liquidationAdjustment(actor)
                + handler.forgivenByTrade(actor);
            // A profit the vault could not pay at once is the trader's claim until vault income pays it.
            holdings += int256(engine.profitClaim(actor));
            assertEq(holdings + handler.withdrawn(actor), entitled, "trader's books do not balance");
        }
    }

    /// 11. Vault cash never goes below zero (a winner is paid from vault cash and only from it), and from whatever
    /// state the sequence reached: every account with no cross position withdraws its whole balance at once, then
    /// every trader closes everything and withdraws the rest, one after the other, and the LP then withdraws what
    /// `maxWithdraw` promises. (Invariant 1 already nets the ledgers exactly against the tokens held.) The exits run
    /// as a call that reverts at the end, so that the state is unchanged.
    function invariant_winnersPaidFromVaultCash() public {
        assertGe(engine.vaultCash(), 0, "vault cash below zero");
        try this.exitEveryone() {
            revert("exitEveryone returned");
        } catch (bytes memory reason) {
            vm.getRecordedLogs(); // the sandbox's logs are recorded even though it reverted: drop them
            if (bytes4(reason) != EveryoneExited.selector) {
                // Bubble the failure (an Error(string) from exitEveryone, or the engine's custom error).
                assembly {
                    revert(add(reason, 32), mload(reason))
                }
            }
        }
    }

    /// @dev Settles the LP's due redemption; only `ZeroSettlement` (its shares are worth nothing now: the NAV is gone)
    /// may stop it, anything else fails the invariant.
    function _settleLpRedeem() internal {
        try vault.settleRedeem(LP) {}
        catch (bytes memory reason) {
            if (bytes4(reason) != LiquidityVault.ZeroSettlement.selector) {
                assembly {
                    revert(add(reason, 32), mload(reason))
                }
            }
        }
    }

    /// @dev Closes every position and withdraws every balance, then reverts with `EveryoneExited`.
    function exitEveryone() external {
        // Bystanders first: a balance with no cross position behind it is free now, whatever others hold.
        for (uint256 i; i < handler.actorCount(); ++i) {
            address actor = handler.actorAt(i);
            (int256 balance, uint256 crossMarkets) = engine.getAccount(actor);
            if (crossMarkets != 0 || balance < 1e12) continue;
            vm.prank(actor);
            engine.withdraw(uint256(balance) / 1e12, actor, new bytes[](0));
        }
        for (uint256 i; i < handler.actorCount(); ++i) {
            address actor = handler.actorAt(i);
            for (uint256 market; market < 2; ++market) {
                Position memory pos = engine.getPosition(actor, market);
                if (pos.size == 0) continue;
                (, uint256 crossMarkets) = engine.getAccount(actor);
                vm.prank(actor);
                engine.trade(
                    market, -int256(pos.size), pos.size > 0 ? 0 : type(uint256).max, 0, crossMarkets & (1 << market) == 0
                );
            }
        }
        for (uint256 i; i < handler.actorCount(); ++i) {
            address actor = handler.actorAt(i);
            (int256 balance,) = engine.getAccount(actor);
            assertGe(balance, 0, "negative balance with no position left");
            if (balance < 1e12) continue;
            vm.prank(actor);
            engine.withdraw(uint256(balance) / 1e12, actor, new bytes[](0));
        }
        // The LP last, through the request flow: a redemption the sequence left pending is settled first (after its
        // delay), then what `maxRedeem` reports is requested, settled and claimed.
        uint256 delay = vault.lpSettleDelay();
        uint256 requestedAt = vault.pendingRedeem(LP).requestedAt;
        if (requestedAt != 0) {
            if (block.timestamp < requestedAt + delay) vm.warp(requestedAt + delay);
            _settleLpRedeem();
        }
        uint256 lpMax = vault.maxRedeem(LP);
        if (lpMax != 0 && vault.pendingRedeem(LP).requestedAt == 0) {
            vm.prank(LP);
            vault.requestRedeem(lpMax, LP, LP);
            // From the stored request time: under viaIR a second read of block.timestamp in this frame may be the
            // first one's value.
            vm.warp(vault.pendingRedeem(LP).requestedAt + delay);
            _settleLpRedeem();
        }
        uint256 claimable = vault.claimableRedeem(LP).shares;
        if (claimable != 0) {
            vm.prank(LP);
            vault.redeem(claimable, LP, LP);
        }
        // The handler folds recorded logs into its ghost ledger: drop this call's.
        vm.getRecordedLogs();
        revert EveryoneExited();
    }
}
