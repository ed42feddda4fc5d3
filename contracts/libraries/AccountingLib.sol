// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {
    IPerpEngine, MarketParams, MarketState, Position, ProtocolParams, NO_MARKET
} from "../interfaces/IPerpEngine.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {EngineState, Market, Account, Ledger, Valuation, Claim, ClaimQueue} from "./EngineState.sol";
import {FixedPointMath as FPM} from "./FixedPointMath.sol";
import {PerpMath} from "./PerpMath.sol";

/// @title AccountingLib
/// @notice What the engine and its external libraries share: funding accrual, valuation of positions and
/// accounts, and the bookings between traders, the vault and the insurance fund. Internal: compiled into each user.
library AccountingLib {
    using SafeCast for uint256;
    using SafeCast for int256;

    uint256 internal constant NO_OVERRIDE = NO_MARKET;

    // ---------------------------------------------------------------- markets and funding

    /// @dev A listed market always has a feed; checking it (a slot every caller reads next anyway) is cheaper than
    /// reading `marketCount`.
    function market(EngineState storage s, uint256 marketId) internal view returns (Market storage m) {
        m = s.markets[marketId];
        if (address(m.priceFeed) == address(0)) revert IPerpEngine.UnknownMarket(marketId);
    }

    function skew(MarketState memory state) internal pure returns (int256) {
        return int256(uint256(state.longOpenInterest)) - int256(uint256(state.shortOpenInterest));
    }

    /// @dev Brings `state`'s funding index to now at index price `price`. The rate is the one in force since the
    /// last touch: it only moves with the skew, and the skew only moves when the market is touched.
    /// A last touch at or after the block time accrues nothing (issue 12): the subtraction can never underflow, so a
    /// market whose funding time is ahead of the chain's (a reorg or a clock step) can still be valued and liquidated.
    function accrueInMemory(MarketState memory state, uint256 price) internal view {
        uint256 last = state.lastFundingTime;
        if (last >= block.timestamp) return;
        uint256 elapsed;
        // unchecked: last < block.timestamp just above.
        unchecked {
            elapsed = block.timestamp - last;
        }
        state.fundingIndex =
            PerpMath.accruedFundingIndex(state.fundingIndex, state.fundingRatePerDay, price, elapsed).toInt128();
        state.lastFundingTime = uint64(block.timestamp);
    }

    /// @dev `feed.freshPrice(maxAge)`, or `feed.latestPrice()` for `maxAge == 0`.
    function priceOf(IPriceFeed feed, uint256 maxAge) internal view returns (uint256) {
        return maxAge == 0 ? feed.latestPrice() : feed.freshPrice(maxAge);
    }

    function fundingRate(MarketParams storage params, MarketState memory state) internal view returns (int256) {
        return PerpMath.fundingRatePerDay(skew(state), params.skewScale, params.fundingFactor, params.maxFundingRatePerDay);
    }

    /// @dev Writes `state` back after a change of skew or index: the new rate and the price it was touched at.
    /// Returns the change of the market's mark notional (USD, 6 decimals) for the caller to book on the ledger.
    function storeState(Market storage m, MarketState memory state, uint256 price) internal returns (int256) {
        MarketState storage stored = m.state;
        uint256 markBefore = PerpMath.markNotionalUsd6Up(
            uint256(stored.longOpenInterest) + stored.shortOpenInterest, stored.lastPrice
        );
        state.fundingRatePerDay = fundingRate(m.params, state).toInt64();
        state.lastPrice = price.toUint128();
        m.state = state;
        uint256 markAfter =
            PerpMath.markNotionalUsd6Up(uint256(state.longOpenInterest) + state.shortOpenInterest, price);
        return markAfter.toInt256() - markBefore.toInt256();
    }

    /// @dev Moves a leg of `delta` into (opening) or out of (closing) its side's open interest.
    function addOpenInterest(MarketState memory state, int256 delta, bool opening) internal pure {
        uint128 size = FPM.abs(delta).toUint128();
        // A long opens with delta > 0 and closes with delta < 0.
        if ((delta > 0) == opening) {
            state.longOpenInterest = opening ? state.longOpenInterest + size : state.longOpenInterest - size;
        } else {
            state.shortOpenInterest = opening ? state.shortOpenInterest + size : state.shortOpenInterest - size;
        }
    }

    // ---------------------------------------------------------------- valuation

    /// @dev Values one isolated position with its market's state accrued to now at index price `price`.
    function valueIsolated(
        EngineState storage s,
        Position memory pos,
        MarketParams storage params,
        MarketState memory state,
        uint256 price
    ) internal view returns (Valuation memory v) {
        int256 margin = int256(uint256(pos.margin));
        v.equity = margin;
        v.equityAtClose = margin;
        v.equityNoProfit = margin;
        addPosition(v, pos, params.skewScale, params.initialMarginRatio, params.maintenanceMarginRatio, state, price);
        v.maintenanceMargin += s.protocol.keeperRewardMin;
    }

    /// @dev Values a cross account: `crossBalance` plus every position in `crossMarkets`, each at its market's index
    /// price (`overridePrice` for market `overrideId`) with funding accrued to now.
    function valueCross(
        EngineState storage s,
        address trader,
        uint256 crossMarkets,
        int256 crossBalance,
        uint256 overrideId,
        uint256 overridePrice
    ) internal view returns (Valuation memory v) {
        return valueCrossAt(s, trader, crossMarkets, crossBalance, overrideId, overridePrice, 0);
    }

    /// @dev `valueCross` with every price read (but the override) by `freshPrice(maxAge)` when `maxAge != 0`
    /// (liquidation and deleveraging), by `latestPrice()` (the feed's own staleness bound) otherwise.
    /// Each position is valued straight from its slots (`addStoredPosition`): up to 16 markets a transaction, the
    /// memory copies of position and state that `addPosition` takes cost more than the math.
    function valueCrossAt(
        EngineState storage s,
        address trader,
        uint256 crossMarkets,
        int256 crossBalance,
        uint256 overrideId,
        uint256 overridePrice,
        uint256 maxAge
    ) internal view returns (Valuation memory v) {
        v.equity = crossBalance;
        v.equityAtClose = crossBalance;
        v.equityNoProfit = crossBalance;
        mapping(uint256 => Position) storage positions = s.positions[trader];
        while (crossMarkets != 0) {
            uint256 id = lowestBit(crossMarkets);
            crossMarkets &= crossMarkets - 1;
            Market storage m = s.markets[id];
            uint256 price = id == overrideId ? overridePrice : priceOf(m.priceFeed, maxAge);
            addStoredPosition(v, positions[id], m.params, m.state, price);
        }
        // The minimum keeper reward per position: liquidating 16 positions costs a keeper 16 closes of gas.
        v.maintenanceMargin += s.protocol.keeperRewardMin * v.count;
    }

    /// @dev `addPosition` of a stored position, with its market's funding accrued to now at `price` as
    /// `accrueInMemory` does, reading each field once from storage.
    function addStoredPosition(
        Valuation memory v,
        Position storage pos,
        MarketParams storage params,
        MarketState storage stored,
        uint256 price
    ) internal view {
        int256 index = stored.fundingIndex;
        uint256 last = stored.lastFundingTime;
        if (last < block.timestamp) {
            // unchecked: last < block.timestamp just above.
            uint256 elapsed;
            unchecked {
                elapsed = block.timestamp - last;
            }
            index = int256(PerpMath.accruedFundingIndex(index, stored.fundingRatePerDay, price, elapsed).toInt128());
        }
        int256 size = pos.size;
        addTerms(
            v,
            size,
            pos.entryPrice,
            PerpMath.fundingOwedUp(size, index, pos.lastFundingIndex),
            int256(uint256(stored.longOpenInterest)) - int256(uint256(stored.shortOpenInterest)),
            params.skewScale,
            params.initialMarginRatio,
            params.maintenanceMarginRatio,
            price
        );
    }

    function addPosition(
        Valuation memory v,
        Position memory pos,
        uint256 skewScale,
        uint256 initialMarginRatio,
        uint256 maintenanceMarginRatio,
        MarketState memory state,
        uint256 price
    ) internal pure {
        addTerms(
            v,
            pos.size,
            pos.entryPrice,
            PerpMath.fundingOwedUp(pos.size, state.fundingIndex, pos.lastFundingIndex),
            skew(state),
            skewScale,
            initialMarginRatio,
            maintenanceMarginRatio,
            price
        );
    }

    /// @dev Adds one position (`funding` owed, the market's `skew_`) to `v`: value at the index and at its close
    /// fill, and its requirements.
    function addTerms(
        Valuation memory v,
        int256 size,
        uint256 entry,
        int256 funding,
        int256 skew_,
        uint256 skewScale,
        uint256 initialMarginRatio,
        uint256 maintenanceMarginRatio,
        uint256 price
    ) internal pure {
        int256 pnl = PerpMath.pnlDown(size, entry, price);
        uint256 closeFill = PerpMath.fillPrice(price, skew_, -size, skewScale);
        int256 valueAtClose = PerpMath.pnlDown(size, entry, closeFill) - funding;
        // Computed once for both requirements and the notional (`requirementUp` and `notionalDown` of the same).
        uint256 sizePrice = FPM.abs(size) * price;
        uint256 initialMargin = FPM.mulDivUp(sizePrice, initialMarginRatio, 1e36);
        uint256 maintenanceMargin = FPM.mulDivUp(sizePrice, maintenanceMarginRatio, 1e36);
        // unchecked: every term is below 2^200 in magnitude (128-bit sizes and prices, WAD ratios), a sum of at most
        // 16 of them and a 128-bit balance is far from 2^255.
        unchecked {
            v.equity += pnl - funding;
            v.equityAtClose += valueAtClose;
            if (valueAtClose < 0) v.equityNoProfit += valueAtClose;
            v.initialMargin += initialMargin;
            v.maintenanceMargin += maintenanceMargin;
            v.notional += sizePrice / 1e18;
            v.pnl += pnl;
            v.funding += funding;
            v.count += 1;
        }
    }

    /// @dev SPEC "Liquidation": equity with each position valued at the price it would close at (its fill price for
    /// -size, premium included) below maintenance. Liquidation closes at exactly those prices.
    function isLiquidatable(Valuation memory v) internal pure returns (bool) {
        return v.count != 0 && v.equityAtClose < v.maintenanceMargin.toInt256();
    }

    /// @dev Checks a debit of `amount` (WAD) from the cross balance and returns the new balance for the caller to
    /// write (SPEC "Margin accounts", the debit rule). With cross positions open: not liquidatable before; afterwards
    /// equity at close prices counting no positive value >= initial margin, and equity both at the index and at close
    /// prices >= maintenance (not liquidatable afterwards, whatever side of the skew the positions are on).
    function debitCross(EngineState storage s, address trader, Account memory account, uint256 amount)
        internal
        view
        returns (int128)
    {
        if (amount == 0) revert IPerpEngine.ZeroAmount();
        if (amount.toInt256() > account.crossBalance) {
            revert IPerpEngine.InsufficientCrossBalance(account.crossBalance, amount);
        }
        if (account.crossMarkets != 0) {
            Valuation memory v = valueCross(s, trader, account.crossMarkets, account.crossBalance, NO_OVERRIDE, 0);
            if (isLiquidatable(v)) {
                revert IPerpEngine.AccountLiquidatable(trader, v.equityAtClose, v.maintenanceMargin);
            }
            int256 debit = amount.toInt256();
            int256 equityAfter = v.equityNoProfit - debit;
            if (equityAfter < v.initialMargin.toInt256()) {
                revert IPerpEngine.DebitBelowInitialMargin(equityAfter, v.initialMargin);
            }
            equityAfter = FPM.min(v.equity, v.equityAtClose) - debit;
            if (equityAfter < v.maintenanceMargin.toInt256()) {
                revert IPerpEngine.DebitBelowMaintenanceMargin(equityAfter, v.maintenanceMargin);
            }
        }
        return account.crossBalance - amount.toInt256().toInt128();
    }

    // ---------------------------------------------------------------- bookings

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
        ProtocolParams storage protocol = s.protocol;
        uint256 feeToInsurance = FPM.mulWadDown(fee, protocol.insuranceFeeShare);
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
        account.crossBalance = balance.toInt128();
    }

    /// @dev Credits `amount` to `trader`'s cross balance (first paying off a negative one).
    function creditCross(EngineState storage s, address trader, uint256 amount) internal {
        Account storage account = s.accounts[trader];
        int256 old = account.crossBalance;
        int256 balance = old + amount.toInt256();
        account.crossBalance = balance.toInt128();
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
        uint256 fill = PerpMath.fillPrice(price, skew(state), -pos.size, m.params.skewScale);
        c.fundingPaid = PerpMath.fundingOwedUp(pos.size, state.fundingIndex, pos.lastFundingIndex);
        c.fundingToVault = PerpMath.fundingToVaultDown(pos.size, state.fundingIndex, pos.lastFundingIndex);
        c.pnl = PerpMath.pnlDown(pos.size, pos.entryPrice, fill);
        state.entryFundingSum -=
            PerpMath.entryFundingBasis(pos.size, pos.entryPrice, pos.lastFundingIndex).toInt128();
        addOpenInterest(state, -pos.size, false);
        c.markChange = storeState(m, state, price);
        // Liquidation and ADL close here: the position's reduce-only orders are void from now on (SPEC invariant 10).
        // Only the epoch stays: its slot was non-zero, so this writes no fresh slot.
        s.positions[trader][marketId] = Position(0, 0, 0, 0, s.positions[trader][marketId].epoch + 1);
        emit IPerpEngine.PositionClosedAtIndex(
            trader, marketId, pos.size, fill, c.pnl, c.fundingPaid, state.fundingIndex
        );
    }

    // ---------------------------------------------------------------- vault

    /// @dev Vault cash minus claims and deficit minus what traders would receive closing everything now, at each
    /// market's last reported price (the last touched price if the feed answers nothing valid). Never reverts on a
    /// stale feed.
    function vaultNav(EngineState storage s) internal view returns (uint256) {
        (int256 nav,,) = vaultView(s);
        return nav > 0 ? uint256(nav) : 0;
    }

    /// @dev Vault cash that may leave: free cash beyond the backing the mark notional (at reported prices) needs, and
    /// no more than keeps every market's traders' profit within `maxPnlFactor` of the NAV left.
    function vaultWithdrawable(EngineState storage s) internal view returns (uint256) {
        (int256 nav, uint256 markUsd6, uint256 adlFloor) = vaultView(s);
        int256 byBacking =
            spendableCash(s, s.ledger.vaultCash, s.ledger.owes) - requiredVaultCash(s, markUsd6).toInt256();
        int256 byDeleverage = nav - adlFloor.toInt256();
        int256 free = FPM.min(byBacking, byDeleverage);
        return free > 0 ? uint256(free) : 0;
    }

    /// @dev One pass over the markets: the NAV (signed), the mark notional at reported prices (USD, 6 decimals) and
    /// the NAV below which some market would be ADL-eligible.
    function vaultView(EngineState storage s) internal view returns (int256 nav, uint256 markUsd6, uint256 adlFloor) {
        nav = freeVaultCash(s, s.ledger.vaultCash, s.ledger.owes);
        uint256 markets = s.marketCount;
        for (uint256 id; id < markets; ++id) {
            Market storage m = s.markets[id];
            (int256 claim, uint256 mark) = marketExposure(m);
            nav -= claim;
            markUsd6 += mark;
            if (claim > 0) adlFloor = FPM.max(adlFloor, FPM.mulDivUp(uint256(claim), 1e18, m.params.maxPnlFactor));
        }
    }

    /// @dev One market's part of `vaultView`: traders' claim on the vault and the mark notional (USD, 6 decimals), at
    /// the last reported price (the last touched price if the feed answers nothing valid); zero for an empty market.
    /// Apart from the loop to keep `vaultView` within the stack.
    function marketExposure(Market storage m) internal view returns (int256 claim, uint256 markUsd6) {
        MarketState memory state = m.state;
        if (state.longOpenInterest == 0 && state.shortOpenInterest == 0 && state.entryFundingSum == 0) return (0, 0);
        uint256 price = state.lastPrice;
        try m.priceFeed.lastReportedPrice() returns (uint256 reported) {
            price = reported;
        } catch {}
        accrueInMemory(state, price);
        claim = PerpMath.tradersClaimUp(price, skew(state), m.params.skewScale, state.fundingIndex, state.entryFundingSum);
        markUsd6 = PerpMath.markNotionalUsd6Up(uint256(state.longOpenInterest) + state.shortOpenInterest, price);
    }

    // ---------------------------------------------------------------- bit maps

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
