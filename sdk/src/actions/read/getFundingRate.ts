import type { InvalidRequestError, PerpContractError, PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import type { MarketRef } from "../../types.js";
import type { UnitInput } from "../../units.js";
import { fundingRateFor, skewOf } from "../../valuation.js";
import { getMarket } from "./getMarket.js";

export interface GetFundingRateParameters {
  readonly market: MarketRef;
  /** A trade's size (WAD, signed) whose effect on the rate to predict (default 0). */
  readonly sizeDelta?: UnitInput<"wad">;
}
/** Funding rates per day (WAD, signed: positive means longs pay). */
export interface GetFundingRateReturnType {
  readonly current: bigint;
  readonly predicted: bigint;
}
export type GetFundingRateErrorType = InvalidRequestError | PerpContractError | PerpTransportError;

/**
 * The funding rate per day in force now, and the one that would follow a trade of `sizeDelta`.
 * @example const { current, predicted } = await getFundingRate(client, { market: "ETH-USD", sizeDelta: wad("10") })
 */
export async function getFundingRate(ctx: ClientContext, parameters: GetFundingRateParameters): Promise<GetFundingRateReturnType> {
  const market = await getMarket(ctx, { market: parameters.market });
  return {
    current: market.state.fundingRatePerDay,
    predicted: fundingRateFor(market.params, skewOf(market.state) + (parameters.sizeDelta ?? 0n)),
  };
}
