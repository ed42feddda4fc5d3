/**
 * The transport: one send policy, reads past ethers' request cache, and a counting JSON-RPC provider.
 *
 * @packageDocumentation
 */
export { CountingJsonRpcProvider, rpcStatsSince, type CountingJsonRpcProviderOptions, type RpcStats } from "./countingProvider.js";
export { latestBlock, pendingNonce, type BlockStamp } from "./latestBlock.js";
export {
  TransactionSender,
  type NoncePolicy,
  type SendNotice,
  type SendPolicy,
  type SendRequest,
  type SendTransactionErrorType,
  type SentTransaction,
  type SigningMode,
} from "./sendTransaction.js";
