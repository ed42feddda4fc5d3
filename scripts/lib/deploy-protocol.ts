/**
 * The one deployment path of `npm run deploy`, `npm run deploy:pyth` and the demo (scripts/demo/deploy.ts): choose
 * the module, read and check its parameters, (Pyth on a public network) run the preflight before anything is sent,
 * fetch one fresh price update per market for the listing (Pyth modules), deploy or resume with Ignition, and build,
 * check and write `deployments/<network>.json` (schema: sdk/src/deployments.ts).
 *
 * Price updates for a Pyth listing: on a public network from Hermes (`PYTH_HERMES_URL`, default Pyth's, with
 * `PYTH_API_KEY`); on a local chain from `PERP_PRICE_SERVICE_URL` if set, else from a local price service started
 * for the listing only, at the modules' initial prices (ETH 2,000, BTC 60,000) and the chain's time. The local record's
 * `hermesUrl` is `PERP_PRICE_SERVICE_URL` or http://127.0.0.1:8787, where `npm run price-service` listens by default.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";

import { readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import type { DeploymentParameters, IgnitionModule } from "@nomicfoundation/ignition-core";
import { formatUnits, type Provider } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";

import type { Deployment } from "@perp/sdk";
import { HERMES_ENDPOINT, HermesPriceSource, type PriceSource } from "@perp/sdk/prices";

import { FUTURE_IDS, MARKETS } from "../../ignition/lib/perp.js";
import PerpLocal from "../../ignition/modules/PerpLocal.js";
import PerpProtocol from "../../ignition/modules/PerpProtocol.js";
import PerpPyth from "../../ignition/modules/PerpPyth.js";
import PerpPythLocal from "../../ignition/modules/PerpPythLocal.js";
import { startPriceService } from "../price-service/service.js";
import {
  ENV,
  LOCAL_CHAIN_IDS,
  buildDeployment,
  deployWithIgnition,
  deploymentProblems,
  discardStaleJournal,
  findTodos,
  isPythModule,
  journalDeploymentBlock,
  journalDir,
  parametersPath,
  writeDeployment,
  type ModuleId,
} from "./deployment.js";
import { PreflightError, formatPreflight, pythPreflight, pythTargetFromParameters } from "./preflight.js";
import { pythListingParameters } from "./pyth-listing.js";

const MODULES: Record<ModuleId, IgnitionModule> = { PerpLocal, PerpProtocol, PerpPyth, PerpPythLocal };

/** Where `npm run price-service` listens by default: the local record's `hermesUrl`. */
export const LOCAL_PRICE_SERVICE_URL = "http://127.0.0.1:8787";

export interface ProtocolDeployment {
  readonly moduleId: ModuleId;
  readonly deployment: Deployment;
  /** Ignition's future id -> address. */
  readonly addresses: Readonly<Record<string, string>>;
  /** The record written, or undefined on the in-process network (its chain ends with the script). */
  readonly file: string | undefined;
}

/** A deployment refused before anything was sent (parameters, TODOs, preflight); the message says why. */
export class DeployRefused extends Error {
  override name = "DeployRefused";
}

/** `<market>PriceUpdate` values the journal recorded for `updatePrice_<KEY>` steps already started. */
async function journaledUpdates(deploymentDir: string, moduleId: string): Promise<Record<string, string[]>> {
  const file = path.join(deploymentDir, "journal.jsonl");
  if (!existsSync(file)) return {};
  const found: Record<string, string[]> = {};
  for (const line of (await readFile(file, "utf8")).split("\n")) {
    if (!line.includes("updatePrice_")) continue;
    const entry = JSON.parse(line) as { type?: string; futureId?: string; args?: unknown[] };
    const market = MARKETS.find((m) => entry.futureId === `${moduleId}#updatePrice_${m.key}`);
    if (market !== undefined && entry.type === "CALL_EXECUTION_STATE_INITIALIZE" && Array.isArray(entry.args?.[0])) {
      found[`${market.param}PriceUpdate`] = entry.args[0] as string[];
    }
  }
  return found;
}

