/**
 * The SDK's margin-change quote against the engine (the quoted liquidation price is the `liquidationPrice` view after
 * the change, to the wei, for an add and a removal on an isolated long and short with funding accruing; each
 * removal rule's rejection is the decoded revert's sentence), and the account's history read from the chain's events.
 */
import { expect } from "chai";
import type { Signer } from "ethers";

import { PerpClient, PerpContractError, quoteMarginChange, type MarginChangeQuote } from "@perp/sdk";
import { BTC, ETH, deployProtocol, usdc, wad, type Protocol } from "../../scripts/lib/fixture.js";
import { networkHelpers } from "../../scripts/lib/network.js";

const BUY_ANY = wad(1e9);

/** Alice: isolated ETH long; Bob: isolated BTC short; Carol's cross positions skew both markets, so funding accrues. */
async function opened() {
  const p = await deployProtocol();
  for (const trader of [p.alice, p.bob, p.carol]) await p.engine.connect(trader).deposit(usdc(100_000));
  await p.engine.connect(p.alice).trade(ETH, wad(5), BUY_ANY, wad(1_000), true);
  await p.engine.connect(p.bob).trade(BTC, wad("-0.5"), 0, wad(3_000), true);
  await p.engine.connect(p.carol).trade(ETH, wad(20), BUY_ANY, 0, false);
  await p.engine.connect(p.carol).trade(BTC, wad(-2), 0, 0, false);
  await networkHelpers.time.increase(6 * 3600);
  // Fresh answers at the same prices (the feeds' heartbeat is an hour).
  await p.eth.aggregator.setAnswer(2_000_00000000n);
  await p.btc.aggregator.setAnswer(60_000_00000000n);
  return p;
}

/** Pins the change's block time to the one the quote assumed, sends it, and checks the engine at that block. */
async function expectEngineMatches(
  p: Protocol,
  signer: Signer,
  marketId: bigint,
  q: MarginChangeQuote,
  at: bigint,
  send: () => Promise<{ blockNumber: number }>,
) {
  await networkHelpers.time.setNextBlockTimestamp(at);
  const receipt = await send();
  const trader = await signer.getAddress();
  const tag = { blockTag: receipt.blockNumber };
  const health = await p.engine.positionHealth(trader, marketId, tag);
  expect({
    liquidationPrice: await p.engine.liquidationPrice(trader, marketId, tag),
    margin: (await p.engine.getPosition(trader, marketId, tag)).margin,
    crossBalance: (await p.engine.getAccount(trader, tag))[0],
    equity: health.equity,
    maintenanceMargin: health.maintenanceMargin,
  }).to.deep.equal({
    liquidationPrice: q.liquidationPrice,
    margin: q.margin,
    crossBalance: q.crossBalance,
    equity: q.health.equity,
    maintenanceMargin: q.health.maintenanceMargin,
  });
}

