/**
 * The deployments the page knows: every `deployments/<network>.json` of the repository, bundled at build time, and
 * `deployments.local.json` next to the page when it is there (what `npm run web` and the tests deploy on the local
 * node), which wins for its chain.
 */
import type { Deployment } from "@perp/sdk";

const bundled = Object.values(
  import.meta.glob<Deployment>("../../deployments/*.json", { eager: true, import: "default" }),
);

export async function loadDeployments(): Promise<Deployment[]> {
  const byChain = new Map<number, Deployment>(bundled.map((d) => [d.chainId, d]));
  try {
    const response = await fetch(new URL("deployments.local.json", document.baseURI));
    if (response.ok && response.headers.get("content-type")?.includes("json")) {
      const local = (await response.json()) as Deployment;
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
