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
  if (isError(error, "CALL_EXCEPTION")) {
    const data = error.data;
    if (data !== null && data !== undefined && data !== "0x") {
      const parsed = pythInterface.parseError(data);
      return parsed === null ? `reverted with data ${data}` : `reverted with ${parsed.name}()`;
    }
    return "reverted without a reason";
  }
  return error instanceof Error ? error.message : String(error);
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
