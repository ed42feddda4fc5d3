/**
 * A test wallet for the browser tests: an EIP-1193 provider injected into the page (announced through EIP-6963 and
 * set as window.ethereum) whose requests run in Node, where an ethers Wallet signs with a dev key and sends raw
 * transactions to the node, as a browser wallet does. The node's unlocked accounts are never used.
 */
import { JsonRpcProvider, Wallet, getBytes, toQuantity } from "ethers";
import type { Page } from "playwright-core";

export interface TestWalletOptions {
  readonly rpcUrl: string;
  readonly privateKey: string;
  /** The chain the wallet starts on (it can switch to `nodeChainId` only). */
  readonly chainId: number;
  readonly nodeChainId: number;
}

export interface TestWallet {
  readonly address: string;
  /** Methods the page called, in order. */
  readonly calls: string[];
  /** The block range of each `eth_getLogs` the page made, in order. */
  readonly logRanges: { fromBlock: number; toBlock: number }[];
  /** The next signing request (transaction or signature) is rejected by "the user" (EIP-1193 code 4001). */
  rejectNext(): void;
  /**
   * Holds the page's next request of `method` (e.g. "eth_estimateGas") until `release()`: `reached` resolves when the
   * page has made it. A test changes the chain in between, deterministically, as another party racing the user would.
   */
  holdNext(method: string): { reached: Promise<void>; release(): void };
  /** Fires a provider event inside the page (accountsChanged, chainChanged). */
  emit(event: string, ...args: unknown[]): Promise<void>;
}

/** The page half: an EIP-1193 provider forwarding to `window.__wallet`, announced through EIP-6963. */
const PAGE_WALLET = `(() => {
  const listeners = {};
  const provider = {
    async request({ method, params }) {
      const r = await window.__wallet(method, params ?? []);
      if (r.error) throw Object.assign(new Error(r.error.message), r.error);
      return r.result;
    },
    on(event, f) { (listeners[event] ??= []).push(f); return provider; },
    removeListener(event, f) { listeners[event] = (listeners[event] ?? []).filter((g) => g !== f); return provider; },
  };
  window.__walletEmit = (event, args) => (listeners[event] ?? []).forEach((f) => f(...args));
  window.ethereum = provider;
  const info = Object.freeze({
    uuid: "6c5a1f0e-0000-4000-8000-000000000001",
    name: "Test Wallet",
    rdns: "dev.perp.testwallet",
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='96' height='96'/%3E",
  });
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();`;

const SIGNING = new Set(["eth_sendTransaction", "personal_sign", "eth_signTypedData_v4"]);

export async function installWallet(page: Page, options: TestWalletOptions): Promise<TestWallet> {
  const node = new JsonRpcProvider(options.rpcUrl, options.nodeChainId, { staticNetwork: true, cacheTimeout: -1 });
  const wallet = new Wallet(options.privateKey, node);
  let chainId = options.chainId;
  let reject = false;
  const calls: string[] = [];
  const logRanges: { fromBlock: number; toBlock: number }[] = [];
  const holds = new Map<string, { reached: () => void; released: Promise<void> }>();
  const handle = async (method: string, params: any[]): Promise<unknown> => {
    const hold = holds.get(method);
    if (hold) {
      holds.delete(method);
      hold.reached();
      await hold.released;
    }
    if (SIGNING.has(method) && reject) {
      reject = false;
      throw { code: 4001, message: "User rejected the request." };
    }
    if (chainId !== options.nodeChainId && !["eth_requestAccounts", "eth_accounts", "eth_chainId", "wallet_switchEthereumChain"].includes(method)) {
      throw { code: 4901, message: `the wallet is on chain ${chainId}, which this test node does not serve` };
    }
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return [wallet.address];
      case "eth_chainId":
        return toQuantity(chainId);
      case "eth_sendTransaction": {
        const t = params[0];
        const sent = await wallet.sendTransaction({
          to: t.to,
          data: t.data,
          value: t.value,
          gasLimit: t.gas,
          nonce: t.nonce == null ? undefined : Number(t.nonce),
        });
        return sent.hash;
      }
      case "personal_sign":
        return wallet.signMessage(getBytes(params[0]));
      case "eth_signTypedData_v4": {
        const { domain, types, message } = JSON.parse(params[1]);
        delete types.EIP712Domain;
        return wallet.signTypedData(domain, types, message);
      }
      case "wallet_switchEthereumChain":
        if (BigInt(params[0].chainId) !== BigInt(options.nodeChainId)) throw { code: 4902, message: "Unrecognized chain ID" };
        chainId = options.nodeChainId;
        await emit("chainChanged", toQuantity(chainId));
        return null;
      default:
        return node.send(method, params);
    }
  };
  await page.exposeFunction("__wallet", async (method: string, params: any[]) => {
    calls.push(method);
    if (method === "eth_getLogs") logRanges.push({ fromBlock: Number(params[0].fromBlock), toBlock: Number(params[0].toBlock) });
    try {
      return { result: await handle(method, params ?? []) };
    } catch (e: any) {
      return { error: { code: e.code ?? e.error?.code ?? -32603, message: e.shortMessage ?? e.message, data: e.data ?? e.error?.data } };
    }
  });
  // A string, not a function: the test runner's TypeScript transform would add helpers the page does not have.
  await page.addInitScript({ content: PAGE_WALLET });
  const emit = async (event: string, ...args: unknown[]) => {
    await page.evaluate(([e, a]) => (window as any).__walletEmit(e, a), [event, args] as const);
  };
  return {
    address: wallet.address,
    calls,
    logRanges,
    rejectNext: () => {
      reject = true;
    },
    holdNext: (method: string) => {
      let reached!: () => void;
      let release!: () => void;
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      holds.set(method, { reached, released });
      return { reached: reachedPromise, release };
    },
    emit,
  };
}
