import { expect } from "chai";

import {
  PerpClient,
  PerpContractError,
  autoDeleverage,
  deposit,
  eventsNamed,
  getAccount,
  getDeleverageStatus,
  getLpPosition,
  tokenUnits,
} from "@perp/sdk";
import { DAY, deployProtocol, ETH, ethParams, usdc, wad } from "../../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../../scripts/lib/network.js";

describe("SDK actions (viem style: action(client, parameters))", function () {
  it("an action and the client's method are the same call", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const client = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    await deposit(client, { amount: tokenUnits("250.5") });
    await client.deposit("49.5");
    const account = await getAccount(client, {});
    expect(account.crossBalance).to.equal(wad(300));
    expect(account).to.deep.equal(await client.account());
  });

  it("getLpPosition tells when the LP's cooldown ends, and that nothing is withdrawable before", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const lp = await PerpClient.connect({ runner: p.lp, deployment: p.deployment });
    const [deposited] = await p.vault.queryFilter(p.vault.filters.Deposit(undefined, p.lp.address));
    const depositedAt = BigInt((await deposited.getBlock()).timestamp);
    const latestBlock = (await ethers.provider.getBlock("latest"))!;
    const latest = BigInt(latestBlock.timestamp);
    const before = await lp.lpPosition();
    expect(before).to.deep.equal({
      shares: usdc(500_000) * 10n ** 6n, // a first deposit mints 10^6 shares per token unit (decimals offset 6)
      assets: usdc(500_000),
      maxWithdraw: 0n,
      cooldownEndsAt: depositedAt + DAY,
      locked: true,
      secondsLeft: depositedAt + DAY - latest,
      cooldown: DAY,
      blockNumber: latestBlock.number,
    });
    await networkHelpers.time.increaseTo(depositedAt + DAY);
    const after = await getLpPosition(lp, {});
    expect([after.locked, after.secondsLeft, after.maxWithdraw]).to.deep.equal([false, 0n, usdc(500_000)]);
    // An account that never deposited: no cooldown.
    expect(await getLpPosition(lp, { account: p.carol.address })).to.deep.include({ shares: 0n, cooldownEndsAt: 0n, locked: false });
  });

  describe("auto-deleveraging", function () {
    // Funding off, so that traders' claim and the NAV do not move with time: the mirror and the engine are compared
    // at different blocks.
    async function winning() {
      const p = await deployProtocol();
      await p.engine.setMarketParams(ETH, ethParams({ maxPnlFactor: wad("0.1"), fundingFactor: 0n }));
      await p.engine.connect(p.alice).deposit(usdc(100_000));
      await p.engine.connect(p.bob).deposit(usdc(100_000));
      await p.engine.connect(p.alice).trade(ETH, wad(500), wad(1e9), 0, false); // cross long
      await p.engine.connect(p.bob).trade(ETH, wad(-100), 0, wad(60_000), true); // isolated short, margin enough to stay unliquidatable at $2,400 (a liquidatable unit is refused first: AccountLiquidatable)
      const keeper = await PerpClient.connect({ runner: p.keeper, deployment: p.deployment });
      return { ...p, client: keeper };
    }

    it("reports the engine's check within the limit, and the SDK call is refused with its numbers", async function () {
      const p = await networkHelpers.loadFixture(winning);
      const status = await getDeleverageStatus(p.client, { market: "ETH-USD" });
      expect(status.needed).to.equal(false);
      expect(status.tradersProfit < status.limit).to.equal(true);
      const nonce = await p.keeper.getNonce();
      const error = await autoDeleverage(p.client, { trader: p.alice.address, market: "ETH" }).then(
        () => expect.fail("should be refused"),
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(PerpContractError);
      expect((error as PerpContractError).errorName).to.equal("DeleverageNotNeeded");
      expect((error as PerpContractError).args).to.deep.equal({ tradersProfit: status.tradersProfit, limit: status.limit });
      expect(await p.keeper.getNonce()).to.equal(nonce); // refused at estimation: nothing sent
    });

    it("mirrors the check exactly above the limit, and deleverages the profitable position", async function () {
      const p = await networkHelpers.loadFixture(winning);
      await p.eth.aggregator.setAnswer(2400_00000000n);
      const status = await p.client.deleverageStatus("eth");
      expect(status.needed).to.equal(true);
      await expect(p.client.autoDeleverage(p.bob.address, "ETH-USD")).to.be.rejectedWith(
        PerpContractError,
        /^PositionNotProfitable: the position's value -[\d,]+\.\d\d USD is not positive$/,
      );
      const receipt = await p.client.autoDeleverage(p.alice.address, "ETH-USD");
      const [event] = eventsNamed(p.client.events(receipt), "AutoDeleveraged");
      expect(event).to.deep.include({ trader: p.alice.address, marketId: ETH, tradersProfit: status.tradersProfit, limit: status.limit });
      expect((await p.engine.getPosition(p.alice, ETH)).size).to.equal(0n);
    });
  });
});
