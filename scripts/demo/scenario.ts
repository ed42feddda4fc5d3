/**
 * The demo's script: who trades what, and the price path. Only inputs live here (orders, prices, durations); every
 * number the demo prints is read back from the chain or computed by the SDK.
 *
 * The book is long-heavy (a whale is long ETH at 2x), so longs pay funding to shorts and to the LP vault. The path
 * first squeezes the shorts (ETH +1.2 %, then BTC +3.5 %), then sells off in stages (ETH -1.25 %, -4.5 %, -8 %,
 * -10.5 %; BTC down to -9.5 %), then recovers a little, so that positions from 50x down to 10x fall below
 * maintenance one after the other, two of them past zero equity (bad debt for the insurance fund).
 */

export type MarketSymbol = "ETH-USD" | "BTC-USD";
export type Side = "long" | "short";

/** Hardhat's (and anvil's) unlocked default accounts: anvil has ten, so the cast fits in ten. */
/** The traders of the trigger-order chapter (orders.ts): accounts after those of `TRADERS`. */
export const ORDER_TRADERS = ["Heidi", "Ivan", "Judy", "Ken", "Liam"] as const;

export const ACCOUNTS = {
  /** Account #0 deploys (owner) and publishes the mock oracle prices. */
  operator: 0,
  lp: 1,
  keeper: 2,
  /** Traders are #3, #4, ... in the order of `TRADERS`. */
  firstTrader: 3,
} as const;

/** USDC the LP deposits into the vault. */
export const LP_DEPOSIT = "2000000";

/** One opening order, as a trader would place it: margin and leverage (the SDK sizes it). */
export interface SeedOrder {
  readonly market: MarketSymbol;
  readonly side: Side;
  readonly isolated: boolean;
  /** Leverage of the order: size = margin * leverage / index price. */
  readonly leverage: number;
  /** USD: moved into the position when isolated, the sizing basis when cross. */
  readonly margin: string;
  /**
   * USD added to an isolated margin on top (at 50x the initial-margin check counts the opening and closing fees,
   * so a position sized at exactly 50x its margin needs a little more).
   */
  readonly extraMargin?: string;
}

export interface TraderPlan {
  readonly name: string;
  /** USDC minted to the trader and deposited into the cross balance before trading. */
  readonly deposit: string;
  readonly orders: readonly SeedOrder[];
}

export const TRADERS: readonly TraderPlan[] = [
  {
    name: "Alice",
    deposit: "450000",
    orders: [
      { market: "ETH-USD", side: "long", isolated: false, leverage: 2, margin: "400000" },
      { market: "BTC-USD", side: "long", isolated: false, leverage: 5, margin: "50000" },
    ],
  },
  {
    name: "Bob",
    deposit: "14000",
    orders: [
      { market: "ETH-USD", side: "short", isolated: true, leverage: 10, margin: "10000" },
      { market: "BTC-USD", side: "short", isolated: true, leverage: 25, margin: "4000" },
    ],
  },
  {
    name: "Carol",
    deposit: "10100",
    orders: [
      { market: "ETH-USD", side: "long", isolated: true, leverage: 50, margin: "2000", extraMargin: "100" },
      { market: "BTC-USD", side: "long", isolated: true, leverage: 10, margin: "8000" },
    ],
  },
  {
    name: "Dave",
    deposit: "1575",
    orders: [{ market: "ETH-USD", side: "short", isolated: true, leverage: 50, margin: "1500", extraMargin: "75" }],
  },
  {
    name: "Erin",
    deposit: "6000",
    orders: [
      { market: "ETH-USD", side: "long", isolated: false, leverage: 25, margin: "4000" },
      { market: "BTC-USD", side: "long", isolated: false, leverage: 10, margin: "2000" },
    ],
  },
  {
    name: "Frank",
    deposit: "15000",
    orders: [
      { market: "BTC-USD", side: "long", isolated: true, leverage: 25, margin: "5000" },
      { market: "ETH-USD", side: "short", isolated: false, leverage: 5, margin: "10000" },
    ],
  },
  {
    name: "Grace",
    deposit: "30000",
    orders: [
      { market: "ETH-USD", side: "long", isolated: true, leverage: 5, margin: "10000" },
      { market: "BTC-USD", side: "short", isolated: true, leverage: 2, margin: "15000" },
    ],
  },
];

/** Oracle prices (USD) when the positions open. */
export const OPENING_PRICES: Readonly<Record<MarketSymbol, string>> = { "ETH-USD": "2000", "BTC-USD": "60000" };

/** Something a trader does during a step, after the new prices and the liquidations. */
export type TraderAction =
  | { readonly kind: "addMargin"; readonly trader: string; readonly market: MarketSymbol; readonly amount: string }
  | { readonly kind: "close"; readonly trader: string; readonly market: MarketSymbol };

export interface PriceStep {
  /** Simulated hours since the previous step. */
  readonly hours: number;
  readonly prices: Readonly<Record<MarketSymbol, string>>;
  readonly headline: string;
  readonly actions?: readonly TraderAction[];
}

export const PRICE_PATH: readonly PriceStep[] = [
  { hours: 2, prices: { "ETH-USD": "2024", "BTC-USD": "60450" }, headline: "ETH squeezes higher" },
  { hours: 4, prices: { "ETH-USD": "2046", "BTC-USD": "61200" }, headline: "the rally extends" },
  { hours: 3, prices: { "ETH-USD": "2031", "BTC-USD": "62100" }, headline: "BTC breaks out" },
  { hours: 5, prices: { "ETH-USD": "1975", "BTC-USD": "61400" }, headline: "ETH reverses" },
  { hours: 6, prices: { "ETH-USD": "1910", "BTC-USD": "58800" }, headline: "sell-off" },
  {
    hours: 4,
    prices: { "ETH-USD": "1840", "BTC-USD": "57000" },
    headline: "sell-off deepens",
    actions: [{ kind: "addMargin", trader: "Grace", market: "ETH-USD", amount: "5000" }],
  },
  { hours: 6, prices: { "ETH-USD": "1790", "BTC-USD": "54300" }, headline: "capitulation" },
  {
    hours: 4,
    prices: { "ETH-USD": "1860", "BTC-USD": "56100" },
    headline: "relief bounce",
    actions: [
      { kind: "close", trader: "Bob", market: "ETH-USD" },
      { kind: "close", trader: "Frank", market: "ETH-USD" },
      { kind: "close", trader: "Grace", market: "BTC-USD" },
    ],
  },
];
