/**
 * Helpers for local development chains and reproducible test data, shared by tests and benchmarks.
 */
import { HDNodeWallet, type Provider } from "ethers";

/** The public development mnemonic of Hardhat's and anvil's default accounts: it funds local chains only. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/**
 * Development account `i` of `DEV_MNEMONIC`, derived at runtime (its key is never written to a file or log).
 * @example const lp = devWallet(1, provider)
 */
export function devWallet(i: number, provider?: Provider): HDNodeWallet {
  const wallet = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);
  return provider ? wallet.connect(provider) : wallet;
}

/**
 * A seeded pseudo-random generator (mulberry32): the same sequence for the same seed, on every run.
 * @example const rand = prng(7); rand.int(1, 6)
 */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
  };
}
