// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {
    IPerpEngine,
    MarketParams,
    MarketState,
    Position,
    Health,
    ProtocolParams,
    CROSS as CROSS_UNIT,
    AUTO_PAID_CLAIMS
} from "./interfaces/IPerpEngine.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";
import {IOrderEngine} from "./interfaces/IOrderEngine.sol";
import {EngineState, Market, Account, Valuation, StoredProtocol} from "./libraries/EngineState.sol";
import {BitMap} from "./libraries/BitMap.sol";
import {LedgerLib} from "./libraries/LedgerLib.sol";
import {MarginLib} from "./libraries/MarginLib.sol";
import {MarketLib} from "./libraries/MarketLib.sol";
import {ValuationLib} from "./libraries/ValuationLib.sol";
import {FixedPointMath as FPM} from "./libraries/FixedPointMath.sol";
import {PerpMath} from "./libraries/PerpMath.sol";
import {ParamsLib} from "./libraries/ParamsLib.sol";
import {LiquidationLogic} from "./libraries/LiquidationLogic.sol";
import {PriceUpdateLib} from "./libraries/PriceUpdateLib.sol";
import {LiquidationPriceLogic} from "./libraries/LiquidationPriceLogic.sol";
import {MarketAdminLogic} from "./libraries/MarketAdminLogic.sol";

