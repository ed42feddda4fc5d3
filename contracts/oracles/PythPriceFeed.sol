// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {PythStructs} from "@pythnetwork/pyth-sdk-solidity/PythStructs.sol";
import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {IPythPriceFeed, PythFeedConfig} from "../interfaces/IPythPriceFeed.sol";
import {PythParseLib} from "../libraries/PythParseLib.sol";

/// @title PythPriceFeed
/// @notice One market's index price from Pyth update data (SPEC "Prices (pull oracle)"), with a monotonic one-slot
/// cache of the last verified price and its publish time.
/// @dev Every setting is immutable (a new setting = a new adapter, a timelocked owner action), which also keeps a
/// cached read to one storage slot.
///
/// How a price is accepted, in plain words:
/// - the Pyth contract verifies the data (signatures on real Pyth) and this adapter pays it exactly
///   `pyth.getUpdateFee(data)` out of `msg.value`, refunding the rest to the caller;
/// - the price must be positive, carry the configured exponent, have a confidence interval of at most `maxConfBps`
///   of the price, be published at most `maxFutureSkew` seconds after the block time and, if a Chainlink reference
///   is set and fresh, lie within `refMaxDevBps` of it (a stale, reverting or invalid reference is skipped: it
///   bands prices, it must never block them);
/// - `updatePrice` accepts only a price at least as new as the cache (no caller can pick an older valid price than
///   one already used); `verifyAt` accepts the unique first price of a window, which may be older than the cache
///   (a market order's price is anchored to its commit time), and never lowers the cache;
/// - `acceptPrice` applies the same checks and rules to a price the order book had Pyth parse and paid for itself
///   (one value transfer per update instead of two: keeper -> book -> Pyth, not keeper -> book -> adapter -> Pyth).
///   Only `orderBook`, fixed at construction, and that book's engine (`engine`, read from the book at
///   construction), which updates prices the same way in its priced entry points (liquidations, margin
///   withdrawals), may call it: the two contracts that already hold every trade's price. With `orderBook` zero, only
///   the two permissionless paths above exist.
///
/// Pyth is asked for the widest range (`[0, 2^64 - 1]`, or `[minPublishTime, 2^64 - 1]` for uniqueness) and the
/// adapter applies the time bounds itself, so that a refused price names the bound that failed
/// (`PythPriceOlderThanCache`, `PythPriceInFuture`, `PythPriceOutsideWindow`) instead of Pyth's bare
/// `PriceFeedNotFoundWithinRange`. Uniqueness depends only on `minPublishTime`, so the wide upper bound accepts the
/// same update Pyth would accept with the caller's.
contract PythPriceFeed is IPythPriceFeed, ReentrancyGuardTransient {
    /// @dev Hard bounds of the configuration: a skew or cache age beyond them is a deployment mistake.
    uint256 internal constant MAX_FUTURE_SKEW = 60;
    uint256 internal constant MAX_CACHE_AGE = 1 days;
    uint256 internal constant BPS = 10_000;

    /// @inheritdoc IPythPriceFeed
    IPyth public immutable pyth;
    /// @inheritdoc IPythPriceFeed
    bytes32 public immutable priceId;
    uint16 internal immutable maxConfBps;
    uint32 internal immutable maxFutureSkew;
    uint32 internal immutable maxCacheAge;
    AggregatorV3Interface internal immutable referenceFeed;
    uint16 internal immutable refMaxDevBps;
    uint32 internal immutable refHeartbeat;
    int32 internal immutable expo;
    /// @dev 10^(18 - reference decimals): the reference's answer in WAD (0 when there is no reference).
    uint256 internal immutable refScale;
    /// @inheritdoc IPriceFeed
    uint256 public immutable priceUnit;
    /// @inheritdoc IPythPriceFeed
    address public immutable orderBook;
    /// @inheritdoc IPythPriceFeed
    address public immutable engine;

    /// @dev One slot: a WAD price of an int64 Pyth price with exponent >= -18 is < 2^63 * 10^18 < 2^123.
    struct Cache {
        uint192 price;
        uint64 publishTime;
    }

    Cache internal _cache;

    constructor(PythFeedConfig memory c, address orderBook_) {
        if (address(c.pyth).code.length == 0) revert InvalidPythConfig("pyth");
        if (c.priceId == bytes32(0)) revert InvalidPythConfig("priceId");
        if (c.maxConfBps == 0 || c.maxConfBps > BPS) revert InvalidPythConfig("maxConfBps");
        if (c.maxFutureSkew > MAX_FUTURE_SKEW) revert InvalidPythConfig("maxFutureSkew");
        if (c.maxCacheAge == 0 || c.maxCacheAge > MAX_CACHE_AGE) revert InvalidPythConfig("maxCacheAge");
        if (c.expo < -18 || c.expo > 0) revert InvalidPythConfig("expo");
        if (address(c.referenceFeed) != address(0)) {
            if (address(c.referenceFeed).code.length == 0) revert InvalidPythConfig("referenceFeed");
            if (c.refMaxDevBps == 0 || c.refMaxDevBps > BPS) revert InvalidPythConfig("refMaxDevBps");
            if (c.refHeartbeat == 0) revert InvalidPythConfig("refHeartbeat");
            uint8 decimals = c.referenceFeed.decimals();
            if (decimals > 18) revert InvalidPythConfig("refDecimals");
            refScale = 10 ** (18 - uint256(decimals));
        }
        // Without a reference, refMaxDevBps and refHeartbeat are unused (config() still reports them as given).
        pyth = c.pyth;
        priceId = c.priceId;
        maxConfBps = c.maxConfBps;
        maxFutureSkew = c.maxFutureSkew;
        maxCacheAge = c.maxCacheAge;
        referenceFeed = c.referenceFeed;
        refMaxDevBps = c.refMaxDevBps;
        refHeartbeat = c.refHeartbeat;
        expo = c.expo;
        priceUnit = 10 ** uint256(int256(18 + c.expo));
        orderBook = orderBook_;
        engine = _engineOf(orderBook_);
    }

    /// @dev The book's `engine()`; zero when `book` is no contract or does not answer with an address.
    function _engineOf(address book) private view returns (address) {
        if (book.code.length == 0) return address(0);
        (bool ok, bytes memory answer) = book.staticcall(abi.encodeWithSignature("engine()"));
        if (!ok || answer.length != 32 || uint256(bytes32(answer)) >> 160 != 0) return address(0);
        return address(uint160(uint256(bytes32(answer))));
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IPythPriceFeed
    function config() external view returns (PythFeedConfig memory) {
        return PythFeedConfig({
            pyth: pyth,
            priceId: priceId,
            maxConfBps: maxConfBps,
            maxFutureSkew: maxFutureSkew,
            maxCacheAge: maxCacheAge,
            referenceFeed: referenceFeed,
            refMaxDevBps: refMaxDevBps,
            refHeartbeat: refHeartbeat,
            expo: expo
        });
    }

    /// @inheritdoc IPythPriceFeed
    function pythRequest() external view returns (IPyth, bytes32, address) {
        return (pyth, priceId, orderBook);
    }

    /// @inheritdoc IPythPriceFeed
    function cachedPrice() external view returns (uint256 priceWad, uint256 publishTime) {
        Cache memory c = _cache;
        return (c.price, c.publishTime);
    }

    /// @inheritdoc IPriceFeed
    function latestPrice() external view returns (uint256) {
        return _fresh(maxCacheAge);
    }

    /// @inheritdoc IPriceFeed
    function freshPrice(uint256 maxAge) external view returns (uint256) {
        return _fresh(maxAge);
    }

    /// @inheritdoc IPriceFeed
    /// @dev The cached price whatever its age (every cached price passed all checks when it was verified).
    function lastReportedPrice() external view returns (uint256) {
        (uint256 price,) = _cached();
        return price;
    }

    /// @inheritdoc IPriceFeed
    /// @dev 0 before the first update.
    function priceTime() external view returns (uint256) {
        return _cache.publishTime;
    }

    /// @inheritdoc IPriceFeed
    function getUpdateFee(bytes[] calldata updateData) public view returns (uint256) {
        return updateData.length == 0 ? 0 : pyth.getUpdateFee(updateData);
    }

    // ------------------------------------------------------------------ updates

    /// @inheritdoc IPriceFeed
    /// @dev Empty data returns the cache if it is at most `maxCacheAge` old (as `latestPrice()`, so that a caller that
    /// forgets to bound the age still never gets a stale price) and refunds all of `msg.value`. A price published in
    /// the same second as the cache returns the cached price: the first verified price of a second is the one used
    /// for it, so no caller can swap it for another one of that second.
    function updatePrice(bytes[] calldata updateData)
        external
        payable
        nonReentrant
        returns (uint256 priceWad, uint256 publishTime)
    {
        if (updateData.length == 0) {
            priceWad = _fresh(maxCacheAge);
            publishTime = _cache.publishTime;
            _refund(msg.value);
            return (priceWad, publishTime);
        }
        uint256 fee = _checkFee(updateData);
        (,, PythStructs.Price memory p) = PythParseLib.parse(pyth, priceId, updateData, fee, false, 0, true);
        (priceWad, publishTime) = _acceptLatest(p);
        _refund(msg.value - fee);
    }

    /// @inheritdoc IPythPriceFeed
    function verifyAt(bytes[] calldata updateData, uint64 minPublishTime, uint64 maxPublishTime)
        external
        payable
        nonReentrant
        returns (uint256 priceWad, uint256 publishTime)
    {
        uint256 fee = _checkFee(updateData);
        (,, PythStructs.Price memory p) = PythParseLib.parse(pyth, priceId, updateData, fee, true, minPublishTime, true);
        (priceWad, publishTime) = _acceptWindow(p, minPublishTime, maxPublishTime);
        _refund(msg.value - fee);
    }

    /// @inheritdoc IPythPriceFeed
    function acceptPrice(PythStructs.Price calldata price, bool window, uint64 minPublishTime, uint64 maxPublishTime)
        external
        nonReentrant
        returns (uint256 priceWad, uint256 publishTime)
    {
        // The book, the usual caller, passes on the first comparison.
        if ((msg.sender != orderBook && msg.sender != engine) || orderBook == address(0)) {
            revert NotPriceWriter(msg.sender);
        }
        return window ? _acceptWindow(price, minPublishTime, maxPublishTime) : _acceptLatest(price);
    }

    // ------------------------------------------------------------------ internals

    /// @dev `updatePrice`'s rule: at least as new as the cache; a price of the cache's second returns the cached one
    /// (the first verified price of a second is the one used for it).
    function _acceptLatest(PythStructs.Price memory p) internal returns (uint256 priceWad, uint256 publishTime) {
        Cache memory c = _cache;
        publishTime = p.publishTime;
        if (publishTime < c.publishTime) revert PythPriceOlderThanCache(priceId, publishTime, c.publishTime);
        priceWad = _check(p);
        if (publishTime > c.publishTime) {
            _store(priceWad, publishTime);
        } else {
            priceWad = c.price;
        }
    }

    /// @dev `verifyAt`'s rule: inside the window (Pyth proved it the window's unique first price); raises the cache
    /// if newer, never lowers it.
    function _acceptWindow(PythStructs.Price memory p, uint64 minPublishTime, uint64 maxPublishTime)
        internal
        returns (uint256 priceWad, uint256 publishTime)
    {
        publishTime = p.publishTime;
        if (publishTime < minPublishTime || publishTime > maxPublishTime) {
            revert PythPriceOutsideWindow(priceId, publishTime, minPublishTime, maxPublishTime);
        }
        priceWad = _check(p);
        if (publishTime > _cache.publishTime) _store(priceWad, publishTime);
    }

    function _cached() internal view returns (uint256 price, uint256 publishTime) {
        Cache memory c = _cache;
        if (c.publishTime == 0) revert NoCachedPrice(priceId);
        return (c.price, c.publishTime);
    }

    function _fresh(uint256 maxAge) internal view returns (uint256) {
        (uint256 price, uint256 publishTime) = _cached();
        // A cached price may be up to maxFutureSkew ahead of the block: its age is then 0, never an underflow.
        if (block.timestamp > publishTime && block.timestamp - publishTime > maxAge) {
            revert StalePythPrice(priceId, publishTime, maxAge);
        }
        return price;
    }

    function _checkFee(bytes[] calldata updateData) internal view returns (uint256 fee) {
        fee = getUpdateFee(updateData);
        if (msg.value < fee) revert InsufficientPythFee(fee, msg.value);
    }

    /// @dev The checks every accepted price passes (the time bounds against the cache or window are the caller's).
    function _check(PythStructs.Price memory p) internal view returns (uint256 priceWad) {
        if (p.publishTime > block.timestamp + maxFutureSkew) {
            revert PythPriceInFuture(priceId, p.publishTime, block.timestamp, maxFutureSkew);
        }
        if (p.price <= 0) revert NonPositivePythPrice(priceId, p.price);
        if (p.expo != expo) revert PythExponentUnsupported(priceId, p.expo);
        uint256 raw = uint256(uint64(p.price));
        priceWad = raw * priceUnit;
        // conf / price <= maxConfBps / BPS, compared without division (raw units: both scale by priceUnit alike).
        if (uint256(p.conf) * BPS > raw * maxConfBps) {
            revert PythConfidenceTooWide(priceId, uint256(p.conf) * priceUnit, priceWad, maxConfBps);
        }
        if (address(referenceFeed) != address(0)) _checkBand(priceWad);
    }

    /// @dev The band applies only against a usable reference: a stale, future-dated, non-positive, absurdly large or
    /// reverting reference is skipped, so that a Chainlink outage never blocks Pyth prices.
    function _checkBand(uint256 priceWad) internal view {
        int256 answer;
        uint256 updatedAt;
        try referenceFeed.latestRoundData() returns (uint80, int256 a, uint256, uint256 u, uint80) {
            (answer, updatedAt) = (a, u);
        } catch {
            return;
        }
        if (answer <= 0 || answer > int256(uint256(type(uint128).max))) return;
        if (updatedAt > block.timestamp || block.timestamp - updatedAt > refHeartbeat) return;
        uint256 ref = uint256(answer) * refScale;
        uint256 dev = priceWad > ref ? priceWad - ref : ref - priceWad;
        if (dev * BPS > ref * refMaxDevBps) revert PythPriceOutOfBand(priceId, priceWad, ref, refMaxDevBps);
    }

    function _store(uint256 priceWad, uint256 publishTime) internal {
        // priceWad < 2^123 (int64 price x 10^18) and publishTime <= 2^64 - 1 (Pyth's uint64 range): both fit.
        _cache = Cache(uint192(priceWad), uint64(publishTime));
        emit PriceCached(priceId, priceWad, publishTime);
    }

    function _refund(uint256 amount) internal {
        if (amount == 0) return;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert RefundFailed(msg.sender, amount);
    }
}
