/**
 * The engine's valuation, trade and liquidation-price logic, mirrored off-chain in bigint
 * (`MarketLib.sol`, `ValuationLib.sol`, `MarginLib.sol`, `PerpEngine._trade`, `LiquidationPriceLogic.sol`). Given the same state, price and time, every
 * function returns what the contracts compute, to the wei; the parity tests check it.
 *
 * @packageDocumentation
 */
import * as m from "./math.js";
import { MAX_CROSS_POSITIONS } from "./constants.js";

/** `MarketParams` (WAD ratios and amounts). */
export interface MarketParams {
  readonly skewScale: bigint;
  readonly initialMarginRatio: bigint;
  readonly maintenanceMarginRatio: bigint;
  readonly makerFeeRate: bigint;
  readonly takerFeeRate: bigint;
  readonly fundingFactor: bigint;
  readonly maxFundingRatePerDay: bigint;
  readonly maxLongOpenInterest: bigint;
  readonly maxShortOpenInterest: bigint;
  readonly minPositionNotional: bigint;
  readonly keeperRewardRatio: bigint;
  readonly insuranceShare: bigint;
  readonly maxPnlFactor: bigint;
}

/** `MarketState`. */
export interface MarketState {
  readonly longOpenInterest: bigint;
  readonly shortOpenInterest: bigint;
  readonly fundingIndex: bigint;
  readonly fundingRatePerDay: bigint;
  readonly lastFundingTime: bigint;
  readonly entryFundingSum: bigint;
  readonly lastPrice: bigint;
}

/** `ProtocolParams`. */
export interface ProtocolParams {
  readonly insuranceFeeShare: bigint;
  readonly vaultBackingRatio: bigint;
  readonly keeperRewardMin: bigint;
  readonly keeperRewardMax: bigint;
}

/** One market as the valuation needs it. */
export interface MarketSnapshot {
  readonly id: number;
  readonly params: MarketParams;
  readonly state: MarketState;
  readonly reduceOnly: boolean;
  /** The oracle's index price (WAD). */
  readonly price: bigint;
  /** One oracle unit in WAD (1e10 for an 8-decimal feed). */
  readonly priceUnit: bigint;
}

/** `Position`. */
export interface PositionData {
  readonly size: bigint;
  readonly entryPrice: bigint;
  readonly lastFundingIndex: bigint;
  readonly margin: bigint;
}

/** A trader's account: cross balance and every open position (cross and isolated) by market id. */
export interface AccountSnapshot {
  readonly crossBalance: bigint;
  /** Bit i set: the position in market i is cross. */
  readonly crossMarkets: bigint;
  readonly positions: ReadonlyMap<number, PositionData>;
}

/** Sums over the positions of a liquidatable unit, as `Valuation` (EngineState.sol). */
export interface Valuation {
  equity: bigint;
  equityAtClose: bigint;
  equityNoProfit: bigint;
  initialMargin: bigint;
  maintenanceMargin: bigint;
  notional: bigint;
  pnl: bigint;
  funding: bigint;
  count: number;
}

export const EMPTY_POSITION: PositionData = { size: 0n, entryPrice: 0n, lastFundingIndex: 0n, margin: 0n };

/**
 * Open interest skew of a market.
 * @example skewOf(market.state) // long OI - short OI
 */
export function skewOf(state: Pick<MarketState, "longOpenInterest" | "shortOpenInterest">): bigint {
  return state.longOpenInterest - state.shortOpenInterest;
}

/**
 * The market state with funding accrued to `now` at index price `price` (`MarketLib.accrueInMemory`).
 * @example accrue(market.state, market.price, BigInt(block.timestamp))
 */
export function accrue(state: MarketState, price: bigint, now: bigint): MarketState {
  const elapsed = now - state.lastFundingTime;
  if (elapsed <= 0n) return state;
  return {
    ...state,
    fundingIndex: m.accruedFundingIndex(state.fundingIndex, state.fundingRatePerDay, price, elapsed),
    lastFundingTime: now,
  };
}

/**
 * The funding rate per day the market would have with `skew` (`MarketLib.fundingRate`).
 * @example fundingRateFor(market.params, skewOf(market.state))
 */
