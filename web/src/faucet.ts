/**
 * Gas for a fresh wallet on a local node: anvil's `anvil_setBalance`, or Hardhat's `hardhat_setBalance` when the
 * node is `npx hardhat node`. Public test chains have no such method: the page links their faucets instead.
 */
import { toQuantity } from "ethers";

/** One JSON-RPC request (an EIP-1193 `request`, or a `JsonRpcProvider.send`). */
export type RpcRequest = (method: string, params: unknown[]) => Promise<unknown>;

/** The ETH a local faucet gives a wallet for gas. */
export const FAUCET_GAS_WEI = 10n ** 19n;

/**
 * Sets `account`'s balance to `wei` through the first of `anvil_setBalance` and `hardhat_setBalance` the node
 * accepts, on the first endpoint that answers; returns the method that did it, or undefined when none did.
 * @example await setLocalBalance([(m, p) => wallet.request({ method: m, params: p })], account, FAUCET_GAS_WEI)
 */
export async function setLocalBalance(endpoints: readonly RpcRequest[], account: string, wei: bigint): Promise<string | undefined> {
  for (const send of endpoints) {
    for (const method of ["anvil_setBalance", "hardhat_setBalance"]) {
      try {
        await send(method, [account, toQuantity(wei)]);
        return method;
      } catch {
        // not this node's method, or a wallet that does not forward it: try the next
      }
    }
  }
  return undefined;
}

/** Where to get test ETH for gas on the public test chains the page knows. */
export const GAS_FAUCETS: Readonly<Record<number, { readonly name: string; readonly url: string }>> = {
  11155111: { name: "Sepolia ETH faucet (Google Cloud)", url: "https://cloud.google.com/application/web3/faucet/ethereum/sepolia" },
  84532: { name: "Base Sepolia ETH faucets (Base docs)", url: "https://docs.base.org/base-chain/tools/network-faucets" },
};
