import type { TransactionReceipt } from "ethers";

import type { InvalidRequestError, NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { sendCall, type ClientContext } from "../../client/context.js";
import { updateFee } from "../../client/priceUpdate.js";
import type { MarketRef } from "../../types.js";
import { toUsdWad, type InvalidAmountError, type UsdAmount } from "../../units.js";
import { getMarket } from "../read/getMarket.js";

export interface RemoveMarginParameters {
  readonly market: MarketRef;
  /** USD: a decimal string ("100") or WAD (`wad(...)`, or a plain bigint). Never `TokenUnits`. */
  readonly amount: UsdAmount;
  /**
   * Price update data for the feeds of the position's market (Pyth: from Hermes, or `encodeMockPriceUpdate`
   * locally). Default `[]`: the feeds' caches. The value sent is the sum of those feeds' `getUpdateFee`.
   */
  readonly priceUpdate?: readonly string[];
}
export type RemoveMarginReturnType = TransactionReceipt;
export type RemoveMarginErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Moves USD from an isolated margin back to the cross balance; the position must keep its initial margin.
 * @example await removeMargin(client, { market: "ETH-USD", amount: "50" })
 */
export async function removeMargin(ctx: ClientContext, parameters: RemoveMarginParameters): Promise<RemoveMarginReturnType> {
  const market = await getMarket(ctx, { market: parameters.market });
  const priceUpdate = parameters.priceUpdate ?? [];
  const value = priceUpdate.length === 0 ? 0n : await updateFee(ctx, 1n << BigInt(market.id), priceUpdate);
  return sendCall(ctx, ctx.engine.removeMargin.populateTransaction(market.id, toUsdWad(parameters.amount), [...priceUpdate], { value }));
}
