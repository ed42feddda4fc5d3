import type { TransactionReceipt } from "ethers";

import type { InvalidRequestError, NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { sendCall, type ClientContext } from "../../client/context.js";
import { unitMarkets, updateFee } from "../../client/priceUpdate.js";
import type { MarketRef } from "../../types.js";
import { getMarket } from "../read/getMarket.js";

export interface LiquidateParameters {
  readonly trader: string;
  /** The isolated position's market, or any market of the cross account to liquidate. */
  readonly market: MarketRef;
  /**
   * Price update data for the feeds of the markets the call reads (Pyth: from Hermes, or `encodeMockPriceUpdate`
   * locally). Default `[]`: the feeds' caches. The value sent is the sum of those feeds' `getUpdateFee`.
   */
  readonly priceUpdate?: readonly string[];
}
export type LiquidateReturnType = TransactionReceipt;
export type LiquidateErrorType = InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Liquidates one unit: an isolated position, or the whole cross account holding `market` (`NotLiquidatable` when it
 * is above maintenance). The reward goes to the signer's cross balance.
 * @example await liquidate(client, { trader: "0xAb…", market: "ETH-USD" })
 */
export async function liquidate(ctx: ClientContext, parameters: LiquidateParameters): Promise<LiquidateReturnType> {
  const { trader, market, priceUpdate = [] } = parameters;
  const id = typeof market === "number" ? market : (await getMarket(ctx, { market })).id;
  const value = priceUpdate.length === 0 ? 0n : await updateFee(ctx, await unitMarkets(ctx, trader, id), priceUpdate);
  return sendCall(ctx, ctx.engine.liquidate.populateTransaction(trader, id, [...priceUpdate], { value }));
}
