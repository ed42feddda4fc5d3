/**
 * Transactions the keeper sent and waits for, with fee bumping: one that stays in the pool past `bumpAfterMs` is
 * signed again at the same nonce with fees 10 % + 1 wei higher (or the market's, if higher), at most `maxBumps`
 * times. Every hash signed for the nonce is watched, since any one of them may be the one mined; only one can be.
 *
 * A replacement rather than a second transaction: one at the next nonce would queue behind the stuck one (a nonce
 * gap is never mined past), and if both landed the second would only pay gas for units the first already took.
 */
import type { Provider, TransactionReceipt } from "ethers";

import { abortableDelay, replacementFees, withRetry, type Replacement, type RetryOptions, type SentTransaction, type TransactionSender } from "@perp/sdk";

/** When and how often a pending transaction is replaced. */
export interface FeeBumpPolicy {
  /** Time without a receipt before a replacement (default 30,000 ms; a few blocks on any chain the keeper serves). */
  readonly bumpAfterMs?: number;
  /** Replacements of one transaction at most (default 3: about +33 % fees); then it waits for `txTimeoutMs`. */
  readonly maxBumps?: number;
  /** Percent of each bump (default 10, the least a geth pool accepts; each bump adds one wei on top). */
  readonly bumpPercent?: bigint;
  /** No replacement would pay a fee cap above this (wei per gas; default: no cap). */
  readonly maxFeePerGas?: bigint;
}

/** What happened to a pending transaction in one `poll`. */
export type PollOutcome =
  | { readonly kind: "mined"; readonly receipt: TransactionReceipt; readonly bumps: number }
  | { readonly kind: "pending" }
  | { readonly kind: "bumped"; readonly hash: string; readonly bumps: number; readonly maxFeePerGas: bigint | null; readonly gasPrice: bigint | null }
  | { readonly kind: "bump-refused"; readonly reason: string }
  /**
   * The nonce is used on chain (below the account's mined count, read before the receipts) and none of its hashes
   * has a receipt: a transaction the sender cannot name took it (the key's other user; or, after a node restarted
   * from a state dump, the lost-answer original of a call the sender signed again). Nothing at these hashes can be
   * mined any more: stop waiting, and let the next run re-read what is left to do.
   */
  | { readonly kind: "superseded" };

/** One nonce's transactions: the first and its replacements. */
export class PendingTransaction {
  /** Every hash signed at this nonce, oldest first. */
  readonly hashes: string[];
  private current: SentTransaction;
  private lastSentAt: number;
  private bumpCount = 0;
  private exhausted = false;

  constructor(sent: SentTransaction, now: number = Date.now()) {
    this.current = sent;
    this.hashes = [sent.hash];
    this.lastSentAt = now;
  }

  get nonce(): number {
    return this.current.nonce;
  }

  /** The latest replacement's hash (the original's before any bump). */
  get hash(): string {
    return this.current.hash;
  }

  get bumps(): number {
    return this.bumpCount;
  }

  /** The receipt of whichever of the nonce's hashes was mined, or null; never sends anything. */
  async receipt(provider: Provider, retry: RetryOptions): Promise<TransactionReceipt | null> {
    const receipts = await withRetry(() => Promise.all(this.hashes.map((hash) => provider.getTransactionReceipt(hash))), retry);
    return receipts.find((r): r is TransactionReceipt => r !== null) ?? null;
  }

  /**
   * Looks for a receipt of any of the nonce's hashes; without one, replaces the transaction when the policy says so.
   * Receipt reads are retried with `retry`; a refused replacement is reported and tried again `bumpAfterMs` later.
   */
  async poll(provider: Provider, sender: TransactionSender, policy: FeeBumpPolicy, retry: RetryOptions, minedCount?: number): Promise<PollOutcome> {
    const now = Date.now();
    const receipt = await this.receipt(provider, retry);
    if (receipt) return { kind: "mined", receipt, bumps: this.bumpCount };
    if (minedCount !== undefined && this.nonce < minedCount) return { kind: "superseded" };
    if (this.exhausted || this.bumpCount >= (policy.maxBumps ?? 3) || now - this.lastSentAt < (policy.bumpAfterMs ?? 30_000)) {
      return { kind: "pending" };
    }
    let replacement: Replacement;
    try {
      const market = await withRetry(() => provider.getFeeData(), retry);
      const fees = replacementFees(this.current.signed?.fees ?? market, market, policy.bumpPercent);
      const cap = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
      if (policy.maxFeePerGas !== undefined && cap > policy.maxFeePerGas) {
        this.exhausted = true;
        return { kind: "bump-refused", reason: `the replacement's fee cap ${cap} wei/gas is above the keeper's maxFeePerGas ${policy.maxFeePerGas}` };
      }
      replacement = await sender.replace(this.current, fees, policy.bumpPercent);
    } catch (error) {
      // Tried again after another bumpAfterMs, not at every poll.
      this.lastSentAt = now;
      return { kind: "bump-refused", reason: (error as Error).message };
    }
    // Mined meanwhile (the nonce is used): the next poll finds the receipt.
    if (replacement.outcome === "mined") return { kind: "pending" };
    const signed = replacement.sent.signed!.fees;
    this.current = replacement.sent;
    this.hashes.push(replacement.sent.hash);
    this.bumpCount += 1;
    this.lastSentAt = now;
    return { kind: "bumped", hash: replacement.sent.hash, bumps: this.bumpCount, maxFeePerGas: signed.maxFeePerGas, gasPrice: signed.gasPrice };
  }
}