export function fundingRateFor(params: MarketParams, skew: bigint): bigint {
  return m.fundingRatePerDay(skew, params.skewScale, params.fundingFactor, params.maxFundingRatePerDay);
}

function emptyValuation(collateral: bigint): Valuation {
  return {
    equity: collateral,
    equityAtClose: collateral,
    equityNoProfit: collateral,
    initialMargin: 0n,
    maintenanceMargin: 0n,
    notional: 0n,
    pnl: 0n,
    funding: 0n,
    count: 0,
  };
}

function addPosition(v: Valuation, pos: PositionData, params: MarketParams, state: MarketState, price: bigint): void {
  const funding = m.fundingOwedUp(pos.size, state.fundingIndex, pos.lastFundingIndex);
  const pnl = m.pnlDown(pos.size, pos.entryPrice, price);
  const value = pnl - funding;
  const closeFill = m.fillPrice(price, skewOf(state), -pos.size, params.skewScale);
  const valueAtClose = m.pnlDown(pos.size, pos.entryPrice, closeFill) - funding;
  v.equity += value;
  v.equityAtClose += valueAtClose;
  v.equityNoProfit += valueAtClose < 0n ? valueAtClose : 0n;
  v.initialMargin += m.requirementUp(pos.size, price, params.initialMarginRatio);
  v.maintenanceMargin += m.requirementUp(pos.size, price, params.maintenanceMarginRatio);
  v.notional += m.notionalDown(pos.size, price);
  v.pnl += pnl;
  v.funding += funding;
  v.count += 1;
}

/**
 * Values one isolated position at index price `price` and time `now` (`ValuationLib.valueIsolated`).
 * @example valueIsolated(position, market, market.price, now, protocol.keeperRewardMin).equity
 */
export function valueIsolated(
  pos: PositionData,
  market: MarketSnapshot,
  price: bigint,
  now: bigint,
  keeperRewardMin: bigint,
): Valuation {
  const v = emptyValuation(pos.margin);
  addPosition(v, pos, market.params, accrue(market.state, price, now), price);
  v.maintenanceMargin += keeperRewardMin;
  return v;
}

/**
 * Values a cross account: balance plus every cross position at its market's price (or `override.price` for
 * `override.marketId`), funding accrued to `now` (`ValuationLib.valueCross`).
 * @example valueCross(account, markets, now, protocol.keeperRewardMin).equity
 */
export function valueCross(
  account: AccountSnapshot,
  markets: ReadonlyMap<number, MarketSnapshot>,
  now: bigint,
  keeperRewardMin: bigint,
  override?: { readonly marketId: number; readonly price: bigint },
): Valuation {
  const v = emptyValuation(account.crossBalance);
  for (const id of crossMarketIds(account.crossMarkets)) {
    const market = requireMarket(markets, id);
    const pos = account.positions.get(id) ?? EMPTY_POSITION;
    const price = override && override.marketId === id ? override.price : market.price;
    addPosition(v, pos, market.params, accrue(market.state, price, now), price);
  }
  // The minimum keeper reward per position (`ValuationLib.valueCross`).
  v.maintenanceMargin += keeperRewardMin * BigInt(v.count);
  return v;
}

/**
 * Whether a valuation is below maintenance, each position valued at its close fill price
 * (`ValuationLib.isLiquidatable`).
 * @example isLiquidatable(valueCross(account, markets, now, kmin))
 */
export function isLiquidatable(v: Valuation): boolean {
  return v.count !== 0 && v.equityAtClose < v.maintenanceMargin;
}

/** The LP vault's ledgers a trade's checks read (`vaultCash`, `totalMarkNotional`, claims and deficit views). */
export interface VaultLedger {
  readonly vaultCash: bigint;
  /** `totalMarkNotional()`: USD WAD, a multiple of 1e12. */
  readonly markNotional: bigint;
  readonly totalProfitClaims: bigint;
  readonly deficit: bigint;
}

/**
 * The debit rule (`MarginLib.debitCross`, SPEC "Margin accounts"): the engine error a debit of `amount` from the
 * cross balance would raise, or undefined if it is allowed.
 * @example debitRejection(account, markets, now, kmin, wad(100)) // "DebitBelowInitialMargin"
 */
