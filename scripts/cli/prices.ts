/**
 * The price source of `--self-settle` and `order settle`: Hermes (or the local price service, which speaks its API)
 * at `--prices <url>`, default the deployment's `hermesUrl`, with the API key from PYTH_API_KEY (never printed).
 */
import type { Deployment, OrderPriceSource } from "@perp/sdk";
import { HermesPriceSource } from "@perp/sdk/prices";
import { CliError, registerSecret } from "./errors.js";

/** The price source for a deployment, or a one-line error saying what is missing. */
export function cliPriceSource(url: string | undefined, deployment: Deployment): OrderPriceSource {
  const endpoint = url ?? deployment.hermesUrl;
  if (!endpoint) {
    throw new CliError(`settling yourself needs a price source: pass --prices <url> (the deployment "${deployment.network}" has no hermesUrl)`);
  }
  const apiKey = process.env.PYTH_API_KEY;
  if (apiKey) registerSecret(apiKey);
  // Few retries: settleOrder polls `at()` itself until the window's first price is published.
  return new HermesPriceSource({ endpoint, apiKey: apiKey || undefined, httpRetries: 1 });
}
