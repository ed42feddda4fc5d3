// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AggregatorV3Interface} from "../../../contracts/interfaces/AggregatorV3Interface.sol";
import {IOrderEngine} from "../../../contracts/interfaces/IOrderEngine.sol";
import {OrderBookParams} from "../../../contracts/interfaces/IOrderBook.sol";
import {PythFeedConfig} from "../../../contracts/interfaces/IPythPriceFeed.sol";
import {OrderBook} from "../../../contracts/OrderBook.sol";
import {StrictMockPyth} from "../../../contracts/mocks/StrictMockPyth.sol";
import {PythPriceFeed} from "../../../contracts/oracles/PythPriceFeed.sol";
import {ProtocolSetup} from "../utils/ProtocolSetup.sol";
import {OrderHandler} from "./OrderHandler.sol";

/// @notice SPEC invariants 7-10 (orders and prices), checked after every call of random sequences of market orders
/// (settled with in-window, early, late, stale, duplicate, empty and wrong-feed data; cancelled before and after
/// expiry by their trader or a third party), trigger orders (limit, stop, take-profit, stop-loss, trailing stops and
/// their ratchet, brackets; placed, updated, cancelled, executed alone and in batches), prices published and poked
/// out of order, time moves and liquidations, on two Pyth-priced markets.
contract OrderInvariantsTest is ProtocolSetup {
    bytes32 internal constant ETH_ID = keccak256("ETH/USD");
    bytes32 internal constant BTC_ID = keccak256("BTC/USD");
    address internal constant LP = address(0x7000);

    OrderHandler internal handler;
    OrderBook internal book;
    PythPriceFeed[2] internal feeds;

    function setUp() public {
        deployProtocol(1 hours);
        fund(LP, 100_000_000e6);
        lpDepositNow(LP, 5_000_000e6);
        // Oracle fee 0: the actors need no ether and no refund path (fees and refunds: test/orders.test.ts).
        StrictMockPyth pyth = new StrictMockPyth(0);
        book = new OrderBook(
            IOrderEngine(address(engine)),
            OrderBookParams({
                keeperFee: 0.5e18,
                minSettleDelay: 2,
                maxSettleDelay: 30,
                marketOrderExpiry: 120,
                triggerMaxAge: 10,
                minExecutionGas: 500_000
            }),
            address(this)
        );
        // The adapters trust the book with `acceptPrice`: every order the handler settles or executes takes the
        // book's direct Pyth path (the permissionless `updatePrice`/`verifyAt` are the handler's pokes).
        feeds[0] = new PythPriceFeed(_config(pyth, ETH_ID), address(book));
        feeds[1] = new PythPriceFeed(_config(pyth, BTC_ID), address(book));
        engine.setOrderBook(address(book));
        address[] memory actors = new address[](4);
        for (uint256 i; i < 4; ++i) {
            actors[i] = address(uint160(0x2000 + i)); // three traders, then the keeper
            fund(actors[i], 1_000_000e6);
            vm.prank(actors[i]);
            if (i < 3) engine.deposit(100_000e6);
        }
        // The handler seeds each feed's price chain and cache; the markets are listed at those prices (ids 2, 3).
        handler = new OrderHandler(engine, book, pyth, feeds, [ETH_ID, BTC_ID], [int64(2000e8), int64(60_000e8)], actors);
        engine.listMarket(feeds[0], marketParams(1_000_000e18));
        engine.listMarket(feeds[1], marketParams(50_000e18));
        vm.label(address(handler), "OrderHandler");
    }

    function _config(StrictMockPyth pyth, bytes32 id) internal pure returns (PythFeedConfig memory) {
        return PythFeedConfig({
            pyth: pyth,
            priceId: id,
            maxConfBps: 100,
            maxFutureSkew: 5,
            maxCacheAge: 60,
            referenceFeed: AggregatorV3Interface(address(0)),
            refMaxDevBps: 0,
            refHeartbeat: 0,
            expo: -8
        });
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// One invariant function (each runs its own campaign, and the campaigns are what costs time):
    /// - 9: for every actor, the engine's order escrow is exactly the sum of keeperFee over the trader's open
    ///   orders in the ghost ledger, and the book lists exactly those orders; the tokens the engine holds equal
    ///   vault cash + insurance + every actor's cross balance, escrow and margins; per call (in the handler) every
    ///   escrowed fee is locked once at placement and released once, to the keeper/canceller or back to the trader
    ///   as the reason says, and without a trade the actors' books only move between themselves;
    /// - 8: each feed's cached publish time never decreases and always holds the price published at that time; a
    ///   trigger order never executes at a price older than the cache was before the call;
    /// - 7: every filled market order filled at exactly the price and time of the unique first update of the
    ///   handler's price chain published in its window (whatever data the keeper sent);
    /// - 10: no reduce-only order executes after its position was closed (to zero, flipped or liquidated) since
    ///   placement; one bracket leg executing removes the other in the same call.
    function invariant_ordersAndPrices() public view {
        string memory violation = handler.violation();
        assertTrue(bytes(violation).length == 0, violation);
        int256 owed = engine.vaultCash() + int256(engine.insuranceFund());
        for (uint256 i; i < handler.actorCount(); ++i) {
            address actor = handler.actorAt(i);
            (uint256 fees, uint256 count) = handler.openFees(actor);
            uint256 escrow = engine.orderEscrow(actor);
            assertEq(escrow, fees, "order escrow != sum of keeper fees of open orders");
            uint256[] memory open = book.ordersOf(actor);
            assertEq(open.length, count, "book's open orders != ghost's");
            for (uint256 k; k < open.length; ++k) {
                (address trader,,, bool isOpen,,,,,,,) = handler.ghost(open[k]);
                assertTrue(isOpen && trader == actor, "book lists an order the ghost has closed");
            }
            (int256 balance,) = engine.getAccount(actor);
            owed += balance + int256(escrow);
            for (uint256 m = 2; m < 4; ++m) owed += int256(uint256(engine.getPosition(actor, m).margin));
        }
        assertEq(int256(usdc.balanceOf(address(engine)) * 1e12), owed, "token balance != sum of ledgers");
        for (uint256 f; f < 2; ++f) {
            (, uint256 t) = feeds[f].cachedPrice();
            assertGe(t, handler.maxCacheTime(f), "cache publish time decreased");
        }
    }
}