export function debitRejection(
  account: AccountSnapshot,
  markets: ReadonlyMap<number, MarketSnapshot>,
  now: bigint,
  keeperRewardMin: bigint,
  amount: bigint,
): string | undefined {
  if (amount === 0n) return "ZeroAmount";
  if (amount > account.crossBalance) return "InsufficientCrossBalance";
  if (account.crossMarkets === 0n) return undefined;
  const v = valueCross(account, markets, now, keeperRewardMin);
  if (isLiquidatable(v)) return "AccountLiquidatable";
  if (v.equityNoProfit - amount < v.initialMargin) return "DebitBelowInitialMargin";
  const lower = v.equity < v.equityAtClose ? v.equity : v.equityAtClose;
  if (lower - amount < v.maintenanceMargin) return "DebitBelowMaintenanceMargin";
  return undefined;
}

/**
 * A market's contribution to the mark notional the vault backs, USD with 6 decimals, rounded up
 * (`PerpMath.markNotionalUsd6Up`).
 */
export function markNotionalUsd6Up(state: Pick<MarketState, "longOpenInterest" | "shortOpenInterest">, price: bigint): bigint {
  return m.mulDivUp(state.longOpenInterest + state.shortOpenInterest, price, 10n ** 30n);
}

/**
 * Leverage of a valuation as the engine's health view reports it: notional / equity, rounded up; the maximum
 * uint256 when equity is not positive.
 * @example leverageOf(valueIsolated(pos, market, market.price, now, kmin)) // 10.05e18
 */
export function leverageOf(v: Valuation): bigint {
  return v.equity > 0n ? m.mulDivUp(v.notional, m.WAD, v.equity) : 2n ** 256n - 1n;
}

/**
 * Market ids whose bit is set, lowest first.
 * @example crossMarketIds(0b101n) // [0, 2]
 */
export function crossMarketIds(bits: bigint): number[] {
  const ids: number[] = [];
  for (let id = 0; bits > 0n; id++, bits >>= 1n) if (bits & 1n) ids.push(id);
  return ids;
}

function requireMarket(markets: ReadonlyMap<number, MarketSnapshot>, id: number): MarketSnapshot {
  const market = markets.get(id);
  if (!market) throw new Error(`market ${id} is missing from the snapshot`);
  return market;
}

/** The liquidatable unit holding a position: its valuation, given the position's market at `price`. */
function unitValuation(
  account: AccountSnapshot,
  markets: ReadonlyMap<number, MarketSnapshot>,
  marketId: number,
  price: bigint,
  now: bigint,
  keeperRewardMin: bigint,
): Valuation {
  const cross = (account.crossMarkets >> BigInt(marketId)) & 1n;
  if (cross) return valueCross(account, markets, now, keeperRewardMin, { marketId, price });
  const pos = account.positions.get(marketId) ?? EMPTY_POSITION;
  return valueIsolated(pos, requireMarket(markets, marketId), price, now, keeperRewardMin);
}

/**
 * The index price at which the position in `marketId` (isolated) or its cross account becomes liquidatable, other
 * markets and time held fixed; exact to one oracle unit: the price `LiquidationPriceLogic` finds (its search, from a sharper first guess). A long
 * is liquidatable at the returned price and below, a short at it and above. 0 for a long no positive price
 * liquidates; `2n ** 256n - 1n` for a long liquidatable at every price.
 * @example liquidationPrice(account, markets, 0, now, protocol.keeperRewardMin) // 1809844220100000000000n
 */
