/**
 * Keeper primitives: the open-position index kept from the engine's events, the lens codec and batched health
 * reads, and the liquidatable units.
 *
 * @packageDocumentation
 */
export { decodePositionViews, type PositionHealth } from "./lensCodec.js";
export { liquidatableUnits } from "./liquidatableUnits.js";
export { PositionIndex, type PositionEvent, type PositionKey } from "./positionIndex.js";
export { readHealth } from "./readHealth.js";
export { scanPositionEvents } from "./scanPositionEvents.js";
