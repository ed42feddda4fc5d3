import { expect } from "chai";
import { Wallet, makeError, type Provider } from "ethers";

import { PerpContractError, PerpTransportError, TransactionSender, type SendNotice } from "@perp/sdk";
import { deployProtocol, usdc } from "../../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../../scripts/lib/network.js";

/** A funded key that signs locally (an ethers `Wallet`), as the keeper runs with. */
async function localWallet() {
  const p = await networkHelpers.loadFixture(deployProtocol);
  const wallet = new Wallet("0x" + "7".repeat(64), ethers.provider);
  await (await p.owner.sendTransaction({ to: wallet.address, value: ethers.parseEther("10") })).wait();
  await (await p.usdc.mint(wallet.address, usdc(1000))).wait();
  return { p, wallet };
}

/** The provider, with `broadcastTransaction` replaced. */
function withBroadcast(provider: Provider, broadcast: (raw: string) => Promise<unknown>): Provider {
  return new Proxy(provider, {
    get(target, key) {
      if (key === "broadcastTransaction") return broadcast;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("SDK: transport (the one send policy)", function () {
  it("pads the gas estimate by the margin and counts nonces locally across unawaited sends", async function () {
    const { p, wallet } = await localWallet();
    const sender = new TransactionSender(wallet, { signing: "local", nonce: "local", gasMarginPercent: 40 });
    const approve = await p.usdc.connect(wallet).approve.populateTransaction(p.deployment.contracts.PerpEngine, usdc(100));
    const estimate = await ethers.provider.estimateGas({ ...approve, from: wallet.address });
    const first = await sender.submit(approve);
    const second = await sender.submit(await p.usdc.connect(wallet).transfer.populateTransaction(p.alice.address, usdc(1)));
    expect([first.nonce, second.nonce]).to.deep.equal([0, 1]);
    expect(first.gasLimit).to.equal((estimate * 140n) / 100n);
    expect(sender.nextNonce).to.equal(2);
    const receipts = await Promise.all([sender.wait(first), sender.wait(second)]);
    expect(receipts.map((r) => r.status)).to.deep.equal([1, 1]);
    expect((await ethers.provider.getTransaction(first.hash))!.gasLimit).to.equal(first.gasLimit);
    expect(await p.usdc.allowance(wallet.address, p.deployment.contracts.PerpEngine)).to.equal(usdc(100));
  });

  it("signs with the gas and fees it is given (the keeper's: estimate from its simulation, fee data once per batch)", async function () {
    const { p, wallet } = await localWallet();
    const sender = new TransactionSender(wallet, { signing: "local", nonce: "local", chainId: 31337 });
    const fees = { gasPrice: null, maxFeePerGas: 3_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };
    const call = await p.usdc.connect(wallet).transfer.populateTransaction(p.alice.address, 1n);
    const sent = await sender.submit({ to: call.to, data: call.data, gas: 100_000n, fees });
    const tx = (await ethers.provider.getTransaction(sent.hash))!;
    expect([tx.type, tx.gasLimit, tx.maxFeePerGas, tx.maxPriorityFeePerGas, tx.chainId]).to.deep.equal([2, 125_000n, fees.maxFeePerGas, fees.maxPriorityFeePerGas, 31337n]);
    expect((await sender.wait(sent)).status).to.equal(1);
  });

  it("signs a gas limit it is given as is, without the margin (the keeper's bound from a simulation's gas used)", async function () {
    const { p, wallet } = await localWallet();
    const sender = new TransactionSender(wallet, { signing: "local", nonce: "local", chainId: 31337, gasMarginPercent: 25 });
    const fees = { gasPrice: null, maxFeePerGas: 3_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };
    const call = await p.usdc.connect(wallet).transfer.populateTransaction(p.alice.address, 1n);
    const sent = await sender.submit({ to: call.to, data: call.data, gas: 100_000n, gasLimit: 110_001n, fees });
    expect(sent.gasLimit).to.equal(110_001n);
    expect((await ethers.provider.getTransaction(sent.hash))!.gasLimit).to.equal(110_001n);
    expect((await sender.wait(sent)).status).to.equal(1);
  });

  it("recognises its own transaction when a broadcast's answer was lost and the retry finds the nonce used", async function () {
    const { p, wallet } = await localWallet();
    let calls = 0;
    const provider = withBroadcast(ethers.provider, async (raw) => {
      calls += 1;
      const sent = await ethers.provider.broadcastTransaction(raw);
      if (calls === 1) {
        await sent.wait(); // mined, but the answer never arrives
        throw makeError("request timeout", "TIMEOUT", { operation: "request", reason: "timeout" });
      }
      return sent;
    });
    const sender = new TransactionSender(wallet, { signing: "local", provider, retry: { attempts: 3, baseDelayMs: 1 } });
    const sent = await sender.submit(await p.usdc.connect(wallet).transfer.populateTransaction(p.alice.address, usdc(1)));
    expect(calls).to.equal(2);
    expect(sent.nonce).to.equal(0);
    expect((await ethers.provider.getTransactionReceipt(sent.hash))!.status).to.equal(1);
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(1); // sent once
    expect(sender.nextNonce).to.equal(1);
  });

  it("after a retried broadcast finds the nonce used, accepts it only if the transaction mined there is its own", async function () {
    const { p, wallet } = await localWallet();
    const notices: SendNotice[] = [];
    let calls = 0;
    let theirs = "";
    const provider = withBroadcast(ethers.provider, async (raw) => {
      calls += 1;
      if (calls === 1) {
        // Ours never reaches the node; another process with the same key uses nonce 0 meanwhile.
        const other = new Wallet(wallet.privateKey, ethers.provider);
        const tx = await other.sendTransaction({ to: p.alice.address, value: 1n, nonce: 0 });
        theirs = tx.hash;
        await tx.wait();
        throw makeError("request timeout", "TIMEOUT", { operation: "request", reason: "timeout" });
      }
      return ethers.provider.broadcastTransaction(raw);
    });
    const sender = new TransactionSender(wallet, { signing: "local", provider, retry: { attempts: 3, baseDelayMs: 1 }, onNotice: (n) => notices.push(n) });
    const sent = await sender.submit(await p.usdc.connect(wallet).transfer.populateTransaction(p.alice.address, usdc(1)));
    // Not counted as sent at nonce 0 (that is the other process's transaction): signed again at nonce 1, and mined.
    expect(sent.nonce).to.equal(1);
    expect(notices.map((n) => [n.kind, n.kind === "nonce-retry" ? n.nonce : undefined])).to.deep.equal([["nonce-retry", 0]]);
    expect((await sender.wait(sent)).status).to.equal(1);
    expect((await ethers.provider.getTransaction(theirs))!.nonce).to.equal(0);
    expect(await p.usdc.balanceOf(wallet.address)).to.equal(usdc(999));
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(2);
  });

  it("re-reads the nonce and signs again when another sender took it", async function () {
    const { p, wallet } = await localWallet();
    const notices: SendNotice[] = [];
    const sender = new TransactionSender(wallet, { signing: "local", nonce: "local", onNotice: (n) => notices.push(n) });
    await sender.wait(await sender.submit(await p.usdc.connect(wallet).transfer.populateTransaction(p.alice.address, 1n)));
    // The same account sends nonce 1 behind the sender's back.
    await (await wallet.sendTransaction({ to: p.alice.address, value: 1n, nonce: 1 })).wait();
    const sent = await sender.submit(await p.usdc.connect(wallet).transfer.populateTransaction(p.alice.address, 2n));
    expect(sent.nonce).to.equal(2);
    expect(notices.map((n) => [n.kind, n.kind === "nonce-retry" ? n.nonce : undefined])).to.deep.equal([["nonce-retry", 1]]);
    expect((await sender.wait(sent)).status).to.equal(1);
  });

  it("re-reads the nonce when the chain was reset under it (a restarted local node), through the signer too", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const notices: SendNotice["kind"][] = [];
    const sender = new TransactionSender(p.alice, { onNotice: (n) => notices.push(n.kind) });
    const nonce = await p.alice.getNonce();
    const reset = await networkHelpers.takeSnapshot();
    await sender.send(await p.usdc.connect(p.alice).transfer.populateTransaction(p.bob.address, 1n));
    expect(sender.nextNonce).to.equal(nonce + 1);
    await reset.restore(); // the node forgot the transaction: its count is back to `nonce`
    const receipt = await sender.send(await p.usdc.connect(p.alice).transfer.populateTransaction(p.bob.address, 2n));
    expect((await ethers.provider.getTransaction(receipt.hash))!.nonce).to.equal(nonce);
    expect(notices).to.deep.equal(["nonce-retry"]);
  });

  it("a mined revert names the contract's error, replayed on its block's state; one the replay cannot explain names its block", async function () {
    const { p, wallet } = await localWallet();
    const engine = p.engine.connect(wallet);
    const sender = new TransactionSender(wallet, { signing: "local", nonce: "local", chainId: 31337 });
    await sender.send(await p.usdc.connect(wallet).approve.populateTransaction(p.deployment.contracts.PerpEngine, usdc(100)));
    await sender.send(await engine.deposit.populateTransaction(usdc(100)));
    // Two withdrawals of the whole balance in one block: both simulate alone, the second fails once the first ran
    // (what a race with another keeper or a second tab looks like). The gas is given, so nothing re-simulates them.
    const call = await engine.withdraw.populateTransaction(usdc(100), wallet.address, []);
    await ethers.provider.send("evm_setAutomine", [false]);
    let first, second, starved;
    try {
      first = await sender.submit({ to: call.to, data: call.data, gas: 200_000n });
      second = await sender.submit({ to: call.to, data: call.data, gas: 200_000n });
      // Out of gas: the replay with the same limit fails the same way, without revert data.
      starved = await sender.submit({ to: p.deployment.contracts.CollateralToken, data: p.usdc.interface.encodeFunctionData("transfer", [p.alice.address, 1n]), gas: 21_000n, gasLimit: 24_000n });
      await ethers.provider.send("evm_mine", []);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
    const mined = await sender.wait(first);
    expect(mined.status).to.equal(1);
    const lost = await sender.wait(second).then(() => undefined, (error: unknown) => error);
    expect(lost).to.be.instanceOf(PerpContractError);
    expect((lost as PerpContractError).errorName).to.equal("InsufficientCrossBalance");
    expect((lost as PerpContractError).args).to.deep.include({ balance: 0n, amount: usdc(100) * 10n ** 12n });
    const unexplained = await sender.wait(starved).then(() => undefined, (error: unknown) => error);
    expect(unexplained).to.be.instanceOf(PerpTransportError);
    expect((unexplained as Error).message).to.equal(`transaction ${starved.hash} reverted in block ${mined.blockNumber}`);
    expect(await p.usdc.balanceOf(wallet.address)).to.equal(usdc(1000));
  });

  it("falls back to the signer, once and said so, when it cannot sign locally ('auto')", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const notices: SendNotice["kind"][] = [];
    const sender = new TransactionSender(p.alice, { signing: "auto", onNotice: (n) => notices.push(n.kind) });
    const nonce = await p.alice.getNonce();
    for (let i = 0; i < 2; i++) {
      const sent = await sender.submit(await p.usdc.connect(p.alice).transfer.populateTransaction(p.bob.address, 1n));
      expect(sent.response).to.not.equal(undefined);
      expect(sent.nonce).to.equal(nonce + i);
      await sender.wait(sent);
    }
    expect(notices).to.deep.equal(["signing-through-signer"]);
    // "local" does not fall back: the failure is the caller's to see.
    const strict = new TransactionSender(p.alice, { signing: "local" });
    await expect(strict.submit(await p.usdc.connect(p.alice).transfer.populateTransaction(p.bob.address, 1n))).to.be.rejectedWith(
      PerpTransportError,
    );
  });
});
