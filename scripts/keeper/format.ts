/** How the keeper writes amounts in its logs and summary. */
import { math } from "@perp/sdk";

/** A WAD amount as a plain decimal string ("12.5", "-0.25"), exact, no separators. */
export function formatPlain(wad: bigint): string {
  const negative = wad < 0n;
  const magnitude = negative ? -wad : wad;
  const fraction = (magnitude % math.WAD).toString().padStart(18, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${magnitude / math.WAD}${fraction ? `.${fraction}` : ""}`;
}
