/**
 * One JSON-RPC request posted on its own, its answer left as the node's JSON: for the keeper's large reads, where
 * ethers' formatting (a checksum keccak per log address, property definitions per object) costs more than the read,
 * and for broadcasts (ethers' `broadcastTransaction` reads the block number and re-parses the transaction, its
 * sender recovered from the signature: ten times the cost of the request on a local node).
 *
 * @packageDocumentation
 */
import { JsonRpcApiProvider, type Provider } from "ethers";

let rawId = 0;

/**
 * Sends `method` with `params` and returns the `result` as JSON. On an ethers JSON-RPC provider it is posted on its
 * own (`_send`) instead of joining the provider's batch: a node serves the calls of one batch one after the other,
 * separate requests in parallel. An error answer goes through ethers' own error mapping, so that retries and
 * callers see what the provider's method would have thrown. Other providers: undefined (use their methods).
 * @example const logs = await rawRequest(provider, "eth_getLogs", [{ address, fromBlock: "0x1", toBlock: "0x9" }])
 */
export async function rawRequest(provider: Provider, method: string, params: unknown[]): Promise<unknown> {
  if (!(provider instanceof JsonRpcApiProvider)) throw new TypeError("rawRequest needs an ethers JSON-RPC provider");
  const payload = { id: ++rawId, jsonrpc: "2.0" as const, method, params };
  const [answer] = await provider._send(payload);
  if (answer && "result" in answer) return answer.result;
  const error = (answer as { error?: { code?: number; message?: string; data?: unknown } } | undefined)?.error;
  throw provider.getRpcError(payload, {
    id: payload.id,
    error: { code: error?.code ?? -32000, message: error?.message ?? `${method} failed`, data: error?.data },
  });
}

/**
 * Whether `rawRequest` may stand in for `provider[method]`: an ethers JSON-RPC provider whose `method` is ethers' own.
 * A provider that overrides or wraps it (a subclass, a `Proxy` that rewrites its answers) is used through it.
 */
export function hasRawRequests(provider: Provider, method: "call" | "getLogs" | "broadcastTransaction"): provider is JsonRpcApiProvider {
  return provider instanceof JsonRpcApiProvider && provider[method] === JsonRpcApiProvider.prototype[method];
}

/** A block tag as JSON-RPC takes it. */
export function blockTagHex(tag: number | "latest"): string {
  return tag === "latest" ? "latest" : `0x${tag.toString(16)}`;
}
