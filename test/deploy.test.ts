/**
 * The deployment (scripts/deploy.ts, scripts/deploy-pyth.ts, one path: scripts/lib/deploy-protocol.ts, and the
 * Ignition modules) against real JSON-RPC nodes in separate processes: a `hardhat node`, and `anvil`. The local
 * default is `PerpPythLocal` (Pyth markets on StrictMockPyth, the order book), listed from a price service the
 * deploy script starts for the listing. Each node listens on a free 127.0.0.1 port; the record and the Ignition
 * journal go into a temporary directory, so the committed `deployments/localhost.json` is never touched: it is
 * compared with what a fresh node produces instead.
 *
 * The scripts run in this process (`deployInProcess`, test/helpers/deploy.ts: their own body, `deployMain`, on a
 * connection to the node), except one real child `hardhat run scripts/deploy.ts --network localhost` and one
 * `scripts/deploy-pyth.ts` against the hardhat node, so that the entry points themselves stay tested.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { expect } from "chai";
import hre from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { Contract, JsonRpcProvider, ZeroAddress, ZeroHash, getAddress, id, type Signer } from "ethers";

import type { Deployment } from "@perp/sdk";
import { PYTH_FEED_IDS, encodeMockPriceUpdate } from "@perp/sdk/prices";
import { ROOT, rpc, runDeploy, runHardhatScript, startLocalNode, stopNode, type Node, type RunResult } from "../scripts/lib/nodes.js";
import { chooseModule } from "../scripts/lib/deployment.js";
import { deployInProcess, withDeployEnv, type DeployEnv } from "./helpers/deploy.js";
import {
  ChainlinkPriceFeed__factory,
  IOrderEngine__factory,
  LiquidityVault__factory,
  MockAggregator__factory,
  MockUSDC__factory,
  OrderBook__factory,
  PerpEngine__factory,
  PythPriceFeed__factory,
} from "@perp/sdk/contracts";
import { DEFAULT_ORDER_BOOK_PARAMS } from "../ignition/lib/perp.js";

const COMMITTED_LOCALHOST = path.join(ROOT, "deployments", "localhost.json");
const WAD = 10n ** 18n;
const USDC = 10n ** 6n;

async function readDeployment(file: string): Promise<{ text: string; deployment: Deployment }> {
  const text = await readFile(file, "utf8");
  return { text, deployment: JSON.parse(text) as Deployment };
}

function everyAddress(deployment: Deployment): string[] {
  return [
    ...Object.values(deployment.contracts),
    ...(deployment.pyth === undefined ? [] : [deployment.pyth]),
    ...deployment.markets.flatMap((market) => (market.pythPriceId ? [market.priceFeed] : [market.priceFeed, market.aggregator])),
  ];
}

/** `npm run deploy -- --network localhost` against `url`: a child process (`spawned`) or in this process. */
function deploy(url: string, env: DeployEnv, options: { spawned?: boolean } = {}): Promise<RunResult> {
  return options.spawned === true ? runDeploy(url, env as Record<string, string>) : deployInProcess(url, env);
}

/** `npm run deploy:pyth -- --network localhost` against `url` (same environment rules as runDeploy). */
function deployPyth(url: string, env: DeployEnv, options: { spawned?: boolean } = {}): Promise<RunResult> {
  if (options.spawned !== true) return deployInProcess(url, env, { pyth: true });
  const cleared = { PERP_MODULE: "", PERP_PARAMETERS: "", PERP_DEPLOYMENTS_DIR: "", PERP_IGNITION_DEPLOYMENTS_DIR: "" };
  return runHardhatScript("scripts/deploy-pyth.ts", ["--network", "localhost"], { LOCALHOST_RPC_URL: url, ...cleared, ...env }, 50_000);
}

