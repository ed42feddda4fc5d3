/**
 * Many transactions simulated in one request, each on the state the previous ones left (`eth_simulateV1`): a
 * keeper prepares every batch of a run before it sends the first, without racing its own unmined batches.
 *
 * @packageDocumentation
 */
import type { Provider } from "ethers";

import { PerpError } from "../errors.js";
import { blockTagHex, hasRawRequests, rawRequest } from "../transport/rawRpc.js";

/** One call of `simulateCalls`. */
export interface SimulatedCall {
  readonly to: string;
  readonly data: string;
  readonly value?: bigint;
}

/** What one call did in the simulation. */
export type CallOutcome =
  | { readonly ok: true; readonly returnData: string; readonly gasUsed: bigint; readonly logs: readonly { readonly address: string; readonly topics: readonly string[]; readonly data: string }[] }
  /** Reverted (`data`: the revert data, when the node gives it) or failed for another reason (out of gas). */
  | { readonly ok: false; readonly error: Error & { readonly data?: string } };

/** The node has no `eth_simulateV1` (Hardhat's in-process network, older nodes): simulate call by call instead. */
export class SimulationUnsupportedError extends PerpError {
  override name = "SimulationUnsupportedError";
}

const hex = (n: bigint | number) => `0x${n.toString(16)}`;

/** Whether a refusal of the whole request says that the method does not exist. */
function unsupported(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown; error?: unknown }).cause ?? (e as { error?: unknown }).error, depth++) {
    const code = (e as { code?: unknown }).code;
    const message = e instanceof Error ? e.message : String((e as { message?: unknown }).message ?? "");
    if (code === -32601 || code === -32004) return true;
    if (/method .*(not (supported|found|available|exist))|unsupported method|unknown method|does not exist\/is not available/i.test(message)) return true;
  }
  return false;
}

/**
 * Simulates `calls` from `from` in order, in one block on top of `blockTag`, each call seeing the state the ones
 * before it left, with `gasPerCall` each (the chain's block gas limit is the natural value: what a transaction can
 * have at most). One `eth_simulateV1` request, without signature, nonce or fee checks.
 * @throws SimulationUnsupportedError when the node has no `eth_simulateV1`; the node's error when it refuses the
 * request for another reason (a gas cap below `gasPerCall x calls.length`, for one).
 * @example const outcomes = await simulateCalls(provider, keeper, batches.map((data) => ({ to: engine, data })), 30_000_000n)
 */
export async function simulateCalls(
  provider: Provider,
  from: string,
  calls: readonly SimulatedCall[],
  gasPerCall: bigint,
  blockTag: number | "latest" = "latest",
): Promise<CallOutcome[]> {
  if (calls.length === 0) return [];
  if (!hasRawRequests(provider, "call")) throw new SimulationUnsupportedError("eth_simulateV1 needs a JSON-RPC provider");
  const request = {
    blockStateCalls: [
      {
        blockOverrides: { gasLimit: hex(gasPerCall * BigInt(calls.length)) },
        calls: calls.map((c) => ({ from, to: c.to, data: c.data, gas: hex(gasPerCall), ...(c.value ? { value: hex(c.value) } : {}) })),
      },
    ],
    validation: false,
  };
  let result: unknown;
  try {
    result = await rawRequest(provider, "eth_simulateV1", [request, blockTagHex(blockTag)]);
  } catch (error) {
    if (unsupported(error)) throw new SimulationUnsupportedError(`the node has no eth_simulateV1: ${(error as Error).message}`);
    throw error;
  }
  const blocks = result as { calls?: unknown }[] | undefined;
  const results = Array.isArray(blocks) && blocks.length === 1 && Array.isArray(blocks[0].calls) ? (blocks[0].calls as Record<string, unknown>[]) : undefined;
  if (!results || results.length !== calls.length) throw new PerpError(`eth_simulateV1: expected ${calls.length} call results`);
  return results.map((r): CallOutcome => {
    if (r.status === "0x1") {
      const logs = Array.isArray(r.logs) ? (r.logs as { address: string; topics: string[]; data: string }[]) : [];
      return {
        ok: true,
        returnData: typeof r.returnData === "string" ? r.returnData : "0x",
        gasUsed: BigInt(String(r.gasUsed ?? "0x0")),
        logs: logs.map((l) => ({ address: l.address.toLowerCase(), topics: l.topics.map((t) => t.toLowerCase()), data: l.data })),
      };
    }
    const failure = (r.error ?? {}) as { message?: string; data?: string };
    const data = typeof failure.data === "string" ? failure.data : typeof r.returnData === "string" && r.returnData !== "0x" ? r.returnData : undefined;
    return { ok: false, error: Object.assign(new Error(failure.message ?? "execution reverted"), data === undefined ? {} : { data }) };
  });
}
