import { expect } from "chai";

import {
  PerpClient,
  leverageOf,
  liquidationPrice,
  simulateTrade,
  skewOf,
  valueCross,
  valueIsolated,
  type Snapshot,
  simulateLiquidation,
  type Ledgers,
  type VaultLedger,
} from "@perp/sdk";
import { math as m } from "@perp/sdk";
import { BTC, deployFeed, deployProtocol, ETH, ethParams, usdc, wad, type Protocol } from "../../scripts/lib/fixture.js";
import { prng } from "../../scripts/lib/dev.js";
import { networkHelpers } from "../../scripts/lib/network.js";

const TRADERS = ["alice", "bob", "carol", "dave"] as const;

async function vaultLedger(p: Protocol, blockTag?: number): Promise<VaultLedger> {
  const tag = blockTag === undefined ? {} : { blockTag };
  return {
    vaultCash: await p.engine.vaultCash(tag),
    markNotional: await p.engine.totalMarkNotional(tag),
    totalProfitClaims: await p.engine.totalProfitClaims(tag),
    deficit: await p.engine.deficit(tag),
  };
}

async function ledgers(p: Protocol, blockTag: number): Promise<Ledgers> {
  const v = await vaultLedger(p, blockTag);
  return {
    vaultCash: v.vaultCash,
    insuranceFund: await p.engine.insuranceFund({ blockTag }),
    totalProfitClaims: v.totalProfitClaims,
    deficit: v.deficit,
  };
}

/** Random trading activity: positions in both markets and modes, price moves and time. */
async function randomState(p: Protocol, seed: number) {
  const rand = prng(seed);
  for (const name of TRADERS) await p.engine.connect(p[name]).deposit(usdc(rand.int(5_000, 50_000)));
  for (let step = 0; step < 10; step++) {
    const trader = p[rand.pick(TRADERS)];
    const market = rand.pick([ETH, BTC]);
    const isolated = rand.next() < 0.5;
    const existing = await p.engine.getPosition(trader, market);
    const [, crossMarkets] = await p.engine.getAccount(trader);
    const mode = existing.size !== 0n ? (crossMarkets & (1n << market)) === 0n : isolated;
    const units = market === ETH ? rand.int(1, 400) : rand.int(1, 30);
    const size = (BigInt(units) * wad(market === ETH ? "0.05" : "0.01")) * (rand.next() < 0.5 ? 1n : -1n);
    const margin = mode ? wad(rand.int(200, 3_000)) : 0n;
    try {
      await p.engine.connect(trader).trade(market, size, size > 0n ? wad(1e12) : 0n, margin, mode);
    } catch {
      // An over-leveraged random trade is refused: fine, the state stays valid.
    }
    if (rand.next() < 0.5) await networkHelpers.time.increase(rand.int(1, 1_800));
    await p.eth.aggregator.setAnswer(BigInt(rand.int(1_850_00000000, 2_150_00000000)));
    await p.btc.aggregator.setAnswer(BigInt(rand.int(57_000_00000000, 63_000_00000000)));
  }
  return rand;
}

