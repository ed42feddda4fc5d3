/**
 * The LP part of the order keeper: settles the vault's ERC-7540 requests (`requestDeposit` / `requestRedeem`) once
 * `lpSettleDelay` has passed, for the fee escrowed with each (contracts/LiquidityVault.sol, SPEC "LP vault").
 *
 * Each run: scan the vault's `DepositRequest` / `RedeemRequest` events since the last run (one `eth_getLogs` each)
 * into the set of controllers with a request, read each one's pending requests, and for those due: push the latest
 * price of every Pyth market first (`OrderBook.pokePrices`; the vault prices a request at the NAV of the engine's
 * price cache, which must hold prices published after the request, RT-01b), then simulate and send one
 * `settleDeposit` / `settleRedeem` per request. Races are harmless: a request another keeper settled first is gone
 * from the simulation's view (`RequestNotDue`/no pending request) and nothing is sent. Each transaction is waited for
 * like the order and liquidation batches (sender.ts `waitMined`): one that stays in the pool past the keeper's
 * `feeBump.bumpAfterMs` is replaced at its nonce with higher fees, so a stuck price push does not hold the
 * settlements (and every later transaction of the key) behind it.
 */
import { getAddress, type FeeData, type TransactionReceipt } from "ethers";

import { TransactionSender, toPerpError, withRetry, type PerpClient, type RetryOptions } from "@perp/sdk";
import { IOrderBook__factory, IPriceFeed__factory, LiquidityVault__factory } from "@perp/sdk/contracts";
import type { PriceSource } from "@perp/sdk/prices";

import type { Logger } from "./logger.js";
import type { KeeperMetrics } from "./metrics.js";
import { waitMined, type FeeBumpPolicy } from "./sender.js";

export type LpRequestKind = "deposit" | "redeem";

export interface LpSettlement {
  readonly kind: LpRequestKind;
  readonly controller: string;
}

export interface LpRunSummary {
  /** Requests found due at the run's block. */
  readonly due: number;
  /** Requests this keeper settled (a `DepositSettled` / `RedeemSettled` naming it). */
  readonly settled: number;
  /** Their escrowed fees, in collateral token units. */
  readonly fees: bigint;
  /** Transactions mined (the price push included). */
  readonly transactions: number;
  readonly gasUsed: bigint;
  readonly errors: readonly string[];
}

export class LpRequestSettler {
  private readonly vault;
  private readonly controllers = new Set<string>();
  private scannedTo: number;

  constructor(
    private readonly client: PerpClient,
    private readonly options: {
      readonly orderBook: string;
      readonly prices: PriceSource;
      /** Pyth price id per market id (markets without one take no update data). */
      readonly priceIds: ReadonlyMap<number, string>;
      readonly sender: TransactionSender;
      readonly address: string;
      readonly fromBlock: number;
      readonly retry: RetryOptions;
      readonly txTimeoutMs: number;
      /** The order keeper's fee-bump policy (default: after 30 s, at most 3 bumps of 10 % + 1 wei). */
      readonly feeBump?: FeeBumpPolicy;
      readonly pollMs?: number;
      readonly metrics?: KeeperMetrics;
      readonly log: Logger;
      /**
       * How a price-source request is made: the order keeper's `priceRequest` (a 429, 5xx or time-out tried again
       * within the run, like its other price fetches). Default: once.
       */
      readonly priceRequest?: <T>(request: () => Promise<T>) => Promise<T>;
    },
  ) {
    this.vault = LiquidityVault__factory.connect(client.deployment.contracts.LiquidityVault, client.provider);
    this.scannedTo = options.fromBlock - 1;
  }

  /** Forgets what was scanned (the chain under it changed). */
  reset(): void {
    this.controllers.clear();
    this.scannedTo = this.options.fromBlock - 1;
  }

  /** The requests due at `block` (time `timestamp`), after scanning the events up to it. */
  async due(block: number, timestamp: bigint): Promise<LpSettlement[]> {
    const { retry } = this.options;
    if (block > this.scannedTo) {
      const [deposits, redeems] = await withRetry(
        () =>
          Promise.all([
            this.vault.queryFilter(this.vault.filters.DepositRequest(), this.scannedTo + 1, block),
            this.vault.queryFilter(this.vault.filters.RedeemRequest(), this.scannedTo + 1, block),
          ]),
        retry,
      );
      for (const event of [...deposits, ...redeems]) this.controllers.add(getAddress(event.args.controller));
      this.scannedTo = block;
    }
    if (this.controllers.size === 0) return [];
    const delay = await withRetry(() => this.vault.lpSettleDelay({ blockTag: block }), retry);
    const due: LpSettlement[] = [];
    for (const controller of [...this.controllers]) {
      const [deposit, redeem] = await withRetry(
        () => Promise.all([this.vault.pendingDeposit(controller, { blockTag: block }), this.vault.pendingRedeem(controller, { blockTag: block })]),
        retry,
      );
      // A controller with nothing pending leaves the set until its next request event.
      if (deposit.requestedAt === 0n && redeem.requestedAt === 0n) this.controllers.delete(controller);
      if (deposit.requestedAt !== 0n && timestamp >= deposit.requestedAt + delay) due.push({ kind: "deposit", controller });
      if (redeem.requestedAt !== 0n && timestamp >= redeem.requestedAt + delay) due.push({ kind: "redeem", controller });
    }
    return due;
  }

