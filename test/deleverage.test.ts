import { expect } from "chai";

import { math as m } from "@perp/sdk";
import { deployProtocol, ETH, ethParams, usdc, wad } from "../scripts/lib/fixture.js";
import { networkHelpers } from "../scripts/lib/network.js";

describe("auto-deleveraging", function () {
  async function winning() {
    const p = await deployProtocol();
    await p.engine.setMarketParams(ETH, ethParams({ maxPnlFactor: wad("0.1") }));
    await p.engine.connect(p.alice).deposit(usdc(100_000));
    await p.engine.connect(p.bob).deposit(usdc(100_000));
    await p.engine.connect(p.alice).trade(ETH, wad(500), wad(1e9), 0, false); // cross long
    await p.engine.connect(p.bob).trade(ETH, wad(-100), 0, wad(20_000), true); // isolated short
    return p;
  }

  it("is refused while traders' profit is within maxPnlFactor * NAV", async function () {
    const p = await networkHelpers.loadFixture(winning);
    await expect(p.engine.autoDeleverage(p.alice, ETH, [])).to.be.revertedWithCustomError(p.engine, "DeleverageNotNeeded");
  });

  it("closes a profitable position at its close fill price with no fee and pays the profit in full", async function () {
    const p = await networkHelpers.loadFixture(winning);
    await p.eth.aggregator.setAnswer(2400_00000000n); // longs +$200k on net 400 ETH: > 10 % of a ~$400k NAV
    const pos = await p.engine.getPosition(p.alice, ETH);
    const [balanceBefore] = await p.engine.getAccount(p.alice);
    const tx = p.engine.connect(p.keeper).autoDeleverage(p.alice, ETH, []);
    await expect(tx).to.emit(p.engine, "AutoDeleveraged");
    const receipt = await (await tx).wait();
    const closed = receipt!.logs
      .map((l) => p.engine.interface.parseLog(l))
      .find((e) => e?.name === "PositionClosedAtIndex")!.args;
    // Selling 500 ETH into a skew of +400: fill = 2400 * (1 + (800 - 500) / 2e6) = 2400.36.
    const fill = m.fillPrice(wad(2400), wad(400), -pos.size, wad(1_000_000));
    expect(fill).to.equal(wad("2400.36"));
    expect(closed.price).to.equal(fill);
    expect(closed.realizedPnl).to.equal(m.pnlDown(pos.size, pos.entryPrice, fill));
    const [balanceAfter, markets] = await p.engine.getAccount(p.alice);
    expect(balanceAfter - balanceBefore).to.equal(closed.realizedPnl - closed.fundingPaid);
    expect(markets).to.equal(0n);
    expect((await p.engine.getPosition(p.alice, ETH)).size).to.equal(0n);
  });

  it("never deleverages a losing position, nor a liquidatable one (it is liquidated instead)", async function () {
    const p = await networkHelpers.loadFixture(winning);
    // +3 %: Bob's isolated short loses $6,000 of its $20,000 margin, still healthy.
    await p.eth.aggregator.setAnswer(2060_00000000n);
    await p.engine.setMarketParams(ETH, ethParams({ maxPnlFactor: wad("0.01") }));
    await expect(p.engine.autoDeleverage(p.bob, ETH, [])).to.be.revertedWithCustomError(p.engine, "PositionNotProfitable");
    await p.eth.aggregator.setAnswer(2400_00000000n); // Bob's short is now far below maintenance
    await expect(p.engine.autoDeleverage(p.bob, ETH, [])).to.be.revertedWithCustomError(p.engine, "AccountLiquidatable");
    await expect(p.engine.autoDeleverage(p.carol, ETH, []))
      .to.be.revertedWithCustomError(p.engine, "NoPosition")
      .withArgs(p.carol.address, ETH);
  });
});
