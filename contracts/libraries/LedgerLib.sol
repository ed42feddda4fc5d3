// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IPerpEngine, MarketState, Position} from "../interfaces/IPerpEngine.sol";
import {EngineState, Market, Account, Ledger, Claim, ClaimQueue} from "./EngineState.sol";
import {FixedPointMath as FPM} from "./FixedPointMath.sol";
import {PerpMath} from "./PerpMath.sol";
import {MarketLib} from "./MarketLib.sol";

/// @title LedgerLib
/// @notice Bookings between traders, the LP vault and the insurance fund: a trade's or a close's effect on
/// the ledgers, cross balances and the receivable, profit claims, the deficit and the bad-debt waterfall.
/// Internal: compiled into each user. One of the five concerns v1's `AccountingLib` mixed.
library LedgerLib {
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @dev What closing one position did, for the caller to book.
    struct Close {
        int256 pnl;
        int256 fundingPaid;
        int256 fundingToVault;
        int256 markChange;
    }

    /// @dev Books a trade's or a close's effect on the ledgers in one read and one write of their slot: the vault is
    /// the counterparty of PnL and funding, fees are split by `insuranceFeeShare`, funding dust is insurance's, and the
    /// mark notional (USD, 6 decimals) moves by `markChange`. What the vault owes `trader` beyond its cash is not
    /// paid: it becomes `trader`'s profit claim and is returned (`unpaid`) for the caller to keep out of the trader's
    /// collateral. Vault cash never goes below zero. When risk grows, the vault's free cash must back the mark
    /// notional.
    function bookTrade(
        EngineState storage s,
        address trader,
        uint256 fee,
        int256 fundingToVault,
        int256 fundingDust,
        int256 realizedPnl,
        int256 markChange,
        bool addsRisk,
        bool nets
    ) internal returns (uint256 unpaid) {
        uint256 feeToInsurance = FPM.mulWadDown(fee, s.protocol.insuranceFeeShare);
        Ledger memory ledger = s.ledger;
        int256 income = (fee - feeToInsurance).toInt256() + fundingToVault - realizedPnl;
        unpaid = unpaidOf(s, trader, nets, ledger.owes, ledger.vaultCash, income);
        int256 cash = ledger.vaultCash + income + int256(unpaid);
        ledger.vaultCash = cash.toInt96();
        ledger.insuranceFund += (feeToInsurance + uint256(fundingDust)).toUint96();
        ledger.markNotionalUsd6 = (int256(uint256(ledger.markNotionalUsd6)) + markChange).toUint256().toUint56();
        s.ledger = ledger;
        if (unpaid != 0) recordClaim(s, trader, unpaid);
        if (addsRisk) {
            uint256 required = requiredVaultCash(s, ledger.markNotionalUsd6);
            int256 available = spendableCash(s, cash, ledger.owes || unpaid != 0);
            if (required.toInt256() > available) revert IPerpEngine.InsufficientVaultLiquidity(required, available);
        }
    }

    /// @dev Vault cash (USD WAD) that `markNotionalUsd6` of mark notional requires, rounded up.
    function requiredVaultCash(EngineState storage s, uint256 markNotionalUsd6) internal view returns (uint256) {
        return FPM.mulWadUp(markNotionalUsd6 * 1e12, s.protocol.vaultBackingRatio);
    }

    /// @dev Vault cash net of what it owes: unpaid profit claims and the deficit (read only when `owes`).
    function freeVaultCash(EngineState storage s, int256 cash, bool owes) internal view returns (int256) {
        if (!owes) return cash;
        ClaimQueue memory q = s.claims;
        return cash - int256(uint256(q.total)) - int256(uint256(q.deficit));
    }

    /// @dev What the vault cannot pay of `-income` (what it owes `trader`): only cash that exists pays, other accounts'
    /// negative balances are not cash (the trader's own is netted when `nets`: the result goes to its cross balance).
    function unpaidOf(EngineState storage s, address trader, bool nets, bool owes, int256 cash, int256 income)
        internal
        view
        returns (uint256)
    {
        if (income >= 0) return 0;
        int256 uncollected = owes ? receivableOfOthers(s, trader, nets) : int256(0);
        int256 short_ = uncollected - cash - income;
        return short_ > 0 ? uint256(FPM.min(short_, -income)) : 0;
    }

    /// @dev The receivable less `trader`'s own negative cross balance when `nets` (its result goes to that balance).
    function receivableOfOthers(EngineState storage s, address trader, bool nets) internal view returns (int256 r) {
        r = s.receivable.toInt256();
        if (nets) {
            int256 own = s.accounts[trader].crossBalance;
            if (own < 0) r += own;
        }
    }

    /// @dev Free vault cash less the receivable: what may back risk or leave.
    function spendableCash(EngineState storage s, int256 cash, bool owes) internal view returns (int256) {
        if (!owes) return cash;
        return freeVaultCash(s, cash, true) - s.receivable.toInt256();
    }

    /// @dev Keeps `receivable` (the sum of negative cross balances) in step with one balance's change.
    function trackReceivable(EngineState storage s, int256 oldBalance, int256 newBalance) internal {
        if (oldBalance >= 0 && newBalance >= 0) return;
        uint256 r = s.receivable + (newBalance < 0 ? uint256(-newBalance) : 0);
        r -= oldBalance < 0 ? uint256(-oldBalance) : 0;
        s.receivable = r;
        if (r != 0) s.ledger.owes = true;
    }

    /// @dev Writes `account`, keeping the receivable in step with its cross balance.
    function storeAccount(EngineState storage s, address trader, Account memory account) internal {
        trackReceivable(s, s.accounts[trader].crossBalance, account.crossBalance);
        s.accounts[trader] = account;
    }

    /// @dev Sets `trader`'s cross balance, keeping the receivable in step.
    function setCross(EngineState storage s, address trader, int256 balance) internal {
        Account storage account = s.accounts[trader];
        trackReceivable(s, account.crossBalance, balance);
        account.crossBalance = balance.toInt96();
    }

    /// @dev Credits `amount` to `trader`'s cross balance (first paying off a negative one).
    function creditCross(EngineState storage s, address trader, uint256 amount) internal {
        Account storage account = s.accounts[trader];
        int256 old = account.crossBalance;
        int256 balance = old + amount.toInt256();
        account.crossBalance = balance.toInt96();
        if (old < 0) trackReceivable(s, old, balance);
    }

    /// @dev The one path that pays out of the vault (SPEC "Who pays a winner"): credits min(amount, vault cash) to
    /// `recipient`'s cross balance and records the rest as `recipient`'s profit claim. Returns what was credited.
    function payFromVault(EngineState storage s, address recipient, uint256 amount) internal returns (uint256 paid) {
        if (amount == 0) return 0;
        int256 cash = s.ledger.vaultCash;
        int256 spendable = s.ledger.owes ? cash - s.receivable.toInt256() : cash;
        paid = spendable > 0 ? FPM.min(uint256(spendable), amount) : 0;
        if (paid != 0) {
            s.ledger.vaultCash = (cash - paid.toInt256()).toInt96();
            creditCross(s, recipient, paid);
        }
        if (amount > paid) recordClaim(s, recipient, amount - paid);
    }

    /// @dev Queues a profit claim of `amount` for `account`.
    function recordClaim(EngineState storage s, address account, uint256 amount) internal {
        ClaimQueue memory q = s.claims;
        uint256 id = q.tail;
        s.claimAt[id] = Claim(account, amount.toUint96());
        s.claimOf[account] += amount;
        q.total = (q.total + amount).toUint96();
        q.tail = (id + 1).toUint32();
        s.claims = q;
        s.ledger.owes = true;
        emit IPerpEngine.ProfitClaimCreated(account, id, amount);
    }

    /// @dev Adds to the deficit: bad debt beyond insurance and vault cash.
    function addDeficit(EngineState storage s, address trader, uint256 amount) internal {
        uint96 total = (s.claims.deficit + amount).toUint96();
        s.claims.deficit = total;
        s.ledger.owes = true;
        emit IPerpEngine.DeficitIncreased(trader, amount, total);
    }

    /// @dev Repays the deficit, then pays up to `maxCount` claims oldest first, from vault cash. Returns how many
    /// claims received a payment. Cheap (one slot read) when nothing is owed.
    function payClaims(EngineState storage s, uint256 maxCount) internal returns (uint256 count) {
        if (!s.ledger.owes) return 0;
        int256 cashSigned = s.ledger.vaultCash;
        int256 spendable = cashSigned - s.receivable.toInt256();
        if (spendable <= 0) return 0;
        ClaimQueue memory q = s.claims;
        uint256 cash = uint256(spendable);
        if (q.deficit != 0) {
            uint256 repaid = FPM.min(cash, q.deficit);
            q.deficit -= uint96(repaid);
            cash -= repaid;
            emit IPerpEngine.DeficitRepaid(repaid, q.deficit);
        }
        while (count < maxCount && q.total != 0 && cash != 0) {
            uint256 id = q.head;
            Claim memory c = s.claimAt[id];
            uint256 pay = FPM.min(c.amount, cash);
            // unchecked: pay <= c.amount <= q.total, pay <= cash, and claimOf[c.account] >= c.amount.
            unchecked {
                c.amount -= uint96(pay);
                q.total -= uint96(pay);
                cash -= pay;
                s.claimOf[c.account] -= pay;
            }
            creditCross(s, c.account, pay);
            if (c.amount == 0) {
                delete s.claimAt[id];
                q.head = uint32(id + 1);
            } else {
                s.claimAt[id].amount = c.amount;
            }
            emit IPerpEngine.ProfitClaimPaid(c.account, id, pay, c.amount);
            ++count;
        }
        s.claims = q;
        s.ledger.vaultCash = (cashSigned - (uint256(spendable) - cash).toInt256()).toInt96();
        if (q.total == 0 && q.deficit == 0 && s.receivable == 0) s.ledger.owes = false;
    }

    /// @dev Pays a shortfall from the insurance fund, then from vault cash down to zero; the rest is the deficit
    /// (repaid from vault income first). No trader's collateral pays it.
    function coverBadDebt(EngineState storage s, address trader, uint256 shortfall) internal {
        Ledger memory ledger = s.ledger;
        uint256 fromInsurance = FPM.min(ledger.insuranceFund, shortfall);
        uint256 rest = shortfall - fromInsurance;
        uint256 fromVault = ledger.vaultCash > 0 ? FPM.min(uint256(int256(ledger.vaultCash)), rest) : 0;
        ledger.insuranceFund -= fromInsurance.toUint96();
        ledger.vaultCash -= fromVault.toInt256().toInt96();
        s.ledger = ledger;
        emit IPerpEngine.BadDebtCovered(trader, shortfall, fromInsurance, fromVault);
        if (rest > fromVault) addDeficit(s, trader, rest - fromVault);
    }

    /// @dev Closes a position at its close fill price (`fillPrice(price, skew, -size, K)`, the price the liquidation
    /// predicate values it at) with no fee: updates the market and deletes the position. The ledgers are the
    /// caller's to book from the returned `Close`.
    function closeAtFill(
        EngineState storage s,
        address trader,
        uint256 marketId,
        Position memory pos,
        MarketState memory state,
        uint256 price
    ) internal returns (Close memory c) {
        Market storage m = s.markets[marketId];
        uint256 fill = PerpMath.fillPrice(price, MarketLib.skew(state), -pos.size, m.params.skewScale);
        c.fundingPaid = PerpMath.fundingOwedUp(pos.size, state.fundingIndex, pos.lastFundingIndex);
        c.fundingToVault = PerpMath.fundingToVaultDown(pos.size, state.fundingIndex, pos.lastFundingIndex);
        c.pnl = PerpMath.pnlDown(pos.size, pos.entryPrice, fill);
        state.entryFundingSum -=
            PerpMath.entryFundingBasis(pos.size, pos.entryPrice, pos.lastFundingIndex).toInt128();
        MarketLib.addOpenInterest(state, -pos.size, false);
        c.markChange = MarketLib.storeState(m, state, price);
        // Liquidation and ADL close here: the position's reduce-only orders are void from now on (SPEC invariant 10).
        // Only the epoch stays: its slot was non-zero, so this writes no fresh slot.
        s.positions[trader][marketId] = Position(0, 0, 0, 0, s.positions[trader][marketId].epoch + 1);
        emit IPerpEngine.PositionClosedAtIndex(
            trader, marketId, pos.size, fill, c.pnl, c.fundingPaid, state.fundingIndex
        );
    }
}
