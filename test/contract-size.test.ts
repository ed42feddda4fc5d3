import { expect } from "chai";
import { readFileSync } from "node:fs";

/** EIP-170: a contract's runtime code may not exceed 24,576 bytes. */
const EIP170_LIMIT = 24_576;

const DEPLOYABLE = [
  "PerpEngine.sol/PerpEngine",
  "LiquidityVault.sol/LiquidityVault",
  "PerpLens.sol/PerpLens",
  "OrderBook.sol/OrderBook",
  "oracles/ChainlinkPriceFeed.sol/ChainlinkPriceFeed",
  "libraries/LiquidationLogic.sol/LiquidationLogic",
  "libraries/LiquidationPriceLogic.sol/LiquidationPriceLogic",
  "libraries/MarketAdminLogic.sol/MarketAdminLogic",
];

describe("contract sizes", function () {
  for (const name of DEPLOYABLE) {
    it(`${name.split("/").pop()} fits in ${EIP170_LIMIT} bytes`, function () {
      const artifact = JSON.parse(readFileSync(new URL(`../artifacts/contracts/${name}.json`, import.meta.url), "utf8")) as {
        deployedBytecode: string;
      };
      const size = (artifact.deployedBytecode.length - 2) / 2;
      expect(size).to.be.greaterThan(0);
      expect(size).to.be.at.most(EIP170_LIMIT);
    });
  }
});