/// @title PerpEngine
/// @notice The protocol's core: collateral, trading and the ledgers of the LP vault and the insurance fund. It holds
/// every unit of collateral; the vault holds only LP shares. Liquidation, the liquidation-price search and market
/// administration live in linked libraries that run on this contract's storage.
/// @dev Documentation of every entry point is on `IPerpEngine`. Solvency (SPEC invariant 1) is
/// `token balance * 1e12 >= sum(cross balances) + sum(isolated margins) + vaultCash + insuranceFund`: entry points
/// move value between these ledgers without creating any, and tokens leave only through `withdraw` and
/// `vaultWithdraw`, after their ledger has been debited.
contract PerpEngine is IPerpEngine, IOrderEngine, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;
    using LedgerLib for EngineState;
    using MarginLib for EngineState;
    using MarketLib for EngineState;
    using ValuationLib for EngineState;

    uint256 public constant MAX_CROSS_POSITIONS = 16;
    uint256 public constant MAX_BATCH = 100;
    /// @notice `Liquidated.marketId` of a cross-account liquidation (the file-level `CROSS` of IPerpEngine.sol).
    uint256 public constant CROSS = CROSS_UNIT;

    IERC20 public immutable collateralToken;
    /// @inheritdoc IPerpEngine
    uint256 public immutable tokenToWad;

    /// @dev Working state of one trade.
    struct TradeContext {
        address trader;
        uint256 marketId;
        bool isolated;
        uint256 price;
        uint256 acceptablePrice;
        int256 collateral;
        int256 fundingPaid;
        int256 fundingToVault;
        uint256 fee;
        int256 realizedPnl;
        uint256 fillPrice;
        bool addsRisk;
    }

    address public guardian;
    address public vault;
    EngineState internal s;

    modifier onlyVault() {
        if (msg.sender != vault) revert NotVault(msg.sender);
        _;
    }

    constructor(IERC20 collateralToken_, address owner_, ProtocolParams memory protocolParams_) Ownable(owner_) {
        uint8 decimals = IERC20Metadata(address(collateralToken_)).decimals();
        if (decimals > 18) revert InvalidParameter("collateralDecimals");
        collateralToken = collateralToken_;
        tokenToWad = 10 ** (18 - decimals);
        _setProtocolParams(protocolParams_);
    }

    // =================================================================== collateral

    /// @inheritdoc IPerpEngine
    function deposit(uint256 amount) external nonReentrant {
        _deposit(amount);
    }

    /// @inheritdoc IPerpEngine
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s_)
        external
        nonReentrant
    {
        // A front-runner can submit the permit first; the deposit should still go through on the allowance it set.
        try IERC20Permit(address(collateralToken)).permit(msg.sender, address(this), amount, deadline, v, r, s_) {}
            catch {}
        _deposit(amount);
    }

    function _deposit(uint256 amount) internal {
        _pullExact(amount);
        s.creditCross(msg.sender, amount * tokenToWad);
        emit Deposited(msg.sender, amount);
    }

    /// @inheritdoc IPerpEngine
    function withdraw(uint256 amount, address receiver, bytes[] calldata priceUpdate) external payable nonReentrant {
        Account memory account = s.accounts[msg.sender];
        uint256 spent = _updatePrices(account.crossMarkets, priceUpdate);
        s.accounts[msg.sender].crossBalance = s.debitCross(msg.sender, account, amount * tokenToWad);
        emit Withdrawn(msg.sender, receiver, amount);
        collateralToken.safeTransfer(receiver, amount);
        PriceUpdateLib.refund(msg.value, spent);
    }

    /// @inheritdoc IPerpEngine
    function fundInsurance(uint256 amount) external nonReentrant {
        _pullExact(amount);
        s.ledger.insuranceFund += (amount * tokenToWad).toUint96();
        emit InsuranceFunded(msg.sender, amount);
    }

    /// @dev Pulls `amount` from the caller and reverts unless exactly that much arrived.
    function _pullExact(uint256 amount) internal {
        if (amount == 0) revert ZeroAmount();
        uint256 balanceBefore = collateralToken.balanceOf(address(this));
        collateralToken.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = collateralToken.balanceOf(address(this)) - balanceBefore;
        if (received != amount) revert ShortTransfer(amount, received);
    }

    // =================================================================== trading

    /// @inheritdoc IPerpEngine
    function trade(uint256 marketId, int256 sizeDelta, uint256 acceptablePrice, uint256 marginDelta, bool isolated)
        external
        nonReentrant
    {
        // The atomic path against the push feed is latency arbitrage against the LPs (SPEC "Prices"): it exists only
        // until the order book is wired, for an engine used without one (the v1 test suites); once set, never again.
        address book = s.protocol.orderBook;
        if (book != address(0)) revert AtomicTradingClosed(book);
        uint256 price = s.market(marketId).priceFeed.latestPrice();
        _trade(msg.sender, marketId, sizeDelta, acceptablePrice, marginDelta, isolated, price);
    }

    // =================================================================== order book hooks

    function _onlyOrderBook() internal view {
        if (msg.sender != s.protocol.orderBook) revert NotOrderBook(msg.sender);
    }

    /// @inheritdoc IOrderEngine
    function executeOrder(
        address trader,
        uint256 marketId,
        int256 sizeDelta,
        uint256 acceptablePrice,
        uint256 marginDelta,
        bool isolated,
        uint256 price,
        uint256 keeperFee,
        address keeper
    ) external nonReentrant {
        _onlyOrderBook();
        // The order book verified `price` for this market (window or freshness); the trade path is unchanged.
        _trade(trader, marketId, sizeDelta, acceptablePrice, marginDelta, isolated, price);
        // The keeper's fee leaves the escrow in the same call (one engine call per settlement, not two).
        if (keeperFee != 0) _releaseEscrow(trader, keeperFee, keeper);
    }

    /// @inheritdoc IOrderEngine
    /// @dev The same checks as a withdrawal (SPEC invariant 12), so a fee is only ever escrowed from free cash of a
    /// healthy account. In the engine, not a linked library: no cold library call on every commit and placement.
    function lockEscrow(address trader, uint256 amount) external nonReentrant {
        _onlyOrderBook();
        Account memory account = s.accounts[trader];
        // The new balance is at least zero (the debit is at most the balance): the receivable does not move.
        account.crossBalance = s.debitCross(trader, account, amount);
        uint256 escrowed = uint256(account.escrowUsd6) * 1e12 + amount;
        account.escrowUsd6 = _escrowUsd6(escrowed);
        s.accounts[trader] = account;
        emit EscrowLocked(trader, amount, escrowed);
    }

    /// @inheritdoc IOrderEngine
    function releaseEscrow(address trader, uint256 amount, address to) external nonReentrant {
        _onlyOrderBook();
        _releaseEscrow(trader, amount, to);
    }

    /// @dev Escrow moves to a cross balance, never out of the engine.
    /// The escrow shares the trader's account slot (`Account.escrowUsd6`), which the trade has just read and written.
    function _releaseEscrow(address trader, uint256 amount, address to) internal {
        Account storage account = s.accounts[trader];
        uint256 escrowed = uint256(account.escrowUsd6) * 1e12;
        if (amount > escrowed) revert InsufficientEscrow(trader, escrowed, amount);
        escrowed -= amount;
        account.escrowUsd6 = _escrowUsd6(escrowed);
        s.creditCross(to, amount);
        emit EscrowReleased(trader, to, amount, escrowed);
    }

    /// @dev An escrow (USD WAD) in the account's micro-dollar field: keeper fees are whole micro-dollars.
    function _escrowUsd6(uint256 escrowed) internal pure returns (uint32) {
        if (escrowed % 1e12 != 0) revert InvalidParameter("escrowUnit");
        return (escrowed / 1e12).toUint32();
    }

    /// @inheritdoc IOrderEngine
    function orderEscrow(address trader) external view returns (uint256) {
        return uint256(s.accounts[trader].escrowUsd6) * 1e12;
    }

    /// @inheritdoc IOrderEngine
    function positionAndCrossMarkets(address trader, uint256 marketId)
        external
        view
        returns (Position memory position, uint256 crossMarkets)
    {
        return (s.positions[trader][marketId], s.accounts[trader].crossMarkets);
    }

    /// @inheritdoc IOrderEngine
    function priceFeedOf(uint256 marketId) external view returns (address) {
        return address(s.market(marketId).priceFeed);
    }

    /// @inheritdoc IOrderEngine
    function positionEpoch(address trader, uint256 marketId) external view returns (uint256) {
        return s.positions[trader][marketId].epoch;
    }

    /// @dev The single trade path; later entry points (trigger orders, two-step orders) call it with their own
    /// price checks.
    function _trade(
        address trader,
        uint256 marketId,
        int256 sizeDelta,
        uint256 acceptablePrice,
        uint256 marginDelta,
        bool isolated,
        uint256 price
    ) internal {
        if (sizeDelta == 0) revert ZeroAmount();
        Market storage m = s.market(marketId);
        TradeContext memory t;
        t.trader = trader;
        t.marketId = marketId;
        t.acceptablePrice = acceptablePrice;
        t.isolated = isolated;
        t.price = price;
        MarketParams storage params = m.params;
        MarketState memory state = m.state;
        MarketLib.accrueInMemory(state, t.price);
        Position memory pos = s.positions[trader][marketId];
        Account memory account = s.accounts[trader];

        _prepareCollateral(t, state, pos, account, marginDelta);

        // Split into a closing leg (toward zero) and an opening leg (away from zero); a flip has both.
        int256 closeDelta;
        int256 openDelta = sizeDelta;
        if (pos.size != 0 && (pos.size > 0) != (sizeDelta > 0)) {
            closeDelta = FPM.abs(sizeDelta) <= FPM.abs(pos.size) ? sizeDelta : -int256(pos.size);
            openDelta = sizeDelta - closeDelta;
        }
        if (closeDelta != 0) {
            _closeLeg(t, params, state, pos, closeDelta);
            // Closed or flipped: the old position's reduce-only orders are void (SPEC invariant 10).
            if (pos.size == 0) ++pos.epoch;
        }
        if (openDelta != 0) {
            if (m.reduceOnly) revert MarketReduceOnly(marketId);
            _openLeg(t, params, state, pos, openDelta);
        }

        state.entryFundingSum += PerpMath.entryFundingBasis(pos.size, pos.entryPrice, pos.lastFundingIndex).toInt128();
        int256 markChange = MarketLib.storeState(m, state, t.price);
        // What the vault cannot pay of the trader's due is a claim: it stays out of the trader's collateral.
        t.collateral -= s.bookTrade(
            trader, t.fee, t.fundingToVault, t.fundingPaid - t.fundingToVault, t.realizedPnl, markChange, t.addsRisk,
            !t.isolated || pos.size == 0
        ).toInt256();
        if (pos.size != 0) {
            uint256 notional = PerpMath.notionalDown(pos.size, t.price);
            if (notional < params.minPositionNotional) revert PositionTooSmall(notional, params.minPositionNotional);
        }
        _storeTradeResult(t, pos, account);
        if (t.addsRisk) _checkInitialMargin(t, pos, params, state);
        _emitTrade(t, pos, sizeDelta, state.fundingIndex);
        s.payClaims(AUTO_PAID_CLAIMS);
    }

    /// @dev Checks the margin mode, moves `marginDelta` into an isolated margin, settles the position's funding and
    /// takes the position out of the market aggregates (it goes back in once changed).
    function _prepareCollateral(
        TradeContext memory t,
        MarketState memory state,
        Position memory pos,
        Account memory account,
        uint256 marginDelta
    ) internal view {
        bool isCross = account.crossMarkets & BitMap.bit(t.marketId) != 0;
        if (pos.size != 0 && t.isolated == isCross) revert PositionModeMismatch(t.marketId, !isCross);
        if (pos.size == 0 && !t.isolated && BitMap.popCount(account.crossMarkets) >= MAX_CROSS_POSITIONS) {
            revert TooManyCrossPositions(MAX_CROSS_POSITIONS);
        }
        t.collateral = t.isolated ? int256(uint256(pos.margin)) : int256(account.crossBalance);
        if (marginDelta != 0) {
            if (!t.isolated) revert NotIsolated(t.marketId);
            account.crossBalance = s.debitCross(t.trader, account, marginDelta);
            t.collateral += marginDelta.toInt256();
        }
        t.fundingPaid = PerpMath.fundingOwedUp(pos.size, state.fundingIndex, pos.lastFundingIndex);
        t.fundingToVault = PerpMath.fundingToVaultDown(pos.size, state.fundingIndex, pos.lastFundingIndex);
        t.collateral -= t.fundingPaid;
        state.entryFundingSum -=
            PerpMath.entryFundingBasis(pos.size, pos.entryPrice, pos.lastFundingIndex).toInt128();
        pos.lastFundingIndex = state.fundingIndex;
    }

    function _closeLeg(
        TradeContext memory t,
        MarketParams storage params,
        MarketState memory state,
        Position memory pos,
        int256 delta
    ) internal view {
        (uint256 fill, uint256 fee) = _fillLeg(t, params, state, delta);
        // The closed part has the position's sign: -delta.
        int256 pnl = PerpMath.pnlDown(-delta, pos.entryPrice, fill);
        t.collateral += pnl - fee.toInt256();
        t.realizedPnl += pnl;
        MarketLib.addOpenInterest(state, delta, false);
        pos.size += delta.toInt128();
        if (pos.size == 0) pos.entryPrice = 0;
    }

    function _openLeg(
        TradeContext memory t,
        MarketParams storage params,
        MarketState memory state,
        Position memory pos,
        int256 delta
    ) internal view {
        (uint256 fill, uint256 fee) = _fillLeg(t, params, state, delta);
        t.collateral -= fee.toInt256();
        t.addsRisk = true;
        pos.entryPrice = PerpMath.entryAfterIncrease(pos.size, pos.entryPrice, delta, fill).toUint128();
        pos.size += delta.toInt128();
        MarketLib.addOpenInterest(state, delta, true);
        if (state.longOpenInterest > params.maxLongOpenInterest) {
            revert OpenInterestCapExceeded(t.marketId, true, state.longOpenInterest, params.maxLongOpenInterest);
        }
        if (state.shortOpenInterest > params.maxShortOpenInterest) {
            revert OpenInterestCapExceeded(t.marketId, false, state.shortOpenInterest, params.maxShortOpenInterest);
        }
    }

    /// @dev Prices one leg over the current skew, checks it against the acceptable price, and adds its fee.
    function _fillLeg(TradeContext memory t, MarketParams storage params, MarketState memory state, int256 delta)
        internal
        view
        returns (uint256 fill, uint256 fee)
    {
        int256 skew = MarketLib.skew(state);
        fill = PerpMath.fillPrice(t.price, skew, delta, params.skewScale);
        if (delta > 0 ? fill > t.acceptablePrice : fill < t.acceptablePrice) {
            revert SlippageExceeded(fill, t.acceptablePrice);
        }
        fee = PerpMath.tradeFee(skew, delta, fill, params.makerFeeRate, params.takerFeeRate);
        t.fee += fee;
        t.fillPrice = fill;
    }

    /// @dev Writes the position and account after a trade; releases or absorbs an isolated margin on close.
    function _storeTradeResult(TradeContext memory t, Position memory pos, Account memory account) internal {
        if (t.isolated) {
            if (pos.size == 0) {
                // Closed: the margin goes home; a negative one is bad debt, never charged to the cross balance.
                if (t.collateral > 0) account.crossBalance = (account.crossBalance + t.collateral).toInt96();
                else if (t.collateral < 0) s.coverBadDebt(t.trader, uint256(-t.collateral));
                pos.margin = 0;
            } else {
                if (t.collateral < 0) revert TradeLeavesNegativeMargin(t.marketId, t.collateral);
                pos.margin = uint256(t.collateral).toUint96();
            }
        } else {
            account.crossBalance = t.collateral.toInt96();
            uint128 marketBit = uint128(BitMap.bit(t.marketId));
            if (pos.size == 0) {
                account.crossMarkets &= ~marketBit;
                // The last cross position is gone: a negative balance left now is bad debt, reset by the waterfall.
                if (account.crossMarkets == 0 && account.crossBalance < 0) {
                    s.coverBadDebt(t.trader, uint256(-int256(account.crossBalance)));
                    account.crossBalance = 0;
                }
            } else {
                account.crossMarkets |= marketBit;
            }
        }
        s.storeAccount(t.trader, account);
        // A closed position keeps only its epoch: its slot stays non-zero, so the next close writes no fresh slot.
        // (`_closeLeg` zeroed the entry price and the margin is zero above.)
        if (pos.size == 0) pos.lastFundingIndex = 0;
        s.positions[t.trader][t.marketId] = pos;
    }

    /// @dev After a trade that adds risk: equity at close prices >= initial margin, and not liquidatable (equity at
    /// close prices, and at the index, >= maintenance).
    function _checkInitialMargin(
        TradeContext memory t,
        Position memory pos,
        MarketParams storage params,
        MarketState memory state
    ) internal view {
        Valuation memory v;
        if (t.isolated) {
            v = s.valueIsolated(pos, params, state, t.price);
        } else {
            Account memory account = s.accounts[t.trader];
            v = s.valueCross(t.trader, account.crossMarkets, account.crossBalance, t.marketId, t.price);
        }
        MarginLib.checkTrade(v);
    }

    function _emitTrade(TradeContext memory t, Position memory pos, int256 sizeDelta, int256 fundingIndex) internal {
        emit PositionModified(
            t.trader,
            t.marketId,
            sizeDelta,
            pos.size,
            t.fillPrice,
            t.fee,
            t.realizedPnl,
            t.fundingPaid,
            t.isolated,
            fundingIndex
        );
    }

    // =================================================================== isolated margin

    /// @inheritdoc IPerpEngine
    function addMargin(uint256 marketId, uint256 amount) external nonReentrant {
        s.market(marketId);
        Position storage pos = _isolatedPosition(msg.sender, marketId);
        s.accounts[msg.sender].crossBalance = s.debitCross(msg.sender, s.accounts[msg.sender], amount);
        uint96 newMargin = pos.margin + amount.toUint96();
        pos.margin = newMargin;
        emit MarginAdded(msg.sender, marketId, amount, newMargin);
    }

    /// @inheritdoc IPerpEngine
    function addMarginFromWallet(uint256 marketId, uint256 amount) external nonReentrant {
        s.market(marketId);
        Position storage pos = _isolatedPosition(msg.sender, marketId);
        _pullExact(amount);
        uint256 wad = amount * tokenToWad;
        uint96 newMargin = pos.margin + wad.toUint96();
        pos.margin = newMargin;
        emit MarginAdded(msg.sender, marketId, wad, newMargin);
    }

    /// @inheritdoc IPerpEngine
    function removeMargin(uint256 marketId, uint256 amount, bytes[] calldata priceUpdate)
        external
        payable
        nonReentrant
    {
        // In the linked library (EIP-170): the engine keeps only what a trade needs.
        LiquidationLogic.removeMargin(s, marketId, amount, priceUpdate, msg.value);
    }

    /// @dev Hands `priceUpdate` to the feeds of the markets in `bits` (linked library: the update code stays out of
    /// the engine); returns the fee paid. Empty data skips the library call: a push market pays nothing extra.
    function _updatePrices(uint256 bits, bytes[] calldata priceUpdate) internal returns (uint256) {
        return priceUpdate.length == 0 ? 0 : LiquidationLogic.updatePrices(s, bits, priceUpdate, msg.value);
    }

    function _isolatedPosition(address trader, uint256 marketId) internal view returns (Position storage pos) {
        pos = s.positions[trader][marketId];
        if (pos.size == 0) revert NoPosition(trader, marketId);
        if (s.accounts[trader].crossMarkets & BitMap.bit(marketId) != 0) revert NotIsolated(marketId);
    }

    // =================================================================== liquidation

    /// @inheritdoc IPerpEngine
    function liquidate(address trader, uint256 marketId, bytes[] calldata priceUpdate)
        external
        payable
        nonReentrant
    {
        LiquidationLogic.liquidate(s, trader, marketId, msg.sender, priceUpdate, msg.value);
    }

    /// @inheritdoc IPerpEngine
    function liquidateMany(address[] calldata traders, uint256[] calldata marketIds, bytes[] calldata priceUpdate)
        external
        payable
        nonReentrant
        returns (uint256)
    {
        if (traders.length != marketIds.length || traders.length > MAX_BATCH) {
            revert InvalidBatch(traders.length, marketIds.length);
        }
        return LiquidationLogic.liquidateMany(s, traders, marketIds, msg.sender, priceUpdate, msg.value);
    }

    /// @inheritdoc IPerpEngine
    function autoDeleverage(address trader, uint256 marketId, bytes[] calldata priceUpdate)
        external
        payable
        nonReentrant
    {
        LiquidationLogic.autoDeleverage(s, trader, marketId, priceUpdate, msg.value);
    }

    /// @inheritdoc IPerpEngine
    function payClaims(uint256 maxCount) external nonReentrant returns (uint256) {
        return LiquidationLogic.payClaims(s, maxCount);
    }

    // =================================================================== vault hooks

    /// @inheritdoc IPerpEngine
    function vaultDeposit(uint256 amount) external onlyVault {
        s.ledger.vaultCash += (amount * tokenToWad).toInt256().toInt96();
        emit VaultCashDeposited(amount);
        s.payClaims(AUTO_PAID_CLAIMS);
    }

    /// @inheritdoc IPerpEngine
    function vaultWithdraw(uint256 amount, address receiver) external onlyVault nonReentrant {
        uint256 wad = amount * tokenToWad;
        uint256 available = vaultWithdrawable();
        if (wad > available) revert InsufficientVaultLiquidity(wad, available.toInt256());
        s.ledger.vaultCash -= wad.toInt256().toInt96();
        emit VaultCashWithdrawn(receiver, amount);
        collateralToken.safeTransfer(receiver, amount);
    }

    // =================================================================== governance

    /// @inheritdoc IPerpEngine
    function listMarket(IPriceFeed priceFeed, MarketParams calldata params)
        external
        onlyOwner
        returns (uint256)
    {
        return MarketAdminLogic.listMarket(s, priceFeed, params);
    }

    /// @inheritdoc IPerpEngine
    function setMarketParams(uint256 marketId, MarketParams calldata params) external onlyOwner {
        MarketAdminLogic.setMarketParams(s, marketId, params);
    }

    /// @inheritdoc IPerpEngine
    function setPriceFeed(uint256 marketId, IPriceFeed priceFeed) external onlyOwner {
        MarketAdminLogic.setPriceFeed(s, marketId, priceFeed);
    }

    /// @inheritdoc IPerpEngine
    function accrueFunding(uint256 marketId) external nonReentrant {
        MarketAdminLogic.accrueFunding(s, marketId);
    }

    /// @inheritdoc IPerpEngine
    function setReduceOnly(uint256 marketId, bool reduceOnly) external {
        if (msg.sender != guardian && msg.sender != owner()) revert NotGuardian(msg.sender);
        s.market(marketId).reduceOnly = reduceOnly;
        emit ReduceOnlySet(marketId, reduceOnly);
    }

    /// @inheritdoc IOrderEngine
    function setOrderBook(address orderBook_) external onlyOwner {
        if (s.protocol.orderBook != address(0)) revert OrderBookAlreadySet();
        // The book's Pyth adapters take prices from the book's engine (`PythPriceFeed.engine`): it must be this one.
        (bool ok, bytes memory answer) = orderBook_.staticcall(abi.encodeWithSignature("engine()"));
        if (!ok || answer.length != 32 || bytes32(answer) != bytes32(uint256(uint160(address(this))))) {
            revert InvalidParameter("orderBook");
        }
        s.protocol.orderBook = orderBook_;
        emit OrderBookSet(orderBook_);
    }

    /// @inheritdoc IOrderEngine
    function orderBook() external view returns (address) {
        return s.protocol.orderBook;
    }

    /// @inheritdoc IPerpEngine
    function setGuardian(address guardian_) external onlyOwner {
        guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    /// @inheritdoc IPerpEngine
    function setVault(address vault_) external onlyOwner {
        if (vault != address(0)) revert VaultAlreadySet();
        if (vault_ == address(0)) revert InvalidParameter("vault");
        vault = vault_;
        emit VaultSet(vault_);
    }

    /// @inheritdoc IPerpEngine
    function setProtocolParams(ProtocolParams calldata params) external onlyOwner {
        _setProtocolParams(params);
    }

    function _setProtocolParams(ProtocolParams memory params) internal {
        ParamsLib.validateProtocol(params);
        StoredProtocol storage p = s.protocol;
        (p.insuranceFeeShare, p.vaultBackingRatio, p.keeperRewardMin, p.keeperRewardMax) =
            (params.insuranceFeeShare, params.vaultBackingRatio, params.keeperRewardMin, params.keeperRewardMax);
        emit ProtocolParamsSet(params);
    }

    // =================================================================== views

    /// @inheritdoc IPerpEngine
    function marketCount() external view returns (uint256) {
        return s.marketCount;
    }

    /// @inheritdoc IPerpEngine
    function getMarket(uint256 marketId)
        external
        view
        returns (IPriceFeed priceFeed, bool reduceOnly, MarketParams memory params, MarketState memory state)
    {
        Market storage m = s.market(marketId);
        return (m.priceFeed, m.reduceOnly, m.params, m.state);
    }

    /// @inheritdoc IPerpEngine
    function getPosition(address trader, uint256 marketId) external view returns (Position memory) {
        return s.positions[trader][marketId];
    }

    /// @inheritdoc IPerpEngine
    function getAccount(address trader) external view returns (int256 crossBalance, uint256 crossMarkets) {
        Account memory account = s.accounts[trader];
        return (account.crossBalance, account.crossMarkets);
    }

    /// @inheritdoc IPerpEngine
    function protocolParams() external view returns (ProtocolParams memory) {
        StoredProtocol storage p = s.protocol;
        return ProtocolParams(p.insuranceFeeShare, p.vaultBackingRatio, p.keeperRewardMin, p.keeperRewardMax);
    }

    /// @inheritdoc IPerpEngine
    function positionHealth(address trader, uint256 marketId) external view returns (Health memory) {
        return LiquidationPriceLogic.positionHealth(s, trader, marketId);
    }

    /// @inheritdoc IPerpEngine
    function crossAccountHealth(address trader) external view returns (Health memory) {
        return LiquidationPriceLogic.crossAccountHealth(s, trader);
    }

    /// @inheritdoc IPerpEngine
    function liquidationPrice(address trader, uint256 marketId) external view returns (uint256) {
        return LiquidationPriceLogic.liquidationPrice(s, trader, marketId);
    }

    /// @inheritdoc IPerpEngine
    function pendingFunding(address trader, uint256 marketId) external view returns (int256) {
        Market storage m = s.market(marketId);
        Position memory pos = s.positions[trader][marketId];
        MarketState memory state = m.state;
        MarketLib.accrueInMemory(state, m.priceFeed.latestPrice());
        return PerpMath.fundingOwedUp(pos.size, state.fundingIndex, pos.lastFundingIndex);
    }

    /// @inheritdoc IPerpEngine
    function quoteTrade(uint256 marketId, int256 sizeDelta) external view returns (uint256 fill, uint256 fee) {
        Market storage m = s.market(marketId);
        int256 skew = MarketLib.skew(m.state);
        fill = PerpMath.fillPrice(m.priceFeed.latestPrice(), skew, sizeDelta, m.params.skewScale);
        fee = PerpMath.tradeFee(skew, sizeDelta, fill, m.params.makerFeeRate, m.params.takerFeeRate);
    }

    /// @inheritdoc IPerpEngine
    function indexPrice(uint256 marketId) external view returns (uint256) {
        return s.market(marketId).priceFeed.latestPrice();
    }

    /// @inheritdoc IPerpEngine
    function vaultNav() external view returns (uint256) {
        return LiquidationPriceLogic.vaultNav(s);
    }

    /// @inheritdoc IPerpEngine
    function vaultWithdrawable() public view returns (uint256) {
        return LiquidationPriceLogic.vaultWithdrawable(s);
    }

    /// @inheritdoc IPerpEngine
    function profitClaim(address account) external view returns (uint256) {
        return s.claimOf[account];
    }

    /// @inheritdoc IPerpEngine
    function totalProfitClaims() external view returns (uint256) {
        return s.claims.total;
    }

    /// @inheritdoc IPerpEngine
    function deficit() external view returns (uint256) {
        return s.claims.deficit;
    }

    /// @inheritdoc IPerpEngine
    function receivable() external view returns (uint256) {
        return s.receivable;
    }

    /// @inheritdoc IPerpEngine
    function vaultCash() external view returns (int256) {
        return s.ledger.vaultCash;
    }

    /// @inheritdoc IPerpEngine
    function insuranceFund() external view returns (uint256) {
        return s.ledger.insuranceFund;
    }

    /// @inheritdoc IPerpEngine
    function totalMarkNotional() external view returns (uint256) {
        return uint256(s.ledger.markNotionalUsd6) * 1e12;
    }
}
