// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";

import {IOrderEngine} from "../interfaces/IOrderEngine.sol";
import {IPerpEngine, MarketParams, MarketState} from "../interfaces/IPerpEngine.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {IPythPriceFeed} from "../interfaces/IPythPriceFeed.sol";
import {EngineState, Market, Account} from "./EngineState.sol";
import {LedgerLib} from "./LedgerLib.sol";
import {MarginLib} from "./MarginLib.sol";
import {MarketLib} from "./MarketLib.sol";
import {ParamsLib} from "./ParamsLib.sol";

/// @title MarketAdminLogic
/// @notice Listing markets and changing their parameters or oracle (owner only; the engine checks the caller).
/// Every change accrues funding first, so that the old parameters govern the time before the change.
library MarketAdminLogic {
    using SafeCast for uint256;
    using SafeCast for int256;
    using LedgerLib for EngineState;
    using MarginLib for EngineState;
    using MarketLib for EngineState;

    uint256 internal constant MAX_MARKETS = 128;

    function listMarket(EngineState storage s, IPriceFeed priceFeed, MarketParams calldata params)
        external
        returns (uint256 marketId)
    {
        marketId = s.marketCount;
        if (marketId >= MAX_MARKETS) revert IPerpEngine.TooManyMarkets(MAX_MARKETS);
        ParamsLib.validateMarket(params, 0, 0);
        _checkBook(s, priceFeed);
        // Reading a price proves the feed answers before anyone can trade against it. Its age is not checked here:
        // on a slow chain a deployment pushes the listing's Pyth update minutes before `listMarket` is mined (Ignition
        // waits for confirmations between steps), so `latestPrice` (60 s) would refuse it; every trade, liquidation
        // and debit still reads a price within its own bound. The value only seeds `lastPrice` (zero open interest).
        uint256 price = priceFeed.lastReportedPrice();
        s.marketCount = marketId + 1;
        Market storage m = s.markets[marketId];
        m.priceFeed = priceFeed;
        m.params = params;
        m.state.lastFundingTime = uint64(block.timestamp);
        m.state.lastPrice = price.toUint128();
        emit IPerpEngine.MarketListed(marketId, priceFeed, params);
    }

    function setMarketParams(EngineState storage s, uint256 marketId, MarketParams calldata params) external {
        Market storage m = s.market(marketId);
        MarketState memory state = _accrue(s, m, marketId, m.priceFeed.latestPrice());
        ParamsLib.validateMarket(params, state.longOpenInterest, state.shortOpenInterest);
        ParamsLib.validateMarginStep(m.params, params);
        m.params = params;
        // The rate in force from now on follows the new factor and scale.
        m.state.fundingRatePerDay = MarketLib.fundingRate(m.params, state).toInt64();
        emit IPerpEngine.MarketParamsUpdated(marketId, params);
    }

    function setPriceFeed(EngineState storage s, uint256 marketId, IPriceFeed priceFeed) external {
        Market storage m = s.market(marketId);
        _checkBook(s, priceFeed);
        // Accrue at the new feed's price: the old feed may be why it is being replaced.
        _accrue(s, m, marketId, priceFeed.latestPrice());
        m.priceFeed = priceFeed;
        emit IPerpEngine.PriceFeedUpdated(marketId, priceFeed);
    }

    /// @notice Accrues a market's funding to now at `price`.
    function accrueFunding(EngineState storage s, uint256 marketId) external {
        Market storage m = s.market(marketId);
        _accrue(s, m, marketId, m.priceFeed.latestPrice());
    }

    /// @dev A Pyth adapter (one answering `pythRequest()`, the call the engine and the book choose their path by)
    /// must name this engine's order book, zero on an engine without one: the book it names may write its cache
    /// (`acceptPrice`), so an adapter naming any other address would let that address set the prices this engine
    /// values, liquidates and accrues at. An adapter naming the book must also take prices from this engine
    /// (`engine()`, read from the book when the adapter was built: zero if the book did not exist yet), since the
    /// engine's priced calls pay Pyth themselves for any adapter naming a book (`PriceUpdateLib`). A feed without
    /// `pythRequest()` (a push adapter) passes: it takes no orders (the book refuses it) but prices liquidations.
    /// Checked at listing: the deployment sets the book first.
    function _checkBook(EngineState storage s, IPriceFeed priceFeed) private view {
        try IPythPriceFeed(address(priceFeed)).pythRequest() returns (IPyth, bytes32, address itsBook) {
            address book = s.protocol.orderBook;
            if (itsBook != book) revert IOrderEngine.PriceFeedOfAnotherBook(address(priceFeed), itsBook);
            if (book == address(0)) return;
            address itsEngine = IPythPriceFeed(address(priceFeed)).engine();
            if (itsEngine != address(this)) {
                revert IOrderEngine.PriceFeedOfAnotherEngine(address(priceFeed), itsEngine);
            }
        } catch {}
    }

    function _accrue(EngineState storage s, Market storage m, uint256 marketId, uint256 price)
        private
        returns (MarketState memory state)
    {
        state = m.state;
        MarketLib.accrueInMemory(state, price);
        int256 markChange = MarketLib.storeState(m, state, price);
        if (markChange != 0) {
            s.ledger.markNotionalUsd6 =
                (int256(uint256(s.ledger.markNotionalUsd6)) + markChange).toUint256().toUint56();
        }
        emit IPerpEngine.FundingAccrued(marketId, state.fundingIndex, state.fundingRatePerDay);
    }
}
