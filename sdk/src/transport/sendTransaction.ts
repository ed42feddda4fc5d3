/**
 * The one send policy of the SDK, used by `PerpClient` and the keeper alike: gas estimated (a revert surfaces
 * there, decoded) and padded, the nonce chosen by the sender (read past ethers' request cache), and, as options,
 * local signing with a retried broadcast that recognises its own transaction.
 *
 * @packageDocumentation
 */
import {
  isError,
  keccak256,
  type ContractTransaction,
  type FeeData,
  type Provider,
  type Signer,
  type TransactionReceipt,
  type TransactionRequest,
  type TransactionResponse,
} from "ethers";

import { DEFAULT_GAS_MARGIN_PERCENT } from "../constants.js";
import { PerpContractError, PerpError, PerpTransportError, isNonceError, toPerpError, withRetry, type RetryOptions } from "../errors.js";
import { replacementFees, type TransactionFees } from "./feeBump.js";
import { pendingNonce } from "./latestBlock.js";
import { hasRawRequests, rawRequest } from "./rawRpc.js";

/**
 * How a transaction is signed. `"signer"`: the signer sends it (any wallet: browser, node account, ethers
 * `Wallet`). `"local"`: signed with `signTransaction`, then broadcast by the provider (the hash is known before the
 * broadcast, so a broadcast whose answer is lost is retried and recognised). `"auto"`: local when the signer can
 * sign without sending, else through the signer (decided once).
 */
export type SigningMode = "signer" | "local" | "auto";

/**
 * How nonces are chosen. `"node"`: before every send, the node's pending count (read past ethers' 250 ms request
 * cache) or the one after the sender's own last transaction if that is higher. `"local"`: read once, then counted
 * locally until `resetNonce()` (one request fewer per transaction; for a sender that owns its account).
 */
export type NoncePolicy = "node" | "local";

/** Something the sender decided on its own, for logs. */
export type SendNotice =
  | { readonly kind: "signing-through-signer"; readonly reason: string }
  | { readonly kind: "nonce-retry"; readonly nonce: number; readonly error: string };

/** Options of `TransactionSender`: the send policy. */
export interface SendPolicy {
  /** Gas limit = estimate x (100 + this) / 100 (default 25: some nodes, anvil among them, estimate nested calls too tightly). */
  readonly gasMarginPercent?: number;
  /** Default `"node"`. */
  readonly nonce?: NoncePolicy;
  /** Default `"signer"`. */
  readonly signing?: SigningMode;
  /** Retries of the sender's reads and of a local broadcast (default: one attempt, no retry). */
  readonly retry?: RetryOptions;
  /**
   * Attempts of one transaction whose nonce the node refused (default 3): taken meanwhile by another sender, or too
   * high because the chain was reset under the sender (a restarted local node). The nonce is re-read each time.
   */
  readonly nonceAttempts?: number;
  /** The chain id to sign for (default: the provider's). */
  readonly chainId?: number | bigint;
  /** The provider to read and broadcast through (default: the signer's). */
  readonly provider?: Provider;
  /** Told when the sender falls back to the signer or re-signs after a nonce clash. */
  readonly onNotice?: (notice: SendNotice) => void;
}

/** A transaction to send: a populated contract call, plus optional gas and fees. */
export interface SendRequest {
  readonly to: string;
  readonly data: string;
  readonly value?: bigint;
  /** Gas estimate (before the margin); estimated when absent. */
  readonly gas?: bigint;
  /**
   * The gas limit itself, signed as given without the margin (`gas` is then not used): for a limit that is already
   * a bound, such as the keeper's from a simulation's gas used (refunds and nested calls' 1/64 counted in).
   */
  readonly gasLimit?: bigint;
  /** Fees of a locally signed transaction (default: the provider's fee data). Ignored when the signer sends. */
  readonly fees?: Pick<FeeData, "gasPrice" | "maxFeePerGas" | "maxPriorityFeePerGas">;
}

/** A broadcast transaction. */
export interface SentTransaction {
  readonly hash: string;
  readonly nonce: number;
  readonly gasLimit: bigint;
  /** The signer's response, when the signer sent it. */
  readonly response?: TransactionResponse;
  /** What was signed, when signed locally: enough to sign a replacement at the same nonce (`replace`). */
  readonly signed?: { readonly to: string; readonly data: string; readonly value?: bigint; readonly fees: TransactionFees };
}

/**
 * What `replace` found: `"replaced"` a higher-fee transaction at the same nonce is in the pool (`sent`); `"mined"`
 * the node refuses the nonce as used, so a transaction at it (the original or an earlier replacement) was mined.
 */
