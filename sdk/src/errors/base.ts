/**
 * The SDK's error classes: every error it throws on purpose is a `PerpError`.
 *
 * @packageDocumentation
 */
import type { ContractErrorName } from "./abi.js";

/** Base class of every error the SDK throws on purpose. */
export class PerpError extends Error {
  override name = "PerpError";
  constructor(
    message: string,
    readonly details?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A decoded custom error (or panic) from the protocol's contracts. */
export class PerpContractError extends PerpError {
  override name = "PerpContractError";
  constructor(
    /** The Solidity error's name, e.g. "TradeBelowInitialMargin" ("Error" for a revert string). */
    readonly errorName: ContractErrorName | "Error",
    /** Its arguments by name. */
    readonly args: Readonly<Record<string, unknown>>,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, undefined, options);
  }
}

/** The transaction or call failed for a reason that is not a contract revert (network, nonce, funds...). */
export class PerpTransportError extends PerpError {
  override name = "PerpTransportError";
}

/** The chain the RPC endpoint serves is not the deployment's. */
export class WrongChainError extends PerpError {
  override name = "WrongChainError";
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`the RPC endpoint serves chain ${actual}, the deployment is on chain ${expected}`);
  }
}

/** A request the SDK can tell is wrong before sending anything. */
export class InvalidRequestError extends PerpError {
  override name = "InvalidRequestError";
}

/** A write was attempted with a read-only runner. */
export class NoSignerError extends PerpError {
  override name = "NoSignerError";
  constructor() {
    super("this client has no signer: connect with a Signer to send transactions");
  }
}
