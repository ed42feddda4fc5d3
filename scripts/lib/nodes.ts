/**
 * Separate JSON-RPC node processes for end-to-end tests: a `hardhat node` or `anvil` on a free 127.0.0.1 port, and the
 * deploy script run against it as a child process. The test files start anvil through test/helpers/node.ts (which
 * serves the Hardhat chain from the test process instead); test/deploy.test.ts runs a real `hardhat node` and the
 * deploy scripts as children, test/keeper-faults.test.ts its own anvil.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");
const require = createRequire(import.meta.url);
export const HARDHAT_CLI = path.join(path.dirname(require.resolve("hardhat/package.json")), "dist", "src", "cli.js");
export const ANVIL_CLI = path.join(path.dirname(require.resolve("@foundry-rs/anvil/package.json")), "bin.mjs");
/** How long a node may take to answer its first request (it may compile first). */
const NODE_START_TIMEOUT_MS = 30_000;
/** One run of the deploy script (a few seconds). */
const DEPLOY_TIMEOUT_MS = 50_000;

export interface RunResult {
  code: number | null;
  output: string;
}

export interface Node {
  process: ChildProcess;
  url: string;
  output: () => string;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Starts a node in its own process group (so that stopping it also stops any process it spawned). */
export function startNode(kind: "hardhat" | "anvil", port: number): Node {
  const args =
    kind === "hardhat"
      ? [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)]
      : [ANVIL_CLI, "--host", "127.0.0.1", "--port", String(port)];
  const child = spawn(process.execPath, args, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  // Detached, the node would outlive a test process that dies before `after()`: stop it on exit in any case.
  const stopOnExit = () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  };
  process.once("exit", stopOnExit);
  child.once("exit", () => process.removeListener("exit", stopOnExit));
  let output = "";
  // Only kept in memory, for failure messages; the default accounts' keys it prints are not written anywhere.
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { process: child, url: `http://127.0.0.1:${port}`, output: () => output };
}

export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/**
 * Waits until the node itself says it listens on its port, then polls `eth_chainId` until it answers; fails early if
 * the node exits. The line matters: a port found free can be taken by another process before the node binds it (two
 * test workers, a node restarted on its old port), and an answer alone could come from that other node.
 */
export async function waitForNode(node: Node): Promise<void> {
  const deadline = Date.now() + NODE_START_TIMEOUT_MS;
  const port = new URL(node.url).port;
  const listening = new RegExp(`(?:Listening on |JSON-RPC server at http://)127\\.0\\.0\\.1:${port}\\b`);
  for (;;) {
    if (node.process.exitCode !== null || node.process.signalCode !== null) {
      throw new NodeStartError(`node exited with ${node.process.exitCode ?? node.process.signalCode}:\n${node.output()}`);
    }
    try {
      if (listening.test(node.output()) && (await rpc(node.url, "eth_chainId")) === "0x7a69") return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`node at ${node.url} did not answer:\n${node.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function stopNode(node: Node | undefined): Promise<void> {
  const child = node?.process;
  if (child === undefined || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(-child.pid, "SIGTERM");
  await exited;
}

/** What a `hardhat run` child process printed, and how it ended. */
export interface ScriptRun extends RunResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Wall milliseconds from spawn to exit. */
  readonly ms: number;
}

/**
 * `hardhat run --no-compile <script> [args]` as a child process with `env` on top of this process's environment,
 * killed after `timeoutMs` so that a hung script never outlives the test. `output` interleaves stdout and stderr.
 */
export async function runHardhatScript(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ScriptRun> {
  const started = performance.now();
  // `hardhat test` has just compiled: the child uses those artifacts instead of racing to rebuild them.
  const child = spawn(process.execPath, [HARDHAT_CLI, "run", "--no-compile", script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => ((stdout += chunk.toString()), (output += chunk.toString())));
  child.stderr.on("data", (chunk: Buffer) => ((stderr += chunk.toString()), (output += chunk.toString())));
  const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", resolve);
    });
    return { code, output, stdout, stderr, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** `hardhat run scripts/deploy.ts --network localhost` against `url`, with the given extra environment. */
export async function runDeploy(url: string, env: Record<string, string>): Promise<RunResult> {
  const cleared = { PERP_MODULE: "", PERP_PARAMETERS: "", PERP_DEPLOYMENTS_DIR: "", PERP_IGNITION_DEPLOYMENTS_DIR: "" };
  return runHardhatScript("scripts/deploy.ts", ["--network", "localhost"], { LOCALHOST_RPC_URL: url, ...cleared, ...env }, DEPLOY_TIMEOUT_MS);
}


/** A node process that exited before it answered (its port taken, most often). */
export class NodeStartError extends Error {
  override name = "NodeStartError";
}

/** Starts a node of `kind` on a free port and waits until it answers; a node that exits first is started again on another port. */
export async function startLocalNode(kind: "hardhat" | "anvil", attempts = 3): Promise<Node> {
  for (let attempt = 1; ; attempt++) {
    const node = startNode(kind, await freePort());
    try {
      await waitForNode(node);
      return node;
    } catch (error) {
      await stopNode(node);
      if (!(error instanceof NodeStartError) || attempt >= attempts) throw error;
    }
  }
}