export type Replacement = { readonly outcome: "replaced"; readonly sent: SentTransaction } | { readonly outcome: "mined" };

/** Errors `TransactionSender` methods throw. */
export type SendTransactionErrorType = PerpError;

/**
 * Sends transactions for one signer under one policy, and remembers the nonce after its last transaction.
 * @example
 * ```ts
 * const sender = new TransactionSender(wallet, { signing: "auto", nonce: "local", retry: { attempts: 5 } });
 * const sent = await sender.submit({ to: engine, data, gas: estimate, fees });   // broadcast, not awaited
 * const receipt = await sender.wait(sent, 120_000);
 * ```
 */
export class TransactionSender {
  readonly signer: Signer;
  readonly provider: Provider;
  private readonly policy: Required<Pick<SendPolicy, "gasMarginPercent" | "nonce" | "nonceAttempts">> & SendPolicy;
  private next: number | undefined;
  private signing: "signer" | "local" | "auto";
  private address: string | undefined;
  private chainId: bigint | undefined;

  constructor(signer: Signer, policy: SendPolicy = {}) {
    const provider = policy.provider ?? signer.provider;
    if (!provider) throw new PerpError("the signer has no provider");
    this.signer = signer;
    this.provider = provider;
    this.policy = {
      ...policy,
      gasMarginPercent: policy.gasMarginPercent ?? DEFAULT_GAS_MARGIN_PERCENT,
      nonce: policy.nonce ?? "node",
      nonceAttempts: policy.nonceAttempts ?? 3,
    };
    this.signing = policy.signing ?? "signer";
    this.chainId = policy.chainId === undefined ? undefined : BigInt(policy.chainId);
  }

  /** The nonce the next transaction will use at least (undefined before the first, or after `resetNonce`). */
  get nextNonce(): number | undefined {
    return this.next;
  }

  /** Forgets the locally counted nonce: the next send reads the node's pending count (after a time-out, a clash). */
  resetNonce(): void {
    this.next = undefined;
  }

  /** The gas limit the policy gives an estimate. */
  gasLimit(estimate: bigint): bigint {
    return (estimate * BigInt(100 + this.policy.gasMarginPercent)) / 100n;
  }

  /**
   * Broadcasts one transaction and returns without waiting for it to be mined.
   * @example const { hash } = await sender.submit(await engine.deposit.populateTransaction(units))
   */
  async submit(request: SendRequest | ContractTransaction): Promise<SentTransaction> {
    try {
      return await this.submitInner(request);
    } catch (error) {
      throw toPerpError(error);
    }
  }

  /**
   * Broadcasts one transaction and waits for its receipt (a revert throws, decoded).
   * @example const receipt = await sender.send(await engine.withdraw.populateTransaction(units, me))
   */
  async send(request: SendRequest | ContractTransaction, timeoutMs?: number): Promise<TransactionReceipt> {
    return this.wait(await this.submit(request), timeoutMs);
  }

  /**
   * The receipt of a transaction this sender broadcast.
   * @throws PerpError when it was dropped or not mined within `timeoutMs`; the decoded revert when it reverted.
   */
  async wait(sent: SentTransaction, timeoutMs?: number): Promise<TransactionReceipt> {
    let receipt: TransactionReceipt | null;
    try {
      receipt = sent.response
        ? await sent.response.wait(1, timeoutMs)
        : await this.provider.waitForTransaction(sent.hash, 1, timeoutMs);
    } catch (error) {
      if (isError(error, "TIMEOUT")) this.resetNonce();
      if (isError(error, "CALL_EXCEPTION") && error.receipt) throw await this.minedRevert(sent.hash, error.receipt, error);
      throw toPerpError(error);
    }
    if (!receipt) throw new PerpError("the transaction was dropped");
    if (receipt.status !== 1) throw await this.minedRevert(sent.hash, receipt);
    return receipt;
  }

  /**
   * Why a mined transaction reverted: a receipt carries no revert data, so the call is replayed on the state its
   * block left. That state holds what a transaction it raced with changed (the usual cause: another account settled
   * or liquidated first), so the replay gives the contract's error, decoded; when the replay succeeds (the state that
   * made it fail is gone) or cannot be made, a `PerpTransportError` names the transaction and its block.
   */
  private async minedRevert(hash: string, receipt: TransactionReceipt, cause?: unknown): Promise<PerpError> {
    const fallback = new PerpTransportError(`transaction ${hash} reverted in block ${receipt.blockNumber}`, undefined, { cause });
    let tx: TransactionResponse | null;
    try {
      tx = await this.provider.getTransaction(hash);
    } catch {
      return fallback;
    }
    if (tx === null) return fallback;
    try {
      await this.provider.call({ from: tx.from, to: tx.to, data: tx.data, value: tx.value, gasLimit: tx.gasLimit, blockTag: receipt.blockNumber });
    } catch (error) {
      const decoded = toPerpError(error);
      if (decoded instanceof PerpContractError) return decoded;
    }
    return fallback;
  }

