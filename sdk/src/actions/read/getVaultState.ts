import { withPerpErrors, type PerpContractError, type PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";

export type GetVaultStateParameters = Record<string, never>;
/** The LP vault as the engine books it, USD WAD. */
export interface GetVaultStateReturnType {
  /** Net asset value: cash plus traders' unrealised losses minus profits. */
  readonly nav: bigint;
  readonly cash: bigint;
  /** What LPs can withdraw now: cash above what open interest requires. */
  readonly withdrawable: bigint;
  readonly insuranceFund: bigint;
}
export type GetVaultStateErrorType = PerpContractError | PerpTransportError;

/**
 * The LP vault's NAV, cash, withdrawable cash and the insurance fund.
 * @example formatUsd((await getVaultState(client)).nav)
 */
export async function getVaultState(ctx: ClientContext): Promise<GetVaultStateReturnType> {
  const [nav, cash, withdrawable, insuranceFund] = await withPerpErrors(() =>
    Promise.all([ctx.engine.vaultNav(), ctx.engine.vaultCash(), ctx.engine.vaultWithdrawable(), ctx.engine.insuranceFund()]),
  );
  return { nav, cash, withdrawable, insuranceFund };
}
