import { zeroPadValue } from "ethers";

import { withPerpErrors, type NoSignerError, type PerpTransportError } from "../../errors.js";
import { accountOf, type ClientContext } from "../../client/context.js";
import {
  decodeLogs,
  eventsNamed,
  getLogsChunked,
  liquidationDetails,
  toLiquidationRecord,
  toTradeExecution,
  type PerpEvent,
} from "../../events/decode.js";
import { PerpEngine__factory } from "../../generated/index.js";
import { latestBlock } from "../../transport/latestBlock.js";
import type { LiquidationRecord, PositionInfo, TradeExecution } from "../../types.js";
import type { FundingPaid } from "./getFundingPaid.js";

export interface GetAccountHistoryParameters {
  /** Default: the signer. */
  readonly trader?: string;
  /** First block read (default: the deployment block). Give the last `toBlock` + 1 to read only what is new. */
  readonly fromBlock?: number;
  /** Last block read (default: latest). */
  readonly toBlock?: number;
  /** Blocks per `eth_getLogs` (default 10,000). */
  readonly chunk?: number;
}

/** Funding settled once: by a trade, or by a liquidation's or a deleveraging's close. */
export interface FundingSettlement {
  readonly marketId: number;
  /** USD WAD paid (negative: received). */
  readonly amount: bigint;
  readonly cause: "trade" | "liquidation" | "deleverage";
  readonly blockNumber: number;
  readonly logIndex: number;
  readonly txHash: string;
}

/** A position a liquidation (or deleveraging) closed (`PositionClosedAtIndex`). */
export interface ClosedAtLiquidation {
  readonly marketId: number;
  readonly size: bigint;
  /** The close's fill price. */
  readonly price: bigint;
  readonly realizedPnl: bigint;
  readonly fundingPaid: bigint;
}

/** A liquidation of the trader's unit (an isolated position or the whole cross account), with what it closed. */
export interface LiquidationHistoryEntry extends LiquidationRecord {
  readonly txHash: string;
  readonly closes: readonly ClosedAtLiquidation[];
  /** `BadDebtCovered.shortfall`, 0 when none. */
  readonly shortfall: bigint;
}

/** An isolated margin move (`MarginAdded` positive, `MarginRemoved` negative). */
export interface MarginMove {
  readonly marketId: number;
  readonly amount: bigint;
  readonly newMargin: bigint;
  readonly blockNumber: number;
  readonly logIndex: number;
}

/** A trader's history, in chain order (oldest first), and the last block it covers. */
export interface AccountHistory {
  readonly trades: readonly TradeExecution[];
  readonly funding: readonly FundingSettlement[];
  readonly liquidations: readonly LiquidationHistoryEntry[];
  readonly margin: readonly MarginMove[];
  readonly toBlock: number;
}
export type GetAccountHistoryReturnType = AccountHistory;
export type GetAccountHistoryErrorType = NoSignerError | PerpTransportError;

/** The engine events the history is built from. */
export const ACCOUNT_HISTORY_EVENTS = [
  "PositionModified",
  "PositionClosedAtIndex",
  "Liquidated",
  "BadDebtCovered",
  "MarginAdded",
  "MarginRemoved",
] as const satisfies readonly PerpEvent["name"][];

/**
 * The trader's trades, funding settlements (each trade's `fundingPaid`, each liquidation or deleveraging close's)
 * and liquidations (with the positions they closed and any bad debt), and isolated margin moves, read from the
 * engine's events with the SDK's one log reader (`getLogsChunked`, filtered by the trader's topic) and event decoder
 * (`decodeLogs`). Read incrementally: pass the previous result's
 * `toBlock + 1` as `fromBlock` and join the two with `mergeAccountHistory`.
 * @example
 * ```ts
 * const history = await getAccountHistory(client);
 * for (const f of history.funding) console.log(f.marketId, formatUsd(f.amount), f.cause);
 * ```
 */
export async function getAccountHistory(
  ctx: ClientContext,
  parameters: GetAccountHistoryParameters = {},
): Promise<GetAccountHistoryReturnType> {
  const trader = (await accountOf(ctx, parameters.trader)).toLowerCase();
  const toBlock = parameters.toBlock ?? (await withPerpErrors(() => latestBlock(ctx.provider))).number;
  const fromBlock = parameters.fromBlock ?? ctx.deployment.deploymentBlock;
  if (fromBlock > toBlock) return { trades: [], funding: [], liquidations: [], margin: [], toBlock };
  // Every event of the history names the trader as its first indexed argument: the node filters by it.
  const iface = PerpEngine__factory.createInterface();
  const logs = await getLogsChunked(ctx.provider, {
    address: ctx.deployment.contracts.PerpEngine,
    topics: [ACCOUNT_HISTORY_EVENTS.map((name) => iface.getEvent(name).topicHash), zeroPadValue(trader, 32)],
    fromBlock,
    toBlock,
    chunk: parameters.chunk,
  });
  return accountHistoryFromEvents(decodeLogs(logs, { engine: ctx.deployment.contracts.PerpEngine }), trader, toBlock);
}

