import { DEFAULT_SLIPPAGE, LIQUIDATABLE_AT_ANY_PRICE } from "../../constants.js";
import { InvalidRequestError } from "../../errors.js";
import * as m from "../../math.js";
import type { MarketInfo, MarketRef, Snapshot, TradeQuote, TradeRequest, TriggerQuote } from "../../types.js";
import { formatPrice, parseDecimal, parsePercent, toUsdWad, type Wad } from "../../units.js";
import {
  liquidationPrice,
  simulateTrade,
  valueCross,
  valueIsolated,
  type MarketSnapshot,
  type TradeSimulation,
} from "../../valuation.js";
import { parsePrice } from "../orders/shared.js";
import { resolveMarket } from "../read/getMarket.js";
import { liquidationDistance } from "../read/getPositions.js";

export interface QuoteFromSnapshotParameters {
  readonly snapshot: Snapshot;
  readonly request: TradeRequest;
}
export type QuoteFromSnapshotReturnType = TradeQuote;
export type QuoteFromSnapshotErrorType = InvalidRequestError;

/**
 * Builds a `TradeQuote` from a snapshot (pure: no network): exact `trade` arguments (size, margin delta, acceptable
 * price from the worst leg and the slippage) and what the engine would do (fill, fee, funding, liquidation price,
 * leverage; `rejection` when a check the engine runs would fail). Throws `InvalidRequestError` for requests that are
 * wrong whatever the state (unknown market, size not positive, leverage above the maximum).
 * @example
 * ```ts
 * const snap = await client.snapshot();
 * const quote = quoteFromSnapshot(snap, { market: "ETH", side: "long", margin: "500", leverage: 10, isolated: true });
 * if (quote.rejection) console.log(quote.rejection);
 * ```
 */
