/**
 * The records the client's reads, quotes and receipts return, and the requests it accepts.
 *
 * @packageDocumentation
 */
import type { TokenAmount, UsdAmount, Wad, WadAmount } from "./units.js";
import type { OrderBookParams } from "./model/orders.js";
import type { AccountSnapshot, MarketSnapshot, PositionData, ProtocolParams, TradeSimulation, Valuation } from "./valuation.js";

/** A market reference: its id, or its symbol ("ETH-USD", case-insensitive; "ETH" works too). */
export type MarketRef = number | string;
/**
 * A human decimal string ("1000.5") or an exact integer in the documented unit. Prefer the unit-checked
 * `UsdAmount` (WAD) and `TokenAmount` (token units) in new code: a branded `TokenUnits` is refused where a WAD is
 * expected and the other way round.
 */
export type Amount = string | bigint;
export type { TokenAmount, UsdAmount, WadAmount };

/** A listed market with its live index price. */
export interface MarketInfo extends MarketSnapshot {
  readonly symbol: string;
  readonly priceFeed: string;
  /** False when the oracle reverts (stale, out of band, sequencer down); `price` is then the last touched price. */
  readonly priceValid: boolean;
  /** 1 / initial margin ratio, e.g. 50 for 2 %. */
  readonly maxLeverage: bigint;
}

/** Everything a quote needs, read at one block. */
export interface Snapshot {
  /** Timestamp of the block read. */
  readonly now: bigint;
  readonly blockNumber: number;
  readonly markets: ReadonlyMap<number, MarketInfo>;
  readonly protocol: ProtocolParams;
  readonly account: AccountSnapshot;
  /** The order book's parameters (keeper fee, settlement window), when the deployment has one. */
  readonly orderBook?: OrderBookParams;
}

/** A position with its valuation. */
export interface PositionInfo extends PositionData {
  readonly marketId: number;
  readonly symbol: string;
  readonly isolated: boolean;
  readonly side: "long" | "short";
  readonly notional: bigint;
  /** PnL at the index price. */
  readonly unrealizedPnl: bigint;
  /** Funding owed since the last settlement (negative: receivable). */
  readonly accruedFunding: bigint;
  /** With `withFunding`: funding the position has settled so far (its trades' `fundingPaid`; negative: received). */
  readonly fundingPaid?: bigint;
  /** With `withFunding`: settled + accrued, what the position has paid (received, if negative) so far. */
  readonly fundingTotal?: bigint;
  /** Health of the position (isolated) or of the whole cross account (cross). */
  readonly health: Valuation;
  readonly liquidatable: boolean;
  /** Estimated liquidation price, exact to one oracle unit at the snapshot's time. */
  readonly liquidationPrice: bigint;
  /** |index - liquidation price| / index, WAD. */
  readonly liquidationDistance: bigint;
}

/** A trade described the way a trader thinks of it. */
export interface TradeRequest {
  readonly market: MarketRef;
  readonly side: "long" | "short";
  /** Size in units of the base asset ("2.5" or WAD). Alternatively give `margin` and `leverage`. */
  readonly size?: WadAmount;
  /** Margin in USD ("500" or WAD): moved into the position when isolated, the sizing basis when cross. */
  readonly margin?: UsdAmount;
  /** Leverage such as "10" or 10: size = margin * leverage / index price. */
  readonly leverage?: string | number;
  /** Isolated margin; default cross. */
  readonly isolated?: boolean;
  /** Extra margin (USD) to move into an existing isolated position with this trade. */
  readonly addMargin?: UsdAmount;
  /** Worst acceptable price move from the quoted fill, e.g. "0.5%" or a WAD ratio; default 0.5 %. */
  readonly slippage?: WadAmount;
  /** Stop-loss trigger to place with the trade ("1850" USD or WAD): the quote tells the loss there. */
  readonly stopLoss?: WadAmount;
  /** Take-profit trigger to place with the trade. */
  readonly takeProfit?: WadAmount;
}

