import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";

import { math as m } from "@perp/sdk";
import { DAY, deployProtocol, ETH, ethParams, lpDeposit, usdc, wad, WAD, type Protocol } from "../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../scripts/lib/network.js";

const FEE = 500_000n; // default keeper fee, 0.5 USDC
const SETTLE_DELAY = 60n;
const CANCEL_DELAY = 3600n;
const OFFSET = 10n ** 6n; // virtual shares of the decimals offset

/** Shares the vault gives for `assets` at its current NAV and supply (OpenZeppelin's formula, rounded down). */
async function sharesFor(p: Protocol, assets: bigint) {
  return (assets * ((await p.vault.totalSupply()) + OFFSET)) / ((await p.vault.totalAssets()) + 1n);
}

/** The block time and gas of a mined transaction. */
async function requestedAt(tx: Promise<ContractTransactionResponse>) {
  const receipt = (await (await tx).wait())!;
  return { at: BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp), gas: receipt.gasUsed };
}

describe("LP vault (ERC-4626 + ERC-7540 requests)", function () {
  it("fixture: the LP's settled deposit minted shares with a 6-decimal offset and moved the cash to the engine", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    expect(await p.vault.balanceOf(p.lp)).to.equal(usdc(500_000) * 10n ** 6n);
    expect(await p.vault.decimals()).to.equal(12n);
    expect(await p.vault.totalAssets()).to.equal(usdc(500_000));
    expect(await p.usdc.balanceOf(p.vault)).to.equal(0n);
    expect(await p.usdc.balanceOf(p.lp)).to.equal(usdc(9_500_000)); // the LP settled itself: its fee came back
    expect(await p.engine.vaultCash()).to.equal(wad(500_000));
    expect(await p.vault.lpSettleDelay()).to.equal(SETTLE_DELAY);
    expect(await p.vault.lpKeeperFee()).to.equal(FEE);
    expect(await p.vault.supportsInterface("0xce3bbe50")).to.equal(true); // ERC-7540 async deposit
    expect(await p.vault.supportsInterface("0x620ee8e4")).to.equal(true); // ERC-7540 async redeem
    expect(await p.vault.supportsInterface("0xffffffff")).to.equal(false);
  });

  it("deposit: request escrows assets + fee, a keeper settles after the delay at the NAV then, the controller claims", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const assets = usdc(1000);
    const req = p.vault.connect(p.carol).requestDeposit(assets, p.carol, p.carol);
    await expect(req).to.emit(p.vault, "DepositRequest").withArgs(p.carol.address, p.carol.address, 0n, p.carol.address, assets);
    const { at, gas: requestGas } = await requestedAt(req);
    expect(await p.usdc.balanceOf(p.vault)).to.equal(assets + FEE);
    expect(await p.usdc.balanceOf(p.carol)).to.equal(usdc(10_000_000) - assets - FEE);
    expect(await p.vault.pendingDepositRequest(0, p.carol)).to.equal(assets);
    expect(await p.vault.claimableDepositRequest(0, p.carol)).to.equal(0n);
    expect(await p.engine.vaultCash()).to.equal(wad(500_000)); // not engine cash until settled
    const pending = await p.vault.pendingDeposit(p.carol);
    expect([pending.amount, pending.fee, pending.requestedAt]).to.deep.equal([assets, FEE, at]);

    await networkHelpers.time.setNextBlockTimestamp(at + SETTLE_DELAY - 1n);
    await expect(p.vault.connect(p.keeper).settleDeposit(p.carol))
      .to.be.revertedWithCustomError(p.vault, "SettleTooEarly")
      .withArgs(p.carol.address, at + SETTLE_DELAY);
    await networkHelpers.time.setNextBlockTimestamp(at + SETTLE_DELAY);
    const shares = await sharesFor(p, assets);
    const settle = p.vault.connect(p.keeper).settleDeposit(p.carol);
    await expect(settle)
      .to.emit(p.vault, "DepositSettled")
      .withArgs(p.carol.address, p.keeper.address, assets, shares, FEE)
      .and.to.emit(p.engine, "VaultCashDeposited")
      .withArgs(assets);
    const settleGas = (await (await settle).wait())!.gasUsed;
    expect(await p.usdc.balanceOf(p.keeper)).to.equal(usdc(10_000_000) + FEE);
    expect(await p.usdc.balanceOf(p.vault)).to.equal(0n);
    expect(await p.engine.vaultCash()).to.equal(wad(501_000));
    expect(await p.vault.balanceOf(p.vault)).to.equal(shares); // minted at settle, held until claimed
    expect(await p.vault.pendingDepositRequest(0, p.carol)).to.equal(0n);
    expect(await p.vault.claimableDepositRequest(0, p.carol)).to.equal(assets);
    expect(await p.vault.maxDeposit(p.carol)).to.equal(assets);
    expect(await p.vault.maxMint(p.carol)).to.equal(shares);

    // Claims: part by `mint` (assets consumed rounded up), the rest by `deposit`.
    const half = shares / 2n;
    const halfAssets = (assets * half + shares - 1n) / shares;
    await expect(p.vault.connect(p.carol)["mint(uint256,address,address)"](half, p.carol, p.carol))
      .to.emit(p.vault, "Deposit")
      .withArgs(p.carol.address, p.carol.address, halfAssets, half);
    await expect(p.vault.connect(p.carol)["deposit(uint256,address,address)"](assets - halfAssets + 1n, p.carol, p.carol))
      .to.be.revertedWithCustomError(p.vault, "ExceedsClaimable")
      .withArgs(p.carol.address, assets - halfAssets + 1n, assets - halfAssets);
    const claim = p.vault.connect(p.carol)["deposit(uint256,address)"](assets - halfAssets, p.carol);
    await expect(claim).to.emit(p.vault, "Deposit").withArgs(p.carol.address, p.carol.address, assets - halfAssets, shares - half);
    const claimGas = (await (await claim).wait())!.gasUsed;
    expect(await p.vault.balanceOf(p.carol)).to.equal(shares);
    expect(await p.vault.balanceOf(p.vault)).to.equal(0n);
    expect(await p.vault.lastDepositAt(p.carol)).to.equal(BigInt(await networkHelpers.time.latest()));
    console.log(`      gas: requestDeposit ${requestGas}, settleDeposit ${settleGas}, claim deposit ${claimGas}`);
  });

  it("redeem: request locks the shares and the fee, settles at the NAV then, claims pay any receiver", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await lpDeposit(p.vault, p.carol, usdc(1000));
    const shares = await p.vault.balanceOf(p.carol);
    const unlocksAt = (await p.vault.lastDepositAt(p.carol)) + DAY;
    await expect(p.vault.connect(p.carol).requestRedeem(shares, p.carol, p.carol))
      .to.be.revertedWithCustomError(p.vault, "SharesLocked")
      .withArgs(p.carol.address, unlocksAt);
    await networkHelpers.time.increaseTo(unlocksAt);
    const req = p.vault.connect(p.carol).requestRedeem(shares, p.carol, p.carol);
    await expect(req).to.emit(p.vault, "RedeemRequest").withArgs(p.carol.address, p.carol.address, 0n, p.carol.address, shares);
    const { at, gas: requestGas } = await requestedAt(req);
    expect(await p.vault.balanceOf(p.carol)).to.equal(0n);
    expect(await p.vault.balanceOf(p.vault)).to.equal(shares);
    expect(await p.usdc.balanceOf(p.vault)).to.equal(FEE);
    expect(await p.vault.pendingRedeemRequest(0, p.carol)).to.equal(shares);
    await expect(p.vault.connect(p.carol).requestRedeem(1n, p.carol, p.carol))
      .to.be.revertedWithCustomError(p.vault, "RequestPending")
      .withArgs(p.carol.address, at);
    await networkHelpers.time.setNextBlockTimestamp(at + SETTLE_DELAY);
    const assets = await p.vault.convertToAssets(shares);
    expect(assets).to.equal(usdc(1000));
    const settle = p.vault.connect(p.keeper).settleRedeem(p.carol);
    await expect(settle)
      .to.emit(p.vault, "RedeemSettled")
      .withArgs(p.carol.address, p.keeper.address, shares, assets, FEE)
      .and.to.emit(p.engine, "VaultCashWithdrawn")
      .withArgs(await p.vault.getAddress(), assets);
    const settleGas = (await (await settle).wait())!.gasUsed;
    expect(await p.vault.totalSupply()).to.equal(usdc(500_000) * 10n ** 6n);
    expect(await p.vault.claimableRedeemRequest(0, p.carol)).to.equal(shares);
    await expect(p.vault.connect(p.dave).redeem(shares, p.dave, p.carol))
      .to.be.revertedWithCustomError(p.vault, "NotController")
      .withArgs(p.dave.address, p.carol.address, p.carol.address);
    await p.vault.connect(p.carol).withdraw(usdc(400), p.dave, p.carol);
    const claim = p.vault.connect(p.carol).redeem((await p.vault.claimableRedeem(p.carol)).shares, p.dave, p.carol);
    await expect(claim).to.emit(p.vault, "Withdraw");
    const claimGas = (await (await claim).wait())!.gasUsed;
    expect(await p.usdc.balanceOf(p.dave)).to.equal(usdc(10_000_000) + usdc(1000));
    expect(await p.usdc.balanceOf(p.vault)).to.equal(0n);
    console.log(`      gas: requestRedeem ${requestGas}, settleRedeem ${settleGas}, claim redeem ${claimGas}`);
  });

  it("bad inputs: zero, for someone else, twice, nothing pending, nothing claimable", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const v = p.vault.connect(p.carol);
    await expect(v.requestDeposit(0, p.carol, p.carol)).to.be.revertedWithCustomError(p.vault, "ZeroAmount");
    await expect(v.requestRedeem(0, p.carol, p.carol)).to.be.revertedWithCustomError(p.vault, "ZeroAmount");
    // A request for another controller would let anyone restart its cooldown or delay.
    await expect(v.requestDeposit(usdc(1), p.lp, p.carol))
      .to.be.revertedWithCustomError(p.vault, "NotController")
      .withArgs(p.carol.address, p.lp.address, p.carol.address);
    await expect(v.requestDeposit(usdc(1), p.carol, p.lp))
      .to.be.revertedWithCustomError(p.vault, "NotController")
      .withArgs(p.carol.address, p.carol.address, p.lp.address);
    await expect(v["deposit(uint256,address)"](usdc(1), p.lp))
      .to.be.revertedWithCustomError(p.vault, "DepositForAnotherAccount")
      .withArgs(p.carol.address, p.lp.address);
    await expect(v.settleDeposit(p.dave)).to.be.revertedWithCustomError(p.vault, "NoPendingRequest").withArgs(p.dave.address);
    await expect(v.settleRedeem(p.dave)).to.be.revertedWithCustomError(p.vault, "NoPendingRequest").withArgs(p.dave.address);
    await expect(v.cancelDepositRequest(p.carol)).to.be.revertedWithCustomError(p.vault, "NoPendingRequest").withArgs(p.carol.address);
    // The synchronous ERC-4626 entry points are claims: with nothing settled there is nothing to take.
    await expect(v["deposit(uint256,address)"](usdc(1), p.carol))
      .to.be.revertedWithCustomError(p.vault, "ExceedsClaimable")
      .withArgs(p.carol.address, usdc(1), 0n);
    await expect(v["mint(uint256,address)"](1n, p.carol))
      .to.be.revertedWithCustomError(p.vault, "ExceedsClaimable")
      .withArgs(p.carol.address, 1n, 0n);
    await expect(p.vault.connect(p.lp).redeem(1n, p.lp, p.lp))
      .to.be.revertedWithCustomError(p.vault, "ExceedsClaimable")
      .withArgs(p.lp.address, 1n, 0n);
    await expect(p.vault.connect(p.lp).withdraw(usdc(1), p.lp, p.lp))
      .to.be.revertedWithCustomError(p.vault, "ExceedsClaimable")
      .withArgs(p.lp.address, usdc(1), 0n);
    await expect(v["deposit(uint256,address)"](0, p.carol)).to.be.revertedWithCustomError(p.vault, "ZeroAmount");
    for (const preview of [p.vault.previewDeposit, p.vault.previewMint, p.vault.previewWithdraw, p.vault.previewRedeem]) {
      await expect(preview(1n)).to.be.revertedWithCustomError(p.vault, "UseRequestFlow");
    }
    await v.requestDeposit(usdc(1), p.carol, p.carol);
    const at = (await p.vault.pendingDeposit(p.carol)).requestedAt;
    await expect(v.requestDeposit(usdc(1), p.carol, p.carol))
      .to.be.revertedWithCustomError(p.vault, "RequestPending")
      .withArgs(p.carol.address, at);
  });

  it("cancel: the controller takes back assets or shares and the fee of a request still pending after 1 h", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.vault.connect(p.carol).requestDeposit(usdc(1000), p.carol, p.carol);
    const at = (await p.vault.pendingDeposit(p.carol)).requestedAt;
    await expect(p.vault.connect(p.dave).cancelDepositRequest(p.carol))
      .to.be.revertedWithCustomError(p.vault, "NotController")
      .withArgs(p.dave.address, p.carol.address, p.carol.address);
    await networkHelpers.time.setNextBlockTimestamp(at + CANCEL_DELAY - 1n);
    await expect(p.vault.connect(p.carol).cancelDepositRequest(p.carol))
      .to.be.revertedWithCustomError(p.vault, "CancelTooEarly")
      .withArgs(p.carol.address, at + CANCEL_DELAY);
    await networkHelpers.time.setNextBlockTimestamp(at + CANCEL_DELAY);
    await expect(p.vault.connect(p.carol).cancelDepositRequest(p.carol))
      .to.emit(p.vault, "DepositRequestCancelled")
      .withArgs(p.carol.address, usdc(1000), FEE);
    expect(await p.usdc.balanceOf(p.carol)).to.equal(usdc(10_000_000));
    expect(await p.vault.pendingDepositRequest(0, p.carol)).to.equal(0n);
    await expect(p.vault.connect(p.keeper).settleDeposit(p.carol)).to.be.revertedWithCustomError(p.vault, "NoPendingRequest");

    await networkHelpers.time.increase(DAY);
    const shares = await p.vault.balanceOf(p.lp);
    await p.vault.connect(p.lp).requestRedeem(shares / 4n, p.lp, p.lp);
    await networkHelpers.time.increase(CANCEL_DELAY);
    await expect(p.vault.connect(p.lp).cancelRedeemRequest(p.lp))
      .to.emit(p.vault, "RedeemRequestCancelled")
      .withArgs(p.lp.address, shares / 4n, FEE);
    expect(await p.vault.balanceOf(p.lp)).to.equal(shares);
    expect(await p.usdc.balanceOf(p.lp)).to.equal(usdc(9_500_000));
  });

  it("owner: settle delay within [30 s, 30 min], keeper fee up to 50 USDC, applied to new requests", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await expect(p.vault.connect(p.carol).setSettleDelay(120))
      .to.be.revertedWithCustomError(p.vault, "OwnableUnauthorizedAccount")
      .withArgs(p.carol.address);
    await expect(p.vault.setSettleDelay(29)).to.be.revertedWithCustomError(p.vault, "ParameterOutOfBounds").withArgs(29, 30, 1800);
    await expect(p.vault.setSettleDelay(1801)).to.be.revertedWithCustomError(p.vault, "ParameterOutOfBounds").withArgs(1801, 30, 1800);
    await expect(p.vault.setKeeperFee(usdc(50) + 1n))
      .to.be.revertedWithCustomError(p.vault, "ParameterOutOfBounds")
      .withArgs(usdc(50) + 1n, 0, usdc(50));
    await p.vault.connect(p.carol).requestDeposit(usdc(10), p.carol, p.carol); // escrows the old fee
    await expect(p.vault.setSettleDelay(120)).to.emit(p.vault, "SettleDelaySet").withArgs(120);
    await expect(p.vault.setKeeperFee(0)).to.emit(p.vault, "KeeperFeeSet").withArgs(0);
    const at = (await p.vault.pendingDeposit(p.carol)).requestedAt;
    await networkHelpers.time.setNextBlockTimestamp(at + 60n);
    await expect(p.vault.connect(p.keeper).settleDeposit(p.carol))
      .to.be.revertedWithCustomError(p.vault, "SettleTooEarly")
      .withArgs(p.carol.address, at + 120n);
    await networkHelpers.time.setNextBlockTimestamp(at + 120n);
    await expect(p.vault.connect(p.keeper).settleDeposit(p.carol)).to.emit(p.vault, "DepositSettled").withArgs(p.carol.address, p.keeper.address, usdc(10), anyValue, FEE);
    await p.vault.connect(p.dave).requestDeposit(usdc(10), p.dave, p.dave);
    expect((await p.vault.pendingDeposit(p.dave)).fee).to.equal(0n);
    expect(await p.usdc.balanceOf(p.vault)).to.equal(usdc(10));
  });

  it("NAV counts traders' unrealised PnL (at the close price) and funding", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(100_000));
    await p.engine.connect(p.alice).trade(ETH, wad(100), wad(1e9), 0, false);
    await p.eth.aggregator.setAnswer(2100_00000000n);
    const state = (await p.engine.getMarket(ETH)).state;
    const now = BigInt((await networkHelpers.time.latest()));
    const index = m.accruedFundingIndex(state.fundingIndex, state.fundingRatePerDay, wad(2100), now - state.lastFundingTime);
    const claim = m.tradersClaimUp(wad(2100), wad(100), wad(1_000_000), index, state.entryFundingSum);
    // The trader is up ~$10,000 (entry 2000.1, close fill 2100.105): the NAV is cash minus that claim, net of the
    // funding the long owes the vault.
    expect(claim > wad(9990) && claim < wad("10000.5")).to.equal(true);
    expect(await p.engine.vaultNav()).to.equal((await p.engine.vaultCash()) - claim);
    expect(await p.vault.totalAssets()).to.equal(((await p.engine.vaultCash()) - claim) / 10n ** 12n);
  });

  it("NAV keeps working on the last reported price when the oracle is stale", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(100_000));
    await p.engine.connect(p.alice).trade(ETH, wad(100), wad(1e9), 0, false);
    await networkHelpers.time.increase(2 * 3600);
    await expect(p.engine.indexPrice(ETH)).to.be.revertedWithCustomError(p.engine, "StaleOraclePrice");
    expect((await p.vault.totalAssets()) > 0n).to.equal(true);
    await p.eth.aggregator.setAnswer(0); // not even a valid answer: the last touched price is used
    expect((await p.vault.totalAssets()) > 0n).to.equal(true);
  });


  it("redemptions keep the cash the mark notional requires: limited at request, and at settle only what fits is settled", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.setMarketParams(ETH, ethParams({ fundingFactor: 0n })); // NAV constant in time
    await p.engine.connect(p.alice).deposit(usdc(1_000_000));
    await p.engine.connect(p.alice).trade(ETH, wad(2000), wad(1e9), 0, false); // ~$4,000,000 open
    await networkHelpers.time.increase(DAY);
    await p.eth.aggregator.setAnswer(2000_00000000n);
    await p.btc.aggregator.setAnswer(60_000_00000000n);
    expect(await p.engine.totalMarkNotional()).to.equal(wad(4_000_000));
    const required = m.mulWadUp(wad(4_000_000), wad("0.1"));
    const withdrawable = (await p.engine.vaultCash()) - required;
    expect(await p.engine.vaultWithdrawable()).to.equal(withdrawable);
    expect(await p.vault.maxWithdraw(p.lp)).to.equal(withdrawable / 10n ** 12n);
    const max = await p.vault.maxRedeem(p.lp);
    expect(max).to.equal(((withdrawable / 10n ** 12n) * ((await p.vault.totalSupply()) + OFFSET)) / ((await p.vault.totalAssets()) + 1n));
    await expect(p.vault.connect(p.lp).requestRedeem(max + 1n, p.lp, p.lp))
      .to.be.revertedWithCustomError(p.vault, "ExceedsRedeemable")
      .withArgs(p.lp.address, max + 1n, max);
    await p.vault.connect(p.lp).requestRedeem(max, p.lp, p.lp);
    // More open interest after the request: the backing binds at settle, so only the covered shares settle.
    await p.engine.connect(p.bob).deposit(usdc(1_000_000));
    await p.engine.connect(p.bob).trade(ETH, wad(200), wad(1e9), 0, false);
    await networkHelpers.time.increase(SETTLE_DELAY);
    const liquidity = (await p.engine.vaultWithdrawable()) / 10n ** 12n;
    const settled = await p.vault.convertToShares(liquidity);
    const paid = await p.vault.convertToAssets(settled);
    expect(settled < max).to.equal(true);
    await expect(p.vault.connect(p.keeper).settleRedeem(p.lp))
      .to.emit(p.vault, "RedeemSettled")
      .withArgs(p.lp.address, p.keeper.address, settled, paid, FEE);
    const left = await p.vault.pendingRedeem(p.lp);
    expect([left.amount, left.fee]).to.deep.equal([max - settled, 0n]);
    expect((await p.engine.vaultWithdrawable()) >= 0n).to.equal(true);
    expect(await lpRedeemClaim(p)).to.equal(paid);
    await expect(p.engine.connect(p.lp).vaultWithdraw(1, p.lp))
      .to.be.revertedWithCustomError(p.engine, "NotVault")
      .withArgs(p.lp.address);
  });

  it("deposit requests revert while the NAV is zero", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1_000_000));
    await p.engine.connect(p.alice).trade(ETH, wad(2400), wad(1e9), 0, false);
    await p.eth.aggregator.setAnswer(3000_00000000n); // +$2.4M for the trader against $500k of vault cash
    expect(await p.vault.totalAssets()).to.equal(0n);
    await expect(p.vault.connect(p.carol).requestDeposit(usdc(1000), p.carol, p.carol))
      .to.be.revertedWithCustomError(p.vault, "DepositsClosed")
      .withArgs(0n, await p.vault.totalSupply());
  });

  it("a donation cannot inflate the share price: the engine's ledger, not its balance, is the NAV", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const navBefore = await p.vault.totalAssets();
    await p.usdc.connect(p.carol).transfer(p.vault, usdc(1_000_000));
    await p.usdc.connect(p.carol).transfer(p.engine, usdc(1_000_000));
    expect(await p.vault.totalAssets()).to.equal(navBefore);
    const shares = await p.vault.convertToShares(usdc(1000));
    expect(shares).to.equal((usdc(1000) * (await p.vault.totalSupply() + 10n ** 6n)) / (navBefore + 1n));
    expect(await lpDeposit(p.vault, p.dave, usdc(1000))).to.equal(shares);
  });

  it("first depositor: 1 unit then a large deposit rounds fairly thanks to virtual shares", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await lpDeposit(p.vault, p.carol, 1n);
    const supply = await p.vault.totalSupply();
    const assets = await p.vault.totalAssets();
    const shares = await p.vault.convertToShares(usdc(10_000));
    expect(shares).to.equal((usdc(10_000) * (supply + 10n ** 6n)) / (assets + 1n));
    expect((await p.vault.convertToAssets(shares)) >= usdc(10_000) - 1n).to.equal(true);
    expect(WAD).to.equal(10n ** 18n);
  });

  describe("attack review", function () {
    it("RT-01b: an LP depositing right before a price move it knows about gains nothing: the settle NAV has the move", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.setMarketParams(ETH, ethParams({ fundingFactor: 0n }));
      await p.engine.connect(p.alice).deposit(usdc(1_000_000));
      await p.engine.connect(p.alice).trade(ETH, wad(2400), wad(1e9), 0, false); // traders net long ~$4.8M
      const assets = usdc(500_000);
      // Carol knows ETH is about to fall 1 % (good for the vault) and asks to deposit at today's NAV.
      const sharesAtRequestNav = await p.vault.convertToShares(assets);
      await p.vault.connect(p.carol).requestDeposit(assets, p.carol, p.carol);
      await p.eth.aggregator.setAnswer(1980_00000000n); // the move, published after the request
      await networkHelpers.time.increase(SETTLE_DELAY);
      const navAtSettle = await p.vault.totalAssets();
      const shares = await sharesFor(p, assets);
      await expect(p.vault.connect(p.keeper).settleDeposit(p.carol))
        .to.emit(p.vault, "DepositSettled")
        .withArgs(p.carol.address, p.keeper.address, assets, shares, FEE);
      await p.vault.connect(p.carol)["deposit(uint256,address)"](assets, p.carol);
      // Her stake is worth what she paid (rounded down in the vault's favour): no share of the move.
      const value = await p.vault.convertToAssets(shares);
      expect(value <= assets && value >= assets - 1n).to.equal(true);
      expect(await p.vault.totalAssets()).to.equal(navAtSettle + assets);
      // At the request-time NAV (the synchronous vault) she would have taken a slice of the traders' loss.
      const gainSync = (sharesAtRequestNav * (navAtSettle + assets + 1n)) / (await p.vault.totalSupply() - shares + sharesAtRequestNav + OFFSET) - assets;
      expect(gainSync > usdc(10_000)).to.equal(true);
    });

    it("RT-05: an LP exit requested before a liquidation settles at the NAV after it: the bad debt is shared", async function () {
      const p = await networkHelpers.loadFixture(deployProtocol);
      await p.engine.setMarketParams(ETH, ethParams({ fundingFactor: 0n }));
      await lpDeposit(p.vault, p.carol, usdc(500_000));
      await networkHelpers.time.increase(DAY);
      await p.eth.aggregator.setAnswer(2000_00000000n);
      await p.btc.aggregator.setAnswer(60_000_00000000n);
      await p.engine.connect(p.alice).deposit(usdc(21_000));
      await p.engine.connect(p.alice).trade(ETH, wad(500), wad(1e9), wad(20_000), true); // $1M at 50x, isolated
      await p.eth.aggregator.setAnswer(1800_00000000n); // -10 %: a ~$100k loss on $20k of margin
      const shares = await p.vault.balanceOf(p.carol);
      const valueAtRequest = await p.vault.convertToAssets(shares); // counts the whole loss as vault income
      await p.vault.connect(p.carol).requestRedeem(shares, p.carol, p.carol);
      await p.engine.connect(p.keeper).liquidate(p.alice, ETH, []); // within the settle delay
      await networkHelpers.time.increase(SETTLE_DELAY);
      const valueAtSettle = await p.vault.convertToAssets(shares);
      expect(valueAtRequest - valueAtSettle > usdc(30_000)).to.equal(true); // half the bad debt, roughly
      await expect(p.vault.connect(p.keeper).settleRedeem(p.carol))
        .to.emit(p.vault, "RedeemSettled")
        .withArgs(p.carol.address, p.keeper.address, shares, valueAtSettle, FEE);
      // The LP who stays holds the same value per share as the one who left.
      const lpValue = await p.vault.convertToAssets(await p.vault.balanceOf(p.lp));
      expect(lpValue - valueAtSettle <= 2n && valueAtSettle - lpValue <= 2n).to.equal(true);
    });
  });
});

/** Claims the LP's whole claimable redemption to itself; returns the assets. */
async function lpRedeemClaim(p: Protocol) {
  const c = await p.vault.claimableRedeem(p.lp);
  await p.vault.connect(p.lp).redeem(c.shares, p.lp, p.lp);
  return c.assets;
}
