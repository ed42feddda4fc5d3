/**
 * The Pyth deployment preflight (scripts/lib/preflight.ts, `npm run deploy:check`) against the in-process network:
 * it refuses an address without code, a feed the Pyth contract does not know, and a contract that is not Pyth; it
 * passes a Pyth (the strict local mock) that knows both feeds. Plus the Pyth sections of the parameter files and the
 * PerpPyth module's adapters.
 */
import { readFileSync } from "node:fs";

import { expect } from "chai";
import { type Contract, Wallet } from "ethers";

import { PYTH_FEED_IDS, encodeMockPriceUpdate } from "@perp/sdk/prices";

import { FUTURE_IDS, MARKETS } from "../ignition/lib/perp.js";
import PerpPyth from "../ignition/modules/PerpPyth.js";
import { ethers, networkHelpers } from "../scripts/lib/network.js";
import { PreflightError, formatPreflight, pythPreflight, pythTargetFromParameters } from "../scripts/lib/preflight.js";

const ETH = PYTH_FEED_IDS["ETH/USD"];
const BTC = PYTH_FEED_IDS["BTC/USD"];
const FEEDS = [
  { name: "ETH-USD", priceId: ETH },
  { name: "BTC-USD", priceId: BTC },
];

async function refusal(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(PreflightError);
    return (error as PreflightError).problems;
  }
  throw new Error("expected the preflight to refuse");
}

async function deployPyth() {
  const pyth = (await ethers.deployContract("StrictMockPyth", [1])) as unknown as Contract;
  return { pyth, address: await pyth.getAddress() };
}

async function push(pyth: Contract, id: string, price: bigint, publishTime: bigint) {
  const data = [encodeMockPriceUpdate({ id, price: { price, conf: 1_000_000n, expo: -8, publishTime } })];
  await (await pyth.updatePriceFeeds(data, { value: await pyth.getUpdateFee(data) })).wait();
}

