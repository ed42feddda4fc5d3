/**
 * The body of `npm start` (scripts/demo.ts is its thin entry): connect, run the demo (scripts/demo/run.ts), and on
 * failure print one line on stderr and return exit code 1. test/demo.test.ts calls it in process, on a fresh
 * in-process chain and on a node, with the output captured: the entry point's own path without a child process.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection, NetworkConnectionParams } from "hardhat/types/network";

import { toPerpError } from "@perp/sdk";
import { Output, type OutputStream } from "./report.js";
import { runDemo } from "./run.js";

export interface DemoMainOptions {
  /** The connection to make (default: the network of `--network`, the in-process one without it). */
  readonly network?: NetworkConnectionParams | string;
  /** Where the story goes (default process.stdout; a terminal gets the progress bar). */
  readonly stdout?: OutputStream;
  /** Where the one-line failure goes (default process.stderr). */
  readonly stderr?: (text: string) => void;
}

/** Runs the demo; returns the exit code (0, or 1 after printing `Demo failed: <reason>`). */
export async function demoMain(hre: HardhatRuntimeEnvironment, options: DemoMainOptions = {}): Promise<number> {
  const started = performance.now();
  const out = new Output(options.stdout ?? process.stdout);
  const stderr = options.stderr ?? ((text: string) => process.stderr.write(text));
  let connection: NetworkConnection | undefined;
  try {
    connection = options.network === undefined ? await hre.network.create() : await hre.network.create(options.network);
    await runDemo(hre, connection, out);
    // Wall time varies from run to run: shown on a terminal only, so that redirected output stays identical.
    if (out.interactive) out.print(`\nFinished in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    return 0;
  } catch (error) {
    out.stopProgress();
    const message = toPerpError(error).message.replace(/\s+/g, " ").trim();
    stderr(`Demo failed: ${message}\n`);
    return 1;
  } finally {
    await connection?.close();
  }
}
