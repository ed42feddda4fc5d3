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
    await expect(p.engine.autoDeleverage(p.alice, ETH)).to.be.revertedWithCustomError(p.engine, "DeleverageNotNeeded");
  });

  it("closes a profitable position at the index price with no fee and pays the profit in full", async function () {
    const p = await networkHelpers.loadFixture(winning);
    await p.eth.aggregator.setAnswer(2400_00000000n); // longs +$200k on net 400 ETH: > 10 % of a ~$400k NAV
    const pos = await p.engine.getPosition(p.alice, ETH);
    const [balanceBefore] = await p.engine.getAccount(p.alice);
    const tx = p.engine.connect(p.keeper).autoDeleverage(p.alice, ETH);
    await expect(tx).to.emit(p.engine, "AutoDeleveraged");
    const receipt = await (await tx).wait();
    const closed = receipt!.logs
      .map((l) => p.engine.interface.parseLog(l))
      .find((e) => e?.name === "PositionClosedAtIndex")!.args;
    expect(closed.price).to.equal(wad(2400));
    expect(closed.realizedPnl).to.equal(m.pnlDown(pos.size, pos.entryPrice, wad(2400)));
    const [balanceAfter, markets] = await p.engine.getAccount(p.alice);
    expect(balanceAfter - balanceBefore).to.equal(closed.realizedPnl - closed.fundingPaid);
    expect(markets).to.equal(0n);
    expect((await p.engine.getPosition(p.alice, ETH)).size).to.equal(0n);
  });

  it("never deleverages a losing position", async function () {
    const p = await networkHelpers.loadFixture(winning);
    await p.eth.aggregator.setAnswer(2400_00000000n);
    await expect(p.engine.autoDeleverage(p.bob, ETH)).to.be.revertedWithCustomError(p.engine, "PositionNotProfitable");
    await expect(p.engine.autoDeleverage(p.carol, ETH))
      .to.be.revertedWithCustomError(p.engine, "NoPosition")
      .withArgs(p.carol.address, ETH);
  });
});
