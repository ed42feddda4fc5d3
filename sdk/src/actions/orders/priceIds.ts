import { InvalidRequestError, PerpError, withPerpErrors } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import { IPriceFeed__factory, IPythPriceFeed__factory } from "../../generated/index.js";

/**
 * The Pyth price feed id of a market: the deployment's `pythPriceId`, else its adapter's `priceId()`.
 * @example const id = await pythPriceId(client, 0)
 */
export async function pythPriceId(ctx: Pick<ClientContext, "deployment" | "provider">, marketId: number): Promise<string> {
  const market = ctx.deployment.markets.find((m) => m.id === marketId);
  if (!market) throw new InvalidRequestError(`no market with id ${marketId} in the deployment`);
  if (market.pythPriceId) return market.pythPriceId;
  try {
    return await IPythPriceFeed__factory.connect(market.priceFeed, ctx.provider).priceId();
  } catch (error) {
    throw new PerpError(`${market.symbol}'s price feed is not a Pyth adapter (no pythPriceId)`, undefined, { cause: error });
  }
}

/**
 * What `updatePrice(updateData)` (or a settlement passing it on) costs in `msg.value` on a market's adapter.
 * @example const value = await updateFee(client, 0, updateData)
 */
export async function updateFee(ctx: Pick<ClientContext, "deployment" | "provider">, marketId: number, updateData: string[]): Promise<bigint> {
  const market = ctx.deployment.markets.find((m) => m.id === marketId);
  if (!market) throw new InvalidRequestError(`no market with id ${marketId} in the deployment`);
  return withPerpErrors(() => IPriceFeed__factory.connect(market.priceFeed, ctx.provider).getUpdateFee(updateData));
}
