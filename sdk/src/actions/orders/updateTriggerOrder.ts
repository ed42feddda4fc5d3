import type { TransactionReceipt } from "ethers";

import { InvalidRequestError, withPerpErrors, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { requireOrderBook, requireSigner, sendCall, type ClientContext } from "../../client/context.js";
import { CLOSE_ALL, CLOSE_ALL_STORED } from "../../model/orders.js";
import type { InvalidAmountError, WadAmount } from "../../units.js";
import { parsePrice, parseSize, positionToClose } from "./shared.js";

export interface UpdateTriggerOrderParameters {
  readonly orderId: bigint;
  /** New size (same side as the order's); default unchanged. "all" closes the whole position (reduce-only). */
  readonly size?: WadAmount | "all";
  /** New trigger price; default unchanged. */
  readonly triggerPrice?: WadAmount;
  /** New acceptable price; default unchanged. */
  readonly acceptablePrice?: WadAmount;
}
export interface UpdateTriggerOrderReturnType {
  readonly receipt: TransactionReceipt;
  readonly sizeDelta: bigint;
  readonly triggerPrice: bigint;
  readonly acceptablePrice: bigint;
}
export type UpdateTriggerOrderErrorType = InvalidAmountError | InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Changes a trigger order's size and prices (what is not given stays). The order's `createdAt` resets: only prices
 * published after the update can execute it.
 * @example await updateTriggerOrder(client, { orderId: 7n, triggerPrice: "1875" })
 */
export async function updateTriggerOrder(ctx: ClientContext, parameters: UpdateTriggerOrderParameters): Promise<UpdateTriggerOrderReturnType> {
  requireSigner(ctx);
  const book = requireOrderBook(ctx);
  const { orderId } = parameters;
  const order = await withPerpErrors(() => book.getOrder(orderId));
  if (order.trader === "0x0000000000000000000000000000000000000000") throw new InvalidRequestError(`order #${orderId} is not open`);
  if (parameters.size === undefined && parameters.triggerPrice === undefined && parameters.acceptablePrice === undefined) {
    throw new InvalidRequestError("give a new size, trigger price or acceptable price");
  }
  const current = order.sizeDelta === CLOSE_ALL_STORED ? CLOSE_ALL : order.sizeDelta;
  let sizeDelta = current;
  if (parameters.size === "all") {
    if (!order.reduceOnly) throw new InvalidRequestError("only a reduce-only order can close the whole position");
    sizeDelta = CLOSE_ALL;
  } else if (parameters.size !== undefined) {
    const s = parseSize(parameters.size);
    // Keep the order's side; a close-all order's side is the opposite of the position's.
    const sell = current === CLOSE_ALL ? (await positionToClose(ctx, order.trader, Number(order.marketId))) > 0n : current < 0n;
    sizeDelta = sell ? -s : s;
  }
  const triggerPrice = parameters.triggerPrice === undefined ? order.triggerPrice : parsePrice(parameters.triggerPrice, "the trigger price");
  const acceptablePrice =
    parameters.acceptablePrice === undefined ? order.acceptablePrice : parsePrice(parameters.acceptablePrice, "the acceptable price");
  const receipt = await sendCall(ctx, book.updateTriggerOrder.populateTransaction(orderId, sizeDelta, triggerPrice, acceptablePrice));
  return { receipt, sizeDelta, triggerPrice, acceptablePrice };
}
