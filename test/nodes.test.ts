/**
 * The node processes the end-to-end tests start (scripts/lib/nodes.ts): a port found free can be taken before the
 * node binds it, by another test worker's node or by a node restarted on its old port. Waiting must then fail on our
 * node's exit, never return because the other node answers.
 */
import { createServer, type Server } from "node:http";

import { expect } from "chai";

import { NodeStartError, freePort, rpc, startLocalNode, startNode, stopNode, waitForNode } from "../scripts/lib/nodes.js";

/** A JSON-RPC endpoint on `port` that answers every request as a chain 31337 would (another worker's node). */
async function impostor(port: number): Promise<Server> {
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x7a69" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

describe("test nodes: a node whose port was taken", function () {
  this.timeout(30_000);

  it("waitForNode fails with the node's own exit, although something on its port answers as chain 31337", async function () {
    const port = await freePort();
    const other = await impostor(port);
    try {
      expect(await rpc(`http://127.0.0.1:${port}`, "eth_chainId")).to.equal("0x7a69");
      const node = startNode("anvil", port);
      try {
        const error = await waitForNode(node).then(() => undefined, (e: unknown) => e);
        expect(error).to.be.instanceOf(NodeStartError);
        expect((error as Error).message).to.match(/^node exited with \d+:/);
        expect((error as Error).message).to.match(/address already in use/i);
      } finally {
        await stopNode(node);
      }
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it("startLocalNode returns a node that said it listens on its port and answers there", async function () {
    const node = await startLocalNode("anvil");
    try {
      expect(node.output()).to.include(`Listening on ${node.url.slice("http://".length)}`);
      expect(await rpc(node.url, "eth_chainId")).to.equal("0x7a69");
    } finally {
      await stopNode(node);
    }
  });
});
