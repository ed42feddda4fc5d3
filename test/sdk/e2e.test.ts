/**
 * The SDK end to end over real JSON-RPC: a Hardhat node served from this process, then `anvil` in its own process
 * (test/helpers/node.ts), the protocol deployed by the deploy script's body (test/helpers/deploy.ts) into temporary
 * directories, and the whole life cycle driven through
 * `PerpClient` over `JsonRpcProvider` + `Wallet`: LP deposit, trader deposits (approval and permit), quotes then
 * isolated and cross positions, reduce, margin moves, funding over time, a price drop, finding the liquidatable
 * positions from events and liquidating them in one batch, decoded errors, closes and withdrawals.
 *
 * Values that do not depend on the block time (fills, fees, realised PnL, margins, balances) are asserted to the wei;
 * values that do (funding, health) are compared with the contracts' own views at the same block.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { expect } from "chai";
import { HDNodeWallet, JsonRpcProvider } from "ethers";

import {
  InvalidRequestError,
  PerpClient,
  PerpContractError,
  PositionIndex,
  formatUsd,
  liquidatableUnits,
  readHealth,
  scanPositionEvents,
  valueIsolated,
  withPerpErrors,
  type Deployment,
  type TradeQuote,
  toWad,
} from "@perp/sdk";
import { loadDeployment } from "@perp/sdk/node";
import { devWallet } from "../../scripts/lib/dev.js";
import { MockAggregator__factory, MockUSDC__factory } from "@perp/sdk/contracts";
import { startTestNode, type TestNode } from "../helpers/node.js";
import { deployInProcess } from "../helpers/deploy.js";

const WAD = 10n ** 18n;
const USDC = 10n ** 6n;
const ETH = 0;
const BTC = 1;

const wad = toWad;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

for (const kind of ["hardhat", "anvil"] as const) {
  describe(`SDK end to end over JSON-RPC (${kind === "hardhat" ? "hardhat node" : "anvil"})`, function () {
    this.timeout(60_000);

    let node: TestNode | undefined;
    let tmp: string;
    let provider: JsonRpcProvider;
    let deployment: Deployment;
    const wallets: Record<"deployer" | "lp" | "alice" | "bob" | "carol" | "dave" | "keeper", HDNodeWallet> =
      {} as never;
    const clients: Record<keyof typeof wallets, PerpClient> = {} as never;

    async function increaseTime(seconds: number): Promise<void> {
      await provider.send("evm_increaseTime", [seconds]);
      await provider.send("evm_mine", []);
    }

    async function setPrice(marketId: number, answer: bigint): Promise<void> {
      const aggregator = MockAggregator__factory.connect(deployment.markets[marketId].aggregator, wallets.deployer);
      await (await aggregator.setAnswer(answer)).wait();
    }

    /** Sends a quote and checks that the executed trade is the quoted one. */
    async function sendAndMatch(client: PerpClient, quote: TradeQuote) {
      const { receipt } = await client.sendQuote(quote);
      const executions = client.tradeExecutions(receipt);
      expect(executions).to.have.length(1);
      const [executed] = executions;
      expect(executed.trader).to.equal(await client.address());
      expect(executed.marketId).to.equal(quote.marketId);
      expect(executed.sizeDelta).to.equal(quote.sizeDelta);
      expect(executed.newSize).to.equal(quote.simulation.position.size);
      expect(executed.fillPrice, "fill").to.equal(quote.fillPrice);
      expect(executed.fee, "fee").to.equal(quote.fee);
      expect(executed.realizedPnl, "realised PnL").to.equal(quote.simulation.realizedPnl);
      expect(executed.isolated).to.equal(quote.isolated);
      // The funding rate the quote announced is the one the market has after the trade.
      const [, , , state] = await client.engine.getMarket(quote.marketId);
      expect(state.fundingRatePerDay, "funding rate after").to.equal(quote.fundingRatePerDayAfter);
      return executed;
    }

    before(async function () {
      tmp = await mkdtemp(path.join(os.tmpdir(), `perp-sdk-e2e-${kind}-`));
      node = await startTestNode(kind);
      const run = await deployInProcess(node.url, {
        PERP_DEPLOYMENTS_DIR: path.join(tmp, "deployments"),
        PERP_IGNITION_DEPLOYMENTS_DIR: path.join(tmp, "ignition"),
        // v1's atomic engine without an order book: this file drives the engine's own trade path end to end.
        PERP_MODULE: "PerpLocal",
      });
      expect(run.code, run.output).to.equal(0);
      deployment = loadDeployment("localhost", path.join(tmp, "deployments"));
      // No response cache: every read sees the latest block and consecutive transactions get consecutive nonces.
      provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
      const roles = ["deployer", "lp", "alice", "bob", "carol", "dave", "keeper"] as const;
      const indices = [0, 2, 3, 4, 5, 6, 7];
      for (const [i, role] of roles.entries()) {
        wallets[role] = devWallet(indices[i], provider);
        clients[role] = await PerpClient.connect({ runner: wallets[role], deployment });
      }
      const usdc = MockUSDC__factory.connect(deployment.contracts.CollateralToken, wallets.deployer);
      for (const role of ["lp", "alice", "bob", "carol", "dave"] as const) {
        await (await usdc.mint(wallets[role].address, 1_000_000n * USDC)).wait();
      }
    });

    after(async function () {
      provider?.destroy();
      await node?.stop();
      if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    });

    it("LP deposit into the vault (approval first)", async function () {
      const lp = clients.lp;
      const nonce = await wallets.lp.getNonce();
      await lp.lpDeposit("300000");
      expect(await wallets.lp.getNonce(), "approve + request").to.equal(nonce + 2);
      expect((await lp.lpRequests()).pendingDeposit.amount).to.equal(300_000n * USDC);
      await increaseTime(60);
      await lp.lpSettle("deposit");
      await lp.lpClaim("deposit");
      expect((await lp.lpRequests()).claimableDeposit.shares).to.equal(0n);
      const decimals = await lp.vault.decimals();
      expect(decimals).to.equal(12n);
      expect(await lp.vault.balanceOf(wallets.lp.address)).to.equal(300_000n * 10n ** decimals);
      const state = await lp.vaultState();
      expect(state.cash).to.equal(wad("300000"));
      expect(state.nav).to.equal(wad("300000"));
      expect(state.insuranceFund).to.equal(wad("100000"));
      expect(await lp.vaultSharePrice()).to.equal(WAD);
    });

    it("consecutive transactions get consecutive nonces even with ethers' default 250 ms request cache", async function () {
      // A provider with the cache on: the pending nonce it reads for the second transaction is the cached one.
      const cached = new JsonRpcProvider(node!.url, 31337, { staticNetwork: true });
      try {
        const wallet = devWallet(6, cached);
        const dave = await PerpClient.connect({ runner: wallet, deployment });
        const nonce = await wallets.dave.getNonce();
        await dave.deposit("10"); // approve, then deposit, well within 250 ms on a node that mines instantly
        await dave.withdraw("10");
        // A transaction from the same account outside the client, then the client again at once.
        const usdc = MockUSDC__factory.connect(deployment.contracts.CollateralToken, wallet);
        await (await usdc.mint(wallet.address, 1n)).wait();
        await dave.deposit("1");
        // approve + deposit, withdraw, mint, approve + deposit.
        expect(await wallets.dave.getNonce()).to.equal(nonce + 6);
      } finally {
        cached.destroy();
      }
    });

    it("trader deposits: approve-then-deposit, and one transaction with a permit", async function () {
      const { alice, bob } = clients;
      const engine = deployment.contracts.PerpEngine;
      expect(await alice.token.allowance(wallets.alice.address, engine)).to.equal(0n);
      let nonce = await wallets.alice.getNonce();
      await alice.deposit("20000");
      expect(await wallets.alice.getNonce(), "approve + deposit").to.equal(nonce + 2);
      expect((await alice.account()).crossBalance).to.equal(wad("20000"));
      expect(await alice.token.balanceOf(wallets.alice.address)).to.equal(980_000n * USDC);

      nonce = await wallets.bob.getNonce();
      await bob.depositWithPermit("15000.5");
      expect(await wallets.bob.getNonce(), "a single transaction").to.equal(nonce + 1);
      expect(await bob.token.allowance(wallets.bob.address, engine), "the permit was consumed").to.equal(0n);
      expect((await bob.account()).crossBalance).to.equal(wad("15000.5"));

      await clients.carol.deposit("1000");
      await clients.dave.deposit("300");
    });

    it("quotes, then opens isolated and cross positions exactly as quoted", async function () {
      const { alice, bob } = clients;
      // Alice: isolated long sized by margin and leverage: 1,000 USD x 10 / $2,000 = 5 ETH.
      const quote = await alice.quoteTrade({ market: "ETH-USD", side: "long", margin: "1000", leverage: 10, isolated: true });
      expect(quote.rejection).to.equal(undefined);
      expect(quote.sizeDelta).to.equal(wad("5"));
      expect(quote.marginDelta).to.equal(wad("1000"));
      expect(quote.indexPrice).to.equal(wad("2000"));
      expect(quote.fillPrice).to.equal(wad("2000.005")); // 2000 * (1 + 2.5 / 1,000,000)
      expect(quote.fee).to.equal(wad("5.0000125")); // taker 0.05 % of 10,000.025
      expect(quote.notional).to.equal(wad("10000.025"));
      expect(quote.fundingRatePerDay).to.equal(0n);
      expect(quote.fundingRatePerDayAfter).to.equal(wad("0.00001")); // 5 / 1,000,000 * funding factor 2
      expect(quote.liquidationPrice > 0n && quote.liquidationPrice < wad("2000")).to.equal(true);
      const opened = await sendAndMatch(alice, quote);
      // A fresh position owes no funding yet: the estimated liquidation price is the engine's at the trade's block.
      expect(quote.liquidationPrice).to.equal(
        await alice.engine.liquidationPrice(wallets.alice.address, ETH, { blockTag: opened.blockNumber }),
      );
      const position = await alice.engine.getPosition(wallets.alice.address, ETH);
      expect(position.size).to.equal(wad("5"));
      expect(position.entryPrice).to.equal(wad("2000.005"));
      expect(position.margin).to.equal(wad("994.9999875"));
      expect((await alice.account()).crossBalance).to.equal(wad("19000"));

      // Bob, cross: a short ETH against Alice's skew (maker fee), and a short BTC (taker fee).
      const ethQuote = await bob.quoteTrade({ market: "eth", side: "short", size: "2" });
      expect(ethQuote.isolated).to.equal(false);
      expect(ethQuote.fillPrice).to.equal(wad("2000.008"));
      expect(ethQuote.fee).to.equal(wad("0.8000032")); // maker 0.02 % of 4,000.016
      const bobOpened = await sendAndMatch(bob, ethQuote);
      expect(ethQuote.liquidationPrice > wad("2000")).to.equal(true);
      expect(ethQuote.liquidationPrice).to.equal(
        await bob.engine.liquidationPrice(wallets.bob.address, ETH, { blockTag: bobOpened.blockNumber }),
      );
      const btcQuote = await bob.quoteTrade({ market: BTC, side: "short", size: "0.2", slippage: "0.1%" });
      expect(btcQuote.fillPrice).to.equal(wad("59999.8"));
      expect(btcQuote.fee).to.equal(wad("5.99998"));
      expect(btcQuote.acceptablePrice).to.equal(wad("59939.8002")); // fill * (1 - 0.1 %)
      await sendAndMatch(bob, btcQuote);
      const bobAccount = await bob.account();
      expect(bobAccount.crossBalance).to.equal(wad("15000.5") - wad("0.8000032") - wad("5.99998"));
      expect(bobAccount.crossMarkets).to.equal(0b11n);

      // Every position's valuation and liquidation price equal the contracts' views at the same block.
      for (const [name, client] of [["alice", alice], ["bob", bob]] as const) {
        const snap = await client.snapshot();
        const positions = await client.positions(undefined, snap);
        expect(positions.length, name).to.equal(name === "alice" ? 1 : 2);
        for (const p of positions) {
          const tag = { blockTag: snap.blockNumber };
          const chain = await client.engine.positionHealth(wallets[name].address, p.marketId, tag);
          expect(p.health.equity).to.equal(chain.equity);
          expect(p.health.maintenanceMargin).to.equal(chain.maintenanceMargin);
          expect(p.liquidatable).to.equal(chain.liquidatable);
          expect(p.liquidationPrice, `${name} ${p.symbol}`).to.equal(
            await client.engine.liquidationPrice(wallets[name].address, p.marketId, tag),
          );
        }
      }
    });

    it("reduces a position, then moves isolated margin in and out", async function () {
      const { alice } = clients;
      const before = await alice.engine.getPosition(wallets.alice.address, ETH);
      // Isolated is inferred from the open position.
      const quote = await alice.quoteTrade({ market: "ETH", side: "short", size: "2" });
      expect(quote.isolated).to.equal(true);
      expect(quote.fillPrice).to.equal(wad("2000.004"));
      expect(quote.fee).to.equal(wad("0.8000016"));
      expect(quote.simulation.realizedPnl).to.equal(-wad("0.002")); // 2 * (2000.004 - 2000.005)
      const executed = await sendAndMatch(alice, quote);
      const reduced = await alice.engine.getPosition(wallets.alice.address, ETH);
      expect(reduced.size).to.equal(wad("3"));
      expect(reduced.entryPrice).to.equal(before.entryPrice);
      expect(reduced.margin).to.equal(before.margin - executed.fundingPaid + executed.realizedPnl - executed.fee);

      const balance = (await alice.account()).crossBalance;
      await alice.addMargin("ETH-USD", "250.5");
      let position = await alice.engine.getPosition(wallets.alice.address, ETH);
      expect(position.margin).to.equal(reduced.margin + wad("250.5"));
      expect((await alice.account()).crossBalance).to.equal(balance - wad("250.5"));
      await alice.removeMargin(ETH, "100");
      position = await alice.engine.getPosition(wallets.alice.address, ETH);
      expect(position.margin).to.equal(reduced.margin + wad("150.5"));
      expect((await alice.account()).crossBalance).to.equal(balance - wad("150.5"));
    });

    it("accrues funding over time, as the contracts do", async function () {
      const { alice, bob } = clients;
      const { current } = await alice.fundingRate("ETH");
      expect(current).to.equal(wad("0.000002")); // skew 1 ETH: 1 / 1,000,000 * 2
      await increaseTime(8 * 3600);
      const snap = await alice.snapshot();
      const tag = { blockTag: snap.blockNumber };
      const [alicePosition] = await alice.positions(undefined, snap);
      expect(alicePosition.accruedFunding > 0n, "longs pay on a long skew").to.equal(true);
      expect(alicePosition.accruedFunding).to.equal(await alice.engine.pendingFunding(wallets.alice.address, ETH, tag));

      const bobSnap = await bob.snapshot();
      const bobTag = { blockTag: bobSnap.blockNumber };
      const bobEth = (await bob.positions(undefined, bobSnap)).find((p) => p.marketId === ETH)!;
      expect(bobEth.accruedFunding < 0n, "shorts receive").to.equal(true);
      expect(bobEth.accruedFunding).to.equal(await bob.engine.pendingFunding(wallets.bob.address, ETH, bobTag));
      const health = await bob.crossHealth(undefined, bobSnap);
      const chain = await bob.engine.crossAccountHealth(wallets.bob.address, bobTag);
      expect([health.equity, health.initialMargin, health.maintenanceMargin, health.funding]).to.deep.equal([
        chain.equity,
        chain.initialMargin,
        chain.maintenanceMargin,
        chain.accruedFunding,
      ]);
    });

    it("refuses over-leveraged trades with the SDK's messages, sending nothing", async function () {
      const { carol } = clients;
      const nonce = await wallets.carol.getNonce();
      const tooMuch = await rejection(carol.trade({ market: "ETH", side: "long", margin: "100", leverage: 51, isolated: true }));
      expect(tooMuch).to.be.instanceOf(InvalidRequestError);
      expect(tooMuch.message).to.equal("leverage 51x is above ETH-USD's maximum of 50x");
      const request = { market: "ETH", side: "long", size: "30", margin: "500", isolated: true } as const;
      const refused = await rejection(carol.trade(request));
      expect(refused).to.be.instanceOf(InvalidRequestError);
      expect(refused.message).to.equal("the engine would reject this trade: TradeBelowInitialMargin");
      // Sent anyway, the engine's revert comes back decoded, with the numbers the mirror predicts.
      const snap = await carol.snapshot();
      const quote = await carol.quoteTrade(request, undefined, snap);
      expect(quote.rejection).to.equal("TradeBelowInitialMargin");
      const v = valueIsolated(quote.simulation.position, quote.simulation.market, quote.indexPrice, snap.now, snap.protocol.keeperRewardMin);
      const error = await rejection(
        withPerpErrors(() => carol.engine.trade(ETH, quote.sizeDelta, quote.acceptablePrice, quote.marginDelta, true)),
      );
      expect(error).to.be.instanceOf(PerpContractError);
      expect((error as PerpContractError).errorName).to.equal("TradeBelowInitialMargin");
      expect(error.message).to.equal(
        `TradeBelowInitialMargin: after this trade, equity at close prices ${formatUsd(v.equityAtClose)} < initial margin ${formatUsd(v.initialMargin)}: add margin or trade smaller`,
      );
      expect(v.initialMargin).to.equal(wad("1200")); // 2 % of 30 ETH at $2,000
      expect(await wallets.carol.getNonce()).to.equal(nonce);
    });

    it("finds liquidatable positions from events after a price drop and liquidates them in one batch", async function () {
      const { carol, dave, keeper, alice } = clients;
      // Carol: isolated 40x long; Dave: cross 40x long. Both within the initial margin at $2,000.
      await sendAndMatch(carol, await carol.quoteTrade({ market: "ETH", side: "long", margin: "200", leverage: 40, isolated: true }));
      await sendAndMatch(dave, await dave.quoteTrade({ market: "ETH", side: "long", size: "6" }));
      const drop = wad("1960");
      const [carolPosition] = await carol.positions();
      const [alicePosition] = await alice.positions();
      // The estimated liquidation prices say who a drop to $1,960 liquidates.
      expect(carolPosition.liquidationPrice >= drop).to.equal(true);
      expect(alicePosition.liquidationPrice < drop).to.equal(true);

      const index = new PositionIndex();
      const head = await provider.getBlockNumber();
      index.apply(await scanPositionEvents(keeper, deployment.deploymentBlock, head, 7));
      expect(index.lastBlock).to.equal(head);
      // The index keeps traders lowercase, as the log topics carry them (no checksum keccak per log).
      const key = (k: { trader: string; marketId: number }) => `${k.trader}:${k.marketId}`;
      expect(index.positions().map(key).sort()).to.deep.equal(
        [
          `${wallets.alice.address}:${ETH}`,
          `${wallets.bob.address}:${ETH}`,
          `${wallets.bob.address}:${BTC}`,
          `${wallets.carol.address}:${ETH}`,
          `${wallets.dave.address}:${ETH}`,
        ].map((k) => k.toLowerCase()).sort(),
      );
      expect(liquidatableUnits(await readHealth(keeper, index.positions()))).to.deep.equal([]);

      await setPrice(ETH, 1960n * 10n ** 8n);
      const healths = await readHealth(keeper, index.positions(), 2);
      expect(healths.every((h) => h.healthValid)).to.equal(true);
      const targets = liquidatableUnits(healths);
      expect(targets.map((t) => [t.trader, t.marketId, t.isolated])).to.deep.equal([
        [wallets.carol.address, ETH, true],
        [wallets.dave.address, ETH, false],
      ]);
      for (const t of targets) {
        expect((await keeper.engine.positionHealth(t.trader, t.marketId)).liquidatable).to.equal(true);
      }

      // A healthy one is refused with the decoded reason, before anything is sent.
      const nonce = await wallets.keeper.getNonce();
      const notLiquidatable = await rejection(keeper.liquidate(wallets.alice.address, "ETH"));
      expect(notLiquidatable).to.be.instanceOf(PerpContractError);
      expect(notLiquidatable.message).to.match(
        new RegExp(`^NotLiquidatable: ${wallets.alice.address} in market 0 is not liquidatable: equity [\\d,]+\\.\\d\\d USD >= maintenance [\\d,]+\\.\\d\\d USD$`),
      );
      expect(await wallets.keeper.getNonce()).to.equal(nonce);

      const receipt = await keeper.liquidateMany(targets);
      const liquidations = keeper.liquidationEvents(receipt);
      expect(liquidations.map((l) => [l.trader, l.marketId, l.keeper])).to.deep.equal([
        [wallets.carol.address, ETH, wallets.keeper.address],
        [wallets.dave.address, undefined, wallets.keeper.address],
      ]);
      // Keeper reward: 0.1 % of the notional at $1,960 (4 and 6 ETH), within [2, 500] USD.
      expect(liquidations.map((l) => l.keeperReward)).to.deep.equal([wad("7.84"), wad("11.76")]);
      expect((await keeper.account()).crossBalance).to.equal(wad("19.6"));
      expect((await carol.engine.getPosition(wallets.carol.address, ETH)).size).to.equal(0n);
      expect((await dave.engine.getPosition(wallets.dave.address, ETH)).size).to.equal(0n);

      // The index follows: the liquidations' events close the two positions.
      const next = await provider.getBlockNumber();
      index.apply(await scanPositionEvents(keeper, index.lastBlock + 1, next));
      expect(index.size).to.equal(3);
      expect(liquidatableUnits(await readHealth(keeper, index.positions()))).to.deep.equal([]);
      // Entries no longer liquidatable are skipped on chain.
      const again = await keeper.liquidateMany(targets);
      expect(keeper.liquidationEvents(again)).to.deep.equal([]);
    });

    it("closes every position as quoted, withdraws the collateral and, after the cooldown, the LP's USDC", async function () {
      const { alice, bob, lp } = clients;
      for (const [client, market] of [[alice, ETH], [bob, ETH], [bob, BTC]] as const) {
        const { quote, receipt } = await client.closePosition(market);
        const [executed] = client.tradeExecutions(receipt);
        expect(executed.newSize).to.equal(0n);
        expect(executed.fillPrice).to.equal(quote.fillPrice);
        expect(executed.fee).to.equal(quote.fee);
        expect(executed.realizedPnl).to.equal(quote.simulation.realizedPnl);
      }
      expect(await alice.positions()).to.deep.equal([]);
      expect(await bob.positions()).to.deep.equal([]);
      const nothing = await rejection(alice.closePosition("ETH"));
      expect(nothing).to.be.instanceOf(InvalidRequestError);
      expect(nothing.message).to.equal("no position in ETH-USD");

      // Everything in the cross balance, to the last whole micro-dollar.
      const { crossBalance } = await alice.account();
      const units = crossBalance / 10n ** 12n;
      const wallet = await alice.token.balanceOf(wallets.alice.address);
      await alice.withdraw(units);
      expect(await alice.token.balanceOf(wallets.alice.address)).to.equal(wallet + units);
      expect((await alice.account()).crossBalance).to.equal(crossBalance % 10n ** 12n);
      const overdraw = await rejection(bob.withdraw("1000000"));
      expect(overdraw.message).to.match(/^InsufficientCrossBalance: cross balance [\d,]+\.\d\d USD < 1,000,000\.00 USD$/);

      // LP shares are locked for a day after a deposit.
      const locked = await rejection(lp.lpWithdraw("10000"));
      expect(locked.message).to.match(/^SharesLocked: LP shares of 0x[0-9a-fA-F]{40} are locked until /);
      await increaseTime(86_400);
      await setPrice(ETH, 2000n * 10n ** 8n);
      await setPrice(BTC, 60_000n * 10n ** 8n);
      const lpWallet = await lp.token.balanceOf(wallets.lp.address);
      await lp.lpWithdraw("10000");
      await increaseTime(60);
      await lp.lpSettle("redeem");
      const { claimableRedeem } = await lp.lpRequests();
      await lp.lpClaim("redeem");
      expect(await lp.token.balanceOf(wallets.lp.address)).to.equal(lpWallet + claimableRedeem.assets);
      expect(claimableRedeem.assets > 0n).to.equal(true);
    });
  });
}