  /** Pushes fresh prices and settles `due`, one transaction each; waits for every receipt. */
  async settle(due: readonly LpSettlement[], fees: FeeData): Promise<LpRunSummary> {
    const errors: string[] = [];
    let transactions = 0;
    let gasUsed = 0n;
    let settled = 0;
    let paid = 0n;
    if (due.length === 0) return { due: 0, settled, fees: paid, transactions, gasUsed, errors };
    const { sender, log } = this.options;
    const mined = (receipt: TransactionReceipt) => {
      transactions += 1;
      gasUsed += receipt.gasUsed;
    };
    sender.resetNonce();
    try {
      const poke = await this.pokeRequest();
      if (poke !== undefined) mined(await this.sendAndWait({ ...poke, fees }, "price push"));
    } catch (error) {
      // Without fresh prices the vault would price the requests at a cache older than them: wait for the next run.
      const message = `pushing prices before the LP settlements failed: ${toPerpError(error).message}`;
      log.error({ error: message }, "LP settlement skipped");
      return { due: due.length, settled, fees: paid, transactions, gasUsed, errors: [message] };
    }
    const me = this.options.address.toLowerCase();
    for (const request of due) {
      const data =
        request.kind === "deposit"
          ? this.vault.interface.encodeFunctionData("settleDeposit", [request.controller])
          : this.vault.interface.encodeFunctionData("settleRedeem", [request.controller]);
      const tx = { to: this.vault.target as string, data, from: this.options.address };
      let gas: bigint;
      try {
        [, gas] = await withRetry(() => Promise.all([this.client.provider.call(tx), this.client.provider.estimateGas(tx)]), this.options.retry);
      } catch (error) {
        // Settled by someone else meanwhile, or refused (deposits closed, a zero settlement): the next run re-reads.
        log.info({ ...request, reason: toPerpError(error).message }, "LP settlement refused by the simulation; nothing sent");
        continue;
      }
      try {
        const receipt = await this.sendAndWait({ to: tx.to, data, gas, fees }, `settle ${request.kind}`);
        mined(receipt);
        for (const entry of receipt.logs) {
          if (entry.address.toLowerCase() !== tx.to.toLowerCase()) continue;
          const event = this.vault.interface.parseLog(entry);
          if ((event?.name === "DepositSettled" || event?.name === "RedeemSettled") && String(event.args.keeper).toLowerCase() === me) {
            settled += 1;
            paid += event.args.fee as bigint;
          }
        }
        log.info({ ...request, hash: receipt.hash, gasUsed: receipt.gasUsed }, "LP request settled");
      } catch (error) {
        const message = `settling the ${request.kind} request of ${request.controller} failed: ${toPerpError(error).message}`;
        errors.push(message);
        log.error({ error: message }, "LP settlement failed");
      }
    }
    return { due: due.length, settled, fees: paid, transactions, gasUsed, errors };
  }

  /** Broadcasts one transaction and waits for it, fee-bumped by the keeper's policy while it stays in the pool. */
  private async sendAndWait(request: { to: string; data: string; gas: bigint; value?: bigint; fees: FeeData }, what: string): Promise<TransactionReceipt> {
    const { sender, log, metrics } = this.options;
    const sent = await sender.submit(request);
    const { receipt } = await waitMined(sent, {
      provider: this.client.provider,
      sender,
      policy: this.options.feeBump ?? {},
      retry: { ...this.options.retry, signal: undefined },
      timeoutMs: this.options.txTimeoutMs,
      pollMs: Math.min(this.options.pollMs ?? 500, 500),
      onOutcome: (outcome, tx) => {
        if (outcome.kind === "bumped") {
          metrics?.feeBumps.inc();
          log.warn({ nonce: tx.nonce, hash: outcome.hash, bumps: outcome.bumps, what }, "LP transaction still pending; replaced with higher fees at the same nonce");
        } else if (outcome.kind === "bump-refused") {
          log.warn({ nonce: tx.nonce, reason: outcome.reason, what }, "fee bump not sent");
        }
      },
    });
    return receipt;
  }

  /** `pokePrices` of every Pyth market with the latest update, paying each feed's fee; undefined without Pyth markets. */
  private async pokeRequest(): Promise<{ to: string; data: string; value: bigint; gas: bigint } | undefined> {
    const markets = this.client.deployment.markets.filter((m) => this.options.priceIds.has(m.id));
    if (markets.length === 0) return undefined;
    const ids = [...new Set(markets.map((m) => this.options.priceIds.get(m.id)!))];
    const latest = () => this.options.prices.latest(ids);
    const { updateData } = await (this.options.priceRequest ? this.options.priceRequest(latest) : latest());
    const fees = await Promise.all(markets.map((m) => IPriceFeed__factory.connect(m.priceFeed, this.client.provider).getUpdateFee(updateData)));
    const value = fees.reduce((a, b) => a + b, 0n);
    const book = IOrderBook__factory.connect(this.options.orderBook, this.client.provider);
    const data = book.interface.encodeFunctionData("pokePrices", [markets.map((m) => m.id), updateData]);
    const gas = await this.client.provider.estimateGas({ to: this.options.orderBook, data, value, from: this.options.address });
    return { to: this.options.orderBook, data, value, gas };
  }
}
