/**
 * The engine's events over a block range, decoded into plain records: what the demo reports about liquidations and
 * what the summary adds up (realised PnL, fees, funding, penalties, bad debt, deposits).
 */
import type { PerpEngine } from "@perp/sdk/contracts";

interface Located {
  readonly txHash: string;
  readonly blockNumber: number;
  readonly logIndex: number;
}

/** `PositionModified`: one per trade. */
export interface TradeEvent extends Located {
  readonly trader: string;
  readonly marketId: number;
  readonly sizeDelta: bigint;
  readonly newSize: bigint;
  readonly fillPrice: bigint;
  readonly fee: bigint;
  readonly realizedPnl: bigint;
  /** Settled funding (negative: received). */
  readonly fundingPaid: bigint;
  readonly isolated: boolean;
}

/** `PositionClosedAtIndex`: a position closed by a liquidation (or deleveraging). */
export interface CloseAtIndexEvent extends Located {
  readonly trader: string;
  readonly marketId: number;
  readonly size: bigint;
  readonly price: bigint;
  readonly realizedPnl: bigint;
  readonly fundingPaid: bigint;
}

/** `Liquidated`: `marketId` is `CROSS` for a whole cross account. */
export interface LiquidationEvent extends Located {
  readonly trader: string;
  readonly marketId: bigint;
  readonly keeper: string;
  readonly equity: bigint;
  readonly notional: bigint;
  readonly keeperReward: bigint;
  readonly insurancePaid: bigint;
  readonly traderRemainder: bigint;
}

/** `BadDebtCovered`. */
export interface BadDebtEvent extends Located {
  readonly trader: string;
  readonly shortfall: bigint;
  readonly fromInsurance: bigint;
  readonly fromVault: bigint;
}

/** `Deposited` / `Withdrawn` (token units). */
export interface CashEvent extends Located {
  readonly account: string;
  readonly amount: bigint;
}

export interface EngineEvents {
  readonly trades: TradeEvent[];
  readonly closes: CloseAtIndexEvent[];
  readonly liquidations: LiquidationEvent[];
  readonly badDebts: BadDebtEvent[];
  readonly deposits: CashEvent[];
  readonly withdrawals: CashEvent[];
}

/** Whether two addresses are the same (case-insensitive). */
export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Market id of a cross-account liquidation (`type(uint256).max`). */
export const CROSS = 2n ** 256n - 1n;

function located(log: { transactionHash: string; blockNumber: number; index: number }): Located {
  return { txHash: log.transactionHash, blockNumber: log.blockNumber, logIndex: log.index };
}

function inChainOrder<T extends Located>(items: T[]): T[] {
  return items.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
}

/** Every event above in blocks [from, to], each list in chain order. */
export async function loadEvents(engine: PerpEngine, from: number, to: number): Promise<EngineEvents> {
  if (from > to) return { trades: [], closes: [], liquidations: [], badDebts: [], deposits: [], withdrawals: [] };
  const f = engine.filters;
  const [modified, closed, liquidated, badDebt, deposited, withdrawn] = await Promise.all([
    engine.queryFilter(f.PositionModified(), from, to),
    engine.queryFilter(f.PositionClosedAtIndex(), from, to),
    engine.queryFilter(f.Liquidated(), from, to),
    engine.queryFilter(f.BadDebtCovered(), from, to),
    engine.queryFilter(f.Deposited(), from, to),
    engine.queryFilter(f.Withdrawn(), from, to),
  ]);
  return {
    trades: inChainOrder(
      modified.map((log) => ({
        ...located(log),
        trader: log.args.trader,
        marketId: Number(log.args.marketId),
        sizeDelta: log.args.sizeDelta,
        newSize: log.args.newSize,
        fillPrice: log.args.fillPrice,
        fee: log.args.fee,
        realizedPnl: log.args.realizedPnl,
        fundingPaid: log.args.fundingPaid,
        isolated: log.args.isolated,
      })),
    ),
    closes: inChainOrder(
      closed.map((log) => ({
        ...located(log),
        trader: log.args.trader,
        marketId: Number(log.args.marketId),
        size: log.args.size,
        price: log.args.price,
        realizedPnl: log.args.realizedPnl,
        fundingPaid: log.args.fundingPaid,
      })),
    ),
    liquidations: inChainOrder(
      liquidated.map((log) => ({
        ...located(log),
        trader: log.args.trader,
        marketId: log.args.marketId,
        keeper: log.args.keeper,
        equity: log.args.equity,
        notional: log.args.notional,
        keeperReward: log.args.keeperReward,
        insurancePaid: log.args.insurancePaid,
        traderRemainder: log.args.traderRemainder,
      })),
    ),
    badDebts: inChainOrder(
      badDebt.map((log) => ({
        ...located(log),
        trader: log.args.trader,
        shortfall: log.args.shortfall,
        fromInsurance: log.args.fromInsurance,
        fromVault: log.args.fromVault,
      })),
    ),
    deposits: inChainOrder(deposited.map((log) => ({ ...located(log), account: log.args.account, amount: log.args.amount }))),
    withdrawals: inChainOrder(
      withdrawn.map((log) => ({ ...located(log), account: log.args.account, amount: log.args.amount })),
    ),
  };
}

/** A liquidation with what it closed and the bad debt it left, all from the same transaction. */
export interface LiquidationDetail {
  readonly event: LiquidationEvent;
  readonly closes: CloseAtIndexEvent[];
  readonly badDebt: BadDebtEvent | undefined;
}

/**
 * Groups each `Liquidated` event with the `PositionClosedAtIndex` and `BadDebtCovered` events the engine emitted for
 * the same unit just before it (same transaction and trader, after the previous `Liquidated` of that transaction).
 */
export function liquidationDetails(events: EngineEvents): LiquidationDetail[] {
  return events.liquidations.map((event) => {
    const previous = events.liquidations
      .filter((other) => other.txHash === event.txHash && other.logIndex < event.logIndex)
      .reduce((max, other) => Math.max(max, other.logIndex), -1);
    const between = <T extends Located & { trader: string }>(list: T[]) =>
      list.filter(
        (item) =>
          item.txHash === event.txHash &&
          item.trader === event.trader &&
          item.logIndex > previous &&
          item.logIndex < event.logIndex,
      );
    return { event, closes: between(events.closes), badDebt: between(events.badDebts)[0] };
  });
}
