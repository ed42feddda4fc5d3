/**
 * Pieces shared by the Ignition modules (`PerpLocal`, `PerpProtocol`, `PerpPyth`, `PerpPythLocal`), and by the deploy
 * path (scripts/lib/deploy-protocol.ts), which reads the future ids below to write `deployments/<network>.json`.
 *
 * Every default here is documented, with its reason, in docs/deployment.md. A per-network parameters file
 * (`ignition/parameters/<network>.json`) overrides any of them by parameter name.
 */
import { createRequire } from "node:module";

import type {
  AccountRuntimeValue,
  Artifact,
  CallableContractFuture,
  ContractFuture,
  Future,
  IgnitionModuleBuilder,
  ModuleParameterRuntimeValue,
} from "@nomicfoundation/ignition-core";
import { ZeroAddress, parseUnits } from "ethers";

import { PYTH_FEED_IDS, PYTH_USD_EXPO } from "@perp/sdk/prices";

const require = createRequire(import.meta.url);

/** Decimal string to WAD (18 decimals), exactly. */
export function wad(value: string): bigint {
  return parseUnits(value, 18);
}

/** Decimal string to USDC units (6 decimals). */
export function usdc(value: string): bigint {
  return parseUnits(value, 6);
}

/** USD price to an 8-decimal Chainlink answer. */
export function answer(value: string): bigint {
  return parseUnits(value, 8);
}

/** `ProtocolParams` (contracts/interfaces/IPerpEngine.sol), protocol-wide. */
export const DEFAULT_PROTOCOL_PARAMS = {
  insuranceFeeShare: wad("0.1"),
  vaultBackingRatio: wad("0.2"),
  keeperRewardMin: wad("2"),
  keeperRewardMax: wad("500"),
};

/** `MarketParams` of ETH-USD. */
export const ETH_USD_PARAMS = {
  skewScale: wad("1000000"),
  initialMarginRatio: wad("0.02"),
  maintenanceMarginRatio: wad("0.01"),
  makerFeeRate: wad("0.0002"),
  takerFeeRate: wad("0.0005"),
  fundingFactor: wad("2"),
  maxFundingRatePerDay: wad("0.01"),
  maxLongOpenInterest: wad("5000"),
  maxShortOpenInterest: wad("5000"),
  minPositionNotional: wad("10"),
  keeperRewardRatio: wad("0.001"),
  insuranceShare: wad("0.002"),
  maxPnlFactor: wad("0.5"),
};

/**
 * `MarketParams` of BTC-USD: the same risk settings; skew scale and caps in BTC, with the same cap / skew-scale ratio
 * (0.5 %) as ETH-USD, so that a fully one-sided book has the same premium and funding in both markets.
 */
export const BTC_USD_PARAMS = {
  ...ETH_USD_PARAMS,
  skewScale: wad("30000"),
  maxLongOpenInterest: wad("150"),
  maxShortOpenInterest: wad("150"),
};

/** Adapter defaults (`ChainlinkPriceFeed`): the answer band is copied from the aggregator on mainnet. */
export const DEFAULT_MIN_ANSWER = 0n;
/** $100M with 8 decimals: far above any ETH or BTC price, and inside `int96`. */
export const DEFAULT_MAX_ANSWER = 10n ** 16n;
/** Seconds an L2 price is distrusted after the sequencer comes back up (Chainlink's recommendation). */
export const DEFAULT_SEQUENCER_GRACE_PERIOD = 3600n;
/**
 * `PythFeedConfig` defaults (contracts/interfaces/IPythPriceFeed.sol, SPEC "Prices (pull oracle)"): confidence at
 * most 1 % of the price, a publish time at most 5 s ahead of the block, a cache older than 60 s is stale for
 * margin/withdraw/funding, and a price more than 3 % from the Chainlink reference (when there is one) is refused.
 */
export const DEFAULT_PYTH_MAX_CONF_BPS = 100n;
export const DEFAULT_PYTH_MAX_FUTURE_SKEW = 5n;
export const DEFAULT_PYTH_MAX_CACHE_AGE = 60n;
export const DEFAULT_PYTH_REF_MAX_DEV_BPS = 300n;
/** Exponent of Pyth's crypto/USD feeds (ETH/USD, BTC/USD): the adapter accepts only prices with exactly this one. */
export const DEFAULT_PYTH_EXPO = PYTH_USD_EXPO;
export const DEFAULT_LP_COOLDOWN = 86_400n;
/**
 * `OrderBookParams` (contracts/interfaces/IOrderBook.sol, SPEC "Orders"): a 0.50 USD keeper fee per order, a market
 * order settles at the first price published 2-30 s after its commit and may be cancelled after 120 s, a trigger
 * order executes at a price at most 10 s old, and a settlement keeps 500k gas for the engine's call.
 */
