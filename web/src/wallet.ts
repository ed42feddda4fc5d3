/**
 * Wallet discovery: EIP-6963 (every wallet that announces itself: MetaMask, Rabby...) with `window.ethereum` as the
 * fallback for wallets that do not.
 */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | object }): Promise<unknown>;
  on?(event: string, listener: (...args: any[]) => void): unknown;
  removeListener?(event: string, listener: (...args: any[]) => void): unknown;
}

export interface WalletInfo {
  readonly uuid: string;
  readonly name: string;
  readonly icon: string;
  readonly rdns: string;
}

export interface DiscoveredWallet {
  readonly info: WalletInfo;
  readonly provider: Eip1193Provider;
}

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

/** Listens for announcements, asks wallets to announce, and calls `onChange` with the list each time it grows. */
export function discoverWallets(onChange: (wallets: DiscoveredWallet[]) => void): () => void {
  const found = new Map<string, DiscoveredWallet>();
  const announce = (event: Event) => {
    const detail = (event as CustomEvent<DiscoveredWallet>).detail;
    if (detail?.info?.uuid === undefined || found.has(detail.info.uuid)) return;
    found.set(detail.info.uuid, detail);
    onChange([...found.values()]);
  };
  window.addEventListener("eip6963:announceProvider", announce);
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  // A wallet that predates EIP-6963 only injects window.ethereum; offer it when nothing announced itself.
  const fallback = setTimeout(() => {
    if (found.size === 0 && window.ethereum !== undefined) {
      found.set("injected", {
        info: { uuid: "injected", name: "Browser wallet", icon: "", rdns: "injected" },
        provider: window.ethereum,
      });
      onChange([...found.values()]);
    }
  }, 200);
  return () => {
    clearTimeout(fallback);
    window.removeEventListener("eip6963:announceProvider", announce);
  };
}

/** The user dismissed the wallet's prompt: not an error to show (EIP-1193 code 4001, ethers ACTION_REJECTED). */
export function isUserRejection(error: unknown): boolean {
  for (let e: any = error, depth = 0; e != null && depth < 5; depth++) {
    if (e.code === 4001 || e.code === "ACTION_REJECTED") return true;
    e = e.error ?? e.info?.error ?? e.cause;
  }
  return false;
}
