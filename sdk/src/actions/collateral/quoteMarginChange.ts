import { InvalidRequestError } from "../../errors.js";
import { explainContractError } from "../../errors/explain.js";
import type { ContractErrorName } from "../../errors/abi.js";
import type { MarketInfo, MarketRef, Snapshot } from "../../types.js";
import { toUsdWad, type UsdAmount, type Wad, type WadAmount } from "../../units.js";
import {
  isLiquidatable,
  leverageOf,
  liquidationPrice,
  valueCross,
  valueIsolated,
  type AccountSnapshot,
  type MarketSnapshot,
  type Valuation,
} from "../../valuation.js";
import { parsePrice } from "../orders/shared.js";
import { resolveMarket } from "../read/getMarket.js";
import { liquidationDistance } from "../read/getPositions.js";

/** A margin move on an isolated position: `add` debits the cross balance, `remove` credits it. */
export interface MarginChangeRequest {
  readonly market: MarketRef;
  readonly action: "add" | "remove";
  /** USD: a decimal string ("100") or WAD. */
  readonly amount: UsdAmount;
  /**
   * The index price the engine will read (USD, "1950.5" or WAD). Default: the snapshot's. A removal sent with a
   * price update reads the update's price: pass it here so that the preview matches the chain.
   */
  readonly price?: WadAmount;
  /** The block time the change will execute at (default: the snapshot's); funding accrues up to it. */
  readonly now?: bigint;
  /** The trader's address, for the words of `AccountLiquidatable` (default "this account"). */
  readonly trader?: string;
}

/** What a margin change would do, valued as the engine values it. */
export interface MarginChangeQuote {
  readonly marketId: number;
  readonly symbol: string;
  readonly action: "add" | "remove";
  readonly amount: Wad;
  /** The index price the quote values at. */
  readonly indexPrice: Wad;
  readonly marginBefore: Wad;
  /** The isolated margin after the change. */
  readonly margin: Wad;
  /** The cross balance after the change. */
  readonly crossBalance: Wad;
  readonly liquidationPriceBefore: Wad;
  /** What the engine's `liquidationPrice` view returns after the change (exact to one oracle unit, to the wei). */
  readonly liquidationPrice: Wad;
  /** |index - new liquidation price| / index, WAD. */
  readonly liquidationDistance: Wad;
  readonly leverageBefore: Wad;
  /** Notional / equity after the change (WAD, rounded up as the engine's health view; max uint256 when equity is not positive). */
  readonly leverage: Wad;
  /** The position's health after the change (maintenance includes the minimum keeper reward). */
  readonly health: Valuation;
  /**
   * The custom error the engine would revert with, e.g. "RemovalBelowInitialMargin"; undefined when the change
   * passes. Its numbers are in `rejectionArgs`, its sentence in `explanation`.
   */
  readonly rejection?: ContractErrorName;
  readonly rejectionArgs?: Readonly<Record<string, unknown>>;
  /** The rejection in words with its numbers: the same text a decoded revert carries (`PerpContractError.message`). */
  readonly explanation?: string;
}

/**
 * Quotes adding or removing isolated margin from a snapshot (pure: no network): the new margin, liquidation price
 * and distance, leverage and health, and the engine's rejection in words when a margin rule would refuse it
 * (`RemovalExceedsMargin`, `RemovalBelowInitialMargin`, `RemovalBelowMaintenanceMargin`; for an add, the cross
 * balance's debit rule). It values the position exactly as `PerpEngine.addMargin` / `LiquidationLogic.removeMargin`
 * and `LiquidationPriceLogic` do: give the `price` and `now` the chain will use (default: the snapshot's).
 * Throws `InvalidRequestError` for an unknown market, no isolated position there, an action other than add/remove,
 * or an amount that is not positive.
 * @example
 * ```ts
 * const q = quoteMarginChange(await client.snapshot(), { market: "BTC", action: "remove", amount: "20" });
 * if (q.explanation) console.log(q.explanation); else console.log(formatPrice(q.liquidationPrice));
 * ```
 */
