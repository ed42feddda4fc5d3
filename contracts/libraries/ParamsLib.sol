// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPerpEngine, MarketParams, ProtocolParams} from "../interfaces/IPerpEngine.sol";

/// @title ParamsLib
/// @notice Hard bounds on every governance parameter (SPEC "Markets"). A value outside them reverts
/// `InvalidParameter(code)` whatever the owner wants; the table with reasons is in docs/design.md.
library ParamsLib {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant MIN_INITIAL_MARGIN_RATIO = 0.01e18; // 100x
    uint256 internal constant MAX_FEE_RATE = 0.01e18; // 1 %
    uint256 internal constant MAX_FUNDING_RATE_PER_DAY = 1e18; // 100 % a day
    uint256 internal constant MAX_FUNDING_FACTOR = 10e18;
    uint256 internal constant MAX_INSURANCE_FEE_SHARE = 0.5e18;
    uint256 internal constant MIN_VAULT_BACKING_RATIO = 0.01e18;
    uint256 internal constant MAX_KEEPER_REWARD_MIN = 50e18; // $50
    uint256 internal constant MAX_KEEPER_REWARD_MAX = 10_000e18; // $10,000
    /// @notice A change may move MMR or IMR by at most this share of its current value (25 %).
    uint256 internal constant MAX_MARGIN_STEP = 0.25e18;

    /// @dev `longOpenInterest`/`shortOpenInterest` are the market's current ones (0 at listing): a new skew scale must
    /// keep them within K / 10 too, or existing positions could be priced with a premium beyond 10 %.
    function validateMarket(MarketParams memory p, uint256 longOpenInterest, uint256 shortOpenInterest)
        internal
        pure
    {
        if (p.skewScale == 0) revert IPerpEngine.InvalidParameter("skewScale");
        if (p.initialMarginRatio < MIN_INITIAL_MARGIN_RATIO || p.initialMarginRatio > WAD) {
            revert IPerpEngine.InvalidParameter("initialMarginRatio");
        }
        if (p.maintenanceMarginRatio == 0 || p.maintenanceMarginRatio >= p.initialMarginRatio) {
            revert IPerpEngine.InvalidParameter("maintenanceMarginRatio");
        }
        // The liquidation penalty must fit inside the maintenance margin.
        if (uint256(p.keeperRewardRatio) + p.insuranceShare > p.maintenanceMarginRatio) {
            revert IPerpEngine.InvalidParameter("liquidationPenalty");
        }
        if (p.makerFeeRate > MAX_FEE_RATE || p.takerFeeRate > MAX_FEE_RATE) {
            revert IPerpEngine.InvalidParameter("feeRate");
        }
        if (p.fundingFactor > MAX_FUNDING_FACTOR) revert IPerpEngine.InvalidParameter("fundingFactor");
        if (p.maxFundingRatePerDay > MAX_FUNDING_RATE_PER_DAY) {
            revert IPerpEngine.InvalidParameter("maxFundingRatePerDay");
        }
        // Caps of K / 10 keep the premium within +-10 % and every fill price positive.
        uint256 oiLimit = p.skewScale / 10;
        if (p.maxLongOpenInterest > oiLimit || p.maxShortOpenInterest > oiLimit) {
            revert IPerpEngine.InvalidParameter("openInterestCap");
        }
        if (longOpenInterest > oiLimit || shortOpenInterest > oiLimit) {
            revert IPerpEngine.InvalidParameter("skewScaleBelowOpenInterest");
        }
        if (p.minPositionNotional == 0) revert IPerpEngine.InvalidParameter("minPositionNotional");
        if (p.maxPnlFactor == 0 || p.maxPnlFactor > WAD) revert IPerpEngine.InvalidParameter("maxPnlFactor");
    }

    /// @dev A change of a listed market's margin ratios: each moves by at most `MAX_MARGIN_STEP` of its current
    /// value, and the new MMR is at most the current IMR, so that a position that met the initial margin when it
    /// was opened is not liquidatable the moment the change executes.
    function validateMarginStep(MarketParams storage current, MarketParams memory p) internal view {
        uint256 mmr = current.maintenanceMarginRatio;
        uint256 imr = current.initialMarginRatio;
        if (!_withinStep(mmr, p.maintenanceMarginRatio) || p.maintenanceMarginRatio > imr) {
            revert IPerpEngine.InvalidParameter("maintenanceMarginStep");
        }
        if (!_withinStep(imr, p.initialMarginRatio)) revert IPerpEngine.InvalidParameter("initialMarginStep");
    }

    function _withinStep(uint256 current, uint256 next) private pure returns (bool) {
        uint256 step = current * MAX_MARGIN_STEP / WAD;
        return next <= current + step && next + step >= current;
    }

    function validateProtocol(ProtocolParams memory p) internal pure {
        if (p.insuranceFeeShare > MAX_INSURANCE_FEE_SHARE) revert IPerpEngine.InvalidParameter("insuranceFeeShare");
        if (p.vaultBackingRatio < MIN_VAULT_BACKING_RATIO || p.vaultBackingRatio > WAD) {
            revert IPerpEngine.InvalidParameter("vaultBackingRatio");
        }
        if (p.keeperRewardMin == 0 || p.keeperRewardMin > p.keeperRewardMax) {
            revert IPerpEngine.InvalidParameter("keeperReward");
        }
        if (p.keeperRewardMin > MAX_KEEPER_REWARD_MIN || p.keeperRewardMax > MAX_KEEPER_REWARD_MAX) {
            revert IPerpEngine.InvalidParameter("keeperRewardBound");
        }
    }
}
