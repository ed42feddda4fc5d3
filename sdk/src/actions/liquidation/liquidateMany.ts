import type { TransactionReceipt } from "ethers";

import type { NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { sendCall, type ClientContext } from "../../client/context.js";

export interface LiquidateManyParameters {
  /** At most `MAX_BATCH` (100) units: isolated positions, or one entry per cross account. */
  readonly targets: readonly { readonly trader: string; readonly marketId: number }[];
}
export type LiquidateManyReturnType = TransactionReceipt;
export type LiquidateManyErrorType = NoSignerError | PerpContractError | PerpTransportError;

/**
 * Liquidates many units in one transaction; entries no longer liquidatable are skipped on chain, so a race with
 * another keeper costs gas but does not revert. More than `MAX_BATCH` entries revert `InvalidBatch`.
 * @example await liquidateMany(client, { targets: liquidatableUnits(await readHealth(client, keys)) })
 */
export async function liquidateMany(ctx: ClientContext, parameters: LiquidateManyParameters): Promise<LiquidateManyReturnType> {
  const { targets } = parameters;
  const traders = targets.map((t) => t.trader);
  const marketIds = targets.map((t) => BigInt(t.marketId));
  return sendCall(ctx, ctx.engine.liquidateMany.populateTransaction(traders, marketIds));
}
