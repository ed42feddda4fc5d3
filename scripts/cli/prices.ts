/**
 * The price source of `--self-settle` and `order settle`: Hermes at `--prices <url>` (default the deployment's
 * `hermesUrl`), with the API key from PYTH_API_KEY (never printed).
 */
import type { Deployment, OrderPriceSource } from "@perp/sdk";
import { CliError, registerSecret } from "./errors.js";

/** The price source for a deployment, or a one-line error saying what is missing. */
export function cliPriceSource(url: string | undefined, deployment: Deployment): OrderPriceSource {
  const endpoint = url ?? deployment.hermesUrl;
  if (!endpoint) {
    throw new CliError(`settling yourself needs a price source: pass --prices <url> (the deployment "${deployment.network}" has no hermesUrl)`);
  }
  const apiKey = process.env.PYTH_API_KEY;
  if (apiKey) registerSecret(apiKey);
  throw new CliError(`no price source client for ${endpoint} in this build (@perp/sdk/prices)`);
}