describe("SDK quoteMarginChange: the preview is what the engine does", function () {
  const cases: Array<[string, "alice" | "bob", bigint, "add" | "remove", string]> = [
    ["adding to an isolated long", "alice", ETH, "add", "250"],
    ["removing from an isolated long", "alice", ETH, "remove", "300"],
    ["adding to an isolated short", "bob", BTC, "add", "400"],
    ["removing from an isolated short", "bob", BTC, "remove", "900"],
  ];
  for (const [name, who, marketId, action, amount] of cases) {
    it(`${name}: the new liquidation price equals the engine's view after the change, to the wei`, async function () {
      const p = await networkHelpers.loadFixture(opened);
      const signer = p[who];
      const client = await PerpClient.connect({ runner: signer, deployment: p.deployment });
      const snap = await client.snapshot();
      // The change executes a minute after the snapshot: funding accrues over it, and the quote is told so.
      const at = snap.now + 60n;
      const q = quoteMarginChange(snap, { market: Number(marketId), action, amount, now: at });
      expect(q.rejection).to.equal(undefined);
      expect(q.margin - q.marginBefore).to.equal(action === "add" ? wad(amount) : -wad(amount));
      // More margin moves the liquidation price away from the index, less brings it closer.
      const long = who === "alice";
      expect(q.liquidationPrice > q.liquidationPriceBefore).to.equal(long === (action === "remove"));
      expect(q.leverage < q.leverageBefore).to.equal(action === "add");
      await expectEngineMatches(p, signer, marketId, q, at, () =>
        action === "add" ? client.addMargin(Number(marketId), amount) : client.removeMargin(Number(marketId), amount),
      );
    });
  }

  it("a removal priced at the index the chain will read: the preview from a snapshot taken before the price moved matches", async function () {
    const p = await networkHelpers.loadFixture(opened);
    const client = await PerpClient.connect({ runner: p.bob, deployment: p.deployment });
    const snap = await client.snapshot();
    await p.btc.aggregator.setAnswer(61_500_00000000n);
    const at = snap.now + 30n;
    const stale = quoteMarginChange(snap, { market: "BTC", action: "remove", amount: "500", now: at });
    const q = quoteMarginChange(snap, { market: "BTC", action: "remove", amount: "500", now: at, price: "61500" });
    // The liquidation price is searched over prices, so it does not depend on the index; its distance and the
    // position's equity do, and a preview must show them at the price the chain will use.
    expect(stale.liquidationPrice).to.equal(q.liquidationPrice);
    expect(stale.liquidationDistance).to.not.equal(q.liquidationDistance);
    expect(stale.health.equity > q.health.equity).to.equal(true);
    await expectEngineMatches(p, p.bob, BTC, q, at, () => client.removeMargin("BTC", "500"));
  });

  describe("rejections, in the words of the engine's revert", function () {
    /** Funding off (skew zero) so the revert's numbers do not depend on the block the estimate runs in. */
    async function balanced() {
      const p = await deployProtocol();
      for (const trader of [p.alice, p.bob]) await p.engine.connect(trader).deposit(usdc(100_000));
      await p.engine.connect(p.bob).trade(ETH, wad("-5.01"), 0, 0, false);
      await p.engine.connect(p.alice).trade(ETH, wad("5.01"), BUY_ANY, wad(500), true);
      return p;
    }

    async function refused(p: Protocol, amount: bigint, expected: string) {
      const client = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
      const q = quoteMarginChange(await client.snapshot(), { market: "ETH", action: "remove", amount });
      expect(q.rejection).to.equal(expected);
      // A refused change changes nothing.
      expect([q.margin, q.liquidationPrice]).to.deep.equal([q.marginBefore, q.liquidationPriceBefore]);
      const error = await client.removeMargin("ETH", amount).then(
        () => expect.fail("the engine should refuse it"),
        (e: unknown) => e as PerpContractError,
      );
      expect(error).to.be.instanceOf(PerpContractError);
      expect([error.errorName, error.args]).to.deep.equal([expected, q.rejectionArgs]);
      expect(q.explanation).to.equal(error.message);
      return q;
    }

    it("RemovalExceedsMargin: more than the isolated margin", async function () {
      const p = await networkHelpers.loadFixture(balanced);
      const margin = (await p.engine.getPosition(p.alice, ETH)).margin;
      const q = await refused(p, margin + 1n, "RemovalExceedsMargin");
      expect(q.explanation).to.match(/^RemovalExceedsMargin: the isolated margin in market 0 is [\d,]+\.\d\d USD, less than the [\d,]+\.\d\d USD asked$/);
    });

    it("RemovalBelowInitialMargin: the margin left, counting no profit, under the initial margin", async function () {
      const p = await networkHelpers.loadFixture(balanced);
      const health = await p.engine.positionHealth(p.alice, ETH);
      const margin = (await p.engine.getPosition(p.alice, ETH)).margin;
      // Equity counting no profit is min(margin, equity at close): one wei more than it less the initial margin.
      const noProfit = margin < health.equityAtClose ? margin : health.equityAtClose;
      const q = await refused(p, noProfit - health.initialMargin + 1n, "RemovalBelowInitialMargin");
      expect(q.explanation).to.match(/^RemovalBelowInitialMargin: after this removal, the margin in market 0 counting no profit /);
    });

    it("RemovalBelowMaintenanceMargin: a small position whose maintenance is mostly the minimum keeper reward", async function () {
      async function small() {
        const p = await deployProtocol();
        for (const trader of [p.alice, p.bob]) await p.engine.connect(trader).deposit(usdc(100_000));
        await p.engine.connect(p.bob).trade(ETH, wad("-0.01"), 0, 0, false);
        await p.engine.connect(p.alice).trade(ETH, wad("0.01"), BUY_ANY, wad(5), true);
        return p;
      }
      const p = await networkHelpers.loadFixture(small);
      const q = await refused(p, wad("3.5"), "RemovalBelowMaintenanceMargin");
      expect(q.explanation).to.match(/^RemovalBelowMaintenanceMargin: after this removal, equity in market 0 [\d.,-]+ USD < maintenance 2\.10 USD: the position would be liquidatable$/);
    });
  });
});
