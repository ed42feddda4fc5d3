// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOracleErrors, IPriceFeed} from "./IPriceFeed.sol";

/// @dev `Liquidated.marketId` of a cross-account liquidation (the whole account is one unit).
uint256 constant CROSS = type(uint256).max;
/// @dev `Health.leverage` when equity is not positive.
uint256 constant UNBOUNDED_LEVERAGE = type(uint256).max;
/// @dev `liquidationPrice` of a long that every positive price would liquidate.
uint256 constant LIQUIDATABLE_AT_ANY_PRICE = type(uint256).max;
/// @dev "No market": a valuation that overrides no market's price.
uint256 constant NO_MARKET = type(uint256).max;
/// @dev How many profit claims a call that grows vault cash pays on the way out (`payClaims` pays more).
uint256 constant AUTO_PAID_CLAIMS = 3;

/// @notice Risk parameters of one market. Ratios and rates are WAD (1e18 = 100 %), sizes WAD units of the base
/// asset, USD amounts WAD. Field order packs the fields a valuation reads into the first slot.
struct MarketParams {
    /// @notice Skew scale K: a skew of K units would move the fill price by 100 %.
    uint128 skewScale;
    /// @notice IMR = 1 / max leverage. At least 1 % (100x), at most 100 % (1x).
    uint64 initialMarginRatio;
    /// @notice MMR: below `MMR * notional + keeperRewardMin` of equity at close a position is liquidatable. MMR < IMR.
    /// A change moves MMR and IMR by at most a quarter of their value, and MMR never above the old IMR.
    uint64 maintenanceMarginRatio;
    /// @notice Fee on the part of a trade that shrinks |skew|. At most 1 %.
    uint64 makerFeeRate;
    /// @notice Fee on the part of a trade that grows |skew|. At most 1 %.
    uint64 takerFeeRate;
    /// @notice Funding rate per day per unit of premium (skew / K).
    uint64 fundingFactor;
    /// @notice Cap on |funding rate| per day.
    uint64 maxFundingRatePerDay;
    /// @notice Open-interest cap of the long side, in units. At most K / 10.
    uint128 maxLongOpenInterest;
    /// @notice Open-interest cap of the short side, in units. At most K / 10.
    uint128 maxShortOpenInterest;
    /// @notice A position may not be left with 0 < |size| * price < this (USD).
    uint128 minPositionNotional;
    /// @notice Keeper reward as a share of the liquidated notional, before the min/max clamp.
    uint64 keeperRewardRatio;
    /// @notice Share of the liquidated notional the insurance fund takes from what remains after the keeper.
    uint64 insuranceShare;
    /// @notice Auto-deleveraging starts when traders' net unrealised profit in the market exceeds this share of the
    /// vault NAV.
    uint64 maxPnlFactor;
}

/// @notice Mutable state of one market.
struct MarketState {
    uint128 longOpenInterest;
    uint128 shortOpenInterest;
    /// @notice Cumulative funding, USD per unit of size (WAD). Longs owe `size * (index_now - index_then)`.
    int128 fundingIndex;
    /// @notice Funding rate per day (WAD) in force since `lastFundingTime`; set from the skew on every touch.
    int64 fundingRatePerDay;
    uint64 lastFundingTime;
    /// @notice Sum over positions of `size * (entry - lastFundingIndex)` (see `PerpMath.entryFundingBasis`).
    int128 entryFundingSum;
    /// @notice Last index price the market was touched at; the vault's fallback when the oracle is down.
    uint128 lastPrice;
}

/// @notice Protocol-wide parameters. The keeper reward bounds are protocol-wide, not per market, because a cross
/// account is one liquidatable unit spanning markets (see docs/design.md).
struct ProtocolParams {
    /// @notice Share of every trading fee that goes to the insurance fund (the rest to the vault). At most 50 %.
    uint64 insuranceFeeShare;
    /// @notice Vault cash required per USD of mark notional (|size| * index price): caps open interest and LP
    /// withdrawals. At least 1 %, at most 100 %.
    uint64 vaultBackingRatio;
    /// @notice Minimum keeper reward per liquidated position (USD WAD), also added per position to the maintenance
    /// margin. At most $50.
    uint96 keeperRewardMin;
    /// @notice Maximum keeper reward of the ratio part (USD WAD); the reward is never below the per-position
    /// minimum. At most $10,000.
    uint96 keeperRewardMax;
}

