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
      const deployment = node.loadDeployment("localhost", ${JSON.stringify(path.join(root, "deployments"))});
      const fill = sdk.math.fillPrice(2000n * sdk.WAD, 0n, sdk.WAD, 1000000n * sdk.WAD);
      console.log(JSON.stringify({ client: typeof sdk.PerpClient, chainId: deployment.chainId, fill: fill.toString() }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(JSON.parse(out.trim())).to.deep.equal({ client: "function", chainId: 31337, fill: "2000001000000000000000" });
    const importsHardhat = filesUnder(path.join(root, "sdk/dist")).filter((file) =>
      /from ["']hardhat|import\(["']hardhat|require\(["']hardhat/.test(readFileSync(file, "utf8")),
    );
    expect(importsHardhat).to.deep.equal([]);
  });
});
