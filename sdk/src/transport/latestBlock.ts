/**
 * Reads that must see the chain as it is now, not as ethers' `JsonRpcProvider` remembers it: its request cache
 * answers an identical request made within 250 ms with the earlier answer, which can predate a transaction just
 * mined. `send` on a JSON-RPC provider goes straight to the node.
 *
 * @packageDocumentation
 */
import { JsonRpcApiProvider, type Provider } from "ethers";

import { PerpError } from "../errors.js";

/** A block's number and timestamp (seconds). */
export interface BlockStamp {
  readonly number: number;
  readonly timestamp: bigint;
}

/**
 * The latest block's number and timestamp, read past ethers' request cache when the provider allows it: a snapshot
 * taken right after a transaction must see it.
 * @example const { number, timestamp } = await latestBlock(provider)
 */
export async function latestBlock(provider: Provider): Promise<BlockStamp> {
  if (provider instanceof JsonRpcApiProvider) {
    const block = (await provider.send("eth_getBlockByNumber", ["latest", false])) as { number: string; timestamp: string } | null;
    if (!block) throw new PerpError("the endpoint returned no latest block");
    return { number: Number(block.number), timestamp: BigInt(block.timestamp) };
  }
  const block = await provider.getBlock("latest");
  if (!block) throw new PerpError("the endpoint returned no latest block");
  return { number: block.number, timestamp: BigInt(block.timestamp) };
}

/**
 * The account's pending transaction count, read past ethers' request cache when the provider allows it
 * (`getTransactionCount` could return the count from before a transaction this process just sent).
 * @example const nonce = await pendingNonce(provider, address)
 */
export async function pendingNonce(provider: Provider, address: string): Promise<number> {
  if (provider instanceof JsonRpcApiProvider) {
    return Number(await provider.send("eth_getTransactionCount", [address, "pending"]));
  }
  return provider.getTransactionCount(address, "pending");
}
