/**
 * Typed errors: every revert of the protocol's contracts is decoded into a `PerpContractError` that names the custom
 * error and states its arguments in plain words, never as raw revert data.
 *
 * @packageDocumentation
 */
export {
  InvalidRequestError,
  NoSignerError,
  PerpContractError,
  PerpError,
  PerpTransportError,
  WrongChainError,
} from "./errors/base.js";
export { CONTRACT_ABIS, contractErrorNames, type ContractErrorName } from "./errors/abi.js";
export { decodeRevertData, toPerpError, withPerpErrors } from "./errors/decode.js";
export { EXPLANATIONS, explainContractError } from "./errors/explain.js";
export {
  abortableDelay,
  isNonceError,
  isTransientError,
  withRetry,
  type RetryInfo,
  type RetryOptions,
} from "./errors/retry.js";
