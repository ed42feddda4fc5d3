// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";

/// @notice A settable Chainlink feed for tests and local demos. Also serves as an L2 sequencer-uptime feed
/// (answer 0 = up, 1 = down; `startedAt` = time of the status change).
/// @dev Round data is packed into one slot so that a price read costs what a lean feed costs; the protocol's gas
/// figures then measure the protocol, not the mock.
contract MockAggregator is AggregatorV3Interface {
    struct Round {
        uint80 roundId;
        int96 answer;
        uint40 startedAt;
        uint40 updatedAt;
    }

    uint8 public immutable decimals;
    string public description;
    Round internal round;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    constructor(uint8 decimals_, string memory description_, int96 initialAnswer) {
        decimals = decimals_;
        description = description_;
        _set(initialAnswer, block.timestamp, block.timestamp);
    }

    /// @notice Publishes a new answer timestamped now.
    function setAnswer(int96 answer) external {
        _set(answer, block.timestamp, block.timestamp);
    }

    /// @notice Publishes an answer with explicit timestamps (to simulate stale rounds or sequencer restarts).
    function setRound(int96 answer, uint256 startedAt, uint256 updatedAt) external {
        _set(answer, startedAt, updatedAt);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = round;
        return (r.roundId, r.answer, r.startedAt, r.updatedAt, r.roundId);
    }

    function latestAnswer() external view returns (int256) {
        return round.answer;
    }

    function _set(int96 answer, uint256 startedAt, uint256 updatedAt) private {
        uint80 id = round.roundId + 1;
        round = Round(id, answer, uint40(startedAt), uint40(updatedAt));
        emit AnswerUpdated(answer, id, updatedAt);
    }
}
