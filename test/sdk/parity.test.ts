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
} from "@perp/sdk";
import { math as m } from "@perp/sdk";
import { BTC, deployProtocol, ETH, usdc, wad, type Protocol } from "../../scripts/lib/fixture.js";
import { prng } from "../../scripts/lib/dev.js";
import { networkHelpers } from "../../scripts/lib/network.js";

const TRADERS = ["alice", "bob", "carol", "dave"] as const;

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
        const sim = simulateTrade(snap.account, snap.markets, snap.protocol, { marketId, sizeDelta, marginDelta, isolated }, when);
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
        executed++;
      }
      expect(executed > 0).to.equal(true);
    });
  }

  it("predicts the engine's rejections: margin, mode, minimum size, open-interest cap", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1_000));
    await p.engine.connect(p.alice).trade(ETH, wad(1), wad(1e9), 0, false);
    const client = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    const cases: [string, { marketId: number; sizeDelta: bigint; marginDelta: bigint; isolated: boolean }][] = [
      ["InsufficientMargin", { marketId: 1, sizeDelta: wad(2), marginDelta: 0n, isolated: false }],
      ["PositionModeMismatch", { marketId: 0, sizeDelta: wad(1), marginDelta: wad(10), isolated: true }],
      ["PositionTooSmall", { marketId: 1, sizeDelta: wad("0.0001"), marginDelta: wad(10), isolated: true }],
      ["OpenInterestCapExceeded", { marketId: 1, sizeDelta: wad(5001), marginDelta: wad(900), isolated: true }],
      ["InsufficientCrossBalance", { marketId: 1, sizeDelta: wad("0.01"), marginDelta: wad(5_000), isolated: true }],
    ];
    for (const [error, trade] of cases) {
      const snap = await client.snapshot();
      const sim = simulateTrade(snap.account, snap.markets, snap.protocol, trade, snap.now + 1n);
      expect(sim.rejection, error).to.equal(error);
      await networkHelpers.time.setNextBlockTimestamp(snap.now + 1n);
      await expect(
        p.engine.connect(p.alice).trade(trade.marketId, trade.sizeDelta, wad(1e12), trade.marginDelta, trade.isolated),
      ).to.be.revertedWithCustomError(p.engine, error);
    }
  });
});
