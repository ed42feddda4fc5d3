/**
 * The order keeper settles the LP vault's ERC-7540 requests (scripts/keeper/lp.ts): on the order world of
 * scripts/keeper/bench/orderWorld.ts (in-process network, StrictMockPyth ETH market, the local price service in
 * process), an LP requests a deposit and a redemption; the keeper leaves them alone until `lpSettleDelay` has
 * passed, then pushes a price published after the requests and settles both for their escrowed fees, once.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { PerpClient } from "@perp/sdk";
import { LiquidityVault__factory, MockUSDC__factory, PythPriceFeed__factory } from "@perp/sdk/contracts";
import { HermesPriceSource } from "@perp/sdk/prices";

import { OrderKeeper } from "../scripts/keeper/orders.js";
import { E8, ETH_ID, deployOrderWorld } from "../scripts/keeper/bench/orderWorld.js";
import { usdc } from "../scripts/lib/fixture.js";
import { startPriceService, type PriceService } from "../scripts/price-service/service.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const { time } = networkHelpers;

async function deployed() {
  return deployOrderWorld(connection, 1);
}

describe("order keeper: LP vault requests", function () {
  let service: PriceService;

  afterEach(async function () {
    await service?.close();
  });

  it("settles a due deposit and redeem request after lpSettleDelay, at a price pushed after them, for the fees", async function () {
    const world = await networkHelpers.loadFixture(deployed);
    service = await startPriceService({ port: 0, feeds: [{ id: ETH_ID, expo: -8, points: [{ publishTime: world.t0, price: 2_000n * E8 }] }] });
    const prices = new HermesPriceSource({ endpoint: service.url, httpRetries: 0 });
    const [, lp] = await ethers.getSigners();
    const vault = LiquidityVault__factory.connect(world.deployment.contracts.LiquidityVault, lp);
    const token = MockUSDC__factory.connect(world.deployment.contracts.CollateralToken, ethers.provider);
    const client = await PerpClient.connect({ runner: world.keeperA, deployment: world.deployment });
    const keeper = await OrderKeeper.create({ client, orderBook: await world.book.getAddress(), prices });

    // The LP's shares from the fixture are past the cooldown a day later; it asks to redeem some and deposit more.
    await time.increase(await vault.lpCooldown());
    const fee = await vault.lpKeeperFee();
    const delay = await vault.lpSettleDelay();
    const redeemShares = (await vault.balanceOf(lp.address)) / 4n;
    const depositAssets = usdc(1_000);
    await vault.requestRedeem(redeemShares, lp.address, lp.address);
    await vault.requestDeposit(depositAssets, lp.address, lp.address);
    const requestedAt = BigInt(await time.latest());

    // Not due yet: nothing sent.
    const blockBefore = await ethers.provider.getBlockNumber();
    const early = await keeper.runOnce();
    expect(early).to.include({ lpDue: 0, lpSettled: 0, transactions: 0, failed: 0 });
    expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);

    // The delay passes; the price service publishes at that time. The NAV (no positions) is what it was at the request.
    const due = Number(requestedAt + delay);
    service.setPrice(ETH_ID, 2_000n * E8, due);
    await time.increaseTo(due);
    const expectedShares = await vault.convertToShares(depositAssets);
    const expectedAssets = await vault.convertToAssets(redeemShares);
    const keeperBalance = await token.balanceOf(world.keeperA.address);
    const run = await keeper.runOnce();
    expect(run).to.include({ lpDue: 2, lpSettled: 2, transactions: 3, failed: 0 });
    expect(run.lpFees).to.equal(2n * fee);
    expect(await token.balanceOf(world.keeperA.address)).to.equal(keeperBalance + 2n * fee);

    // The price the settlements read was published after the requests (pushed by the keeper right before).
    const feed = PythPriceFeed__factory.connect(world.deployment.markets[0].priceFeed, ethers.provider);
    expect((await feed.cachedPrice())[1]).to.equal(BigInt(due));
    const deposit = await vault.claimableDeposit(lp.address);
    expect([deposit.assets, deposit.shares]).to.deep.equal([depositAssets, expectedShares]);
    const redeem = await vault.claimableRedeem(lp.address);
    expect([redeem.assets, redeem.shares]).to.deep.equal([expectedAssets, redeemShares]);
    expect((await vault.pendingDeposit(lp.address)).requestedAt).to.equal(0n);
    expect((await vault.pendingRedeem(lp.address)).requestedAt).to.equal(0n);

    // Nothing left: the next run sends nothing.
    const after = await keeper.runOnce();
    expect(after).to.include({ lpDue: 0, lpSettled: 0, transactions: 0 });
  });

  it("leaves LP requests alone with lpRequests: false", async function () {
    const world = await networkHelpers.loadFixture(deployed);
    service = await startPriceService({ port: 0, feeds: [{ id: ETH_ID, expo: -8, points: [{ publishTime: world.t0, price: 2_000n * E8 }] }] });
    const prices = new HermesPriceSource({ endpoint: service.url, httpRetries: 0 });
    const [, lp] = await ethers.getSigners();
    const vault = LiquidityVault__factory.connect(world.deployment.contracts.LiquidityVault, lp);
    const client = await PerpClient.connect({ runner: world.keeperA, deployment: world.deployment });
    const keeper = await OrderKeeper.create({ client, orderBook: await world.book.getAddress(), prices, lpRequests: false });
    await vault.requestDeposit(usdc(1_000), lp.address, lp.address);
    const due = (await time.latest()) + Number(await vault.lpSettleDelay());
    service.setPrice(ETH_ID, 2_000n * E8, due);
    await time.increaseTo(due);
    const run = await keeper.runOnce();
    expect(run).to.include({ lpDue: 0, lpSettled: 0, transactions: 0 });
    expect((await vault.pendingDeposit(lp.address)).amount).to.equal(usdc(1_000));
  });
});
