import { PerpError, withPerpErrors, abortableDelay, type PerpTransportError } from "../../errors.js";
import { requireOrderBook, type ClientContext } from "../../client/context.js";
import { orderBookInterface, orderOutcome, type OrderOutcome } from "../../model/orders.js";

export interface WaitForSettlementParameters {
  readonly orderId: bigint;
  /** First block to look in (default: the deployment block). The commit's block keeps the scan short. */
  readonly fromBlock?: number;
  /** Give up after this many milliseconds (default 60,000). */
  readonly timeoutMs?: number;
  /** Between two looks (default 1,000). */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}
export type WaitForSettlementReturnType = OrderOutcome;
export type WaitForSettlementErrorType = SettlementTimeoutError | PerpTransportError;

/** No keeper settled or cancelled the order in time; it may still be settled later, or cancelled after expiry. */
export class SettlementTimeoutError extends PerpError {
  override name = "SettlementTimeoutError";
  constructor(
    readonly orderId: bigint,
    readonly timeoutMs: number,
  ) {
    super(
      `order #${orderId} was neither settled nor cancelled within ${timeoutMs / 1000} s: settle it yourself (settleOrder) ` +
        "or cancel it once it expired",
    );
  }
}

/**
 * Waits until the order leaves the book and returns how: executed (the verified price, the keeper and its fee, the
 * engine's fill and trading fee) or cancelled (the reason, and the engine's error decoded when execution failed for
 * the trader's reasons). Polls the order book's `OrderExecuted` / `OrderCancelled` logs of the id.
 * @example
 * ```ts
 * const outcome = await waitForSettlement(client, { orderId, fromBlock: receipt.blockNumber, timeoutMs: 30_000 });
 * if (outcome.status === "executed") console.log(outcome.execution?.fillPrice);
 * else console.log(outcome.reason, outcome.error?.message);
 * ```
 */
export async function waitForSettlement(ctx: ClientContext, parameters: WaitForSettlementParameters): Promise<WaitForSettlementReturnType> {
  const book = requireOrderBook(ctx);
  const address = await book.getAddress();
  const iface = orderBookInterface();
  const topics = [
    [iface.getEvent("OrderExecuted").topicHash, iface.getEvent("OrderCancelled").topicHash],
    "0x" + parameters.orderId.toString(16).padStart(64, "0"),
  ];
  const timeoutMs = parameters.timeoutMs ?? 60_000;
  const pollMs = parameters.pollMs ?? 1_000;
  const deadline = Date.now() + timeoutMs;
  const fromBlock = parameters.fromBlock ?? ctx.deployment.deploymentBlock;
  for (;;) {
    const logs = await withPerpErrors(() => ctx.provider.getLogs({ address, topics, fromBlock, toBlock: "latest" }));
    if (logs.length > 0) {
      // The engine's PositionModified of the settling transaction comes from its receipt.
      const receipt = await withPerpErrors(() => ctx.provider.getTransactionReceipt(logs[0]!.transactionHash));
      const outcome = orderOutcome(receipt?.logs ?? logs, parameters.orderId, ctx.deployment);
      if (outcome) return outcome;
    }
    if (Date.now() >= deadline || parameters.signal?.aborted) throw new SettlementTimeoutError(parameters.orderId, timeoutMs);
    await abortableDelay(Math.min(pollMs, Math.max(0, deadline - Date.now())), parameters.signal);
  }
}
