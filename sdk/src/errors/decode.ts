/**
 * Decoding: every revert of the protocol's contracts becomes a `PerpContractError` that names the custom error and
 * states its arguments in plain words, never as raw revert data.
 *
 * @packageDocumentation
 */
import { isCallException, isError, type ErrorDescription } from "ethers";

import { errorInterface, type ContractErrorName } from "./abi.js";
import { PerpContractError, PerpError, PerpTransportError } from "./base.js";
import { EXPLANATIONS } from "./explain.js";

function revertData(error: unknown): string | undefined {
  // ethers puts revert data on CALL_EXCEPTION errors; some providers nest it deeper.
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    const data = (current as { data?: unknown }).data;
    if (typeof data === "string" && data.startsWith("0x") && data.length >= 10) return data;
    if (data && typeof data === "object" && typeof (data as { data?: unknown }).data === "string") {
      return (data as { data: string }).data;
    }
    current = (current as { error?: unknown; info?: { error?: unknown }; cause?: unknown }).error ??
      (current as { info?: { error?: unknown } }).info?.error ??
      (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Decodes raw revert data into a `PerpContractError`, or undefined if it is not one of the protocol's errors.
 * @example decodeRevertData("0x...") // PerpContractError("TradeBelowInitialMargin: after this trade, equity at close prices 480.12 USD < initial margin 500.00 USD: add margin or trade smaller")
 */
export function decodeRevertData(data: string, cause?: unknown): PerpContractError | undefined {
  let parsed: ErrorDescription | null = null;
  try {
    parsed = errorInterface().parseError(data);
  } catch {
    parsed = null;
  }
  if (!parsed) return undefined;
  const args: Record<string, unknown> = {};
  parsed.fragment.inputs.forEach((input, i) => {
    args[input.name || `arg${i}`] = parsed!.args[i];
  });
  const format = EXPLANATIONS[parsed.name as ContractErrorName];
  const text = format ? format(args) : parsed.fragment.inputs.map((i, n) => `${i.name}=${String(parsed!.args[n])}`).join(", ");
  return new PerpContractError(parsed.name as ContractErrorName, args, text ? `${parsed.name}: ${text}` : parsed.name, { cause });
}

/**
 * Turns whatever a contract call or transaction threw into a `PerpError`: a decoded contract error when the revert
 * data is one of the protocol's errors, otherwise a `PerpTransportError` with the provider's short message.
 * @example try { await client.withdraw("100") } catch (e) { console.error(toPerpError(e).message) }
 */
export function toPerpError(error: unknown): PerpError {
  if (error instanceof PerpError) return error;
  const data = revertData(error);
  if (data) {
    const decoded = decodeRevertData(data, error);
    if (decoded) return decoded;
  }
  if (isCallException(error) && error.reason) {
    return new PerpContractError("Error", { reason: error.reason }, `reverted: ${error.reason}`, { cause: error });
  }
  const shortMessage =
    isError(error, "INSUFFICIENT_FUNDS") ? "the sender cannot pay for gas" :
    isError(error, "NONCE_EXPIRED") ? "nonce already used (another transaction from this account was mined)" :
    isError(error, "NETWORK_ERROR") || isError(error, "TIMEOUT") ? "the RPC endpoint did not answer" :
    ((error as { shortMessage?: string })?.shortMessage ?? (error instanceof Error ? error.message : String(error)));
  return new PerpTransportError(shortMessage, undefined, { cause: error });
}

/**
 * Runs `action` and rethrows any failure as a `PerpError`.
 * @example const receipt = await withPerpErrors(() => engine.deposit(amount))
 */
export async function withPerpErrors<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw toPerpError(error);
  }
}

