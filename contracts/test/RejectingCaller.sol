// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPerpEngine} from "../interfaces/IPerpEngine.sol";

/// @title RejectingCaller
/// @notice Test-only keeper contract with no way to receive ether: the engine's refund of unspent `msg.value` to it
/// fails (`RefundFailed`). Not for deployment.
contract RejectingCaller {
    function liquidate(IPerpEngine engine, address trader, uint256 marketId, bytes[] calldata priceUpdate)
        external
        payable
    {
        engine.liquidate{value: msg.value}(trader, marketId, priceUpdate);
    }
}