describe("SDK parity with the contracts (fuzzed states)", function () {
  this.timeout(120_000);

  it("fill price and fee match quoteTrade for random skews and sizes", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await randomState(p, 7);
    const client = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    const rand = prng(11);
    for (let i = 0; i < 40; i++) {
      const market = rand.pick([ETH, BTC]);
      const info = await client.market(Number(market));
      const delta = BigInt(rand.int(-5_000_000, 5_000_000)) * 10n ** 13n + BigInt(rand.int(-999, 999));
      if (delta === 0n) continue;
      const [fill, fee] = await p.engine.quoteTrade(market, delta);
      const skew = skewOf(info.state);
      const sdkFill = m.fillPrice(info.price, skew, delta, info.params.skewScale);
      expect(sdkFill, `fill ${i}`).to.equal(fill);
      expect(m.tradeFee(skew, delta, sdkFill, info.params.makerFeeRate, info.params.takerFeeRate), `fee ${i}`).to.equal(fee);
    }
  });

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`health, funding and liquidation price match the chain (seed ${seed})`, async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await randomState(p, seed);
      let compared = 0;
      for (const name of TRADERS) {
        const client = await PerpClient.connect({ runner: p[name], deployment: p.deployment });
        const snap = await client.snapshot();
        const tag = { blockTag: snap.blockNumber };
        for (const [marketId, pos] of snap.account.positions) {
          const market = snap.markets.get(marketId)!;
          const isolated = ((snap.account.crossMarkets >> BigInt(marketId)) & 1n) === 0n;
          const v = isolated
            ? valueIsolated(pos, market, market.price, snap.now, snap.protocol.keeperRewardMin)
            : valueCross(snap.account, snap.markets, snap.now, snap.protocol.keeperRewardMin);
          const chain = await p.engine.positionHealth(p[name], marketId, tag);
          expect([v.equity, v.equityAtClose, v.initialMargin, v.maintenanceMargin, v.notional, v.pnl, v.funding]).to.deep.equal([
            chain.equity,
            chain.equityAtClose,
            chain.initialMargin,
            chain.maintenanceMargin,
            chain.notional,
            chain.unrealizedPnl,
            chain.accruedFunding,
          ]);
          expect(v.count !== 0 && v.equity < v.maintenanceMargin).to.equal(chain.liquidatable);
          expect(leverageOf(v), "leverage").to.equal(chain.leverage);
          const own = valueIsolated(pos, market, market.price, snap.now, 0n);
          expect(own.funding).to.equal(await p.engine.pendingFunding(p[name], marketId, tag));
          const sdkLiq = liquidationPrice(snap.account, snap.markets, marketId, snap.now, snap.protocol.keeperRewardMin);
          expect(sdkLiq, `${name} market ${marketId} liquidation price`).to.equal(
            await p.engine.liquidationPrice(p[name], marketId, tag),
          );
          compared++;
        }
      }
      expect(compared > 0, "the random state has positions").to.equal(true);
    });
  }

  for (const seed of [21, 22, 23, 24]) {
    it(`a simulated trade equals the executed one to the wei (seed ${seed})`, async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      const rand = await randomState(p, seed);
      let executed = 0;
      for (let i = 0; i < 8; i++) {
        const name = rand.pick(TRADERS);
        const client = await PerpClient.connect({ runner: p[name], deployment: p.deployment });
        const snap: Snapshot = await client.snapshot();
        const marketId = rand.pick([0, 1]);
        const existing = snap.account.positions.get(marketId);
        const isolated = existing
          ? ((snap.account.crossMarkets >> BigInt(marketId)) & 1n) === 0n
          : rand.next() < 0.5;
        const sizeDelta =
          existing && rand.next() < 0.3
            ? -existing.size * BigInt(rand.int(1, 2)) // close, or flip
            : BigInt(rand.int(-200, 200)) * (marketId === 0 ? wad("0.05") : wad("0.005"));
        if (sizeDelta === 0n) continue;
        const marginDelta = isolated ? wad(rand.int(0, 2_000)) : 0n;
        const when = snap.now + BigInt(rand.int(1, 600));
        const vault = await vaultLedger(p, snap.blockNumber);
        const sim = simulateTrade(snap.account, snap.markets, snap.protocol, { marketId, sizeDelta, marginDelta, isolated }, when, vault);
        await networkHelpers.time.setNextBlockTimestamp(when);
        const tx = p.engine.connect(p[name]).trade(marketId, sizeDelta, sizeDelta > 0n ? wad(1e12) : 0n, marginDelta, isolated);
        if (sim.rejection) {
          await expect(tx, `rejection ${sim.rejection}`).to.be.revertedWithCustomError(p.engine, sim.rejection);
          continue;
        }
        await expect(tx)
          .to.emit(p.engine, "PositionModified")
          .withArgs(p[name].address, marketId, sizeDelta, sim.position.size, sim.fillPrice, sim.fee, sim.realizedPnl, sim.fundingPaid, isolated, sim.position.lastFundingIndex || sim.market.state.fundingIndex);
        const after = await client.snapshot();
        expect(after.account.crossBalance).to.equal(sim.account.crossBalance);
        expect(after.account.crossMarkets).to.equal(sim.account.crossMarkets);
        expect(after.account.positions.get(marketId) ?? null).to.deep.equal(sim.position.size === 0n ? null : sim.position);
        const state = after.markets.get(marketId)!.state;
        expect(state).to.deep.equal(sim.market.state);
        expect(await vaultLedger(p), "vault ledgers").to.deep.equal(sim.vault);
        executed++;
      }
      expect(executed > 0).to.equal(true);
    });
  }

  it("predicts the engine's rejections: initial and maintenance margin, mode, minimum size, open-interest cap", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1_000));
    await p.engine.connect(p.alice).trade(ETH, wad(1), wad(1e9), 0, false);
    const client = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    const cases: [string, { marketId: number; sizeDelta: bigint; marginDelta: bigint; isolated: boolean }][] = [
      ["TradeBelowInitialMargin", { marketId: 1, sizeDelta: wad(2), marginDelta: 0n, isolated: false }],
      // 0.0002 BTC ($12) isolated on $1: above its initial margin, below maintenance with the $2 minimum keeper reward.
      ["TradeBelowMaintenanceMargin", { marketId: 1, sizeDelta: wad("0.0002"), marginDelta: wad(1), isolated: true }],
      ["PositionModeMismatch", { marketId: 0, sizeDelta: wad(1), marginDelta: wad(10), isolated: true }],
      ["PositionTooSmall", { marketId: 1, sizeDelta: wad("0.0001"), marginDelta: wad(10), isolated: true }],
      ["OpenInterestCapExceeded", { marketId: 1, sizeDelta: wad(5001), marginDelta: wad(900), isolated: true }],
      ["InsufficientCrossBalance", { marketId: 1, sizeDelta: wad("0.01"), marginDelta: wad(5_000), isolated: true }],
      // 2,600 ETH more would mark $5.2M: beyond what $500k of vault cash backs at 10 % (checked before the margin).
      ["InsufficientVaultLiquidity", { marketId: 0, sizeDelta: wad(2600), marginDelta: 0n, isolated: false }],
      ["ZeroAmount", { marketId: 0, sizeDelta: 0n, marginDelta: 0n, isolated: false }],
    ];
    for (const [error, trade] of cases) {
      const snap = await client.snapshot();
      const sim = simulateTrade(snap.account, snap.markets, snap.protocol, trade, snap.now + 1n, await vaultLedger(p));
      expect(sim.rejection, error).to.equal(error);
      await networkHelpers.time.setNextBlockTimestamp(snap.now + 1n);
      await expect(
        p.engine.connect(p.alice).trade(trade.marketId, trade.sizeDelta, wad(1e12), trade.marginDelta, trade.isolated),
      ).to.be.revertedWithCustomError(p.engine, error);
    }
  });

  it("predicts TooManyCrossPositions, AccountLiquidatable and InsufficientVaultLiquidity as the engine raises them", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    for (let i = 2; i < 16; i++) {
      const feed = await deployFeed(p.owner, `M${i} / USD`, "100");
      await p.engine.listMarket(feed.oracle, ethParams());
    }
    const client = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    await p.engine.connect(p.alice).deposit(usdc(100_000));
    // Sixteen cross positions, then a seventeenth market refused.
    const extra = await deployFeed(p.owner, "M16 / USD", "100");
    await p.engine.listMarket(extra.oracle, ethParams());
    for (let id = 2; id < 16; id++) await p.engine.connect(p.alice).trade(id, wad(1), wad(1e9), 0, false);
    await p.engine.connect(p.alice).trade(ETH, wad(1), wad(1e9), 0, false);
    await p.engine.connect(p.alice).trade(BTC, wad("0.01"), wad(1e9), 0, false);
    const predict = async (trade: { marketId: number; sizeDelta: bigint; marginDelta: bigint; isolated: boolean }) => {
      const snap = await client.snapshot();
      const sim = simulateTrade(snap.account, snap.markets, snap.protocol, trade, snap.now + 1n, await vaultLedger(p));
      await networkHelpers.time.setNextBlockTimestamp(snap.now + 1n);
      return sim.rejection;
    };
    const seventeenth = { marketId: 16, sizeDelta: wad(1), marginDelta: 0n, isolated: false };
    expect(await predict(seventeenth)).to.equal("TooManyCrossPositions");
    await expect(p.engine.connect(p.alice).trade(16, wad(1), wad(1e9), 0, false)).to.be.revertedWithCustomError(p.engine, "TooManyCrossPositions");

    // A crash makes the cross account liquidatable: an isolated open funded from it is refused.
    await p.engine.connect(p.alice).trade(ETH, wad(399), wad(1e9), 0, false);
    await p.eth.aggregator.setAnswer(1_400_00000000n);
    const isolatedOpen = { marketId: 16, sizeDelta: wad(1), marginDelta: wad(10), isolated: true };
    expect(await predict(isolatedOpen)).to.equal("AccountLiquidatable");
    await expect(p.engine.connect(p.alice).trade(16, wad(1), wad(1e9), wad(10), true)).to.be.revertedWithCustomError(p.engine, "AccountLiquidatable");
  });

  it("a simulated liquidation equals the executed one to the wei (random states, price shocks)", async function () {
    let compared = 0;
    let withShortfall = 0;
    for (const seed of [31, 32, 33, 34, 35, 36]) {
      const p = await networkHelpers.loadFixture(deployProtocol);
      const rand = await randomState(p, seed);
      // Shocks of 25-40 %, opposite ways on the two markets (bad debt), for four seeds; for two, the price of one
      // market moved to a position's liquidation price (a remainder and an insurance share).
      const up = seed % 2 === 0;
      const shock = (price: number, rise: boolean) =>
        BigInt(Math.round(price * (1 + (rise ? 1 : -1) * (0.25 + 0.15 * rand.next())) * 1e8));
      if (seed < 35) {
        await p.eth.aggregator.setAnswer(shock(2000, up));
        await p.btc.aggregator.setAnswer(shock(60000, !up));
      } else {
        const [trader, marketId] = (await Promise.all(
          TRADERS.flatMap((name) => [0, 1].map(async (id) => [name, id, (await p.engine.getPosition(p[name], id)).size] as const)),
        )).find(([, , size]) => size !== 0n)!;
        const price = await p.engine.liquidationPrice(p[trader], marketId);
        await (marketId === 0 ? p.eth : p.btc).aggregator.setAnswer(price / 10n ** 10n);
      }
      for (const name of TRADERS) {
        const client = await PerpClient.connect({ runner: p[name], deployment: p.deployment });
        for (const marketId of [0, 1]) {
          const snap = await client.snapshot();
          if (!snap.account.positions.has(marketId)) continue;
          const when = snap.now + 1n;
          const sim = simulateLiquidation(snap.account, snap.markets, marketId, snap.protocol, await ledgers(p, snap.blockNumber), when);
          await networkHelpers.time.setNextBlockTimestamp(when);
          const tx = p.engine.connect(p.keeper).liquidate(p[name], marketId, []);
          if (!sim.liquidatable) {
            await expect(tx).to.be.revertedWithCustomError(p.engine, "NotLiquidatable");
            continue;
          }
          const d = sim.distribution!;
          const keeperBefore = (await p.engine.getAccount(p.keeper))[0];
          const traderBefore = (await p.engine.getAccount(p[name]))[0];
          const receipt = (await (await tx).wait())!;
          const events = receipt.logs.map((l) => p.engine.interface.parseLog(l)).filter((e) => e !== null);
          const liquidated = events.find((e) => e.name === "Liquidated")!.args;
          expect([liquidated.marketId, liquidated.equity, liquidated.notional, liquidated.keeperReward, liquidated.insurancePaid, liquidated.traderRemainder]).to.deep.equal([
            sim.marketId === undefined ? 2n ** 256n - 1n : BigInt(sim.marketId),
            sim.valuation.equityAtClose,
            sim.valuation.notional,
            d.reward,
            d.insurancePaid,
            d.traderRemainder,
          ]);
          const bad = events.find((e) => e.name === "BadDebtCovered");
          if (d.shortfall !== 0n) withShortfall++;
          if (d.shortfall === 0n) expect(bad).to.equal(undefined);
          else expect([bad!.args.shortfall, bad!.args.fromInsurance, bad!.args.fromVault]).to.deep.equal([d.shortfall, d.fromInsurance, d.fromVault]);
          for (const closed of events.filter((e) => e.name === "PositionClosedAtIndex")) {
            expect(closed.args.price).to.equal(sim.closeFills.get(Number(closed.args.marketId)));
          }
          expect(await ledgers(p, receipt.blockNumber)).to.deep.equal(d.ledgers);
          expect((await p.engine.getAccount(p.keeper))[0] - keeperBefore).to.equal(d.keeperPaid);
          const traderAfter = (await p.engine.getAccount(p[name]))[0];
          const cross = sim.marketId === undefined;
          expect(traderAfter).to.equal((cross ? 0n : traderBefore) + d.traderPaid);
          compared++;
        }
      }
    }
    expect(compared, "liquidations compared").to.be.greaterThan(3);
    expect(withShortfall, "liquidations in bad debt").to.be.greaterThan(0);
    expect(compared - withShortfall, "liquidations with a remainder or insurance share").to.be.greaterThan(0);
  });
});
