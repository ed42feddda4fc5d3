/**
 * TypeScript SDK of the perpetual futures protocol: a thin client over one action per file (viem's shape), typed
 * contract bindings (typechain, ethers v6), wei-exact quotes that mirror the contracts, one event decoder, one send
 * policy, branded units and decoded errors.
 *
 * Entry points: `@perp/sdk` (this file; browser-safe), `@perp/sdk/keeper` (position index, lens codec, evaluation),
 * `@perp/sdk/node` (deployment files, RPC URL), `@perp/sdk/contracts` (every typechain binding and factory).
 *
 * @packageDocumentation
 */

// The client and the records it returns.
export { PerpClient, type ConnectOptions } from "./client.js";
export {
  createClientContext,
  type ClientContext,
  type ClientContextOptions,
  type OrderPriceSource,
  type PriceUpdate,
} from "./client/context.js";
export type * from "./types.js";

// Actions: `action(client, parameters)`, each with its Parameters / ReturnType / ErrorType.
export * from "./actions/index.js";

// Events, transport, constants, errors, units.
export * from "./events/decode.js";
export * from "./transport/index.js";
export * from "./constants.js";
export * from "./deployments.js";
export * from "./errors.js";
export * from "./units.js";

// The contracts' arithmetic in bigint.
export * as math from "./math.js";
export * from "./valuation.js";
export * from "./model/liquidation.js";
export * from "./model/orders.js";
export * from "./model/display.js";

// Keeper primitives, also at `@perp/sdk/keeper` (kept here for compatibility).
export {
  PositionIndex,
  decodePositionViews,
  liquidatableUnits,
  readHealth,
  scanPositionEvents,
  type PositionEvent,
  type PositionHealth,
  type PositionKey,
} from "./keeper/index.js";

export type { ICollateralToken, IOrderBook, LiquidityVault, PerpEngine, PerpLens } from "./generated/index.js";