/**
 * One update per market for the listing, fetched right before the deployment (an adapter refuses a first price
 * older than its maxCacheAge). `priceSource` (the demo's in-process service) wins over the environment.
 */
async function listingUpdates(args: {
  local: boolean;
  provider: Provider;
  section: Record<string, string>;
  priceSource: PriceSource | undefined;
}): Promise<{ updates: Record<string, string[]>; hermesUrl: string; listedFrom: string }> {
  const { local, provider, section, priceSource } = args;
  const fromEnv = process.env.PERP_PRICE_SERVICE_URL?.trim() || undefined;
  if (!local) {
    const endpoint = process.env.PYTH_HERMES_URL?.trim() || HERMES_ENDPOINT;
    const apiKey = process.env.PYTH_API_KEY?.trim() || undefined;
    if (priceSource === undefined && endpoint === HERMES_ENDPOINT && apiKey === undefined) {
      throw new DeployRefused('PYTH_API_KEY is not set: Hermes requires an API key (docs/deployment.md, "Pyth markets").');
    }
    const source = priceSource ?? new HermesPriceSource({ endpoint, apiKey });
    return { updates: await pythListingParameters(source, MARKETS, section), hermesUrl: endpoint, listedFrom: endpoint };
  }
  const hermesUrl = fromEnv ?? LOCAL_PRICE_SERVICE_URL;
  if (priceSource !== undefined) {
    return { updates: await pythListingParameters(priceSource, MARKETS, section), hermesUrl, listedFrom: "the caller's price source" };
  }
  if (fromEnv !== undefined) {
    const source = new HermesPriceSource({ endpoint: fromEnv, httpRetries: 1 });
    return { updates: await pythListingParameters(source, MARKETS, section), hermesUrl, listedFrom: fromEnv };
  }
  // No service running: one for the listing only. Published at the chain's time, or the wall clock when the chain
  // has been idle (its next block comes no earlier than the wall clock).
  const latest = await provider.getBlock("latest");
  const publishTime = Math.max(latest?.timestamp ?? 0, Math.floor(Date.now() / 1000));
  const service = await startPriceService({
    port: 0,
    host: "127.0.0.1",
    feeds: MARKETS.map((market) => ({
      id: section[`${market.param}PriceId`] ?? market.pythPriceId,
      expo: -8,
      points: [{ publishTime, price: market.localInitialAnswer }],
    })),
  });
  try {
    const source = new HermesPriceSource({ endpoint: service.url, httpRetries: 0 });
    const prices = MARKETS.map((m) => `${m.symbol} ${formatUnits(m.localInitialAnswer, 8)}`).join(", ");
    return { updates: await pythListingParameters(source, MARKETS, section), hermesUrl, listedFrom: `a price service started for the listing (${prices})` };
  } finally {
    await service.close();
  }
}

/** The first block in [from, to] at whose end `address` has code (binary search over historical state). */
async function firstBlockWithCode(provider: Provider, address: string, from: number, to: number): Promise<number> {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await provider.getCode(address, mid)) === "0x") lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Deploys (or resumes) `moduleId` over `connection` and writes its record. `log` gets one line per step worth
 * telling (the deploy scripts print them; the demo keeps its own wording).
 * @throws DeployRefused before anything is sent; Ignition's or the record check's error after.
 */
