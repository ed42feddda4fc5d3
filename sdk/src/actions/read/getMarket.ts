import { InvalidRequestError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import type { MarketInfo, MarketRef } from "../../types.js";
import { getMarkets } from "./getMarkets.js";

export interface GetMarketParameters {
  /** Its id (`0`), symbol (`"ETH-USD"`, any case) or base (`"eth"`). */
  readonly market: MarketRef;
}
export type GetMarketReturnType = MarketInfo;
export type GetMarketErrorType = InvalidRequestError | PerpContractError | PerpTransportError;

/**
 * One market by id, symbol or base.
 * @example const eth = await getMarket(client, { market: "ETH-USD" })
 */
export async function getMarket(ctx: ClientContext, parameters: GetMarketParameters): Promise<GetMarketReturnType> {
  return resolveMarket(await getMarkets(ctx), parameters.market);
}

/**
 * Resolves a market reference against a list (pure), throwing `InvalidRequestError` for an unknown one.
 * @example resolveMarket(markets, "eth").id // 0
 */
export function resolveMarket(markets: Iterable<MarketInfo>, ref: MarketRef): MarketInfo {
  const list = [...markets];
  const wanted = typeof ref === "number" ? ref : ref.trim().toUpperCase();
  const found = list.find((market) =>
    typeof wanted === "number"
      ? market.id === wanted
      : market.symbol.toUpperCase() === wanted ||
        market.symbol.toUpperCase().split("-")[0] === wanted ||
        String(market.id) === wanted,
  );
  if (!found) {
    throw new InvalidRequestError(`unknown market "${ref}"; listed: ${list.map((mk) => mk.symbol).join(", ")}`);
  }
  return found;
}