/** Checks the record against the chain: code, wiring, markets, insurance, roles. */
async function checkDeployment(
  provider: JsonRpcProvider,
  deployment: Deployment,
  expected: { owner: string; pendingOwner: string; guardian: string; insuranceUsd: bigint },
): Promise<void> {
  expect(deployment.schemaVersion).to.equal(1);
  expect(deployment.network).to.equal("localhost");
  expect(deployment.chainId).to.equal(31337);
  for (const address of everyAddress(deployment)) {
    expect(address).to.equal(getAddress(address), "checksummed");
    expect(await provider.getCode(address), `code at ${address}`).to.not.equal("0x");
  }
  // The deployment block is the engine's: no code just before it, code at it.
  const { PerpEngine, LiquidityVault, CollateralToken } = deployment.contracts;
  expect(await provider.getCode(PerpEngine, deployment.deploymentBlock - 1)).to.equal("0x");
  expect(await provider.getCode(PerpEngine, deployment.deploymentBlock)).to.not.equal("0x");

  const engine = PerpEngine__factory.connect(PerpEngine, provider);
  const vault = LiquidityVault__factory.connect(LiquidityVault, provider);
  expect(await engine.collateralToken()).to.equal(CollateralToken);
  expect(await engine.vault()).to.equal(LiquidityVault);
  expect(await vault.engine()).to.equal(PerpEngine);
  expect(await vault.asset()).to.equal(CollateralToken);

  expect(await engine.marketCount()).to.equal(2n);
  expect(deployment.markets.map((market) => [market.id, market.symbol])).to.deep.equal([
    [0, "ETH-USD"],
    [1, "BTC-USD"],
  ]);
  for (const market of deployment.markets) {
    const [priceFeed, reduceOnly] = await engine.getMarket(market.id);
    expect(priceFeed).to.equal(market.priceFeed);
    expect(reduceOnly).to.equal(false);
    if (market.pythPriceId) {
      const feed = PythPriceFeed__factory.connect(market.priceFeed, provider);
      expect(await feed.priceId()).to.equal(market.pythPriceId);
      expect(await feed.pyth()).to.equal(deployment.pyth);
    } else {
      expect(await ChainlinkPriceFeed__factory.connect(market.priceFeed, provider).feed()).to.equal(market.aggregator);
    }
    expect(await engine.indexPrice(market.id)).to.be.greaterThan(0n);
  }
  // A Pyth deployment trades through its order book only; a Chainlink one has none.
  const orderBook = await IOrderEngine__factory.connect(PerpEngine, provider).orderBook();
  expect(orderBook).to.equal(deployment.contracts.OrderBook ?? ZeroAddress);

  expect(await engine.insuranceFund()).to.equal(expected.insuranceUsd * WAD);
  expect(await MockUSDC__factory.connect(CollateralToken, provider).balanceOf(PerpEngine)).to.equal(
    expected.insuranceUsd * USDC,
  );
  expect(await engine.owner()).to.equal(expected.owner);
  expect(await engine.pendingOwner()).to.equal(expected.pendingOwner);
  expect(await engine.guardian()).to.equal(expected.guardian);
}