export function liquidationPrice(
  account: AccountSnapshot,
  markets: ReadonlyMap<number, MarketSnapshot>,
  marketId: number,
  now: bigint,
  keeperRewardMin: bigint,
): bigint {
  const pos = account.positions.get(marketId);
  if (!pos || pos.size === 0n) throw new Error(`no position in market ${marketId}`);
  const market = requireMarket(markets, marketId);
  const unit = market.priceUnit;
  const liquidatableAt = (price: bigint) =>
    isLiquidatable(unitValuation(account, markets, marketId, price, now, keeperRewardMin));

  // Linear estimate in oracle units (LiquidationPriceLogic._estimate).
  const current = unitValuation(account, markets, marketId, market.price, now, keeperRewardMin);
  const size = pos.size;
  const elapsed = now - market.state.lastFundingTime;
  const slope =
    size -
    (size * market.state.fundingRatePerDay * elapsed) / (m.SECONDS_PER_DAY * m.WAD) -
    (m.abs(size) * market.params.maintenanceMarginRatio) / m.WAD;
  let guess = 1n;
  if (slope !== 0n) {
    const estimate = market.price - ((current.equityAtClose - current.maintenanceMargin) * m.WAD) / slope;
    guess = estimate <= unit ? 1n : estimate / unit;
    // The engine's estimate leaves out the close fill's premium: often thousands of oracle units off, and every
    // doubling of the gallop and halving of the bisection below is a valuation. Equity at close minus maintenance
    // is linear in the price but for roundings, so a secant through the current price and the estimate lands
    // within an oracle unit or two. The search below is exact from any first guess (the predicate is monotone in
    // the price), so the answer is the engine's; only the number of valuations falls (about 50 to 6).
    if (guess > 1n && guess * unit !== market.price) {
      const atGuess = unitValuation(account, markets, marketId, guess * unit, now, keeperRewardMin);
      const f0 = current.equityAtClose - current.maintenanceMargin;
      const f1 = atGuess.equityAtClose - atGuess.maintenanceMargin;
      if (f1 !== f0) {
        const secant = guess * unit - (f1 * (guess * unit - market.price)) / (f1 - f0);
        if (secant > unit && secant < 2n ** 128n * unit) guess = secant / unit;
      }
    }
  }

  // Gallop and bisect (LiquidationPriceLogic._search).
  const isLong = size > 0n;
  const safe = (k: bigint) => liquidatableAt(k * unit) !== isLong;
  let lo: bigint;
  let hi: bigint;
  let step = 1n;
  if (safe(guess)) {
    hi = guess;
    lo = guess - 1n;
    while (lo !== 0n && safe(lo)) {
      hi = lo;
      step *= 2n;
      lo = lo > step ? lo - step : 0n;
    }
  } else {
    lo = guess;
    hi = guess + 1n;
    while (!safe(hi)) {
      if (hi > 2n ** 128n - 1n) return 2n ** 256n - 1n;
      lo = hi;
      step *= 2n;
      hi += step;
    }
  }
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (safe(mid)) hi = mid;
    else lo = mid;
  }
  return (isLong ? hi - 1n : hi) * unit;
}

/** One leg of a trade. */
export interface TradeLeg {
  readonly sizeDelta: bigint;
  readonly fillPrice: bigint;
  readonly fee: bigint;
}

/** What a trade does, as the engine would execute it now. */
export interface TradeSimulation {
  readonly legs: readonly TradeLeg[];
  /** The last leg's fill (what `PositionModified.fillPrice` reports). */
  readonly fillPrice: bigint;
  readonly fee: bigint;
  readonly realizedPnl: bigint;
  readonly fundingPaid: bigint;
  readonly position: PositionData;
  readonly account: AccountSnapshot;
  readonly market: MarketSnapshot;
  /** Every market with the traded one updated: feed it to `liquidationPrice` or `valueCross`. */
  readonly markets: ReadonlyMap<number, MarketSnapshot>;
  /** Whether the trade opens or grows risk (then the initial-margin check applies). */
  readonly addsRisk: boolean;
  /** What the vault could not pay of the trader's due: a new profit claim, kept out of the collateral. */
  readonly unpaid: bigint;
  /** The vault's ledgers after the trade, when they were given. */
  readonly vault?: VaultLedger;
  /**
   * The custom error the engine would revert with (the first of its checks that fails, in the engine's order;
   * slippage and oracle errors aside). `InsufficientVaultLiquidity` needs `vault`.
   */
  readonly rejection?: string;
}


