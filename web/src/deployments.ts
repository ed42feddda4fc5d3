/**
 * The deployments the page knows: every `deployments/<network>.json` of the repository, bundled at build time, and
 * `deployments.local.json` next to the page when it is there (what `npm run web` and the tests deploy on the local
 * node), which wins for its chain.
 */
import type { Deployment } from "@perp/sdk";

const bundled = Object.values(
  import.meta.glob<Deployment>("../../deployments/*.json", { eager: true, import: "default" }),
);

/**
 * A deployment as the page reads it: the SDK's record, plus the JSON-RPC endpoint the page reads the chain through
 * before a wallet is connected (`web/scripts/deploy-local.ts` writes the local node's into `deployments.local.json`).
 */
export type PageDeployment = Deployment & { readonly rpcUrl?: string };

export async function loadDeployments(): Promise<PageDeployment[]> {
  const byChain = new Map<number, PageDeployment>(bundled.map((d) => [d.chainId, d]));
  try {
    const response = await fetch(new URL("deployments.local.json", document.baseURI));
    if (response.ok && response.headers.get("content-type")?.includes("json")) {
      const local = (await response.json()) as PageDeployment;
      byChain.set(local.chainId, local);
    }
  } catch {
    // no local deployment next to the page: the bundled ones only
  }
  return [...byChain.values()];
}

const CHAIN_NAMES: Record<number, string> = { 31337: "Local (anvil / Hardhat)", 11155111: "Sepolia", 84532: "Base Sepolia", 8453: "Base", 1: "Ethereum" };
export function chainName(chainId: number): string {
  return CHAIN_NAMES[chainId] ?? `chain ${chainId}`;
}
/** Chains whose collateral is the protocol's MockUSDC, which anyone may mint. */
export function hasFaucet(chainId: number): boolean {
  return chainId === 31337 || chainId === 11155111 || chainId === 84532;
}

/** The local node `npm run web` starts, and the RPC a wallet is told to add for the local chain. */
export const LOCAL_RPC = "http://127.0.0.1:8545";

/** Public JSON-RPC endpoints of the chains the page knows, for reading before a wallet is connected. */
const PUBLIC_RPCS: Record<number, string> = {
  11155111: "https://ethereum-sepolia-rpc.publicnode.com",
  84532: "https://sepolia.base.org",
  8453: "https://mainnet.base.org",
  1: "https://ethereum-rpc.publicnode.com",
};

/**
 * Where the page reads a deployment's chain without a wallet: the record's own `rpcUrl`, else `VITE_RPC_URL_<chainId>`
 * given at build time, else the chain's public endpoint (the local node for 31337); undefined for an unknown chain.
 */
export function readRpcUrl(deployment: PageDeployment): string | undefined {
  const configured = (import.meta.env as Record<string, string | undefined>)[`VITE_RPC_URL_${deployment.chainId}`];
  return deployment.rpcUrl ?? configured ?? PUBLIC_RPCS[deployment.chainId] ?? (deployment.chainId === 31337 ? LOCAL_RPC : undefined);
}
