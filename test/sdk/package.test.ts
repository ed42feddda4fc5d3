import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)],
  );
}

describe("SDK package", function () {
  this.timeout(120_000);

  it("builds with tsc and imports as @perp/sdk in plain Node, without Hardhat", function () {
    execFileSync("npm", ["run", "build", "-w", "@perp/sdk"], { cwd: root, stdio: "pipe" });
    // A separate Node process with no TypeScript loader: only the built package and ethers.
    const script = `
      const sdk = await import("@perp/sdk");
      const node = await import("@perp/sdk/node");
      const keeper = await import("@perp/sdk/keeper");
      const contracts = await import("@perp/sdk/contracts");
      const deployment = node.loadDeployment("localhost", ${JSON.stringify(path.join(root, "deployments"))});
      const fill = sdk.math.fillPrice(2000n * sdk.WAD, 0n, sdk.WAD, 1000000n * sdk.WAD);
      console.log(JSON.stringify({
        client: typeof sdk.PerpClient,
        chainId: deployment.chainId,
        fill: fill.toString(),
        cross: sdk.CROSS === 2n ** 256n - 1n,
        actions: [typeof sdk.deposit, typeof sdk.autoDeleverage, typeof sdk.getLpPosition, typeof sdk.decodeReceipt],
        keeper: [typeof keeper.ChainIndex, typeof keeper.evaluate, typeof keeper.readHealth],
        factory: typeof contracts.MockUSDC__factory,
        rpc: node.resolveRpcUrl(undefined, { env: { LOCALHOST_RPC_URL: "http://127.0.0.1:9201" } }),
      }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(JSON.parse(out.trim())).to.deep.equal({
      client: "function",
      chainId: 31337,
      fill: "2000001000000000000000",
      cross: true,
      actions: ["function", "function", "function", "function"],
      keeper: ["function", "function", "function"],
      factory: "function",
      rpc: "http://127.0.0.1:9201",
    });
    const importsHardhat = filesUnder(path.join(root, "sdk/dist")).filter((file) =>
      /from ["']hardhat|import\(["']hardhat|require\(["']hardhat/.test(readFileSync(file, "utf8")),
    );
    expect(importsHardhat).to.deep.equal([]);
    // The bindings are the package's own: nothing outside dist/ is compiled in.
    expect(filesUnder(path.join(root, "sdk/dist")).filter((file) => file.includes(`${path.sep}types${path.sep}ethers-contracts`))).to.deep.equal([]);
    // Only node.js (and what only it imports) touches Node built-ins: the main entry stays browser-safe.
    const nodeBuiltins = filesUnder(path.join(root, "sdk/dist"))
      .filter((file) => file.endsWith(".js") && /from ["']node:/.test(readFileSync(file, "utf8")))
      .map((file) => path.relative(path.join(root, "sdk/dist"), file));
    expect(nodeBuiltins).to.deep.equal(["node.js"]);
  });
});