/**
 * Simulates `trade(marketId, sizeDelta, acceptablePrice = any, marginDelta, isolated)` on a snapshot at time `now`
 * (`PerpEngine._trade`): funding settlement, each leg's fill and fee, realised PnL, the new position, account and
 * market, and the checks the engine runs (slippage aside). With `vault` (the engine's ledgers) it also books the
 * vault side: a due the vault cannot pay becomes a claim (`unpaid`), and the backing check
 * (`InsufficientVaultLiquidity`) applies. Pure: the inputs are not modified.
 * @example simulateTrade(account, markets, protocol, { marketId: 0, sizeDelta: 5n * WAD, marginDelta: 500n * WAD, isolated: true }, now)
 */
export function simulateTrade(
  account: AccountSnapshot,
  markets: ReadonlyMap<number, MarketSnapshot>,
  protocol: ProtocolParams,
  trade: { readonly marketId: number; readonly sizeDelta: bigint; readonly marginDelta: bigint; readonly isolated: boolean },
  now: bigint,
  vault?: VaultLedger,
): TradeSimulation {
  const market = requireMarket(markets, trade.marketId);
  const { params } = market;
  const price = market.price;
  let state = accrue(market.state, price, now);
  const before = account.positions.get(trade.marketId) ?? EMPTY_POSITION;
  const bit = 1n << BigInt(trade.marketId);
  let crossBalance = account.crossBalance;
  let crossMarkets = account.crossMarkets;
  let rejection: string | undefined;
  const isCross = (crossMarkets & bit) !== 0n;
  if (trade.sizeDelta === 0n) rejection = "ZeroAmount";
  if (before.size !== 0n && trade.isolated === isCross) rejection ??= "PositionModeMismatch";
  if (before.size === 0n && !trade.isolated && crossMarketIds(crossMarkets).length >= MAX_CROSS_POSITIONS) {
    rejection ??= "TooManyCrossPositions";
  }

  let collateral = trade.isolated ? before.margin : crossBalance;
  if (trade.marginDelta !== 0n) {
    if (!trade.isolated) rejection ??= "NotIsolated";
    rejection ??= debitRejection(account, markets, now, protocol.keeperRewardMin, trade.marginDelta);
    crossBalance -= trade.marginDelta;
    collateral += trade.marginDelta;
  }
  const fundingPaid = m.fundingOwedUp(before.size, state.fundingIndex, before.lastFundingIndex);
  const fundingToVault = m.fundingToVaultDown(before.size, state.fundingIndex, before.lastFundingIndex);
  collateral -= fundingPaid;
  let entryFundingSum =
    state.entryFundingSum - m.mulWadDown(before.size, before.entryPrice - before.lastFundingIndex);
  let size = before.size;
  let entryPrice = before.entryPrice;
  const lastFundingIndex = state.fundingIndex;

  let closeDelta = 0n;
  let openDelta = trade.sizeDelta;
  if (size !== 0n && size > 0n !== trade.sizeDelta > 0n) {
    closeDelta = m.abs(trade.sizeDelta) <= m.abs(size) ? trade.sizeDelta : -size;
    openDelta = trade.sizeDelta - closeDelta;
  }
  const legs: TradeLeg[] = [];
  let realizedPnl = 0n;
  let fee = 0n;
  let longOI = state.longOpenInterest;
  let shortOI = state.shortOpenInterest;
  if (closeDelta !== 0n) {
    const skew = longOI - shortOI;
    const fill = m.fillPrice(price, skew, closeDelta, params.skewScale);
    const legFee = m.tradeFee(skew, closeDelta, fill, params.makerFeeRate, params.takerFeeRate);
    const pnl = m.pnlDown(-closeDelta, entryPrice, fill);
    collateral += pnl - legFee;
    realizedPnl += pnl;
    fee += legFee;
    if (closeDelta < 0n) longOI += closeDelta;
    else shortOI -= closeDelta;
    size += closeDelta;
    if (size === 0n) entryPrice = 0n;
    legs.push({ sizeDelta: closeDelta, fillPrice: fill, fee: legFee });
  }
  if (openDelta !== 0n) {
    if (market.reduceOnly) rejection ??= "MarketReduceOnly";
    const skew = longOI - shortOI;
    const fill = m.fillPrice(price, skew, openDelta, params.skewScale);
    const legFee = m.tradeFee(skew, openDelta, fill, params.makerFeeRate, params.takerFeeRate);
    collateral -= legFee;
    fee += legFee;
    entryPrice = m.entryAfterIncrease(size, entryPrice, openDelta, fill);
    size += openDelta;
    if (openDelta > 0n) longOI += openDelta;
    else shortOI -= openDelta;
    if (longOI > params.maxLongOpenInterest || shortOI > params.maxShortOpenInterest) {
      rejection ??= "OpenInterestCapExceeded";
    }
    legs.push({ sizeDelta: openDelta, fillPrice: fill, fee: legFee });
  }
  entryFundingSum += m.mulWadDown(size, entryPrice - lastFundingIndex);
  state = {
    ...state,
    longOpenInterest: longOI,
    shortOpenInterest: shortOI,
    entryFundingSum,
    fundingRatePerDay: fundingRateFor(params, longOI - shortOI),
    lastPrice: price,
  };
  const addsRisk = openDelta !== 0n;

  // The vault side (`LedgerLib.bookTrade`): what it cannot pay is a claim; new risk needs free cash.
  let unpaid = 0n;
  let nextVault: VaultLedger | undefined;
  if (vault) {
    const feeToVault = fee - m.mulWadDown(fee, protocol.insuranceFeeShare);
    let cash = vault.vaultCash + feeToVault + fundingToVault - realizedPnl;
    if (cash < 0n) {
      unpaid = -cash;
      cash = 0n;
    }
    const markUsd6 =
      vault.markNotional / 10n ** 12n + markNotionalUsd6Up(state, price) - markNotionalUsd6Up(market.state, market.state.lastPrice);
    nextVault = {
      vaultCash: cash,
      markNotional: markUsd6 * 10n ** 12n,
      totalProfitClaims: vault.totalProfitClaims + unpaid,
      deficit: vault.deficit,
    };
    if (addsRisk) {
      const required = m.mulWadUp(markUsd6 * 10n ** 12n, protocol.vaultBackingRatio);
      if (required > cash - nextVault.totalProfitClaims - nextVault.deficit) rejection ??= "InsufficientVaultLiquidity";
    }
    collateral -= unpaid;
  }
  if (size !== 0n && m.notionalDown(size, price) < params.minPositionNotional) rejection ??= "PositionTooSmall";

  let margin = 0n;
  if (trade.isolated) {
    if (size === 0n) {
      if (collateral > 0n) crossBalance += collateral;
    } else {
      if (collateral < 0n) rejection ??= "TradeLeavesNegativeMargin";
      margin = collateral;
    }
  } else {
    crossBalance = collateral;
    if (size === 0n) {
      crossMarkets &= ~bit;
      if (crossMarkets === 0n && crossBalance < 0n) crossBalance = 0n;
    } else {
      crossMarkets |= bit;
    }
  }
  const position: PositionData = size === 0n ? EMPTY_POSITION : { size, entryPrice, lastFundingIndex, margin };
  const positions = new Map(account.positions);
  if (size === 0n) positions.delete(trade.marketId);
  else positions.set(trade.marketId, position);
  const nextAccount: AccountSnapshot = { crossBalance, crossMarkets, positions };
  const nextMarket: MarketSnapshot = { ...market, state };
  const nextMarkets = new Map(markets);
  nextMarkets.set(trade.marketId, nextMarket);

  if (addsRisk && rejection === undefined) {
    const v = trade.isolated
      ? valueIsolated(position, nextMarket, price, now, protocol.keeperRewardMin)
      : valueCross(nextAccount, nextMarkets, now, protocol.keeperRewardMin, { marketId: trade.marketId, price });
    const lower = v.equity < v.equityAtClose ? v.equity : v.equityAtClose;
    if (v.equityAtClose < v.initialMargin) rejection = "TradeBelowInitialMargin";
    else if (lower < v.maintenanceMargin) rejection = "TradeBelowMaintenanceMargin";
  }
  return {
    legs,
    fillPrice: legs[legs.length - 1]?.fillPrice ?? 0n,
    fee,
    realizedPnl,
    fundingPaid,
    position,
    account: nextAccount,
    market: nextMarket,
    markets: nextMarkets,
    addsRisk,
    unpaid,
    vault: nextVault,
    rejection,
  };
}
