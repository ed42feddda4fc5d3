import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";

import { math as m } from "@perp/sdk";
import { answer, BTC, deployProtocol, ETH, ethParams, lpRedeem, ORACLE_UNIT, PROTOCOL_PARAMS, usdc, wad, WAD, type Protocol } from "../scripts/lib/fixture.js";
import { liquidationRows } from "../scripts/readme-table.js";
import { networkHelpers } from "../scripts/lib/network.js";

const LEVERAGES = [2n, 5n, 10n, 25n, 50n];

/** Opens `trader`'s isolated position of `size` with `margin` USD after `hedger` has taken `hedgeSize` in cross. */
async function openWithHedge(p: Protocol, size: bigint, margin: bigint, hedgeSize: bigint) {
  await p.engine.connect(p.alice).deposit(usdc(margin));
  await p.engine.connect(p.bob).deposit(usdc(1_000_000));
  if (hedgeSize !== 0n) await p.engine.connect(p.bob).trade(ETH, hedgeSize, hedgeSize > 0n ? wad(1e9) : 0n, 0, false);
  await p.engine.connect(p.alice).trade(ETH, size, size > 0n ? wad(1e9) : 0n, wad(margin), true);
}

async function setEthPrice(p: Protocol, priceWad: bigint) {
  await p.eth.aggregator.setAnswer(priceWad / ORACLE_UNIT);
}

