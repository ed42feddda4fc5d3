/**
 * The order keeper's pure SDK logic (`@perp/sdk/keeper`): `triggerCrossed` for every kind and side (at, one wei on
 * each side of the trigger), the trailing stop's price and ratchet rule, the Pyth normalisation, the order index
 * applied from events (replays, updates, removal), and the plan (timing bounds at their exact seconds).
 */
import { expect } from "chai";
import type { Block, Log } from "ethers";

import {
  CLOSE_ALL,
  CLOSE_ALL_STORED,
  CancelReason,
  OrderChainIndex,
  OrderIndex,
  OrderKind,
  batchBySettleTime,
  improvesPeak,
  orderIsBuy,
  planOrders,
  positionKey,
  pythPriceToWad,
  trailingStopPrice,
  triggerCrossed,
  type IndexedOrder,
  type OrderEvent,
} from "@perp/sdk/keeper";
import { IOrderBook__factory } from "@perp/sdk/contracts";

const WAD = 10n ** 18n;
const T = 2_000n * WAD;
const BUY = WAD;
const SELL = -WAD;

function order(kind: OrderKind, sizeDelta: bigint, triggerPrice = T, trailBps = 0) {
  return { kind, sizeDelta, triggerPrice, trailBps };
}

describe("keeper orders: triggerCrossed", () => {
  // [kind, side, crossed at (T - 1), at T, at (T + 1)]
  const table: [string, OrderKind, bigint, boolean, boolean, boolean][] = [
    ["Limit buy (at or below)", OrderKind.Limit, BUY, true, true, false],
    ["Limit sell (at or above)", OrderKind.Limit, SELL, false, true, true],
    ["Stop buy (at or above)", OrderKind.Stop, BUY, false, true, true],
    ["Stop sell (at or below)", OrderKind.Stop, SELL, true, true, false],
    ["TakeProfit of a long: sell at or above", OrderKind.TakeProfit, SELL, false, true, true],
    ["TakeProfit of a short: buy at or below", OrderKind.TakeProfit, BUY, true, true, false],
    ["StopLoss of a long: sell at or below", OrderKind.StopLoss, SELL, true, true, false],
    ["StopLoss of a short: buy at or above", OrderKind.StopLoss, BUY, false, true, true],
  ];
  for (const [name, kind, size, below, at, above] of table) {
    it(name, () => {
      const o = order(kind, size);
      expect([triggerCrossed(o, T - 1n), triggerCrossed(o, T), triggerCrossed(o, T + 1n)]).to.deep.equal([below, at, above]);
    });
  }

  it("TrailingStop of a long (sell) fires at or below peak x (1 - trailBps), rounded up", () => {
    const o = order(OrderKind.TrailingStop, SELL, T, 500); // stop at 1,900
    const stop = trailingStopPrice(T, 500, false);
    expect(stop).to.equal(1_900n * WAD);
    expect([triggerCrossed(o, stop - 1n), triggerCrossed(o, stop), triggerCrossed(o, stop + 1n)]).to.deep.equal([true, true, false]);
    // 3 x 9,999 / 10,000 = 2.9997 rounds up to 3 wei: the stop is never further from the peak than trailBps.
    expect(trailingStopPrice(3n, 1, false)).to.equal(3n);
    expect(trailingStopPrice(10_001n, 1, false)).to.equal(10_000n);
  });

  it("TrailingStop of a short (buy) fires at or above peak x (1 + trailBps), rounded down", () => {
    const o = order(OrderKind.TrailingStop, BUY, T, 250); // stop at 2,050
    const stop = trailingStopPrice(T, 250, true);
    expect(stop).to.equal(2_050n * WAD);
    expect([triggerCrossed(o, stop - 1n), triggerCrossed(o, stop), triggerCrossed(o, stop + 1n)]).to.deep.equal([false, true, true]);
    expect(trailingStopPrice(3n, 1, true)).to.equal(3n);
  });

  it("a market order never triggers", () => {
    expect(triggerCrossed(order(OrderKind.Market, BUY), T)).to.equal(false);
  });

  it("CLOSE_ALL takes its side from the position (opposite sign), in event and stored form", () => {
    for (const close of [CLOSE_ALL, CLOSE_ALL_STORED]) {
      expect(orderIsBuy({ sizeDelta: close }, 5n * WAD)).to.equal(false); // closes a long: sells
      expect(orderIsBuy({ sizeDelta: close }, -5n * WAD)).to.equal(true);
      expect(triggerCrossed(order(OrderKind.StopLoss, close), T - 1n, 5n * WAD)).to.equal(true);
      expect(triggerCrossed(order(OrderKind.StopLoss, close), T - 1n, -5n * WAD)).to.equal(false);
      expect(() => orderIsBuy({ sizeDelta: close })).to.throw(RangeError);
      expect(() => orderIsBuy({ sizeDelta: close }, 0n)).to.throw(RangeError);
    }
  });

  it("improvesPeak: higher for a long's trailing stop, lower for a short's; never for other kinds", () => {
    expect(improvesPeak(order(OrderKind.TrailingStop, SELL, T, 500), T + 1n)).to.equal(true);
    expect(improvesPeak(order(OrderKind.TrailingStop, SELL, T, 500), T)).to.equal(false);
    expect(improvesPeak(order(OrderKind.TrailingStop, BUY, T, 500), T - 1n)).to.equal(true);
    expect(improvesPeak(order(OrderKind.TrailingStop, BUY, T, 500), T)).to.equal(false);
    expect(improvesPeak(order(OrderKind.StopLoss, SELL), T + 1n)).to.equal(false);
  });

  it("pythPriceToWad: exact above 1e-18, rounded down below", () => {
    expect(pythPriceToWad(200_000_000_000n, -8)).to.equal(2_000n * WAD);
    expect(pythPriceToWad(5n, 0)).to.equal(5n * WAD);
    expect(pythPriceToWad(19n, -19)).to.equal(1n);
    expect(pythPriceToWad(123n, -18)).to.equal(123n);
  });
});

