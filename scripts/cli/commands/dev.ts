/**
 * `dev set-price <market> <usd>`: sets a local deployment's mock Chainlink answer (MockAggregator.setAnswer), to
 * move a market for keeper or liquidation testing. Refused on any chain but a local development one.
 */
import type { Command } from "commander";

import { parseDecimal, withPerpErrors } from "@perp/sdk";
import { requireLocalChain, type ContextOf } from "../context.js";
import { CliError } from "../errors.js";
import { price, receiptJson } from "../format.js";
import { decimal } from "../options.js";
import { MockAggregator__factory } from "@perp/sdk/contracts";

export function register(program: Command, ctx: ContextOf): void {
  const dev = program.command("dev").description("local development chains only: move the mock oracles");
  dev
    .command("set-price")
    .description("set a market's mock oracle price (MockAggregator) on a local deployment")
    .argument("<market>", "market symbol or id")
    .argument("<usd>", "the new price in USD, e.g. 1900", decimal("the price"))
    .action(async (market: string, usd: string, _opts: unknown, command: Command) => {
      const c = ctx(command);
      await c.session(true, async ({ client, deployment, wallet }) => {
        requireLocalChain(deployment, "dev set-price (the mock oracle's open setter)");
        const info = await client.market(market);
        const record = deployment.markets.find((m) => m.id === info.id);
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
