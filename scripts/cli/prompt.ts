/**
 * Terminal interaction: the confirmation before a trade, and the keystore password (hidden). Prompts go to stderr,
 * so that stdout carries only results (and stays valid JSON with --json).
 */
import { createInterface } from "node:readline";
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

/**
 * Reads a secret: on a terminal, typed without echo after `prompt` (on stderr); otherwise the first line of stdin.
 */
export async function readSecret(prompt: string): Promise<string> {
  return process.stdin.isTTY ? readHidden(prompt) : readFirstLine();
}

async function readFirstLine(): Promise<string> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) return line;
    return "";
  } finally {
    rl.close();
  }
}

function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = (error?: CliError) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return finish();
        if (ch === "\u0003") return finish(new CliError("cancelled", 130));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}
