/**
 * The JSON-RPC node of an end-to-end test file, one per file (per node kind): a Hardhat node served from this
 * process (`hre.network.createServer("node")`: the EDR chain and JSON-RPC server of `npx hardhat node`, chain 31337,
 * the same 20 default accounts, automine), or `anvil` in its own process (scripts/lib/nodes.ts). Serving the Hardhat
 * chain from the test process spares a second Hardhat start (about 5 s under load: the CLI, its plugins and the
 * chain's set-up), and the chain set-up is shared with the in-process networks of the other files. Keepers, CLIs and
 * scripts spawned by a test still talk to it over HTTP on 127.0.0.1. test/deploy.test.ts keeps a real
 * `npx hardhat node` process, so that the command itself stays tested.
 */
import hre from "hardhat";

import { rpc, startLocalNode, stopNode } from "../../scripts/lib/nodes.js";

export interface TestNode {
  readonly kind: "hardhat" | "anvil";
  readonly url: string;
  /** Stops the node (the Hardhat server: its interval mining too, so that nothing keeps mining in this process). */
  stop(): Promise<void>;
}

export async function startTestNode(kind: "hardhat" | "anvil"): Promise<TestNode> {
  if (kind === "anvil") {
    const node = await startLocalNode("anvil");
    return { kind, url: node.url, stop: () => stopNode(node) };
  }
  const server = await hre.network.createServer("node", "127.0.0.1", 0);
  const { address, port } = await server.listen();
  const url = `http://${address}:${port}`;
  let stopped = false;
  return {
    kind,
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await rpc(url, "evm_setIntervalMining", [0]);
      await server.close();
    },
  };
}
