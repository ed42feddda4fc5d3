import type { TransactionReceipt } from "ethers";

import type { NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { sendCall, type ClientContext } from "../../client/context.js";
import { unitMarkets, updateFee } from "../../client/priceUpdate.js";

export interface LiquidateManyParameters {
  /** At most `MAX_BATCH` (100) units: isolated positions, or one entry per cross account. */
  readonly targets: readonly { readonly trader: string; readonly marketId: number }[];
  /**
   * Price update data for the feeds of the markets the batch's units hold (each feed is updated once) (Pyth: from Hermes, or `encodeMockPriceUpdate`
   * locally). Default `[]`: the feeds' caches. The value sent is the sum of those feeds' `getUpdateFee`.
   */
  readonly priceUpdate?: readonly string[];
}
export type LiquidateManyReturnType = TransactionReceipt;
export type LiquidateManyErrorType = NoSignerError | PerpContractError | PerpTransportError;

/**
 * Liquidates many units in one transaction; entries no longer liquidatable are skipped on chain, so a race with
 * another keeper costs gas but does not revert. More than `MAX_BATCH` entries revert `InvalidBatch`.
 * @example await liquidateMany(client, { targets: liquidatableUnits(await readHealth(client, keys)) })
 */
export async function liquidateMany(ctx: ClientContext, parameters: LiquidateManyParameters): Promise<LiquidateManyReturnType> {
  const { targets, priceUpdate = [] } = parameters;
  const traders = targets.map((t) => t.trader);
  const marketIds = targets.map((t) => BigInt(t.marketId));
  let value = 0n;
  if (priceUpdate.length !== 0) {
    const units = await Promise.all(targets.map((t) => unitMarkets(ctx, t.trader, t.marketId)));
    value = await updateFee(ctx, units.reduce((bits, unit) => bits | unit, 0n), priceUpdate);
  }
  return sendCall(ctx, ctx.engine.liquidateMany.populateTransaction(traders, marketIds, [...priceUpdate], { value }));
}
