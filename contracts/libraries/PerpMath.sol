// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {FixedPointMath as FPM} from "./FixedPointMath.sol";

/// @title PerpMath
/// @notice The protocol's pricing, fee, funding and margin formulas (SPEC "Trading", "Funding", "Liquidation").
/// All values are WAD; sizes are signed (long > 0). Each function's name or comment says which way it rounds
/// and whom that favours: always the protocol.
library PerpMath {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant SECONDS_PER_DAY = 1 days;

    /// @notice Fill price of a trade of `delta` on a market with skew `skew`:
    /// `price * (1 + (skew + (skew + delta) / 2) / skewScale)`, i.e. `price + price * (2 skew + delta) / (2 K)`.
    /// @dev Rounded against the trader: up for a buy, down for a sell.
    function fillPrice(uint256 price, int256 skew, int256 delta, uint256 skewScale) internal pure returns (uint256) {
        int256 premiumNumerator = 2 * skew + delta;
        bool roundUp = (delta > 0) == (premiumNumerator > 0);
        uint256 magnitude = FPM.abs(premiumNumerator);
        uint256 adjustment = roundUp
            ? FPM.mulDivUp(price, magnitude, 2 * skewScale)
            : FPM.mulDivDown(price, magnitude, 2 * skewScale);
        return premiumNumerator >= 0 ? price + adjustment : price - adjustment;
    }

    /// @notice Trading fee: maker rate on the part of `delta` that shrinks |skew|, taker rate on the rest,
    /// both applied to the leg's fill price. Rounded up (the trader pays).
    function tradeFee(int256 skew, int256 delta, uint256 fill, uint256 makerFeeRate, uint256 takerFeeRate)
        internal
        pure
        returns (uint256)
    {
        uint256 size = FPM.abs(delta);
        uint256 makerSize = (skew > 0 && delta < 0) || (skew < 0 && delta > 0) ? FPM.min(size, FPM.abs(skew)) : 0;
        uint256 weighted = makerSize * makerFeeRate + (size - makerSize) * takerFeeRate;
        return FPM.mulDivUp(weighted, fill, WAD * WAD);
    }

    /// @notice Funding rate per day: `clamp(skew / skewScale * fundingFactor, +-maxRate)`, truncated toward zero.
    function fundingRatePerDay(int256 skew, uint256 skewScale, uint256 fundingFactor, uint256 maxRatePerDay)
        internal
        pure
        returns (int256 rate)
    {
        rate = skew * int256(fundingFactor) / int256(skewScale);
        int256 cap = int256(maxRatePerDay);
        if (rate > cap) rate = cap;
        else if (rate < -cap) rate = -cap;
    }

    /// @notice Funding index after `elapsed` seconds at `ratePerDay` and index price `price`:
    /// `index + rate * price * elapsed / 1 day`, the increment truncated toward zero.
    /// @dev Any integer index is fair: traders settle against it rounded against themselves and the vault is the
    /// counterparty, so the truncation only decides which integer the index lands on.
    function accruedFundingIndex(int256 index, int256 ratePerDay, uint256 price, uint256 elapsed)
        internal
        pure
        returns (int256)
    {
        return index + ratePerDay * int256(price) * int256(elapsed) / int256(WAD * SECONDS_PER_DAY);
    }

    /// @notice Funding a position owes since its last settlement, `size * (indexNow - indexLast)`, rounded up:
    /// positive means the trader pays, negative that the trader receives (the magnitude then rounded down).
    function fundingOwedUp(int256 size, int256 indexNow, int256 indexLast) internal pure returns (int256) {
        return FPM.mulWadUp(size, indexNow - indexLast);
    }

    /// @notice The vault's side of the same settlement, rounded down: it receives at most what the trader pays
    /// and pays at least what the trader receives. `fundingOwedUp - fundingToVaultDown` (0 or 1 wei) is dust for
    /// the insurance fund.
    function fundingToVaultDown(int256 size, int256 indexNow, int256 indexLast) internal pure returns (int256) {
        return FPM.mulWadDown(size, indexNow - indexLast);
    }

    /// @notice Profit of `size` bought at `entry` and valued at `price`, rounded down (against the trader).
    function pnlDown(int256 size, uint256 entry, uint256 price) internal pure returns (int256) {
        return FPM.mulWadDown(size, int256(price) - int256(entry));
    }

    /// @notice `|size| * price * ratio`, rounded up: a margin requirement.
    function requirementUp(int256 size, uint256 price, uint256 ratio) internal pure returns (uint256) {
        return FPM.mulDivUp(FPM.abs(size) * price, ratio, WAD * WAD);
    }

    /// @notice `|size| * price * ratio`, rounded down: a reward or a share paid out.
    function shareDown(int256 size, uint256 price, uint256 ratio) internal pure returns (uint256) {
        return FPM.mulDivDown(FPM.abs(size) * price, ratio, WAD * WAD);
    }

    /// @notice `|size| * price`, rounded down.
    function notionalDown(int256 size, uint256 price) internal pure returns (uint256) {
        return FPM.mulWadDown(FPM.abs(size), price);
    }

    /// @notice Average entry after adding `delta` (same sign as `size`, or `size == 0`) filled at `fill`.
    /// @dev Rounded against the trader: up for a long, down for a short.
    function entryAfterIncrease(int256 size, uint256 entry, int256 delta, uint256 fill)
        internal
        pure
        returns (uint256)
    {
        uint256 oldSize = FPM.abs(size);
        uint256 addSize = FPM.abs(delta);
        uint256 cost = oldSize * entry + addSize * fill;
        uint256 newSize = oldSize + addSize;
        return delta > 0 ? FPM.mulDivUp(cost, 1, newSize) : cost / newSize;
    }

    /// @notice A position's contribution to its market's `entryFundingSum`: `size * (entry - lastFundingIndex)`,
    /// rounded down. Summed over a market it lets the vault value every position in O(1).
    function entryFundingBasis(int256 size, uint256 entry, int256 lastFundingIndex) internal pure returns (int256) {
        return FPM.mulWadDown(size, int256(entry) - lastFundingIndex);
    }

    /// @notice A position's contribution to the protocol's open notional, `|size| * entry` in USD with 6 decimals,
    /// rounded up. Six decimals are plenty for a utilisation cap and let the total share a slot with the ledgers.
    function openNotionalUsd6Up(int256 size, uint256 entry) internal pure returns (uint256) {
        return FPM.mulDivUp(FPM.abs(size), entry, 1e30);
    }

    /// @notice A market's contribution to the mark notional the vault must back: `openInterest * price` (long plus
    /// short open interest, at the market's last touched price) in USD with 6 decimals, rounded up.
    function markNotionalUsd6Up(uint256 openInterest, uint256 price) internal pure returns (uint256) {
        return FPM.mulDivUp(openInterest, price, 1e30);
    }

    /// @notice What traders as a whole would receive closing every position of a market now, net of the funding
    /// they owe: `price * skew * (1 + skew / 2K) - skew * index - entryFundingSum`. Rounded up (against the vault).
    function tradersClaimUp(uint256 price, int256 skew, uint256 skewScale, int256 index, int256 entryFundingSum)
        internal
        pure
        returns (int256)
    {
        if (skew == 0) return -entryFundingSum;
        // Closing the whole skew in one trade of -skew fills at price * (1 + skew / 2K).
        uint256 closeFill = fillPrice(price, skew, -skew, skewScale);
        return FPM.mulWadUp(skew, int256(closeFill)) - FPM.mulWadDown(skew, index) - entryFundingSum;
    }
}
