/**
 * The order keeper's local world, shared by test/keeper-orders.test.ts and the order keeper's benchmark
 * (scripts/keeper/bench/orders.ts): on a Hardhat network connection, a MockUSDC engine with a funded LP vault, one
 * ETH-USD market behind a `PythPriceFeed` over `StrictMockPyth` (first price 2,000 cached at `t0`), an `OrderBook`
 * with the default parameters, and `traders` funded default accounts (10,000 USDC in the cross balance each).
 * Also the counting EIP-1193 shim through which a keeper's RPC calls are counted. Local networks only.
 */
import { ZeroAddress, type Eip1193Provider } from "ethers";
import type { network } from "hardhat";

import { type Deployment } from "@perp/sdk";
import {
  LiquidityVault__factory,
  MockUSDC__factory,
  OrderBook__factory,
  PerpLens__factory,
  PythPriceFeed__factory,
  StrictMockPyth__factory,
} from "@perp/sdk/contracts";
import { PYTH_FEED_IDS, encodeMockPriceUpdate } from "@perp/sdk/prices";

import { DAY, deployEngine, ethParams, usdc, wad } from "../../lib/fixture.js";

export type OrderConnection = Awaited<ReturnType<typeof network.create>>;

export const ETH_ID = PYTH_FEED_IDS["ETH/USD"];
export const E8 = 10n ** 8n;
export const KEEPER_FEE = wad("0.5");
export const ORDER_PARAMS = { keeperFee: KEEPER_FEE, minSettleDelay: 2, maxSettleDelay: 30, marketOrderExpiry: 120, triggerMaxAge: 10, minExecutionGas: 500_000 };

/** Counts the JSON-RPC requests a keeper makes (by method); `before` runs ahead of each request (awaited). */
export class CountingShim implements Eip1193Provider {
  readonly calls = new Map<string, number>();
  constructor(
    readonly inner: Eip1193Provider,
    private readonly before?: (method: string) => Promise<void>,
  ) {}
  async request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown> {
    this.calls.set(args.method, (this.calls.get(args.method) ?? 0) + 1);
    if (this.before) await this.before(args.method);
    return this.inner.request(args);
  }
  total(): number {
    return [...this.calls.values()].reduce((a, b) => a + b, 0);
  }
  reset(): void {
    this.calls.clear();
  }
}

/** Deploys the world; signers: #0 owner, #1 LP, #2 and #3 keepers, then `traders` traders. */
export async function deployOrderWorld(connection: OrderConnection, traders: number) {
  const { ethers, networkHelpers } = connection;
  const { time } = networkHelpers;
  const signers = await ethers.getSigners();
  const [owner, lp, keeperA, keeperB] = signers;
  const traderSigners = signers.slice(4, 4 + traders);
  const token = await new MockUSDC__factory(owner).deploy();
  const engine = await deployEngine(owner, await token.getAddress());
  const vault = await new LiquidityVault__factory(owner).deploy(token, engine, DAY, "Perp LP", "pLP");
  await engine.setVault(vault);
  const pyth = await new StrictMockPyth__factory(owner).deploy(1n);
  // The book first: the adapter is built naming it (`acceptPrice` is the book's and its engine's alone).
  const book = await new OrderBook__factory(owner).deploy(engine, ORDER_PARAMS, owner);
  await engine.setOrderBook(book);
  const feed = await new PythPriceFeed__factory(owner).deploy({
    pyth: await pyth.getAddress(),
    priceId: ETH_ID,
    maxConfBps: 100,
    maxFutureSkew: 5,
    maxCacheAge: 3600,
    referenceFeed: ZeroAddress,
    refMaxDevBps: 300,
    refHeartbeat: 3600,
    expo: -8,
  }, book);
  // The first price: cached before the market is listed (the listing reads it).
  const t0 = BigInt(await time.latest()) + 1n;
  await time.setNextBlockTimestamp(t0);
  await feed.updatePrice(
    [encodeMockPriceUpdate({ id: ETH_ID, price: { price: 2_000n * E8, conf: 0n, expo: -8, publishTime: t0 }, prevPublishTime: 0n })],
    { value: 1n },
  );
  await engine.listMarket(feed, ethParams());
  for (const account of [lp, keeperA, keeperB, ...traderSigners]) {
    await token.mint(account, usdc(1_000_000));
    await token.connect(account).approve(engine, ethers.MaxUint256);
    await token.connect(account).approve(vault, ethers.MaxUint256);
  }
  // The LP's two-step deposit (request, settle after lpSettleDelay, claim), on this network.
  await vault.connect(lp).requestDeposit(usdc(500_000), lp.address, lp.address);
  await time.increase(await vault.lpSettleDelay());
  await vault.connect(lp).settleDeposit(lp.address);
  await vault.connect(lp)["deposit(uint256,address,address)"](usdc(500_000), lp.address, lp.address);
  for (const trader of traderSigners) await engine.connect(trader).deposit(usdc(10_000));
  const lens = await new PerpLens__factory(owner).deploy(engine);
  const deployment: Deployment = {
    schemaVersion: 1,
    network: "hardhat",
    chainId: Number((await ethers.provider.getNetwork()).chainId),
    deploymentBlock: 0,
    contracts: {
      PerpEngine: await engine.getAddress(),
      LiquidityVault: await vault.getAddress(),
      CollateralToken: await token.getAddress(),
      LiquidationLogic: ZeroAddress,
      LiquidationPriceLogic: ZeroAddress,
      MarketAdminLogic: ZeroAddress,
      PerpLens: await lens.getAddress(),
    },
    markets: [{ id: 0, symbol: "ETH-USD", priceFeed: await feed.getAddress(), aggregator: ZeroAddress }],
  };
  return { owner, keeperA, keeperB, traders: traderSigners, token, engine, book, deployment, t0: Number(t0) };
}
