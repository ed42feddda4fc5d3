/**
 * Fees of a replacement transaction: the same nonce, paid enough more that nodes accept it in place of the one
 * stuck in their pool. Pure arithmetic, for browsers and Node alike.
 *
 * @packageDocumentation
 */
import type { FeeData } from "ethers";

/** The fields of `FeeData` a transaction is signed with: EIP-1559 (both set) or legacy (`gasPrice`). */
export type TransactionFees = Pick<FeeData, "gasPrice" | "maxFeePerGas" | "maxPriorityFeePerGas">;

/**
 * geth's txpool refuses a replacement unless both its fee cap and its tip are at least 10 % above the pending
 * transaction's (`--txpool.pricebump`, default 10); rounding down at exactly 10 % gets the replacement refused as
 * underpriced, so the bump is 10 % plus one wei. Other clients (Nethermind, Erigon, anvil) accept the same or less.
 */
export const MIN_REPLACEMENT_BUMP_PERCENT = 10n;

/** `value` raised by `percent` % plus one wei (the smallest amount strictly above the node's threshold). */
export function bumpedFee(value: bigint, percent: bigint = MIN_REPLACEMENT_BUMP_PERCENT): bigint {
  return value + (value * percent) / 100n + 1n;
}

/**
 * Fees for replacing a pending transaction signed with `previous`: each field bumped by `percent` (at least 10) plus
 * one wei, or the market's `current` fee where that is higher (the base fee rose meanwhile). An EIP-1559
 * transaction stays EIP-1559 and a legacy one legacy, since a replacement of another type may be refused.
 * @example const fees = replacementFees(sent.fees, await provider.getFeeData())
 */
export function replacementFees(previous: TransactionFees, current?: TransactionFees, percent: bigint = MIN_REPLACEMENT_BUMP_PERCENT): TransactionFees {
  if (percent < MIN_REPLACEMENT_BUMP_PERCENT) throw new RangeError(`a replacement needs a fee bump of at least ${MIN_REPLACEMENT_BUMP_PERCENT} %, not ${percent} %`);
  const higher = (a: bigint, b: bigint | null | undefined) => (b != null && b > a ? b : a);
  if (previous.maxFeePerGas != null && previous.maxPriorityFeePerGas != null) {
    const tip = higher(bumpedFee(previous.maxPriorityFeePerGas, percent), current?.maxPriorityFeePerGas);
    const cap = higher(bumpedFee(previous.maxFeePerGas, percent), current?.maxFeePerGas);
    // A cap below the tip is invalid (EIP-1559); the tip's bump can overtake a cap that the market did not raise.
    return { gasPrice: null, maxFeePerGas: cap > tip ? cap : tip, maxPriorityFeePerGas: tip };
  }
  if (previous.gasPrice == null) throw new RangeError("the previous transaction's fees are unknown: nothing to bump");
  return { gasPrice: higher(bumpedFee(previous.gasPrice, percent), current?.gasPrice ?? current?.maxFeePerGas), maxFeePerGas: null, maxPriorityFeePerGas: null };
}
