/**
 * A private key from Hardhat's encrypted keystore: `npx hardhat keystore get <NAME>` runs as a child process and its
 * stdout is captured, never shown.
 *
 * The password is asked here, on the terminal without echo (or read from the first line of stdin when stdin is not
 * a terminal), and handed to the child on its stdin: Hardhat writes its own password prompt to stdout, which is
 * captured, and would echo what is typed, since its output is not a terminal.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

import { CliError } from "./errors.js";
import { readSecret } from "./prompt.js";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const require = createRequire(import.meta.url);
const HARDHAT_CLI = path.join(path.dirname(require.resolve("hardhat/package.json")), "dist", "src", "cli.js");
const PROMPT_MARKER = "Enter the password:";
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** Reads the keystore value `name` (the caller registers it as a secret before anything else). */
export async function keystoreValue(name: string): Promise<string> {
  const password = await readSecret(`Password of the Hardhat keystore (for ${name}): `);
  if (password === "") throw new CliError("--keystore needs the keystore's password (typed on a terminal, or on stdin)");
  const child = spawn(process.execPath, [HARDHAT_CLI, "keystore", "get", name], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(`${password}\n`);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const afterPrompt = stdout.includes(PROMPT_MARKER)
    ? stdout.slice(stdout.lastIndexOf(PROMPT_MARKER) + PROMPT_MARKER.length)
    : stdout;
  const lines = afterPrompt.replace(ANSI, "").split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "");
  if (code === 0 && lines.length === 1) return lines[0];
  // Failure: Hardhat's own message (key not found, wrong password...), which never contains the value.
  const reason =
    code === 0
      ? "unexpected output"
      : (lines[0] ?? stderr.replace(ANSI, "").split(/\r?\n/).find((line) => line.trim() !== "") ?? `exit code ${String(code)}`);
  throw new CliError(`cannot read "${name}" from the Hardhat keystore: ${reason.trim()}`);
}
