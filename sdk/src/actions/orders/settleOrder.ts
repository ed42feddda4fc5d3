import type { TransactionReceipt } from "ethers";

import {
  InvalidRequestError,
  PerpError,
  abortableDelay,
  withPerpErrors,
  type NoSignerError,
  type PerpContractError,
  type PerpTransportError,
} from "../../errors.js";
import { requireOrderBook, requireSigner, sendCall, type ClientContext } from "../../client/context.js";
import { ORDER_KINDS, orderOutcome, type OrderOutcome } from "../../model/orders.js";
import { latestBlock } from "../../transport/latestBlock.js";
import { pythPriceId, updateFee } from "./priceIds.js";

export interface SettleOrderParameters {
  readonly orderId: bigint;
  /**
   * Wait (polling, up to `timeoutMs`) until the order's window has opened: block time or clock at `settleableAt`,
   * and the price source serving a price for it. Default true; false sends at once.
   */
  readonly wait?: boolean;
  /** Default 30,000 ms. */
  readonly timeoutMs?: number;
  /** Default 500 ms. */
  readonly pollMs?: number;
}
export interface SettleOrderReturnType {
  readonly receipt: TransactionReceipt;
  /** The update data sent and the oracle fee paid with it. */
  readonly updateData: string[];
  readonly oracleFee: bigint;
  /** Executed at the verified price, or cancelled for the trader's reasons (the keeper fee then goes to the settler). */
  readonly outcome: OrderOutcome;
}
export type SettleOrderErrorType = InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * Settles a market order yourself (any account may; the keeper fee goes to the settler, so settling your own order
 * returns it). Fetches from the client's `priceSource` the first price of the market's feed published at or after
 * `createdAt + minSettleDelay`, and calls `orderBook.settleOrder` with `msg.value` = the adapter's `getUpdateFee`.
 * @example
 * ```ts
 * const client = await PerpClient.connect({ runner: wallet, deployment, priceSource: new HermesPriceSource(url) });
 * const { outcome } = await settleOrder(client, { orderId });
 * ```
 */
export async function settleOrder(ctx: ClientContext, parameters: SettleOrderParameters): Promise<SettleOrderReturnType> {
  requireSigner(ctx);
  const book = requireOrderBook(ctx);
  const source = ctx.priceSource;
  if (!source) throw new InvalidRequestError("settling an order needs a price source: connect the client with `priceSource`");
  const { orderId } = parameters;
  const [order, params] = await withPerpErrors(() => Promise.all([book.getOrder(orderId), book.params()]));
  if (order.trader === "0x0000000000000000000000000000000000000000") throw new InvalidRequestError(`order #${orderId} is not open`);
  if (Number(order.kind) !== 0) {
    throw new InvalidRequestError(`order #${orderId} is a ${ORDER_KINDS[Number(order.kind)]} order: trigger orders execute at their trigger`);
  }
  const marketId = Number(order.marketId);
  const settleableAt = order.createdAt + params.minSettleDelay;
  const priceId = await pythPriceId(ctx, marketId);
  const wait = parameters.wait ?? true;
  const deadline = Date.now() + (parameters.timeoutMs ?? 30_000);
  const pollMs = parameters.pollMs ?? 500;

  // The window opens when a block can carry a timestamp >= settleableAt (the next block's is at least the clock's).
  while (wait) {
    const block = await withPerpErrors(() => latestBlock(ctx.provider));
    const now = BigInt(Math.floor(Date.now() / 1000));
    if (block.timestamp >= settleableAt || now >= settleableAt) break;
    if (Date.now() >= deadline) throw new PerpError(`order #${orderId} is not settleable before ${settleableAt} (unix time)`);
    await abortableDelay(pollMs);
  }
  let updateData: string[];
  for (;;) {
    try {
      updateData = (await source.at([priceId], Number(settleableAt))).updateData;
      break;
    } catch (error) {
      // Hermes answers 404 until a price of the window is published.
      if (!wait || Date.now() >= deadline) {
        throw new PerpError(`no price of order #${orderId}'s window from the price source`, undefined, { cause: error });
      }
      await abortableDelay(pollMs);
    }
  }
  const oracleFee = await updateFee(ctx, marketId, updateData);
  const receipt = await sendCall(ctx, book.settleOrder.populateTransaction(orderId, updateData, { value: oracleFee }));
  const outcome = orderOutcome(receipt.logs, orderId, ctx.deployment);
  if (!outcome) throw new PerpError(`transaction ${receipt.hash} neither settled nor cancelled order #${orderId}`);
  return { receipt, updateData, oracleFee, outcome };
}
