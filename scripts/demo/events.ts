/**
 * The engine's events over a block range, decoded by the SDK (`getPerpEvents`) and grouped the way the demo reports
 * them: liquidations with what they closed, and the lists the summary adds up (realised PnL, fees, funding,
 * penalties, bad debt, deposits).
 */
import type { Provider } from "ethers";

import { eventsNamed, getPerpEvents, liquidationDetails, type Deployment, type PerpEvent, type PerpEventOf } from "@perp/sdk";
import { OrderBook__factory } from "@perp/sdk/contracts";

export { CROSS, liquidationDetails, type LiquidationDetail } from "@perp/sdk";

export interface EngineEvents {
  readonly all: readonly PerpEvent[];
  readonly trades: PerpEventOf<"PositionModified">[];
  readonly closes: PerpEventOf<"PositionClosedAtIndex">[];
  readonly liquidations: PerpEventOf<"Liquidated">[];
  readonly badDebts: PerpEventOf<"BadDebtCovered">[];
  /** `Deposited` / `Withdrawn` (token units). */
  readonly deposits: PerpEventOf<"Deposited">[];
  readonly withdrawals: PerpEventOf<"Withdrawn">[];
  /** The order book's `OrderExecuted`: the keeper fee (USD WAD) each executed order paid from its trader's escrow. */
  readonly orderFees: readonly { readonly trader: string; readonly keeper: string; readonly keeperFee: bigint }[];
}

/** Whether two addresses are the same (case-insensitive). */
export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The engine's events in blocks [from, to], each list in chain order. */
export async function loadEvents(provider: Provider, deployment: Deployment, from: number, to: number): Promise<EngineEvents> {
  const all = from > to ? [] : (await getPerpEvents(provider, deployment, { fromBlock: from, toBlock: to })).filter((e) => e.contract === "engine");
  return {
    all,
    trades: eventsNamed(all, "PositionModified"),
    closes: eventsNamed(all, "PositionClosedAtIndex"),
    liquidations: eventsNamed(all, "Liquidated"),
    badDebts: eventsNamed(all, "BadDebtCovered"),
    deposits: eventsNamed(all, "Deposited"),
    withdrawals: eventsNamed(all, "Withdrawn"),
    orderFees: await orderFees(provider, deployment, from, to),
  };
}

async function orderFees(provider: Provider, deployment: Deployment, from: number, to: number): Promise<EngineEvents["orderFees"]> {
  const bookAddress = deployment.contracts.OrderBook;
  if (bookAddress === undefined || from > to) return [];
  const book = OrderBook__factory.connect(bookAddress, provider);
  const executed = await book.queryFilter(book.filters.OrderExecuted(), from, to);
  return executed.map((e) => ({ trader: e.args.trader, keeper: e.args.keeper, keeperFee: e.args.keeperFee }));
}
