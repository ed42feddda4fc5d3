import { expect } from "chai";
import type { Provider, TransactionReceipt } from "ethers";

import type { TransactionSender } from "@perp/sdk";

import { PendingTransaction, minedCount, waitMined } from "../scripts/keeper/sender.js";

/** A provider that knows `receipts` by hash and says the account has `count` mined transactions. */
function fakeProvider(receipts: Record<string, TransactionReceipt>, count: () => number): { provider: Provider; countReads: () => number } {
  let reads = 0;
  const provider = {
    getTransactionReceipt: async (hash: string) => receipts[hash] ?? null,
    getTransactionCount: async () => (reads++, count()),
  } as unknown as Provider;
  return { provider, countReads: () => reads };
}

function fakeSender(): TransactionSender & { resets: number } {
  const sender = { resets: 0, signer: { getAddress: async () => "0x0000000000000000000000000000000000000001" }, resetNonce: () => void (sender.resets += 1) };
  return sender as unknown as TransactionSender & { resets: number };
}

const NO_RETRY = { attempts: 1 };
const NEVER_BUMP = { bumpAfterMs: 3_600_000 };
const sent = (nonce: number) => ({ hash: `0x${String(nonce).padStart(64, "0")}`, nonce, gasLimit: 100_000n });

describe("keeper sender: a pending transaction whose nonce another transaction used", function () {
  it("poll: superseded below the mined count without a receipt; mined with one; pending at or above the count", async function () {
    const receipt = { hash: sent(2).hash, status: 1 } as TransactionReceipt;
    const { provider } = fakeProvider({ [receipt.hash]: receipt }, () => 5);
    const sender = fakeSender();
    expect(await new PendingTransaction(sent(3)).poll(provider, sender, NEVER_BUMP, NO_RETRY, 5)).to.deep.equal({ kind: "superseded" });
    expect(await new PendingTransaction(sent(2)).poll(provider, sender, NEVER_BUMP, NO_RETRY, 5)).to.deep.include({ kind: "mined", receipt });
    expect(await new PendingTransaction(sent(5)).poll(provider, sender, NEVER_BUMP, NO_RETRY, 5)).to.deep.equal({ kind: "pending" });
    // Without a count (the first poll, or a failed read) it only waits.
    expect(await new PendingTransaction(sent(3)).poll(provider, sender, NEVER_BUMP, NO_RETRY)).to.deep.equal({ kind: "pending" });
    expect(await minedCount(provider, sender, NO_RETRY)).to.equal(5);
  });

  it("waitMined gives up on the second poll with the nonce in the error and the sender's nonce reset, not at its time-out", async function () {
    const { provider, countReads } = fakeProvider({}, () => 8);
    const sender = fakeSender();
    const started = Date.now();
    let error: Error | undefined;
    await waitMined(sent(7), { provider, sender, policy: NEVER_BUMP, retry: NO_RETRY, timeoutMs: 600_000, pollMs: 1 }).catch((e: Error) => (error = e));
    expect(error?.message).to.equal(`transaction ${sent(7).hash} (nonce 7) can no longer be mined: another transaction of the key used its nonce`);
    expect(countReads(), "the count is not read on the first poll").to.equal(1);
    expect(sender.resets).to.equal(1);
    expect(Date.now() - started).to.be.below(5_000);
  });
});
