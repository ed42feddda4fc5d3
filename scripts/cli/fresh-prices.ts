/**
 * Before a trade on a deployment with Pyth markets: a market whose on-chain price cache is older than its
 * `maxCacheAge` (an idle chain, nobody settled or pushed anything for a minute) cannot be quoted, and the margin
 * check of the commit would fail the same way. The CLI then pushes the latest prices of every Pyth market from the
 * price source first (`OrderBook.pokePrices`, open to anyone; the oracle fee is each feed's `getUpdateFee`, a wei
 * per update locally), and says so on stderr. Nothing is sent when every price is valid.
 */
import type { TransactionReceipt } from "ethers";

import { withPerpErrors } from "@perp/sdk";
import { IOrderBook__factory, IPriceFeed__factory } from "@perp/sdk/contracts";

import type { Context } from "./context.js";
import { CliError } from "./errors.js";
import type { SettleOptions } from "./options.js";
import { cliPriceSource } from "./prices.js";
import type { Session } from "./session.js";

export async function refreshStalePrices(c: Context, session: Session, opts: SettleOptions): Promise<TransactionReceipt | undefined> {
  const { client, deployment, wallet } = session;
  const book = deployment.contracts.OrderBook;
  const pythMarkets = deployment.markets.filter((m) => m.pythPriceId !== undefined);
  if (book === undefined || wallet === undefined || pythMarkets.length === 0) return undefined;
  const stale = (await client.markets()).filter((m) => !m.priceValid);
  if (stale.length === 0) return undefined;
  if (opts.prices === undefined && deployment.hermesUrl === undefined) return undefined; // the quote says why
  const source = cliPriceSource(opts.prices, deployment);
  const { updateData } = await withPerpErrors(() => source.latest(pythMarkets.map((m) => m.pythPriceId!)));
  let fee = 0n;
  for (const m of pythMarkets) fee += await IPriceFeed__factory.connect(m.priceFeed, client.provider).getUpdateFee(updateData);
  const receipt = await withPerpErrors(async () => {
    const tx = await IOrderBook__factory.connect(book, wallet).pokePrices(
      pythMarkets.map((m) => m.id),
      updateData,
      { value: fee },
    );
    const mined = await tx.wait();
    if (!mined) throw new CliError("the price push was dropped");
    return mined;
  });
  c.io.err(`Pushed fresh prices (${stale.map((m) => m.symbol).join(", ")} had none newer than the cache allows) in ${receipt.hash}`);
  return receipt;
}
