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
  /** Pyth price feed id (bytes32 hex) of the market's base asset in USD, when its adapter is a `PythPriceFeed`. */
  readonly pythPriceId?: string;
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
    /** The order book (v2): every trade is an order. Absent on a v1 deployment (trades go to `PerpEngine.trade`). */
    readonly OrderBook?: string;
  };
  /** The Pyth contract the markets' adapters verify with (`StrictMockPyth` on local networks). */
  readonly pyth?: string;
  /** Hermes endpoint serving the markets' Pyth update data (testnets), e.g. "https://hermes.pyth.network". */
  readonly hermesUrl?: string;
  readonly markets: readonly DeployedMarket[];
}
