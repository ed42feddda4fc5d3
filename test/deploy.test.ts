/**
 * The deployment (scripts/deploy.ts + the Ignition modules) against real JSON-RPC nodes in separate processes: a
 * `hardhat node`, and `anvil`. Each node listens on a free 127.0.0.1 port; the deploy script runs as a child
 * `hardhat run scripts/deploy.ts --network localhost` with `LOCALHOST_RPC_URL` pointing at it, and writes its record
 * and Ignition journal into a temporary directory, so the committed `deployments/localhost.json` is never touched:
 * it is compared with what a fresh node produces instead.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Contract, JsonRpcProvider, ZeroAddress, ZeroHash, getAddress, id, type Signer } from "ethers";

import type { Deployment } from "@perp/sdk";
import { ROOT, rpc, runDeploy, startLocalNode, stopNode, type Node } from "../scripts/lib/nodes.js";
import {
  ChainlinkPriceFeed__factory,
  LiquidityVault__factory,
  MockAggregator__factory,
  MockUSDC__factory,
  PerpEngine__factory,
} from "@perp/sdk/contracts";

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
    ...deployment.markets.flatMap((market) => [market.priceFeed, market.aggregator]),
  ];
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
    expect(await ChainlinkPriceFeed__factory.connect(market.priceFeed, provider).feed()).to.equal(market.aggregator);
    expect(await engine.indexPrice(market.id)).to.be.greaterThan(0n);
  }

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
    let env: Record<string, string>;

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

    it("deploys the local protocol and records it as committed in deployments/localhost.json", async function () {
      const committedBefore = await readFile(COMMITTED_LOCALHOST, "utf8");
      const run = await runDeploy(node!.url, env);
      expect(run.code, run.output).to.equal(0);

      const { text, deployment } = await readDeployment(path.join(tmp, "deployments", "localhost.json"));
      await checkDeployment(provider, deployment, {
        owner: accounts[0],
        pendingOwner: ZeroAddress,
        guardian: accounts[1],
        insuranceUsd: 100_000n,
      });
      const [ethAggregator, btcAggregator] = deployment.markets.map((market) =>
        MockAggregator__factory.connect(market.aggregator, provider),
      );
      expect(await ethAggregator.description()).to.equal("ETH / USD");
      expect(await btcAggregator.description()).to.equal("BTC / USD");

      // A fresh node and the default account #0 give the committed record, byte for byte; the run did not touch it.
      expect(text).to.equal(committedBefore);
      expect(await readFile(COMMITTED_LOCALHOST, "utf8")).to.equal(committedBefore);
    });

    it("is idempotent: a second run sends no transaction and rewrites the same record", async function () {
      const file = path.join(tmp, "deployments", "localhost.json");
      const before = await readFile(file, "utf8");
      const blockBefore = await provider.getBlockNumber();
      await rm(file);

      const run = await runDeploy(node!.url, env);
      expect(run.code, run.output).to.equal(0);
      expect(await provider.getBlockNumber()).to.equal(blockBefore);
      expect(await readFile(file, "utf8")).to.equal(before);
    });

    if (kind === "hardhat") {
      it("refuses a parameters file with values still marked TODO, before sending anything", async function () {
        const blockBefore = await provider.getBlockNumber();
        const run = await runDeploy(node!.url, {
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
        // Stand-ins for USDC and the Chainlink feeds: the mocks of the local deployment above.
        const local = (await readDeployment(path.join(tmp, "deployments", "localhost.json"))).deployment;
        const deployer: Signer = await provider.getSigner(accounts[0]);
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
              ethUsdAggregator: local.markets[0].aggregator,
              btcUsdAggregator: local.markets[1].aggregator,
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
        const run = await runDeploy(node!.url, protocolEnv);
        expect(run.code, run.output).to.equal(0);

        const addresses = JSON.parse(
          await readFile(path.join(tmp, "ignition", "chain-31337", "deployed_addresses.json"), "utf8"),
        ) as Record<string, string>;
        const timelockAddress = getAddress(addresses["PerpProtocol#Timelock"]);
        const { deployment } = await readDeployment(path.join(tmp, "protocol-deployments", "localhost.json"));
        expect(deployment.contracts.CollateralToken).to.equal(local.contracts.CollateralToken);
        expect(deployment.markets.map((market) => market.aggregator)).to.deep.equal(
          local.markets.map((market) => market.aggregator),
        );
        expect(deployment.contracts.PerpEngine).to.not.equal(local.contracts.PerpEngine);
        await checkDeployment(provider, deployment, {
          owner: accounts[0],
          pendingOwner: timelockAddress,
          guardian: accounts[2],
          insuranceUsd: seed,
        });

        // Rerun: nothing sent.
        const blockBefore = await provider.getBlockNumber();
        const rerun = await runDeploy(node!.url, protocolEnv);
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
    }
  });
}

async function reverts(promise: Promise<unknown>): Promise<boolean> {
  try {
    await promise;
    return false;
  } catch {
    return true;
  }
}