const TRADER = "0x00000000000000000000000000000000000000aa";

function committed(id: bigint, block: number, settleableAt: bigint): OrderEvent {
  return {
    name: "OrderCommitted",
    orderId: id,
    blockNumber: block,
    logIndex: 0,
    trader: TRADER,
    marketId: 0,
    sizeDelta: WAD,
    acceptablePrice: 2_100n * WAD,
    keeperFee: WAD / 2n,
    settleableAt,
    expiresAt: settleableAt - 2n + 120n,
  };
}

function placed(id: bigint, block: number, kind: OrderKind, sizeDelta: bigint, triggerPrice: bigint, trailBps = 0, positionEpoch = 1n): OrderEvent {
  return {
    name: "TriggerOrderPlaced",
    orderId: id,
    blockNumber: block,
    logIndex: 1,
    trader: TRADER,
    marketId: 0,
    kind,
    sizeDelta,
    triggerPrice,
    acceptablePrice: 0n,
    trailBps,
    keeperFee: WAD / 2n,
    positionEpoch,
    ocoPartner: 0n,
  };
}

describe("keeper orders: OrderIndex", () => {
  it("adds, updates, ratchets and removes from events; a removed id is not resurrected", () => {
    const index = new OrderIndex();
    index.apply([committed(1n, 10, 1_002n), placed(2n, 10, OrderKind.StopLoss, SELL, 1_800n * WAD), placed(3n, 11, OrderKind.TrailingStop, SELL, T, 500)]);
    expect(index.size).to.equal(3);
    expect(index.needsBlockTime()).to.deep.equal([10, 11]);
    index.setBlockTime(10, 1_000n);
    index.setBlockTime(11, 1_012n);
    expect(index.get(2n)?.createdAt).to.equal(1_000n);
    expect(index.get(1n)?.createdAt).to.equal(undefined); // market orders carry their window instead
    index.apply([
      { name: "TriggerOrderUpdated", orderId: 2n, blockNumber: 12, logIndex: 0, sizeDelta: -2n * WAD, triggerPrice: 1_700n * WAD, acceptablePrice: 0n, createdAt: 1_020n },
      { name: "TrailingPeakRatcheted", orderId: 3n, blockNumber: 12, logIndex: 1, peak: 2_100n * WAD, publishTime: 1_021n },
      {
        name: "OrderExecuted", orderId: 1n, blockNumber: 13, logIndex: 0, trader: TRADER, marketId: 0, kind: OrderKind.Market,
        price: T, publishTime: 1_002n, keeper: TRADER, keeperFee: WAD / 2n,
      },
      { name: "OrderCancelled", orderId: 9n, blockNumber: 13, logIndex: 1, trader: TRADER, reason: CancelReason.ByTrader, by: TRADER, feeTo: 0n },
    ]);
    expect(index.get(2n)).to.include({ sizeDelta: -2n * WAD, triggerPrice: 1_700n * WAD, createdAt: 1_020n });
    expect(index.get(3n)).to.include({ triggerPrice: 2_100n * WAD, peakTime: 1_021n, createdAt: 1_012n });
    expect(index.orders().map((o) => o.id)).to.deep.equal([2n, 3n]);
    expect(index.lastBlock).to.equal(13);
    index.apply([committed(1n, 14, 1_002n)]); // a replayed commit of an executed id
    expect(index.get(1n)).to.equal(undefined);
    index.drop(3n);
    expect(index.orders().map((o) => o.id)).to.deep.equal([2n]);
  });
});

