import { expect } from "chai";

import {
  InvalidAmountError,
  InvalidRequestError,
  PerpClient,
  PerpContractError,
  WrongChainError,
  formatDecimal,
  formatPercent,
  formatPrice,
  formatUsd,
  parseDecimal,
  parsePercent,
  toPerpError,
} from "@perp/sdk";
import { deployProtocol, ETH, usdc, wad } from "../../scripts/lib/fixture.js";
import { networkHelpers } from "../../scripts/lib/network.js";

describe("SDK: decoded errors", function () {
  it("names the custom error and its arguments in plain words", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.engine.connect(p.alice).deposit(usdc(100));
    const client = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    try {
      await p.engine.connect(p.alice).trade(ETH, wad(5), wad(1e9), 0, false);
      expect.fail("should revert");
    } catch (error) {
      const decoded = toPerpError(error);
      expect(decoded).to.be.instanceOf(PerpContractError);
      const e = decoded as PerpContractError;
      expect(e.errorName).to.equal("TradeBelowInitialMargin");
      expect(e.message).to.match(
        /^TradeBelowInitialMargin: after this trade, equity at close prices 9[0-9]\.\d\d USD < initial margin 100\.00 USD: add margin or trade smaller$/,
      );
      expect(e.args.initialMargin).to.equal(wad(100));
    }
    // Through the client: the same decoding, for withdrawals above the balance.
    try {
      await client.withdraw("150");
      expect.fail("should revert");
    } catch (error) {
      expect((error as Error).message).to.equal("InsufficientCrossBalance: cross balance 100.00 USD < 150.00 USD");
    }
  });

  it("decodes oracle, vault and token errors too", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await p.eth.aggregator.setAnswer(0);
    const eth = await p.eth.aggregator.getAddress();
    await p.engine.indexPrice(ETH).then(
      () => expect.fail("should revert"),
      (error) => expect(toPerpError(error).message).to.equal(`InvalidOraclePrice: oracle ${eth} answered an invalid price (0)`),
    );
    await p.vault.connect(p.carol)["deposit(uint256,address)"](usdc(1), p.lp).then(
      () => expect.fail("should revert"),
      (error) => expect(toPerpError(error).message).to.match(/^DepositForAnotherAccount: vault deposits must be made for yourself/),
    );
    await p.usdc.connect(p.carol).approve(p.engine, 0);
    await p.engine.connect(p.carol).deposit(usdc(5)).then(
      () => expect.fail("should revert"),
      (error) => expect(toPerpError(error).message).to.equal("ERC20InsufficientAllowance: allowance 0.00 USDC is below 5.00 USDC: approve first"),
    );
  });

  it("refuses requests it can tell are wrong before sending anything", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const client = await PerpClient.connect({ runner: p.alice, deployment: p.deployment });
    const nonce = await p.alice.getNonce();
    await expect(client.quoteTrade({ market: "DOGE-USD", side: "long", size: "1" })).to.be.rejectedWith(
      InvalidRequestError,
      'unknown market "DOGE-USD"; listed: ETH-USD, BTC-USD',
    );
    await expect(client.quoteTrade({ market: "ETH", side: "long", margin: "100", leverage: 101 })).to.be.rejectedWith(
      InvalidRequestError,
      "leverage 101x is above ETH-USD's maximum of 100x",
    );
    await expect(client.quoteTrade({ market: "ETH", side: "long", size: "-1" })).to.be.rejectedWith(
      InvalidRequestError,
      "the size must be positive",
    );
    await expect(client.deposit("0")).to.be.rejectedWith(InvalidRequestError, "the amount must be positive");
    await expect(client.deposit("1.0000001")).to.be.rejectedWith(InvalidAmountError, "more than 6 decimals");
    expect(await p.alice.getNonce()).to.equal(nonce);
  });

  it("checks the chain id when connecting", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    await expect(PerpClient.connect({ runner: p.alice, deployment: { ...p.deployment, chainId: 1 } })).to.be.rejectedWith(
      WrongChainError,
      "the RPC endpoint serves chain 31337, the deployment is on chain 1",
    );
  });
});

describe("SDK: units", function () {
  it("parses decimals exactly and rejects malformed input", function () {
    expect(parseDecimal("1,234.5", 6)).to.equal(1_234_500_000n);
    expect(parseDecimal("-0.25", 18)).to.equal(-(10n ** 17n) * 25n / 10n);
    expect(parseDecimal(".5", 2)).to.equal(50n);
    for (const bad of ["", ".", "1e5", "abc", "1.2.3", "0x10", "--1"]) {
      expect(() => parseDecimal(bad, 6), bad).to.throw(InvalidAmountError);
    }
    expect(parsePercent("0.5%")).to.equal(wad("0.005"));
    expect(parsePercent("2")).to.equal(wad("0.02"));
  });

  it("formats USD, prices and percentages", function () {
    expect(formatUsd(wad("1234.565"))).to.equal("1,234.57 USD");
    expect(formatUsd(-wad("0.004"))).to.equal("0.00 USD");
    expect(formatPrice(wad("1809.8442201"))).to.equal("$1,809.84");
    expect(formatPercent(wad("0.0950"))).to.equal("9.50 %");
    expect(formatDecimal(1_500_000n, 6)).to.equal("1.5");
  });
});
