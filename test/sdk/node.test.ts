import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import {
  ConfigurationError,
  DeploymentNotFoundError,
  InvalidDeploymentError,
  deploymentProblems,
  deploymentsDirectory,
  loadDeployment,
  normalizePrivateKey,
  redactUrl,
  resolveDeployment,
  resolveRpcUrl,
  validateDeployment,
} from "@perp/sdk/node";
import { deployProtocol } from "../../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../../scripts/lib/network.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const localhost = JSON.parse(readFileSync(path.join(root, "deployments", "localhost.json"), "utf8"));

/** A deployments directory with localhost.json, a second chain's record and a file that is not JSON. */
function directory(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "perp-deployments-"));
  writeFileSync(path.join(dir, "localhost.json"), JSON.stringify(localhost));
  writeFileSync(path.join(dir, "other.json"), JSON.stringify({ ...localhost, network: "other", chainId: 999 }));
  writeFileSync(path.join(dir, "broken.json"), "{ not json");
  return dir;
}

describe("@perp/sdk/node", function () {
  it("resolves the RPC URL the same way for every app: option, RPC_URL, LOCALHOST_RPC_URL, then port 8545", function () {
    const env = { RPC_URL: "http://10.0.0.1:9000", LOCALHOST_RPC_URL: "http://127.0.0.1:9201" };
    expect(resolveRpcUrl("https://rpc.example/key", { env })).to.equal("https://rpc.example/key");
    expect(resolveRpcUrl(undefined, { env })).to.equal("http://10.0.0.1:9000");
    expect(resolveRpcUrl("", { env: { LOCALHOST_RPC_URL: env.LOCALHOST_RPC_URL } })).to.equal("http://127.0.0.1:9201");
    expect(resolveRpcUrl(undefined, { env: { LOCALHOST_RPC_URL: env.LOCALHOST_RPC_URL }, network: "localhost" })).to.equal(
      "http://127.0.0.1:9201",
    );
    expect(resolveRpcUrl(undefined, { env: {} })).to.equal("http://127.0.0.1:8545");
    expect(() => resolveRpcUrl(undefined, { env: { LOCALHOST_RPC_URL: "http://x:1" }, network: "sepolia" })).to.throw(
      ConfigurationError,
      'no RPC endpoint for network "sepolia": pass --rpc <url> or set RPC_URL',
    );
    expect(() => resolveRpcUrl("ws://127.0.0.1:8545", { env: {} })).to.throw(ConfigurationError, "must be http:// or https://, not ws:");
    expect(() => resolveRpcUrl("localhost:8545x", { env: {} })).to.throw(ConfigurationError);
  });

  it("redacts URLs for logs: scheme, host and port only", function () {
    expect(redactUrl("https://eth-sepolia.g.alchemy.com/v2/SECRET")).to.equal("https://eth-sepolia.g.alchemy.com/…");
    expect(redactUrl("https://user:pw@rpc.example:8443")).to.equal("https://rpc.example:8443/…");
    expect(redactUrl("https://rpc.example/?key=SECRET")).to.equal("https://rpc.example/…");
    expect(redactUrl("http://127.0.0.1:8545")).to.equal("http://127.0.0.1:8545");
    expect(redactUrl("not a url")).to.equal("(invalid URL)");
  });

  it("resolves a deployment by path, by name, by the endpoint's chain id, else localhost", function () {
    const dir = directory();
    const byPath = resolveDeployment(path.join(dir, "other.json"));
    expect([byPath.deployment.chainId, byPath.source]).to.deep.equal([999, path.join(dir, "other.json")]);
    expect(resolveDeployment("other", { directory: dir }).deployment.chainId).to.equal(999);
    expect(resolveDeployment(undefined, { directory: dir, chainId: 999 }).deployment.network).to.equal("other");
    expect(resolveDeployment(undefined, { directory: dir }).source).to.equal(path.join(dir, "localhost.json"));
    expect(resolveDeployment("", { env: { PERP_DEPLOYMENTS_DIR: dir }, chainId: 31337 }).deployment.network).to.equal("localhost");
    expect(deploymentsDirectory({}, "/srv/app")).to.equal(path.resolve("/srv/app/deployments"));
    expect(loadDeployment(31337, dir).network).to.equal("localhost"); // the broken file is skipped in a chain-id lookup
    expect(() => resolveDeployment("sepolia", { directory: dir })).to.throw(DeploymentNotFoundError, /no deployment for network "sepolia"/);
    expect(() => resolveDeployment(undefined, { directory: dir, chainId: 5 })).to.throw(DeploymentNotFoundError, /chain 5/);
    expect(() => resolveDeployment(path.join(dir, "missing.json"))).to.throw(DeploymentNotFoundError, "no deployment file at");
    expect(() => resolveDeployment(path.join(dir, "broken.json"))).to.throw(InvalidDeploymentError, "is not a deployment file");
  });

  it("validates a record's shape and names the first problem", function () {
    expect(validateDeployment(localhost, "x.json")).to.equal(localhost);
    const bad = (value: unknown) => () => validateDeployment(value, "x.json");
    expect(bad([])).to.throw(InvalidDeploymentError, "x.json is not a deployment file: not a JSON object");
    expect(bad({ ...localhost, schemaVersion: 2 })).to.throw(InvalidDeploymentError, "schemaVersion is 2, expected 1");
    expect(bad({ ...localhost, contracts: { ...localhost.contracts, PerpLens: "0x12" } })).to.throw(
      InvalidDeploymentError,
      "contracts.PerpLens is not an address",
    );
    expect(bad({ ...localhost, markets: [{ id: 0, symbol: "ETH-USD" }] })).to.throw(InvalidDeploymentError, "markets[0] needs");
    // The v2 fields are optional, and checked when present.
    const v2 = {
      ...localhost,
      contracts: { ...localhost.contracts, OrderBook: localhost.contracts.PerpLens },
      pyth: localhost.contracts.PerpLens,
      hermesUrl: "https://hermes.pyth.network",
      markets: (localhost.markets as Record<string, unknown>[]).map((m) => ({ ...m, pythPriceId: "0x" + "ab".repeat(32) })),
    };
    expect(validateDeployment(v2, "x.json")).to.equal(v2);
    expect(bad({ ...v2, contracts: { ...v2.contracts, OrderBook: "0x12" } })).to.throw(InvalidDeploymentError, "contracts.OrderBook is not an address");
    expect(bad({ ...v2, hermesUrl: "hermes.pyth.network" })).to.throw(InvalidDeploymentError, "hermesUrl is not an http(s) URL");
    expect(bad({ ...v2, markets: [{ ...v2.markets[0], pythPriceId: "0xab" }] })).to.throw(
      InvalidDeploymentError,
      "markets[0].pythPriceId is not a 32-byte hex feed id",
    );
  });

  it("normalises a private key without echoing it", function () {
    const key = "ab".repeat(32);
    expect(normalizePrivateKey(` ${key}\n`, "PRIVATE_KEY")).to.equal(`0x${key}`);
    expect(normalizePrivateKey(`0X${key}`, "PRIVATE_KEY")).to.equal(`0x${key}`);
    expect(() => normalizePrivateKey("0x1234", "PRIVATE_KEY")).to.throw(ConfigurationError, /^PRIVATE_KEY is not a private key/);
    let message = "";
    try {
      normalizePrivateKey(`${key}ff`, "the keystore value K");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).to.match(/^the keystore value K is not a private key/);
    expect(message).to.not.include(key);
  });

  it("checks a record against the chain: contracts missing (redeploy), or wired to other contracts", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    // The fixture deploys the libraries but does not record them; point those entries at contracts with code.
    const engine = p.deployment.contracts.PerpEngine;
    const deployment = { ...p.deployment, contracts: { ...p.deployment.contracts, LiquidationLogic: engine, LiquidationPriceLogic: engine, MarketAdminLogic: engine } };
    expect(await deploymentProblems(ethers.provider, deployment)).to.deep.equal([]);
    const wrongVault = { ...deployment, contracts: { ...deployment.contracts, LiquidityVault: deployment.contracts.PerpLens } };
    expect(await deploymentProblems(ethers.provider, wrongVault)).to.deep.equal([
      `the engine's vault is ${p.deployment.contracts.LiquidityVault}, expected ${deployment.contracts.PerpLens}`,
    ]);
    const gone = { ...deployment, contracts: { ...deployment.contracts, PerpEngine: "0x" + "1".repeat(40) } };
    expect(await deploymentProblems(ethers.provider, gone)).to.deep.equal([`no code at PerpEngine 0x${"1".repeat(40)}`]);
    expect(await deploymentProblems(ethers.provider, { ...deployment, chainId: 1 })).to.deep.equal([
      "the record is for chain 1, the node serves 31337",
    ]);
  });
});