export const DEFAULT_ORDER_BOOK_PARAMS = {
  keeperFee: wad("0.5"),
  minSettleDelay: 2n,
  maxSettleDelay: 30n,
  marketOrderExpiry: 120n,
  triggerMaxAge: 10n,
  minExecutionGas: 500_000n,
};
export const DEFAULT_VAULT_NAME = "Perp LP USDC";
export const DEFAULT_VAULT_SYMBOL = "pLP";

export interface MarketDefinition {
  /** Future-id prefix and parameter-name prefix, e.g. `ETHUSD` / `ethUsd`. */
  readonly key: string;
  readonly param: string;
  /** Symbol written to `deployments/<network>.json`. */
  readonly symbol: string;
  /** `MockAggregator.description` on local networks, as Chainlink names the feed. */
  readonly description: string;
  readonly params: typeof ETH_USD_PARAMS;
  /** Initial answer of the local mock (8 decimals). */
  readonly localInitialAnswer: bigint;
  /** Pyth price feed id (the same on every EVM chain), the default of `<param>PriceId` in the Pyth modules. */
  readonly pythPriceId: string;
}

/** Listed in this order: market id 0 is ETH-USD, 1 is BTC-USD. */
export const MARKETS: readonly MarketDefinition[] = [
  {
    key: "ETHUSD",
    param: "ethUsd",
    symbol: "ETH-USD",
    description: "ETH / USD",
    params: ETH_USD_PARAMS,
    localInitialAnswer: answer("2000"),
    pythPriceId: PYTH_FEED_IDS["ETH/USD"],
  },
  {
    key: "BTCUSD",
    param: "btcUsd",
    symbol: "BTC-USD",
    description: "BTC / USD",
    params: BTC_USD_PARAMS,
    localInitialAnswer: answer("60000"),
    pythPriceId: PYTH_FEED_IDS["BTC/USD"],
  },
];

/** Future ids (the part after `<ModuleId>#`) that the deploy script reads from Ignition's result. */
export const FUTURE_IDS = {
  collateralToken: "CollateralToken",
  liquidationLogic: "LiquidationLogic",
  liquidationPriceLogic: "LiquidationPriceLogic",
  marketAdminLogic: "MarketAdminLogic",
  engine: "PerpEngine",
  vault: "LiquidityVault",
  lens: "PerpLens",
  /** The order book of the Pyth modules (v2: every trade is an order). */
  orderBook: "OrderBook",
  timelock: "Timelock",
  aggregator: (market: MarketDefinition) => `${market.key}_Aggregator`,
  priceFeed: (market: MarketDefinition) => `${market.key}_PriceFeed`,
  /** The Pyth contract of the Pyth modules (`StrictMockPyth` locally, `contractAt` on public networks). */
  pyth: "Pyth",
  /** A Pyth market's Chainlink reference feed (public networks; absent when the parameter is address(0)). */
  referenceFeed: (market: MarketDefinition) => `${market.key}_ReferenceFeed`,
} as const;

/** An artifact that OpenZeppelin ships in its npm package (`build/contracts`), compiled by OpenZeppelin. */
export function openZeppelinArtifact(name: string): Artifact {
  return require(`@openzeppelin/contracts/build/contracts/${name}.json`) as Artifact;
}

/**
 * The Pyth contract's interface as an Ignition artifact (ABI only, for `contractAt`): the ABI the Pyth SDK ships
 * (`@pythnetwork/pyth-sdk-solidity/abis/IPyth.json`), since this project compiles only `contracts/`.
 */
export function pythArtifact(): Artifact {
  const abi = require("@pythnetwork/pyth-sdk-solidity/abis/IPyth.json") as Artifact["abi"];
  return {
    _format: "hh-sol-artifact-1",
    contractName: "IPyth",
    sourceName: "@pythnetwork/pyth-sdk-solidity/IPyth.sol",
    abi,
    bytecode: "0x",
    deployedBytecode: "0x",
    linkReferences: {},
    deployedLinkReferences: {},
  };
}