export function quoteFromSnapshot(
  s: Snapshot,
  request: TradeRequest,
  resolve: (markets: Iterable<MarketInfo>, ref: MarketRef) => MarketInfo = resolveMarket,
): TradeQuote {
  const market = resolve(s.markets.values(), request.market);
  if (request.side !== "long" && request.side !== "short") {
    throw new InvalidRequestError(`side must be "long" or "short", not "${String(request.side)}"`);
  }
  const existing = s.account.positions.get(market.id);
  const existingIsolated = existing ? ((s.account.crossMarkets >> BigInt(market.id)) & 1n) === 0n : undefined;
  const isolated = request.isolated ?? existingIsolated ?? false;
  let size: bigint;
  let marginDelta = 0n;
  if (request.size !== undefined) {
    size = typeof request.size === "bigint" ? request.size : parseDecimal(request.size, 18);
    if (request.margin !== undefined && isolated) marginDelta = toUsdWad(request.margin);
  } else {
    if (request.margin === undefined || request.leverage === undefined) {
      throw new InvalidRequestError("give either a size, or a margin and a leverage");
    }
    const margin = toUsdWad(request.margin);
    const leverage = parseDecimal(String(request.leverage), 18);
    if (leverage <= 0n) throw new InvalidRequestError("leverage must be positive");
    if (leverage > market.maxLeverage * m.WAD) {
      throw new InvalidRequestError(
        `leverage ${String(request.leverage)}x is above ${market.symbol}'s maximum of ${market.maxLeverage.toString()}x`,
      );
    }
    if (market.price === 0n) throw new InvalidRequestError(`${market.symbol} has no price`);
    // size = margin * leverage / price, rounded down to the oracle's last useful digit of size.
    size = (((margin * leverage) / m.WAD) * m.WAD) / market.price;
    if (isolated) marginDelta = margin;
  }
  if (size <= 0n) throw new InvalidRequestError("the size must be positive");
  if (request.addMargin !== undefined) {
    if (!isolated) throw new InvalidRequestError("addMargin applies to isolated positions only");
    marginDelta += toUsdWad(request.addMargin);
  }
  const sizeDelta = request.side === "long" ? size : -size;
  const slippage =
    request.slippage === undefined ? DEFAULT_SLIPPAGE : typeof request.slippage === "bigint" ? request.slippage : parsePercent(request.slippage);
  if (slippage < 0n || slippage >= m.WAD) throw new InvalidRequestError("slippage must be between 0 % and 100 %");

  const stopLoss = request.stopLoss === undefined ? undefined : parsePrice(request.stopLoss, "the stop-loss price");
  const takeProfit = request.takeProfit === undefined ? undefined : parsePrice(request.takeProfit, "the take-profit price");
  // With an order book, the keeper fees leave the cross balance (escrow) before the order executes.
  const keeperFee = s.orderBook?.keeperFee ?? 0n;
  const legs = (stopLoss === undefined ? 0n : 1n) + (takeProfit === undefined ? 0n : 1n);
  if (legs > 0n && !s.orderBook) throw new InvalidRequestError("stop-loss and take-profit orders need an order book (v2 deployment)");
  const orderFees = keeperFee * (1n + legs);
  const account = orderFees === 0n ? s.account : { ...s.account, crossBalance: s.account.crossBalance - orderFees };
  const simulation = simulateTrade(account, s.markets, s.protocol, { marketId: market.id, sizeDelta, marginDelta, isolated }, s.now);
  // Each leg is checked against the same acceptable price: bound it by the worst leg.
  const fills = simulation.legs.map((leg) => leg.fillPrice);
  const worst = sizeDelta > 0n ? fills.reduce((a, b) => (a > b ? a : b)) : fills.reduce((a, b) => (a < b ? a : b));
  const acceptablePrice =
    sizeDelta > 0n ? m.mulDivUp(worst, m.WAD + slippage, m.WAD) : m.mulDivDown(worst, m.WAD - slippage, m.WAD);
  const position = simulation.position;
  let liqPrice = 0n;
  let leverage = 0n;
  if (position.size !== 0n && simulation.rejection === undefined) {
    const nextMarkets = simulation.markets as ReadonlyMap<number, MarketSnapshot>;
    liqPrice = liquidationPrice(simulation.account, nextMarkets, market.id, s.now, s.protocol.keeperRewardMin);
    const v = isolated
      ? valueIsolated(position, simulation.market, market.price, s.now, 0n)
      : valueCross(simulation.account, nextMarkets, s.now, 0n);
    leverage = v.equity > 0n ? m.mulDivDown(v.notional, m.WAD, v.equity) : 0n;
  }
  const warnings: string[] = [];
  const trigger = (kind: "stop-loss" | "take-profit", p: bigint | undefined): TriggerQuote | undefined => {
    if (p === undefined) return undefined;
    if (position.size === 0n || simulation.rejection !== undefined) {
      if (position.size === 0n) warnings.push(`the trade leaves no position: the ${kind} would be void`);
      return undefined;
    }
    const long = position.size > 0n;
    // A long's stop sits below the index and its take-profit above (a short's the other way round).
    const below = (kind === "stop-loss") === long;
    if (below ? p >= market.price : p <= market.price) {
      warnings.push(
        `the ${kind} at ${formatPrice(p)} is ${below ? "at or above" : "at or below"} the index ${formatPrice(market.price)}: ` +
          "it would trigger at once (the order book refuses it: use a market order)",
      );
    }
    const valued = valueTrigger(simulation, s, market.id, isolated, p);
    const hasLiq = liqPrice !== 0n && liqPrice < LIQUIDATABLE_AT_ANY_PRICE;
    const beyondLiquidation = kind === "stop-loss" && hasLiq && (long ? p <= liqPrice : p >= liqPrice);
    if (beyondLiquidation) {
      warnings.push(
        `the stop-loss at ${formatPrice(p)} is beyond the estimated liquidation price ${formatPrice(liqPrice)}: ` +
          "the position would be liquidated first and the stop would never fire",
      );
    }
    return {
      price: p as Wad,
      ...valued,
      distanceToLiquidation: (hasLiq ? liquidationDistance(p, liqPrice) : 0n) as Wad,
      beyondLiquidation,
    };
  };
  const stopLossQuote = trigger("stop-loss", stopLoss);
  const takeProfitQuote = trigger("take-profit", takeProfit);
  return {
    marketId: market.id,
    symbol: market.symbol,
    sizeDelta: sizeDelta as Wad,
    marginDelta: marginDelta as Wad,
    isolated,
    indexPrice: market.price as Wad,
    fillPrice: simulation.fillPrice as Wad,
    fee: simulation.fee as Wad,
    notional: m.notionalDown(sizeDelta, simulation.fillPrice) as Wad,
    acceptablePrice: acceptablePrice as Wad,
    fundingRatePerDay: market.state.fundingRatePerDay as Wad,
    fundingRatePerDayAfter: simulation.market.state.fundingRatePerDay as Wad,
    liquidationPrice: liqPrice as Wad,
    liquidationDistance: liquidationDistance(market.price, liqPrice) as Wad,
    leverage: leverage as Wad,
    simulation,
    rejection: simulation.rejection ?? (market.priceValid ? undefined : "oracle price unavailable"),
    keeperFee: keeperFee as Wad,
    orderFees: orderFees as Wad,
    settlement: s.orderBook
      ? { minDelay: s.orderBook.minSettleDelay, maxDelay: s.orderBook.maxSettleDelay, expiry: s.orderBook.marketOrderExpiry }
      : undefined,
    ...(stopLossQuote ? { stopLoss: stopLossQuote } : {}),
    ...(takeProfitQuote ? { takeProfit: takeProfitQuote } : {}),
    warnings,
  };
}

/**
 * What closing the whole position a simulated trade leaves would book if the index were `price` at the snapshot's
 * time: the same `simulateTrade` as every quote, with the market's price replaced.
 */
function valueTrigger(
  simulation: TradeSimulation,
  s: Snapshot,
  marketId: number,
  isolated: boolean,
  price: bigint,
): Pick<TriggerQuote, "realizedPnl" | "fee" | "net"> {
  const markets = new Map(simulation.markets);
  markets.set(marketId, { ...simulation.market, price });
  const close = simulateTrade(
    simulation.account,
    markets,
    s.protocol,
    { marketId, sizeDelta: -simulation.position.size, marginDelta: 0n, isolated },
    s.now,
  );
  return {
    realizedPnl: close.realizedPnl as Wad,
    fee: close.fee as Wad,
    net: (close.realizedPnl - close.fee - close.fundingPaid) as Wad,
  };
}