for (const kind of ["hardhat", "anvil"] as const) {
  describe(`deployment against ${kind === "hardhat" ? "a hardhat node" : "anvil"}`, function () {
    this.timeout(60_000);

    let node: Node | undefined;
    let provider: JsonRpcProvider;
    let tmp: string;
    let accounts: string[];
    let env: DeployEnv;
    // The entry points run as real child processes on the hardhat node; every other run is in process.
    const spawned = kind === "hardhat";

    before(async function () {
      tmp = await mkdtemp(path.join(os.tmpdir(), `perp-deploy-${kind}-`));
      env = {
        PERP_DEPLOYMENTS_DIR: path.join(tmp, "deployments"),
        PERP_IGNITION_DEPLOYMENTS_DIR: path.join(tmp, "ignition"),
      };
      node = await startLocalNode(kind);
      provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
      accounts = ((await rpc(node.url, "eth_accounts")) as string[]).map((account) => getAddress(account));
    });

    after(async function () {
      provider?.destroy();
      await stopNode(node);
      if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    });

    it(`deploys the local Pyth protocol with its order book and records it as committed in deployments/localhost.json${spawned ? " (scripts/deploy.ts as a child process)" : ""}`, async function () {
      const committedBefore = await readFile(COMMITTED_LOCALHOST, "utf8");
      const run = await deploy(node!.url, env, { spawned });
      expect(run.code, run.output).to.equal(0);

      const { text, deployment } = await readDeployment(path.join(tmp, "deployments", "localhost.json"));
      await checkDeployment(provider, deployment, {
        owner: accounts[0],
        pendingOwner: ZeroAddress,
        guardian: accounts[1],
        insuranceUsd: 100_000n,
      });
      // Listed at the modules' initial prices, from the price service the script started for the listing.
      const engine = PerpEngine__factory.connect(deployment.contracts.PerpEngine, provider);
      expect(await engine.indexPrice(0)).to.equal(2_000n * WAD);
      expect(await engine.indexPrice(1)).to.equal(60_000n * WAD);
      expect(deployment.markets.map((m) => [m.pythPriceId, m.aggregator])).to.deep.equal([
        [PYTH_FEED_IDS["ETH/USD"], ZeroAddress],
        [PYTH_FEED_IDS["BTC/USD"], ZeroAddress],
      ]);
      expect(deployment.hermesUrl).to.equal("http://127.0.0.1:8787");
      const book = OrderBook__factory.connect(deployment.contracts.OrderBook!, provider);
      expect(await book.engine()).to.equal(deployment.contracts.PerpEngine);
      expect(await book.owner()).to.equal(accounts[0]);
      const params = await book.params();
      expect(Object.fromEntries(Object.keys(DEFAULT_ORDER_BOOK_PARAMS).map((k) => [k, params[k as keyof typeof params]]))).to.deep.equal(
        DEFAULT_ORDER_BOOK_PARAMS,
      );

      // A fresh node and the default account #0 give the committed record, byte for byte; the run did not touch it.
      expect(text).to.equal(committedBefore);
      expect(await readFile(COMMITTED_LOCALHOST, "utf8")).to.equal(committedBefore);
    });

    it("is idempotent: a second run sends no transaction and rewrites the same record", async function () {
      const file = path.join(tmp, "deployments", "localhost.json");
      const before = await readFile(file, "utf8");
      const blockBefore = await provider.getBlockNumber();
      await rm(file);

      const run = await deploy(node!.url, env);
      expect(run.code, run.output).to.equal(0);
      expect(await provider.getBlockNumber()).to.equal(blockBefore);
      expect(await readFile(file, "utf8")).to.equal(before);
    });

    it(`deploy:pyth takes the same path on a local chain: nothing sent, the same record${spawned ? " (scripts/deploy-pyth.ts as a child process)" : ""}`, async function () {
      const file = path.join(tmp, "deployments", "localhost.json");
      const before = await readFile(file, "utf8");
      const blockBefore = await provider.getBlockNumber();
      const run = await deployPyth(node!.url, env, { spawned });
      expect(run.code, run.output).to.equal(0);
      expect(await provider.getBlockNumber()).to.equal(blockBefore);
      expect(await readFile(file, "utf8")).to.equal(before);
    });

    if (kind === "hardhat") {
      it("refuses a parameters file with values still marked TODO, before sending anything", async function () {
        const blockBefore = await provider.getBlockNumber();
        const run = await deploy(node!.url, {
          ...env,
          PERP_MODULE: "PerpProtocol",
          PERP_PARAMETERS: path.join(ROOT, "ignition", "parameters", "seiTestnet.json"),
        });
        expect(run.code).to.not.equal(0);
        expect(run.output).to.match(/still has values marked TODO/);
        expect(run.output).to.match(/collateralToken: TODO/);
        expect(await provider.getBlockNumber()).to.equal(blockBefore);
      });

      it("deploys the public-network module from a parameters file; its timelock can take ownership", async function () {
        // Stand-ins for USDC and the Chainlink feeds: the local deployment's MockUSDC and two MockAggregators.
        const local = (await readDeployment(path.join(tmp, "deployments", "localhost.json"))).deployment;
        const deployer: Signer = await provider.getSigner(accounts[0]);
        const aggregators: string[] = [];
        for (const [description, price] of [["ETH / USD", 2_000n], ["BTC / USD", 60_000n]] as const) {
          const aggregator = await new MockAggregator__factory(deployer).deploy(8, description, price * 10n ** 8n);
          await aggregator.waitForDeployment();
          aggregators.push(await aggregator.getAddress());
        }
        const seed = 25n;
        const usdcToken = MockUSDC__factory.connect(local.contracts.CollateralToken, deployer);
        await (await usdcToken.mint(accounts[0], seed * USDC)).wait();
        const parametersFile = path.join(tmp, "protocol.json");
        const delay = 600n;
        await writeFile(
          parametersFile,
          JSON.stringify({
            PerpProtocol: {
              collateralToken: local.contracts.CollateralToken,
              ethUsdAggregator: aggregators[0],
              btcUsdAggregator: aggregators[1],
              insuranceSeed: Number(seed * USDC),
              guardian: accounts[2],
              timelockMinDelay: Number(delay),
              timelockProposer: accounts[3],
            },
          }),
        );
        const protocolEnv = {
          ...env,
          PERP_MODULE: "PerpProtocol",
          PERP_PARAMETERS: parametersFile,
          PERP_DEPLOYMENTS_DIR: path.join(tmp, "protocol-deployments"),
        };
        const run = await deploy(node!.url, protocolEnv);
        expect(run.code, run.output).to.equal(0);

        const addresses = JSON.parse(
          await readFile(path.join(tmp, "ignition", "chain-31337", "deployed_addresses.json"), "utf8"),
        ) as Record<string, string>;
        const timelockAddress = getAddress(addresses["PerpProtocol#Timelock"]);
        const { deployment } = await readDeployment(path.join(tmp, "protocol-deployments", "localhost.json"));
        expect(deployment.contracts.CollateralToken).to.equal(local.contracts.CollateralToken);
        expect(deployment.markets.map((market) => market.aggregator)).to.deep.equal(aggregators);
        expect(deployment.contracts.OrderBook).to.equal(undefined);
        expect(deployment.contracts.PerpEngine).to.not.equal(local.contracts.PerpEngine);
        await checkDeployment(provider, deployment, {
          owner: accounts[0],
          pendingOwner: timelockAddress,
          guardian: accounts[2],
          insuranceUsd: seed,
        });

        // Rerun: nothing sent.
        const blockBefore = await provider.getBlockNumber();
        const rerun = await deploy(node!.url, protocolEnv);
        expect(rerun.code, rerun.output).to.equal(0);
        expect(await provider.getBlockNumber()).to.equal(blockBefore);

        // The hand-over of docs/deployment.md: the proposer schedules acceptOwnership, anyone executes it after
        // the delay.
        const timelock = new Contract(
          timelockAddress,
          [
            "function getMinDelay() view returns (uint256)",
            "function schedule(address,uint256,bytes,bytes32,bytes32,uint256)",
            "function execute(address,uint256,bytes,bytes32,bytes32) payable",
          ],
          provider,
        );
        expect(await timelock.getMinDelay()).to.equal(delay);
        const engine = PerpEngine__factory.connect(deployment.contracts.PerpEngine, provider);
        const call = engine.interface.encodeFunctionData("acceptOwnership");
        const salt = id("accept engine ownership");
        const proposer = timelock.connect(await provider.getSigner(accounts[3])) as Contract;
        await (await proposer.schedule(engine, 0, call, ZeroHash, salt, delay)).wait();
        const executor = timelock.connect(await provider.getSigner(accounts[4])) as Contract;
        expect(await reverts(executor.execute.staticCall(engine, 0, call, ZeroHash, salt)), "executed early").to.equal(
          true,
        );
        await provider.send("evm_increaseTime", [Number(delay)]);
        await provider.send("evm_mine", []);
        await (await executor.execute(engine, 0, call, ZeroHash, salt)).wait();
        expect(await engine.owner()).to.equal(timelockAddress);
        expect(await engine.pendingOwner()).to.equal(ZeroAddress);
      });

      it("deploy:pyth deploys the public-network Pyth module and writes its record in the SDK's schema", async function () {
        // Stand-ins for USDC and Pyth: the local deployment's MockUSDC and StrictMockPyth (the preflight reads it).
        const local = (await readDeployment(path.join(tmp, "deployments", "localhost.json"))).deployment;
        const deployer: Signer = await provider.getSigner(accounts[0]);
        const seed = 7n;
        await (await MockUSDC__factory.connect(local.contracts.CollateralToken, deployer).mint(accounts[0], seed * USDC)).wait();
        const parametersFile = path.join(tmp, "pyth.json");
        await writeFile(
          parametersFile,
          JSON.stringify({
            PerpPyth: {
              collateralToken: local.contracts.CollateralToken,
              pyth: local.pyth,
              insuranceSeed: Number(seed * USDC),
              guardian: accounts[2],
              timelockMinDelay: 600,
              timelockProposer: accounts[3],
            },
          }),
        );
        const pythEnv = {
          ...env,
          PERP_MODULE: "PerpPyth",
          PERP_PARAMETERS: parametersFile,
          PERP_DEPLOYMENTS_DIR: path.join(tmp, "pyth-deployments"),
        };
        // StrictMockPyth stores only what updatePriceFeeds pushed: the preflight refuses, before anything is sent.
        const blockBeforeRefusal = await provider.getBlockNumber();
        const refused = await deployPyth(node!.url, pythEnv);
        expect(refused.code).to.equal(1);
        expect(refused.output).to.include(
          `ETH-USD feed ${PYTH_FEED_IDS["ETH/USD"]}: unknown to the Pyth contract at ${local.pyth} (priceFeedExists = false)`,
        );
        expect(await provider.getBlockNumber()).to.equal(blockBeforeRefusal);
        // As on a real chain whose Pyth never saw the feeds: push one update of each first.
        const publishTime = BigInt((await provider.getBlock("latest"))!.timestamp);
        const seeds = [
          [PYTH_FEED_IDS["ETH/USD"], 2_000n],
          [PYTH_FEED_IDS["BTC/USD"], 60_000n],
        ].map(([id, usd]) =>
          encodeMockPriceUpdate({ id: id as string, price: { price: (usd as bigint) * 10n ** 8n, conf: 0n, expo: -8, publishTime }, prevPublishTime: 0n }),
        );
        const pyth = new Contract(local.pyth!, ["function updatePriceFeeds(bytes[]) payable"], deployer);
        await (await pyth.updatePriceFeeds(seeds, { value: 2n })).wait();

        const run = await deployPyth(node!.url, pythEnv);
        expect(run.code, run.output).to.equal(0);
        expect(run.output).to.match(/Pyth 0x[0-9a-fA-F]{40} on chain 31337: code present/);
        const addresses = JSON.parse(
          await readFile(path.join(tmp, "ignition", "chain-31337-pyth", "deployed_addresses.json"), "utf8"),
        ) as Record<string, string>;
        const timelock = getAddress(addresses["PerpPyth#Timelock"]);
        const { deployment } = await readDeployment(path.join(tmp, "pyth-deployments", "localhost.json"));
        expect(deployment.pyth).to.equal(local.pyth);
        expect(deployment.contracts.OrderBook).to.equal(getAddress(addresses["PerpPyth#OrderBook"]));
        expect(deployment.markets.map((m) => m.pythPriceId)).to.deep.equal([PYTH_FEED_IDS["ETH/USD"], PYTH_FEED_IDS["BTC/USD"]]);
        await checkDeployment(provider, deployment, { owner: accounts[0], pendingOwner: timelock, guardian: accounts[2], insuranceUsd: seed });
        expect(await OrderBook__factory.connect(deployment.contracts.OrderBook!, provider).pendingOwner()).to.equal(timelock);

        // Rerun: the journal's listing updates are reused, nothing is sent.
        const blockBefore = await provider.getBlockNumber();
        const rerun = await deployPyth(node!.url, pythEnv);
        expect(rerun.code, rerun.output).to.equal(0);
        expect(await provider.getBlockNumber()).to.equal(blockBefore);
      });
    }
  });
}