/// @notice A trader's position in one market: two storage slots. A closed position keeps its slots with only `epoch`
/// set, so the next close (or liquidation) rewrites a non-zero slot instead of paying for a fresh one.
struct Position {
    /// @notice Signed size in units of the base asset (WAD): positive long, negative short, zero closed.
    int128 size;
    /// @notice Average entry price (WAD).
    uint128 entryPrice;
    /// @notice Market funding index at the position's last settlement.
    int128 lastFundingIndex;
    /// @notice Isolated margin (USD WAD); always zero for a cross position. uint96 (up to ~7.9e10 USD) leaves room
    /// for `epoch` in the same slot.
    uint96 margin;
    /// @notice How many times the position in this market went to size zero (close, flip, liquidation, ADL); survives
    /// the close (only the other fields are zeroed). Reduce-only orders of an older epoch are void (SPEC invariant 10).
    uint32 epoch;
}

/// @notice What a margin check sees. For a cross account the sums run over every cross position.
struct Health {
    /// @notice Collateral plus PnL minus funding owed, every position valued at the index price.
    int256 equity;
    /// @notice The same with every position valued at the price it would close at (its fill price for -size).
    int256 equityAtClose;
    /// @notice Notional at the index price / max leverage, rounded up.
    uint256 initialMargin;
    /// @notice MMR * notional, rounded up, plus the minimum keeper reward per position.
    uint256 maintenanceMargin;
    /// @notice Sum of |size| * index price.
    uint256 notional;
    /// @notice Unrealised PnL at the index price, rounded down per position.
    int256 unrealizedPnl;
    /// @notice Funding owed and not yet settled, rounded up per position (negative: receivable).
    int256 accruedFunding;
    /// @notice notional / equity (WAD, rounded up); `UNBOUNDED_LEVERAGE` when equity is not positive.
    uint256 leverage;
    /// @notice equityAtClose < maintenanceMargin, and at least one position open.
    bool liquidatable;
}

/// @title IPerpEngine
/// @notice Perpetual futures on USDC collateral: cross and isolated margin, skew-priced fills, a funding index per
/// market, permissionless liquidation, an ERC-4626 LP vault as counterparty and an insurance fund.
/// @dev Units: every price, size, USD amount, ratio and rate is WAD. Only `deposit`, `depositWithPermit`,
/// `withdraw`, `fundInsurance` and the vault hooks take amounts in collateral-token units (6 decimals for USDC).
interface IPerpEngine is IOracleErrors {
    // ---------------------------------------------------------------- errors

