/**
 * The SDK's order flow (v2, SPEC "Orders"): quotes that carry the keeper fee, the settlement window and the value of
 * a stop-loss / take-profit (checked against the engine's own close at that price), the funding a position has
 * settled, and the order actions against the order book.
 */
import { expect } from "chai";

import {
  InvalidRequestError,
  PerpClient,
  eventsNamed,
  formatPrice,
  getFundingPaid,
  quoteFromSnapshot,
  type OrderBookParams,
  type Snapshot,
} from "@perp/sdk";
import { DAY, ETH, ORACLE_UNIT, deployProtocol, usdc, wad } from "../../scripts/lib/fixture.js";
import { networkHelpers } from "../../scripts/lib/network.js";

/** The default order book parameters (BRIEF): 0.5 USD keeper fee, settle 2-30 s after commit, expiry 120 s. */
const BOOK: OrderBookParams = {
  keeperFee: wad("0.5"),
  minSettleDelay: 2n,
  maxSettleDelay: 30n,
  marketOrderExpiry: 120n,
  triggerMaxAge: 10n,
  minExecutionGas: 500_000n,
};

describe("SDK orders: quotes of the order flow", function () {
  async function funded() {
    const p = await deployProtocol();
    await p.engine.connect(p.alice).deposit(usdc(10_000));
    const client = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    return { ...p, client };
  }

  it("carries the keeper fees and the settlement window, and values the stop-loss and take-profit as the engine closes", async function () {
    const p = await networkHelpers.loadFixture(funded);
    const snap: Snapshot = { ...(await p.client.snapshot()), orderBook: BOOK };
    const request = { market: "ETH", side: "long", margin: "500", leverage: 10, isolated: true, stopLoss: "1900", takeProfit: "2300" } as const;
    const quote = quoteFromSnapshot(snap, request);
    expect(quote.rejection).to.equal(undefined);
    expect([quote.keeperFee, quote.orderFees]).to.deep.equal([wad("0.5"), wad("1.5")]);
    expect(quote.settlement).to.deep.equal({ minDelay: 2n, maxDelay: 30n, expiry: 120n });
    expect(quote.warnings).to.deep.equal([]);
    // The same trade without the stops: the fees come out of the cross balance, not the isolated position.
    const plain = quoteFromSnapshot({ ...snap, orderBook: undefined }, { ...request, stopLoss: undefined, takeProfit: undefined });
    expect([plain.fillPrice, plain.fee, plain.liquidationPrice, plain.keeperFee, plain.settlement]).to.deep.equal([
      quote.fillPrice,
      quote.fee,
      quote.liquidationPrice,
      0n,
      undefined,
    ]);
    expect(quote.stopLoss!.beyondLiquidation).to.equal(false);
    expect(quote.stopLoss!.distanceToLiquidation).to.equal(((wad(1900) - quote.liquidationPrice) * wad(1)) / wad(1900));

    // The engine's own close at each trigger price books the quoted PnL and fee to the wei (v1 trade path: same math).
    await p.engine.connect(p.alice).trade(ETH, quote.sizeDelta, quote.acceptablePrice, quote.marginDelta, true);
    for (const [trigger, valued] of [
      [1900, quote.stopLoss!],
      [2300, quote.takeProfit!],
    ] as const) {
      const id = await networkHelpers.takeSnapshot();
      await p.eth.aggregator.setAnswer(wad(trigger) / ORACLE_UNIT);
      const receipt = await (await p.engine.connect(p.alice).trade(ETH, -quote.sizeDelta, 0, 0, true)).wait();
      const [closed] = p.client.tradeExecutions(receipt!);
      expect([closed!.realizedPnl, closed!.fee], `close at ${trigger}`).to.deep.equal([valued.realizedPnl, valued.fee]);
      // Valued at the quote's time, when the new position owes no funding yet.
      expect(valued.net).to.equal(valued.realizedPnl - valued.fee);
      await id.restore();
    }
  });

  it("warns when the stop sits beyond the liquidation price (it would never fire) or would trigger at once", async function () {
    const p = await networkHelpers.loadFixture(funded);
    const snap: Snapshot = { ...(await p.client.snapshot()), orderBook: BOOK };
    const base = { market: "ETH", side: "long", margin: "500", leverage: 10, isolated: true } as const;
    const liq = quoteFromSnapshot(snap, base).liquidationPrice;
    const beyond = quoteFromSnapshot(snap, { ...base, stopLoss: "1800" });
    expect(liq > wad(1800)).to.equal(true);
    expect(beyond.stopLoss!.beyondLiquidation).to.equal(true);
    expect(beyond.warnings).to.deep.equal([
      `the stop-loss at $1,800.00 is beyond the estimated liquidation price ${formatPrice(liq)}: the position would be ` +
        "liquidated first and the stop would never fire",
    ]);
    const atOnce = quoteFromSnapshot(snap, { ...base, takeProfit: "1990" });
    expect(atOnce.warnings).to.deep.equal([
      "the take-profit at $1,990.00 is at or below the index $2,000.00: it would trigger at once (the order book refuses it: use a market order)",
    ]);
    // A short's stop is above: beyond liquidation means above the liquidation price.
    const short = quoteFromSnapshot(snap, { ...base, side: "short", stopLoss: "2300" });
    expect(short.stopLoss!.beyondLiquidation).to.equal(true);
    expect(() => quoteFromSnapshot({ ...snap, orderBook: undefined }, { ...base, stopLoss: "1900" })).to.throw(
      InvalidRequestError,
      "stop-loss and take-profit orders need an order book (v2 deployment)",
    );
  });

  it("reports the funding each position settled: settled + accrued is what it paid so far", async function () {
    const p = await networkHelpers.loadFixture(funded);
    await p.engine.connect(p.alice).trade(ETH, wad(10), wad(1e9), 0, false); // cross long: the skew makes longs pay
    const refresh = () => p.eth.aggregator.setAnswer(wad(2000) / ORACLE_UNIT); // a day later the oracle must be fresh
    await networkHelpers.time.increase(DAY);
    await refresh();
    await p.engine.connect(p.alice).trade(ETH, wad(5), wad(1e9), 0, false); // settles a day of funding
    await networkHelpers.time.increase(DAY);
    await refresh();
    const events = eventsNamed(p.client.events((await (await p.engine.connect(p.alice).trade(ETH, wad(1), wad(1e9), 0, false)).wait())!), "PositionModified");
    const all = await p.engine.queryFilter(p.engine.filters.PositionModified(p.alice.address));
    const settled = all.reduce((sum, e) => sum + e.args.fundingPaid, 0n);
    expect(settled > 0n).to.equal(true);
    expect(events).to.have.length(1);
    const [position] = await p.client.positions(undefined, undefined, { withFunding: true });
    expect(position!.fundingPaid).to.equal(settled);
    expect(position!.fundingTotal).to.equal(settled + position!.accruedFunding);
    // Closing moves it to the lifetime total; a new position starts from zero.
    await p.engine.connect(p.alice).trade(ETH, -wad(16), 0, 0, false);
    const afterClose = await getFundingPaid(p.client, {});
    const closing = (await p.engine.queryFilter(p.engine.filters.PositionModified(p.alice.address))).at(-1)!.args.fundingPaid;
    expect(afterClose.get(ETH_ID)).to.deep.equal({ position: 0n, lifetime: settled + closing });
  });
});

const ETH_ID = Number(ETH);
