import { CROSS } from "../../constants.js";
import { PerpError, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import * as m from "../../math.js";
import type { ClientContext } from "../../client/context.js";
import type { PositionInfo, Snapshot } from "../../types.js";
import { isLiquidatable, liquidationPrice, valueCross, valueIsolated, type PositionData } from "../../valuation.js";
import { getFundingPaid } from "./getFundingPaid.js";
import { getSnapshot } from "./getSnapshot.js";

export interface GetPositionsParameters {
  /** Default: the signer. */
  readonly trader?: string;
  /** Value this snapshot instead of reading a new one. */
  readonly snapshot?: Snapshot;
  /**
   * Also scan the trader's events for the funding each position has settled (`getFundingPaid`), to report what it
   * has paid or received so far (`fundingPaid`, `fundingTotal`). One log scan from the deployment block.
   */
  readonly withFunding?: boolean;
}
export type GetPositionsReturnType = PositionInfo[];
export type GetPositionsErrorType = NoSignerError | PerpContractError | PerpTransportError;

/**
 * The trader's open positions with PnL, funding owed, health and the estimated liquidation price (exact to one
 * oracle unit) and its distance from the index.
 * @example
 * ```ts
 * for (const p of await getPositions(client)) console.log(p.symbol, p.side, formatPrice(p.liquidationPrice));
 * ```
 */
export async function getPositions(ctx: ClientContext, parameters: GetPositionsParameters = {}): Promise<GetPositionsReturnType> {
  const s = parameters.snapshot ?? (await getSnapshot(ctx, { trader: parameters.trader }));
  const positions = [...s.account.positions.entries()].map(([marketId, pos]) => describePosition(s, marketId, pos));
  if (!parameters.withFunding || positions.length === 0) return positions;
  const paid = await getFundingPaid(ctx, { trader: parameters.trader, toBlock: s.blockNumber });
  return positions.map((p) => {
    const settled = paid.get(p.marketId)?.position ?? 0n;
    return { ...p, fundingPaid: settled, fundingTotal: settled + p.accruedFunding };
  });
}

/**
 * Describes one position of a snapshot (pure): valuation, health and liquidation price.
 * @example describePosition(snap, 0, snap.account.positions.get(0)!)
 */
export function describePosition(s: Snapshot, marketId: number, pos: PositionData): PositionInfo {
  const market = s.markets.get(marketId);
  if (!market) throw new PerpError(`market ${marketId} missing from the snapshot`);
  const isolated = ((s.account.crossMarkets >> BigInt(marketId)) & 1n) === 0n;
  const own = valueIsolated(pos, market, market.price, s.now, 0n);
  const health = isolated
    ? valueIsolated(pos, market, market.price, s.now, s.protocol.keeperRewardMin)
    : valueCross(s.account, s.markets, s.now, s.protocol.keeperRewardMin);
  const liqPrice = liquidationPrice(s.account, s.markets, marketId, s.now, s.protocol.keeperRewardMin);
  return {
    ...pos,
    marketId,
    symbol: market.symbol,
    isolated,
    side: pos.size > 0n ? "long" : "short",
    notional: own.notional,
    unrealizedPnl: own.pnl,
    accruedFunding: own.funding,
    health,
    liquidatable: isLiquidatable(health),
    liquidationPrice: liqPrice,
    liquidationDistance: liquidationDistance(market.price, liqPrice),
  };
}

/**
 * |price - liquidation price| / price as a WAD ratio; 0 when no price (or every price) liquidates.
 * @example liquidationDistance(2000n * WAD, 1800n * WAD) // 0.1e18
 */
export function liquidationDistance(price: bigint, liqPrice: bigint): bigint {
  if (liqPrice === 0n || liqPrice >= CROSS || price === 0n) return 0n;
  return m.mulDivDown(m.abs(price - liqPrice), m.WAD, price);
}
