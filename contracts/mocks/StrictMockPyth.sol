// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {PythErrors} from "@pythnetwork/pyth-sdk-solidity/PythErrors.sol";
import {PythStructs} from "@pythnetwork/pyth-sdk-solidity/PythStructs.sol";

/// @title StrictMockPyth
/// @notice Local stand-in for the Pyth contract (Hardhat network, anvil) that behaves like the real one where the
/// protocol depends on it, unlike the SDK's `MockPyth` (SPEC "Prices (pull oracle)"):
/// - `parsePriceFeedUpdates*` store nothing (real Pyth stores only in `updatePriceFeeds`), so a parse can never
///   move `getPriceUnsafe`;
/// - `parsePriceFeedUpdatesUnique` enforces uniqueness: an update is accepted only if
///   `prevPublishTime < minPublishTime <= publishTime <= maxPublishTime`, i.e. it is the first one published at or
///   after `minPublishTime` (real Pyth: `minPublishTime > prevPublishTime`);
/// - every paid function checks `msg.value >= getUpdateFee(updateData)` (`PythErrors.InsufficientFee`) and keeps
///   the whole `msg.value`, as real Pyth does.
/// Update data is `abi.encode(PythStructs.PriceFeed feed, uint64 prevPublishTime)` (one feed per element; built
/// off-chain by `encodeMockPriceUpdate` of the SDK (prices module), on-chain by `createPriceFeedUpdateData`). Real Pyth
/// takes Wormhole-signed accumulator updates instead; there is no signature here, so anyone can forge a price:
/// never deploy this outside a local chain.
contract StrictMockPyth is IPyth {
    /// @notice A function of `IPyth` the protocol does not use (TWAP): it reverts rather than return fake data.
    error StrictMockPythUnsupported(string functionName);

    /// @dev abi.encode(PriceFeed, uint64): PriceFeed is a static tuple of 9 words (id + 2 x 4-word Price), plus one.
    uint256 private constant UPDATE_LENGTH = 10 * 32;

    uint256 public immutable singleUpdateFeeInWei;
    mapping(bytes32 id => PythStructs.PriceFeed) private _feeds;

    constructor(uint256 singleUpdateFeeInWei_) {
        singleUpdateFeeInWei = singleUpdateFeeInWei_;
    }

    // ------------------------------------------------------------------ fees

    /// @notice `singleUpdateFeeInWei` per element of `updateData` (one feed per element here).
    function getUpdateFee(bytes[] calldata updateData) public view returns (uint256 feeAmount) {
        return singleUpdateFeeInWei * updateData.length;
    }

    function getTwapUpdateFee(bytes[] calldata updateData) external view returns (uint256 feeAmount) {
        return singleUpdateFeeInWei * updateData.length;
    }

    // ------------------------------------------------------------------ stored prices

    /// @notice Stores every update newer than the stored price of its feed (older or equal ones are ignored, not
    /// refused, like real Pyth), emitting `PriceFeedUpdate` for each stored one.
    function updatePriceFeeds(bytes[] calldata updateData) public payable {
        _chargeFee(updateData);
        for (uint256 i = 0; i < updateData.length; i++) {
            (PythStructs.PriceFeed memory feed,) = _decode(updateData[i]);
            _storeIfNewer(feed);
        }
    }

    function updatePriceFeedsIfNecessary(
        bytes[] calldata updateData,
        bytes32[] calldata priceIds,
        uint64[] calldata publishTimes
    ) external payable {
        if (priceIds.length != publishTimes.length) revert PythErrors.InvalidArgument();
        for (uint256 i = 0; i < priceIds.length; i++) {
            if (_feeds[priceIds[i]].id == 0 || _feeds[priceIds[i]].price.publishTime < publishTimes[i]) {
                updatePriceFeeds(updateData);
                return;
            }
        }
        revert PythErrors.NoFreshUpdate();
    }

    /// @notice The stored price, whatever its age; `PriceFeedNotFound` if the feed was never stored.
    function getPriceUnsafe(bytes32 id) public view returns (PythStructs.Price memory price) {
        return queryPriceFeed(id).price;
    }

    /// @dev Real Pyth (AbstractPyth) compares the absolute difference, so a price up to `age` in the future passes.
    function getPriceNoOlderThan(bytes32 id, uint256 age) external view returns (PythStructs.Price memory price) {
        price = getPriceUnsafe(id);
        if (_diff(block.timestamp, price.publishTime) > age) revert PythErrors.StalePrice();
    }

    function getEmaPriceUnsafe(bytes32 id) public view returns (PythStructs.Price memory price) {
        return queryPriceFeed(id).emaPrice;
    }

    function getEmaPriceNoOlderThan(bytes32 id, uint256 age) external view returns (PythStructs.Price memory price) {
        price = getEmaPriceUnsafe(id);
        if (_diff(block.timestamp, price.publishTime) > age) revert PythErrors.StalePrice();
    }

    function queryPriceFeed(bytes32 id) public view returns (PythStructs.PriceFeed memory feed) {
        feed = _feeds[id];
        if (feed.id == 0) revert PythErrors.PriceFeedNotFound();
    }

    function priceFeedExists(bytes32 id) external view returns (bool) {
        return _feeds[id].id != 0;
    }

    // ------------------------------------------------------------------ parsing (stores nothing)

    /// @notice For each requested id, the newest update of that feed in `updateData` published in
    /// `[minPublishTime, maxPublishTime]`; `PriceFeedNotFoundWithinRange` if there is none. Stores nothing.
    function parsePriceFeedUpdates(
        bytes[] calldata updateData,
        bytes32[] calldata priceIds,
        uint64 minPublishTime,
        uint64 maxPublishTime
    ) external payable returns (PythStructs.PriceFeed[] memory priceFeeds) {
        _chargeFee(updateData);
        (priceFeeds,) = _parse(updateData, priceIds, minPublishTime, maxPublishTime, false);
    }

    /// @notice For each requested id, the update with `prevPublishTime < minPublishTime <= publishTime <=
    /// maxPublishTime` (the first one published at or after `minPublishTime`); `PriceFeedNotFoundWithinRange` if
    /// there is none. Stores nothing.
    function parsePriceFeedUpdatesUnique(
        bytes[] calldata updateData,
        bytes32[] calldata priceIds,
        uint64 minPublishTime,
        uint64 maxPublishTime
    ) external payable returns (PythStructs.PriceFeed[] memory priceFeeds) {
        _chargeFee(updateData);
        (priceFeeds,) = _parse(updateData, priceIds, minPublishTime, maxPublishTime, true);
    }

    /// @notice The general form: uniqueness as in `parsePriceFeedUpdatesUnique` when `checkUniqueness`, at most one
    /// update per requested id when `checkUpdateDataIsMinimal` (`InvalidArgument` otherwise), and the parsed feeds
    /// stored (if newer) only when `storeUpdatesIfFresh`. `slots` are the publish times (no Pythnet slots here).
    function parsePriceFeedUpdatesWithConfig(
        bytes[] calldata updateData,
        bytes32[] calldata priceIds,
        uint64 minAllowedPublishTime,
        uint64 maxAllowedPublishTime,
        bool checkUniqueness,
        bool checkUpdateDataIsMinimal,
        bool storeUpdatesIfFresh
    ) external payable returns (PythStructs.PriceFeed[] memory priceFeeds, uint64[] memory slots) {
        _chargeFee(updateData);
        if (checkUpdateDataIsMinimal && updateData.length > priceIds.length) revert PythErrors.InvalidArgument();
        (priceFeeds, slots) =
            _parse(updateData, priceIds, minAllowedPublishTime, maxAllowedPublishTime, checkUniqueness);
        if (storeUpdatesIfFresh) {
            for (uint256 i = 0; i < priceFeeds.length; i++) {
                _storeIfNewer(priceFeeds[i]);
            }
        }
    }

    function parseTwapPriceFeedUpdates(bytes[] calldata, bytes32[] calldata)
        external
        payable
        returns (PythStructs.TwapPriceFeed[] memory)
    {
        revert StrictMockPythUnsupported("parseTwapPriceFeedUpdates");
    }

    // ------------------------------------------------------------------ helpers

    /// @notice Update data for one feed, as `MockPyth.createPriceFeedUpdateData` builds it (same signature and
    /// encoding; the EMA price shares the price's exponent and publish time).
    function createPriceFeedUpdateData(
        bytes32 id,
        int64 price,
        uint64 conf,
        int32 expo,
        int64 emaPrice,
        uint64 emaConf,
        uint64 publishTime,
        uint64 prevPublishTime
    ) public pure returns (bytes memory priceFeedData) {
        PythStructs.PriceFeed memory feed;
        feed.id = id;
        feed.price = PythStructs.Price({price: price, conf: conf, expo: expo, publishTime: publishTime});
        feed.emaPrice = PythStructs.Price({price: emaPrice, conf: emaConf, expo: expo, publishTime: publishTime});
        priceFeedData = abi.encode(feed, prevPublishTime);
    }

    function _parse(
        bytes[] calldata updateData,
        bytes32[] calldata priceIds,
        uint64 minPublishTime,
        uint64 maxPublishTime,
        bool unique
    ) private pure returns (PythStructs.PriceFeed[] memory priceFeeds, uint64[] memory slots) {
        priceFeeds = new PythStructs.PriceFeed[](priceIds.length);
        slots = new uint64[](priceIds.length);
        for (uint256 i = 0; i < priceIds.length; i++) {
            bool found;
            for (uint256 j = 0; j < updateData.length; j++) {
                (PythStructs.PriceFeed memory feed, uint64 prevPublishTime) = _decode(updateData[j]);
                if (feed.id != priceIds[i]) continue;
                uint256 t = feed.price.publishTime;
                if (t < minPublishTime || t > maxPublishTime) continue;
                if (unique) {
                    if (prevPublishTime >= minPublishTime) continue;
                    // Only one update of consistent data satisfies prev < min <= publish: take the first.
                    priceFeeds[i] = feed;
                    found = true;
                    break;
                }
                // Newest in range; among equal publish times the first one listed.
                if (!found || t > priceFeeds[i].price.publishTime) {
                    priceFeeds[i] = feed;
                    found = true;
                }
            }
            // An id absent from the data, or present only outside the range, is the same error in real Pyth.
            if (!found) revert PythErrors.PriceFeedNotFoundWithinRange();
            slots[i] = uint64(priceFeeds[i].price.publishTime);
        }
    }

    function _decode(bytes calldata data)
        private
        pure
        returns (PythStructs.PriceFeed memory feed, uint64 prevPublishTime)
    {
        if (data.length != UPDATE_LENGTH) revert PythErrors.InvalidUpdateData();
        (feed, prevPublishTime) = abi.decode(data, (PythStructs.PriceFeed, uint64));
        // A zero id is the "absent" marker of the storage mapping; real Pyth has no such feed either.
        if (feed.id == 0) revert PythErrors.InvalidUpdateData();
    }

    function _storeIfNewer(PythStructs.PriceFeed memory feed) private {
        if (_feeds[feed.id].price.publishTime < feed.price.publishTime) {
            _feeds[feed.id] = feed;
            emit PriceFeedUpdate(feed.id, uint64(feed.price.publishTime), feed.price.price, feed.price.conf);
        }
    }

    function _chargeFee(bytes[] calldata updateData) private view {
        if (msg.value < getUpdateFee(updateData)) revert PythErrors.InsufficientFee();
    }

    function _diff(uint256 x, uint256 y) private pure returns (uint256) {
        return x > y ? x - y : y - x;
    }
}
