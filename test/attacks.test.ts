/**
 * The attack review's findings (../shared/research/redteam.md), one `describe` each, on the standard fixture, and the
 * attacks it tried that failed: they must keep failing.
 */
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import { readFileSync } from "node:fs";

import { math as m } from "@perp/sdk";
import { DEFAULT_LP_COOLDOWN } from "../ignition/lib/perp.js";
import { TESTNET_TIMELOCK_DELAY } from "../ignition/modules/PerpProtocol.js";
import { btcParams, BTC, DAY, deployProtocol, ETH, lpDeposit, lpRedeem, ethParams, ORACLE_UNIT, PROTOCOL_PARAMS, usdc, wad, type Protocol } from "../scripts/lib/fixture.js";
import { networkHelpers } from "../scripts/lib/network.js";

const BUY = wad(1e9);
const SELL = 0n;
const K = wad(1_000_000); // ETH skew scale of the fixture

async function setEth(p: Protocol, priceWad: bigint) {
  await p.eth.aggregator.setAnswer(priceWad / ORACLE_UNIT);
}

async function balanceOf(p: Protocol, who: { getAddress(): Promise<string> }) {
  return (await p.engine.getAccount(await who.getAddress()))[0];
}

/** Every ledger the engine owes, against what it holds (SPEC invariants 1 and 11). */
async function owedAndHeld(p: Protocol) {
  let owed = (await p.engine.vaultCash()) + (await p.engine.insuranceFund());
  for (const who of [p.lp, p.alice, p.bob, p.carol, p.dave, p.keeper]) {
    owed += await balanceOf(p, who);
    for (const id of [ETH, BTC]) owed += (await p.engine.getPosition(who, id)).margin;
  }
  return { owed, held: (await p.usdc.balanceOf(p.engine)) * 10n ** 12n };
}

