// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @dev `sizeDelta` of a market order or trigger order that closes the whole position, whatever its size then.
int256 constant CLOSE_ALL = type(int256).min;

/// @notice Kind of an order. `Market` is two-step (commit, settle); the others are trigger orders.
enum OrderKind {
    Market,
    /// @notice Entry (or increase) when the price reaches `triggerPrice` from the favourable side:
    /// buy at or below it, sell at or above it.
    Limit,
    /// @notice Entry (or increase) when the price breaks through `triggerPrice`: buy at or above, sell at or below.
    Stop,
    /// @notice Reduce-only: closes when the price reaches the profit target.
    TakeProfit,
    /// @notice Reduce-only: closes when the price reaches the stop (a long's stop is below the price).
    StopLoss,
    /// @notice Reduce-only: closes when the price retraces `trailBps` from the best price seen since placement.
    TrailingStop
}

/// @notice Why an order left the book other than by executing.
enum CancelReason {
    /// @notice The trader cancelled a trigger order (or an expired market order).
    ByTrader,
    /// @notice Someone else cancelled an expired market order (and earned its fee).
    Expired,
    /// @notice Settlement or execution failed for the trader's reasons (slippage, margin, caps, reduce-only): the
    /// keeper earns the fee. `reason` in the event carries the engine's revert data.
    ExecutionFailed,
    /// @notice A reduce-only order of a position that was closed, liquidated or flipped since (position epoch).
    Voided,
    /// @notice The other leg of its bracket executed.
    OcoPartnerExecuted
}

/// @notice One order. Three storage slots.
struct Order {
    address trader;
    uint32 marketId;
    OrderKind kind;
    bool isolated;
    /// @notice Whether the order may only reduce the position (every TakeProfit/StopLoss/TrailingStop).
    bool reduceOnly;
    /// @notice Basis points of retrace from the peak that trigger a trailing stop.
    uint16 trailBps;
    uint40 createdAt;
    /// @notice Signed size (WAD) or `CLOSE_ALL` (stored as `type(int128).min`).
    int128 sizeDelta;
    /// @notice Worst fill price accepted (0 on a sell or `type(uint128).max` on a buy: stop-market, no bound).
    uint128 acceptablePrice;
    /// @notice Trigger price (WAD) of a trigger order; for a trailing stop, the peak (best price verified since).
    uint128 triggerPrice;
    /// @notice Isolated margin to move from the cross balance on execution (USD WAD).
    uint96 marginDelta;
    /// @notice Keeper fee escrowed (USD WAD).
    uint96 keeperFee;
    /// @notice Position epoch the order belongs to (reduce-only orders).
    uint32 positionEpoch;
    /// @notice Order id of the other leg of a bracket (0: none).
    uint256 ocoPartner;
}

/// @notice Order book parameters (owner-settable within the hard bounds in `docs/orders.md`).
struct OrderBookParams {
    /// @notice Flat keeper fee escrowed per order (USD WAD).
    uint96 keeperFee;
    /// @notice A market order settles at the first price published in [createdAt + minSettleDelay,
    /// createdAt + maxSettleDelay] (defaults 2 s, 30 s).
    uint32 minSettleDelay;
    uint32 maxSettleDelay;
    /// @notice After this many seconds a market order can be cancelled (default 120 s).
    uint32 marketOrderExpiry;
    /// @notice Largest age of the price a trigger order executes at (default 10 s).
    uint32 triggerMaxAge;
    /// @notice Gas a settlement must have left before calling the engine (a keeper cannot starve it into a
    /// "trader's fault" cancel).
    uint32 minExecutionGas;
}

interface IOrderBook {
    error NotOrderOwner(uint256 orderId, address caller, address owner);
    error OrderNotFound(uint256 orderId);
    error WrongOrderKind(uint256 orderId, OrderKind kind);
    error ZeroSize();
    error PendingMarketOrder(address trader, uint256 marketId, uint256 orderId);
    error MarketOrderNotExpired(uint256 orderId, uint256 expiresAt, uint256 blockTime);
    error MarketOrderExpired(uint256 orderId, uint256 expiredAt, uint256 blockTime);
    /// @notice The order's window has not opened yet (no price can be published in it so far).
    error SettlementTooEarly(uint256 orderId, uint256 settleableAt, uint256 blockTime);
    error TooManyOrders(address trader, uint256 open, uint256 max);
    error TooManyPositionOrders(address trader, uint256 marketId, uint256 open, uint256 max);
    /// @notice The trigger price is already crossed at placement (it would execute at once: use a market order).
    error TriggerOnWrongSide(OrderKind kind, bool isBuy, uint256 triggerPrice, uint256 currentPrice);
    error TriggerNotReached(uint256 orderId, uint256 price, uint256 triggerPrice);
    /// @notice The price was published before the order was placed or last updated.
    error PriceBeforeOrder(uint256 orderId, uint256 publishTime, uint256 createdAt);
    error InvalidTrailBps(uint256 trailBps);
    error InvalidTriggerPrice();
    /// @notice A reduce-only order must close against an open position of the opposite sign.
    error NotReducing(address trader, uint256 marketId, int256 positionSize, int256 sizeDelta);
    error InsufficientExecutionGas(uint256 gasLeft, uint256 required);
    /// @notice The engine ran out of gas executing the order (the book had `gasAtCall` left when it called it, and
    /// forwarded 63/64 of that): the keeper's fault (too low a gas limit), so the call reverts and the order stays,
    /// instead of being cancelled for the trader's reasons.
    error ExecutionOutOfGas(uint256 orderId, uint256 gasAtCall);
    error InvalidOrderBookParam(string code);
    error MsgValueTooLow(uint256 required, uint256 provided);
    /// @notice The market's price feed does not hand its prices to this book (`IPythPriceFeed.pythRequest` names
    /// `itsBook`; zero also for a feed that is no Pyth adapter): a deployment or listing mistake.
    error FeedNotOfThisBook(address feed, address itsBook);