  /**
   * Signs `sent` again at its nonce with higher fees (`replacementFees`: +10 % + 1 wei, or the market's if higher)
   * and broadcasts it, so that a transaction stuck in the pool is replaced rather than a second one sent. Only one
   * transaction per nonce can ever be mined, whichever of the original and its replacements it is.
   * @throws PerpError when `sent` was not signed locally, or the node refuses the replacement for another reason.
   */
  async replace(sent: SentTransaction, current?: TransactionFees, percent?: bigint): Promise<Replacement> {
    if (!sent.signed) throw new PerpError("only a locally signed transaction can be replaced (its fields are not known)");
    const retry = this.policy.retry ?? { attempts: 1 };
    const fees = replacementFees(sent.signed.fees, current, percent);
    const tx = { to: sent.signed.to, data: sent.signed.data, ...(sent.signed.value ? { value: sent.signed.value } : {}) };
    try {
      const raw = await this.signLocally(tx, sent.nonce, sent.gasLimit, fees, retry);
      if (raw === undefined) throw new PerpError("the signer cannot sign locally: a replacement needs local signing");
      const hash = keccak256(raw);
      try {
        await withRetry(async () => {
          try {
            await this.broadcast(raw);
          } catch (error) {
            if (/already known|known transaction|already imported/i.test(toPerpError(error).message)) return;
            throw error;
          }
        }, retry);
      } catch (error) {
        // "nonce too low": the nonce is used on chain. An underpriced replacement is not that (NONCE_EXPIRED only).
        if (isError(error, "NONCE_EXPIRED") || /nonce too low|nonce has already been used/i.test(toPerpError(error).message)) return { outcome: "mined" };
        throw error;
      }
      return { outcome: "replaced", sent: { hash, nonce: sent.nonce, gasLimit: sent.gasLimit, signed: { ...sent.signed, fees } } };
    } catch (error) {
      throw toPerpError(error);
    }
  }

  private async submitInner(request: SendRequest | ContractTransaction): Promise<SentTransaction> {
    const retry = this.policy.retry ?? { attempts: 1 };
    const from = (this.address ??= await this.signer.getAddress());
    const tx = { to: request.to, data: request.data, ...(request.value ? { value: request.value } : {}) };
    const given = "gasLimit" in request && request.gasLimit !== undefined && request.gasLimit !== null ? BigInt(request.gasLimit) : undefined;
    const estimate =
      given !== undefined ? undefined : "gas" in request && request.gas !== undefined ? request.gas : await this.signer.estimateGas({ ...tx, from });
    const gasLimit = given ?? this.gasLimit(estimate!);
    for (let attempt = 1; ; attempt++) {
      const nonce = await this.chooseNonce(from, retry);
      if (this.signing !== "signer") {
        const given = "fees" in request ? request.fees : undefined;
        const fees = given ?? (await withRetry(() => this.provider.getFeeData(), retry));
        const raw = await this.signLocally(tx, nonce, gasLimit, fees, retry);
        if (raw !== undefined) {
          const signed = { ...tx, fees: { gasPrice: fees.gasPrice, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas } };
          const hash = keccak256(raw);
          // Attempts of this broadcast: after a failed one (a time-out, a dropped connection) the node may have
          // taken the transaction even though no answer came back.
          let broadcasts = 0;
          try {
            await withRetry(async () => {
              broadcasts += 1;
              try {
                await this.broadcast(raw);
              } catch (error) {
                // A retry of a broadcast that reached the node the first time.
                if (/already known|known transaction|already imported/i.test(toPerpError(error).message)) return;
                throw error;
              }
            }, retry);
            this.next = nonce + 1;
            return { hash, nonce, gasLimit, signed };
          } catch (error) {
            if (!isNonceError(error) || attempt >= this.policy.nonceAttempts) throw error;
            // Our own earlier broadcast may have been mined in between; otherwise another sender used the nonce.
            const known = await withRetry(() => this.provider.getTransaction(hash), retry).catch(() => null);
            // Not known, after a retried broadcast: accepted only if the transaction mined at the nonce is ours, or
            // that cannot be told (the node keeps no history that far back); another sender's means ours never landed.
            const mined = known || broadcasts < 2 ? undefined : await this.minedHashAt(from, nonce, retry).catch(() => undefined);
            if (known || (broadcasts > 1 && (mined === undefined || mined === hash))) {
              // Known: ours was mined. Not known but an earlier attempt may have reached the node: a node restarted
              // from a state dump can have mined it and not know it by hash (anvil). Signing the same call again
              // at the next nonce would send it twice (issue 12's node-restart test once saw 5 transactions for 4):
              // it counts as sent at this nonce, and the receipt (or its time-out) says what became of it.
              this.next = nonce + 1;
              return { hash, nonce, gasLimit, signed };
            }
            this.policy.onNotice?.({ kind: "nonce-retry", nonce, error: toPerpError(error).message });
            this.next = undefined;
            continue;
          }
        }
      }
      // Through the signer: without the raw transaction its hash is unknown until the node answers, so a lost answer
      // is not retried; a nonce the node refused is (nothing was sent).
      let response: TransactionResponse;
      try {
        response = await this.signer.sendTransaction({ ...tx, gasLimit, nonce });
      } catch (error) {
        if (!isNonceError(error) || attempt >= this.policy.nonceAttempts) throw error;
        this.policy.onNotice?.({ kind: "nonce-retry", nonce, error: toPerpError(error).message });
        this.next = undefined;
        continue;
      }
      this.next = response.nonce + 1;
      return { hash: response.hash, nonce: response.nonce, gasLimit, response };
    }
  }

