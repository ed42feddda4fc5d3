/**
 * The `msg.value` of the engine's priced entry points (`liquidate`, `liquidateMany`, `autoDeleverage`,
 * `removeMargin`, `withdraw`): the engine hands `priceUpdate` to the feed of every market whose price the call reads
 * and pays each feed's `getUpdateFee(priceUpdate)`; the unspent value is refunded. Empty data costs nothing (the
 * engine uses the feeds' caches, which is all a Chainlink market has).
 *
 * @packageDocumentation
 */
import { IPriceFeed__factory } from "../generated/index.js";
import type { ClientContext } from "./context.js";

/** Bit `i` set = market `i`, as the engine's cross-market map. */
export type MarketBits = bigint;

/** The markets valuing `trader`'s unit holding `marketId` reads: the whole cross set, the market alone, or none. */
export async function unitMarkets(ctx: Pick<ClientContext, "engine">, trader: string, marketId: number | bigint): Promise<MarketBits> {
  const id = BigInt(marketId);
  const [position, account] = await Promise.all([ctx.engine.getPosition(trader, id), ctx.engine.getAccount(trader)]);
  if (position.size === 0n) return 0n;
  const bit = 1n << id;
  return (account.crossMarkets & bit) !== 0n ? account.crossMarkets : bit;
}

/** The markets of `trader`'s cross set (what `withdraw`'s debit check values). */
export async function crossMarkets(ctx: Pick<ClientContext, "engine">, trader: string): Promise<MarketBits> {
  return (await ctx.engine.getAccount(trader)).crossMarkets;
}

/** Sum over the markets in `bits` of their feed's `getUpdateFee(priceUpdate)` (wei); 0 for empty data. */
export async function updateFee(
  ctx: Pick<ClientContext, "engine" | "provider">,
  bits: MarketBits,
  priceUpdate: readonly string[],
): Promise<bigint> {
  if (priceUpdate.length === 0 || bits === 0n) return 0n;
  const ids: bigint[] = [];
  for (let id = 0n, left = bits; left !== 0n; id++, left >>= 1n) if ((left & 1n) !== 0n) ids.push(id);
  const fees = await Promise.all(
    ids.map(async (id) => {
      const [feed] = await ctx.engine.getMarket(id);
      return IPriceFeed__factory.connect(feed, ctx.provider).getUpdateFee([...priceUpdate]);
    }),
  );
  return fees.reduce((sum, fee) => sum + fee, 0n);
}