describe("npm run deploy on a public Pyth testnet: v2 (PerpPyth with the order book) by default", function () {
  const TESTNETS = [
    ["seiTestnet (atlantic-2)", 1328],
    ["arbitrumSepolia", 421614],
    ["baseSepolia", 84532],
    ["sepolia", 11155111],
  ] as const;

  it("chooses PerpPyth on every public testnet, PerpPythLocal locally; v1 only by PERP_MODULE", async function () {
    for (const [name, chainId] of TESTNETS) {
      await withDeployEnv({}, async () => {
        expect(chooseModule(chainId, { pyth: false }), name).to.equal("PerpPyth");
        expect(chooseModule(chainId, { pyth: true }), name).to.equal("PerpPyth");
      });
      await withDeployEnv({ PERP_MODULE: "PerpProtocol" }, async () => {
        expect(chooseModule(chainId, { pyth: false }), name).to.equal("PerpProtocol");
        expect(() => chooseModule(chainId, { pyth: true })).to.throw(
          "PERP_MODULE=PerpProtocol: expected one of PerpPythLocal, PerpPyth",
        );
      });
    }
    for (const chainId of [31337, 1337]) {
      await withDeployEnv({}, async () => expect(chooseModule(chainId)).to.equal("PerpPythLocal"));
      await withDeployEnv({ PERP_MODULE: "PerpLocal" }, async () => expect(chooseModule(chainId)).to.equal("PerpLocal"));
    }
  });

  /** The in-process network under a testnet's chain id (its signers are the default accounts), closed after `fn`. */
  async function onChain(chainId: number, fn: (connection: NetworkConnection) => Promise<void>): Promise<void> {
    const connection = await hre.network.create({ network: "default", override: { chainId } });
    try {
      await fn(connection);
    } finally {
      await connection.close();
    }
  }

  /** Block number and the deployer's nonce: both unchanged when nothing was sent. */
  async function sent(connection: NetworkConnection): Promise<[number, number]> {
    const [deployer] = await connection.ethers.getSigners();
    return [await connection.ethers.provider.getBlockNumber(), await connection.ethers.provider.getTransactionCount(deployer)];
  }

  it("on Base Sepolia's chain id with its parameters, the preflight refuses before anything is sent", async function () {
    const file = path.join(ROOT, "ignition", "parameters", "baseSepolia.json");
    const pyth = (JSON.parse(await readFile(file, "utf8")) as { PerpPyth: { pyth: string } }).PerpPyth.pyth;
    await onChain(84532, async (connection) => {
      // Base Sepolia's Pyth address has no code on this chain, as on a wrong network.
      const before = await sent(connection);
      const run = await deployInProcess(connection, { PERP_PARAMETERS: file });
      expect(run.code, run.output).to.equal(1);
      expect(run.output).to.equal(
        "Pyth preflight refused the deployment:\n" +
          `  no contract at the Pyth address ${pyth} on chain 84532: wrong address for this network (see docs/deployment.md, "Pyth markets")\n`,
      );
      expect(await sent(connection)).to.deep.equal(before);
    });
  });

  it("a TODO in the parameters is refused for the module chosen: PerpPyth by default, PerpProtocol when asked", async function () {
    const PERP_PARAMETERS = path.join(ROOT, "ignition", "parameters", "seiTestnet.json");
    await onChain(1328, async (connection) => {
      const before = await sent(connection);
      const v2 = await deployInProcess(connection, { PERP_PARAMETERS });
      expect(v2.code, v2.output).to.equal(1);
      expect(v2.output).to.match(
        /^ignition\/parameters\/seiTestnet\.json still has values marked TODO for PerpPyth; fill them in first:\n  collateralToken: TODO/,
      );
      const v1 = await deployInProcess(connection, { PERP_PARAMETERS, PERP_MODULE: "PerpProtocol" });
      expect(v1.code, v1.output).to.equal(1);
      expect(v1.output).to.match(/still has values marked TODO for PerpProtocol; fill them in first:\n  collateralToken: TODO/);
      expect(v1.output).to.include("ethUsdAggregator: TODO");
      expect(await sent(connection)).to.deep.equal(before);
    });
  });
});

async function reverts(promise: Promise<unknown>): Promise<boolean> {
  try {
    await promise;
    return false;
  } catch {
    return true;
  }
}
