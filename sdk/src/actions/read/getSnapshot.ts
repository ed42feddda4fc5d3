import { withPerpErrors, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import type { ClientContext } from "../../client/context.js";
import { toOrderBookParams } from "../../model/orders.js";
import { latestBlock } from "../../transport/latestBlock.js";
import type { Snapshot } from "../../types.js";
import { getAccount } from "./getAccount.js";
import { getMarkets } from "./getMarkets.js";
import { getProtocolParams } from "./getProtocolParams.js";

export interface GetSnapshotParameters {
  /** Default: the signer. */
  readonly trader?: string;
}
export type GetSnapshotReturnType = Snapshot;
export type GetSnapshotErrorType = NoSignerError | PerpContractError | PerpTransportError;

/**
 * Markets, protocol parameters and the trader's account, all read at the latest block (read past ethers' request
 * cache, so a snapshot taken right after a transaction sees it). Everything a quote needs.
 * @example
 * ```ts
 * const snap = await getSnapshot(client);
 * const quote = quoteFromSnapshot(snap, { market: "ETH", side: "long", size: "1" });
 * ```
 */
export async function getSnapshot(ctx: ClientContext, parameters: GetSnapshotParameters = {}): Promise<GetSnapshotReturnType> {
  const block = await withPerpErrors(() => latestBlock(ctx.provider));
  const [markets, protocol] = await Promise.all([
    getMarkets(ctx, { blockTag: block.number }),
    getProtocolParams(ctx, { blockTag: block.number }),
  ]);
  const [account, orderBook] = await Promise.all([
    getAccount(ctx, { trader: parameters.trader, marketCount: markets.length, blockTag: block.number }),
    ctx.orderBook ? withPerpErrors(() => ctx.orderBook!.params({ blockTag: block.number })).then(toOrderBookParams) : undefined,
  ]);
  return {
    now: block.timestamp,
    blockNumber: block.number,
    markets: new Map(markets.map((market) => [market.id, market])),
    protocol,
    account,
    ...(orderBook ? { orderBook } : {}),
  };
}
