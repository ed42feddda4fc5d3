import { expect } from "chai";

import { FeeOnTransferToken__factory, LiquidityVault__factory } from "@perp/sdk/contracts";
import { deployEngine, deployProtocol, ETH, usdc, wad, type Protocol } from "../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../scripts/lib/network.js";

describe("collateral: deposit, depositWithPermit, withdraw", function () {
  it("credits the cross balance in WAD and emits Deposited", async function () {
    const { engine, usdc: token, alice } = await networkHelpers.loadFixture(deployProtocol);
    await expect(engine.connect(alice).deposit(usdc("1234.567891")))
      .to.emit(engine, "Deposited")
      .withArgs(alice.address, usdc("1234.567891"));
    const [balance, markets] = await engine.getAccount(alice);
    expect(balance).to.equal(wad("1234.567891"));
    expect(markets).to.equal(0n);
    expect(await token.balanceOf(engine)).to.equal(usdc(500_000) + usdc("1234.567891"));
  });

  it("rejects a zero deposit", async function () {
    const { engine, alice } = await networkHelpers.loadFixture(deployProtocol);
    await expect(engine.connect(alice).deposit(0)).to.be.revertedWithCustomError(engine, "ZeroAmount");
  });

  it("rejects a token that delivers less than asked (fee on transfer)", async function () {
    const [owner, alice] = await ethers.getSigners();
    const token = await new FeeOnTransferToken__factory(owner).deploy();
    const engine = await deployEngine(owner, await token.getAddress());
    await token.mint(alice, usdc(1000));
    await token.connect(alice).approve(engine, ethers.MaxUint256);
    await expect(engine.connect(alice).deposit(usdc(100)))
      .to.be.revertedWithCustomError(engine, "ShortTransfer")
      .withArgs(usdc(100), usdc(99));
    await expect(engine.connect(alice).fundInsurance(usdc(100)))
      .to.be.revertedWithCustomError(engine, "ShortTransfer")
      .withArgs(usdc(100), usdc(99));
    const vault = await new LiquidityVault__factory(owner).deploy(token, engine, 0, "LP", "LP");
    await engine.setVault(vault);
    await token.connect(alice).approve(vault, ethers.MaxUint256);
    // The request pulls the assets plus the 0.5 USDC keeper fee; the token keeps 1 %.
    await expect(vault.connect(alice).requestDeposit(usdc(100), alice, alice))
      .to.be.revertedWithCustomError(vault, "ShortTransfer")
      .withArgs(usdc("100.5"), usdc("99.495"));
  });

  /** Dave signs an EIP-2612 permit letting the engine spend `amount` of his USDC. */
  async function signPermit(p: Protocol, amount: bigint) {
    const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
    const domain = {
      name: await p.usdc.name(),
      version: "1",
      chainId: (await ethers.provider.getNetwork()).chainId,
      verifyingContract: await p.usdc.getAddress(),
    };
    const types = {
      Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    };
    const message = { owner: p.dave.address, spender: await p.engine.getAddress(), value: amount, nonce: await p.usdc.nonces(p.dave), deadline };
    return { deadline, signature: ethers.Signature.from(await p.dave.signTypedData(domain, types, message)) };
  }

  it("deposits with an EIP-2612 permit in one transaction, without a prior approval", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.usdc.connect(p.dave).approve(p.engine, 0);
    const { deadline, signature } = await signPermit(p, usdc(100));
    await p.engine.connect(p.dave).depositWithPermit(usdc(100), deadline, signature.v, signature.r, signature.s);
    expect(await p.usdc.nonces(p.dave)).to.equal(1n);
    expect((await p.engine.getAccount(p.dave))[0]).to.equal(wad(100));
  });

  it("still deposits if the permit was front-run (the allowance it set is used)", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.usdc.connect(p.dave).approve(p.engine, 0);
    const { deadline, signature } = await signPermit(p, usdc(250));
    await p.usdc.permit(p.dave.address, p.engine, usdc(250), deadline, signature.v, signature.r, signature.s);
    await expect(p.engine.connect(p.dave).depositWithPermit(usdc(250), deadline, signature.v, signature.r, signature.s))
      .to.emit(p.engine, "Deposited")
      .withArgs(p.dave.address, usdc(250));
    expect((await p.engine.getAccount(p.dave))[0]).to.equal(wad(250));
  });

  it("an invalid permit without allowance fails on the transfer, with the token's error", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.usdc.connect(p.dave).approve(p.engine, 0);
    const { deadline, signature } = await signPermit(p, usdc(100));
    await expect(
      p.engine.connect(p.dave).depositWithPermit(usdc(200), deadline, signature.v, signature.r, signature.s),
    ).to.be.revertedWithCustomError(p.usdc, "ERC20InsufficientAllowance");
    expect((await p.engine.getAccount(p.dave))[0]).to.equal(0n);
  });

  it("withdraws to another receiver and debits exactly", async function () {
    const { engine, usdc: token, alice, bob } = await networkHelpers.loadFixture(deployProtocol);
    await engine.connect(alice).deposit(usdc(1000));
    const before = await token.balanceOf(bob);
    await expect(engine.connect(alice).withdraw(usdc(400), bob, []))
      .to.emit(engine, "Withdrawn")
      .withArgs(alice.address, bob.address, usdc(400));
    expect(await token.balanceOf(bob)).to.equal(before + usdc(400));
    expect((await engine.getAccount(alice))[0]).to.equal(wad(600));
  });

  it("rejects a zero withdrawal and one above the balance", async function () {
    const { engine, alice } = await networkHelpers.loadFixture(deployProtocol);
    await engine.connect(alice).deposit(usdc(100));
    await expect(engine.connect(alice).withdraw(0, alice, [])).to.be.revertedWithCustomError(engine, "ZeroAmount");
    await expect(engine.connect(alice).withdraw(usdc("100.000001"), alice, []))
      .to.be.revertedWithCustomError(engine, "InsufficientCrossBalance")
      .withArgs(wad(100), wad("100.000001"));
  });

  it("withdrawing needs no price while no cross position is open", async function () {
    const { engine, eth, alice } = await networkHelpers.loadFixture(deployProtocol);
    await engine.connect(alice).deposit(usdc(100));
    await eth.aggregator.setAnswer(0); // ETH oracle broken
    await engine.connect(alice).withdraw(usdc(100), alice, []);
    expect((await engine.getAccount(alice))[0]).to.equal(0n);
  });

  it("keeps locked margin: cannot withdraw what backs cross positions", async function () {
    const { engine, alice, bob } = await networkHelpers.loadFixture(deployProtocol);
    await engine.connect(alice).deposit(usdc(1000));
    await engine.connect(bob).deposit(usdc(1000));
    // Bob's short first, so that Alice's long leaves the skew at zero: no funding accrues between blocks.
    await engine.connect(bob).trade(ETH, wad(-5), wad(1900), 0, false);
    await engine.connect(alice).trade(ETH, wad(5), wad(2100), 0, false);
    // Alice filled at 2000 * (1 - 2.5e-6) = 1999.995 and would close at the same price: her position is worth
    // 0 at close (+0.025 at the index, which a debit may not count). Fee: maker 0.02 % of 5 * 1999.995.
    const fee = wad("1.999995");
    const [balance] = await engine.getAccount(alice);
    expect(balance).to.equal(wad(1000) - fee);
    const health = await engine.crossAccountHealth(alice);
    expect(health.initialMargin).to.equal(wad(100)); // 1 % of 5 * 2000
    expect(health.equity).to.equal(balance + wad("0.025"));
    expect(health.equityAtClose).to.equal(balance);
    // Free collateral = balance - initial margin = 898.000005 USD: 898.000005 USDC may leave, one unit more may not.
    const free = usdc("898.000005");
    await expect(engine.connect(alice).withdraw(free + 1n, alice, []))
      .to.be.revertedWithCustomError(engine, "DebitBelowInitialMargin")
      .withArgs(wad(100) - 10n ** 12n, wad(100));
    await engine.connect(alice).withdraw(free, alice, []);
    expect((await engine.getAccount(alice))[0]).to.equal(wad(100));
  });
});