export function quoteMarginChange(
  s: Snapshot,
  request: MarginChangeRequest,
  resolve: (markets: Iterable<MarketInfo>, ref: MarketRef) => MarketInfo = resolveMarket,
): MarginChangeQuote {
  const info = resolve(s.markets.values(), request.market);
  if (request.action !== "add" && request.action !== "remove") {
    throw new InvalidRequestError(`action must be "add" or "remove", not "${String(request.action)}"`);
  }
  const amount = toUsdWad(request.amount);
  const price = request.price === undefined ? info.price : parsePrice(request.price, "the price");
  const now = request.now ?? s.now;
  const kmin = s.protocol.keeperRewardMin;
  const markets = new Map<number, MarketSnapshot>(s.markets);
  markets.set(info.id, { ...info, price });
  const pos = s.account.positions.get(info.id);
  const isolated = ((s.account.crossMarkets >> BigInt(info.id)) & 1n) === 0n;
  const fail = (name: ContractErrorName, args: Record<string, unknown>) => ({
    rejection: name,
    rejectionArgs: args,
    explanation: `${name}: ${explainContractError(name, args)}`,
  });
  let rejection: ReturnType<typeof fail> | undefined;
  if (!pos || pos.size === 0n) throw new InvalidRequestError(`no position in ${info.symbol}`);
  if (!isolated) throw new InvalidRequestError(`the ${info.symbol} position is cross: margin moves apply to isolated positions`);

  const before = valueIsolated(pos, markets.get(info.id)!, price, now, kmin);
  if (request.action === "remove") {
    // LiquidationLogic.removeMargin, then MarginLib.checkRemoval, in the engine's order.
    if (amount > pos.margin) rejection = fail("RemovalExceedsMargin", { marketId: BigInt(info.id), margin: pos.margin, amount });
    else if (before.equityNoProfit - amount < before.initialMargin) {
      rejection = fail("RemovalBelowInitialMargin", {
        marketId: BigInt(info.id),
        equityNoProfit: before.equityNoProfit - amount,
        initialMargin: before.initialMargin,
      });
    } else {
      const lower = before.equity < before.equityAtClose ? before.equity : before.equityAtClose;
      if (lower - amount < before.maintenanceMargin) {
        rejection = fail("RemovalBelowMaintenanceMargin", {
          marketId: BigInt(info.id),
          equity: lower - amount,
          maintenanceMargin: before.maintenanceMargin,
        });
      }
    }
  } else {
    // PerpEngine.addMargin: MarginLib.debitCross on the cross balance.
    const account = s.account;
    if (amount > account.crossBalance) rejection = fail("InsufficientCrossBalance", { balance: account.crossBalance, amount });
    else if (account.crossMarkets !== 0n) {
      const v = valueCross(account, markets, now, kmin);
      const lower = v.equity < v.equityAtClose ? v.equity : v.equityAtClose;
      if (isLiquidatable(v)) rejection = fail("AccountLiquidatable", { trader: request.trader ?? "this account", equity: v.equityAtClose, maintenanceMargin: v.maintenanceMargin });
      else if (v.equityNoProfit - amount < v.initialMargin) {
        rejection = fail("DebitBelowInitialMargin", { equityNoProfit: v.equityNoProfit - amount, initialMargin: v.initialMargin });
      } else if (lower - amount < v.maintenanceMargin) {
        rejection = fail("DebitBelowMaintenanceMargin", { equity: lower - amount, maintenanceMargin: v.maintenanceMargin });
      }
    }
  }

  // A refused change changes nothing: the "after" fields then equal the "before" ones.
  const delta = rejection ? 0n : request.action === "add" ? amount : -amount;
  const position = { ...pos, margin: pos.margin + delta };
  const positions = new Map(s.account.positions);
  positions.set(info.id, position);
  const after: AccountSnapshot = { ...s.account, crossBalance: s.account.crossBalance - delta, positions };
  const liqBefore = liquidationPrice(s.account, markets, info.id, now, kmin);
  const liq = liquidationPrice(after, markets, info.id, now, kmin);
  const market = markets.get(info.id)!;
  return {
    marketId: info.id,
    symbol: info.symbol,
    action: request.action,
    amount: amount as Wad,
    indexPrice: price as Wad,
    marginBefore: pos.margin as Wad,
    margin: position.margin as Wad,
    crossBalance: after.crossBalance as Wad,
    liquidationPriceBefore: liqBefore as Wad,
    liquidationPrice: liq as Wad,
    liquidationDistance: liquidationDistance(price, liq) as Wad,
    leverageBefore: leverageOf(valueIsolated(pos, market, price, now, 0n)) as Wad,
    leverage: leverageOf(valueIsolated(position, market, price, now, 0n)) as Wad,
    health: valueIsolated(position, market, price, now, kmin),
    ...(rejection ?? {}),
  };
}
