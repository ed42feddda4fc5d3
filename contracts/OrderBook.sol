// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IOrderBook, Order, OrderKind, CancelReason, OrderBookParams, CLOSE_ALL} from "./interfaces/IOrderBook.sol";
import {IOrderEngine} from "./interfaces/IOrderEngine.sol";
import {IPerpEngine, Position} from "./interfaces/IPerpEngine.sol";
import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {IPythPriceFeed} from "./interfaces/IPythPriceFeed.sol";
import {PythParseLib} from "./libraries/PythParseLib.sol";

/// @title OrderBook
/// @notice Market orders (commit, then settle at the unique first price of a window) and trigger orders (limit, stop,
/// take-profit, stop-loss, trailing stop, OCO brackets) of SPEC "Orders". It holds no collateral: keeper fees sit in
/// the engine's order escrow (`lockEscrow`/`releaseEscrow`), so solvency is the engine's alone.
/// @dev Failure policy (SPEC): anything that is the keeper's fault (bad, missing or out-of-window price data, too
/// little gas, too little msg.value) reverts and leaves the order; anything that is the trader's fault (the engine
/// refuses the trade) cancels it and pays the keeper. Every loop is bounded (`MAX_BATCH`, 8 trigger ids, 128 markets).
contract OrderBook is IOrderBook, Ownable2Step, ReentrancyGuardTransient {
    using SafeCast for uint256;
    using SafeCast for int256;

    uint256 public constant MAX_TRIGGER_ORDERS = 8;
    uint256 public constant MAX_POSITION_ORDERS = 4;
    uint256 public constant MAX_BATCH = 50;
    uint256 internal constant BPS = 10_000;
    /// @dev A market order stores its keeper fee in 64 bits (`commitOrder`) while the engine escrows the full amount:
    /// the cap must stay below 2^64 (~1.8e19) or the stored fee would truncate and strand escrow (invariant 9).
    uint256 internal constant MAX_KEEPER_FEE = 10e18;
    /// @dev Storage form of `CLOSE_ALL` (a real size of -2^127 is refused, so the sentinel is unambiguous).
    int128 internal constant CLOSE_ALL_STORED = type(int128).min;
    /// @dev Every order id says where the order is stored: `seq << SEQ_SHIFT | trader << 8 | slot`, seq >= 1. A
    /// market order's `slot` is its market id (< 128, the engine's market limit); a trigger order's is
    /// `TRIGGER_FLAG | lane` (lane 0..7 of its trader). No per-id slot, no global counter.
    uint256 internal constant SEQ_SHIFT = 168;
    uint256 internal constant TRIGGER_FLAG = 0x80;
    /// @dev A lane word (uint32): `seq << LANE_SEQ_SHIFT | marketId << 1 | open`. The market (< 128) sits beside the
    /// open bit so that a position's trigger-order count is a scan of the one lane slot every placement and removal
    /// reads anyway (no per-position counter to read and write). seq < 2^24 per trader and lane (a SafeCast beyond:
    /// only the trader's own placements advance it).
    uint256 internal constant LANE_SEQ_SHIFT = 8;

    /// @notice A trigger order's price is older than `triggerMaxAge` at execution.
    error TriggerPriceTooOld(uint256 orderId, uint256 publishTime, uint256 blockTime, uint256 maxAge);
    /// @notice The unspent msg.value could not be returned to the caller.
    error RefundFailed(address to, uint256 amount);
    /// @notice A batch longer than `MAX_BATCH` (every loop is bounded).
    error TooManyIds(uint256 length, uint256 max);

    /// @dev An order in memory: its header and its body (below), plus the side of a reduce-only order (its
    /// `sizeDelta` may be `CLOSE_ALL`, which has no sign, and the side must not be re-derived from a position that
    /// may have been reopened the other way).
    struct StoredOrder {
        address trader;
        uint16 marketId;
        uint8 lane;
        uint40 createdAt;
        OrderKind kind;
        bool isolated;
        bool reduceOnly;
        int128 sizeDelta;
        uint128 acceptablePrice;
        uint96 keeperFee;
        uint96 marginDelta;
        uint32 positionEpoch;
        uint16 trailBps;
        bool isBuy;
        uint128 triggerPrice;
        uint256 ocoPartner;
    }

    /// @dev A trigger order, stored per trader and lane and never cleared: a trader's next trigger order in a freed
    /// lane rewrites non-zero slots (2,900 gas each) instead of fresh ones (20,000). Only the lane's word in
    /// `_lanes` (open, at the id's seq) says whether a body is live.
    struct OrderBody {
        // slots 0 and 1
        OrderCore core;
        // slot 2
        OrderTail tail;
    }

    /// @dev The third slot of a trigger order: its trigger, where it applies and its bracket partner (same trader:
    /// the partner's lane + 1, 0 for none, and the partner's seq).
    struct OrderTail {
        uint128 triggerPrice;
        uint32 partnerSeq;
        uint8 partnerLane;
        uint8 marketId;
        uint40 createdAt;
        OrderKind kind;
        bool isolated;
        bool reduceOnly;
    }

    /// @dev What every trigger order has besides its header and trigger (two slots, written as one struct).
    struct OrderCore {
        int128 sizeDelta;
        uint128 acceptablePrice;
        uint96 keeperFee;
        uint96 marginDelta;
        uint32 positionEpoch;
        uint16 trailBps;
        bool isBuy;
    }

    /// @dev Per trader and market, one slot: the pending market order's header (its id is `seq << 168 | trader << 8 |
    /// marketId`, so the id itself says where the order is: no per-id slot and no global counter). `used` stays set
    /// once written and `seq` only grows, so the slot never returns to zero and the next order pays 2,900 gas for
    /// it, not 20,000. (How many trigger orders name the market is counted from the trader's lane word.)
    struct PositionOrders {
        uint32 seq;
        bool used;
        bool pending;
        bool isolated;
        uint32 createdAt;
        uint64 keeperFee;
        uint96 marginDelta;
    }

    /// @dev The rest of a pending market order (one slot, rewritten by the trader's next order in the market).
    struct MarketBody {
        int128 sizeDelta;
        uint128 acceptablePrice;
    }

    IOrderEngine public immutable engine;
    OrderBookParams internal _params;
    mapping(address => mapping(uint256 => OrderBody)) internal _bodies;
    mapping(address => mapping(uint256 => PositionOrders)) internal _positionOrders;
    mapping(address => mapping(uint256 => MarketBody)) internal _marketBodies;
    /// @dev A trader's eight trigger lanes, all in one slot: per lane `seq << 8 | marketId << 1 | open` (seq of the
    /// lane's latest order, counting from 1 per trader and lane; the market of the order it holds). O(1) add/remove, no unbounded array, one cold read per
    /// placement; a freed lane keeps its seq, so the word stays non-zero and the next order's id is new.
    mapping(address => uint32[MAX_TRIGGER_ORDERS]) internal _lanes;

    constructor(IOrderEngine engine_, OrderBookParams memory params_, address owner_) Ownable(owner_) {
        engine = engine_;
        _setParams(params_);
    }

    // =================================================================== market orders

    /// @inheritdoc IOrderBook
    function commitOrder(uint256 marketId, int256 sizeDelta, uint256 acceptablePrice, uint256 marginDelta, bool isolated)
        external
        nonReentrant
        returns (uint256 orderId)
    {
        if (sizeDelta == 0) revert ZeroSize();
        // Reverts `UnknownMarket` for an unlisted id (one cheap read, no market count).
        engine.priceFeedOf(marketId);
        PositionOrders memory po = _positionOrders[msg.sender][marketId];
        if (po.pending) revert PendingMarketOrder(msg.sender, marketId, _orderId(po.seq, msg.sender, marketId));
        uint96 fee = _params.keeperFee;
        uint32 seq = po.seq + 1;
        orderId = _orderId(seq, msg.sender, marketId);
        // Two whole-slot writes, both to slots the trader's earlier orders left non-zero.
        _positionOrders[msg.sender][marketId] = PositionOrders({
            seq: seq,
            used: true,
            pending: true,
            isolated: isolated,
            createdAt: uint32(block.timestamp),
            keeperFee: uint64(fee), // fee <= MAX_KEEPER_FEE < 2^64
            marginDelta: marginDelta.toUint96()
        });
        _marketBodies[msg.sender][marketId] =
            MarketBody({sizeDelta: _storeSize(sizeDelta), acceptablePrice: _clampPrice(acceptablePrice)});
        if (fee != 0) engine.lockEscrow(msg.sender, fee);
        emit OrderCommitted(
            orderId,
            msg.sender,
            marketId,
            sizeDelta,
            acceptablePrice,
            marginDelta,
            isolated,
            fee,
            block.timestamp + _params.minSettleDelay,
            block.timestamp + _params.marketOrderExpiry
        );
    }

    /// @inheritdoc IOrderBook
    function settleOrder(uint256 orderId, bytes[] calldata priceUpdate) external payable nonReentrant {
        Verified memory none;
        (, uint256 spent) = _settle(orderId, priceUpdate, msg.value, true, none);
        _refund(spent);
    }

    /// @inheritdoc IOrderBook
    function settleOrders(uint256[] calldata orderIds, bytes[] calldata priceUpdate)
        external
        payable
        nonReentrant
        returns (uint256 settled)
    {
        if (orderIds.length > MAX_BATCH) revert TooManyIds(orderIds.length, MAX_BATCH);
        uint256 spent;
        Verified memory last;
        for (uint256 i; i < orderIds.length; ++i) {
            // Each market order has its own window; a price verified for an earlier one serves a later one whose
            // window it also opens (`_settle`), otherwise it is verified (and paid for) again.
            (bool done, uint256 used) = _settle(orderIds[i], priceUpdate, msg.value - spent, false, last);
            spent += used;
            if (done) ++settled;
        }
        _refund(spent);
    }

    /// @dev The last window price a batch verified: Pyth proved `prevPublishTime < windowStart <= publishTime`.
    /// `marketId` is the market `feed` was read for: a later order there takes the feed from here (no engine call;
    /// a market's feed cannot change inside the transaction: `setPriceFeed` is the owner's own call).
    struct Verified {
        IPythPriceFeed feed;
        uint256 marketId;
        uint64 windowStart;
        uint256 price;
        uint256 publishTime;
    }

    /// @dev Settles one market order; returns whether it left the book and the oracle fee spent. In a batch
    /// (`strict` false) an unusable id returns `done` false instead of reverting.
    /// A batch verifies once per run of orders that one price serves: if `last` (same feed) was proved the first price
    /// at or after `last.windowStart`, its predecessor is older than any later window start `w >= last.windowStart`,
    /// so for a window `[w, end]` with `w <= last.publishTime <= end` it is that window's unique first price too
    /// (SPEC invariant 7): the same fill `verifyAt` would return, without a second verification or oracle fee.
    function _settle(uint256 orderId, bytes[] calldata priceUpdate, uint256 value, bool strict, Verified memory last)
        internal
        returns (bool done, uint256 fee)
    {
        StoredOrder memory o = _load(orderId);
        if (o.trader == address(0)) {
            if (strict) revert OrderNotFound(orderId);
            return (false, 0);
        }
        if (o.kind != OrderKind.Market) {
            if (strict) revert WrongOrderKind(orderId, o.kind);
            return (false, 0);
        }
        OrderBookParams memory p = _params;
        uint256 settleableAt = uint256(o.createdAt) + p.minSettleDelay;
        if (block.timestamp < settleableAt) {
            if (strict) revert SettlementTooEarly(orderId, settleableAt, block.timestamp);
            return (false, 0);
        }
        uint256 expiresAt = uint256(o.createdAt) + p.marketOrderExpiry;
        if (block.timestamp > expiresAt) {
            if (strict) revert MarketOrderExpired(orderId, expiresAt, block.timestamp);
            return (false, 0);
        }
        IPythPriceFeed feed =
            address(last.feed) != address(0) && last.marketId == o.marketId ? last.feed : _feed(o.marketId);
        // SPEC invariant 7: the unique first price published in [createdAt + min, createdAt + max]; every keeper
        // gets the same fill. A keeper's bad data reverts here (the order stays).
        uint64 windowStart = uint64(settleableAt);
        uint64 windowEnd = uint64(uint256(o.createdAt) + p.maxSettleDelay);
        uint256 price;
        uint256 publishTime;
        if (
            last.feed == feed && windowStart >= last.windowStart && windowStart <= last.publishTime
                && last.publishTime <= windowEnd
        ) {
            (price, publishTime) = (last.price, last.publishTime);
        } else {
            bool ok;
            (ok, price, publishTime, fee) = _price(feed, priceUpdate, value, true, windowStart, windowEnd, strict);
            if (!ok) return (false, fee);
            (last.feed, last.marketId, last.windowStart, last.price, last.publishTime) =
                (feed, o.marketId, windowStart, price, publishTime);
        }
        _requireGas(p.minExecutionGas);

        // Effects before the engine call: the order leaves the book whatever the engine says.
        _positionOrders[o.trader][o.marketId].pending = false;
        _execute(orderId, o, price, publishTime);
        done = true;
    }

    /// @dev A verified price of `feed` from `priceUpdate`, paying at most `budget` (the fee spent is returned):
    /// with `window` the unique first price published in `[minPublishTime, maxPublishTime]` (`verifyAt`'s rule),
    /// otherwise the newest, at least as new as the cache (`updatePrice`'s). `strict` reverts with the reason where a
    /// batch gets `ok` false (the order skipped). The book pays Pyth itself and hands the parsed price to the
    /// adapter's `acceptPrice`, which applies the adapter's checks and cache rule: one value transfer per update
    /// instead of two (keeper -> book -> Pyth; ~6.7k gas) and one fee query instead of two. The market's adapter
    /// must name this book (`pythRequest`), else `FeedNotOfThisBook` (also for a feed that is no Pyth adapter). A
    /// price Pyth parsed but the adapter refused (confidence, band, window, older than the cache) has cost its fee;
    /// one Pyth refused has not. Every order path needs update data: empty data finds no price.
    function _price(
        IPythPriceFeed feed,
        bytes[] calldata priceUpdate,
        uint256 budget,
        bool window,
        uint64 minPublishTime,
        uint64 maxPublishTime,
        bool strict
    ) internal returns (bool ok, uint256 price, uint256 publishTime, uint256 fee) {
        try feed.pythRequest() returns (IPyth pyth, bytes32 priceId, address book) {
            if (book != address(this)) {
                if (strict) revert FeedNotOfThisBook(address(feed), book);
                return (false, 0, 0, 0);
            }
            fee = pyth.getUpdateFee(priceUpdate);
            if (budget < fee) {
                // Required and provided over the whole call (a poke of several markets spends one msg.value).
                if (strict) revert MsgValueTooLow(fee + msg.value - budget, msg.value);
                return (false, 0, 0, 0);
            }
            bool paid;
            (ok, paid, price, publishTime) = PythParseLib.parseAndAccept(
                feed, pyth, priceId, priceUpdate, fee, window, minPublishTime, maxPublishTime, strict
            );
            return (ok, price, publishTime, paid ? fee : 0);
        } catch (bytes memory r) {
            if (!strict) return (false, 0, 0, 0);
            // Not a Pyth adapter (no `pythRequest`).
            bytes memory reason =
                r.length == 0 ? abi.encodeWithSelector(FeedNotOfThisBook.selector, feed, address(0)) : r;
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
    }

    /// @inheritdoc IOrderBook
    function cancelOrder(uint256 orderId) external nonReentrant {
        StoredOrder memory o = _load(orderId);
        if (o.trader == address(0)) revert OrderNotFound(orderId);
        if (o.kind == OrderKind.Market) {
            // A market order is no free option: it stays until it can no longer settle.
            uint256 expiresAt = uint256(o.createdAt) + _params.marketOrderExpiry;
            if (block.timestamp <= expiresAt) revert MarketOrderNotExpired(orderId, expiresAt, block.timestamp);
            _positionOrders[o.trader][o.marketId].pending = false;
            // Anyone may clean up; a third party earns the fee for doing so.
            _cancelled(orderId, o, msg.sender == o.trader ? CancelReason.ByTrader : CancelReason.Expired, "");
        } else {
            if (msg.sender != o.trader) revert NotOrderOwner(orderId, msg.sender, o.trader);
            _removeTrigger(orderId, o);
            _unlinkPartner(o.trader, o.ocoPartner);
            _cancelled(orderId, o, CancelReason.ByTrader, "");
        }
    }

    // =================================================================== trigger orders

    /// @dev What placement needs besides the stored fields.
    struct Placement {
        uint256 marketId;
        OrderKind kind;
        int256 sizeDelta;
        uint256 triggerPrice;
        uint256 acceptablePrice;
        uint256 marginDelta;
        bool isolated;
        uint16 trailBps;
        uint256 ocoPartner;
    }

    /// @inheritdoc IOrderBook
    function placeTriggerOrder(
        uint256 marketId,
        OrderKind kind,
        int256 sizeDelta,
        uint256 triggerPrice,
        uint256 acceptablePrice,
        uint256 marginDelta,
        bool isolated,
        uint16 trailBps
    ) external nonReentrant returns (uint256 orderId) {
        orderId = _place(
            Placement(marketId, kind, sizeDelta, triggerPrice, acceptablePrice, marginDelta, isolated, trailBps, 0)
        );
    }

    /// @inheritdoc IOrderBook
    /// @dev The take-profit fills without a price bound beyond its trigger (its trigger is the bound: the fill
    /// differs from the verified index only by the skew premium); the stop-loss takes the given bound.
    function placeBracket(
        uint256 marketId,
        int256 sizeDelta,
        uint256 takeProfitPrice,
        uint256 stopLossPrice,
        uint256 stopLossAcceptablePrice
    ) external nonReentrant returns (uint256 takeProfitId, uint256 stopLossId) {
        // The two legs take the trader's first two free lanes (each names the other as its partner); with fewer
        // free, the second placement reverts `TooManyOrders`.
        (takeProfitId, stopLossId) = _nextTriggerIds(msg.sender);
        (bool isBuy,) = _reducingSide(msg.sender, marketId, sizeDelta);
        _place(
            Placement(
                marketId,
                OrderKind.TakeProfit,
                sizeDelta,
                takeProfitPrice,
                isBuy ? type(uint128).max : 0,
                0,
                false,
                0,
                stopLossId
            )
        );
        _place(
            Placement(
                marketId, OrderKind.StopLoss, sizeDelta, stopLossPrice, stopLossAcceptablePrice, 0, false, 0, takeProfitId
            )
        );
    }

    function _place(Placement memory pl) internal returns (uint256 orderId) {
        if (pl.kind == OrderKind.Market) revert WrongOrderKind(0, pl.kind);
        if (pl.sizeDelta == 0) revert ZeroSize();
        IPythPriceFeed feed = _feed(pl.marketId);
        bool reduceOnly = pl.kind >= OrderKind.TakeProfit;
        bool isBuy;
        uint256 epoch;
        if (reduceOnly) {
            (isBuy, epoch) = _reducingSide(msg.sender, pl.marketId, pl.sizeDelta);
            // A reduce-only order takes its margin mode from the position and moves no margin.
            pl.marginDelta = 0;
            pl.isolated = false;
        } else {
            // An entry needs a signed size: CLOSE_ALL is for closing.
            if (pl.sizeDelta == CLOSE_ALL) revert WrongOrderKind(0, pl.kind);
            isBuy = pl.sizeDelta > 0;
        }
        uint256 current = feed.latestPrice();
        if (pl.kind == OrderKind.TrailingStop) {
            if (pl.trailBps == 0 || pl.trailBps >= BPS) revert InvalidTrailBps(pl.trailBps);
            // The peak starts at the current cached price; only verified later prices move it.
            if (pl.triggerPrice != 0) revert InvalidTriggerPrice();
            pl.triggerPrice = current;
        } else {
            if (pl.trailBps != 0) revert InvalidTrailBps(pl.trailBps);
            if (pl.triggerPrice == 0) revert InvalidTriggerPrice();
            // Already crossed: it would execute at once, which is what a market order is for.
            if (_triggered(pl.kind, isBuy, current, pl.triggerPrice, 0)) {
                revert TriggerOnWrongSide(pl.kind, isBuy, pl.triggerPrice, current);
            }
        }
        uint96 fee = _params.keeperFee;
        uint256 lane;
        (lane, orderId) = _addTrigger(msg.sender, pl.marketId);
        // A reduce-only order has the epoch from the position it read; an entry's is read here.
        if (!reduceOnly) epoch = engine.positionEpoch(msg.sender, pl.marketId);
        _bodies[msg.sender][lane] = OrderBody({
            core: OrderCore({
                sizeDelta: _storeSize(pl.sizeDelta),
                acceptablePrice: _clampPrice(pl.acceptablePrice),
                keeperFee: fee,
                marginDelta: pl.marginDelta.toUint96(),
                positionEpoch: epoch.toUint32(),
                trailBps: pl.trailBps,
                isBuy: isBuy
            }),
            tail: OrderTail({
                triggerPrice: pl.triggerPrice.toUint128(),
                partnerSeq: uint32(pl.ocoPartner >> SEQ_SHIFT), // a live id's seq (< 2^24), or 0
                partnerLane: pl.ocoPartner == 0 ? 0 : uint8((pl.ocoPartner & 0x7f) + 1),
                marketId: uint8(pl.marketId), // < 128: `_feed` reverted for an unlisted market
                createdAt: uint40(block.timestamp),
                kind: pl.kind,
                isolated: pl.isolated,
                reduceOnly: reduceOnly
            })
        });
        if (fee != 0) engine.lockEscrow(msg.sender, fee);
        emit TriggerOrderPlaced(
            orderId,
            msg.sender,
            pl.marketId,
            pl.kind,
            pl.sizeDelta,
            pl.triggerPrice,
            pl.acceptablePrice,
            pl.trailBps,
            fee,
            epoch,
            pl.ocoPartner
        );
    }

    /// @dev The side (buy?) of a reduce-only order of `trader` in `marketId`: opposite to the position, or to the
    /// position the pending market order opens when there is none yet.
    /// Also returns the position's epoch (one engine call for both).
    function _reducingSide(address trader, uint256 marketId, int256 sizeDelta)
        internal
        view
        returns (bool isBuy, uint256 epoch)
    {
        Position memory pos = IPerpEngine(address(engine)).getPosition(trader, marketId);
        epoch = pos.epoch;
        int256 size = pos.size;
        if (size == 0) {
            bool pending = _positionOrders[trader][marketId].pending;
            int128 pendingSize = pending ? _marketBodies[trader][marketId].sizeDelta : int128(0);
            if (pendingSize == CLOSE_ALL_STORED) pendingSize = 0;
            size = pendingSize;
        }
        if (size == 0 || (sizeDelta != CLOSE_ALL && (sizeDelta > 0) == (size > 0))) {
            revert NotReducing(trader, marketId, size, sizeDelta);
        }
        isBuy = size < 0;
    }

    /// @inheritdoc IOrderBook
    function updateTriggerOrder(uint256 orderId, int256 sizeDelta, uint256 triggerPrice, uint256 acceptablePrice)
        external
        nonReentrant
    {
        (address trader, uint256 lane) = _liveTrigger(orderId);
        if (trader != msg.sender) revert NotOrderOwner(orderId, msg.sender, trader);
        OrderBody storage o = _bodies[trader][lane];
        OrderTail memory t = o.tail;
        OrderKind kind = t.kind;
        if (sizeDelta == 0) revert ZeroSize();
        bool isBuy = o.core.isBuy;
        if (t.reduceOnly) {
            if (sizeDelta != CLOSE_ALL && (sizeDelta > 0) != isBuy) {
                revert NotReducing(trader, t.marketId, 0, sizeDelta);
            }
        } else {
            if (sizeDelta == CLOSE_ALL) revert WrongOrderKind(orderId, kind);
            isBuy = sizeDelta > 0;
            o.core.isBuy = isBuy;
        }
        uint256 current = _feed(t.marketId).latestPrice();
        if (kind == OrderKind.TrailingStop) {
            if (triggerPrice != 0) revert InvalidTriggerPrice();
            triggerPrice = current;
        } else {
            if (triggerPrice == 0) revert InvalidTriggerPrice();
            if (_triggered(kind, isBuy, current, triggerPrice, 0)) {
                revert TriggerOnWrongSide(kind, isBuy, triggerPrice, current);
            }
        }
        o.core.sizeDelta = _storeSize(sizeDelta);
        o.core.acceptablePrice = _clampPrice(acceptablePrice);
        t.triggerPrice = triggerPrice.toUint128();
        // Prices published before now can no longer execute it (SPEC: newer than the order's last change).
        t.createdAt = uint40(block.timestamp);
        o.tail = t;
        emit TriggerOrderUpdated(orderId, sizeDelta, triggerPrice, acceptablePrice, block.timestamp);
    }

    /// @inheritdoc IOrderBook
    function executeOrder(uint256 orderId, bytes[] calldata priceUpdate) external payable nonReentrant {
        StoredOrder memory o = _load(orderId);
        if (o.trader == address(0)) revert OrderNotFound(orderId);
        if (o.kind == OrderKind.Market) revert WrongOrderKind(orderId, o.kind);
        (, uint256 price, uint256 publishTime, uint256 fee) =
            _price(_feed(o.marketId), priceUpdate, msg.value, false, 0, 0, true);
        _executeTrigger(orderId, o, price, publishTime, true);
        _refund(fee);
    }

    /// @inheritdoc IOrderBook
    /// @dev One `updatePrice` per run of consecutive ids in the same market (the oracle fee once per market, not
    /// per order); the rest use the cache it raised.
    function executeOrders(uint256[] calldata orderIds, bytes[] calldata priceUpdate)
        external
        payable
        nonReentrant
        returns (uint256 executed)
    {
        if (orderIds.length > MAX_BATCH) revert TooManyIds(orderIds.length, MAX_BATCH);
        uint256 spent;
        IPythPriceFeed lastFeed;
        // The market `lastFeed` was read for: the next order there needs no engine call (a market's feed cannot
        // change inside the transaction).
        uint256 lastMarket = type(uint256).max;
        bool priceOk;
        uint256 price;
        uint256 publishTime;
        for (uint256 i; i < orderIds.length; ++i) {
            StoredOrder memory o = _load(orderIds[i]);
            if (o.trader == address(0) || o.kind == OrderKind.Market) continue;
            IPythPriceFeed feed = o.marketId == lastMarket ? lastFeed : _feed(o.marketId);
            lastMarket = o.marketId;
            if (feed != lastFeed) {
                lastFeed = feed;
                uint256 fee;
                (priceOk, price, publishTime, fee) = _price(feed, priceUpdate, msg.value - spent, false, 0, 0, false);
                spent += fee;
            }
            if (priceOk && _executeTrigger(orderIds[i], o, price, publishTime, false)) ++executed;
        }
        _refund(spent);
    }

    /// @dev Executes (or voids) one trigger order at a price the adapter verified and cached. Returns whether the
    /// order left the book; `strict` reverts with the reason instead of returning false.
    function _executeTrigger(uint256 orderId, StoredOrder memory o, uint256 price, uint256 publishTime, bool strict)
        internal
        returns (bool)
    {
        int256 size = o.sizeDelta;
        bool isolated = o.isolated;
        if (o.reduceOnly) {
            // SPEC invariant 10: a reduce-only order of a closed, flipped or liquidated position never executes.
            // The position and the cross bits in one engine call.
            (Position memory pos, uint256 crossMarkets) = engine.positionAndCrossMarkets(o.trader, o.marketId);
            // A bracket placed with its entry waits for the entry: while the position is flat and the entry pending,
            // nobody may void the legs for the cleanup fee (they would strip the trader's stop before it exists).
            uint256 pendingEntry = pos.size == 0 ? pendingMarketOrder(o.trader, o.marketId) : 0;
            // The epoch comes with the position (`getPosition`): no second engine call.
            if (pendingEntry != 0 && pos.epoch == o.positionEpoch) {
                if (strict) revert PendingMarketOrder(o.trader, o.marketId, pendingEntry);
                return false;
            }
            if (
                pos.size == 0 || (pos.size < 0) != o.isBuy
                    || pos.epoch != o.positionEpoch
            ) {
                _removeTrigger(orderId, o);
                _unlinkPartner(o.trader, o.ocoPartner);
                // The caller cleaned up the book: the fee is its reward.
                _cancelled(orderId, o, CancelReason.Voided, "");
                return true;
            }
            // Clamped to the position: a reduce-only order never flips it.
            if (size == CLOSE_ALL_STORED || (size < 0 ? -size : size) > (pos.size < 0 ? -pos.size : pos.size)) {
                size = -int256(pos.size);
            }
            isolated = crossMarkets & (uint256(1) << o.marketId) == 0;
        }
        if (publishTime <= o.createdAt) {
            if (strict) revert PriceBeforeOrder(orderId, publishTime, o.createdAt);
            return false;
        }
        OrderBookParams memory p = _params;
        if (publishTime + p.triggerMaxAge < block.timestamp) {
            if (strict) revert TriggerPriceTooOld(orderId, publishTime, block.timestamp, p.triggerMaxAge);
            return false;
        }
        if (!_triggered(o.kind, o.isBuy, price, o.triggerPrice, o.trailBps)) {
            if (strict) revert TriggerNotReached(orderId, price, _threshold(o.kind, o.isBuy, o.triggerPrice, o.trailBps));
            return false;
        }
        _requireGas(p.minExecutionGas);
        _removeTrigger(orderId, o);
        o.sizeDelta = size.toInt128();
        o.isolated = isolated;
        bool executed = _execute(orderId, o, price, publishTime);
        if (o.ocoPartner != 0) {
            StoredOrder memory partner = _load(o.ocoPartner);
            if (executed && partner.trader != address(0)) {
                // One leg executed: the other leg goes, its fee back to the trader (SPEC invariant 10).
                _removeTrigger(o.ocoPartner, partner);
                _cancelled(o.ocoPartner, partner, CancelReason.OcoPartnerExecuted, "");
            } else {
                // This leg failed for the trader's reasons: the other one stands alone.
                _unlinkPartner(o.trader, o.ocoPartner);
            }
        }
        return true;
    }

    /// @inheritdoc IOrderBook
    function ratchetTrailingStop(uint256 orderId, bytes[] calldata priceUpdate) external payable nonReentrant {
        (address trader, uint256 lane) = _liveTrigger(orderId);
        OrderBody storage o = _bodies[trader][lane];
        OrderTail memory h = o.tail;
        if (h.kind != OrderKind.TrailingStop) revert WrongOrderKind(orderId, h.kind);
        (, uint256 price, uint256 publishTime, uint256 fee) =
            _price(_feed(h.marketId), priceUpdate, msg.value, false, 0, 0, true);
        if (publishTime <= h.createdAt) revert PriceBeforeOrder(orderId, publishTime, h.createdAt);
        uint256 peak = h.triggerPrice;
        // A long's stop (a sell) trails the highest price; a short's (a buy) the lowest.
        if (o.core.isBuy ? price < peak : price > peak) {
            o.tail.triggerPrice = price.toUint128();
            emit TrailingPeakRatcheted(orderId, price, publishTime);
        }
        _refund(fee);
    }

    /// @inheritdoc IOrderBook
    function pokePrices(uint256[] calldata marketIds, bytes[] calldata priceUpdate) external payable nonReentrant {
        if (marketIds.length > MAX_BATCH) revert TooManyIds(marketIds.length, MAX_BATCH);
        uint256 spent;
        for (uint256 i; i < marketIds.length; ++i) {
            (,,, uint256 fee) = _price(_feed(marketIds[i]), priceUpdate, msg.value - spent, false, 0, 0, true);
            spent += fee;
        }
        _refund(spent);
    }

    // =================================================================== shared steps

    /// @dev Calls the engine for an order already removed from the book and settles its fee with the keeper: on
    /// success and on a trader's-fault failure alike the keeper (msg.sender) earns it. Returns whether it executed.
    function _execute(uint256 orderId, StoredOrder memory o, uint256 price, uint256 publishTime)
        internal
        returns (bool ok)
    {
        int256 size = o.sizeDelta;
        bool isolated = o.isolated;
        if (size == CLOSE_ALL_STORED) {
            // Resolved now, from the position the order finds (market CLOSE_ALL).
            (Position memory pos, uint256 crossMarkets) = engine.positionAndCrossMarkets(o.trader, o.marketId);
            size = -int256(pos.size);
            isolated = crossMarkets & (uint256(1) << o.marketId) == 0;
            if (size == 0) {
                _cancelled(
                    orderId,
                    o,
                    CancelReason.ExecutionFailed,
                    abi.encodeWithSelector(NotReducing.selector, o.trader, o.marketId, int256(0), CLOSE_ALL)
                );
                return false;
            }
        }
        uint256 acceptable = o.acceptablePrice == type(uint128).max ? type(uint256).max : o.acceptablePrice;
        uint256 gasBefore = gasleft();
        // The engine pays the keeper its fee from the escrow in the same call (no second engine call).
        try engine.executeOrder(
            o.trader, o.marketId, size, acceptable, o.marginDelta, isolated, price, o.keeperFee, msg.sender
        ) {
            emit OrderExecuted(orderId, o.trader, o.marketId, o.kind, size, price, publishTime, msg.sender, o.keeperFee);
            return true;
        } catch (bytes memory reason) {
            // Out of gas in the engine is the keeper's fault, not the trader's: cancelling would let a keeper take the
            // fee by sending too little gas whenever a trade needs more than `minExecutionGas` (the floor is the
            // owner's setting; a whole settle of a 16-market cross account is ~548k). It shows as no revert data (the
            // engine reverts only with custom errors and panics, which carry data) and little gas left: each frame
            // that ran out keeps back 1/64 (EIP-150), so a chain of d frames leaves about (d + 1) / 64; 1/8 covers
            // the engine's deepest path (engine, library, adapter, aggregator).
            if (reason.length == 0 && gasleft() < gasBefore / 8) revert ExecutionOutOfGas(orderId, gasBefore);
            // The engine is inside another call: this one re-entered from the engine's refund of an oracle fee
            // (liquidate, withdraw...). The caller's doing, never the trader's: without this, an order with no fee
            // escrow (no release to revert) could be cancelled by anyone.
            if (bytes4(reason) == ReentrancyGuardReentrantCall.selector) revert ReentrancyGuardReentrantCall();
            // The engine refused the trade (slippage, margin, caps, reduce-only market...): the trader's fault.
            _cancelled(orderId, o, CancelReason.ExecutionFailed, reason);
            return false;
        }
    }

    /// @dev Releases an order's fee and emits its cancellation. Who gets the fee follows from the reason: the caller
    /// for a keeper's or third party's work (Expired, ExecutionFailed, Voided), the trader otherwise. The event's
    /// `feeTo` field carries the amount.
    function _cancelled(uint256 orderId, StoredOrder memory o, CancelReason reason, bytes memory data) internal {
        address to =
            reason == CancelReason.ByTrader || reason == CancelReason.OcoPartnerExecuted ? o.trader : msg.sender;
        _payFee(o, to);
        emit OrderCancelled(orderId, o.trader, reason, msg.sender, o.keeperFee, data);
    }

    function _payFee(StoredOrder memory o, address to) internal {
        if (o.keeperFee != 0) engine.releaseEscrow(o.trader, o.keeperFee, to);
    }

    /// @dev A keeper must not be able to starve the engine call into a "trader's fault" failure. Too little gas is
    /// the keeper's fault, so it reverts even in a batch: skipping instead would let `eth_estimateGas` settle a
    /// gas limit at which every order is skipped.
    function _requireGas(uint256 required) internal view {
        uint256 left = gasleft();
        if (left < required) revert InsufficientExecutionGas(left, required);
    }

    /// @dev Registers a trigger order under its trader (max 8) and position (max 4): takes the first free lane at
    /// its next seq and returns the lane and the order's id.
    function _addTrigger(address trader, uint256 marketId) internal returns (uint256 free, uint256 orderId) {
        uint32[MAX_TRIGGER_ORDERS] memory words = _lanes[trader];
        free = MAX_TRIGGER_ORDERS;
        uint256 open;
        uint256 inPosition;
        for (uint256 i; i < MAX_TRIGGER_ORDERS; ++i) {
            uint256 word = words[i];
            if (word & 1 != 0) {
                ++open;
                if ((word >> 1) & 0x7f == marketId) ++inPosition;
            } else if (free == MAX_TRIGGER_ORDERS) {
                free = i;
            }
        }
        if (open >= MAX_TRIGGER_ORDERS) revert TooManyOrders(trader, open, MAX_TRIGGER_ORDERS);
        if (inPosition >= MAX_POSITION_ORDERS) {
            revert TooManyPositionOrders(trader, marketId, inPosition, MAX_POSITION_ORDERS);
        }
        // One slot for all eight lanes: write this lane only. The seq is the trader's own (2^24 - 1 orders per
        // lane, a SafeCast beyond): nobody else can exhaust it. `marketId` < 128: `_feed` reverted for an unlisted
        // market and the engine lists at most 128.
        uint256 seq = (uint256(words[free]) >> LANE_SEQ_SHIFT) + 1;
        _lanes[trader][free] = (seq << LANE_SEQ_SHIFT | marketId << 1 | 1).toUint32();
        orderId = _triggerOrderId(seq, trader, free);
    }

    /// @dev The ids the trader's next two placements get (0 where no lane is free).
    function _nextTriggerIds(address trader) internal view returns (uint256 first, uint256 second) {
        uint32[MAX_TRIGGER_ORDERS] memory words = _lanes[trader];
        for (uint256 i; i < MAX_TRIGGER_ORDERS; ++i) {
            if (words[i] & 1 != 0) continue;
            uint256 id = _triggerOrderId((uint256(words[i]) >> LANE_SEQ_SHIFT) + 1, trader, i);
            if (first == 0) {
                first = id;
            } else {
                second = id;
                break;
            }
        }
    }

    /// @dev Removes a trigger order from the book: its lane is free again (keeping the seq; the cleared market bits
    /// take it out of its position's count); the body stays for the lane's next order.
    function _removeTrigger(uint256 orderId, StoredOrder memory o) internal {
        _lanes[o.trader][o.lane] = uint32((orderId >> SEQ_SHIFT) << LANE_SEQ_SHIFT);
    }

    /// @dev The other leg of a bracket stands alone once this one leaves without executing.
    function _unlinkPartner(address trader, uint256 partner) internal {
        if (partner == 0) return;
        (address t, uint256 lane, bool live) = _decodeTrigger(partner);
        if (live && t == trader) _bodies[trader][lane].tail.partnerLane = 0;
    }

    /// @dev Whether `price` satisfies the trigger. Limit and TakeProfit are limit-like (buy at or below, sell at or
    /// above); Stop and StopLoss are stop-like (buy at or above, sell at or below); a trailing stop is stop-like at
    /// the peak moved `trailBps` against the position.
    function _triggered(OrderKind kind, bool isBuy, uint256 price, uint256 triggerPrice, uint16 trailBps)
        internal
        pure
        returns (bool)
    {
        uint256 level = _threshold(kind, isBuy, triggerPrice, trailBps);
        bool limitLike = kind == OrderKind.Limit || kind == OrderKind.TakeProfit;
        if (limitLike) return isBuy ? price <= level : price >= level;
        return isBuy ? price >= level : price <= level;
    }

    function _threshold(OrderKind kind, bool isBuy, uint256 triggerPrice, uint16 trailBps)
        internal
        pure
        returns (uint256)
    {
        if (kind != OrderKind.TrailingStop) return triggerPrice;
        // Rounded toward the peak: a trailing stop never fires on less retrace than asked for.
        return isBuy ? triggerPrice * (BPS + trailBps) / BPS : (triggerPrice * (BPS - trailBps) + BPS - 1) / BPS;
    }

    /// @dev `priceFeedOf`, not `getMarket`: the feed alone, without copying the market's parameters and state.
    function _feed(uint256 marketId) internal view returns (IPythPriceFeed) {
        return IPythPriceFeed(engine.priceFeedOf(marketId));
    }

    /// @dev The order `orderId` (all zero if it is not in the book: a body whose lane is free or at another seq is
    /// not an order).
    function _load(uint256 orderId) internal view returns (StoredOrder memory o) {
        if (orderId & TRIGGER_FLAG == 0) return _loadMarket(orderId);
        (address trader, uint256 lane, bool live) = _decodeTrigger(orderId);
        if (!live) return o;
        OrderBody storage body = _bodies[trader][lane];
        OrderCore memory b = body.core;
        OrderTail memory t = body.tail;
        o.trader = trader;
        o.marketId = t.marketId;
        o.lane = uint8(lane);
        o.createdAt = t.createdAt;
        o.kind = t.kind;
        o.isolated = t.isolated;
        o.reduceOnly = t.reduceOnly;
        o.sizeDelta = b.sizeDelta;
        o.acceptablePrice = b.acceptablePrice;
        o.keeperFee = b.keeperFee;
        o.marginDelta = b.marginDelta;
        o.positionEpoch = b.positionEpoch;
        o.trailBps = b.trailBps;
        o.isBuy = b.isBuy;
        o.triggerPrice = t.triggerPrice;
        o.ocoPartner = t.partnerLane == 0 ? 0 : _triggerOrderId(t.partnerSeq, trader, t.partnerLane - 1);
    }

    /// @dev A trigger order id's trader and lane, and whether that lane holds it (open at the id's seq).
    function _decodeTrigger(uint256 orderId) internal view returns (address trader, uint256 lane, bool live) {
        uint256 seq = orderId >> SEQ_SHIFT;
        trader = address(uint160(orderId >> 8));
        lane = orderId & 0x7f;
        if (orderId & TRIGGER_FLAG == 0 || lane >= MAX_TRIGGER_ORDERS || seq == 0) return (trader, lane, false);
        // A seq of 2^24 or more never matches a lane word's 24-bit seq.
        uint256 word = _lanes[trader][lane];
        live = word & 1 != 0 && word >> LANE_SEQ_SHIFT == seq;
    }

    /// @dev For paths of trigger orders only: the live trigger order's trader and lane; a live market order's id is
    /// the wrong kind, any other is not found.
    function _liveTrigger(uint256 orderId) internal view returns (address trader, uint256 lane) {
        bool live;
        (trader, lane, live) = _decodeTrigger(orderId);
        if (live) return (trader, lane);
        if (orderId & TRIGGER_FLAG == 0 && _loadMarket(orderId).trader != address(0)) {
            revert WrongOrderKind(orderId, OrderKind.Market);
        }
        revert OrderNotFound(orderId);
    }

    /// @dev A market order from its id: the trader's and market's slot must hold it, pending, at the id's seq.
    function _loadMarket(uint256 orderId) internal view returns (StoredOrder memory o) {
        uint256 seq = orderId >> SEQ_SHIFT;
        address trader = address(uint160(orderId >> 8));
        uint256 marketId = orderId & 0xff;
        if (seq > type(uint32).max) return o;
        PositionOrders memory po = _positionOrders[trader][marketId];
        if (!po.pending || po.seq != seq) return o;
        MarketBody memory b = _marketBodies[trader][marketId];
        o.trader = trader;
        o.marketId = uint16(marketId);
        o.createdAt = po.createdAt;
        o.kind = OrderKind.Market;
        o.isolated = po.isolated;
        o.sizeDelta = b.sizeDelta;
        o.acceptablePrice = b.acceptablePrice;
        o.keeperFee = po.keeperFee;
        o.marginDelta = po.marginDelta;
    }

    function _orderId(uint256 seq, address trader, uint256 slot) internal pure returns (uint256) {
        return seq << SEQ_SHIFT | uint256(uint160(trader)) << 8 | slot;
    }

    function _triggerOrderId(uint256 seq, address trader, uint256 lane) internal pure returns (uint256) {
        return _orderId(seq, trader, TRIGGER_FLAG | lane);
    }

    function _storeSize(int256 sizeDelta) internal pure returns (int128) {
        if (sizeDelta == CLOSE_ALL) return CLOSE_ALL_STORED;
        int128 size = sizeDelta.toInt128();
        if (size == CLOSE_ALL_STORED) revert SafeCast.SafeCastOverflowedIntDowncast(128, sizeDelta);
        return size;
    }

    /// @dev Prices above uint128 are no bound at all (a buy's "no limit" is `type(uint128).max` or more).
    function _clampPrice(uint256 price) internal pure returns (uint128) {
        return price >= type(uint128).max ? type(uint128).max : uint128(price);
    }

    function _refund(uint256 spent) internal {
        uint256 rest = msg.value - spent;
        if (rest != 0) {
            (bool ok,) = msg.sender.call{value: rest}("");
            if (!ok) revert RefundFailed(msg.sender, rest);
        }
    }

    // =================================================================== views and owner

    /// @inheritdoc IOrderBook
    function getOrder(uint256 orderId) external view returns (Order memory order) {
        StoredOrder memory o = _load(orderId);
        if (o.trader == address(0)) return order;
        order = Order({
            trader: o.trader,
            marketId: o.marketId,
            kind: o.kind,
            isolated: o.isolated,
            reduceOnly: o.reduceOnly,
            trailBps: o.trailBps,
            createdAt: o.createdAt,
            sizeDelta: o.sizeDelta,
            acceptablePrice: o.acceptablePrice,
            triggerPrice: o.triggerPrice,
            marginDelta: o.marginDelta,
            keeperFee: o.keeperFee,
            positionEpoch: o.positionEpoch,
            ocoPartner: o.ocoPartner
        });
    }

    /// @inheritdoc IOrderBook
    function pendingMarketOrder(address trader, uint256 marketId) public view returns (uint256) {
        PositionOrders memory po = _positionOrders[trader][marketId];
        return po.pending ? _orderId(po.seq, trader, marketId) : 0;
    }

    /// @inheritdoc IOrderBook
    /// @dev Open trigger orders (what the limit of 8 counts); pending market orders are not counted.
    function openOrderCount(address trader) public view returns (uint256 open) {
        uint32[MAX_TRIGGER_ORDERS] memory words = _lanes[trader];
        for (uint256 i; i < MAX_TRIGGER_ORDERS; ++i) {
            if (words[i] & 1 != 0) ++open;
        }
    }

    /// @inheritdoc IOrderBook
    function nextTriggerOrderId(address trader) external view returns (uint256 orderId) {
        (orderId,) = _nextTriggerIds(trader);
    }

    /// @inheritdoc IOrderBook
    function positionOrderCount(address trader, uint256 marketId) external view returns (uint256) {
        uint32[MAX_TRIGGER_ORDERS] memory words = _lanes[trader];
        uint256 count;
        for (uint256 i; i < MAX_TRIGGER_ORDERS; ++i) {
            if (words[i] & 1 != 0 && (words[i] >> 1) & 0x7f == marketId) ++count;
        }
        return count;
    }

    /// @inheritdoc IOrderBook
    function ordersOf(address trader) external view returns (uint256[] memory ids) {
        uint256 markets = IPerpEngine(address(engine)).marketCount();
        uint32[MAX_TRIGGER_ORDERS] memory words = _lanes[trader];
        ids = new uint256[](MAX_TRIGGER_ORDERS + markets);
        uint256 n;
        for (uint256 i; i < MAX_TRIGGER_ORDERS; ++i) {
            if (words[i] & 1 != 0) ids[n++] = _triggerOrderId(words[i] >> LANE_SEQ_SHIFT, trader, i);
        }
        for (uint256 m; m < markets; ++m) {
            uint256 pending = pendingMarketOrder(trader, m);
            if (pending != 0) ids[n++] = pending;
        }
        assembly ("memory-safe") {
            mstore(ids, n)
        }
    }

    /// @inheritdoc IOrderBook
    function params() external view returns (OrderBookParams memory) {
        return _params;
    }

    /// @inheritdoc IOrderBook
    function setParams(OrderBookParams calldata params_) external onlyOwner {
        _setParams(params_);
    }

    /// @dev Hard bounds (docs/orders.md): keeperFee <= $10 (a fee a trader cannot be surprised by), in whole
    /// micro-dollars (the engine's escrow unit);
    /// 1 s <= minSettleDelay <= 10 s (at least one second so that no price known at commit can settle it);
    /// minSettleDelay < maxSettleDelay <= 120 s (a short window keeps the free option small);
    /// maxSettleDelay <= marketOrderExpiry <= 1 day (an order must not expire while it can still settle);
    /// 1 s <= triggerMaxAge <= 60 s; minExecutionGas <= 5,000,000 (below a block's gas, so a settle can fit).
    function _setParams(OrderBookParams memory p) internal {
        // Whole micro-dollars: the engine keeps a trader's escrow in USD with 6 decimals (in the account's slot).
        if (p.keeperFee > MAX_KEEPER_FEE || p.keeperFee % 1e12 != 0) revert InvalidOrderBookParam("keeperFee");
        if (p.minSettleDelay < 1 || p.minSettleDelay > 10) revert InvalidOrderBookParam("minSettleDelay");
        if (p.maxSettleDelay <= p.minSettleDelay || p.maxSettleDelay > 120) {
            revert InvalidOrderBookParam("maxSettleDelay");
        }
        if (p.marketOrderExpiry < p.maxSettleDelay || p.marketOrderExpiry > 1 days) {
            revert InvalidOrderBookParam("marketOrderExpiry");
        }
        if (p.triggerMaxAge < 1 || p.triggerMaxAge > 60) revert InvalidOrderBookParam("triggerMaxAge");
        if (p.minExecutionGas > 5_000_000) revert InvalidOrderBookParam("minExecutionGas");
        _params = p;
        emit OrderBookParamsSet(p);
    }
}
