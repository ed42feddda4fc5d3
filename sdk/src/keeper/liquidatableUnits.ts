/**
 * Which units the engine would liquidate: isolated positions, and each cross account once.
 *
 * @packageDocumentation
 */
import type { PositionHealth } from "./lensCodec.js";

/**
 * The liquidatable units among `healths`: isolated positions, and one entry per liquidatable cross account (the
 * engine liquidates the whole account whichever of its markets is named).
 * @example const targets = liquidatableUnits(await readHealth(client, keys))
 */
export function liquidatableUnits(healths: readonly PositionHealth[]): PositionHealth[] {
  const seenAccounts = new Set<string>();
  return healths.filter((h) => {
    if (!h.liquidatable) return false;
    if (h.isolated) return true;
    const account = h.trader.toLowerCase();
    if (seenAccounts.has(account)) return false;
    seenAccounts.add(account);
    return true;
  });
}