describe("liquidation", function () {
  describe("seed scenario: $500 at 10x", function () {
    // Bob shorts 1.25 ETH first: Alice's 2.5 ETH long then moves the skew from -1.25 to +1.25 and fills at exactly
    // $2,000 (the premium of the two ends cancels).
    async function seed() {
      const p = await deployProtocol();
      await openWithHedge(p, wad("2.5"), 500n, wad("-1.25"));
      return p;
    }

    it("$500 controls a $5,000 position; fees are maker on 1.25 ETH and taker on 1.25 ETH", async function () {
      const p = await networkHelpers.loadFixture(seed);
      const pos = await p.engine.getPosition(p.alice, ETH);
      expect(pos.size).to.equal(wad("2.5"));
      expect(pos.entryPrice).to.equal(wad(2000));
      // fee = 1.25 * 2000 * 0.02 % + 1.25 * 2000 * 0.05 % = 0.5 + 1.25
      expect(pos.margin).to.equal(wad(500) - wad("1.75"));
      const health = await p.engine.positionHealth(p.alice, ETH);
      expect(health.notional).to.equal(wad(5000));
      expect(health.initialMargin).to.equal(wad(50));
      // 10x on the deposit, a little more on the margin left after the fee: 5,000 / 498.25, rounded up.
      expect(health.leverage).to.equal((wad(5000) * WAD + health.equity - 1n) / health.equity);
      expect(health.leverage > wad("10.03") && health.leverage < wad("10.04")).to.equal(true);
      expect((await p.engine.getAccount(p.alice))[0]).to.equal(0n);
    });

    it("a 10% favourable move is +$500 before fees", async function () {
      const p = await networkHelpers.loadFixture(seed);
      await setEthPrice(p, wad(2200));
      const health = await p.engine.positionHealth(p.alice, ETH);
      expect(health.unrealizedPnl).to.equal(wad(500));
      expect(health.equity).to.equal(wad("498.25") + wad(500) - health.accruedFunding);
      expect(health.liquidatable).to.equal(false);
    });

    it("a 10% adverse move makes it liquidatable", async function () {
      const p = await networkHelpers.loadFixture(seed);
      await setEthPrice(p, wad(1800));
      const health = await p.engine.positionHealth(p.alice, ETH);
      expect(health.unrealizedPnl).to.equal(wad(-500));
      expect(health.liquidatable).to.equal(true);
      await expect(p.engine.connect(p.keeper).liquidate(p.alice, ETH, [])).to.emit(p.engine, "Liquidated");
      expect((await p.engine.getPosition(p.alice, ETH)).size).to.equal(0n);
    });
  });

  describe("liquidation price, exact to one oracle unit", function () {
    const rows: { leverage: bigint; side: string; price: bigint }[] = [];

    for (const leverage of LEVERAGES) {
      for (const isLong of [true, false]) {
        const side = isLong ? "long" : "short";
        it(`${leverage}x ${side} on $1,000`, async function () {
          const p = await networkHelpers.loadFixture(deployProtocol);
          // size = leverage * $1,000 / $2,000; Bob takes the other side first so that the skew ends at zero and no
          // funding accrues while the price moves.
          const size = (leverage * 1000n * WAD) / 2000n;
          await openWithHedge(p, isLong ? size : -size, 1000n, isLong ? -size : size);
          const health = await p.engine.positionHealth(p.alice, ETH);
          expect(health.notional).to.equal(leverage * wad(1000));

          const liquidationPrice = await p.engine.liquidationPrice(p.alice, ETH);
          expect(liquidationPrice % ORACLE_UNIT).to.equal(0n);
          const safe = isLong ? liquidationPrice + ORACLE_UNIT : liquidationPrice - ORACLE_UNIT;
          const past = isLong ? liquidationPrice - ORACLE_UNIT : liquidationPrice + ORACLE_UNIT;

          await setEthPrice(p, safe);
          expect((await p.engine.positionHealth(p.alice, ETH)).liquidatable).to.equal(false);
          await expect(p.engine.connect(p.keeper).liquidate(p.alice, ETH, [])).to.be.revertedWithCustomError(
            p.engine,
            "NotLiquidatable",
          );
          await setEthPrice(p, liquidationPrice);
          expect((await p.engine.positionHealth(p.alice, ETH)).liquidatable).to.equal(true);
          await setEthPrice(p, past);
          expect((await p.engine.positionHealth(p.alice, ETH)).liquidatable).to.equal(true);
          await expect(p.engine.connect(p.keeper).liquidate(p.alice, ETH, [])).to.emit(p.engine, "Liquidated");
          rows.push({ leverage, side, price: liquidationPrice });
        });
      }
    }

    it("are the prices the README's generator computes with the SDK (scripts/readme-table.ts), to the wei", function () {
      expect(rows.length).to.equal(LEVERAGES.length * 2);
      const mirrored = liquidationRows(ethParams(), PROTOCOL_PARAMS, wad(2000), LEVERAGES);
      expect(rows).to.deep.equal(mirrored.map(({ leverage, side, price }) => ({ leverage, side, price })));
    });
  });

  describe("keeper reward, insurance share, remainder", function () {
    it("splits an isolated position's equity exactly and credits the keeper's cross balance", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      // 10x long of 5 ETH with zero skew afterwards (no funding).
      await openWithHedge(p, wad(5), 1000n, wad(-5));
      const liquidationPrice = await p.engine.liquidationPrice(p.alice, ETH);
      await setEthPrice(p, liquidationPrice);
      const pos = await p.engine.getPosition(p.alice, ETH);
      // Closed at its close fill: selling 5 ETH into a zero skew, 5 / 2K below the index.
      const fill = m.fillPrice(liquidationPrice, 0n, wad(-5), wad(1_000_000));
      const equity = BigInt(pos.margin) + m.pnlDown(wad(5), pos.entryPrice, fill);
      const notional = (wad(5) * liquidationPrice) / WAD;
      const reward = (notional * wad("0.001")) / WAD; // above the $2 minimum
      const insurance = (notional * wad("0.002")) / WAD;
      const remainder = equity - reward - insurance;
      const insuranceBefore = await p.engine.insuranceFund();
      const cashBefore = await p.engine.vaultCash();
      await expect(p.engine.connect(p.keeper).liquidate(p.alice, ETH, []))
        .to.emit(p.engine, "Liquidated")
        .withArgs(p.alice.address, ETH, p.keeper.address, equity, notional, reward, insurance, remainder);
      expect((await p.engine.getAccount(p.keeper))[0]).to.equal(reward);
      expect((await p.engine.getAccount(p.alice))[0]).to.equal(remainder);
      expect(await p.engine.insuranceFund()).to.equal(insuranceBefore + insurance);
      // The vault was the counterparty of the loss: it gains margin - equity.
      expect(await p.engine.vaultCash()).to.equal(cashBefore + BigInt(pos.margin) - equity);
    });

    it("pays the minimum keeper reward on a small position", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await openWithHedge(p, wad("0.1"), 10n, wad("-0.1")); // $200 notional at 20x
      await setEthPrice(p, await p.engine.liquidationPrice(p.alice, ETH));
      const tx = p.engine.connect(p.keeper).liquidate(p.alice, ETH, []);
      await expect(tx).to.emit(p.engine, "Liquidated");
      expect((await p.engine.getAccount(p.keeper))[0]).to.equal(wad(2));
    });

    it("rejects a liquidation of a healthy position, of no position, and in an unknown market", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await openWithHedge(p, wad(5), 1000n, wad(-5));
      const health = await p.engine.positionHealth(p.alice, ETH);
      await expect(p.engine.connect(p.keeper).liquidate(p.alice, ETH, []))
        .to.be.revertedWithCustomError(p.engine, "NotLiquidatable")
        .withArgs(p.alice.address, ETH, health.equityAtClose, health.maintenanceMargin);
      await expect(p.engine.connect(p.keeper).liquidate(p.carol, ETH, []))
        .to.be.revertedWithCustomError(p.engine, "NotLiquidatable")
        .withArgs(p.carol.address, ETH, 0, 0);
      await expect(p.engine.connect(p.keeper).liquidate(p.alice, 7, []))
        .to.be.revertedWithCustomError(p.engine, "UnknownMarket")
        .withArgs(7);
    });

    it("needs a valid price: a stale oracle blocks the liquidation with the oracle's error", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await openWithHedge(p, wad(5), 1000n, wad(-5));
      await networkHelpers.time.increase(3601);
      await expect(p.engine.connect(p.keeper).liquidate(p.alice, ETH, [])).to.be.revertedWithCustomError(
        p.engine,
        "StaleOraclePrice",
      );
    });
  });

  describe("bad debt", function () {
    it("a gap past the liquidation price: the keeper is paid, the insurance fund pays, then the vault", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await openWithHedge(p, wad(5), 1000n, wad(-5));
      await p.engine.connect(p.carol).fundInsurance(usdc(100));
      const insurance = await p.engine.insuranceFund();
      const pos = await p.engine.getPosition(p.alice, ETH);
      await setEthPrice(p, wad(1500)); // -25 %: far past the ~9.5 % liquidation distance
      const fill = m.fillPrice(wad(1500), 0n, wad(-5), wad(1_000_000)); // the close fill, premium included
      const equity = BigInt(pos.margin) + m.pnlDown(wad(5), pos.entryPrice, fill);
      expect(equity < 0n).to.equal(true);
      const reward = wad("7.5"); // 0.1 % of $7,500
      const shortfall = reward - equity;
      const cashBefore = await p.engine.vaultCash();
      await expect(p.engine.connect(p.keeper).liquidate(p.alice, ETH, []))
        .to.emit(p.engine, "BadDebtCovered")
        .withArgs(p.alice.address, shortfall, insurance, shortfall - insurance)
        .and.to.emit(p.engine, "Liquidated")
        .withArgs(p.alice.address, ETH, p.keeper.address, equity, wad(7500), reward, 0, 0);
      expect(await p.engine.insuranceFund()).to.equal(0n);
      expect((await p.engine.getAccount(p.keeper))[0]).to.equal(reward);
      expect((await p.engine.getAccount(p.alice))[0]).to.equal(0n);
      // Vault: gains the lost margin (margin - equity) as counterparty, pays what insurance could not.
      expect(await p.engine.vaultCash()).to.equal(cashBefore + BigInt(pos.margin) - equity - (shortfall - insurance));
    });

    it("never reverts with an empty insurance fund and a vault without cash", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await openWithHedge(p, wad(5), 1000n, wad(-5));
      // Drain the LP's cash as far as open interest allows, then gap the price.
      const cooldown = await p.vault.lpCooldown();
      await networkHelpers.time.increase(cooldown);
      await lpRedeem(p.vault, p.lp, await p.vault.maxRedeem(p.lp));
      await setEthPrice(p, wad(1));
      await expect(p.engine.connect(p.keeper).liquidate(p.alice, ETH, [])).to.emit(p.engine, "BadDebtCovered");
      expect((await p.engine.getAccount(p.keeper))[0]).to.equal(wad(2));
    });
  });

  describe("cross and isolated", function () {
    /** Alice: 10x long ETH ($10,000) and 10x short BTC ($10,000) on $2,000 in cross, Bob on the other sides. */
    async function crossAccount() {
      const p = await deployProtocol();
      await p.engine.connect(p.alice).deposit(usdc(2000));
      await p.engine.connect(p.bob).deposit(usdc(1_000_000));
      await p.engine.connect(p.bob).trade(ETH, wad(-5), 0, 0, false);
      await p.engine.connect(p.alice).trade(ETH, wad(5), wad(1e9), 0, false);
      await p.engine.connect(p.bob).trade(BTC, wad("0.5"), wad(1e9), 0, false);
      await p.engine.connect(p.alice).trade(BTC, wad("-0.5"), 0, 0, false);
      return p;
    }

    it("an isolated liquidation leaves the cross balance untouched but for the remainder", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.connect(p.alice).deposit(usdc(4000)); // stays in cross
      await openWithHedge(p, wad(5), 1000n, wad(-5));
      const [crossBefore] = await p.engine.getAccount(p.alice);
      expect(crossBefore).to.equal(wad(4000));
      await setEthPrice(p, wad(1000)); // -50 %: deep bad debt
      await p.engine.connect(p.keeper).liquidate(p.alice, ETH, []);
      expect((await p.engine.getAccount(p.alice))[0]).to.equal(crossBefore);
    });

    it("a cross account's losing position is carried by its other positions", async function () {
      const p = await networkHelpers.loadFixture(crossAccount);
      // ETH -20 % would wipe an isolated 10x position twice over; BTC -20 % pays for it in the same account.
      await setEthPrice(p, wad(1600));
      await p.btc.aggregator.setAnswer(answer(48000));
      const health = await p.engine.crossAccountHealth(p.alice);
      expect(health.liquidatable).to.equal(false);
      expect(health.unrealizedPnl > 0n).to.equal(true);
      // With BTC flat, the same ETH move liquidates the whole account, both positions at once.
      await p.btc.aggregator.setAnswer(answer(60000));
      expect((await p.engine.crossAccountHealth(p.alice)).liquidatable).to.equal(true);
      await expect(p.engine.connect(p.keeper).liquidate(p.alice, BTC, []))
        .to.emit(p.engine, "Liquidated")
        .withArgs(p.alice.address, await p.engine.CROSS(), p.keeper.address, ...Array(5).fill(anyValue));
      expect((await p.engine.getPosition(p.alice, ETH)).size).to.equal(0n);
      expect((await p.engine.getPosition(p.alice, BTC)).size).to.equal(0n);
      expect((await p.engine.getAccount(p.alice))[1]).to.equal(0n);
    });

    it("the cross liquidation price holds the other market fixed", async function () {
      const p = await networkHelpers.loadFixture(crossAccount);
      // Both markets end with zero skew: no funding accrues, so the liquidation price does not move with time.
      const ethLiquidation = await p.engine.liquidationPrice(p.alice, ETH);
      await setEthPrice(p, ethLiquidation + ORACLE_UNIT);
      expect((await p.engine.crossAccountHealth(p.alice)).liquidatable).to.equal(false);
      await setEthPrice(p, ethLiquidation);
      expect((await p.engine.crossAccountHealth(p.alice)).liquidatable).to.equal(true);
      await setEthPrice(p, wad(2000));
      const btcLiquidation = await p.engine.liquidationPrice(p.alice, BTC);
      await p.btc.aggregator.setAnswer(btcLiquidation / ORACLE_UNIT - 1n);
      expect((await p.engine.crossAccountHealth(p.alice)).liquidatable).to.equal(false);
      await p.btc.aggregator.setAnswer(btcLiquidation / ORACLE_UNIT);
      expect((await p.engine.crossAccountHealth(p.alice)).liquidatable).to.equal(true);
    });
  });

  describe("liquidateMany", function () {
    it("liquidates the liquidatable entries and skips the rest without reverting", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.connect(p.bob).deposit(usdc(1_000_000));
      await p.engine.connect(p.bob).trade(ETH, wad(-10), 0, 0, false);
      for (const [trader, margin] of [
        [p.alice, 1000n],
        [p.carol, 3000n],
        [p.dave, 1000n],
      ] as const) {
        await p.engine.connect(trader).deposit(usdc(margin));
        await p.engine.connect(trader).trade(ETH, wad(5), wad(1e9), wad(margin), true);
      }
      await setEthPrice(p, wad(1800)); // 10x positions go under, the 3.3x one does not
      const traders = [p.alice.address, p.carol.address, p.dave.address, p.alice.address, p.bob.address, p.dave.address];
      const markets = [ETH, ETH, ETH, ETH, BTC, 99n];
      const liquidated = await p.engine.connect(p.keeper).liquidateMany.staticCall(traders, markets, []);
      expect(liquidated).to.equal(2n);
      await p.engine.connect(p.keeper).liquidateMany(traders, markets, []);
      expect((await p.engine.getPosition(p.alice, ETH)).size).to.equal(0n);
      expect((await p.engine.getPosition(p.dave, ETH)).size).to.equal(0n);
      expect((await p.engine.getPosition(p.carol, ETH)).size).to.equal(wad(5));
    });

    it("rejects mismatched or oversized batches", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await expect(p.engine.liquidateMany([p.alice.address], [], []))
        .to.be.revertedWithCustomError(p.engine, "InvalidBatch")
        .withArgs(1, 0);
      const many = Array(101).fill(p.alice.address);
      await expect(p.engine.liquidateMany(many, Array(101).fill(0n), []))
        .to.be.revertedWithCustomError(p.engine, "InvalidBatch")
        .withArgs(101, 101);
    });
  });
});