describe("Pyth deployment preflight", function () {
  it("refuses an address without code, before asking anything else", async function () {
    const empty = Wallet.createRandom().address;
    const { chainId } = await ethers.provider.getNetwork();
    expect(await refusal(pythPreflight(ethers.provider, { pyth: empty, feeds: FEEDS }))).to.deep.equal([
      `no contract at the Pyth address ${empty} on chain ${chainId}: wrong address for this network (see ` +
        'docs/deployment.md, "Pyth markets")',
    ]);
    expect(await refusal(pythPreflight(ethers.provider, { pyth: "0x1234", feeds: FEEDS }))).to.deep.equal([
      'Pyth address "0x1234" is not an address',
    ]);
  });

  it("refuses feeds the Pyth contract does not know (priceFeedExists false), listing each", async function () {
    const { pyth, address } = await networkHelpers.loadFixture(deployPyth);
    await push(pyth, ETH, 300_000_000_000n, 1_800_000_000n);
    expect(await refusal(pythPreflight(ethers.provider, { pyth: address, feeds: FEEDS }))).to.deep.equal([
      `BTC-USD feed ${BTC}: unknown to the Pyth contract at ${address} (priceFeedExists = false)`,
    ]);
    const typo = `${ETH.slice(0, -1)}f`;
    expect(
      await refusal(
        pythPreflight(ethers.provider, {
          pyth: address,
          feeds: [{ name: "ETH-USD", priceId: typo }, { name: "BTC-USD", priceId: "0xe62d" }],
        }),
      ),
    ).to.deep.equal([
      `ETH-USD feed ${typo}: unknown to the Pyth contract at ${address} (priceFeedExists = false)`,
      "BTC-USD feed 0xe62d: not a feed id (0x + 64 hex digits)",
    ]);
  });

  it("refuses a contract that is not Pyth (no priceFeedExists; getPriceUnsafe reverts)", async function () {
    const token = await ethers.deployContract("MockUSDC");
    const address = await token.getAddress();
    const problems = await refusal(pythPreflight(ethers.provider, { pyth: address, feeds: FEEDS.slice(0, 1) }));
    expect(problems).to.have.length(1);
    // The revert has no data; the node's wording follows the prefix.
    expect(problems[0].startsWith(`ETH-USD feed ${ETH}: unknown to the Pyth contract at ${address} (getPriceUnsafe failed: `)).to.equal(
      true,
      problems[0],
    );
  });

  it("passes a Pyth that knows every feed, reporting the stored prices", async function () {
    const { pyth, address } = await networkHelpers.loadFixture(deployPyth);
    await push(pyth, ETH, 300_000_000_000n, 1_800_000_000n);
    await push(pyth, BTC, 6_000_000_000_000n, 1_800_000_005n);
    const result = await pythPreflight(ethers.provider, { pyth: address.toLowerCase(), feeds: FEEDS });
    const { chainId } = await ethers.provider.getNetwork();
    expect(result).to.deep.equal({
      pyth: address,
      chainId,
      feeds: [
        { ...FEEDS[0], price: 300_000_000_000n, conf: 1_000_000n, expo: -8, publishTime: 1_800_000_000n },
        { ...FEEDS[1], price: 6_000_000_000_000n, conf: 1_000_000n, expo: -8, publishTime: 1_800_000_005n },
      ],
    });
    expect(formatPreflight(result)).to.equal(
      [
        `Pyth ${address} on chain ${chainId}: code present`,
        `  ETH-USD ${ETH}: known; last stored price 300000000000 x 10^-8 (conf 1000000) published at 1800000000`,
        `  BTC-USD ${BTC}: known; last stored price 6000000000000 x 10^-8 (conf 1000000) published at 1800000005`,
      ].join("\n"),
    );
  });

  it("the local StrictMockPyth: a feed is unknown until its first update, known after", async function () {
    const pyth = (await ethers.deployContract("StrictMockPyth", [1])) as unknown as Contract;
    const address = await pyth.getAddress();
    expect(await refusal(pythPreflight(ethers.provider, { pyth: address, feeds: FEEDS.slice(0, 1) }))).to.deep.equal([
      `ETH-USD feed ${ETH}: unknown to the Pyth contract at ${address} (priceFeedExists = false)`,
    ]);
    await push(pyth, ETH, 200_000_000_000n, 1_800_000_000n);
    const result = await pythPreflight(ethers.provider, { pyth: address, feeds: FEEDS.slice(0, 1) });
    expect(result.feeds).to.deep.equal([
      { ...FEEDS[0], price: 200_000_000_000n, conf: 1_000_000n, expo: -8, publishTime: 1_800_000_000n },
    ]);
  });

  it("parameters: the Pyth address and feed ids of each testnet file (research/orders.md §4.1, §4.2)", function () {
    const expected: Record<string, string> = {
      seiTestnet: "0x2880aB155794e7179c9eE2e38200202908C17B43",
      arbitrumSepolia: "0x4374e5a8b9C22271E9EB878A2AA31DE97DF15DAF",
      baseSepolia: "0xA2aa501b19aff244D90cc15a4Cf739D2725B5729",
      sepolia: "0xDd24F84d36BF92C65F92307595335bdFab5Bbd21",
    };
    expect(ETH).to.equal("0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace");
    expect(BTC).to.equal("0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43");
    for (const [network, pyth] of Object.entries(expected)) {
      const file = JSON.parse(readFileSync(new URL(`../ignition/parameters/${network}.json`, import.meta.url), "utf8"));
      expect(pythTargetFromParameters(file, MARKETS), network).to.deep.equal({ pyth, feeds: FEEDS });
      // The public-network timelock delay must exceed the LP cooldown here too (RT-08).
      expect(file.PerpPyth.timelockMinDelay > 86_400, network).to.equal(true);
    }
  });

  it("parameters: a missing or TODO Pyth address is refused; feed ids default to the markets' ids", function () {
    expect(() => pythTargetFromParameters({}, MARKETS)).to.throw(
      PreflightError,
      "parameter PerpPyth.pyth is missing: set the network's Pyth address",
    );
    expect(() => pythTargetFromParameters({ PerpPyth: { pyth: "TODO: Pyth on X" } }, MARKETS)).to.throw(
      PreflightError,
      'parameter PerpPyth.pyth is "TODO: Pyth on X": set the network\'s Pyth address',
    );
    const pyth = Wallet.createRandom().address;
    expect(pythTargetFromParameters({ PerpPyth: { pyth, btcUsdPriceId: ETH } }, MARKETS)).to.deep.equal({
      pyth,
      feeds: [FEEDS[0], { name: "BTC-USD", priceId: ETH }],
    });
  });

  it("the PerpPyth module lists each market on a PythPriceFeed whose config names the Pyth contract and feed id", function () {
    const futures = [...PerpPyth.futures];
    for (const market of MARKETS) {
      const feed = futures.find((f) => f.id === `PerpPyth#${FUTURE_IDS.priceFeed(market)}`) as unknown as {
        contractName: string;
        constructorArgs: Array<Record<string, { id?: string; name?: string; defaultValue?: unknown }>>;
      };
      expect(feed.contractName).to.equal("PythPriceFeed");
      const config = feed.constructorArgs[0];
      expect(Object.keys(config)).to.deep.equal([
        "pyth",
        "priceId",
        "maxConfBps",
        "maxFutureSkew",
        "maxCacheAge",
        "referenceFeed",
        "refMaxDevBps",
        "refHeartbeat",
        "expo",
      ]);
      expect(config.pyth.id).to.equal(`PerpPyth#${FUTURE_IDS.pyth}`);
      expect([config.priceId.name, config.priceId.defaultValue]).to.deep.equal([`${market.param}PriceId`, market.pythPriceId]);
      expect(config.referenceFeed.name).to.equal(`${market.param}ReferenceFeed`);
      const listing = futures.find((f) => f.id === `PerpPyth#listMarket_${market.key}`) as unknown as { args: unknown[] };
      expect(listing.args[0]).to.equal(feed);
    }
  });
});
