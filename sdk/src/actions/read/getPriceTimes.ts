import { withPerpErrors, type PerpContractError, type PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import { IPriceFeed__factory } from "../../generated/index.js";

export interface GetPriceTimesParameters {
  /** Read at this block (default: latest). */
  readonly blockTag?: number;
}
/** Per market id, the publish time (seconds) of the price its adapter holds (`IPriceFeed.priceTime()`). */
export type GetPriceTimesReturnType = Map<number, bigint>;
export type GetPriceTimesErrorType = PerpContractError | PerpTransportError;

/**
 * When each market's oracle price was published: a page shows the index price's age (block time - publish time),
 * and a price older than the adapter's maximum age is refused by the engine (`MarketInfo.priceValid`).
 * @example
 * ```ts
 * const times = await getPriceTimes(client, { blockTag: snap.blockNumber });
 * const ageSeconds = snap.now - times.get(0)!;
 * ```
 */
export async function getPriceTimes(
  ctx: Pick<ClientContext, "deployment" | "provider">,
  parameters: GetPriceTimesParameters = {},
): Promise<GetPriceTimesReturnType> {
  const entries = await Promise.all(
    ctx.deployment.markets.map(async (m) => {
      const time = await withPerpErrors(() => IPriceFeed__factory.connect(m.priceFeed, ctx.provider).priceTime({ blockTag: parameters.blockTag }));
      return [m.id, time] as const;
    }),
  );
  return new Map(entries);
}
