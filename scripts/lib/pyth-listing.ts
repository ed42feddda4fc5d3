/**
 * Parameters the Pyth modules need at deployment time: `<market>PriceUpdate`, one fresh update per market that the
 * module pushes into the adapter right before `engine.listMarket` (which reads the price, whatever its age; a Pyth
 * adapter has none before its first update). Fetch them immediately before deploying, from Hermes on public networks
 * (`HermesPriceSource` with `PYTH_API_KEY`) or from the local price service.
 */
import type { PriceSource } from "@perp/sdk/prices";

export async function pythListingParameters(
  source: PriceSource,
  markets: readonly { param: string; pythPriceId: string }[],
  priceIds: Readonly<Record<string, string>> = {},
): Promise<Record<string, string[]>> {
  const parameters: Record<string, string[]> = {};
  for (const market of markets) {
    const id = priceIds[`${market.param}PriceId`] ?? market.pythPriceId;
    parameters[`${market.param}PriceUpdate`] = (await source.latest([id])).updateData;
  }
  return parameters;
}
