/**
 * `@perp/sdk/contracts`: every typechain binding (types and factories) of the protocol's contracts, mocks included,
 * generated into the package by the Hardhat compile.
 *
 * @example
 * ```ts
 * import { MockAggregator__factory } from "@perp/sdk/contracts";
 * await MockAggregator__factory.connect(market.aggregator, owner).setAnswer(1_900n * 10n ** 8n);
 * ```
 *
 * @packageDocumentation
 */
export * from "./generated/index.js";
// The structs of the engine's ABI (the lens's views are `PerpLens.MarketViewStruct`, `PerpLens.PositionViewStruct`).
export type {
  HealthStruct,
  HealthStructOutput,
  MarketParamsStruct,
  MarketParamsStructOutput,
  MarketStateStruct,
  MarketStateStructOutput,
  PositionStruct,
  PositionStructOutput,
  ProtocolParamsStruct,
  ProtocolParamsStructOutput,
} from "./generated/PerpEngine.js";
