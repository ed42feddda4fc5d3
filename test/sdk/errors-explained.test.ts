import { expect } from "chai";
import { Interface, type ParamType } from "ethers";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import {
  CONTRACT_ABIS,
  CROSS,
  EXPLANATIONS,
  PerpContractError,
  contractErrorNames,
  decodeRevertData,
} from "@perp/sdk";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Every `.json` artifact under artifacts/contracts (the project's own contracts, mocks included). */
function artifactAbis(): { name: string; abi: { type: string; name?: string }[] }[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".json") && !e.name.endsWith(".dbg.json") ? [path.join(dir, e.name)] : [],
    );
  return walk(path.join(root, "artifacts", "contracts")).map((file) => {
    const artifact = JSON.parse(readFileSync(file, "utf8")) as { contractName: string; abi: { type: string; name?: string }[] };
    return { name: artifact.contractName, abi: artifact.abi };
  });
}

function sample(type: ParamType, seed: number): unknown {
  if (type.type === "address") return "0x" + (seed + 1).toString(16).padStart(40, "0");
  if (type.type === "bool") return seed % 2 === 1;
  if (type.type === "string") return `code${seed}`;
  if (type.type.startsWith("bytes")) return "0x" + "ab".repeat(Number(type.type.slice(5)) || 32);
  const bits = Number(type.type.replace(/^u?int/, "")) || 256;
  const magnitude = bits >= 128 ? BigInt(seed + 1) * 10n ** 18n : BigInt(seed + 1);
  return type.type.startsWith("int") ? -magnitude : magnitude;
}

describe("SDK: every contract error is explained in words", function () {
  it("has an explanation for every custom error of every compiled contract, and none for errors that do not exist", function () {
    const inArtifacts = new Set(artifactAbis().flatMap(({ abi }) => abi.filter((i) => i.type === "error").map((i) => i.name!)));
    const inSdk = new Set<string>(contractErrorNames());
    const unexplained = [...inArtifacts].filter((name) => !(name in EXPLANATIONS)).sort();
    expect(unexplained, "errors without an explanation in sdk/src/errors/explain.ts").to.deep.equal([]);
    expect([...inArtifacts].filter((name) => !inSdk.has(name)).sort(), "errors the SDK does not decode (add the ABI to errors/abi.ts)").to.deep.equal([]);
    expect(Object.keys(EXPLANATIONS).filter((name) => !inArtifacts.has(name)).sort(), "stale explanations").to.deep.equal([]);
    expect(inArtifacts.size).to.be.greaterThan(50);
  });

  it("decodes each one from revert data into its name and a sentence, never the raw arguments", function () {
    let count = 0;
    for (const abi of Object.values(CONTRACT_ABIS)) {
      const iface = new Interface(abi as never);
      iface.forEachError((fragment) => {
        const values = fragment.inputs.map((input, i) => sample(input, i));
        const decoded = decodeRevertData(iface.encodeErrorResult(fragment, values));
        expect(decoded, fragment.format()).to.be.instanceOf(PerpContractError);
        expect(decoded!.errorName).to.equal(fragment.name);
        const text = decoded!.message.slice(fragment.name.length + 2);
        expect(decoded!.message.startsWith(`${fragment.name}: `), decoded!.message).to.equal(true);
        expect(text.length, fragment.name).to.be.greaterThan(10);
        // The generic fallback prints `name=value`; an explanation never does.
        for (const input of fragment.inputs) expect(text, fragment.name).to.not.include(`${input.name}=`);
        count += 1;
      });
    }
    expect(count).to.be.greaterThan(50);
  });

  it("formats the numbers: USD, prices, sizes, times and the cross sentinel", function () {
    const engine = new Interface(CONTRACT_ABIS.PerpEngine as never);
    const vault = new Interface(CONTRACT_ABIS.LiquidityVault as never);
    const oracle = new Interface(CONTRACT_ABIS.ChainlinkPriceFeed as never);
    const logic = new Interface(CONTRACT_ABIS.LiquidationLogic as never);
    const say = (iface: Interface, name: string, args: unknown[]) => decodeRevertData(iface.encodeErrorResult(name, args))!.message;
    expect(say(engine, "PositionModeMismatch", [0n, true])).to.equal(
      "PositionModeMismatch: the open position in market 0 is isolated: trade it as isolated (a position keeps its margin mode until it is closed)",
    );
    expect(say(engine, "PositionModeMismatch", [1n, false])).to.match(/market 1 is cross: trade it as cross/);
    expect(say(engine, "TooManyCrossPositions", [16n])).to.equal("TooManyCrossPositions: at most 16 cross positions per account");
    expect(say(logic, "InsufficientVaultLiquidity", [1_500n * 10n ** 18n, -25n * 10n ** 17n])).to.equal(
      "InsufficientVaultLiquidity: the LP vault needs 1,500.00 USD of cash, it has -2.50 USD",
    );
    expect(say(engine, "SlippageExceeded", [188080n * 10n ** 16n, 187009n * 10n ** 16n])).to.equal(
      "SlippageExceeded: fill price $1,880.80 is worse than the acceptable $1,870.09",
    );
    expect(say(engine, "NotLiquidatable", ["0x" + "a".repeat(40), CROSS, 10n ** 18n, 2n * 10n ** 18n])).to.match(
      /in the cross account is not liquidatable: equity 1\.00 USD >= maintenance 2\.00 USD$/,
    );
    expect(say(vault, "SharesLocked", ["0x" + "b".repeat(40), 86_400n])).to.match(/are locked until 1970-01-02T00:00:00\.000Z$/);
    expect(say(oracle, "UnsupportedFeedDecimals", [19])).to.equal(
      "UnsupportedFeedDecimals: the Chainlink feed has 19 decimals; the adapter supports at most 18",
    );
  });
});
