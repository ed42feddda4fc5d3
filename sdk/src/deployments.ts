/**
 * The schema of `deployments/<network>.json`, written by the deploy script and read by the SDK, CLI and keeper.
 *
 * Stable: fields are only ever added. `schemaVersion` changes if a field's meaning changes.
 *
 * @packageDocumentation
 */

/** One listed market. */
export interface DeployedMarket {
  /** The engine's market id (0, 1, ...). */
  readonly id: number;
  /** Human name, e.g. "ETH-USD". */
  readonly symbol: string;
  /** The `IPriceFeed` adapter the engine reads (a `ChainlinkPriceFeed`). */
  readonly priceFeed: string;
  /** The Chainlink aggregator behind the adapter (a `MockAggregator` on local networks). */
  readonly aggregator: string;
}

/** Everything a client needs to talk to one deployment. */
export interface Deployment {
  readonly schemaVersion: 1;
  /** Hardhat network name the deployment was made on, e.g. "localhost", "sepolia". */
  readonly network: string;
  readonly chainId: number;
  /** Block of the engine's deployment: where event scans start. */
  readonly deploymentBlock: number;
  readonly contracts: {
    readonly PerpEngine: string;
    readonly LiquidityVault: string;
    /** The collateral token (USDC, or `MockUSDC` on local networks). */
    readonly CollateralToken: string;
    readonly LiquidationLogic: string;
    readonly LiquidationPriceLogic: string;
    readonly MarketAdminLogic: string;
    /** Read-only batch views (`PerpLens`). */
    readonly PerpLens: string;
  };
  readonly markets: readonly DeployedMarket[];
}
