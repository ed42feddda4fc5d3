// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MarketState, Position} from "../../../contracts/interfaces/IPerpEngine.sol";
import {MockAggregator} from "../../../contracts/mocks/MockAggregator.sol";
import {PerpMath} from "../../../contracts/libraries/PerpMath.sol";
import {ProtocolSetup} from "../utils/ProtocolSetup.sol";
import {Handler} from "./Handler.sol";

/// @notice SPEC's six invariants, checked after every call of random sequences (trades in both margin modes, price
/// moves and gaps, time warps, liquidations, LP and insurance flows).
contract PerpInvariantsTest is ProtocolSetup {
    Handler internal handler;
    address internal constant LP = address(0x7000);
    int256 internal initialVaultCash;
    int256 internal initialInsurance;

    function setUp() public {
        deployProtocol(1 hours);
        fund(LP, 100_000_000e6);
        vm.prank(LP);
        vault.deposit(2_000_000e6, LP);
        address[] memory actors = new address[](5);
        for (uint256 i; i < 5; ++i) {
            actors[i] = address(uint160(0x1000 + i)); // four traders, then the keeper
            fund(actors[i], 100_000_000e6);
        }
        initialVaultCash = engine.vaultCash();
        initialInsurance = int256(engine.insuranceFund());
        handler = new Handler(engine, vault, usdc, aggregators, LP, actors);
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
            owed += balance;
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
            + handler.totalBadDebtFromVault();
        assertGe(dust, 0, "negative funding dust");
        assertLe(dust, int256(handler.settlements()), "more dust than settlements");
        assertEq(dust, handler.expectedDust(), "insurance fund does not hold exactly the funding dust");
        assertEq(vaultFunding, handler.expectedVaultFunding(), "vault funding is not the rounded-down share");
        assertEq(handler.totalFunding() - vaultFunding, dust, "traders' funding != vault's + dust");
    }

    /// 3 and 4 are checked inside each liquidation and isolated trade; a violation is recorded and reported here.
    function invariant_liquidationAndIsolation() public view {
        string memory violation = handler.violation();
        assertTrue(bytes(violation).length == 0, violation);
    }

    /// 5. Open-interest and entry aggregates equal the sums over positions.
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
            assertEq(holdings + handler.withdrawn(actor), entitled, "trader's books do not balance");
        }
    }

    /// The vault's NAV view never reverts, whatever state the sequence reached.
    function invariant_vaultViewsNeverRevert() public view {
        vault.totalAssets();
        vault.maxWithdraw(LP);
    }
}
