import { zeroPadValue } from "ethers";

import { withPerpErrors, type NoSignerError, type PerpTransportError } from "../../errors.js";
import { accountOf, type ClientContext } from "../../client/context.js";
import { decodeLog, getLogsChunked } from "../../events/decode.js";
import { PerpEngine__factory } from "../../generated/index.js";
import { latestBlock } from "../../transport/latestBlock.js";

export interface GetFundingPaidParameters {
  /** Default: the signer. */
  readonly trader?: string;
  /** First block scanned (default: the deployment block). */
  readonly fromBlock?: number;
  /** Last block scanned (default: latest). */
  readonly toBlock?: number;
  /** Blocks per `eth_getLogs` (default 10,000; a range the endpoint refuses is halved until it passes). */
  readonly chunk?: number;
}
/** Funding a trader settled in one market (USD WAD; positive: paid, negative: received). */
export interface FundingPaid {
  /** Settled on the position open now (since it was last zero): its trades' `fundingPaid`. */
  readonly position: bigint;
  /** Settled in the market over the whole scan, closed positions and liquidations included. */
  readonly lifetime: bigint;
}
export type GetFundingPaidReturnType = Map<number, FundingPaid>;
export type GetFundingPaidErrorType = NoSignerError | PerpTransportError;

/**
 * The funding a trader has settled, by market, from the engine's `PositionModified` and `PositionClosedAtIndex`
 * events (`fundingPaid`): on the open position and over the whole history. Add a position's `accruedFunding` (not
 * yet settled) for what it has paid or received so far. One `eth_getLogs` per chunk, filtered by the trader.
 * @example
 * ```ts
 * const paid = await getFundingPaid(client);
 * for (const p of await getPositions(client)) console.log(p.symbol, (paid.get(p.marketId)?.position ?? 0n) + p.accruedFunding);
 * ```
 */
export async function getFundingPaid(ctx: ClientContext, parameters: GetFundingPaidParameters = {}): Promise<GetFundingPaidReturnType> {
  const trader = await accountOf(ctx, parameters.trader);
  const iface = PerpEngine__factory.createInterface();
  const topics = [
    [iface.getEvent("PositionModified").topicHash, iface.getEvent("PositionClosedAtIndex").topicHash],
    zeroPadValue(trader, 32),
  ];
  const address = ctx.deployment.contracts.PerpEngine;
  const toBlock = parameters.toBlock ?? (await withPerpErrors(() => latestBlock(ctx.provider))).number;
  const logs = await getLogsChunked(ctx.provider, {
    address,
    topics,
    fromBlock: parameters.fromBlock ?? ctx.deployment.deploymentBlock,
    toBlock,
    ...(parameters.chunk === undefined ? {} : { chunk: parameters.chunk }),
  });
  const out = new Map<number, { position: bigint; lifetime: bigint }>();
  const events = logs
    .map((log) => decodeLog(log, { engine: address }))
    .filter((e) => e !== undefined)
    .sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
  for (const event of events) {
    if (event.name !== "PositionModified" && event.name !== "PositionClosedAtIndex") continue;
    const marketId = Number(event.marketId);
    const entry = out.get(marketId) ?? { position: 0n, lifetime: 0n };
    entry.lifetime += event.fundingPaid;
    entry.position += event.fundingPaid;
    // The position closed: what it settled is history; a new position starts from zero.
    if (event.name === "PositionClosedAtIndex" || event.newSize === 0n) entry.position = 0n;
    out.set(marketId, entry);
  }
  return out;
}
