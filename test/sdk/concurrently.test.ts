import { expect } from "chai";

import { runConcurrently } from "@perp/sdk/keeper";

/** A job that resolves when released, recording when it started and how many ran at once. */
function gate() {
  const started: number[] = [];
  const release = new Map<number, () => void>();
  let running = 0;
  let most = 0;
  const job = (i: number) => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    return new Promise<number>((resolve) => release.set(i, () => (running--, resolve(i * 10))));
  };
  const settle = async () => {
    await new Promise((r) => setImmediate(r));
    for (const [i, go] of [...release]) (release.delete(i), go());
    await new Promise((r) => setImmediate(r));
  };
  return { started, job, settle, most: () => most };
}

describe("SDK keeper: runConcurrently (the one bounded pool of the scan, the liquidation and the order keeper)", function () {
  it("starts jobs in index order, never more than the limit at once, and returns results by index", async function () {
    const g = gate();
    const done = runConcurrently(7, 3, g.job);
    await new Promise((r) => setImmediate(r));
    expect(g.started).to.deep.equal([0, 1, 2]);
    for (let i = 0; i < 4; i++) await g.settle();
    expect(await done).to.deep.equal([0, 10, 20, 30, 40, 50, 60]);
    expect(g.started).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    expect(g.most()).to.equal(3);
    expect(await runConcurrently(0, 3, g.job)).to.deep.equal([]);
  });

  it("after a job throws, starts no further job, lets those in flight finish, then throws the first error", async function () {
    const started: number[] = [];
    const finished: number[] = [];
    const error = await runConcurrently(6, 2, async (i) => {
      started.push(i);
      await new Promise((r) => setImmediate(r));
      if (i === 0) throw new Error("job 0 failed");
      if (i === 1) await new Promise((r) => setTimeout(r, 5));
      finished.push(i);
      return i;
    }).then(() => undefined, (e: unknown) => e);
    expect((error as Error).message).to.equal("job 0 failed");
    expect(started).to.deep.equal([0, 1]);
    expect(finished).to.deep.equal([1]);
  });

  it("asks shouldStop before each start: once it says so, the rest stay empty", async function () {
    expect(await runConcurrently(5, 1, async (i) => i + 1, () => false)).to.deep.equal([1, 2, 3, 4, 5]);
    let calls = 0;
    const partial = await runConcurrently(5, 1, async (i) => (calls++, i + 1), () => calls >= 2);
    expect(partial.length).to.equal(5);
    expect([...partial]).to.deep.equal([1, 2, undefined, undefined, undefined]);
  });
});