    /// @notice `marketId` was never listed.
    error UnknownMarket(uint256 marketId);
    /// @notice An amount or size that must be positive was zero.
    error ZeroAmount();
    /// @notice The token delivered less than asked (fee-on-transfer or rebasing tokens are not supported).
    error ShortTransfer(uint256 expected, uint256 received);
    /// @notice A debit of the cross balance exceeds it.
    error InsufficientCrossBalance(int256 balance, uint256 amount);
    // Margin rules: one error per rule, each with the two numbers it compares (USD WAD; the minimum keeper reward
    // per position is part of every maintenance figure).
    /// @notice A trade that adds risk would leave equity at close prices below the initial margin of the position
    /// (isolated) or of the whole cross account.
    error TradeBelowInitialMargin(int256 equityAtClose, uint256 initialMargin);
    /// @notice A trade that adds risk would leave the position or cross account liquidatable: the lower of its equity
    /// at the index and at close prices below maintenance.
    error TradeBelowMaintenanceMargin(int256 equity, uint256 maintenanceMargin);
    /// @notice A trade would leave an isolated position open with a negative margin (loss, fee and funding beyond
    /// it): close the position fully or add margin first.
    error TradeLeavesNegativeMargin(uint256 marketId, int256 margin);
    /// @notice A debit of the cross balance (withdraw, addMargin, an isolated trade's margin) with cross positions
    /// open would leave equity at close prices, counting no unrealised profit, below their initial margin.
    error DebitBelowInitialMargin(int256 equityNoProfit, uint256 initialMargin);
    /// @notice A debit of the cross balance would leave the cross account liquidatable: the lower of its equity at
    /// the index and at close prices below maintenance (SPEC debit rule, RT-04).
    error DebitBelowMaintenanceMargin(int256 equity, uint256 maintenanceMargin);
    /// @notice `removeMargin` asks for more than the isolated margin holds.
    error RemovalExceedsMargin(uint256 marketId, uint256 margin, uint256 amount);
    /// @notice `removeMargin` would leave margin + min(value at close, 0) below the position's initial margin.
    error RemovalBelowInitialMargin(uint256 marketId, int256 equityNoProfit, uint256 initialMargin);
    /// @notice `removeMargin` would leave the isolated position liquidatable: the lower of its equity at the index
    /// and at close prices below maintenance.
    error RemovalBelowMaintenanceMargin(uint256 marketId, int256 equity, uint256 maintenanceMargin);
    /// @notice The cross account is below maintenance; only risk-reducing actions and liquidation are possible.
    error AccountLiquidatable(address trader, int256 equity, uint256 maintenanceMargin);
    /// @notice The fill price is worse than the trader's `acceptablePrice`.
    error SlippageExceeded(uint256 fillPrice, uint256 acceptablePrice);
    /// @notice The guardian switched the market to reduce-only.
    error MarketReduceOnly(uint256 marketId);
    /// @notice The trade would take the side's open interest above its cap.
    error OpenInterestCapExceeded(uint256 marketId, bool isLong, uint256 openInterest, uint256 cap);
    /// @notice Total open notional would need more vault cash than there is.
    error InsufficientVaultLiquidity(uint256 required, int256 available);
    /// @notice The position would be left with a notional below the market minimum.
    error PositionTooSmall(uint256 notional, uint256 minNotional);
    /// @notice The trade names a margin mode different from the open position's.
    error PositionModeMismatch(uint256 marketId, bool positionIsIsolated);
    /// @notice `marginDelta` or `add/removeMargin` on a position that is not isolated.
    error NotIsolated(uint256 marketId);
    /// @notice The account already holds the maximum number of cross positions.
    error TooManyCrossPositions(uint256 max);
    /// @notice No open position in that market.
    error NoPosition(address trader, uint256 marketId);
    /// @notice The position (isolated) or account (cross) is not below maintenance.
    error NotLiquidatable(address trader, uint256 marketId, int256 equity, uint256 maintenanceMargin);
    /// @notice `liquidateMany` received arrays of different lengths or more than `MAX_BATCH` entries.
    error InvalidBatch(uint256 tradersLength, uint256 marketIdsLength);
    /// @notice Traders' unrealised profit in the market is within `maxPnlFactor * NAV`.
    error DeleverageNotNeeded(int256 tradersProfit, uint256 limit);
    /// @notice Auto-deleveraging only closes profitable positions.
    error PositionNotProfitable(int256 value);
    /// @notice A parameter is outside its hard bound; `code` names which (see `docs/design.md`).
    error InvalidParameter(string code);
    /// @notice Caller is neither owner nor guardian.
    error NotGuardian(address caller);
    /// @notice Caller is not the LP vault.
    error NotVault(address caller);
    /// @notice The vault address can be set once.
    error VaultAlreadySet();
    /// @notice No more markets can be listed (cross positions are tracked in a 128-bit map).
    error TooManyMarkets(uint256 max);
    /// @notice `msg.value` does not cover the fees the feeds ask for `priceUpdate`: `required` (wei) is what every
    /// feed of the markets involved needs together.
    error InsufficientUpdateFee(uint256 required, uint256 provided);
    /// @notice The unspent `msg.value` (`amount` wei) could not be sent back to `to`.
    error RefundFailed(address to, uint256 amount);

    // ---------------------------------------------------------------- events

