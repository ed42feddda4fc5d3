import { withPerpErrors, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { accountOf, requireOrderBook, type ClientContext } from "../../client/context.js";
import { IOrderEngine__factory } from "../../generated/index.js";
import { decodeOrder, toOrderBookParams, type OrderInfo } from "../../model/orders.js";
import { getAccount } from "../read/getAccount.js";

export interface GetOrdersParameters {
  /** Default: the signer. */
  readonly trader?: string;
  /** Read at this block (default latest). */
  readonly blockTag?: number;
}
export type GetOrdersReturnType = OrderInfo[];
export type GetOrdersErrorType = NoSignerError | PerpContractError | PerpTransportError;

/**
 * The trader's open orders, decoded: kind, side, size (or close-all), trigger and acceptable prices, escrowed keeper
 * fee, when a market order settles and expires, the OCO partner, and whether a reduce-only order is void (its
 * position was closed, liquidated or flipped since: it will never execute, and a keeper will clean it up).
 * @example
 * ```ts
 * for (const o of await getOrders(client)) console.log(o.id, o.kind, o.symbol, formatPrice(o.triggerPrice), o.voided);
 * ```
 */
export async function getOrders(ctx: ClientContext, parameters: GetOrdersParameters = {}): Promise<GetOrdersReturnType> {
  const book = requireOrderBook(ctx);
  const trader = await accountOf(ctx, parameters.trader);
  const overrides = parameters.blockTag === undefined ? {} : { blockTag: parameters.blockTag };
  let [ids, params, account] = await Promise.all([
    withPerpErrors(() => book.ordersOf(trader, overrides)),
    withPerpErrors(() => book.params(overrides)),
    getAccount(ctx, { trader, blockTag: parameters.blockTag }),
  ]);
  // Pending market orders first (by market), then trigger orders by seq and lane (the book keeps its own order,
  // which a removal reshuffles). Every id is `seq << 168 | trader << 8 | slot` (not a count: it encodes where the
  // order is stored): a market order's slot is its market id (< 128), a trigger order's is `0x80 | lane` with a
  // per-lane seq, so a fresh trader's trigger orders come out in placement order.
  const isTrigger = (id: bigint) => (id & 0x80n) !== 0n;
  const key = (id: bigint) => (isTrigger(id) ? (1n << 96n) | ((id >> 168n) << 8n) | (id & 0x7fn) : id & 0xffn);
  ids = [...ids].sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const orders = await withPerpErrors(() => Promise.all(ids.map((id) => book.getOrder(id, overrides))));
  const engine = IOrderEngine__factory.connect(ctx.deployment.contracts.PerpEngine, ctx.provider);
  const markets = [...new Set(orders.map((o) => Number(o.marketId)))];
  const epochs = new Map(
    await withPerpErrors(() =>
      Promise.all(markets.map(async (id) => [id, await engine.positionEpoch(trader, id, overrides)] as const)),
    ),
  );
  const symbols = new Map(ctx.deployment.markets.map((m) => [m.id, m.symbol]));
  const p = toOrderBookParams(params);
  return orders.map((o, i) => {
    const marketId = Number(o.marketId);
    return decodeOrder(ids[i]!, o, p, symbols.get(marketId) ?? `market ${marketId}`, epochs.get(marketId) ?? 0n, account.positions.get(marketId)?.size ?? 0n);
  });
}