describe("keeper orders: planOrders", () => {
  const timing = { minSettleDelay: 2, maxSettleDelay: 30, marketOrderExpiry: 120, triggerMaxAge: 10 };

  function indexed(events: OrderEvent[], blockTimes: Record<number, bigint>): IndexedOrder[] {
    const index = new OrderIndex();
    index.apply(events);
    for (const [block, time] of Object.entries(blockTimes)) index.setBlockTime(Number(block), time);
    return index.orders();
  }

  it("settles from settleableAt to expiresAt (inclusive), cancels after", () => {
    const orders = indexed([committed(1n, 1, 1_002n)], {});
    const ids = (now: bigint) => {
      const plan = planOrders(orders, now, timing, new Map(), new Map());
      return [plan.settle.map((o) => o.id), plan.cancelExpired.map((o) => o.id)];
    };
    expect(ids(1_001n)).to.deep.equal([[], []]);
    expect(ids(1_002n)).to.deep.equal([[1n], []]);
    expect(ids(1_120n)).to.deep.equal([[1n], []]);
    expect(ids(1_121n)).to.deep.equal([[], [1n]]);
  });

  it("executes a crossed trigger on a fresh price newer than the order; ratchets a trailing stop; voids an old epoch", () => {
    const orders = indexed(
      [
        placed(1n, 1, OrderKind.StopLoss, SELL, 1_800n * WAD),
        placed(2n, 1, OrderKind.TrailingStop, SELL, T, 500),
        placed(3n, 1, OrderKind.TakeProfit, SELL, 2_500n * WAD, 0, 0n), // epoch 0: the position was closed since
        placed(4n, 1, OrderKind.Limit, BUY, 1_900n * WAD),
      ],
      { 1: 1_000n },
    );
    const positions = new Map([[positionKey(TRADER, 0), { size: 3n * WAD, epoch: 1n }]]);
    const plan = (price: bigint, publishTime: bigint, now: bigint) => {
      const p = planOrders(orders, now, timing, new Map([[0, { price, publishTime }]]), positions);
      return { execute: p.execute.map((o) => o.id), ratchet: p.ratchet.map((o) => o.id), voided: p.voided.map((o) => o.id), noPrice: p.noPrice };
    };
    expect(plan(1_950n * WAD, 1_001n, 1_001n)).to.deep.equal({ execute: [], ratchet: [], voided: [3n], noPrice: 0 });
    expect(plan(1_900n * WAD, 1_001n, 1_001n)).to.deep.equal({ execute: [2n, 4n], ratchet: [], voided: [3n], noPrice: 0 });
    expect(plan(1_800n * WAD + 1n, 1_001n, 1_001n)).to.deep.equal({ execute: [2n, 4n], ratchet: [], voided: [3n], noPrice: 0 });
    expect(plan(1_800n * WAD, 1_001n, 1_001n)).to.deep.equal({ execute: [1n, 2n, 4n], ratchet: [], voided: [3n], noPrice: 0 });
    expect(plan(2_001n * WAD, 1_001n, 1_011n)).to.deep.equal({ execute: [], ratchet: [2n], voided: [3n], noPrice: 0 });
    // Too old (published 11 s before the block), or not newer than the order: nothing but the voided order.
    expect(plan(1_000n * WAD, 1_001n, 1_012n)).to.deep.equal({ execute: [], ratchet: [], voided: [3n], noPrice: 3 });
    expect(plan(1_000n * WAD, 1_000n, 1_001n)).to.deep.equal({ execute: [], ratchet: [], voided: [3n], noPrice: 3 });
  });

  it("voids a reduce-only order of a flat or flipped position, but not a bracket waiting for its entry", () => {
    const stop = placed(1n, 1, OrderKind.StopLoss, SELL, 1_800n * WAD);
    const price = new Map([[0, { price: T, publishTime: 1_001n }]]);
    const voided = (events: OrderEvent[], size: bigint, epoch = 1n) =>
      planOrders(indexed(events, { 1: 1_000n }), 1_001n, timing, price, new Map([[positionKey(TRADER, 0), { size, epoch }]])).voided.map((o) => o.id);
    expect(voided([stop], 3n * WAD)).to.deep.equal([]);
    expect(voided([stop], 0n)).to.deep.equal([1n]); // closed (the epoch moves too, on chain)
    expect(voided([stop], -3n * WAD)).to.deep.equal([1n]); // a sell stop of a short: flipped
    expect(voided([stop], 3n * WAD, 2n)).to.deep.equal([1n]);
    expect(voided([stop, committed(2n, 1, 1_003n)], 0n)).to.deep.equal([]); // the entry is pending
    expect(voided([placed(1n, 1, OrderKind.StopLoss, CLOSE_ALL, 1_800n * WAD)], -3n * WAD)).to.deep.equal([]);
  });

  it("batches by settlement time, bounded", () => {
    const orders = indexed([committed(3n, 1, 1_005n), committed(1n, 1, 1_002n), committed(2n, 1, 1_002n)], {});
    expect(batchBySettleTime(orders, 2).map((b) => b.map((o) => o.id))).to.deep.equal([[1n, 2n], [3n]]);
  });
});