describe("attack review findings", function () {
  describe("RT-03: a winner is paid from vault cash only, never from other traders' collateral", function () {
    /**
     * A hedged pair of 1,200 ETH (Alice cross short, Bob isolated long), Dave long 50 ETH isolated with $40k, Carol
     * idle with $200k, then a -30 % gap.
     */
    async function gapped() {
      const p = await deployProtocol();
      await p.engine.connect(p.alice).deposit(usdc(100_000));
      await p.engine.connect(p.bob).deposit(usdc(30_000));
      await p.engine.connect(p.carol).deposit(usdc(200_000));
      await p.engine.connect(p.dave).deposit(usdc(40_000));
      await p.engine.connect(p.alice).trade(ETH, wad(-1200), SELL, 0, false);
      await p.engine.connect(p.bob).trade(ETH, wad(1200), BUY, wad(30_000), true);
      await p.engine.connect(p.dave).trade(ETH, wad(50), BUY, wad(40_000), true);
      await setEth(p, wad(1400));
      return p;
    }

    it("the loser's bad debt and the winner's profit leave vault cash at zero, the rest a claim; Carol withdraws everything", async function () {
      const p = await networkHelpers.loadFixture(gapped);
      // Bob's long is liquidated deep in bad debt: the vault absorbs his margin and pays the keeper.
      await p.engine.connect(p.keeper).liquidate(p.bob, ETH, []);
      const cashBefore = await p.engine.vaultCash();
      const [aliceBefore] = await p.engine.getAccount(p.alice);
      // Alice closes her short: $720k of profit against ~$530k of vault cash.
      const tx = await p.engine.connect(p.alice).trade(ETH, wad(1200), BUY, 0, false);
      const receipt = (await tx.wait())!;
      const events = receipt.logs.map((l) => p.engine.interface.parseLog(l)).filter((e) => e !== null);
      const trade = events.find((e) => e.name === "PositionModified")!.args;
      const claimEvent = events.find((e) => e.name === "ProfitClaimCreated")!.args;
      const feeToVault = trade.fee - m.mulWadDown(trade.fee, PROTOCOL_PARAMS.insuranceFeeShare as bigint);
      const fundingToVault = m.fundingToVaultDown(wad(-1200), trade.fundingIndex, 0n);
      const owedByVault = trade.realizedPnl - feeToVault - fundingToVault;
      const claim = owedByVault - cashBefore;
      expect(claimEvent.account).to.equal(p.alice.address);
      expect(claimEvent.amount).to.equal(claim);
      expect(await p.engine.vaultCash()).to.equal(0n);
      expect(await p.engine.profitClaim(p.alice)).to.equal(claim);
      expect(await p.engine.totalProfitClaims()).to.equal(claim);
      const [aliceAfter] = await p.engine.getAccount(p.alice);
      const due = (trade.realizedPnl as bigint) - (trade.fee as bigint) - (trade.fundingPaid as bigint);
      expect(aliceAfter).to.equal(aliceBefore + due - claim);

      // The unrelated idle trader withdraws all of it, and so does the winner: the engine owes what it holds.
      await p.engine.connect(p.carol).withdraw(usdc(200_000), p.carol, []);
      expect(await balanceOf(p, p.carol)).to.equal(0n);
      await p.engine.connect(p.alice).withdraw(aliceAfter / 10n ** 12n, p.alice, []);
      const { owed, held } = await owedAndHeld(p);
      expect(held >= owed).to.equal(true);

      // The NAV counts the claim as a liability: zero, never negative, never reverting.
      expect(await p.engine.vaultNav()).to.equal(0n);
      expect(await p.engine.vaultWithdrawable()).to.equal(0n);
    });

    it("the claim is paid in order from vault income: a loser's close pays it on the way out", async function () {
      const p = await networkHelpers.loadFixture(gapped);
      await p.engine.connect(p.keeper).liquidate(p.bob, ETH, []);
      await p.engine.connect(p.alice).trade(ETH, wad(1200), BUY, 0, false);
      const claim = await p.engine.profitClaim(p.alice);
      const [aliceBefore] = await p.engine.getAccount(p.alice);
      // NAV is zero with shares outstanding: the vault takes no deposit (new LPs would pay old claims), and no trade
      // may add risk; the claim waits for income.
      expect(await p.vault.maxDeposit(p.carol)).to.equal(0n);
      // Dave closes his long at a ~$30k loss: the vault's income goes straight to Alice's claim.
      const davePos = await p.engine.getPosition(p.dave, ETH);
      const tx = await p.engine.connect(p.dave).trade(ETH, wad(-50), SELL, 0, true);
      const events = (await tx.wait())!.logs.map((l) => p.engine.interface.parseLog(l)).filter((e) => e !== null);
      const trade = events.find((e) => e.name === "PositionModified")!.args;
      const payment = events.find((e) => e.name === "ProfitClaimPaid")!.args;
      const feeToVault = trade.fee - m.mulWadDown(trade.fee, PROTOCOL_PARAMS.insuranceFeeShare as bigint);
      const income = -(trade.realizedPnl as bigint) + feeToVault + m.fundingToVaultDown(wad(50), trade.fundingIndex, davePos.lastFundingIndex);
      const paid = (await p.engine.getAccount(p.alice))[0] - aliceBefore;
      expect([payment.account, payment.amount, payment.remaining]).to.deep.equal([p.alice.address, paid, claim - paid]);
      expect(paid).to.equal(income); // all of the income, no more
      expect(await p.engine.vaultCash()).to.equal(0n);
      expect(await p.engine.profitClaim(p.alice)).to.equal(claim - paid);
      expect(await p.engine.totalProfitClaims()).to.equal(claim - paid);
      expect(await p.engine.vaultCash()).to.equal(0n);
      await expect(p.engine.payClaims(10)).to.not.emit(p.engine, "ProfitClaimPaid"); // nothing to pay with
    });

    it("the backing ratio counts mark notional: a gap up raises what a new position needs", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.connect(p.alice).deposit(usdc(1_000_000));
      // 2,400 ETH at $2,000 marks $4.8M: 10 % is $480k of the vault's $500k.
      await p.engine.connect(p.alice).trade(ETH, wad(2400), BUY, 0, false);
      expect(await p.engine.totalMarkNotional()).to.equal(wad(4_800_000));
      await setEth(p, wad(2100));
      // Entry notional would still be ~$4.8M; at $2,100 the same 2,400 ETH marks $5.04M and any trade that adds risk
      // re-marks the market first.
      const tx = p.engine.connect(p.alice).trade(ETH, wad(1), BUY, 0, false);
      await expect(tx)
        .to.be.revertedWithCustomError(p.engine, "InsufficientVaultLiquidity")
        .withArgs(wad(504_210), anyValue); // 2,401 ETH x $2,100 x 10 %
    });
  });

  describe("invariant 11: a loss beyond a cross balance is a receivable, not cash the vault can pay out", function () {
    it("a winner is paid only from cash that exists; the loser's reset leaves no deficit; every actor exits", async function () {
      const p = await deployProtocol();
      await p.engine.connect(p.alice).deposit(usdc(20_000));
      await p.engine.connect(p.bob).deposit(usdc(300_000));
      await p.engine.connect(p.carol).deposit(usdc(50_000));
      // Alice: leveraged cross longs in both markets; Bob: a leveraged isolated ETH short.
      await p.engine.connect(p.alice).trade(BTC, wad(10), BUY, 0, false);
      await p.engine.connect(p.alice).trade(ETH, wad(300), BUY, 0, false);
      await p.engine.connect(p.bob).trade(ETH, wad(-1200), SELL, wad(300_000), true);
      // Gap: ETH -30 %, BTC +30 %. Alice's BTC profit carries her ETH loss.
      await setEth(p, wad(1400));
      await p.btc.aggregator.setAnswer(wad(78_000) / ORACLE_UNIT);
      await p.engine.connect(p.alice).trade(ETH, wad(-300), SELL, 0, false);
      const [aliceBalance, aliceMarkets] = await p.engine.getAccount(p.alice);
      expect(aliceMarkets).to.equal(1n << BTC);
      expect(aliceBalance < 0n).to.equal(true);
      expect(await p.engine.receivable()).to.equal(-aliceBalance);
      // Bob's $720k profit: only vault cash minus Alice's receivable is paid, the rest is his claim.
      const cashBefore = await p.engine.vaultCash();
      const spendable = cashBefore + aliceBalance;
      const bobPosition = await p.engine.getPosition(p.bob, ETH);
      const tx = await p.engine.connect(p.bob).trade(ETH, wad(1200), BUY, 0, true);
      const events = (await tx.wait())!.logs.map((l) => p.engine.interface.parseLog(l)).filter((e) => e !== null);
      const trade = events.find((e) => e.name === "PositionModified")!.args;
      const feeToVault = trade.fee - m.mulWadDown(trade.fee, PROTOCOL_PARAMS.insuranceFeeShare as bigint);
      const fundingToVault = m.fundingToVaultDown(wad(-1200), trade.fundingIndex, bobPosition.lastFundingIndex);
      const owedByVault = (trade.realizedPnl as bigint) - feeToVault - fundingToVault;
      const claim = owedByVault - spendable;
      expect(events.find((e) => e.name === "ProfitClaimCreated")!.args.amount).to.equal(claim);
      expect(await p.engine.vaultCash()).to.equal(-aliceBalance);
      // Bob withdraws all he was paid (before the fix this was more than the engine held).
      const [bobBalance] = await p.engine.getAccount(p.bob);
      await p.engine.connect(p.bob).withdraw(bobBalance / 10n ** 12n, p.bob, []);
      // Another gap: BTC back to $60k; Alice is liquidated deep in bad debt, written off against her receivable.
      await p.btc.aggregator.setAnswer(wad(60_000) / ORACLE_UNIT);
      await p.engine.connect(p.keeper).liquidate(p.alice, BTC, []);
      expect(await p.engine.receivable()).to.equal(0n);
      expect(await p.engine.deficit()).to.equal(0n);
      // Every actor withdraws everything, in turn.
      for (const who of [p.alice, p.bob, p.carol, p.keeper]) {
        const [balance] = await p.engine.getAccount(who);
        if (balance / 10n ** 12n > 0n) await p.engine.connect(who).withdraw(balance / 10n ** 12n, who, []);
      }
      await networkHelpers.time.increase(DAY + 1n);
      const lpMax = await p.vault.maxRedeem(p.lp);
      if (lpMax > 0n) await lpRedeem(p.vault, p.lp, lpMax);
      expect(await p.usdc.balanceOf(p.carol)).to.equal(usdc(10_000_000));
      const { owed, held } = await owedAndHeld(p);
      expect(held).to.equal(owed);
      expect(await p.engine.vaultCash() >= 0n).to.equal(true);
    });
  });

  describe("RT-04: a debit never leaves the account liquidatable", function () {
    /**
     * A +2 % premium (20,000 ETH of longs), then Alice goes long 5 ETH in cross with $1,000: index equity ~$795.
     * Funding off, so that equity does not move between blocks.
     */
    async function skewed() {
      const p = await deployProtocol();
      await p.engine.setMarketParams(ETH, ethParams({ fundingFactor: 0n }));
      await lpDeposit(p.vault, p.lp, usdc(4_000_000));
      await p.engine.connect(p.dave).deposit(usdc(1_000_000));
      await p.engine.connect(p.dave).trade(ETH, wad(20_000), BUY, 0, false);
      await p.engine.connect(p.alice).deposit(usdc(1_000));
      await p.engine.connect(p.alice).trade(ETH, wad(5), BUY, 0, false);
      return p;
    }

    it("withdraw: allowed exactly down to maintenance at the index, refused one unit beyond", async function () {
      const p = await networkHelpers.loadFixture(skewed);
      const health = await p.engine.crossAccountHealth(p.alice);
      // The close fill carries the premium, the index does not: the index equity is the lower one.
      expect(health.equity < health.equityAtClose).to.equal(true);
      await expect(p.engine.connect(p.alice).withdraw(usdc(850), p.alice, []))
        .to.be.revertedWithCustomError(p.engine, "DebitBelowMaintenanceMargin")
        .withArgs(health.equity - wad(850), health.maintenanceMargin);
      const max = (health.equity - BigInt(health.maintenanceMargin)) / 10n ** 12n;
      await expect(p.engine.connect(p.alice).withdraw(max + 1n, p.alice, []))
        .to.be.revertedWithCustomError(p.engine, "DebitBelowMaintenanceMargin")
        .withArgs(health.equity - (max + 1n) * 10n ** 12n, health.maintenanceMargin);
      await p.engine.connect(p.alice).withdraw(max, p.alice, []);
      const after = await p.engine.crossAccountHealth(p.alice);
      expect(after.liquidatable).to.equal(false);
      expect(after.equity >= after.maintenanceMargin).to.equal(true);
      await expect(p.engine.connect(p.keeper).liquidate(p.alice, ETH, [])).to.be.revertedWithCustomError(p.engine, "NotLiquidatable");
    });

    it("addMargin and an isolated open funded from cross obey the same rule", async function () {
      const p = await networkHelpers.loadFixture(skewed);
      await p.engine.connect(p.alice).deposit(usdc(100));
      await p.engine.connect(p.bob).deposit(usdc(1_000));
      const health = await p.engine.crossAccountHealth(p.alice);
      const tooMuch = health.equity - BigInt(health.maintenanceMargin) + 1n;
      await expect(p.engine.connect(p.alice).trade(BTC, wad("0.01"), BUY, tooMuch, true))
        .to.be.revertedWithCustomError(p.engine, "DebitBelowMaintenanceMargin")
        .withArgs(health.equity - tooMuch, health.maintenanceMargin);
      await p.engine.connect(p.alice).trade(BTC, wad("0.01"), BUY, wad(50), true);
      const now = await p.engine.crossAccountHealth(p.alice);
      const again = now.equity - BigInt(now.maintenanceMargin) + 1n;
      await expect(p.engine.connect(p.alice).addMargin(BTC, again))
        .to.be.revertedWithCustomError(p.engine, "DebitBelowMaintenanceMargin")
        .withArgs(now.equity - again, now.maintenanceMargin);
    });
  });

  describe("RT-02: liquidation closes at the close fill price: the hedged pair no longer profits", function () {
    /**
     * Alice isolated long 20,000 ETH with $700k, Bob cross short 20,000 ETH (both filled at the $2,020 premium; the
     * skew ends at zero), Carol the attackers' own keeper; caps at K / 10 as the fixture allows.
     */
    async function pair() {
      const p = await deployProtocol();
      await lpDeposit(p.vault, p.lp, usdc(8_000_000));
      await p.engine.connect(p.alice).deposit(usdc(700_000));
      await p.engine.connect(p.bob).deposit(usdc(2_000_000));
      await p.engine.connect(p.alice).trade(ETH, wad(20_000), BUY, wad(700_000), true);
      await p.engine.connect(p.bob).trade(ETH, wad(-20_000), SELL, 0, false);
      return p;
    }

    it("the liquidation fills at fillPrice(index, skew, -size, K) and the attackers lose", async function () {
      const p = await networkHelpers.loadFixture(pair);
      const deposited = wad(2_700_000);
      const navBefore = await p.engine.vaultNav();
      const price = await p.engine.liquidationPrice(p.alice, ETH);
      await setEth(p, price);
      const state = (await p.engine.getMarket(ETH)).state;
      const skew = state.longOpenInterest - state.shortOpenInterest;
      const tx = await p.engine.connect(p.carol).liquidate(p.alice, ETH, []);
      const closed = (await tx.wait())!.logs
        .map((l) => p.engine.interface.parseLog(l))
        .find((e) => e?.name === "PositionClosedAtIndex")!.args;
      expect(closed.price).to.equal(m.fillPrice(price, skew, wad(-20_000), K));
      // Bob closes his short into the skew the liquidation left (his discount is the liquidated side's premium).
      await p.engine.connect(p.bob).trade(ETH, wad(20_000), BUY, 0, false);
      const held = (await balanceOf(p, p.alice)) + (await balanceOf(p, p.bob)) + (await balanceOf(p, p.carol));
      const attackersNet = held - deposited;
      expect(attackersNet < 0n, `attackers' net ${attackersNet}`).to.equal(true);
      expect((await p.engine.vaultNav()) > navBefore).to.equal(true);
    });
  });

  describe("RT-06: a keeper liquidating its own cross account keeps both its reward and its remainder", function () {
    it("cross balance after = reward + remainder; nothing is stranded", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.connect(p.bob).deposit(usdc(100_000));
      await p.engine.connect(p.bob).trade(ETH, wad(-10), SELL, 0, false);
      await p.engine.connect(p.alice).deposit(usdc(2_000));
      await p.engine.connect(p.alice).trade(ETH, wad(10), BUY, 0, false); // 10x, zero skew
      await setEth(p, await p.engine.liquidationPrice(p.alice, ETH));
      const before = await owedAndHeld(p);
      const tx = await p.engine.connect(p.alice).liquidate(p.alice, ETH, []);
      const event = (await tx.wait())!.logs
        .map((l) => p.engine.interface.parseLog(l))
        .find((e) => e?.name === "Liquidated")!.args;
      expect(event.keeper).to.equal(p.alice.address);
      expect(event.traderRemainder > 0n).to.equal(true);
      expect(await balanceOf(p, p.alice)).to.equal(event.keeperReward + event.traderRemainder);
      const after = await owedAndHeld(p);
      expect(after.held).to.equal(before.held);
      expect(after.owed).to.equal(after.held - (before.held - before.owed));
    });
  });

  describe("RT-07: an insolvent account is liquidated, never deleveraged", function () {
    it("autoDeleverage refuses it (AccountLiquidatable); liquidation resets the balance", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.setMarketParams(ETH, ethParams({ maxPnlFactor: wad("0.001"), fundingFactor: 0n }));
      await p.engine.setMarketParams(BTC, btcParams({ fundingFactor: 0n }));
      await p.engine.connect(p.alice).deposit(usdc(10_000));
      await p.engine.connect(p.alice).trade(ETH, wad(50), BUY, 0, false);
      await p.engine.connect(p.alice).trade(BTC, wad(1), BUY, 0, false);
      await setEth(p, wad(2020)); // ETH +1 %: ~+$1k
      await p.btc.aggregator.setAnswer(48_000_00000000n); // BTC -20 %: -$12k
      await p.engine.connect(p.alice).trade(BTC, wad(-1), SELL, 0, false); // realises the loss: balance < 0
      const [balance] = await p.engine.getAccount(p.alice);
      expect(balance < 0n).to.equal(true);
      const health = await p.engine.crossAccountHealth(p.alice);
      expect(health.liquidatable).to.equal(true);
      await expect(p.engine.autoDeleverage(p.alice, ETH, []))
        .to.be.revertedWithCustomError(p.engine, "AccountLiquidatable")
        .withArgs(p.alice.address, health.equityAtClose, health.maintenanceMargin);
      await p.engine.connect(p.keeper).liquidate(p.alice, ETH, []);
      expect(await p.engine.getAccount(p.alice)).to.deep.equal([0n, 0n]);
    });
  });

  describe("RT-08: governance is bounded", function () {
    it("keeper reward bounds: min <= $50, max <= $10,000 (the whole-vault reward is refused)", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      for (const override of [
        { keeperRewardMin: wad("50.000000000000000001"), keeperRewardMax: wad(500) },
        { keeperRewardMax: wad("10000.000000000000000001") },
        { keeperRewardMin: wad(500_000), keeperRewardMax: wad(500_000) },
      ]) {
        await expect(p.engine.setProtocolParams({ ...PROTOCOL_PARAMS, ...override }))
          .to.be.revertedWithCustomError(p.engine, "InvalidParameter")
          .withArgs("keeperRewardBound");
      }
      await p.engine.setProtocolParams({ ...PROTOCOL_PARAMS, keeperRewardMin: wad(50), keeperRewardMax: wad(10_000) });
    });

    it("MMR and IMR move by at most 25 % per change, MMR never above the old IMR", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      const cases: [string, Record<string, bigint>][] = [
        ["maintenanceMarginStep", { maintenanceMarginRatio: wad("0.006250000000000001") }],
        ["maintenanceMarginStep", { maintenanceMarginRatio: wad("0.003749999999999999") }],
        ["initialMarginStep", { initialMarginRatio: wad("0.012500000000000001") }],
      ];
      for (const [code, override] of cases) {
        await expect(p.engine.setMarketParams(ETH, ethParams(override)))
          .to.be.revertedWithCustomError(p.engine, "InvalidParameter")
          .withArgs(code);
      }
      await p.engine.setMarketParams(ETH, ethParams({ maintenanceMarginRatio: wad("0.00625"), initialMarginRatio: wad("0.0125") }));
      // From MMR 0.9 % / IMR 1 %: 1.1 % is within 25 % of 0.9 % but above the old IMR.
      const q = await deployProtocol();
      for (const mmr of ["0.00625", "0.0078125", "0.009"]) {
        await q.engine.setMarketParams(ETH, ethParams({ maintenanceMarginRatio: wad(mmr) }));
      }
      await expect(q.engine.setMarketParams(ETH, ethParams({ maintenanceMarginRatio: wad("0.011"), initialMarginRatio: wad("0.0125") })))
        .to.be.revertedWithCustomError(q.engine, "InvalidParameter")
        .withArgs("maintenanceMarginStep");
    });

    it("the public-network timelock delay exceeds the LP cooldown, in the module and every parameters file", function () {
      expect(TESTNET_TIMELOCK_DELAY > DEFAULT_LP_COOLDOWN).to.equal(true);
      for (const network of ["sepolia", "arbitrumSepolia", "baseSepolia", "seiTestnet"]) {
        const file = JSON.parse(readFileSync(new URL(`../ignition/parameters/${network}.json`, import.meta.url), "utf8")) as {
          PerpProtocol?: { timelockMinDelay?: number | string; lpCooldown?: number | string };
        };
        const delay = BigInt(file.PerpProtocol?.timelockMinDelay ?? TESTNET_TIMELOCK_DELAY);
        const cooldown = BigInt(file.PerpProtocol?.lpCooldown ?? DEFAULT_LP_COOLDOWN);
        expect(delay > cooldown, network).to.equal(true);
      }
    });
  });

  describe("RT-09: an LP withdrawal cannot make a market ADL-eligible", function () {
    it("maxWithdraw stops where traders' profit would exceed maxPnlFactor of the NAV left", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.setMarketParams(ETH, ethParams({ maxPnlFactor: wad("0.2") }));
      await p.engine.connect(p.alice).deposit(usdc(100_000));
      await p.engine.connect(p.alice).trade(ETH, wad(400), BUY, 0, false);
      await setEth(p, wad(2200)); // ~+$80k for the traders: 16 % of a ~$420k NAV
      await expect(p.engine.autoDeleverage(p.alice, ETH, [])).to.be.revertedWithCustomError(p.engine, "DeleverageNotNeeded");
      await networkHelpers.time.increase(DAY);
      await setEth(p, wad(2200));
      await p.btc.aggregator.setAnswer(60_000_00000000n);
      const max = await p.vault.maxRedeem(p.lp);
      expect(max > 0n).to.equal(true);
      await lpRedeem(p.vault, p.lp, max);
      await expect(p.engine.autoDeleverage(p.alice, ETH, [])).to.be.revertedWithCustomError(p.engine, "DeleverageNotNeeded");
    });
  });

  describe("RT-10: the minimum keeper reward and its maintenance add-on are per position", function () {
    it("a two-position cross account carries 2 x $2 in maintenance and pays 2 x $2", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.connect(p.bob).deposit(usdc(100_000));
      await p.engine.connect(p.bob).trade(ETH, wad("-0.1"), SELL, 0, false);
      await p.engine.connect(p.bob).trade(BTC, wad("-0.004"), SELL, 0, false);
      await p.engine.connect(p.alice).deposit(usdc(30));
      await p.engine.connect(p.alice).trade(ETH, wad("0.1"), BUY, 0, false); // $200
      await p.engine.connect(p.alice).trade(BTC, wad("0.004"), BUY, 0, false); // $240
      const health = await p.engine.crossAccountHealth(p.alice);
      expect(health.maintenanceMargin).to.equal(m.requirementUp(wad("0.1"), wad(2000), wad("0.005")) + m.requirementUp(wad("0.004"), wad(60000), wad("0.005")) + wad(4));
      await setEth(p, await p.engine.liquidationPrice(p.alice, ETH));
      await expect(p.engine.connect(p.keeper).liquidate(p.alice, ETH, [])).to.emit(p.engine, "Liquidated");
      expect(await balanceOf(p, p.keeper)).to.equal(wad(4));
    });
  });

  describe("RT-11: topping up an isolated margin from the wallet needs no price", function () {
    it("a stale feed in an unrelated cross market blocks addMargin but not addMarginFromWallet", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.connect(p.alice).deposit(usdc(10_000));
      await p.engine.connect(p.alice).trade(BTC, wad("0.01"), BUY, 0, false); // cross
      await p.engine.connect(p.alice).trade(ETH, wad(1), BUY, wad(100), true); // isolated
      await networkHelpers.time.increase(3601);
      await p.eth.aggregator.setAnswer(2000_00000000n); // ETH fresh, BTC stale
      await expect(p.engine.connect(p.alice).addMargin(ETH, wad(10))).to.be.revertedWithCustomError(p.engine, "StaleOraclePrice");
      const margin = (await p.engine.getPosition(p.alice, ETH)).margin;
      await p.eth.aggregator.setAnswer(0); // and now ETH too: still no price needed
      await expect(p.engine.connect(p.alice).addMarginFromWallet(ETH, usdc(10)))
        .to.emit(p.engine, "MarginAdded")
        .withArgs(p.alice.address, ETH, wad(10), margin + wad(10));
      await expect(p.engine.connect(p.alice).addMarginFromWallet(BTC, usdc(10)))
        .to.be.revertedWithCustomError(p.engine, "NotIsolated")
        .withArgs(BTC);
    });
  });
});

