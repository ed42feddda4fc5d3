import { withPerpErrors, type InvalidRequestError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import { latestBlock } from "../../transport/latestBlock.js";
import type { MarketRef } from "../../types.js";
import { resolveMarket } from "../read/getMarket.js";
import { getMarkets } from "../read/getMarkets.js";
import { deleverageCheck } from "./deleverageCheck.js";

export interface GetDeleverageStatusParameters {
  readonly market: MarketRef;
}
/** Whether `autoDeleverage` would run in a market now (USD WAD). */
export interface GetDeleverageStatusReturnType {
  readonly marketId: number;
  /** Traders' net claim on the market if everything closed now, net of funding (`PerpMath.tradersClaimUp`). */
  readonly tradersProfit: bigint;
  /** `maxPnlFactor` x vault NAV: above it, profitable positions may be auto-deleveraged. */
  readonly limit: bigint;
  /** `tradersProfit > limit`: `autoDeleverage` would not revert `DeleverageNotNeeded`. */
  readonly needed: boolean;
  /** The block the state was read at. */
  readonly blockNumber: number;
}
export type GetDeleverageStatusErrorType = InvalidRequestError | PerpContractError | PerpTransportError;

/**
 * Mirrors the check `autoDeleverage` starts with (`LiquidationLogic.autoDeleverage`): funding accrued to the latest
 * block at the index price, traders' net claim against `maxPnlFactor` x NAV, all read at one block.
 * @example
 * ```ts
 * const { needed, tradersProfit, limit } = await getDeleverageStatus(client, { market: "ETH-USD" });
 * console.log(needed ? "deleverage" : "fine", formatUsd(tradersProfit), formatUsd(limit));
 * ```
 */
export async function getDeleverageStatus(
  ctx: ClientContext,
  parameters: GetDeleverageStatusParameters,
): Promise<GetDeleverageStatusReturnType> {
  const block = await withPerpErrors(() => latestBlock(ctx.provider));
  const [markets, nav] = await Promise.all([
    getMarkets(ctx, { blockTag: block.number }),
    withPerpErrors(() => ctx.engine.vaultNav({ blockTag: block.number })),
  ]);
  const market = resolveMarket(markets, parameters.market);
  const { tradersProfit, limit, needed } = deleverageCheck(market, nav, BigInt(block.timestamp));
  return { marketId: market.id, tradersProfit, limit, needed, blockNumber: block.number };
}