/**
 * The sender's mined transaction count (`latest`), for `PendingTransaction.poll`'s `minedCount`; undefined when it
 * cannot be read (the poll then only waits). Read it before the receipts, so that a nonce below it without a
 * receipt was already used when the receipts were read. Callers skip it on their first poll, which usually finds
 * the receipts (one request fewer on the common path).
 */
export async function minedCount(provider: Provider, sender: TransactionSender, retry: RetryOptions): Promise<number | undefined> {
  return withRetry(async () => provider.getTransactionCount(await sender.signer.getAddress(), "latest"), retry).catch(() => undefined);
}

/** How `awaitMined` and `waitMined` poll. */
export interface WaitOptions {
  readonly provider: Provider;
  readonly sender: TransactionSender;
  readonly policy: FeeBumpPolicy;
  /** Receipt and fee reads (without an abort signal: a stopping keeper still waits for what it sent). */
  readonly retry: RetryOptions;
  readonly timeoutMs: number;
  /** Between polls (default 500 ms). */
  readonly pollMs?: number;
  /** Each poll's outcome other than "pending" (bumps for the logs and metrics). */
  readonly onOutcome?: (outcome: PollOutcome, tx: PendingTransaction) => void;
}

/** What `awaitMined` reports of each transaction it watches: every item ends mined, superseded or timed out. */
export interface MinedHandlers<T> {
  /** Each poll's outcome other than "pending", before the item's end (bumps, for the logs and metrics). */
  polled?(item: T, outcome: PollOutcome): void;
  /** A receipt of one of its nonce's hashes (a revert too: `receipt.status`). */
  mined(item: T, receipt: TransactionReceipt): void;
  /** Its nonce was used by another transaction of the key (the sender's nonce is re-read first). */
  superseded(item: T): void;
  /** Still without a receipt when `timeoutMs` ran out (the sender's nonce is re-read first). */
  timedOut(items: readonly T[]): void;
}

/**
 * Polls every item's nonce at once (`PendingTransaction.poll`: receipts of every hash, fee bumps by `policy`) until
 * each is mined, superseded or out of time: the one wait of the liquidation batches, the order batches and the LP
 * settlements. A poll that fails (the node down, a reorg) counts as pending: the item ends mined after the node is
 * back, or timed out. From the second round on the account's mined count is read first, so that a nonce used without
 * a receipt of ours is "superseded" at once instead of waited for until `timeoutMs`.
 */
export async function awaitMined<T extends { readonly tx: PendingTransaction }>(
  items: readonly T[],
  options: Omit<WaitOptions, "onOutcome">,
  on: MinedHandlers<T>,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let open = [...items];
  for (let round = 0; open.length > 0; round++) {
    const used = round === 0 ? undefined : await minedCount(options.provider, options.sender, options.retry);
    const outcomes = await Promise.all(
      open.map((item) => item.tx.poll(options.provider, options.sender, options.policy, options.retry, used).catch((): PollOutcome => ({ kind: "pending" }))),
    );
    const still: T[] = [];
    open.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome.kind !== "pending") on.polled?.(item, outcome);
      if (outcome.kind === "mined") return on.mined(item, outcome.receipt);
      if (outcome.kind === "superseded") {
        options.sender.resetNonce();
        return on.superseded(item);
      }
      still.push(item);
    });
    open = still;
    if (open.length === 0) return;
    if (Date.now() > deadline) {
      options.sender.resetNonce();
      return on.timedOut(open);
    }
    await abortableDelay(options.pollMs ?? 500);
  }
}

/**
 * `awaitMined` of one transaction sent on its own (the LP settlements), with the same fee-bump policy as the batches.
 * Throws when none of its hashes is mined within `timeoutMs`, its nonce was taken, or the mined one reverted.
 */
export async function waitMined(sent: SentTransaction, options: WaitOptions): Promise<{ receipt: TransactionReceipt; tx: PendingTransaction }> {
  const tx = new PendingTransaction(sent);
  let result: TransactionReceipt | Error = new Error(`transaction ${tx.hash}: no outcome`);
  await awaitMined([{ tx }], options, {
    polled: (_, outcome) => options.onOutcome?.(outcome, tx),
    mined: (_, receipt) => {
      result = receipt.status === 1 ? receipt : new Error(`transaction ${receipt.hash} (nonce ${tx.nonce}) reverted`);
    },
    superseded: () => {
      result = new Error(`transaction ${tx.hash} (nonce ${tx.nonce}) can no longer be mined: another transaction of the key used its nonce`);
    },
    timedOut: () => {
      result = new Error(`transaction ${tx.hash} (nonce ${tx.nonce}, ${tx.bumps} fee bumps) not mined after ${options.timeoutMs} ms`);
    },
  });
  if (result instanceof Error) throw result;
  return { receipt: result, tx };
}