describe("attacks that failed in the review keep failing", function () {
  it("cross collateral into an isolated position while the cross account is liquidatable", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.setMarketParams(ETH, ethParams({ fundingFactor: 0n }));
    await p.engine.setMarketParams(BTC, btcParams({ fundingFactor: 0n }));
    await p.engine.connect(p.alice).deposit(usdc(1_000));
    await p.engine.connect(p.alice).trade(ETH, wad(4), BUY, 0, false);
    await p.engine.connect(p.alice).trade(BTC, wad("0.01"), BUY, wad(20), true);
    await setEth(p, wad(1760)); // -12 %: the cross account is underwater
    const health = await p.engine.crossAccountHealth(p.alice);
    expect(health.liquidatable).to.equal(true);
    await expect(p.engine.connect(p.alice).addMargin(BTC, wad(1)))
      .to.be.revertedWithCustomError(p.engine, "AccountLiquidatable")
      .withArgs(p.alice.address, health.equityAtClose, health.maintenanceMargin);
  });

  it("unrealised profit is not withdrawable (cross nor isolated)", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1_000));
    await p.engine.connect(p.alice).trade(ETH, wad(1), BUY, 0, false);
    await p.engine.connect(p.alice).trade(BTC, wad("0.01"), BUY, wad(100), true);
    await setEth(p, wad(3000));
    await p.btc.aggregator.setAnswer(90_000_00000000n);
    await expect(p.engine.connect(p.alice).withdraw(usdc(1_000), p.alice, [])).to.be.revertedWithCustomError(p.engine, "InsufficientCrossBalance");
    const pos = await p.engine.getPosition(p.alice, BTC);
    // In profit: margin + min(value at close, 0) is the whole margin, and removing all of it leaves nothing.
    const health = await p.engine.positionHealth(p.alice, BTC);
    await expect(p.engine.connect(p.alice).removeMargin(BTC, pos.margin, []))
      .to.be.revertedWithCustomError(p.engine, "RemovalBelowInitialMargin")
      .withArgs(BTC, 0n, health.initialMargin);
  });

  it("addMargin / removeMargin loops extract nothing", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1_000));
    await p.engine.connect(p.alice).trade(ETH, wad(1), BUY, wad(500), true);
    const total = async () => (await balanceOf(p, p.alice)) + (await p.engine.getPosition(p.alice, ETH)).margin;
    const before = await total();
    for (let i = 0; i < 5; i++) {
      await p.engine.connect(p.alice).addMargin(ETH, wad(100));
      await p.engine.connect(p.alice).removeMargin(ETH, wad(100), []);
    }
    expect(await total()).to.equal(before);
  });

  it("self-liquidation from a second account loses money (the minimum reward sits inside maintenance)", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.bob).deposit(usdc(100_000));
    await p.engine.connect(p.bob).trade(ETH, wad("-0.1"), SELL, 0, false);
    await p.engine.connect(p.alice).deposit(usdc(20));
    await p.engine.connect(p.alice).trade(ETH, wad("0.1"), BUY, wad(20), true);
    await setEth(p, await p.engine.liquidationPrice(p.alice, ETH));
    await p.engine.connect(p.dave).liquidate(p.alice, ETH, []);
    const back = (await balanceOf(p, p.alice)) + (await balanceOf(p, p.dave));
    expect(back < wad(20)).to.equal(true);
  });

  it("pump-then-unwind around a victim's trade loses: the premium is path independent", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(100_000));
    await p.engine.connect(p.bob).deposit(usdc(100_000));
    await p.engine.connect(p.alice).trade(ETH, wad(1000), BUY, 0, false);
    await p.engine.connect(p.bob).trade(ETH, wad(10), BUY, 0, false);
    await p.engine.connect(p.alice).trade(ETH, wad(-1000), SELL, 0, false);
    expect((await balanceOf(p, p.alice)) < wad(100_000)).to.equal(true);
  });

  it("a sandwich around a large trade moves the NAV by exactly the vault's fee share", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1_000_000));
    const navBefore = await p.engine.vaultNav();
    const tx = await p.engine.connect(p.alice).trade(ETH, wad(1000), BUY, 0, false);
    const fee = (await tx.wait())!.logs.map((l) => p.engine.interface.parseLog(l)).find((e) => e?.name === "PositionModified")!.args.fee;
    const feeToVault = fee - m.mulWadDown(fee, PROTOCOL_PARAMS.insuranceFeeShare as bigint);
    // The trader's claim at the close fill equals its entry cost: NAV grows by the fee share alone.
    expect((await p.engine.vaultNav()) - navBefore).to.equal(feeToVault);
  });

  it("shares in cooldown cannot be moved to dodge it", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await lpDeposit(p.vault, p.carol, usdc(1_000));
    await expect(p.vault.connect(p.carol).transfer(p.dave, 1n)).to.be.revertedWithCustomError(p.vault, "SharesLocked");
  });

  it("a blacklisted trader withdraws to another receiver", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(100));
    await expect(p.engine.connect(p.alice).withdraw(usdc(100), p.dave, []))
      .to.emit(p.engine, "Withdrawn")
      .withArgs(p.alice.address, p.dave.address, usdc(100));
  });

  it("a flip cannot bypass the open-interest cap", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.setMarketParams(ETH, ethParams({ maxLongOpenInterest: wad(10), maxShortOpenInterest: wad(3) }));
    await p.engine.connect(p.alice).deposit(usdc(10_000));
    await p.engine.connect(p.alice).trade(ETH, wad(2), BUY, 0, false);
    await expect(p.engine.connect(p.alice).trade(ETH, wad(-6), SELL, 0, false))
      .to.be.revertedWithCustomError(p.engine, "OpenInterestCapExceeded")
      .withArgs(ETH, false, wad(4), wad(3));
  });

  it("rounding: 50 one-wei trades each pay a fee of at least 1 wei and never realise a positive PnL", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1_000));
    await p.engine.connect(p.alice).trade(ETH, wad(1), BUY, 0, false);
    for (let i = 0; i < 50; i++) {
      const tx = await p.engine.connect(p.alice).trade(ETH, i % 2 === 0 ? -1n : 1n, i % 2 === 0 ? SELL : BUY, 0, false);
      const args = (await tx.wait())!.logs.map((l) => p.engine.interface.parseLog(l)).find((e) => e?.name === "PositionModified")!.args;
      expect(args.fee >= 1n, `fee ${i}`).to.equal(true);
      expect(args.realizedPnl <= 0n, `pnl ${i}`).to.equal(true);
    }
  });

  it("rounding: twenty small reduces are no better than one reduce of the same size (funding off)", async function () {
    const run = async (pieces: number) => {
      const p = await deployProtocol();
      await p.engine.setMarketParams(ETH, ethParams({ fundingFactor: 0n }));
      await p.engine.connect(p.alice).deposit(usdc(10_000));
      await p.engine.connect(p.alice).trade(ETH, wad("3.333333333333333333"), BUY, 0, false);
      const piece = wad("3.333333333333333333") / BigInt(pieces);
      for (let i = 1; i < pieces; i++) await p.engine.connect(p.alice).trade(ETH, -piece, SELL, 0, false);
      const rest = (await p.engine.getPosition(p.alice, ETH)).size; // the last piece takes the division's dust
      await p.engine.connect(p.alice).trade(ETH, -rest, SELL, 0, false);
      return balanceOf(p, p.alice);
    };
    const one = await run(1);
    const many = await run(20);
    expect(many <= one, `many ${many} one ${one}`).to.equal(true);
  });

  it("a liquidation moves no tokens", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1_000));
    await p.engine.connect(p.alice).trade(ETH, wad(5), BUY, wad(1_000), true);
    await setEth(p, wad(1500));
    const held = await p.usdc.balanceOf(p.engine);
    await p.engine.connect(p.keeper).liquidate(p.alice, ETH, []);
    expect(await p.usdc.balanceOf(p.engine)).to.equal(held);
  });
});
