/**
 * The order keeper's pure logic: the open-order index kept from the book's events, the book's trigger rule, and
 * the plan of what can be settled, executed, ratcheted or cleaned up at a block.
 *
 * @packageDocumentation
 */
export { OrderChainIndex } from "./orderChainIndex.js";
export { ORDER_EVENT_NAMES, OrderIndex, type OrderEvent } from "./orderIndex.js";
export {
  batchBySettleTime,
  planOrders,
  positionKey,
  positionsNeeded,
  type MarketPrice,
  type OrderPlan,
  type OrderTiming,
  type PositionState,
} from "./plan.js";
export { decodeOrderLog, orderEventTopics, scanOrderEvents } from "./scanOrderEvents.js";
export { BPS, improvesPeak, orderIsBuy, pythPriceToWad, trailingStopPrice, triggerCrossed, type TriggerFields } from "./trigger.js";
export {
  CLOSE_ALL,
  CLOSE_ALL_STORED,
  CancelReason,
  OrderKind,
  isCloseAll,
  isReduceOnlyKind,
  isTriggerKind,
  type IndexedOrder,
} from "./types.js";
