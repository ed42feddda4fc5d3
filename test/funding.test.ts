import { expect } from "chai";

import { math as m } from "@perp/sdk";
import { deployProtocol, ETH, ethParams, usdc, wad, WAD } from "../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../scripts/lib/network.js";

const K = wad(1_000_000);
const P = wad(2000);
const HOURS_8 = 8n * 3600n;

describe("funding", function () {
  it("a skewed market over 8 hours: the heavy side pays, the light side and the vault receive, zero-sum", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(100_000));
    await p.engine.connect(p.bob).deposit(usdc(100_000));
    await p.engine.connect(p.alice).trade(ETH, wad(100), wad(1e9), 0, false);
    await p.engine.connect(p.bob).trade(ETH, wad(-20), 0, 0, false);

    // Skew +80 ETH: longs pay 80 / 1e6 * fundingFactor 1 = 0.008 % a day, below the 1 % cap.
    const state = (await p.engine.getMarket(ETH)).state;
    const rate = m.fundingRatePerDay(wad(80), K, WAD, wad("0.01"));
    expect(state.fundingRatePerDay).to.equal(rate);
    expect(rate).to.equal(wad("0.00008"));
    const alice = await p.engine.getPosition(p.alice, ETH);
    const bob = await p.engine.getPosition(p.bob, ETH);

    // Both settle in one block exactly 8 hours after the last touch, so they see the same index.
    const indexAfter = m.accruedFundingIndex(state.fundingIndex, rate, P, HOURS_8);
    const delta = indexAfter - state.fundingIndex;
    expect(delta).to.equal((rate * P * HOURS_8) / (WAD * 86_400n));
    const alicePays = m.fundingOwedUp(wad(100), indexAfter, alice.lastFundingIndex);
    const bobPays = m.fundingOwedUp(wad(-20), indexAfter, bob.lastFundingIndex);
    const vaultGets =
      m.fundingToVaultDown(wad(100), indexAfter, alice.lastFundingIndex) +
      m.fundingToVaultDown(wad(-20), indexAfter, bob.lastFundingIndex);
    expect(alicePays > 0n && bobPays < 0n && vaultGets > 0n).to.equal(true);
    // 100 ETH * 2000 * 0.008 % / 3 = $5.33 paid by the longs; the short receives $1.07; the vault nets $4.27.
    // Alice also owes for the block between her trade and Bob's, at the rate her trade set (skew +100).
    expect(alicePays).to.equal(m.mulWadUp(wad(100), indexAfter - alice.lastFundingIndex));
    expect(bob.lastFundingIndex).to.equal(state.fundingIndex);
    expect(-bobPays).to.equal(m.mulWadDown(wad(20), delta));
    const dust = alicePays + bobPays - vaultGets;
    expect(dust >= 0n && dust <= 2n).to.equal(true);

    const cashBefore = await p.engine.vaultCash();
    const insuranceBefore = await p.engine.insuranceFund();
    const [aliceBalanceBefore] = await p.engine.getAccount(p.alice);
    const [bobBalanceBefore] = await p.engine.getAccount(p.bob);

    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      // The oracle's heartbeat is 1 hour: a fresh round goes into the same block, before the trades.
      await p.eth.aggregator.setAnswer(2000_00000000n, { gasLimit: 200_000 });
      const aliceClose = await p.engine.connect(p.alice).trade(ETH, wad(-100), 0, 0, false, { gasLimit: 1_000_000 });
      const bobClose = await p.engine.connect(p.bob).trade(ETH, wad(20), wad(1e9), 0, false, { gasLimit: 1_000_000 });
      await ethers.provider.send("evm_mine", [Number(state.lastFundingTime + HOURS_8)]);
      const events = await Promise.all(
        [aliceClose, bobClose].map(async (tx) => {
          const receipt = await tx.wait();
          const log = receipt!.logs.map((l) => p.engine.interface.parseLog(l)).find((e) => e?.name === "PositionModified");
          return log!.args;
        }),
      );
      const [aliceEvent, bobEvent] = events as unknown as { realizedPnl: bigint; fee: bigint; fundingPaid: bigint; fundingIndex: bigint }[];

      expect(aliceEvent.fundingPaid).to.equal(alicePays);
      expect(bobEvent.fundingPaid).to.equal(bobPays);
      expect(aliceEvent.fundingIndex).to.equal(indexAfter);
      expect(bobEvent.fundingIndex).to.equal(indexAfter);

      // Each trader's balance moved by exactly PnL - fee - funding.
      const [aliceBalance] = await p.engine.getAccount(p.alice);
      const [bobBalance] = await p.engine.getAccount(p.bob);
      expect(aliceBalance - aliceBalanceBefore).to.equal(aliceEvent.realizedPnl - aliceEvent.fee - alicePays);
      expect(bobBalance - bobBalanceBefore).to.equal(bobEvent.realizedPnl - bobEvent.fee - bobPays);

      // The vault: fees net of the insurance share, its funding, minus the traders' PnL. Insurance: fee shares + dust.
      const fees = aliceEvent.fee + bobEvent.fee;
      const feeToInsurance = aliceEvent.fee / 10n + bobEvent.fee / 10n;
      expect(await p.engine.vaultCash()).to.equal(
        cashBefore + fees - feeToInsurance + vaultGets - aliceEvent.realizedPnl - bobEvent.realizedPnl,
      );
      expect(await p.engine.insuranceFund()).to.equal(insuranceBefore + feeToInsurance + dust);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
  });

  it("the rate follows the skew, is capped, and flips sign when shorts dominate", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1_000_000));
    await p.engine.setMarketParams(ETH, ethParams({ maxFundingRatePerDay: wad("0.001") }));
    await p.engine.connect(p.alice).trade(ETH, wad(-1000), 0, 0, false);
    // -1,000 / 1e6 = -0.1 % a day: exactly the cap. More short skew stays capped.
    expect((await p.engine.getMarket(ETH)).state.fundingRatePerDay).to.equal(wad("-0.001"));
    await p.engine.connect(p.alice).trade(ETH, wad(-1000), 0, 0, false);
    expect((await p.engine.getMarket(ETH)).state.fundingRatePerDay).to.equal(wad("-0.001"));
    const before = (await p.engine.getMarket(ETH)).state;
    await networkHelpers.time.increase(3600);
    await p.eth.aggregator.setAnswer(2000_00000000n);
    await expect(p.engine.accrueFunding(ETH)).to.emit(p.engine, "FundingAccrued");
    const after = (await p.engine.getMarket(ETH)).state;
    // Shorts dominate: the index falls, so shorts (negative size) owe size * (negative delta) > 0.
    expect(after.fundingIndex < before.fundingIndex).to.equal(true);
    // Not settled until Alice's next touch: pending, and at least what the stored index already implies.
    const last = (await p.engine.getPosition(p.alice, ETH)).lastFundingIndex;
    const owed = m.fundingOwedUp(wad(-2000), after.fundingIndex, last);
    expect(owed > 0n).to.equal(true);
    expect((await p.engine.pendingFunding(p.alice, ETH)) >= owed).to.equal(true);
    // A long now would receive: the short side pays.
    await p.engine.connect(p.bob).deposit(usdc(10_000));
    await p.engine.connect(p.bob).trade(ETH, wad(1), wad(1e9), 0, false);
    await networkHelpers.time.increase(3600);
    await p.eth.aggregator.setAnswer(2000_00000000n);
    expect((await p.engine.pendingFunding(p.bob, ETH)) < 0n).to.equal(true);
  });

  it("accrual is O(1): a market with no positions accrues nothing and costs the same", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await networkHelpers.time.increase(86_400);
    await p.eth.aggregator.setAnswer(2000_00000000n);
    await p.engine.accrueFunding(ETH);
    expect((await p.engine.getMarket(ETH)).state.fundingIndex).to.equal(0n);
  });
});
