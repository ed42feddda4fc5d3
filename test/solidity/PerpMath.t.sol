// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PerpMath} from "../../contracts/libraries/PerpMath.sol";
import {FixedPointMath as FPM} from "../../contracts/libraries/FixedPointMath.sol";
import {Test} from "./utils/Test.sol";

/// @notice Fuzz tests of the pricing, PnL, funding and margin formulas: bounds, and every rounding in the
/// protocol's favour.
contract PerpMathTest is Test {
    uint256 internal constant WAD = 1e18;

    // Realistic but wide domains: prices $1e-6..$1e9, skew scales 1..1e12 units, sizes within K / 10.
    function _price(uint256 seed) internal pure returns (uint256) {
        return bound(seed, 1e12, 1e27);
    }

    function _scale(uint256 seed) internal pure returns (uint256) {
        return bound(seed, 1e18, 1e30);
    }

    function _sizeWithin(int256 seed, uint256 limit) internal pure returns (int256) {
        return boundInt(seed, -int256(limit), int256(limit));
    }

    /// The fill is p * (1 + (2s + d) / 2K) rounded against the trader, within one wei of the exact value.
    function testFuzz_fillPrice_roundsAgainstTheTrader(uint256 priceSeed, uint256 scaleSeed, int256 skewSeed, int256 deltaSeed)
        public
        pure
    {
        uint256 price = _price(priceSeed);
        uint256 k = _scale(scaleSeed);
        int256 skew = _sizeWithin(skewSeed, k / 10);
        // Both ends of the trade within the open-interest bound K / 10, as the caps guarantee.
        int256 delta = _sizeWithin(deltaSeed, k / 10) - skew;
        if (delta == 0) delta = skew > 0 ? -1 : int256(1);
        uint256 fill = PerpMath.fillPrice(price, skew, delta, k);
        // exact = price * (2K + 2s + d) / 2K; compare fill * 2K with price * (2K + 2s + d) (both fit in uint256).
        int256 exactTimes2K = int256(price) * (int256(2 * k) + 2 * skew + delta);
        int256 fillTimes2K = int256(fill) * int256(2 * k);
        if (delta > 0) {
            assertGe(fillTimes2K, exactTimes2K, "buy fill below exact");
            assertLe(fillTimes2K - exactTimes2K, int256(2 * k) - 1, "buy fill more than 1 wei above exact");
        } else {
            assertLe(fillTimes2K, exactTimes2K, "sell fill above exact");
            assertLe(exactTimes2K - fillTimes2K, int256(2 * k) - 1, "sell fill more than 1 wei below exact");
        }
        // |premium| <= 10 % when both ends are within K / 10: fill within [0.9p, 1.1p] (plus rounding).
        assertGe(fill, price * 9 / 10, "fill below 0.9p");
        assertLe(fill, price * 11 / 10 + 1, "fill above 1.1p");
    }

    /// Buying more never fills cheaper: the fill is non-decreasing in the trade size for a given skew.
    function testFuzz_fillPrice_monotoneInSize(uint256 priceSeed, uint256 scaleSeed, int256 skewSeed, uint256 a, uint256 b)
        public
        pure
    {
        uint256 price = _price(priceSeed);
        uint256 k = _scale(scaleSeed);
        int256 skew = _sizeWithin(skewSeed, k / 20);
        uint256 small = bound(a, 1, k / 20);
        uint256 large = bound(b, small, k / 20);
        assertLe(
            PerpMath.fillPrice(price, skew, int256(small), k),
            PerpMath.fillPrice(price, skew, int256(large), k),
            "larger buy filled cheaper"
        );
    }

    /// Opening and closing the same size at an unchanged index never makes money (premium round trip + fees).
    function testFuzz_roundTrip_neverProfits(uint256 priceSeed, uint256 scaleSeed, int256 skewSeed, int256 deltaSeed)
        public
        pure
    {
        uint256 price = _price(priceSeed);
        uint256 k = _scale(scaleSeed);
        int256 skew = _sizeWithin(skewSeed, k / 20);
        int256 delta = _sizeWithin(deltaSeed, k / 20);
        if (delta == 0) delta = -1;
        uint256 openFill = PerpMath.fillPrice(price, skew, delta, k);
        uint256 closeFill = PerpMath.fillPrice(price, skew + delta, -delta, k);
        int256 pnl = PerpMath.pnlDown(delta, openFill, closeFill);
        assertLe(pnl, 0, "round trip profit");
    }

    /// PnL rounds down; a long and an equal short at the same entry never create value together.
    function testFuzz_pnl_roundsDown(int256 sizeSeed, uint256 entrySeed, uint256 priceSeed) public pure {
        int256 size = _sizeWithin(sizeSeed, 1e30);
        uint256 entry = _price(entrySeed);
        uint256 price = _price(priceSeed);
        int256 pnl = PerpMath.pnlDown(size, entry, price);
        int256 exact = size * (int256(price) - int256(entry)); // WAD^2 scale, fits in int256
        assertLe(pnl * int256(WAD), exact, "pnl rounded up");
        assertGe(pnl * int256(WAD), exact - int256(WAD) + 1, "pnl off by more than 1 wei");
        int256 mirror = PerpMath.pnlDown(-size, entry, price);
        assertLe(pnl + mirror, 0, "long + short created value");
        assertGe(pnl + mirror, -1, "long + short lost more than 1 wei");
    }

    /// Funding: the trader pays (rounded up) at least what the vault receives (rounded down); dust is 0 or 1 wei; a
    /// long and an equal short never receive more than they pay together.
    function testFuzz_funding_dustIsNonNegativeAndTiny(int256 sizeSeed, int256 indexSeed, int256 lastSeed) public pure {
        int256 size = _sizeWithin(sizeSeed, 1e30);
        int256 indexNow = boundInt(indexSeed, -1e30, 1e30);
        int256 indexLast = boundInt(lastSeed, -1e30, 1e30);
        int256 owed = PerpMath.fundingOwedUp(size, indexNow, indexLast);
        int256 toVault = PerpMath.fundingToVaultDown(size, indexNow, indexLast);
        int256 dust = owed - toVault;
        assertGe(dust, 0, "negative dust");
        assertLe(dust, 1, "dust above 1 wei");
        assertGe(owed + PerpMath.fundingOwedUp(-size, indexNow, indexLast), 0, "traders net received funding");
    }

    /// The rate follows the skew's sign and never exceeds the cap.
    function testFuzz_fundingRate_cappedAndSigned(int256 skewSeed, uint256 scaleSeed, uint256 factorSeed, uint256 capSeed)
        public
        pure
    {
        uint256 k = _scale(scaleSeed);
        int256 skew = _sizeWithin(skewSeed, k);
        uint256 factor = bound(factorSeed, 0, 10e18);
        uint256 cap = bound(capSeed, 0, 1e18);
        int256 rate = PerpMath.fundingRatePerDay(skew, k, factor, cap);
        assertLe(FPM.abs(rate), cap, "rate above cap");
        if (rate != 0) assertTrue((rate > 0) == (skew > 0), "rate sign differs from skew");
    }

    /// Index accrual is linear in time: accruing t1 then t2 equals accruing t1 + t2 to within one wei per step.
    function testFuzz_fundingIndex_additiveInTime(int256 rateSeed, uint256 priceSeed, uint256 t1Seed, uint256 t2Seed)
        public
        pure
    {
        int256 rate = boundInt(rateSeed, -1e18, 1e18);
        uint256 price = _price(priceSeed);
        uint256 t1 = bound(t1Seed, 0, 365 days);
        uint256 t2 = bound(t2Seed, 0, 365 days);
        int256 stepwise = PerpMath.accruedFundingIndex(PerpMath.accruedFundingIndex(0, rate, price, t1), rate, price, t2);
        int256 once = PerpMath.accruedFundingIndex(0, rate, price, t1 + t2);
        assertLe(FPM.abs(stepwise - once), 1, "accrual not additive");
    }

    /// A weighted entry lies between the old entry and the fill, rounded against the trader.
    function testFuzz_entryAfterIncrease_between(uint256 sizeSeed, uint256 entrySeed, uint256 deltaSeed, uint256 fillSeed, bool isLong)
        public
        pure
    {
        uint256 oldSize = bound(sizeSeed, 0, 1e30);
        uint256 addSize = bound(deltaSeed, 1, 1e30);
        uint256 entry = oldSize == 0 ? 0 : _price(entrySeed);
        uint256 fill = _price(fillSeed);
        int256 size = isLong ? int256(oldSize) : -int256(oldSize);
        int256 delta = isLong ? int256(addSize) : -int256(addSize);
        uint256 newEntry = PerpMath.entryAfterIncrease(size, entry, delta, fill);
        uint256 lo = oldSize == 0 ? fill : (entry < fill ? entry : fill);
        uint256 hi = oldSize == 0 ? fill : (entry < fill ? fill : entry);
        assertGe(newEntry, lo, "entry below both");
        assertLe(newEntry, hi, "entry above both");
        uint256 exactNumerator = oldSize * entry + addSize * fill;
        if (isLong) assertGe(newEntry * (oldSize + addSize), exactNumerator, "long entry rounded down");
        else assertLe(newEntry * (oldSize + addSize), exactNumerator, "short entry rounded up");
    }

    /// Fees round up and charge the maker rate on no more than the part that shrinks |skew|.
    function testFuzz_tradeFee_makerTakerSplit(int256 skewSeed, int256 deltaSeed, uint256 fillSeed) public pure {
        int256 skew = _sizeWithin(skewSeed, 1e28);
        int256 delta = _sizeWithin(deltaSeed, 1e28);
        uint256 fill = _price(fillSeed);
        uint256 maker = 0.0002e18;
        uint256 taker = 0.0005e18;
        uint256 fee = PerpMath.tradeFee(skew, delta, fill, maker, taker);
        uint256 size = FPM.abs(delta);
        uint256 allMaker = FPM.mulDivDown(size * maker, fill, WAD * WAD);
        uint256 allTaker = FPM.mulDivUp(size * taker, fill, WAD * WAD);
        assertGe(fee, allMaker, "fee below all-maker");
        assertLe(fee, allTaker, "fee above all-taker");
        if ((skew >= 0) == (delta >= 0)) assertEq(fee, allTaker, "skew-growing trade not all taker");
    }

    /// Requirements round up, payouts round down.
    function testFuzz_requirementsRoundUp(int256 sizeSeed, uint256 priceSeed, uint256 ratioSeed) public pure {
        int256 size = _sizeWithin(sizeSeed, 1e30);
        uint256 price = _price(priceSeed);
        uint256 ratio = bound(ratioSeed, 0, 1e18);
        uint256 up = PerpMath.requirementUp(size, price, ratio);
        uint256 down = PerpMath.shareDown(size, price, ratio);
        assertLe(down, up, "share above requirement");
        assertLe(up - down, 1, "rounding gap above 1 wei");
    }
}