/** What closing the whole position at a trigger would book, valued now (funding to date) with the same math as a quote. */
export interface TriggerQuote {
  readonly price: Wad;
  /** Price PnL of the close at the trigger's fill (the trigger moved by the close's own skew impact). */
  readonly realizedPnl: Wad;
  /** Trading fee of the close. */
  readonly fee: Wad;
  /** What the trader ends with relative to now: realised PnL - fee - funding owed (negative: a loss). */
  readonly net: Wad;
  /** |trigger - estimated liquidation price| / trigger (WAD ratio); 0 without a liquidation price. */
  readonly distanceToLiquidation: Wad;
  /** The position is liquidated before the price reaches the trigger: the order would never fire. */
  readonly beyondLiquidation: boolean;
}

/** A quote that mirrors what the engine would do now, and the `trade` arguments that enforce it. */
export interface TradeQuote {
  readonly marketId: number;
  readonly symbol: string;
  readonly sizeDelta: Wad;
  readonly marginDelta: Wad;
  readonly isolated: boolean;
  readonly indexPrice: Wad;
  readonly fillPrice: Wad;
  readonly fee: Wad;
  /** |sizeDelta| * fill. */
  readonly notional: Wad;
  readonly acceptablePrice: Wad;
  /** Funding rate per day before and after the trade. */
  readonly fundingRatePerDay: Wad;
  readonly fundingRatePerDayAfter: Wad;
  /** Estimated liquidation price after the trade (0 if none), and its distance from the index (WAD ratio). */
  readonly liquidationPrice: Wad;
  readonly liquidationDistance: Wad;
  /** The leverage the position would have: notional / equity. */
  readonly leverage: Wad;
  readonly simulation: TradeSimulation;
  /** Set when a check the engine runs would fail: the trade would revert with this error. */
  readonly rejection?: string;
  /** Keeper fee of the market order (USD WAD), escrowed from the cross balance at commit; 0 without an order book. */
  readonly keeperFee: Wad;
  /** Every keeper fee the request escrows: the market order's, plus one per stop-loss / take-profit leg. */
  readonly orderFees: Wad;
  /**
   * When the order settles, in seconds after its commit: at the first price published in [minDelay, maxDelay];
   * after `expiry` anyone may cancel it. Undefined without an order book.
   */
  readonly settlement?: { readonly minDelay: bigint; readonly maxDelay: bigint; readonly expiry: bigint };
  /** The stop-loss of the request, valued. */
  readonly stopLoss?: TriggerQuote;
  /** The take-profit of the request, valued. */
  readonly takeProfit?: TriggerQuote;
  /** Things the trader should know that do not make the engine revert (a stop beyond the liquidation price...). */
  readonly warnings: readonly string[];
}

/** A trade as the engine executed it: one `PositionModified` event. USD amounts, prices and sizes are WAD. */
export interface TradeExecution {
  readonly trader: string;
  readonly marketId: number;
  readonly sizeDelta: bigint;
  /** Size after the trade (0: closed). */
  readonly newSize: bigint;
  /** The last leg's fill price. */
  readonly fillPrice: bigint;
  /** Total fee of the trade. */
  readonly fee: bigint;
  readonly realizedPnl: bigint;
  /** Funding settled by the trade (negative: received). */
  readonly fundingPaid: bigint;
  readonly isolated: boolean;
  readonly fundingIndex: bigint;
  readonly blockNumber: number;
  readonly logIndex: number;
}

/** One liquidated unit: a `Liquidated` event. USD amounts are WAD. */
export interface LiquidationRecord {
  readonly trader: string;
  /** The isolated position's market, or `undefined` for a whole cross account. */
  readonly marketId: number | undefined;
  readonly keeper: string;
  /** Equity of the unit at liquidation (may be negative: bad debt). */
  readonly equity: bigint;
  readonly notional: bigint;
  /** Credited to the keeper's cross balance. */
  readonly keeperReward: bigint;
  readonly insurancePaid: bigint;
  /** Returned to the trader. */
  readonly traderRemainder: bigint;
  readonly blockNumber: number;
  readonly logIndex: number;
}

