/**
 * Checks before a Pyth deployment sends anything (`npm run deploy:check -- --network X`, and scripts/deploy.ts for
 * the Pyth modules): the Pyth address has code, and the Pyth contract there knows every feed id the markets will
 * use. A wrong address or feed id would otherwise deploy adapters whose every update reverts.
 *
 * A feed is known when `priceFeedExists(id)` is true (real Pyth and MockPyth have it; a contract without it is
 * asked `getPriceUnsafe(id)` only) and `getPriceUnsafe(id)` does not revert (`PriceFeedNotFound` on real Pyth).
 * On a real chain a feed nobody has ever pushed there is unknown too: push one Hermes update of it first.
 */
import { Contract, Interface, type Provider, getAddress, isAddress, isError } from "ethers";

const PYTH_ABI = [
  "function priceFeedExists(bytes32 id) view returns (bool)",
  "function getPriceUnsafe(bytes32 id) view returns (tuple(int64 price, uint64 conf, int32 expo, uint256 publishTime))",
  // PythErrors (@pythnetwork/pyth-sdk-solidity/PythErrors.sol), to name a revert.
  "error PriceFeedNotFound()",
  "error StalePrice()",
  "error InvalidArgument()",
];
const pythInterface = new Interface(PYTH_ABI);

export interface PreflightFeed {
  /** For messages, e.g. `ETH-USD`. */
  name: string;
  priceId: string;
}

export interface PreflightFeedResult extends PreflightFeed {
  price: bigint;
  conf: bigint;
  expo: number;
  publishTime: bigint;
}

export interface PreflightResult {
  pyth: string;
  chainId: bigint;
  feeds: PreflightFeedResult[];
}

/** The deployment must not go ahead; `problems` lists every reason found (one line each). */
export class PreflightError extends Error {
  constructor(readonly problems: string[]) {
    super(`Pyth preflight refused the deployment:\n  ${problems.join("\n  ")}`);
    this.name = "PreflightError";
  }
}

const PRICE_ID = /^0x[0-9a-fA-F]{64}$/;

function revertName(error: unknown): string {
  const data = isError(error, "CALL_EXCEPTION") ? error.data : undefined;
  if (typeof data === "string" && data !== "0x") {
    const parsed = pythInterface.parseError(data);
    return parsed === null ? `reverted with data ${data}` : `reverted with ${parsed.name}()`;
  }
  // Nodes word a revert without data differently (EDR: "function selector was not recognized ...").
  const message = error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : String(error);
  return `failed: ${message}`;
}

/**
 * Refuses (throws `PreflightError`) unless `pyth` has code and knows every feed. Only reads (`eth_getCode`,
 * `eth_call`), so it is safe to run against any network.
 */
export async function pythPreflight(
  provider: Provider,
  target: { pyth: string; feeds: readonly PreflightFeed[] },
): Promise<PreflightResult> {
  const { chainId } = await provider.getNetwork();
  if (!isAddress(target.pyth)) throw new PreflightError([`Pyth address ${JSON.stringify(target.pyth)} is not an address`]);
  const pyth = getAddress(target.pyth);
  const code = await provider.getCode(pyth);
  if (code === "0x") {
    throw new PreflightError([
      `no contract at the Pyth address ${pyth} on chain ${chainId}: wrong address for this network ` +
        "(see docs/deployment.md, \"Pyth markets\")",
    ]);
  }
  const contract = new Contract(pyth, pythInterface, provider);
  const problems: string[] = [];
  const feeds: PreflightFeedResult[] = [];
  for (const feed of target.feeds) {
    const label = `${feed.name} feed ${feed.priceId}`;
    if (typeof feed.priceId !== "string" || !PRICE_ID.test(feed.priceId)) {
      problems.push(`${label}: not a feed id (0x + 64 hex digits)`);
      continue;
    }
    let exists: boolean | undefined;
    try {
      exists = (await contract.priceFeedExists(feed.priceId)) as boolean;
    } catch {
      exists = undefined; // no priceFeedExists on this contract: getPriceUnsafe decides
    }
    if (exists === false) {
      problems.push(`${label}: unknown to the Pyth contract at ${pyth} (priceFeedExists = false)`);
      continue;
    }
    try {
      const price = (await contract.getPriceUnsafe(feed.priceId)) as {
        price: bigint;
        conf: bigint;
        expo: bigint;
        publishTime: bigint;
      };
      feeds.push({ ...feed, price: price.price, conf: price.conf, expo: Number(price.expo), publishTime: price.publishTime });
    } catch (error) {
      problems.push(`${label}: unknown to the Pyth contract at ${pyth} (getPriceUnsafe ${revertName(error)})`);
    }
  }
  if (problems.length > 0) throw new PreflightError(problems);
  return { pyth, chainId, feeds };
}

/** Modules whose markets are priced by Pyth, and whose parameters name the Pyth contract. */
export const PYTH_MODULE = "PerpPyth";

/**
 * The Pyth address and feed ids a `PerpPyth` deployment will use, from its parameters (`<market>PriceId` defaults to
 * the market's Pyth id, as in the module). Throws `PreflightError` when `pyth` is missing or still a TODO.
 */
export function pythTargetFromParameters(
  parameters: Record<string, Record<string, unknown> | undefined>,
  markets: readonly { symbol: string; param: string; pythPriceId: string }[],
  moduleId: string = PYTH_MODULE,
): { pyth: string; feeds: PreflightFeed[] } {
  const section = parameters[moduleId] ?? {};
  const problems: string[] = [];
  const pyth = section.pyth;
  if (typeof pyth !== "string" || pyth.trim() === "" || /^\s*TODO/i.test(pyth)) {
    problems.push(`parameter ${moduleId}.pyth is ${pyth === undefined ? "missing" : JSON.stringify(pyth)}: set the network's Pyth address`);
  }
  const feeds = markets.map((market) => {
    const value = section[`${market.param}PriceId`] ?? market.pythPriceId;
    return { name: market.symbol, priceId: typeof value === "string" ? value : JSON.stringify(value) };
  });
  if (problems.length > 0) throw new PreflightError(problems);
  return { pyth: pyth as string, feeds };
}

/** One line per feed, for the deploy:check report. */
export function formatPreflight(result: PreflightResult): string {
  const lines = [`Pyth ${result.pyth} on chain ${result.chainId}: code present`];
  for (const feed of result.feeds) {
    lines.push(
      `  ${feed.name} ${feed.priceId}: known; last stored price ${feed.price} x 10^${feed.expo} ` +
        `(conf ${feed.conf}) published at ${feed.publishTime}`,
    );
  }
  return lines.join("\n");
}