    event OrderCommitted(
        uint256 indexed orderId, address indexed trader, uint256 indexed marketId, int256 sizeDelta,
        uint256 acceptablePrice, uint256 marginDelta, bool isolated, uint256 keeperFee, uint256 settleableAt,
        uint256 expiresAt
    );
    event TriggerOrderPlaced(
        uint256 indexed orderId, address indexed trader, uint256 indexed marketId, OrderKind kind, int256 sizeDelta,
        uint256 triggerPrice, uint256 acceptablePrice, uint16 trailBps, uint256 keeperFee, uint256 positionEpoch,
        uint256 ocoPartner
    );
    event TriggerOrderUpdated(
        uint256 indexed orderId, int256 sizeDelta, uint256 triggerPrice, uint256 acceptablePrice, uint256 createdAt
    );
    event TrailingPeakRatcheted(uint256 indexed orderId, uint256 peak, uint256 publishTime);
    event OrderExecuted(
        uint256 indexed orderId, address indexed trader, uint256 indexed marketId, OrderKind kind, int256 sizeDelta,
        uint256 price, uint256 publishTime, address keeper, uint256 keeperFee
    );
    event OrderCancelled(
        uint256 indexed orderId, address indexed trader, CancelReason reason, address by, uint256 feeTo, bytes data
    );
    event OrderBookParamsSet(OrderBookParams params);

    // --------------------------------------------------------------- market orders

    /// @notice Commits a market order; escrows `keeperFee` from the cross balance. One pending per market.
    /// `sizeDelta` may be `CLOSE_ALL`.
    function commitOrder(uint256 marketId, int256 sizeDelta, uint256 acceptablePrice, uint256 marginDelta, bool isolated)
        external
        returns (uint256 orderId);

    /// @notice Settles a market order at the unique first price published in its window. `msg.value` pays the
    /// oracle fee (excess refunded). A trader's-fault failure cancels the order (the keeper earns the fee).
    function settleOrder(uint256 orderId, bytes[] calldata priceUpdate) external payable;

    /// @notice Settles several orders; skips ids that are gone or not settleable instead of reverting. Returns how
    /// many were settled or cancelled for the trader's reasons.
    function settleOrders(uint256[] calldata orderIds, bytes[] calldata priceUpdate)
        external
        payable
        returns (uint256 settled);

    /// @notice Cancels a market order after expiry (anyone; a third party earns its fee), or a trigger order (its
    /// trader, any time; fee back).
    function cancelOrder(uint256 orderId) external;

    // --------------------------------------------------------------- trigger orders

    function placeTriggerOrder(
        uint256 marketId,
        OrderKind kind,
        int256 sizeDelta,
        uint256 triggerPrice,
        uint256 acceptablePrice,
        uint256 marginDelta,
        bool isolated,
        uint16 trailBps
    ) external returns (uint256 orderId);

    /// @notice Places a take-profit and a stop-loss on the caller's position (or the one a pending order will
    /// open) that cancel each other (OCO). `sizeDelta` is the closing size (or `CLOSE_ALL`).
    function placeBracket(
        uint256 marketId,
        int256 sizeDelta,
        uint256 takeProfitPrice,
        uint256 stopLossPrice,
        uint256 stopLossAcceptablePrice
    ) external returns (uint256 takeProfitId, uint256 stopLossId);

    /// @notice Changes a trigger order's size and prices; resets `createdAt` (the price must be newer than it).
    function updateTriggerOrder(uint256 orderId, int256 sizeDelta, uint256 triggerPrice, uint256 acceptablePrice)
        external;

    /// @notice Executes a trigger order at the verified price in `priceUpdate` (at most `triggerMaxAge` old,
    /// published after the order, not older than the cache). A voided order is cancelled for the fee.
    function executeOrder(uint256 orderId, bytes[] calldata priceUpdate) external payable;

    function executeOrders(uint256[] calldata orderIds, bytes[] calldata priceUpdate)
        external
        payable
        returns (uint256 executed);

    /// @notice Raises a trailing stop's peak to a verified price published after the order.
    function ratchetTrailingStop(uint256 orderId, bytes[] calldata priceUpdate) external payable;

    /// @notice Raises the price caches of `marketIds` from `priceUpdate` (any caller).
    function pokePrices(uint256[] calldata marketIds, bytes[] calldata priceUpdate) external payable;

    // --------------------------------------------------------------- views

    function getOrder(uint256 orderId) external view returns (Order memory);
    function pendingMarketOrder(address trader, uint256 marketId) external view returns (uint256 orderId);
    function openOrderCount(address trader) external view returns (uint256);
    function positionOrderCount(address trader, uint256 marketId) external view returns (uint256);
    /// @notice Open order ids of `trader` (at most `MAX_TRIGGER_ORDERS` trigger orders plus pending market orders).
    function ordersOf(address trader) external view returns (uint256[] memory);
    /// @notice The id `trader`'s next trigger order would get (`seq << 168 | trader << 8 | 128 + lane`: the first
    /// free lane at its next seq), 0 with eight open.
    function nextTriggerOrderId(address trader) external view returns (uint256);
    function params() external view returns (OrderBookParams memory);
    function setParams(OrderBookParams calldata params) external;
}