export async function deployProtocol(args: {
  hre: HardhatRuntimeEnvironment;
  connection: NetworkConnection;
  moduleId: ModuleId;
  log?: (line: string) => void;
  /** Ignition's live display (a terminal only). */
  showProgress?: boolean;
  /** Listing prices of a Pyth module (default: see the file comment). */
  priceSource?: PriceSource;
}): Promise<ProtocolDeployment> {
  const { hre, connection, moduleId, log = () => {}, showProgress = false, priceSource } = args;
  const { networkName, ethers } = connection;
  const provider = ethers.provider;
  const root = hre.config.paths.root;
  const chainId = Number((await provider.getNetwork()).chainId);
  const local = LOCAL_CHAIN_IDS.includes(chainId);
  const pyth = isPythModule(moduleId);

  // ---------------------------------------------------------------------------------------- parameters
  const parametersFile = parametersPath(root, networkName);
  if (parametersFile === undefined && (moduleId === "PerpProtocol" || moduleId === "PerpPyth")) {
    throw new DeployRefused(
      `No parameters for network "${networkName}": create ignition/parameters/${networkName}.json with a ${moduleId} ` +
        `section (see docs/deployment.md) or set ${ENV.parameters}.`,
    );
  }
  const parameters: DeploymentParameters = parametersFile === undefined ? {} : await readDeploymentParameters(parametersFile);
  const todos = findTodos(parameters, moduleId);
  if (todos.length > 0) {
    throw new DeployRefused(
      `${path.relative(root, parametersFile ?? "")} still has values marked TODO for ${moduleId}; fill them in ` +
        `first:\n  ${todos.join("\n  ")}`,
    );
  }
  const section = (parameters[moduleId] ?? {}) as Record<string, string>;

  if (moduleId === "PerpPyth") {
    try {
      const target = pythTargetFromParameters(parameters as Parameters<typeof pythTargetFromParameters>[0], MARKETS);
      log(formatPreflight(await pythPreflight(provider, target)));
    } catch (error) {
      if (error instanceof PreflightError) throw new DeployRefused(error.message);
      throw error;
    }
  }

  // ---------------------------------------------------------------------------------------- journal
  const deploymentDir = journalDir(hre, connection, chainId, moduleId);
  if (deploymentDir !== undefined) {
    const discarded = await discardStaleJournal({
      root,
      deploymentDir,
      moduleId,
      chainId,
      getCode: (address) => provider.getCode(address),
    });
    if (discarded !== undefined) log(`${discarded}\n`);
  }

  // ---------------------------------------------------------------------------------------- deploy
  let moduleParameters: Record<string, unknown> = section;
  let hermesUrl: string | undefined;
  let listedFrom: string | undefined;
  if (pyth) {
    const listing = await listingUpdates({ local, provider, section, priceSource });
    hermesUrl = listing.hermesUrl;
    listedFrom = listing.listedFrom;
    // A rerun passes the updates its journal recorded: Ignition must see the arguments of the steps already sent.
    const reused = deploymentDir === undefined ? {} : await journaledUpdates(deploymentDir, moduleId);
    moduleParameters = { ...section, ...listing.updates, ...reused };
  }
  log(
    `Deploying ${moduleId} to "${networkName}" (chain ${chainId})` +
      (parametersFile === undefined ? " with default parameters" : ` with ${path.relative(root, parametersFile)}`) +
      (listedFrom === undefined ? "" : `; listing prices from ${listedFrom}`),
  );
  const fromBlock = await provider.getBlockNumber();
  const addresses = await deployWithIgnition({
    hre,
    connection,
    ignitionModule: MODULES[moduleId],
    parameters: { ...parameters, [moduleId]: moduleParameters as DeploymentParameters[string] },
    deploymentDir,
    showProgress,
  });

  // ---------------------------------------------------------------------------------------- record
  const engineAddress = addresses[`${moduleId}#${FUTURE_IDS.engine}`];
  const deploymentBlock =
    deploymentDir === undefined
      ? await firstBlockWithCode(provider, engineAddress, fromBlock + 1, await provider.getBlockNumber())
      : await journalDeploymentBlock(hre, connection, deploymentDir, engineAddress);
  const deployment = buildDeployment({
    network: networkName,
    chainId,
    deploymentBlock,
    moduleId,
    addresses,
    moduleParameters: section,
    hermesUrl,
  });
  // The record must describe the chain, not only the journal.
  const problems = await deploymentProblems(provider, deployment);
  if (problems.length > 0) throw new Error(`the deployment does not match the chain: ${problems.join("; ")}`);
  const file =
    deploymentDir === undefined
      ? undefined
      : await writeDeployment(process.env[ENV.deploymentsDir] || path.join(root, "deployments"), deployment);
  return { moduleId, deployment, addresses, file };
}
