/**
 * Terminal interaction: the confirmation before a trade (the keystore password is read by scripts/lib/keystore.ts).
 * Prompts go to stderr, so that stdout carries only results (and stays valid JSON with --json).
 */
import { createInterface as createPromiseInterface } from "node:readline/promises";

import { CliError } from "./errors.js";

/**
 * Asks "question [y/N]" on the terminal. `--yes` skips it; without a terminal on stdin it refuses (never waits).
 */
export async function confirm(question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new CliError("refusing to send without confirmation: stdin is not a terminal (pass --yes to confirm)");
  }
  const rl = createPromiseInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^\s*y(es)?\s*$/i.test(answer)) throw new CliError("cancelled: nothing was sent");
  } finally {
    rl.close();
  }
}
