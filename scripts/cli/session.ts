/**
 * What every command needs: the RPC endpoint, the deployment record, the SDK client and, for writes, the key.
 *
 *   --rpc <url> | RPC_URL                         default http://127.0.0.1:8545
 *   --deployment <name-or-path>                   default: the record in deployments/ whose chainId is the endpoint's
 *   PRIVATE_KEY | --keystore <NAME>               the key; never printed
 *
 * `PERP_DEPLOYMENTS_DIR` (as for the deploy script) replaces `deployments/` as the directory searched. The URL, the
 * deployment and the key are resolved by `@perp/sdk/node`, the same way the keeper resolves them.
 */
import path from "node:path";

import { JsonRpcProvider, Wallet } from "ethers";

import { PerpClient, type Deployment } from "@perp/sdk";
import { deploymentsDirectory, normalizePrivateKey, redactUrl, resolveDeployment, resolveRpcUrl } from "@perp/sdk/node";
import { CliError, registerSecret } from "./errors.js";
import { KeystoreError, readKeystoreValue } from "../lib/keystore.js";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");
/** How long the endpoint may take to answer its first request. */
const PROBE_TIMEOUT_MS = 10_000;

/** The options every command accepts (defined on the program). */
export interface GlobalOptions {
  rpc?: string;
  deployment?: string;
  keystore?: string;
  keystoreDev?: boolean;
  json?: boolean;
}

export interface Session {
  readonly client: PerpClient;
  readonly provider: JsonRpcProvider;
  readonly deployment: Deployment;
  /** The signer, when the command needed one. */
  readonly wallet: Wallet | undefined;
  close(): void;
}

/** The endpoint for messages: scheme, host and port (an API key may sit in the URL's path or query). */
export const endpointLabel = (url: string) => redactUrl(url).replace(/\/…$/, "");

async function probeChainId(url: string): Promise<number> {
  let body: { result?: unknown; error?: { message?: string } };
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    body = (await response.json()) as typeof body;
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).name;
    throw new CliError(`cannot reach the RPC endpoint ${endpointLabel(url)} (${reason}); is the node running?`);
  }
  if (typeof body.result !== "string") {
    throw new CliError(`${endpointLabel(url)} did not answer eth_chainId (${body.error?.message ?? "no result"})`);
  }
  return Number(BigInt(body.result));
}

/** The deployment named by `--deployment` (a name in the deployments directory, or a JSON file), or by chain id. */
export function sessionDeployment(option: string | undefined, chainId: number): Deployment {
  return resolveDeployment(option, { chainId, directory: deploymentsDirectory(process.env, ROOT) }).deployment;
}

/** The private key from PRIVATE_KEY or the keystore, checked and registered for redaction. */
async function loadKey(options: GlobalOptions): Promise<string> {
  let key: string;
  let source: string;
  if (options.keystore) {
    try {
      key = await readKeystoreValue(options.keystore, { dev: options.keystoreDev === true });
    } catch (error) {
      if (error instanceof KeystoreError) throw new CliError(error.message);
      throw error;
    }
    source = `the keystore value ${options.keystore}`;
  } else if (process.env.PRIVATE_KEY) {
    key = process.env.PRIVATE_KEY;
    source = "PRIVATE_KEY";
  } else {
    throw new CliError("this command needs a key: set PRIVATE_KEY or use --keystore <NAME>");
  }
  registerSecret(key);
  return normalizePrivateKey(key, source);
}

/** Whether a key is configured (without reading it). */
export function hasKey(options: GlobalOptions): boolean {
  return Boolean(options.keystore || process.env.PRIVATE_KEY);
}

/**
 * Connects: endpoint (chain id), deployment, client; with `signer`, the key too (read last, so that a wrong URL or
 * deployment does not cost a keystore password).
 */
export async function openSession(options: GlobalOptions, signer: boolean): Promise<Session> {
  const url = resolveRpcUrl(options.rpc);
  const chainId = await probeChainId(url);
  const deployment = sessionDeployment(options.deployment, chainId);
  // A static network (no polling to detect it) and no response cache: each read sees the latest block, and
  // consecutive transactions get consecutive nonces.
  const provider = new JsonRpcProvider(url, chainId, { staticNetwork: true, cacheTimeout: -1 });
  try {
    // Checks the endpoint's chain against the deployment's before any key is read.
    const reader = await PerpClient.connect({ runner: provider, deployment });
    if (!signer) return { client: reader, provider, deployment, wallet: undefined, close: () => provider.destroy() };
    const key = await loadKey(options);
    let wallet: Wallet;
    try {
      wallet = new Wallet(key, provider);
    } catch {
      throw new CliError("the key is not a valid secp256k1 private key");
    }
    const client = await PerpClient.connect({ runner: wallet, deployment });
    return { client, provider, deployment, wallet, close: () => provider.destroy() };
  } catch (error) {
    provider.destroy();
    throw error;
  }
}