    /// @notice Realised profit (or another payment) the vault could not pay at once: `amount` (USD WAD) is owed to
    /// `account` as claim `claimId`, paid in order from vault income.
    event ProfitClaimCreated(address indexed account, uint256 indexed claimId, uint256 amount);
    /// @notice `amount` of claim `claimId` was credited to `account`'s cross balance; `remaining` is still owed.
    event ProfitClaimPaid(address indexed account, uint256 indexed claimId, uint256 amount, uint256 remaining);
    /// @notice Bad debt of `trader` that neither the insurance fund nor vault cash could cover: the deficit grew.
    event DeficitIncreased(address indexed trader, uint256 amount, uint256 deficit);
    /// @notice Vault income repaid `amount` of the deficit.
    event DeficitRepaid(uint256 amount, uint256 deficit);

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, address indexed receiver, uint256 amount);
    /// @notice One event per trade. `fillPrice` is the last leg's; `fee`, `realizedPnl` and `fundingPaid` are the
    /// trade's totals (USD WAD; `fundingPaid` < 0 means received), funding settled against `fundingIndex`. The new
    /// entry price and margin are in `getPosition`.
    event PositionModified(
        address indexed trader,
        uint256 indexed marketId,
        int256 sizeDelta,
        int256 newSize,
        uint256 fillPrice,
        uint256 fee,
        int256 realizedPnl,
        int256 fundingPaid,
        bool isolated,
        int256 fundingIndex
    );
    event MarginAdded(address indexed trader, uint256 indexed marketId, uint256 amount, uint256 newMargin);
    event MarginRemoved(address indexed trader, uint256 indexed marketId, uint256 amount, uint256 newMargin);
    /// @notice A position closed by liquidation (or deleveraging) at `price`, its close fill price (the name is
    /// historical), settling its funding against `fundingIndex`.
    event PositionClosedAtIndex(
        address indexed trader,
        uint256 indexed marketId,
        int256 size,
        uint256 price,
        int256 realizedPnl,
        int256 fundingPaid,
        int256 fundingIndex
    );
    /// @notice A liquidatable unit (an isolated position, or with `marketId == CROSS` a whole cross account) was
    /// liquidated: `equity` was split into the keeper's reward, the insurance fund's share and the trader's rest.
    event Liquidated(
        address indexed trader,
        uint256 indexed marketId,
        address indexed keeper,
        int256 equity,
        uint256 notional,
        uint256 keeperReward,
        uint256 insurancePaid,
        uint256 traderRemainder
    );
    /// @notice A shortfall (unpaid keeper reward or negative equity) paid by the insurance fund, then the vault.
    event BadDebtCovered(address indexed trader, uint256 shortfall, uint256 fromInsurance, uint256 fromVault);
    event AutoDeleveraged(address indexed trader, uint256 indexed marketId, int256 tradersProfit, uint256 limit);
    event InsuranceFunded(address indexed from, uint256 amount);
    event VaultCashDeposited(uint256 amount);
    event VaultCashWithdrawn(address indexed receiver, uint256 amount);
    event MarketListed(uint256 indexed marketId, IPriceFeed priceFeed, MarketParams params);
    event MarketParamsUpdated(uint256 indexed marketId, MarketParams params);
    event PriceFeedUpdated(uint256 indexed marketId, IPriceFeed priceFeed);
    event ReduceOnlySet(uint256 indexed marketId, bool reduceOnly);
    event FundingAccrued(uint256 indexed marketId, int256 fundingIndex, int256 fundingRatePerDay);
    event GuardianSet(address indexed guardian);
    event VaultSet(address indexed vault);
    event ProtocolParamsSet(ProtocolParams params);

    // ---------------------------------------------------------------- collateral

    /// @notice Credits `amount` (token units) to the caller's cross balance. Needs no price.
    /// @dev Reverts `ShortTransfer` unless the engine's token balance grows by exactly `amount`.
    function deposit(uint256 amount) external;

    /// @notice `deposit` after an EIP-2612 permit, in one transaction. A permit that fails (for example because it
    /// was front-run) is ignored when the allowance already covers `amount`.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Sends `amount` (token units) of the caller's cross balance to `receiver`.
    /// @dev The debit rule (SPEC "Margin accounts"): `amount * 1e12 <= cross balance`; with cross positions open also
    /// that the account is not liquidatable, that afterwards cross equity counting no positive unrealised PnL covers
    /// the initial margin of every cross position, and that afterwards equity (at the index and at close prices)
    /// still covers the maintenance margin. Needs no price when no cross position is open.
    /// Payable (SPEC "Prices"): `priceUpdate` goes to the feed of every cross market (each paid its `getUpdateFee`
    /// out of `msg.value`, `InsufficientUpdateFee` if short); the rest of `msg.value` is refunded. Empty = the caches.
    function withdraw(uint256 amount, address receiver, bytes[] calldata priceUpdate) external payable;

    // ---------------------------------------------------------------- trading

    /// @notice Opens, increases, reduces, closes or flips the caller's position by `sizeDelta` (WAD, signed).
    /// @param marketId the market.
    /// @param sizeDelta signed change of size: positive buys, negative sells.
    /// @param acceptablePrice worst fill price accepted (maximum for a buy, minimum for a sell), per leg.
    /// @param marginDelta USD WAD moved from the cross balance into the isolated margin first (isolated only).
    /// @param isolated margin mode; chooses the mode when opening from zero, must match it otherwise.
    /// @dev A flip is a close and an open in the same mode, each leg priced over its own skew segment; the open leg
    /// passes every open check. After a change that adds risk the position (isolated) or account (cross) must
    /// have equity at close prices >= initial margin and equity at the index >= maintenance margin.
    function trade(uint256 marketId, int256 sizeDelta, uint256 acceptablePrice, uint256 marginDelta, bool isolated)
        external;

    /// @notice Moves `amount` (USD WAD) from the cross balance into an isolated position's margin.
    /// @dev Needs no price of this market; a debit of the cross balance (see `withdraw`), so it needs the cross
    /// markets' prices when cross positions are open. `addMarginFromWallet` needs none.
    function addMargin(uint256 marketId, uint256 amount) external;

    /// @notice Pulls `amount` (token units) from the caller's wallet straight into an isolated position's margin.
    /// Needs no price at all.
    function addMarginFromWallet(uint256 marketId, uint256 amount) external;

    /// @notice Moves `amount` (USD WAD) of an isolated position's margin back to the cross balance, provided the
    /// position keeps margin + min(unrealised PnL, 0) >= initial margin and stays above maintenance.
    /// @dev `priceUpdate` updates the market's feed first, as for `withdraw`.
    function removeMargin(uint256 marketId, uint256 amount, bytes[] calldata priceUpdate) external payable;

    // ---------------------------------------------------------------- liquidation

    /// @notice Liquidates `trader`'s isolated position in `marketId`, or, if that position is cross, the whole cross
    /// account, when below maintenance. Anyone may call; the reward is credited to the caller's cross balance.
    /// @dev Closes each position at its close fill price (premium included) with no fee; ignores caps, reduce-only
    /// and slippage; makes no token transfer; never reverts for a liquidatable unit given a valid price, whatever the
    /// insurance fund and vault hold. The keeper gets clamp(ratio * notional, positions * min, max), paid from the
    /// unit's equity, then insurance, then vault cash; what vault cash cannot pay becomes a profit claim.
    /// `priceUpdate` goes to the feed of every market of the unit (the market; every cross market for a cross
    /// account), each paid its `getUpdateFee` out of `msg.value` (`InsufficientUpdateFee` if short), the rest
    /// refunded; empty data uses the caches. Prices must then be at most 15 s old (`freshPrice`), else the feed's
    /// staleness error.
    function liquidate(address trader, uint256 marketId, bytes[] calldata priceUpdate) external payable;

    /// @notice `liquidate` for each pair, skipping entries that are not (or no longer) liquidatable, and entries
    /// whose unit has a market without a usable price (stale beyond 15 s, or invalid). `priceUpdate` goes once to
    /// the feed of each market the batch's units hold; a feed that rejects it keeps its cache (its fee refunded if
    /// Pyth refused the data, spent if Pyth parsed it and the adapter refused the price).
    /// @return liquidated how many units were liquidated.
    function liquidateMany(address[] calldata traders, uint256[] calldata marketIds, bytes[] calldata priceUpdate)
        external
        payable
        returns (uint256 liquidated);

    /// @notice Closes a profitable position at its close fill price with no fee while traders' net unrealised profit
    /// in the market exceeds `maxPnlFactor * vault NAV`. Refuses a liquidatable unit (`AccountLiquidatable`):
    /// liquidate it instead. Prices as for `liquidate` (update, fee, refund, at most 15 s old).
    function autoDeleverage(address trader, uint256 marketId, bytes[] calldata priceUpdate) external payable;

    /// @notice Pays up to `maxCount` profit claims, oldest first, from vault cash (after repaying the deficit).
    /// Anyone may; every call that grows vault cash pays `AUTO_PAID_CLAIMS` of them anyway.
    /// @return paid how many claims received a payment.
    function payClaims(uint256 maxCount) external returns (uint256 paid);

    // ---------------------------------------------------------------- insurance and vault hooks

    /// @notice Adds `amount` (token units) to the insurance fund. Anyone may.
    function fundInsurance(uint256 amount) external;

    /// @notice Credits vault cash with `amount` token units that the vault has already moved to the engine.
    function vaultDeposit(uint256 amount) external;

    /// @notice Pays `amount` token units of vault cash to `receiver`, keeping what open interest requires.
    function vaultWithdraw(uint256 amount, address receiver) external;

    // ---------------------------------------------------------------- governance

    function listMarket(IPriceFeed priceFeed, MarketParams calldata params) external returns (uint256 marketId);

    function setMarketParams(uint256 marketId, MarketParams calldata params) external;

    function setPriceFeed(uint256 marketId, IPriceFeed priceFeed) external;

    /// @notice Guardian (or owner) switch: a reduce-only market refuses trades that open or grow a position.
    function setReduceOnly(uint256 marketId, bool reduceOnly) external;

    function setGuardian(address guardian) external;

    function setVault(address vault) external;

    /// @notice Protocol-wide parameters, validated against hard bounds (`docs/design.md`).
    function setProtocolParams(ProtocolParams calldata params) external;

    /// @notice Accrues a market's funding to now. Anyone may; every trade does it anyway.
    function accrueFunding(uint256 marketId) external;

    // ---------------------------------------------------------------- views

    function marketCount() external view returns (uint256);

    /// @notice WAD per collateral-token unit (1e12 for USDC).
    function tokenToWad() external view returns (uint256);

    function getMarket(uint256 marketId)
        external
        view
        returns (IPriceFeed priceFeed, bool reduceOnly, MarketParams memory params, MarketState memory state);

    function getPosition(address trader, uint256 marketId) external view returns (Position memory);

    /// @return crossBalance signed USD WAD. @return crossMarkets bit i set = a cross position in market i.
    function getAccount(address trader) external view returns (int256 crossBalance, uint256 crossMarkets);

    /// @notice Health of an isolated position, or of the whole cross account if the position is cross.
    function positionHealth(address trader, uint256 marketId) external view returns (Health memory);

    /// @notice Health of `trader`'s cross account.
    function crossAccountHealth(address trader) external view returns (Health memory);

    /// @notice The index price at which the position (isolated) or its cross account becomes liquidatable, other
    /// markets' prices and the time held fixed; 0 if no positive price would liquidate it,
    /// `LIQUIDATABLE_AT_ANY_PRICE` for a long every price liquidates.
    /// @dev Exact to the oracle's last unit: a long is liquidatable at the returned price and below, a short at
    /// the returned price and above, and not one `priceUnit` on the safe side of it.
    function liquidationPrice(address trader, uint256 marketId) external view returns (uint256);

    /// @notice Funding the position owes now (positive: pays), as the next settlement would charge it.
    function pendingFunding(address trader, uint256 marketId) external view returns (int256);

    /// @notice Fill price and fee of a trade of `sizeDelta` now (one leg; call twice for a flip).
    function quoteTrade(uint256 marketId, int256 sizeDelta) external view returns (uint256 fillPrice, uint256 fee);

    /// @notice Current index price of a market (reverts on an invalid oracle).
    function indexPrice(uint256 marketId) external view returns (uint256);

    /// @notice LP vault NAV in USD WAD: vault cash minus profit claims and deficit, minus what traders would receive
    /// closing everything now, plus funding owed to it; never negative, never reverting (last known prices when an
    /// oracle is down).
    function vaultNav() external view returns (uint256);

    /// @notice Vault cash that can leave now (USD WAD): net of claims and deficit, keeping the backing the mark
    /// notional requires, and never so much that a market's traders' profit would exceed `maxPnlFactor` of the NAV
    /// left (an LP cannot make a market ADL-eligible).
    function vaultWithdrawable() external view returns (uint256);

    /// @notice What the vault owes `account` in unpaid profit claims (USD WAD).
    function profitClaim(address account) external view returns (uint256);

    /// @notice Sum of all unpaid profit claims (USD WAD).
    function totalProfitClaims() external view returns (uint256);

    /// @notice Bad debt beyond the insurance fund and vault cash, repaid from vault income first (USD WAD).
    function deficit() external view returns (uint256);

    /// @notice Sum of the negative cross balances (USD WAD): losses booked into vault cash that no token has paid yet;
    /// vault cash beyond it is what may be paid out.
    function receivable() external view returns (uint256);

    function vaultCash() external view returns (int256);

    function insuranceFund() external view returns (uint256);

    /// @notice Sum over markets of open interest * the market's last touched price, rounded up per market to a
    /// micro-dollar, in USD WAD (a multiple of 1e12): what a trade adding risk needs backed at `vaultBackingRatio`.
    function totalMarkNotional() external view returns (uint256);

    function protocolParams() external view returns (ProtocolParams memory);
}