export interface Core {
  engine: CallableContractFuture<string>;
  vault: CallableContractFuture<string>;
  liquidationLogic: ContractFuture<string>;
  liquidationPriceLogic: ContractFuture<string>;
  marketAdminLogic: ContractFuture<string>;
  lens: ContractFuture<string>;
  priceFeeds: CallableContractFuture<string>[];
  /** The order book wired to the engine (Pyth markets only: a Chainlink-priced engine keeps v1's atomic trades). */
  orderBook?: CallableContractFuture<string>;
  /** Every owner-only call of the setup, for ordering the ownership hand-over after them. */
  setup: Future[];
}

export interface PythMarketsOptions {
  /** The Pyth contract: `StrictMockPyth` locally, the network's Pyth (`contractAt`) elsewhere. */
  pyth: ContractFuture<string>;
  /** Per market, in `MARKETS` order: its Chainlink reference feed, or undefined for none (address(0)). */
  referenceFeeds: readonly (ContractFuture<string> | ModuleParameterRuntimeValue<string> | string | undefined)[];
  /** Default of `<market>RefHeartbeat` (the reference's heartbeat). */
  refHeartbeatDefault: bigint;
}

/**
 * The `PythFeedConfig` constructor argument of a market's `PythPriceFeed`, every field a parameter named
 * `<market.param><Field>` (e.g. `ethUsdPriceId`, `ethUsdMaxConfBps`) with the defaults above.
 */
export function pythFeedConfig(m: IgnitionModuleBuilder, market: MarketDefinition, options: PythMarketsOptions) {
  const i = MARKETS.indexOf(market);
  const param = (field: string) => `${market.param}${field}`;
  return {
    pyth: options.pyth,
    priceId: m.getParameter<string>(param("PriceId"), market.pythPriceId),
    maxConfBps: m.getParameter(param("MaxConfBps"), DEFAULT_PYTH_MAX_CONF_BPS),
    maxFutureSkew: m.getParameter(param("MaxFutureSkew"), DEFAULT_PYTH_MAX_FUTURE_SKEW),
    maxCacheAge: m.getParameter(param("MaxCacheAge"), DEFAULT_PYTH_MAX_CACHE_AGE),
    referenceFeed: options.referenceFeeds[i] ?? ZeroAddress,
    refMaxDevBps: m.getParameter(param("RefMaxDevBps"), DEFAULT_PYTH_REF_MAX_DEV_BPS),
    refHeartbeat: m.getParameter(param("RefHeartbeat"), options.refHeartbeatDefault),
    expo: m.getParameter(param("Expo"), DEFAULT_PYTH_EXPO),
  };
}

/**
 * Libraries, engine (owned by the deployer for the setup), vault, guardian and the markets. The caller provides the
 * collateral token and one aggregator per entry of `MARKETS`, and seeds the insurance fund.
 */
