import { withPerpErrors, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { accountOf, type ClientContext } from "../../client/context.js";
import type { AccountSnapshot, PositionData } from "../../valuation.js";

export interface GetAccountParameters {
  /** Default: the signer. */
  readonly trader?: string;
  /** Markets to read (default: the engine's `marketCount`). */
  readonly marketCount?: number;
  readonly blockTag?: number;
}
export type GetAccountReturnType = AccountSnapshot;
export type GetAccountErrorType = NoSignerError | PerpContractError | PerpTransportError;

/**
 * A trader's cross balance (WAD), cross-market bit map and open positions by market id.
 * @example
 * ```ts
 * const { crossBalance, positions } = await getAccount(client, { trader: "0xAb…" });
 * console.log(formatUsd(crossBalance), positions.size);
 * ```
 */
export async function getAccount(ctx: ClientContext, parameters: GetAccountParameters = {}): Promise<GetAccountReturnType> {
  const { blockTag } = parameters;
  const address = await accountOf(ctx, parameters.trader);
  const count = parameters.marketCount ?? Number(await withPerpErrors(() => ctx.engine.marketCount({ blockTag })));
  const ids = Array.from({ length: count }, (_, i) => BigInt(i));
  const [[crossBalance, crossMarkets], views] = await withPerpErrors(() =>
    Promise.all([
      ctx.engine.getAccount(address, { blockTag }),
      ctx.lens.positions(
        ids.map(() => address),
        ids,
        { blockTag },
      ),
    ]),
  );
  const positions = new Map<number, PositionData>();
  for (const view of views) {
    if (view.position.size === 0n) continue;
    positions.set(Number(view.marketId), {
      size: view.position.size,
      entryPrice: view.position.entryPrice,
      lastFundingIndex: view.position.lastFundingIndex,
      margin: view.position.margin,
    });
  }
  return { crossBalance, crossMarkets, positions };
}
