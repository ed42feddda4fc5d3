/**
 * The deployment `npm run web` and the browser tests trade on: what the demo's chapter 6 deploys (the Ignition module
 * `PerpPythLocal`: Pyth markets on the local StrictMockPyth, listed at the local price service's prices), plus the
 * `OrderBook` wired to its engine, written as a deployment record.
 *
 *   LOCALHOST_RPC_URL=http://127.0.0.1:8545 PERP_PRICE_SERVICE_URL=http://127.0.0.1:8787 \
 *   WEB_DEPLOYMENT_OUT=web/public/deployments.local.json npx hardhat run web/scripts/deploy-local.ts --network localhost
 *
 * Kept in step with scripts/demo/orders.ts (the book's parameters are the BRIEF's defaults); when `npm run deploy`
 * deploys the order-book deployment by default, this file shrinks to a call of it.
 */
import { writeFile } from "node:fs/promises";

import { ZeroAddress, getAddress } from "ethers";
import hre from "hardhat";

import type { Deployment } from "@perp/sdk";
import { OrderBook__factory, PerpEngine__factory } from "@perp/sdk/contracts";
import { HermesPriceSource } from "@perp/sdk/prices";

import { FUTURE_IDS, MARKETS } from "../../ignition/lib/perp.js";
import PerpPythLocal from "../../ignition/modules/PerpPythLocal.js";
import { deployWithIgnition } from "../../scripts/lib/deployment.js";
import { pythListingParameters } from "../../scripts/lib/pyth-listing.js";

const MODULE_ID = "PerpPythLocal";
const BOOK = {
  keeperFee: 5n * 10n ** 17n,
  minSettleDelay: 2n,
  maxSettleDelay: 30n,
  marketOrderExpiry: 120n,
  triggerMaxAge: 10n,
  minExecutionGas: 500_000n,
};

const out = process.env.WEB_DEPLOYMENT_OUT;
const endpoint = process.env.PERP_PRICE_SERVICE_URL ?? "http://127.0.0.1:8787";
if (out === undefined) throw new Error("set WEB_DEPLOYMENT_OUT to the file the deployment record goes to");

const connection = await hre.network.getOrCreate();
const provider = connection.ethers.provider;
const [operator] = await connection.ethers.getSigners();
const source = new HermesPriceSource({ endpoint, httpRetries: 0 });
const fromBlock = await provider.getBlockNumber();
const addresses = await deployWithIgnition({
  hre,
  connection,
  ignitionModule: PerpPythLocal,
  parameters: { [MODULE_ID]: await pythListingParameters(source, MARKETS) },
  // A fresh node per run: no journal to resume.
  deploymentDir: undefined,
  showProgress: false,
});
const at = (id: string) => getAddress(addresses[`${MODULE_ID}#${id}`]);
const book = await new OrderBook__factory(operator).deploy(at(FUTURE_IDS.engine), BOOK, operator.address);
await book.waitForDeployment();
await (await PerpEngine__factory.connect(at(FUTURE_IDS.engine), operator).setOrderBook(await book.getAddress())).wait();
const deployment: Deployment = {
  schemaVersion: 1,
  network: connection.networkName,
  chainId: Number((await provider.getNetwork()).chainId),
  deploymentBlock: fromBlock + 1,
  contracts: {
    PerpEngine: at(FUTURE_IDS.engine),
    LiquidityVault: at(FUTURE_IDS.vault),
    CollateralToken: at(FUTURE_IDS.collateralToken),
    LiquidationLogic: at(FUTURE_IDS.liquidationLogic),
    LiquidationPriceLogic: at(FUTURE_IDS.liquidationPriceLogic),
    MarketAdminLogic: at(FUTURE_IDS.marketAdminLogic),
    PerpLens: at(FUTURE_IDS.lens),
    OrderBook: await book.getAddress(),
  },
  pyth: at(FUTURE_IDS.pyth),
  markets: MARKETS.map((m, id) => ({ id, symbol: m.symbol, priceFeed: at(FUTURE_IDS.priceFeed(m)), aggregator: ZeroAddress, pythPriceId: m.pythPriceId })),
};
await writeFile(out, JSON.stringify(deployment, null, 2) + "\n");
console.log(`deployment written to ${out}`);