/**
 * Builds the history of `trader` from decoded engine events (pure): `getAccountHistory` without the read.
 * @example accountHistoryFromEvents(decodeReceipt(receipt, deployment), trader, receipt.blockNumber)
 */
export function accountHistoryFromEvents(all: readonly PerpEvent[], trader: string, toBlock: number): AccountHistory {
  const who = trader.toLowerCase();
  const events = all.filter((e) => "trader" in e && typeof e.trader === "string" && e.trader.toLowerCase() === who);
  const trades = eventsNamed(events, "PositionModified").map(toTradeExecution);
  const details = liquidationDetails(events);
  const liquidatedCloses = new Set(details.flatMap((d) => d.closes.map((c) => `${c.txHash}:${c.logIndex}`)));
  const funding: FundingSettlement[] = [];
  for (const e of events) {
    if (e.name === "PositionModified" && e.fundingPaid !== 0n) {
      funding.push({ marketId: Number(e.marketId), amount: e.fundingPaid, cause: "trade", blockNumber: e.blockNumber, logIndex: e.logIndex, txHash: e.txHash });
    } else if (e.name === "PositionClosedAtIndex" && e.fundingPaid !== 0n) {
      funding.push({
        marketId: Number(e.marketId),
        amount: e.fundingPaid,
        cause: liquidatedCloses.has(`${e.txHash}:${e.logIndex}`) ? "liquidation" : "deleverage",
        blockNumber: e.blockNumber,
        logIndex: e.logIndex,
        txHash: e.txHash,
      });
    }
  }
  const liquidations: LiquidationHistoryEntry[] = details.map((d) => ({
    ...toLiquidationRecord(d.event),
    txHash: d.event.txHash,
    closes: d.closes.map((c) => ({ marketId: Number(c.marketId), size: c.size, price: c.price, realizedPnl: c.realizedPnl, fundingPaid: c.fundingPaid })),
    shortfall: d.badDebt?.shortfall ?? 0n,
  }));
  const margin: MarginMove[] = events.flatMap((e) =>
    e.name === "MarginAdded" || e.name === "MarginRemoved"
      ? [{ marketId: Number(e.marketId), amount: e.name === "MarginAdded" ? e.amount : -e.amount, newMargin: e.newMargin, blockNumber: e.blockNumber, logIndex: e.logIndex }]
      : [],
  );
  return { trades, funding, liquidations, margin, toBlock };
}

/**
 * Joins a history with the one read after it (`later.fromBlock = earlier.toBlock + 1`) (pure).
 * @example history = mergeAccountHistory(history, await getAccountHistory(client, { fromBlock: history.toBlock + 1 }))
 */
export function mergeAccountHistory(earlier: AccountHistory, later: AccountHistory): AccountHistory {
  return {
    trades: [...earlier.trades, ...later.trades],
    funding: [...earlier.funding, ...later.funding],
    liquidations: [...earlier.liquidations, ...later.liquidations],
    margin: [...earlier.margin, ...later.margin],
    toBlock: Math.max(earlier.toBlock, later.toBlock),
  };
}

/**
 * The funding each market's position has settled, from a history (pure): what `getFundingPaid` reads, without a
 * second scan. A position's count restarts when it closes (a trade to zero, or a liquidation or deleveraging close).
 * @example fundingPaidFromHistory(history).get(0)?.position
 */
export function fundingPaidFromHistory(history: AccountHistory): Map<number, FundingPaid> {
  const settlements = [
    ...history.trades.map((t) => ({ ...t, amount: t.fundingPaid, closes: t.newSize === 0n })),
    ...history.funding.filter((f) => f.cause !== "trade").map((f) => ({ ...f, closes: true })),
  ].sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
  const out = new Map<number, { position: bigint; lifetime: bigint }>();
  for (const s of settlements) {
    const entry = out.get(s.marketId) ?? { position: 0n, lifetime: 0n };
    entry.lifetime += s.amount;
    entry.position = s.closes ? 0n : entry.position + s.amount;
    out.set(s.marketId, entry);
  }
  return out;
}

/**
 * Positions with the funding they have settled (`fundingPaid`) and paid or received so far (`fundingTotal`,
 * settled + accrued), from a history (pure): `getPositions` with `withFunding`, without a second scan.
 * @example const rows = positionsWithFunding(await client.positions(trader, snap), history)
 */
export function positionsWithFunding(positions: readonly PositionInfo[], history: AccountHistory): PositionInfo[] {
  const paid = fundingPaidFromHistory(history);
  return positions.map((p) => {
    const settled = paid.get(p.marketId)?.position ?? 0n;
    return { ...p, fundingPaid: settled, fundingTotal: settled + p.accruedFunding };
  });
}
