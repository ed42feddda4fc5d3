import { expect } from "chai";

import { CROSS, MAX_BATCH, MAX_CROSS_POSITIONS, MAX_UINT256, TOKEN_TO_WAD, UNBOUNDED_LEVERAGE, WAD } from "@perp/sdk";
import { deployProtocol, ETH, ORACLE_UNIT, usdc, wad } from "../../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../../scripts/lib/network.js";

describe("SDK constants", function () {
  it("equal the engine's own constants and sentinels", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    expect(await p.engine.CROSS()).to.equal(CROSS);
    expect(await p.engine.MAX_BATCH()).to.equal(BigInt(MAX_BATCH));
    expect(await p.engine.MAX_CROSS_POSITIONS()).to.equal(BigInt(MAX_CROSS_POSITIONS));
    expect(CROSS).to.equal(ethers.MaxUint256);
    expect(MAX_UINT256).to.equal(ethers.MaxUint256);
    expect(TOKEN_TO_WAD * usdc(1)).to.equal(WAD);
  });

  it("UNBOUNDED_LEVERAGE is what the engine reports for a unit whose equity is not positive", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(1000));
    await p.engine.connect(p.alice).trade(ETH, wad(5), wad(2100), wad(1000), true);
    await p.eth.aggregator.setAnswer(wad(1790) / ORACLE_UNIT); // 5 ETH x -$210: the $1,000 margin is gone
    const health = await p.engine.positionHealth(p.alice, ETH);
    expect(health.equity < 0n).to.equal(true);
    expect(health.leverage).to.equal(UNBOUNDED_LEVERAGE);
  });
});
