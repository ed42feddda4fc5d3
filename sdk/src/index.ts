/**
 * TypeScript SDK of the perpetual futures protocol: typed contract bindings (typechain, ethers v6), a client for
 * traders and keepers, wei-exact quotes that mirror the contracts, one event decoder, and decoded errors.
 *
 * @packageDocumentation
 */
export * from "./client.js";
export * from "./constants.js";
export * from "./deployments.js";
export * from "./errors.js";
export * from "./events/decode.js";
export * from "./transport/index.js";
export * as math from "./math.js";
export * from "./units.js";
export * from "./valuation.js";
export type { ICollateralToken, LiquidityVault, PerpEngine, PerpLens } from "./generated/index.js";
