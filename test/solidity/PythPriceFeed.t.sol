// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PythStructs} from "@pythnetwork/pyth-sdk-solidity/PythStructs.sol";
import {AggregatorV3Interface} from "../../contracts/interfaces/AggregatorV3Interface.sol";
import {IPythErrors, PythFeedConfig} from "../../contracts/interfaces/IPythPriceFeed.sol";
import {StrictMockPyth} from "../../contracts/mocks/StrictMockPyth.sol";
import {PythPriceFeed} from "../../contracts/oracles/PythPriceFeed.sol";
import {ScriptedPyth} from "../../contracts/test/ScriptedPyth.sol";
import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {PythErrors} from "@pythnetwork/pyth-sdk-solidity/PythErrors.sol";
import {Test} from "./utils/Test.sol";

/// @notice Fuzz tests of the Pyth adapter: exact WAD normalisation for every supported exponent, a cache that never
/// goes back in time whatever the sequence of updates, and the confidence bound's exact boundary.
contract PythPriceFeedTest is Test {
    bytes32 internal constant ID = 0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace;
    uint256 internal constant T0 = 1_800_000_000;

    /// The engine this test contract, as the adapters' order book, names (`engine()` below).
    address internal constant ENGINE = address(0xE17E);

    StrictMockPyth internal pyth;

    /// The adapter reads its second price writer from its book at construction.
    function engine() external pure returns (address) {
        return ENGINE;
    }

    function setUp() public {
        // Fee 0: the test contract then needs no refund path; fees and refunds are covered by test/pyth.test.ts.
        pyth = new StrictMockPyth(0);
        vm.warp(T0);
    }

    function _feed(int32 expo, uint16 maxConfBps) internal returns (PythPriceFeed) {
        return new PythPriceFeed(_config(pyth, expo, maxConfBps), address(this));
    }

    function _config(IPyth pyth_, int32 expo, uint16 maxConfBps) internal pure returns (PythFeedConfig memory) {
        return PythFeedConfig({
            pyth: pyth_,
            priceId: ID,
            maxConfBps: maxConfBps,
            maxFutureSkew: 5,
            maxCacheAge: 60,
            referenceFeed: AggregatorV3Interface(address(0)),
            refMaxDevBps: 0,
            refHeartbeat: 0,
            expo: expo
        });
    }

    function _data(int64 price, uint64 conf, int32 expo, uint64 publishTime, uint64 prevPublishTime)
        internal
        view
        returns (bytes[] memory data)
    {
        data = new bytes[](1);
        data[0] = pyth.createPriceFeedUpdateData(ID, price, conf, expo, price, conf, publishTime, prevPublishTime);
    }

    /// The price as the order book hands it over: parsed by Pyth (paid by the caller), then `acceptPrice`.
    function _parsed(bytes[] memory data, bool unique, uint64 min) internal returns (PythStructs.Price memory) {
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = ID;
        PythStructs.PriceFeed[] memory feeds = unique
            ? pyth.parsePriceFeedUpdatesUnique(data, ids, min, type(uint64).max)
            : pyth.parsePriceFeedUpdates(data, ids, 0, type(uint64).max);
        return feeds[0].price;
    }

    /// `updatePrice`, or (`viaBook`) the same price handed over by the book: the one rule either way.
    function _latest(PythPriceFeed feed, bytes[] memory data, bool viaBook) internal returns (uint256, uint256) {
        return viaBook ? feed.acceptPrice(_parsed(data, false, 0), false, 0, 0) : feed.updatePrice(data);
    }

    /// `verifyAt`, or (`viaBook`) the unique first price of the window handed over by the book.
    function _window(PythPriceFeed feed, bytes[] memory data, uint64 min, uint64 max, bool viaBook)
        internal
        returns (uint256, uint256)
    {
        return viaBook ? feed.acceptPrice(_parsed(data, true, min), true, min, max) : feed.verifyAt(data, min, max);
    }

    /// The hand-read of Pyth's answer (PythParseLib, shared by the adapter and the order book) takes exactly one
    /// well-formed feed of the adapter's id: two feeds, another id, a field outside its type, a wrong offset or a
    /// short answer are "not found"; Pyth's own "not found" errors become PythPriceNotFound, others pass unchanged.
    function test_parse_takesExactlyOneWellFormedFeed() public {
        ScriptedPyth odd = new ScriptedPyth();
        PythPriceFeed feed = new PythPriceFeed(_config(IPyth(address(odd)), -8, 100), address(this));
        bytes[] memory data = new bytes[](1);
        data[0] = hex"01";
        PythStructs.PriceFeed[] memory one = new PythStructs.PriceFeed[](1);
        one[0].id = ID;
        one[0].price = PythStructs.Price(2_000e8, 1e8, -8, T0 - 1);
        one[0].emaPrice = one[0].price;
        bytes memory good = abi.encode(one);
        assertEq(good.length, 352, "one feed is 11 words");

        bytes[] memory bad = new bytes[](8);
        PythStructs.PriceFeed[] memory two = new PythStructs.PriceFeed[](2);
        (two[0], two[1]) = (one[0], one[0]);
        bad[0] = abi.encode(two);
        one[0].id = bytes32(uint256(ID) + 1);
        bad[1] = abi.encode(one);
        one[0].id = ID;
        bad[2] = _withWord(good, 3, uint256(1) << 63); // price above int64
        bad[3] = _withWord(good, 4, uint256(1) << 64); // conf above uint64
        bad[4] = _withWord(good, 5, uint256(1) << 31); // expo above int32
        bad[5] = _withWord(good, 0, 64); // offset
        bad[6] = hex"";
        bad[7] = _withWord(good, 1, 0); // length 0
        for (uint256 i; i < bad.length; ++i) {
            odd.script(bad[i], false);
            vm.expectRevert(abi.encodeWithSelector(IPythErrors.PythPriceNotFound.selector, ID));
            feed.updatePrice(data);
        }
        odd.script(abi.encodeWithSelector(PythErrors.PriceFeedNotFoundWithinRange.selector), true);
        vm.expectRevert(abi.encodeWithSelector(IPythErrors.PythPriceNotFound.selector, ID));
        feed.updatePrice(data);
        odd.script(abi.encodeWithSelector(PythErrors.InvalidUpdateData.selector), true);
        vm.expectRevert(PythErrors.InvalidUpdateData.selector);
        feed.updatePrice(data);

        odd.script(good, false);
        (uint256 price, uint256 publishTime) = feed.updatePrice(data);
        assertEq(price, 2_000e18, "well-formed price");
        assertEq(publishTime, T0 - 1, "well-formed time");
    }

    /// `encoded` with its 32-byte word `index` replaced by `value`.
    function _withWord(bytes memory encoded, uint256 index, uint256 value) internal pure returns (bytes memory out) {
        out = bytes.concat(encoded);
        assembly ("memory-safe") {
            mstore(add(add(out, 32), mul(index, 32)), value)
        }
    }

    /// Only the adapter's order book and that book's engine may hand it a price; with no book (zero) nobody may, and
    /// a book that does not answer `engine()` leaves the book alone.
    function test_acceptPrice_isTheBookAndItsEnginesAlone() public {
        PythPriceFeed feed = _feed(-8, 100);
        PythStructs.Price memory p = _parsed(_data(2_000e8, 0, -8, uint64(T0), uint64(T0 - 1)), false, 0);
        vm.prank(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(IPythErrors.NotPriceWriter.selector, address(0xBEEF)));
        feed.acceptPrice(p, false, 0, 0);
        (, , address book) = feed.pythRequest();
        assertTrue(book == address(this), "pythRequest names the book");
        assertTrue(feed.engine() == ENGINE, "the book's engine");
        PythPriceFeed orphan = new PythPriceFeed(feed.config(), address(0));
        assertTrue(orphan.engine() == address(0), "no book, no engine");
        vm.prank(address(0));
        vm.expectRevert(abi.encodeWithSelector(IPythErrors.NotPriceWriter.selector, address(0)));
        orphan.acceptPrice(p, false, 0, 0);
        // A book without `engine()` (the Pyth mock) or an account: the book alone.
        assertTrue(new PythPriceFeed(feed.config(), address(pyth)).engine() == address(0), "book without engine()");
        assertTrue(new PythPriceFeed(feed.config(), address(0xB00C)).engine() == address(0), "account as book");
        (uint256 price, uint256 t) = feed.acceptPrice(p, false, 0, 0);
        assertEq(price, 2_000e18, "accepted price");
        assertEq(t, T0, "accepted time");
        PythStructs.Price memory later = _parsed(_data(2_010e8, 0, -8, uint64(T0 + 1), uint64(T0)), false, 0);
        vm.warp(T0 + 1);
        vm.prank(ENGINE);
        (price, t) = feed.acceptPrice(later, false, 0, 0);
        assertEq(price, 2_010e18, "the engine's price");
        assertEq(t, T0 + 1, "the engine's time");
    }

    /// Every positive int64 price with every exponent in [-18, 0] becomes exactly price * 10^(18 + expo), a multiple
    /// of priceUnit; the exponent of the neighbouring feed is refused.
    function testFuzz_normalisation_isExact(uint256 priceSeed, uint256 expoSeed) public {
        int32 expo = -int32(int256(bound(expoSeed, 0, 18)));
        int64 price = int64(int256(bound(priceSeed, 1, uint256(int256(type(int64).max)))));
        PythPriceFeed feed = _feed(expo, 10_000);
        uint256 unit = 10 ** uint256(int256(18 + expo));
        assertEq(feed.priceUnit(), unit, "priceUnit");

        (uint256 priceWad, uint256 publishTime) = feed.updatePrice(_data(price, 0, expo, uint64(T0), uint64(T0 - 1)));
        uint256 expected = uint256(int256(price)) * unit;
        assertEq(priceWad, expected, "returned price");
        assertEq(publishTime, T0, "returned time");
        (uint256 cached,) = feed.cachedPrice();
        assertEq(cached, expected, "cached price");
        assertEq(cached % unit, 0, "not a multiple of priceUnit");
        assertEq(cached / unit, uint256(int256(price)), "does not round-trip");
        assertEq(feed.latestPrice(), expected, "latestPrice");

        int32 other = expo == 0 ? int32(-1) : expo + 1;
        bytes[] memory bad1 = _data(price, 0, other, uint64(T0 + 1), uint64(T0));
        vm.expectRevert(abi.encodeWithSelector(IPythErrors.PythExponentUnsupported.selector, ID, other));
        feed.updatePrice(bad1);
    }

    /// Any sequence of updatePrice and verifyAt calls with random publish times, each either direct or as the order
    /// book hands the price over (`acceptPrice`), leaves the cache time at the running maximum of the accepted times:
    /// it never decreases, updatePrice refuses exactly the older prices, and verifyAt of an older window returns its
    /// own price without touching the cache.
    function testFuzz_cache_isMonotonic(uint256 seed) public {
        PythPriceFeed feed = _feed(-8, 100);
        uint256 high; // running maximum of accepted publish times
        uint256 highPrice;
        for (uint256 i = 0; i < 12; i++) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            // The block moves forward 0..3 s a step; prices are published up to 40 s before it and never after
            // (the future bound is tested separately).
            vm.warp(T0 + i * 3 + (r % 4));
            uint64 t = uint64(block.timestamp - ((r >> 8) % 41));
            int64 price = int64(int256(1_000e8 + ((r >> 16) % 2_000e8)));
            bool viaVerify = (r >> 64) % 3 == 0;
            bool viaBook = (r >> 72) % 2 == 0;
            (uint256 beforePrice, uint256 beforeTime) = feed.cachedPrice();
            if (viaVerify) {
                // The unique first update of the window [t, t + 30].
                (uint256 p, uint256 pt) = _window(feed, _data(price, 0, -8, t, t - 1), t, t + 30, viaBook);
                assertEq(pt, t, "verifyAt time");
                assertEq(p, uint256(int256(price)) * 1e10, "verifyAt price");
                if (t > high) (high, highPrice) = (t, p);
            } else if (t < beforeTime) {
                bytes[] memory bad2 = _data(price, 0, -8, t, t - 1);
                PythStructs.Price memory parsed = _parsed(bad2, false, 0);
                vm.expectRevert(
                    abi.encodeWithSelector(IPythErrors.PythPriceOlderThanCache.selector, ID, uint256(t), beforeTime)
                );
                if (viaBook) feed.acceptPrice(parsed, false, 0, 0);
                else feed.updatePrice(bad2);
            } else {
                (uint256 p, uint256 pt) = _latest(feed, _data(price, 0, -8, t, t - 1), viaBook);
                assertEq(pt, t, "updatePrice time");
                // Same second as the cache: the first price of that second stays.
                if (t == beforeTime) assertEq(p, beforePrice, "same-second price replaced");
                else (high, highPrice) = (t, p);
            }
            (uint256 cachedPrice, uint256 cachedTime) = feed.cachedPrice();
            assertGe(cachedTime, beforeTime, "cache went back in time");
            assertEq(cachedTime, high, "cache time is not the running maximum");
            assertEq(cachedPrice, highPrice, "cache price is not that of the running maximum");
        }
    }

    /// conf <= price * maxConfBps / 10_000 is accepted and one unit more is refused, for any price and bound.
    function testFuzz_confidence_boundary(uint256 priceSeed, uint256 bpsSeed) public {
        int64 price = int64(int256(bound(priceSeed, 1, uint256(int256(type(int64).max)))));
        uint16 bps = uint16(bound(bpsSeed, 1, 10_000));
        PythPriceFeed feed = _feed(-8, bps);
        uint256 raw = uint256(int256(price));
        uint64 limit = uint64(raw * bps / 10_000);

        bytes[] memory bad3 = _data(price, limit + 1, -8, uint64(T0), uint64(T0 - 1));
        vm.expectRevert(
            abi.encodeWithSelector(
                IPythErrors.PythConfidenceTooWide.selector, ID, (uint256(limit) + 1) * 1e10, raw * 1e10, uint256(bps)
            )
        );
        feed.updatePrice(bad3);

        (uint256 priceWad,) = feed.updatePrice(_data(price, limit, -8, uint64(T0), uint64(T0 - 1)));
        assertEq(priceWad, raw * 1e10, "price at the confidence bound");
    }

    /// verifyAt accepts the unique first update exactly when min <= publishTime <= max.
    function testFuzz_verifyAt_window(uint256 minSeed, uint256 lenSeed, uint256 tSeed) public {
        PythPriceFeed feed = _feed(-8, 100);
        vm.warp(T0 + 1_000);
        uint64 min = uint64(bound(minSeed, T0, T0 + 900));
        uint64 max = min + uint64(bound(lenSeed, 0, 60));
        uint64 t = uint64(bound(tSeed, min, uint256(max) + 5));
        bytes[] memory data = _data(2_000e8, 0, -8, t, min - 1);
        if (t > max) {
            vm.expectRevert(
                abi.encodeWithSelector(IPythErrors.PythPriceOutsideWindow.selector, ID, uint256(t), uint256(min), uint256(max))
            );
            feed.verifyAt(data, min, max);
        } else {
            (uint256 p, uint256 pt) = feed.verifyAt(data, min, max);
            assertEq(p, 2_000e18, "price");
            assertEq(pt, t, "time");
        }
        // Published before min: Pyth finds no such update.
        bytes[] memory bad4 = _data(2_000e8, 0, -8, min - 1, min - 2);
        vm.expectRevert(abi.encodeWithSelector(IPythErrors.PythPriceNotFound.selector, ID));
        feed.verifyAt(bad4, min, max);
    }

    /// A price more than maxFutureSkew after the block is refused, up to it accepted.
    function testFuzz_futureSkew_boundary(uint256 aheadSeed) public {
        PythPriceFeed feed = _feed(-8, 100);
        uint64 ahead = uint64(bound(aheadSeed, 0, 1_000));
        uint64 t = uint64(T0) + ahead;
        if (ahead > 5) {
            bytes[] memory bad5 = _data(2_000e8, 0, -8, t, t - 1);
            vm.expectRevert(
                abi.encodeWithSelector(IPythErrors.PythPriceInFuture.selector, ID, uint256(t), T0, uint256(5))
            );
            feed.updatePrice(bad5);
        } else {
            (, uint256 pt) = feed.updatePrice(_data(2_000e8, 0, -8, t, t - 1));
            assertEq(pt, t, "time");
        }
    }
}
