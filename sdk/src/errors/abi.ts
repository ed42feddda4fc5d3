/**
 * The ABIs of every contract the protocol deploys (and the token it uses), merged into one interface of errors, so
 * a revert decodes whichever contract raised it: the engine and its linked libraries, the LP vault, the lens, the
 * oracle adapters (Chainlink, Pyth), the order book, the collateral token (OpenZeppelin's ERC20 / ERC4626 / SafeERC20 errors included).
 *
 * @packageDocumentation
 */
import { Interface } from "ethers";

import {
  ChainlinkPriceFeed__factory,
  ICollateralToken__factory,
  IOrderBook__factory,
  IOrderEngine__factory,
  IPythErrors__factory,
  LiquidationLogic__factory,
  LiquidationPriceLogic__factory,
  LiquidityVault__factory,
  MarketAdminLogic__factory,
  MockUSDC__factory,
  OrderBook__factory,
  PerpEngine__factory,
  PythPriceFeed__factory,
  StrictMockPyth__factory,
  PerpLens__factory,
} from "../generated/index.js";

/** The ABIs whose errors the SDK decodes and explains. */
export const CONTRACT_ABIS = {
  PerpEngine: PerpEngine__factory.abi,
  LiquidationLogic: LiquidationLogic__factory.abi,
  LiquidationPriceLogic: LiquidationPriceLogic__factory.abi,
  MarketAdminLogic: MarketAdminLogic__factory.abi,
  LiquidityVault: LiquidityVault__factory.abi,
  PerpLens: PerpLens__factory.abi,
  ChainlinkPriceFeed: ChainlinkPriceFeed__factory.abi,
  // v2 orders and pull prices: the order book, the engine's order hooks and the Pyth adapter.
  IOrderBook: IOrderBook__factory.abi,
  IOrderEngine: IOrderEngine__factory.abi,
  IPythErrors: IPythErrors__factory.abi,
  OrderBook: OrderBook__factory.abi,
  PythPriceFeed: PythPriceFeed__factory.abi,
  // The local Pyth (its errors are Pyth's own PythErrors, as the real contract raises them).
  StrictMockPyth: StrictMockPyth__factory.abi,
  ICollateralToken: ICollateralToken__factory.abi,
  MockUSDC: MockUSDC__factory.abi,
} as const;

type ErrorsOf<A> = A extends readonly (infer Item)[] ? (Item extends { readonly type: "error"; readonly name: infer N } ? N : never) : never;

/** The name of every custom error in `CONTRACT_ABIS`. */
export type ContractErrorName = { [K in keyof typeof CONTRACT_ABIS]: ErrorsOf<(typeof CONTRACT_ABIS)[K]> }[keyof typeof CONTRACT_ABIS];

/**
 * Every custom error name in the ABIs, sorted.
 * @example contractErrorNames().includes("PositionModeMismatch") // true
 */
export function contractErrorNames(): ContractErrorName[] {
  const names = new Set<string>();
  for (const abi of Object.values(CONTRACT_ABIS)) for (const item of abi) if (item.type === "error") names.add(item.name);
  return [...names].sort() as ContractErrorName[];
}

let combined: Interface | undefined;
/** Every error the protocol's contracts can raise, in one ABI (each signature once). */
export function errorInterface(): Interface {
  if (combined) return combined;
  const fragments = new Map<string, unknown>();
  for (const abi of Object.values(CONTRACT_ABIS)) {
    for (const item of abi) if (item.type === "error") fragments.set(JSON.stringify(item), item);
  }
  combined = new Interface([...fragments.values()] as never);
  return combined;
}