describe("keeper orders: OrderChainIndex (fake chain)", () => {
  const book = "0x00000000000000000000000000000000000000b0";
  const iface = IOrderBook__factory.createInterface();

  /** A chain of blocks (hash, time) and logs by block, that a test can rewrite (a reorganisation). */
  class FakeChain {
    hashes = new Map<number, string>();
    logs = new Map<number, Log[]>();
    getLogsCalls = 0;
    block(n: number, hash: string) {
      this.hashes.set(n, hash);
    }
    async getBlock(n: number) {
      const hash = this.hashes.get(n);
      return hash === undefined ? null : ({ number: n, hash, timestamp: 1_000 + n } as unknown as Block);
    }
    async getLogs(filter: { fromBlock: number; toBlock: number; address: string }) {
      this.getLogsCalls += 1;
      expect(filter.address).to.equal(book);
      const out: Log[] = [];
      for (let n = filter.fromBlock; n <= filter.toBlock; n++) out.push(...(this.logs.get(n) ?? []));
      return out;
    }
    emit(n: number, name: string, args: unknown[]) {
      const { topics, data } = iface.encodeEventLog(name, args);
      const list = this.logs.get(n) ?? [];
      list.push({ topics, data, blockNumber: n, index: list.length, address: book } as unknown as Log);
      this.logs.set(n, list);
    }
  }

  it("follows new blocks with one getLogs each, reads placement times once, rebuilds after a reorganisation or a lower head", async () => {
    const chain = new FakeChain();
    for (let n = 0; n <= 3; n++) chain.block(n, `0x${n}a`);
    chain.emit(1, "OrderCommitted", [1n, TRADER, 0n, WAD, 2_100n * WAD, 0n, false, WAD / 2n, 1_003n, 1_121n]);
    chain.emit(2, "TriggerOrderPlaced", [2n, TRADER, 0n, OrderKind.StopLoss, SELL, 1_800n * WAD, 0n, 0, WAD / 2n, 1n, 0n]);
    const index = new OrderChainIndex(chain, book, 0);
    const first = await index.sync(3);
    expect(first).to.include({ rebuilt: true, reorg: false, events: 2 });
    expect(index.orders().map((o) => [o.id, o.kind, o.createdAt])).to.deep.equal([
      [1n, OrderKind.Market, undefined],
      [2n, OrderKind.StopLoss, 1_002n],
    ]);
    // A new block: only its logs are read.
    chain.block(4, "0x4a");
    chain.emit(4, "OrderExecuted", [1n, TRADER, 0n, OrderKind.Market, WAD, T, 1_003n, TRADER, WAD / 2n]);
    const calls = chain.getLogsCalls;
    expect(await index.sync(4)).to.include({ fromBlock: 4, toBlock: 4, events: 1, rebuilt: false });
    expect(chain.getLogsCalls - calls).to.equal(1);
    expect(index.orders().map((o) => o.id)).to.deep.equal([2n]);
    // Block 4 is replaced (the execution is gone, a cancel of order 2 is in its place): rebuilt from the start.
    chain.block(4, "0x4b");
    chain.block(5, "0x5b");
    chain.logs.set(4, []);
    chain.emit(5, "OrderCancelled", [2n, TRADER, CancelReason.ByTrader, TRADER, 0n, "0x"]);
    expect(await index.sync(5)).to.include({ rebuilt: true, reorg: true, headBelowIndex: false });
    expect(index.orders().map((o) => o.id)).to.deep.equal([1n]);
    // The head below the index (a reverted local chain): rebuilt at once.
    chain.hashes.delete(5);
    chain.logs.delete(5);
    expect(await index.sync(4)).to.include({ rebuilt: true, headBelowIndex: true });
    expect(index.orders().map((o) => o.id)).to.deep.equal([1n, 2n]);
  });
});
