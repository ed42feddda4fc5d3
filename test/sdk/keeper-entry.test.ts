import { expect } from "chai";

import { PerpClient, distribute, liquidationEvents, math } from "@perp/sdk";
import { ChainIndex, evaluate, liquidatableUnits, readHealth } from "@perp/sdk/keeper";
import { BTC, deployProtocol, ETH, ORACLE_UNIT, PROTOCOL_PARAMS, usdc, wad } from "../../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../../scripts/lib/network.js";

/** An isolated 10x long, a cross account long in both markets, and a healthy cross short. */
async function book() {
  const p = await deployProtocol();
  await p.engine.connect(p.alice).deposit(usdc(1000));
  await p.engine.connect(p.alice).trade(ETH, wad(5), wad(2100), wad(1000), true);
  await p.engine.connect(p.bob).deposit(usdc(1050));
  await p.engine.connect(p.bob).trade(ETH, wad(5), wad(2100), 0n, false);
  await p.engine.connect(p.bob).trade(BTC, wad("0.01"), wad(61000), 0n, false);
  await p.engine.connect(p.carol).deposit(usdc(5000));
  await p.engine.connect(p.carol).trade(ETH, wad(-1), 0n, 0n, false);
  const keeper = await PerpClient.connect({ runner: p.keeper, deployment: p.deployment });
  return { ...p, client: keeper };
}

describe("@perp/sdk/keeper", function () {
  it("ChainIndex builds the index from events, follows new blocks, and rebuilds when the chain under it is reverted", async function () {
    const p = await networkHelpers.loadFixture(book);
    const index = new ChainIndex(p.client, 0, 10_000, { attempts: 1 });
    const first = await index.sync(await ethers.provider.getBlockNumber());
    expect([first.rebuilt, first.reorg, index.size]).to.deep.equal([true, false, 4]);
    const beforeShock = await networkHelpers.takeSnapshot();
    await p.eth.aggregator.setAnswer(wad(1790) / ORACLE_UNIT);
    await p.client.liquidateMany([
      { trader: p.alice.address, marketId: 0 },
      { trader: p.bob.address, marketId: 1 },
    ]);
    const next = await index.sync(await ethers.provider.getBlockNumber());
    expect([next.rebuilt, next.reorg, next.headBelowIndex, next.fromBlock, next.events]).to.deep.equal([false, false, false, first.toBlock + 1, 3]);
    // Lowercase, as the log topics carry the trader (no checksum keccak per log).
    expect(index.positions()).to.deep.equal([{ trader: p.carol.address.toLowerCase(), marketId: 0 }]);
    await beforeShock.restore(); // a local node reverted: the head is now below the index
    const after = await index.sync(await ethers.provider.getBlockNumber());
    expect([after.rebuilt, after.reorg, after.headBelowIndex, index.size]).to.deep.equal([true, true, true, 4]);
    expect(index.hash).to.equal(after.block.hash);
    index.reset(); // forgotten: the next sync rebuilds from the start block
    expect([index.block, index.hash, index.size]).to.deep.equal([-1, undefined, 0]);
    const rebuilt = await index.sync(after.toBlock);
    expect([rebuilt.rebuilt, rebuilt.reorg, rebuilt.headBelowIndex, rebuilt.fromBlock, index.size]).to.deep.equal([true, false, false, 0, 4]);
  });

  it("evaluate finds the isolated unit and the cross account once, with the reward each pays, most urgent first", async function () {
    const p = await networkHelpers.loadFixture(book);
    await p.eth.aggregator.setAnswer(wad(1790) / ORACLE_UNIT);
    const index = new ChainIndex(p.client, 0, 10_000, { attempts: 1 });
    const { block } = await index.sync(await ethers.provider.getBlockNumber());
    const markets = new Map((await p.client.markets(block.number)).map((m) => [m.id, m]));
    const views = await readHealth(p.client, index.positions(), 500, block.number);
    const evaluation = evaluate(views, markets, await p.client.protocolParams(block.number), BigInt(block.timestamp));

    const units = evaluation.units.map((u) => [u.trader, u.isolated, u.positions, u.marketIds, u.reward]);
    expect(units).to.have.deep.members([
      [p.alice.address, true, 1, [0], wad("8.95")], // 0.1 % of 5 ETH x $1,790
      [p.bob.address, false, 2, [0, 1], wad("9.55")], // 0.1 % of $8,950 + $600, one unit for the account
    ]);
    const distances = evaluation.units.map((u) => u.distance!);
    expect(distances.every((d, i) => i === 0 || distances[i - 1] <= d)).to.equal(true);
    expect(distances.every((d) => d < 0n)).to.equal(true); // past the liquidation price
    expect(evaluation.nearest.map((e) => e.trader)).to.deep.equal([p.carol.address]);
    expect([evaluation.mirrorMismatches, evaluation.invalid, evaluation.closed.length]).to.deep.equal([0, 0, 0]);
    expect(liquidatableUnits(views).map((h) => h.trader)).to.have.members([p.alice.address, p.bob.address]);
    // The reward rule is the engine's: a batch of both pays what was predicted.
    const receipt = await p.client.liquidateMany(evaluation.units);
    const paid = liquidationEvents(receipt, p.deployment).map((l) => [l.trader, l.keeperReward]);
    expect(paid).to.have.deep.members(evaluation.units.map((u) => [u.trader, u.reward]));
  });

  it("a small cross account of two positions pays the minimum reward per position, as the engine does", async function () {
    const p = await networkHelpers.loadFixture(book);
    await p.engine.connect(p.dave).deposit(usdc(25));
    await p.engine.connect(p.dave).trade(ETH, wad("0.1"), wad(2100), 0n, false);
    await p.engine.connect(p.dave).trade(BTC, wad("0.001"), wad(61000), 0n, false);
    await p.eth.aggregator.setAnswer(wad(1790) / ORACLE_UNIT);
    const index = new ChainIndex(p.client, 0, 10_000, { attempts: 1 });
    const { block } = await index.sync(await ethers.provider.getBlockNumber());
    const markets = new Map((await p.client.markets(block.number)).map((m) => [m.id, m]));
    const views = await readHealth(p.client, index.positions(), 500, block.number);
    const { units } = evaluate(views, markets, await p.client.protocolParams(block.number), BigInt(block.timestamp));
    const dave = units.find((u) => u.trader === p.dave.address)!;
    // 0.1 % of $179 + $60 is $0.239: the floor is 2 x $2, not one minimum for the account.
    expect([dave.isolated, dave.marketIds, dave.reward]).to.deep.equal([false, [0, 1], wad(4)]);
    const receipt = await p.client.liquidateMany([dave]);
    expect(liquidationEvents(receipt, p.deployment).map((l) => [l.trader, l.keeperReward])).to.deep.equal([[p.dave.address, wad(4)]]);
  });

  it("the reward is _distribute's: clamped to the maximum, and at least the minimum per position closed", function () {
    const ledgers = { vaultCash: 0n, insuranceFund: 0n, totalProfitClaims: 0n, deficit: 0n };
    const reward = (base: bigint, count: number) =>
      distribute({ equityAtClose: wad(100), count }, { collateral: 0n, fundingDust: 0n }, base, 0n, PROTOCOL_PARAMS, ledgers).reward;
    expect(reward(wad(1), 1)).to.equal(wad(2));
    expect(reward(wad(1), 3)).to.equal(wad(6)); // a cross account of three positions: 3 x $2
    expect(reward(wad(7), 3)).to.equal(wad(7));
    expect(reward(wad(600), 2)).to.equal(wad(500));
    expect(math.WAD).to.equal(wad(1));
  });

});
