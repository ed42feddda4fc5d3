/**
 * The protocol's constants and `type(uint256).max` sentinels, named once. The same names are declared on
 * `IPerpEngine` (`CROSS`, `MAX_BATCH`, `MAX_CROSS_POSITIONS`...), so a log, a revert or a lens answer that carries one
 * reads the same in Solidity and TypeScript.
 *
 * @packageDocumentation
 */

/** `type(uint256).max`. */
export const MAX_UINT256 = (1n << 256n) - 1n;

/**
 * `Liquidated.marketId` (and `liquidate`'s error arguments) when a whole cross account was liquidated, not one
 * isolated position: `IPerpEngine.CROSS`.
 * @example event.marketId === CROSS ? "cross account" : `market ${event.marketId}`
 */
export const CROSS = MAX_UINT256;

/** `Health.leverage` when the unit's equity is zero or negative: leverage without bound. */
export const UNBOUNDED_LEVERAGE = MAX_UINT256;

/**
 * `liquidationPrice` of a long that every price liquidates (funding outruns any price). A position that no positive
 * price liquidates reports 0.
 */
export const LIQUIDATABLE_AT_ANY_PRICE = MAX_UINT256;

/** `ValuationLib.NO_OVERRIDE`: "value this market at its oracle price" in the engine's valuation helpers. */
export const NO_PRICE_OVERRIDE = MAX_UINT256;

/** 1e18: the fixed-point unit of every price, size, USD amount, ratio and rate. */
export const WAD_UNIT = 10n ** 18n;

/** USDC (6 decimals) to WAD: multiply token units by this (1e12). */
export const TOKEN_TO_WAD = 10n ** 12n;

/** Decimals of the collateral token (USDC). */
export const TOKEN_DECIMALS = 6;

/** `PerpEngine.MAX_BATCH`: entries of one `liquidateMany`. */
export const MAX_BATCH = 100;

/** `PerpEngine.MAX_CROSS_POSITIONS`: open cross positions per account. */
export const MAX_CROSS_POSITIONS = 16;

/** `MarketAdminLogic.MAX_MARKETS`: markets the engine can list (bit maps of 128 bits). */
export const MAX_MARKETS = 128;

/** Seconds in the funding rate's period: rates are per day. */
export const SECONDS_PER_DAY = 86_400n;

/** The slippage a quote allows when none is given: 0.5 % (WAD ratio). */
export const DEFAULT_SLIPPAGE = WAD_UNIT / 200n;

/** Gas limit = estimate x (100 + this) / 100 for every transaction the SDK sends (some nodes estimate tightly). */
export const DEFAULT_GAS_MARGIN_PERCENT = 25;

/** The RPC URL the SDK's node helpers and both apps fall back to: a local `hardhat node` or anvil. */
export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";
