/**
 * A quote the engine would reject, as one line: the rule and its numbers, in the words the SDK uses for the same
 * revert (the engine's error is encoded with the numbers from the quote's simulation, then decoded by the SDK).
 */
import {
  decodeRevertData,
  math,
  valueCross,
  valueIsolated,
  type PerpClient,
  type Snapshot,
  type TradeQuote,
} from "@perp/sdk";

/** The arguments of the engine's error for `quote.rejection`, from the simulation (undefined if not known here). */
function errorArgs(quote: TradeQuote, snap: Snapshot): unknown[] | undefined {
  const sim = quote.simulation;
  const { params, state } = sim.market;
  const id = quote.marketId;
  switch (quote.rejection) {
    case "PositionModeMismatch":
      // The held position's mode is the opposite of the one asked for.
      return [id, !quote.isolated];
    case "NotIsolated":
    case "MarketReduceOnly":
      return [id];
    case "InsufficientCrossBalance":
      return [snap.account.crossBalance, quote.marginDelta];
    case "OpenInterestCapExceeded": {
      const isLong = quote.sizeDelta > 0n;
      return isLong
        ? [id, true, state.longOpenInterest, params.maxLongOpenInterest]
        : [id, false, state.shortOpenInterest, params.maxShortOpenInterest];
    }
    case "PositionTooSmall":
      return [math.notionalDown(math.abs(sim.position.size), quote.indexPrice), params.minPositionNotional];
    case "TradeLeavesNegativeMargin":
      return [id, sim.position.margin];
    case "TradeBelowInitialMargin":
    case "TradeBelowMaintenanceMargin": {
      const v = quote.isolated
        ? valueIsolated(sim.position, sim.market, quote.indexPrice, snap.now, snap.protocol.keeperRewardMin)
        : valueCross(sim.account, sim.markets, snap.now, snap.protocol.keeperRewardMin, { marketId: id, price: quote.indexPrice });
      if (quote.rejection === "TradeBelowInitialMargin") return [v.equityAtClose, v.initialMargin];
      return [v.equity < v.equityAtClose ? v.equity : v.equityAtClose, v.maintenanceMargin];
    }
    default:
      return undefined;
  }
}

/** "the engine would reject this trade: OpenInterestCapExceeded: market 0 long open interest would be …". */
export function rejectionLine(client: PerpClient, quote: TradeQuote, snap: Snapshot): string {
  const args = errorArgs(quote, snap);
  let reason = quote.rejection ?? "";
  if (args !== undefined) {
    const data = client.engine.interface.encodeErrorResult(reason, args);
    reason = decodeRevertData(data)?.message ?? reason;
  }
  return `the engine would reject this trade: ${reason}`;
}
