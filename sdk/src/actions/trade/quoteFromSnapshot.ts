import { DEFAULT_SLIPPAGE } from "../../constants.js";
import { InvalidRequestError } from "../../errors.js";
import * as m from "../../math.js";
import type { MarketInfo, MarketRef, Snapshot, TradeQuote, TradeRequest } from "../../types.js";
import { parseDecimal, parsePercent, toUsdWad, type Wad } from "../../units.js";
import { liquidationPrice, simulateTrade, valueCross, valueIsolated, type MarketSnapshot } from "../../valuation.js";
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

  const simulation = simulateTrade(s.account, s.markets, s.protocol, { marketId: market.id, sizeDelta, marginDelta, isolated }, s.now);
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
  };
}