  /**
   * `eth_sendRawTransaction` of a locally signed transaction. On an ethers JSON-RPC provider posted as such: its
   * `broadcastTransaction` also reads the block number and re-parses the transaction (its sender recovered from the
   * signature), 30 ms a transaction against 3 ms for the request on a local node. Errors are ethers' own mapping.
   */
  private async broadcast(raw: string): Promise<void> {
    if (hasRawRequests(this.provider, "broadcastTransaction")) {
      await rawRequest(this.provider, "eth_sendRawTransaction", [raw]);
      return;
    }
    await this.provider.broadcastTransaction(raw);
  }

  /**
   * The hash of the transaction of `from` mined at `nonce` within the last `window` blocks (binary search on the
   * account's nonce by block, then that block's transactions); undefined when it is not found there.
   */
  private async minedHashAt(from: string, nonce: number, retry: RetryOptions, window = 256): Promise<string | undefined> {
    const count = (block: number) => withRetry(() => this.provider.getTransactionCount(from, block), retry);
    let hi = await withRetry(() => this.provider.getBlockNumber(), retry);
    let lo = Math.max(0, hi - window);
    if ((await count(hi)) <= nonce || (await count(lo)) > nonce) return undefined;
    // count(lo) <= nonce < count(hi): the block that used the nonce is in (lo, hi].
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await count(mid)) > nonce) hi = mid;
      else lo = mid;
    }
    const block = await withRetry(() => this.provider.getBlock(hi, true), retry);
    const me = from.toLowerCase();
    return block?.prefetchedTransactions.find((tx) => tx.from.toLowerCase() === me && tx.nonce === nonce)?.hash;
  }

  private async chooseNonce(from: string, retry: RetryOptions): Promise<number> {
    if (this.policy.nonce === "local" && this.next !== undefined) return this.next;
    const pending = await withRetry(() => pendingNonce(this.provider, from), retry);
    return this.next !== undefined && this.next > pending ? this.next : pending;
  }

  /** The signed raw transaction, or undefined when the signer cannot sign without sending (`"auto"` only). */
  private async signLocally(
    tx: { to: string; data: string; value?: bigint },
    nonce: number,
    gasLimit: bigint,
    given: SendRequest["fees"] | undefined,
    retry: RetryOptions,
  ): Promise<string | undefined> {
    this.chainId ??= (await withRetry(() => this.provider.getNetwork(), retry)).chainId;
    const fees = given ?? (await withRetry(() => this.provider.getFeeData(), retry));
    const request: TransactionRequest = {
      ...tx,
      nonce,
      gasLimit,
      chainId: this.chainId,
      ...(fees.maxFeePerGas != null && fees.maxPriorityFeePerGas != null
        ? { type: 2, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
        : { type: 0, gasPrice: fees.gasPrice ?? 0n }),
    };
    try {
      const raw = await this.signer.signTransaction(request);
      if (this.signing === "auto") this.signing = "local";
      return raw;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const unsupported = isError(error, "UNSUPPORTED_OPERATION") || /not implemented|not supported|unsupported/i.test(message);
      if (this.signing !== "auto" || !unsupported) throw error;
      this.signing = "signer";
      this.policy.onNotice?.({ kind: "signing-through-signer", reason: message });
      return undefined;
    }
  }
}