export function deployCore(
  m: IgnitionModuleBuilder,
  options: {
    token: CallableContractFuture<string>;
    /** One per entry of `MARKETS`, in that order (Chainlink adapters); ignored when `pyth` is given. */
    aggregators: readonly ContractFuture<string>[];
    /** Pyth markets: one `PythPriceFeed` per market on this Pyth contract instead of `ChainlinkPriceFeed`s. */
    pyth?: PythMarketsOptions;
    guardianDefault: string | AccountRuntimeValue;
    /** Default of `<market>Heartbeat`; `undefined` makes the parameter required. */
    heartbeatDefault: bigint | undefined;
  },
): Core {
  const { token, aggregators, guardianDefault, heartbeatDefault, pyth } = options;
  const deployer = m.getAccount(0);
  const liquidationLogic = m.library("LiquidationLogic", { id: FUTURE_IDS.liquidationLogic });
  const liquidationPriceLogic = m.library("LiquidationPriceLogic", { id: FUTURE_IDS.liquidationPriceLogic });
  const marketAdminLogic = m.library("MarketAdminLogic", { id: FUTURE_IDS.marketAdminLogic });

  const engine = m.contract(
    "PerpEngine",
    [token, deployer, m.getParameter("protocolParams", DEFAULT_PROTOCOL_PARAMS)],
    {
      id: FUTURE_IDS.engine,
      libraries: {
        LiquidationLogic: liquidationLogic,
        LiquidationPriceLogic: liquidationPriceLogic,
        MarketAdminLogic: marketAdminLogic,
      },
    },
  );
  const vault = m.contract(
    "LiquidityVault",
    [
      token,
      engine,
      m.getParameter("lpCooldown", DEFAULT_LP_COOLDOWN),
      m.getParameter("vaultName", DEFAULT_VAULT_NAME),
      m.getParameter("vaultSymbol", DEFAULT_VAULT_SYMBOL),
    ],
    { id: FUTURE_IDS.vault },
  );
  const setVault = m.call(engine, "setVault", [vault]);
  const setGuardian = m.call(engine, "setGuardian", [m.getParameter("guardian", guardianDefault)]);

  const sequencerUptimeFeed = m.getParameter("sequencerUptimeFeed", ZeroAddress);
  const gracePeriod = m.getParameter("sequencerGracePeriod", DEFAULT_SEQUENCER_GRACE_PERIOD);
  const priceFeeds: CallableContractFuture<string>[] = [];
  const setup: Future[] = [setVault, setGuardian];
  let previousListing: Future | undefined;

  // Pyth markets settle trades at prices published after the order (SPEC "Orders"): the order book is the engine's
  // only trade path once `setOrderBook` ran (the engine refuses a second one). It comes before the Pyth adapters,
  // each of which is built naming it: the book (and the engine) pay Pyth themselves and hand the parsed price to the
  // adapter (`acceptPrice`, the book's and its engine's alone), one value transfer per update instead of two. It is
  // set on the engine before any listing, so that each listing checks that its adapter names this book.
  let orderBook: CallableContractFuture<string> | undefined;
  let setOrderBook: Future | undefined;
  if (pyth !== undefined) {
    orderBook = m.contract(
      "OrderBook",
      [engine, m.getParameter("orderBookParams", DEFAULT_ORDER_BOOK_PARAMS), deployer],
      { id: FUTURE_IDS.orderBook },
    );
    setOrderBook = m.call(engine, "setOrderBook", [orderBook]);
    setup.push(setOrderBook);
  }
  MARKETS.forEach((market, i) => {
    const priceFeed =
      pyth === undefined
        ? m.contract(
            "ChainlinkPriceFeed",
            [
              aggregators[i],
              m.getParameter(`${market.param}Heartbeat`, heartbeatDefault),
              m.getParameter(`${market.param}MinAnswer`, DEFAULT_MIN_ANSWER),
              m.getParameter(`${market.param}MaxAnswer`, DEFAULT_MAX_ANSWER),
              sequencerUptimeFeed,
              gracePeriod,
            ],
            { id: FUTURE_IDS.priceFeed(market) },
          )
        : m.contract("PythPriceFeed", [pythFeedConfig(m, market, pyth), orderBook!], { id: FUTURE_IDS.priceFeed(market) });
    // listMarket reads the adapter's price (of any age: Ignition's confirmations between steps make it minutes old
    // on a slow chain); a Pyth adapter has none until an update is pushed: push `<market>PriceUpdate` (fetched just
    // before the deployment, scripts/lib/pyth-listing.ts) right before it, paying what the adapter asks (the excess
    // is refunded).
    const before: Future[] = previousListing === undefined ? (setOrderBook === undefined ? [] : [setOrderBook]) : [previousListing];
    if (pyth !== undefined) {
      const update = m.getParameter<string[]>(`${market.param}PriceUpdate`);
      const fee = m.staticCall(priceFeed, "getUpdateFee", [update], 0, { id: `${market.key}_PriceUpdateFee`, after: before });
      before.push(m.call(priceFeed, "updatePrice", [update], { id: `updatePrice_${market.key}`, value: fee }));
    }
    // Chained so that market ids follow the order of MARKETS.
    const listing = m.call(engine, "listMarket", [priceFeed, m.getParameter(`${market.param}Params`, market.params)], {
      id: `listMarket_${market.key}`,
      after: before,
    });
    priceFeeds.push(priceFeed);
    setup.push(listing);
    previousListing = listing;
  });

  // Read-only batch views; deployed after the setup so that the addresses before it do not depend on it.
  const lens = m.contract("PerpLens", [engine], { id: FUTURE_IDS.lens, after: setup });

  return { engine, vault, liquidationLogic, liquidationPriceLogic, marketAdminLogic, lens, priceFeeds, orderBook, setup };
}
