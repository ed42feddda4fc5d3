// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PerpEngine} from "../../../contracts/PerpEngine.sol";
import {OrderBook} from "../../../contracts/OrderBook.sol";
import {IOrderBook, Order, OrderKind, OrderBookParams, CLOSE_ALL} from "../../../contracts/interfaces/IOrderBook.sol";
import {IOrderEngine} from "../../../contracts/interfaces/IOrderEngine.sol";
import {IPerpEngine, Position} from "../../../contracts/interfaces/IPerpEngine.sol";
import {StrictMockPyth} from "../../../contracts/mocks/StrictMockPyth.sol";
import {PythPriceFeed} from "../../../contracts/oracles/PythPriceFeed.sol";
import {Vm} from "../utils/Test.sol";

/// @notice Drives the order book with bounded random calls: market orders committed, settled with in-window, early,
/// late, stale, duplicate, empty and wrong-feed price data, cancelled by their trader or a third party before and
/// after expiry; trigger orders (limit, stop, take-profit, stop-loss, trailing with ratchet, brackets) placed, updated,
/// cancelled and executed; prices published and poked out of order; time moved; liquidations. It keeps a ghost
/// ledger folded from the book's and engine's events, and records every per-call violation of SPEC 7-10 in
/// `violation` (the invariant test reads it and the ledger after every call).
/// @dev Prices come from a ghost "publisher": one chain of updates per feed, each carrying its predecessor's publish
/// time as `prevPublishTime` (what real Pyth attests). Keepers only ever submit updates from that chain, so the
/// unique first price of a window is known to the handler independently of the contracts (SPEC 7).
contract OrderHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant UNIT = 1e10; // one 8-decimal Pyth unit in WAD
    uint256 internal constant BPS = 10_000;
    uint256 internal constant FIRST_MARKET = 2; // markets 0 and 1 are the Chainlink ones of ProtocolSetup

    struct Pub {
        uint64 t;
        uint64 prev;
        int64 price;
    }

    /// @dev Ghost of one order, from its placement event on.
    struct GOrder {
        address trader;
        uint8 feed;
        OrderKind kind;
        bool open;
        bool reduceOnly;
        bool isBuy;
        uint96 fee;
        uint40 createdAt;
        uint256 partner;
        /// @dev Closures of the trader's position in this market when the order was placed (SPEC 10).
        uint32 closuresAtPlacement;
        uint128 peak;
    }

    PerpEngine public engine;
    OrderBook public book;
    StrictMockPyth public pyth;
    PythPriceFeed[2] internal feeds;
    bytes32[2] internal priceIds;
    address[] internal actors; // traders, then the keeper last
    uint256 internal minDelay;
    uint256 internal maxDelay;
    uint256 internal expiry;
    uint256 internal triggerMaxAge;

    /// @dev Block time as the handler set it (under viaIR a second read of block.timestamp in one frame after
    /// vm.warp may return the first read's value).
    uint256 public clock;

    Pub[][2] internal chain;
    mapping(uint256 => GOrder) public ghost;
    uint256[] internal orderIds;
    /// @dev Ghost position sizes and closure counts (to zero, or flipped), folded from events in order.
    mapping(address => mapping(uint256 => int256)) internal gSize;
    mapping(address => mapping(uint256 => uint32)) internal closures;
    /// @dev Closure count right before the last position event of (trader, market): what an execution saw.
    mapping(address => mapping(uint256 => uint32)) internal closuresBeforeLastEvent;

    /// @notice Highest cache publish time seen per feed (SPEC 8).
    uint256[2] public maxCacheTime;

    // per-call context
    address internal caller;
    bool internal placingIsBuy;
    uint256[2] internal cacheBefore;
    int256 internal holdingsBefore;

    string public violation;

    /// @notice Campaign statistics (how much of each path a campaign reached).
    uint256 public marketFills;
    uint256 public marketFailedFills;
    uint256 public settleReverts;
    uint256 public triggerFills;
    uint256 public voids;
    uint256 public ocoCancels;
    uint256 public cancels;
    uint256 public liquidations;
    uint256 public ratchets;

    constructor(
        PerpEngine engine_,
        OrderBook book_,
        StrictMockPyth pyth_,
        PythPriceFeed[2] memory feeds_,
        bytes32[2] memory ids_,
        int64[2] memory initialPrices,
        address[] memory actors_
    ) {
        engine = engine_;
        book = book_;
        pyth = pyth_;
        feeds = feeds_;
        priceIds = ids_;
        actors = actors_;
        OrderBookParams memory p = book_.params();
        minDelay = p.minSettleDelay;
        maxDelay = p.maxSettleDelay;
        expiry = p.marketOrderExpiry;
        triggerMaxAge = p.triggerMaxAge;
        clock = block.timestamp;
        for (uint256 f; f < 2; ++f) {
            chain[f].push(Pub(uint64(clock), uint64(clock - 1), initialPrices[f]));
            feeds_[f].updatePrice(_data(f, 0));
            maxCacheTime[f] = clock;
        }
        vm.recordLogs();
    }

    // ================================================================ views for the invariant test

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function actorAt(uint256 i) external view returns (address) {
        return actors[i];
    }

    /// @notice The newest published update of a feed (what a keeper would send).
    function newestUpdate(uint256 f) external view returns (bytes[] memory) {
        return _data(f, chain[f].length - 1);
    }

    function orderCount() external view returns (uint256) {
        return orderIds.length;
    }

    function orderIdAt(uint256 i) external view returns (uint256) {
        return orderIds[i];
    }

    /// @notice Sum of keeperFee over the trader's open orders, and how many there are, per the ghost ledger.
    function openFees(address trader) public view returns (uint256 fees, uint256 count) {
        for (uint256 i; i < orderIds.length; ++i) {
            GOrder storage o = ghost[orderIds[i]];
            if (o.open && o.trader == trader) {
                fees += o.fee;
                ++count;
            }
        }
    }

    /// @notice Cross balances + order escrow + isolated margins of every actor (USD WAD).
    function holdings() public view returns (int256 total) {
        for (uint256 i; i < actors.length; ++i) {
            (int256 balance,) = engine.getAccount(actors[i]);
            total += balance + int256(engine.orderEscrow(actors[i]));
            for (uint256 m = FIRST_MARKET; m < FIRST_MARKET + 2; ++m) {
                total += int256(uint256(engine.getPosition(actors[i], m).margin));
            }
        }
    }

    // ================================================================ actions: prices and time

    /// Publishes the next price of a feed (a move of up to +-3 %, or +-12 % one time in eight) and sometimes pokes
    /// it into the cache.
    function publish(uint256 feedSeed, uint256 moveSeed, bool poke) external {
        _begin(address(0));
        uint256 f = feedSeed % 2;
        uint256 maxBps = moveSeed % 8 == 0 ? 1200 : 300;
        int64 last = chain[f][chain[f].length - 1].price;
        int256 bps = int256((moveSeed >> 8) % (2 * maxBps + 1)) - int256(maxBps);
        int256 next = int256(last) * (int256(BPS) + bps) / int256(BPS);
        if (next < 1e8) next = 1e8;
        uint256 idx = _publish(f, int64(next));
        if (poke) _poke(f, idx, actors[moveSeed % actors.length]);
        _end();
    }

    /// Pokes a price of the chain, any one (older than the cache: refused; equal: no-op; newer: raises it).
    function pokeOutOfOrder(uint256 feedSeed, uint256 idxSeed, uint256 callerSeed) external {
        _begin(address(0));
        uint256 f = feedSeed % 2;
        _poke(f, idxSeed % chain[f].length, actors[callerSeed % actors.length]);
        _end();
    }

    function warp(uint256 seed) external {
        _begin(address(0));
        // Mostly a few seconds (inside settlement windows); sometimes past a market order's expiry.
        _warp(clock + (seed % 6 == 0 ? expiry + 1 : 1 + seed % 12));
        _end();
    }

    function deposit(uint256 actorSeed, uint256 amountSeed) external {
        address actor = _trader(actorSeed);
        _begin(actor);
        vm.prank(actor);
        engine.deposit(1e6 + amountSeed % 50_000e6);
        _end();
    }

    /// The keeper (or a trader) liquidates a position at the newest published price.
    function liquidate(uint256 actorSeed, uint256 feedSeed, uint256 callerSeed) external {
        address trader = _trader(actorSeed);
        uint256 f = feedSeed % 2;
        address by = actors[callerSeed % actors.length];
        _begin(by);
        // The data first: vm.prank applies to the next external call, and building it is one (the mock's encoder).
        bytes[] memory data = _data(f, chain[f].length - 1);
        vm.prank(by);
        try engine.liquidate(trader, FIRST_MARKET + f, data) {
            ++liquidations;
        } catch {
            vm.getRecordedLogs();
        }
        _end();
    }

    // ================================================================ actions: market orders

    function commit(uint256 actorSeed, uint256 feedSeed, uint256 sizeSeed, uint256 modeSeed) external {
        address trader = _trader(actorSeed);
        uint256 f = feedSeed % 2;
        _begin(trader);
        int256 size = _size(f, sizeSeed);
        Position memory pos = engine.getPosition(trader, FIRST_MARKET + f);
        if (modeSeed % 5 == 0 && pos.size != 0) size = modeSeed % 10 == 0 ? CLOSE_ALL : -int256(pos.size);
        bool isBuy = size == CLOSE_ALL ? pos.size < 0 : size > 0;
        // Mostly no bound; one time in four a tight one (0.05 %) that a move of the window's price breaks.
        uint256 acceptable = isBuy ? type(uint256).max : 0;
        if ((modeSeed >> 8) % 4 == 0) {
            uint256 ref = uint256(uint64(chain[f][chain[f].length - 1].price)) * UNIT;
            acceptable = isBuy ? ref * 10_005 / BPS : ref * 9_995 / BPS;
        }
        bool isolated = (modeSeed >> 16) % 3 == 0 && pos.size == 0;
        uint256 margin = isolated ? 1_000e18 + (modeSeed >> 24) % 20_000e18 : 0;
        vm.prank(trader);
        try book.commitOrder(FIRST_MARKET + f, size, acceptable, margin, isolated) {}
        catch {
            vm.getRecordedLogs();
        }
        _end();
    }

    /// Settles a market order with one of: the window's first price (after moving into the window and publishing
    /// it if needed), the same without moving (early or expired), a later price of the window, the last price before
    /// the window, the first after it, [later, first], [first, first], no data, the other feed's price, or a batch
    /// naming the order twice.
    function settle(uint256 orderSeed, uint256 callerSeed, uint256 variant) external {
        address by = actors[callerSeed % actors.length];
        _begin(by);
        (bool found, uint256 id) = _pickOpen(orderSeed, true);
        if (!found) {
            _end();
            return;
        }
        GOrder storage o = ghost[id];
        uint256 f = o.feed;
        uint256 lo = uint256(o.createdAt) + minDelay;
        uint256 hi = uint256(o.createdAt) + maxDelay;
        variant %= 10;
        if (variant == 0 || variant == 2 || variant >= 5) {
            if (clock < lo) _warp(lo + (variant % 4));
            if (clock <= hi && !_hasInWindow(f, lo, hi)) _publish(f, _drift(f, orderSeed));
            if (variant == 2 && clock < hi) {
                _warp(clock + 1);
                _publish(f, _drift(f, orderSeed >> 8));
            }
        }
        (bool hasFirst, uint256 first) = _firstInWindow(f, lo, hi);
        uint256 idx = hasFirst ? first : chain[f].length - 1;
        bytes[] memory data;
        if (variant == 2 || variant == 5) {
            // A later price of the window (its predecessor is in the window too), alone or before the first one.
            uint256 later = idx;
            for (uint256 i = idx + 1; i < chain[f].length; ++i) {
                if (chain[f][i].t <= hi) later = i;
            }
            data = variant == 2 ? _data(f, later) : _data2(f, later, f, idx);
        } else if (variant == 3 || variant == 4) {
            // The last price before the window, or the first after it.
            idx = chain[f].length - 1;
            for (uint256 i; i < chain[f].length; ++i) {
                if (variant == 3 && chain[f][i].t < lo) idx = i;
                if (variant == 4 && chain[f][i].t > hi) {
                    idx = i;
                    break;
                }
            }
            data = _data(f, idx);
        } else if (variant == 6) {
            data = _data2(f, idx, f, idx);
        } else if (variant == 7) {
            data = new bytes[](0);
        } else if (variant == 8) {
            data = _data(1 - f, chain[1 - f].length - 1);
        } else {
            data = _data(f, idx);
        }
        if (variant == 9) {
            uint256[] memory ids = new uint256[](2);
            ids[0] = id;
            ids[1] = id;
            vm.prank(by);
            try book.settleOrders(ids, data) {}
            catch {
                vm.getRecordedLogs();
                _flag("settleOrders reverted");
            }
        } else {
            vm.prank(by);
            try book.settleOrder(id, data) {}
            catch {
                vm.getRecordedLogs();
                ++settleReverts;
            }
        }
        _end();
    }

    /// Cancels any order the ghost ever saw (open or gone), by its trader or someone else, sometimes after moving
    /// past a market order's expiry.
    function cancel(uint256 orderSeed, uint256 callerSeed, bool pastExpiry) external {
        if (orderIds.length == 0) return;
        uint256 id = orderIds[orderSeed % orderIds.length];
        address by = callerSeed % 3 == 0 ? actors[callerSeed % actors.length] : ghost[id].trader;
        _begin(by);
        if (pastExpiry && ghost[id].open && ghost[id].kind == OrderKind.Market) {
            uint256 at = uint256(ghost[id].createdAt) + expiry + 1;
            if (clock < at) _warp(at);
        }
        vm.prank(by);
        try book.cancelOrder(id) {}
        catch {
            vm.getRecordedLogs();
        }
        _end();
    }

    // ================================================================ actions: trigger orders

    function placeTrigger(uint256 actorSeed, uint256 feedSeed, uint256 kindSeed, uint256 sizeSeed, uint256 priceSeed)
        external
    {
        address trader = _trader(actorSeed);
        uint256 f = feedSeed % 2;
        _begin(trader);
        OrderKind kind = OrderKind(1 + kindSeed % 5);
        (int256 size, bool isBuy) = _triggerSize(trader, f, kind, sizeSeed);
        placingIsBuy = isBuy;
        uint16 trail = kind == OrderKind.TrailingStop ? uint16(50 + priceSeed % 500) : 0;
        uint256 trigger = kind == OrderKind.TrailingStop ? 0 : _triggerPrice(f, kind, isBuy, priceSeed);
        uint256 acceptable = isBuy ? type(uint256).max : 0;
        vm.prank(trader);
        try book.placeTriggerOrder(FIRST_MARKET + f, kind, size, trigger, acceptable, 0, false, trail) {}
        catch {
            vm.getRecordedLogs();
        }
        _end();
    }

    function placeBracket(uint256 actorSeed, uint256 feedSeed, uint256 sizeSeed, uint256 priceSeed) external {
        address trader = _trader(actorSeed);
        uint256 f = feedSeed % 2;
        _begin(trader);
        (int256 size, bool isBuy) = _triggerSize(trader, f, OrderKind.TakeProfit, sizeSeed);
        placingIsBuy = isBuy;
        uint256 tp = _triggerPrice(f, OrderKind.TakeProfit, isBuy, priceSeed);
        uint256 sl = _triggerPrice(f, OrderKind.StopLoss, isBuy, priceSeed >> 16);
        vm.prank(trader);
        try book.placeBracket(FIRST_MARKET + f, size, tp, sl, isBuy ? type(uint256).max : 0) {}
        catch {
            vm.getRecordedLogs();
        }
        _end();
    }

    function updateTrigger(uint256 orderSeed, uint256 priceSeed, bool byOther) external {
        (bool found, uint256 id) = _pickOpen(orderSeed, false);
        if (!found) return;
        GOrder storage o = ghost[id];
        address by = byOther ? actors[(priceSeed >> 32) % actors.length] : o.trader;
        _begin(by);
        Order memory stored = book.getOrder(id);
        int256 size = stored.sizeDelta == type(int128).min ? CLOSE_ALL : int256(stored.sizeDelta);
        if (priceSeed % 4 == 0 && size != CLOSE_ALL) size = size / 2 == 0 ? size : size / 2;
        uint256 trigger = o.kind == OrderKind.TrailingStop ? 0 : _triggerPrice(o.feed, o.kind, o.isBuy, priceSeed);
        vm.prank(by);
        try book.updateTriggerOrder(id, size, trigger, o.isBuy ? type(uint256).max : 0) {}
        catch {
            vm.getRecordedLogs();
        }
        _end();
    }

    /// Executes a trigger order with a freshly published price exactly at its threshold, beyond it, a random one,
    /// no data (the cache), an older price of the chain, or in a batch with another order.
    function executeTrigger(uint256 orderSeed, uint256 callerSeed, uint256 variant) external {
        (bool found, uint256 id) = _pickOpen(orderSeed, false);
        if (!found) return;
        address by = actors[callerSeed % actors.length];
        _begin(by);
        GOrder storage o = ghost[id];
        uint256 f = o.feed;
        variant %= 6;
        bytes[] memory data;
        if (variant == 3) {
            data = new bytes[](0);
        } else if (variant == 4) {
            data = _data(f, (orderSeed >> 8) % chain[f].length);
        } else {
            if (clock <= o.createdAt) _warp(uint256(o.createdAt) + 1);
            int64 price = variant == 2 ? _drift(f, orderSeed >> 8) : _crossing(id, variant == 1);
            data = _data(f, _publish(f, price));
        }
        if (variant == 5) {
            uint256[] memory ids = new uint256[](2);
            ids[0] = id;
            ids[1] = orderIds[(orderSeed >> 16) % orderIds.length];
            vm.prank(by);
            try book.executeOrders(ids, data) {}
            catch {
                vm.getRecordedLogs();
                _flag("executeOrders reverted");
            }
        } else {
            vm.prank(by);
            try book.executeOrder(id, data) {}
            catch {
                vm.getRecordedLogs();
            }
        }
        _end();
    }

    /// Ratchets a trailing stop with a new price, mostly in the position's favour.
    function ratchet(uint256 orderSeed, uint256 moveSeed) external {
        (bool found, uint256 id) = _pickTrailing(orderSeed);
        if (!found) return;
        GOrder storage o = ghost[id];
        address by = actors[moveSeed % actors.length];
        _begin(by);
        uint256 f = o.feed;
        if (clock <= o.createdAt) _warp(uint256(o.createdAt) + 1);
        int64 last = chain[f][chain[f].length - 1].price;
        int256 bps = int256(1 + (moveSeed >> 8) % 200);
        // A long's stop (a sell) trails the high: up is favourable; one time in four the other way.
        bool up = !o.isBuy != ((moveSeed >> 16) % 4 == 0);
        int256 next = int256(last) * (int256(BPS) + (up ? bps : -bps)) / int256(BPS);
        uint256 idx = _publish(f, int64(next < 1e8 ? int256(1e8) : next));
        bytes[] memory data = _data(f, idx);
        vm.prank(by);
        try book.ratchetTrailingStop(id, data) {}
        catch {
            vm.getRecordedLogs();
        }
        _end();
    }

    // ================================================================ ghost ledger

    function _begin(address by) internal {
        vm.getRecordedLogs();
        caller = by;
        for (uint256 f; f < 2; ++f) {
            (, cacheBefore[f]) = feeds[f].cachedPrice();
        }
        holdingsBefore = holdings();
    }

    /// @dev Folds this call's events into the ghost ledger and checks SPEC 7-10 on them.
    function _end() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        // Each order event follows the escrow event that moved its fee (lock before placement, release before the
        // closing event): the pair is checked together.
        bool lockPending;
        bool releasePending;
        address escrowTrader;
        address releaseTo;
        uint256 escrowAmount;
        bool traded;
        uint256[4] memory expectGone;
        uint256 gone;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            bytes32 t0 = l.topics[0];
            if (l.emitter == address(engine)) {
                if (t0 == IOrderEngine.EscrowLocked.selector) {
                    if (lockPending || releasePending) _flag("escrow event without its order event");
                    (lockPending, escrowTrader, escrowAmount) = (true, _addr(l.topics[1]), _word(l.data, 0));
                } else if (t0 == IOrderEngine.EscrowReleased.selector) {
                    if (lockPending || releasePending) _flag("escrow event without its order event");
                    (releasePending, escrowTrader, releaseTo, escrowAmount) =
                        (true, _addr(l.topics[1]), _addr(l.topics[2]), _word(l.data, 0));
                } else if (t0 == IPerpEngine.PositionModified.selector) {
                    traded = true;
                    _position(_addr(l.topics[1]), uint256(l.topics[2]), int256(_word(l.data, 1)));
                } else if (t0 == IPerpEngine.PositionClosedAtIndex.selector) {
                    traded = true;
                    _position(_addr(l.topics[1]), uint256(l.topics[2]), 0);
                } else if (t0 == IPerpEngine.Liquidated.selector) {
                    traded = true;
                }
                continue;
            }
            if (l.emitter != address(book)) continue;
            uint256 id = uint256(l.topics.length > 1 ? l.topics[1] : bytes32(0));
            GOrder storage o = ghost[id];
            if (t0 == IOrderBook.OrderCommitted.selector || t0 == IOrderBook.TriggerOrderPlaced.selector) {
                bool isMarket = t0 == IOrderBook.OrderCommitted.selector;
                address trader = _addr(l.topics[2]);
                uint256 fee = _word(l.data, isMarket ? 4 : 5);
                if (o.trader != address(0)) _flag("order id reused");
                if (trader != caller) _flag("order placed for someone else");
                if (fee != 0) {
                    if (!lockPending || escrowTrader != trader || escrowAmount != fee) _flag("fee not escrowed");
                    lockPending = false;
                }
                uint256 m = uint256(l.topics[3]);
                o.trader = trader;
                o.feed = uint8(m - FIRST_MARKET);
                o.open = true;
                o.fee = uint96(fee);
                o.createdAt = uint40(clock);
                if (isMarket) {
                    o.kind = OrderKind.Market;
                } else {
                    o.kind = OrderKind(_word(l.data, 0));
                    o.reduceOnly = o.kind >= OrderKind.TakeProfit;
                    o.isBuy = o.reduceOnly ? placingIsBuy : int256(_word(l.data, 1)) > 0;
                    o.peak = uint128(_word(l.data, 2));
                    o.partner = _word(l.data, 7);
                    o.closuresAtPlacement = closures[trader][m];
                }
                orderIds.push(id);
            } else if (t0 == IOrderBook.TriggerOrderUpdated.selector) {
                if (!o.open || caller != o.trader) _flag("update of an order not open or not the caller's");
                o.createdAt = uint40(_word(l.data, 3));
                if (!o.reduceOnly) o.isBuy = int256(_word(l.data, 0)) > 0;
                if (o.kind == OrderKind.TrailingStop) o.peak = uint128(_word(l.data, 1));
            } else if (t0 == IOrderBook.TrailingPeakRatcheted.selector) {
                uint256 peak = _word(l.data, 0);
                // The peak only moves in the position's favour, to a chain price published after the order.
                if (o.isBuy ? peak >= o.peak : peak <= o.peak) _flag("trailing peak moved backwards");
                if (_word(l.data, 1) <= o.createdAt) _flag("ratchet with a price older than the order");
                if (_priceAt(o.feed, _word(l.data, 1)) != peak) _flag("ratchet peak is not the published price");
                o.peak = uint128(peak);
                ++ratchets;
            } else if (t0 == IOrderBook.OrderExecuted.selector || t0 == IOrderBook.OrderCancelled.selector) {
                bool executed = t0 == IOrderBook.OrderExecuted.selector;
                if (!o.open) _flag("an order left the book twice (or was never open)");
                o.open = false;
                address feeTo;
                uint256 reason;
                if (executed) {
                    if (_word(l.data, 5) != o.fee) _flag("executed fee != escrowed fee");
                    if (_addr(bytes32(_word(l.data, 4))) != caller) _flag("executed by someone else than the caller");
                    feeTo = caller;
                    _checkExecution(id, o, _word(l.data, 2), _word(l.data, 3));
                } else {
                    reason = _word(l.data, 0);
                    if (_word(l.data, 2) != o.fee) _flag("cancel fee != escrowed fee");
                    // ByTrader and OcoPartnerExecuted refund the trader; the others pay the caller for its work.
                    feeTo = reason == 0 || reason == 4 ? o.trader : caller;
                    _checkCancel(o, reason);
                }
                if (o.fee != 0) {
                    if (!releasePending || escrowTrader != o.trader || escrowAmount != o.fee || releaseTo != feeTo) {
                        _flag("fee not released exactly once to the right party");
                    }
                    releasePending = false;
                }
                if (o.kind != OrderKind.Market) _closeTrigger(o, executed);
                if (executed && o.partner != 0 && ghost[o.partner].open && gone < 4) expectGone[gone++] = o.partner;
            }
        }
        if (lockPending || releasePending) _flag("escrow moved without an order event");
        for (uint256 i; i < gone; ++i) {
            if (ghost[expectGone[i]].open) _flag("OCO partner survived its leg's execution");
        }
        _reconcilePositions();
        _checkCaches();
        // Without a trade (fees, PnL, funding) the actors' books only move between themselves: an escrowed fee is
        // neither created nor lost nor paid twice. Deposits add exactly their amount.
        int256 delta = holdings() - holdingsBefore;
        if (!traded && delta != 0 && !_isDeposit(delta)) _flag("holdings changed without a trade");
    }

    function _closeTrigger(GOrder storage o, bool executed) internal {
        if (o.partner == 0) return;
        GOrder storage p = ghost[o.partner];
        // A leg that leaves without executing leaves its partner standing alone.
        if (!executed && p.open) p.partner = 0;
    }

    /// @dev SPEC 7 (market orders), 8 (trigger orders never use a price older than the cache), 10.
    function _checkExecution(uint256, GOrder storage o, uint256 price, uint256 publishTime) internal {
        uint256 f = o.feed;
        if (o.kind == OrderKind.Market) {
            ++marketFills;
            _checkWindow(o);
            (bool found, uint256 idx) = _firstInWindow(f, uint256(o.createdAt) + minDelay, uint256(o.createdAt) + maxDelay);
            if (!found) _flag("market order filled although no price was published in its window");
            else if (chain[f][idx].t != publishTime || uint256(uint64(chain[f][idx].price)) * UNIT != price) {
                _flag("market order not filled at the unique first price of its window");
            }
            return;
        }
        ++triggerFills;
        if (publishTime < cacheBefore[f]) _flag("trigger order executed at a price older than the cache");
        if (publishTime <= o.createdAt) _flag("trigger order executed at a price older than the order");
        if (publishTime + triggerMaxAge < clock) _flag("trigger order executed at a too old price");
        if (_priceAt(f, publishTime) != price) _flag("trigger order executed at a price nobody published");
        if (o.reduceOnly) {
            address trader = o.trader;
            uint256 m = FIRST_MARKET + f;
            if (closuresBeforeLastEvent[trader][m] != o.closuresAtPlacement) {
                _flag("reduce-only order of a position closed since placement executed");
            }
        }
    }

    function _checkCancel(GOrder storage o, uint256 reason) internal {
        ++cancels;
        if (reason == 3) ++voids;
        if (reason == 4) ++ocoCancels;
        if (o.kind == OrderKind.Market) {
            if (reason == 0 || reason == 1) {
                if (clock <= uint256(o.createdAt) + expiry) _flag("market order cancelled before expiry");
                if ((reason == 0) != (caller == o.trader)) _flag("market cancel reason does not match the caller");
            } else if (reason == 2) {
                ++marketFailedFills;
                _checkWindow(o);
            } else {
                _flag("market order cancelled for a trigger order's reason");
            }
        } else if (reason == 0 && caller != o.trader) {
            _flag("trigger order cancelled by someone else");
        } else if (reason == 1) {
            _flag("trigger order cancelled as expired");
        }
    }

    function _checkWindow(GOrder storage o) internal {
        if (clock < uint256(o.createdAt) + minDelay || clock > uint256(o.createdAt) + expiry) {
            _flag("market order settled outside [settleableAt, expiry]");
        }
    }

    /// @dev SPEC 8: the cache time never decreases, and the cache always holds a price of the chain at its time.
    function _checkCaches() internal {
        for (uint256 f; f < 2; ++f) {
            (uint256 price, uint256 t) = feeds[f].cachedPrice();
            if (t < maxCacheTime[f]) _flag("cache publish time decreased");
            else maxCacheTime[f] = t;
            if (_priceAt(f, t) != price) _flag("cache holds a price nobody published at its time");
        }
    }

    function _position(address trader, uint256 m, int256 newSize) internal {
        int256 before = gSize[trader][m];
        closuresBeforeLastEvent[trader][m] = closures[trader][m];
        if (before != 0 && (newSize == 0 || (newSize > 0) != (before > 0))) ++closures[trader][m];
        gSize[trader][m] = newSize;
    }

    /// @dev Position changes no event above reported (none expected): counted as closures too.
    function _reconcilePositions() internal {
        for (uint256 i; i < actors.length; ++i) {
            for (uint256 m = FIRST_MARKET; m < FIRST_MARKET + 2; ++m) {
                int256 size = engine.getPosition(actors[i], m).size;
                if (size != gSize[actors[i]][m]) {
                    _flag("position changed without a position event");
                    _position(actors[i], m, size);
                }
            }
        }
    }

    /// @dev A deposit action is the only call that adds to the actors' books without trading.
    function _isDeposit(int256 delta) internal pure returns (bool) {
        return msg.sig == this.deposit.selector && delta > 0;
    }

    function _flag(string memory what) internal {
        if (bytes(violation).length == 0) violation = what;
    }

    // ================================================================ helpers

    function _warp(uint256 t) internal {
        vm.warp(t);
        clock = t;
    }

    /// @dev Appends the next price of the chain, published now (moving time a second on when the chain's last price
    /// is from this second already). Returns its index.
    function _publish(uint256 f, int64 price) internal returns (uint256) {
        uint64 last = chain[f][chain[f].length - 1].t;
        if (clock <= last) _warp(uint256(last) + 1);
        chain[f].push(Pub(uint64(clock), last, price));
        return chain[f].length - 1;
    }

    function _poke(uint256 f, uint256 idx, address by) internal {
        uint256[] memory markets = new uint256[](1);
        markets[0] = FIRST_MARKET + f;
        bytes[] memory data = _data(f, idx);
        vm.prank(by);
        try book.pokePrices(markets, data) {}
        catch {
            vm.getRecordedLogs();
        }
    }

    function _data(uint256 f, uint256 idx) internal view returns (bytes[] memory data) {
        data = new bytes[](1);
        data[0] = _encode(f, idx);
    }

    function _data2(uint256 f1, uint256 i1, uint256 f2, uint256 i2) internal view returns (bytes[] memory data) {
        data = new bytes[](2);
        data[0] = _encode(f1, i1);
        data[1] = _encode(f2, i2);
    }

    function _encode(uint256 f, uint256 idx) internal view returns (bytes memory) {
        Pub memory p = chain[f][idx];
        return pyth.createPriceFeedUpdateData(priceIds[f], p.price, 0, -8, p.price, 0, p.t, p.prev);
    }

    /// @dev The unique update with lo <= publishTime <= hi and prevPublishTime < lo (what Pyth's uniqueness admits).
    function _firstInWindow(uint256 f, uint256 lo, uint256 hi) internal view returns (bool, uint256) {
        Pub[] storage c = chain[f];
        for (uint256 i; i < c.length; ++i) {
            if (c[i].t >= lo && c[i].t <= hi && c[i].prev < lo) return (true, i);
        }
        return (false, 0);
    }

    function _hasInWindow(uint256 f, uint256 lo, uint256 hi) internal view returns (bool found) {
        (found,) = _firstInWindow(f, lo, hi);
    }

    /// @dev The WAD price the chain published at `t` (0 if none: publish times are unique per chain).
    function _priceAt(uint256 f, uint256 t) internal view returns (uint256) {
        Pub[] storage c = chain[f];
        for (uint256 i = c.length; i > 0; --i) {
            if (c[i - 1].t == t) return uint256(uint64(c[i - 1].price)) * UNIT;
            if (c[i - 1].t < t) break;
        }
        return 0;
    }

    function _drift(uint256 f, uint256 seed) internal view returns (int64) {
        int64 last = chain[f][chain[f].length - 1].price;
        int256 bps = int256(seed % 401) - 200;
        int256 next = int256(last) * (int256(BPS) + bps) / int256(BPS);
        return int64(next < 1e8 ? int256(1e8) : next);
    }

    /// @dev A price that satisfies the order's trigger: exactly at its threshold (rounded to a Pyth unit on the
    /// satisfying side), or 1 % beyond it.
    function _crossing(uint256 id, bool beyond) internal view returns (int64) {
        GOrder storage o = ghost[id];
        Order memory stored = book.getOrder(id);
        uint256 level = stored.triggerPrice;
        if (o.kind == OrderKind.TrailingStop) {
            level = o.isBuy
                ? level * (BPS + stored.trailBps) / BPS
                : (level * (BPS - stored.trailBps) + BPS - 1) / BPS;
        }
        bool limitLike = o.kind == OrderKind.Limit || o.kind == OrderKind.TakeProfit;
        // Satisfied at or above the level: limit-like sells, stop-like buys.
        bool above = limitLike ? !o.isBuy : o.isBuy;
        uint256 units = above ? (level + UNIT - 1) / UNIT : level / UNIT;
        if (beyond) units = above ? units * 101 / 100 : units * 99 / 100;
        if (units < 1) units = 1;
        return int64(int256(units));
    }

    /// @dev A trigger price 0.1-5 % from the newest published price on the side where it is not yet reached (one
    /// time in eight on the wrong side, which placement refuses), as a whole number of Pyth units.
    function _triggerPrice(uint256 f, OrderKind kind, bool isBuy, uint256 seed) internal view returns (uint256) {
        (uint256 cur,) = feeds[f].cachedPrice();
        uint256 off = 10 + seed % 490;
        bool limitLike = kind == OrderKind.Limit || kind == OrderKind.TakeProfit;
        bool above = limitLike ? !isBuy : isBuy;
        if ((seed >> 12) % 8 == 0) above = !above;
        uint256 p = above ? cur * (BPS + off) / BPS : cur * (BPS - off) / BPS;
        return p / UNIT * UNIT;
    }

    /// @dev Entries: a random signed size. Reduce-only: CLOSE_ALL or part of the position (or of the pending market
    /// order), opposite to it; with no position a random sign (refused as NotReducing).
    function _triggerSize(address trader, uint256 f, OrderKind kind, uint256 seed)
        internal
        view
        returns (int256 size, bool isBuy)
    {
        if (kind < OrderKind.TakeProfit) {
            size = _size(f, seed);
            return (size, size > 0);
        }
        int256 pos = engine.getPosition(trader, FIRST_MARKET + f).size;
        if (pos == 0) {
            uint256 pending = book.pendingMarketOrder(trader, FIRST_MARKET + f);
            if (pending != 0) {
                int128 s = book.getOrder(pending).sizeDelta;
                if (s != type(int128).min) pos = s;
            }
        }
        if (pos == 0) {
            size = _size(f, seed);
            return (size, size > 0);
        }
        isBuy = pos < 0;
        if (seed % 2 == 0) return (CLOSE_ALL, isBuy);
        int256 part = (pos < 0 ? -pos : pos) * int256(1 + (seed >> 8) % 100) / 100;
        if (part == 0) part = 1;
        size = isBuy ? part : -part;
    }

    /// @dev 0.01-1,000 ETH or 0.001-30 BTC (up to ~$2M of notional on a $100k account: moves liquidate), either sign.
    function _size(uint256 f, uint256 seed) internal pure returns (int256) {
        uint256 min = f == 0 ? 0.01e18 : 0.001e18;
        uint256 max = f == 0 ? 1_000e18 : 30e18;
        int256 size = int256(min + (seed >> 1) % (max - min));
        return seed % 2 == 0 ? size : -size;
    }

    function _trader(uint256 seed) internal view returns (address) {
        return actors[seed % (actors.length - 1)];
    }

    /// @dev Picks an open order (of the wanted class) starting at a random index of the ghost's orders.
    function _pickOpen(uint256 seed, bool market) internal view returns (bool, uint256) {
        uint256 n = orderIds.length;
        if (n == 0) return (false, 0);
        for (uint256 k; k < n; ++k) {
            uint256 id = orderIds[(seed + k) % n];
            GOrder storage o = ghost[id];
            if (o.open && (o.kind == OrderKind.Market) == market) return (true, id);
        }
        return (false, 0);
    }

    function _pickTrailing(uint256 seed) internal view returns (bool, uint256) {
        uint256 n = orderIds.length;
        for (uint256 k; k < n; ++k) {
            uint256 id = orderIds[(seed + k) % n];
            if (ghost[id].open && ghost[id].kind == OrderKind.TrailingStop) return (true, id);
        }
        return (false, 0);
    }

    function _addr(bytes32 w) internal pure returns (address) {
        return address(uint160(uint256(w)));
    }

    function _word(bytes memory data, uint256 i) internal pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := mload(add(data, add(32, mul(32, i))))
        }
    }
}
