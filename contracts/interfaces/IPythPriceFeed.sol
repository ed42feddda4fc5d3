// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {PythStructs} from "@pythnetwork/pyth-sdk-solidity/PythStructs.sol";
import {AggregatorV3Interface} from "./AggregatorV3Interface.sol";
import {IPriceFeed} from "./IPriceFeed.sol";

/// @notice Immutable configuration of one market's Pyth adapter (SPEC "Prices (pull oracle)").
struct PythFeedConfig {
    /// @notice The Pyth contract (the real one on testnets, `StrictMockPyth` locally).
    IPyth pyth;
    /// @notice Pyth price feed id of the market's base asset in USD.
    bytes32 priceId;
    /// @notice Largest accepted confidence interval, in basis points of the price (default 100 = 1 %).
    uint16 maxConfBps;
    /// @notice Largest accepted `publishTime - block.timestamp` (default 5 s): a price from the future is refused.
    uint32 maxFutureSkew;
    /// @notice Age of the cache beyond which `latestPrice()` reverts (margin, withdraw, funding: default 60 s).
    uint32 maxCacheAge;
    /// @notice Optional Chainlink reference feed (address(0): none). It bands prices, never sets one.
    AggregatorV3Interface referenceFeed;
    /// @notice Largest accepted deviation from the reference, in basis points (default 300 = 3 %).
    uint16 refMaxDevBps;
    /// @notice Heartbeat of the reference: a stale reference is ignored (the band is skipped), never blocking.
    uint32 refHeartbeat;
    /// @notice The feed's Pyth exponent (-8 for Pyth's crypto/USD feeds), in [-18, 0]. Every accepted price must
    /// carry exactly this exponent: it fixes `priceUnit() = 10^(18 + expo)`, which the engine's liquidation-price
    /// search and the SDK cache, and it catches a `priceId` of a different feed. A feed whose exponent Pyth changes
    /// needs a new adapter (prices are refused with `PythExponentUnsupported` until then).
    int32 expo;
}

/// @notice Errors of the Pyth adapter, each carrying the numbers that failed.
interface IPythErrors {
    error InvalidPythConfig(string code);
    /// @notice The update data does not carry the adapter's feed, or `parsePriceFeedUpdates*` refused it.
    error PythPriceNotFound(bytes32 priceId);
    error NonPositivePythPrice(bytes32 priceId, int64 price);
    error PythExponentUnsupported(bytes32 priceId, int32 expo);
    error PythConfidenceTooWide(bytes32 priceId, uint256 conf, uint256 price, uint256 maxConfBps);
    /// @notice The price is further than `refMaxDevBps` from the Chainlink reference.
    error PythPriceOutOfBand(bytes32 priceId, uint256 price, uint256 referencePrice, uint256 maxDevBps);
    error PythPriceInFuture(bytes32 priceId, uint256 publishTime, uint256 blockTime, uint256 maxFutureSkew);
    /// @notice The price is older than the cache (a caller may not pick an older valid price than one already used).
    error PythPriceOlderThanCache(bytes32 priceId, uint256 publishTime, uint256 cacheTime);
    /// @notice The cached (or given) price is older than the use allows.
    error StalePythPrice(bytes32 priceId, uint256 publishTime, uint256 maxAge);
    /// @notice The price is outside the window a caller asked for (market orders: [createdAt + delay, + window]).
    error PythPriceOutsideWindow(bytes32 priceId, uint256 publishTime, uint256 minPublishTime, uint256 maxPublishTime);
    error InsufficientPythFee(uint256 required, uint256 provided);
    error NoCachedPrice(bytes32 priceId);
    error RefundFailed(address to, uint256 amount);
    /// @notice `acceptPrice` is for the adapter's `orderBook` and that book's `engine` alone (nobody when the book
    /// is zero).
    error NotPriceWriter(address caller);
}

/// @title IPythPriceFeed
/// @notice A market's price from Pyth update data, with a monotonic one-slot cache (price, publish time).
/// `latestPrice()` / `freshPrice()` read the cache; `updatePrice` raises it; `verifyAt` verifies the unique first
/// price published in a window (market orders) without lowering the cache; `acceptPrice` applies either rule to a
/// price the adapter's order book (or that book's engine) had Pyth parse and paid for itself (theirs alone).
interface IPythPriceFeed is IPriceFeed, IPythErrors {
    event PriceCached(bytes32 indexed priceId, uint256 price, uint256 publishTime);

    function config() external view returns (PythFeedConfig memory);
    function priceId() external view returns (bytes32);
    function pyth() external view returns (IPyth);

    /// @notice The order book that may call `acceptPrice` (zero: nobody), fixed at construction.
    function orderBook() external view returns (address);

    /// @notice The other caller of `acceptPrice`: `orderBook().engine()` read at construction (zero without a book,
    /// or when the book does not answer). The engine updates prices this way in its priced entry points.
    function engine() external view returns (address);

    /// @notice What a caller needs to have Pyth parse this feed's price itself: the Pyth contract, the price id and
    /// `orderBook()`, in one call.
    function pythRequest() external view returns (IPyth pyth, bytes32 priceId, address orderBook);

    /// @notice The cache: last verified price (WAD) and its publish time (0, 0 before the first update).
    function cachedPrice() external view returns (uint256 priceWad, uint256 publishTime);

    /// @notice Verifies the unique first price of the feed published in `[minPublishTime, maxPublishTime]`
    /// (`parsePriceFeedUpdatesUnique`), applying every check. Raises the cache if newer, never lowers it.
    /// `msg.value` must cover `getUpdateFee(updateData)`; the excess is refunded to `msg.sender`.
    function verifyAt(bytes[] calldata updateData, uint64 minPublishTime, uint64 maxPublishTime)
        external
        payable
        returns (uint256 priceWad, uint256 publishTime);

    /// @notice `orderBook()` and `engine()` only: a price of this feed that the caller had Pyth parse (and paid Pyth
    /// for) itself: `parsePriceFeedUpdates` for `window` false, `parsePriceFeedUpdatesUnique` from `minPublishTime`
    /// for `window` true. The same checks and cache rules as `updatePrice` (`window` false: at least as new as the cache, raises
    /// it) and `verifyAt` (`window` true: inside `[minPublishTime, maxPublishTime]`, raises the cache if newer).
    function acceptPrice(PythStructs.Price calldata price, bool window, uint64 minPublishTime, uint64 maxPublishTime)
        external
        returns (uint256 priceWad, uint256 publishTime);
}
