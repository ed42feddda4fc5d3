/**
 * `@perp/sdk/keeper`: what a liquidation keeper needs beyond the client. The open-position index kept from the
 * engine's events (and rebuilt when the chain under it changes), the lens codec and batched health reads, and the
 * evaluation that turns them into liquidatable units in priority order with the reward each pays.
 *
 * @example
 * ```ts
 * import { ChainIndex, evaluate, readHealth } from "@perp/sdk/keeper";
 * const index = new ChainIndex(client, deployment.deploymentBlock, 10_000, { attempts: 5 });
 * const { block } = await index.sync(await provider.getBlockNumber());
 * const views = await readHealth(client, index.positions(), 200, block.number);
 * const { units } = evaluate(views, markets, protocol, BigInt(block.timestamp));
 * ```
 *
 * @packageDocumentation
 */
export { ChainIndex, type ChainSync, type IndexSync } from "./chainIndex.js";
export { runConcurrently } from "./concurrently.js";
export { HealthWatch, type WatchPlan } from "./healthWatch.js";
export {
  DEFAULT_NEAR_MARGIN,
  MAX_SCAN_PAGE,
  decodeScanPage,
  scanHealth,
  type HealthScan,
  type ScanHealthOptions,
} from "./scanHealth.js";
export { evaluate, type EvaluatedPosition, type Evaluation, type LensPosition, type LiquidationUnit } from "./evaluate.js";
export { decodePositionViews, decodeViewAt, VIEW_WORDS, type PositionHealth } from "./lensCodec.js";
export { liquidatableUnits } from "./liquidatableUnits.js";
export { PositionIndex, type PositionEvent, type PositionKey } from "./positionIndex.js";
export { readHealth, readPositionStates } from "./readHealth.js";
export { scanPositionEvents } from "./scanPositionEvents.js";
export { SimulationUnsupportedError, simulateCalls, type CallOutcome, type SimulatedCall } from "./simulateCalls.js";
export * from "./orders/index.js";