describe("collateral: insurance fund and vault hooks", function () {
  it("anyone can top up the insurance fund, in token units credited as WAD", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const before = await p.engine.insuranceFund();
    await expect(p.engine.connect(p.carol).fundInsurance(usdc("12.5")))
      .to.emit(p.engine, "InsuranceFunded")
      .withArgs(p.carol.address, usdc("12.5"));
    expect(await p.engine.insuranceFund()).to.equal(before + wad("12.5"));
    await expect(p.engine.connect(p.carol).fundInsurance(0)).to.be.revertedWithCustomError(p.engine, "ZeroAmount");
  });

  it("only the vault may move vault cash", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await expect(p.engine.connect(p.alice).vaultDeposit(usdc(1)))
      .to.be.revertedWithCustomError(p.engine, "NotVault")
      .withArgs(p.alice.address);
  });

  it("a withdrawal is refused while the cross account is liquidatable, even of a small amount", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1000));
    await p.engine.connect(p.alice).trade(ETH, wad(40), wad(1e9), 0, false); // ~80x
    await p.eth.aggregator.setAnswer(1950_00000000n);
    const health = await p.engine.crossAccountHealth(p.alice);
    expect(health.liquidatable).to.equal(true);
    // Equity keeps moving with funding between the view and the transaction's block; maintenance does not.
    await expect(p.engine.connect(p.alice).withdraw(1, p.alice, []))
      .to.be.revertedWithCustomError(p.engine, "AccountLiquidatable")
      .withArgs(p.alice.address, (equity: bigint) => equity <= health.equityAtClose, health.maintenanceMargin);
  });
});
