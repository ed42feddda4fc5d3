import type { NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import type { Snapshot } from "../../types.js";
import { valueCross, type Valuation } from "../../valuation.js";
import { getSnapshot } from "./getSnapshot.js";

export interface GetCrossHealthParameters {
  readonly trader?: string;
  readonly snapshot?: Snapshot;
}
export type GetCrossHealthReturnType = Valuation;
export type GetCrossHealthErrorType = NoSignerError | PerpContractError | PerpTransportError;

/**
 * Health of the trader's cross account: equity, margins, notional, as the engine values it.
 * @example const { equity, maintenanceMargin } = await getCrossHealth(client)
 */
export async function getCrossHealth(ctx: ClientContext, parameters: GetCrossHealthParameters = {}): Promise<GetCrossHealthReturnType> {
  const s = parameters.snapshot ?? (await getSnapshot(ctx, { trader: parameters.trader }));
  return valueCross(s.account, s.markets, s.now, s.protocol.keeperRewardMin);
}
