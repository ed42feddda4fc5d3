/**
 * An anvil process that can be killed and started again on the same port with its state (`--state`: loaded at
 * start, dumped on a graceful exit), for the keeper's node-restart fault test.
 */
import { spawn } from "node:child_process";

import { ANVIL_CLI, ROOT, freePort, waitForNode, type Node } from "../../scripts/lib/nodes.js";

/** Whether any process of the group `pgid` is still alive (anvil's launcher exits before anvil has dumped its state). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the node's process group, then waits until every process in it has exited (state written, port free). */
async function stopGroup(node: Node | undefined, timeoutMs = 30_000): Promise<void> {
  const pid = node?.process.pid;
  if (pid === undefined || !groupAlive(pid)) return;
  process.kill(-pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`anvil (process group ${pid}) did not exit within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface RestartableAnvil {
  readonly url: string;
  readonly node: () => Node;
  /** SIGTERM (anvil dumps its state to the file) and waits until anvil itself has exited, not only its launcher. */
  stop(): Promise<void>;
  /** Starts anvil again on the same port from the dumped state, and waits until it answers. */
  start(): Promise<void>;
}

/** Starts anvil on a free port with `--state <stateFile>` (and `extraArgs`, at every start: `--accounts 20`...). */
export async function startRestartableAnvil(stateFile: string, extraArgs: readonly string[] = []): Promise<RestartableAnvil> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let current: Node | undefined;
  const launch = async () => {
    const child = spawn(process.execPath, [ANVIL_CLI, "--host", "127.0.0.1", "--port", String(port), "--state", stateFile, ...extraArgs], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stopOnExit = () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, "SIGTERM");
    };
    process.once("exit", stopOnExit);
    child.once("exit", () => process.removeListener("exit", stopOnExit));
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    current = { process: child, url, output: () => output };
    await waitForNode(current);
  };
  await launch();
  return {
    url,
    node: () => current!,
    stop: () => stopGroup(current),
    start: launch,
  };
}
