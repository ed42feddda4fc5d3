import type { TransactionReceipt } from "ethers";

import type { InvalidRequestError, NoSignerError, PerpContractError, PerpTransportError } from "../../errors.js";
import { sendCall, type ClientContext } from "../../client/context.js";
import type { MarketRef } from "../../types.js";
import { toUsdWad, type InvalidAmountError, type UsdAmount } from "../../units.js";
import { getMarket } from "../read/getMarket.js";

export interface AddMarginParameters {
  readonly market: MarketRef;
  /** USD: a decimal string ("100") or WAD (`wad(...)`, or a plain bigint). Never `TokenUnits`. */
  readonly amount: UsdAmount;
}
export type AddMarginReturnType = TransactionReceipt;
export type AddMarginErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Moves USD from the cross balance into an isolated position's margin (`NotIsolated` for a cross position).
 * @example await addMargin(client, { market: "ETH-USD", amount: "100" })
 */
export async function addMargin(ctx: ClientContext, parameters: AddMarginParameters): Promise<AddMarginReturnType> {
  const market = await getMarket(ctx, { market: parameters.market });
  return sendCall(ctx, ctx.engine.addMargin.populateTransaction(market.id, toUsdWad(parameters.amount)));
}
