/**
 * The transport: one send policy, reads past ethers' request cache, and a counting JSON-RPC provider.
 *
 * @packageDocumentation
 */
export { CountingJsonRpcProvider, retryAfter, rpcStatsSince, type CountingJsonRpcProviderOptions, type RpcStats } from "./countingProvider.js";
export { MIN_REPLACEMENT_BUMP_PERCENT, bumpedFee, replacementFees, type TransactionFees } from "./feeBump.js";
export { latestBlock, pendingNonce, type BlockStamp } from "./latestBlock.js";
export {
  TransactionSender,
  type NoncePolicy,
  type Replacement,
  type SendNotice,
  type SendPolicy,
  type SendRequest,
  type SendTransactionErrorType,
  type SentTransaction,
  type SigningMode,
} from "./sendTransaction.js";
