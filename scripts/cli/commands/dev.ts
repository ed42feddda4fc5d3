/**
 * `dev set-price <market> <usd>`: moves a market of a local deployment, for keeper or liquidation testing. A Pyth
 * market (the default local deployment): the local price service (`--prices`, else the deployment's `hermesUrl`)
 * publishes the price at the chain's next second (`POST /local/price`) and the update is pushed on chain
 * (`OrderBook.pokePrices`, open to anyone). A Chainlink market (v1): the mock answer (MockAggregator.setAnswer).
 * Refused on any chain but a local development one.
 */
import type { Command } from "commander";

import { parseDecimal, withPerpErrors } from "@perp/sdk";
import { requireLocalChain, type ContextOf } from "../context.js";
import { CliError } from "../errors.js";
import { price, receiptJson } from "../format.js";
import { decimal, urlArg } from "../options.js";
import { IOrderBook__factory, IPriceFeed__factory, MockAggregator__factory } from "@perp/sdk/contracts";
import { HermesPriceSource, PYTH_USD_EXPO } from "@perp/sdk/prices";
import type { Deployment, PerpClient } from "@perp/sdk";
import type { Signer, TransactionReceipt } from "ethers";

/** Publishes `usd` for a Pyth market on the local price service and pushes it on chain; returns the receipt. */
async function setPythPrice(
  client: PerpClient,
  deployment: Deployment,
  wallet: Signer,
  marketId: number,
  usd: string,
  pricesUrl: string | undefined,
): Promise<TransactionReceipt> {
  const record = deployment.markets.find((m) => m.id === marketId)!;
  const endpoint = pricesUrl ?? deployment.hermesUrl;
  if (!endpoint) throw new CliError(`dev set-price needs the local price service: pass --prices <url> (the deployment has no hermesUrl)`);
  if (!deployment.contracts.OrderBook) throw new CliError("dev set-price on a Pyth market needs the deployment's OrderBook (pokePrices)");
  const units = parseDecimal(usd, -PYTH_USD_EXPO);
  if (units <= 0n) throw new CliError("the price must be positive");
  // The chain's next second: the adapter refuses a price published more than a few seconds ahead of the block.
  const latest = await client.provider.getBlock("latest");
  const publishTime = Math.max(latest?.timestamp ?? 0, Math.floor(Date.now() / 1000));
  const response = await fetch(new URL("/local/price", endpoint), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: record.pythPriceId, price: units.toString(), publishTime }),
  }).catch((error: unknown) => {
    throw new CliError(`the price service at ${endpoint} cannot be reached (npm run price-service): ${(error as Error).message}`);
  });
  if (!response.ok) throw new CliError(`the price service at ${endpoint} refused the price: ${response.status} ${(await response.text()).trim()}`);
  const source = new HermesPriceSource({ endpoint, httpRetries: 1 });
  const ids = deployment.markets.map((m) => m.pythPriceId).filter((id): id is string => id !== undefined);
  const { updateData } = await source.latest(ids);
  let fee = 0n;
  for (const m of deployment.markets) fee += await IPriceFeed__factory.connect(m.priceFeed, client.provider).getUpdateFee(updateData);
  const book = IOrderBook__factory.connect(deployment.contracts.OrderBook, wallet);
  return withPerpErrors(async () => {
    const tx = await book.pokePrices(
      deployment.markets.map((m) => m.id),
      updateData,
      { value: fee },
    );
    const mined = await tx.wait();
    if (!mined) throw new CliError("the transaction was dropped");
    return mined;
  });
}

export function register(program: Command, ctx: ContextOf): void {
  const dev = program.command("dev").description("local development chains only: move the local oracles");
  dev
    .command("set-price")
    .description("set a market's price on a local deployment (the local price service + pokePrices, or a MockAggregator)")
    .argument("<market>", "market symbol or id")
    .argument("<usd>", "the new price in USD, e.g. 1900", decimal("the price"))
    .option("--prices <url>", "the local price service (default: the deployment's hermesUrl)", urlArg)
    .action(async (market: string, usd: string, opts: { prices?: string }, command: Command) => {
      const c = ctx(command);
      await c.session(true, async ({ client, deployment, wallet }) => {
        requireLocalChain(deployment, "dev set-price (the mock oracle's open setter)");
        const info = await client.market(market);
        const record = deployment.markets.find((m) => m.id === info.id);
        if (record?.pythPriceId) {
          const receipt = await setPythPrice(client, deployment, wallet!, info.id, usd, opts.prices);
          const after = await client.market(info.id);
          c.print(
            () => `Published ${info.symbol} at ${usd} USD on the price service and pushed it in ${receipt.hash} (block ${receipt.blockNumber}); index price ${price(after.price)}`,
            () => ({ action: "dev set-price", marketId: info.id, indexPrice: after.price, transaction: receiptJson(receipt) }),
          );
          return;
        }
        if (!record?.aggregator) throw new CliError(`the deployment records no mock aggregator for ${info.symbol}`);
        const aggregator = MockAggregator__factory.connect(record.aggregator, wallet);
        const decimals = Number(await aggregator.decimals());
        const answer = parseDecimal(usd, decimals);
        if (answer <= 0n) throw new CliError("the price must be positive");
        const receipt = await withPerpErrors(async () => {
          const tx = await aggregator.setAnswer(answer);
          const mined = await tx.wait();
          if (!mined) throw new CliError("the transaction was dropped");
          return mined;
        });
        const after = await client.market(info.id);
        c.print(
          () => `Set ${info.symbol}'s mock oracle to ${usd} USD in ${receipt.hash} (block ${receipt.blockNumber}); index price ${price(after.price)}`,
          () => ({ action: "dev set-price", marketId: info.id, answer, indexPrice: after.price, transaction: receiptJson(receipt) }),
        );
      });
    });
}
