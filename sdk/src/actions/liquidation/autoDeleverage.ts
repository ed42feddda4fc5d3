import type { TransactionReceipt } from "ethers";

import type { InvalidRequestError, NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { sendCall, type ClientContext } from "../../client/context.js";
import { unitMarkets, updateFee } from "../../client/priceUpdate.js";
import type { MarketRef } from "../../types.js";
import { getMarket } from "../read/getMarket.js";

export interface AutoDeleverageParameters {
  /** The owner of a profitable position. */
  readonly trader: string;
  readonly market: MarketRef;
  /**
   * Price update data for the feeds of the markets the call reads (Pyth: from Hermes, or `encodeMockPriceUpdate`
   * locally). Default `[]`: the feeds' caches. The value sent is the sum of those feeds' `getUpdateFee`.
   */
  readonly priceUpdate?: readonly string[];
}
export type AutoDeleverageReturnType = TransactionReceipt;
export type AutoDeleverageErrorType = InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Auto-deleverages: closes `trader`'s profitable position in `market` at the index price, without fee, while
 * traders' net unrealised profit in the market exceeds `maxPnlFactor` x the vault's NAV (`getDeleverageStatus`).
 * Anyone may call it. Reverts `DeleverageNotNeeded` within the limit, `PositionNotProfitable` for a losing position,
 * `NoPosition` without one.
 * @example
 * ```ts
 * const status = await getDeleverageStatus(client, { market: "ETH-USD" });
 * if (status.needed) await autoDeleverage(client, { trader: mostProfitable, market: "ETH-USD" });
 * ```
 */
export async function autoDeleverage(ctx: ClientContext, parameters: AutoDeleverageParameters): Promise<AutoDeleverageReturnType> {
  const { trader, market, priceUpdate = [] } = parameters;
  const id = typeof market === "number" ? market : (await getMarket(ctx, { market })).id;
  const value = priceUpdate.length === 0 ? 0n : await updateFee(ctx, await unitMarkets(ctx, trader, id), priceUpdate);
  return sendCall(ctx, ctx.engine.autoDeleverage.populateTransaction(trader, id, [...priceUpdate], { value }));
}
