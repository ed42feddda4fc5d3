/**
 * Reads one value from Hardhat's encrypted keystore by running `hardhat keystore get NAME` as a child process. The
 * value is captured from the child's stdout and returned; it is never printed or logged. Shared by the keeper and the
 * trader CLI.
 *
 * The production keystore needs its password. The caller's process asks for it itself (on stderr, without echo, when stdin is
 * a terminal; otherwise it reads the first line of stdin, for unattended use) and hands it to the child through a
 * pipe: the child never talks to the terminal, so its output (the value) can be captured whole, and the password
 * is never echoed.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";

/** Repository root (the Hardhat project whose config enables the keystore plugin). */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, "..", "..");

/** The keystore could not give the value (no keystore, no such key, wrong password). */
export class KeystoreError extends Error {
  override name = "KeystoreError";
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
/** What Hardhat's secret prompt writes (`[hardhat-keystore] Enter the password: `) before its answer. */
const PASSWORD_PROMPT = /^.*Enter the password: ?/;

function hardhatCommand(args: string[]): { command: string; args: string[] } {
  try {
    const require = createRequire(import.meta.url);
    const cli = path.join(path.dirname(require.resolve("hardhat/package.json")), "dist", "src", "cli.js");
    if (existsSync(cli)) return { command: process.execPath, args: [cli, ...args] };
  } catch {
    // not resolvable from here: fall back to npx
  }
  return { command: "npx", args: ["hardhat", ...args] };
}

/**
 * One line from the user without echo: typed on the terminal (raw mode, nothing shown), or the first line of stdin
 * when it is not a terminal. Ctrl-C aborts the process (exit 130).
 */
export async function readSecretLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const lines = readline.createInterface({ input: stdin, terminal: false });
    try {
      for await (const line of lines) return line;
      return "";
    } finally {
      lines.close();
    }
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  try {
    return await new Promise<string>((resolve) => {
      let value = "";
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            resolve(value);
            return;
          }
          if (ch === "\u0003") {
            process.stderr.write("\n");
            process.exit(130);
          }
          if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

/**
 * `npx hardhat keystore get [--dev] NAME`, value captured.
 * @param dev read the development keystore (no password; for local chains only).
 * @param password the production keystore's password; asked with `readSecretLine` when not given.
 * @example const key = await readKeystoreValue("KEEPER_PRIVATE_KEY", { dev: false })
 */
export async function readKeystoreValue(
  name: string,
  options: { dev: boolean; password?: string; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<string> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new KeystoreError(`"${name}" is not a keystore key name (letters, digits and underscores)`);
  }
  const password = options.dev
    ? undefined
    : (options.password ?? (await readSecretLine(`Password of the Hardhat keystore (to read ${name}): `)));
  const { command, args } = hardhatCommand(["keystore", "get", ...(options.dev ? ["--dev"] : []), name]);
  const child = spawn(command, args, {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: options.env ?? process.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => (out += chunk));
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => (err += chunk));
  child.stdin.on("error", () => undefined); // the child may exit before reading (no keystore)
  child.stdin.end(password === undefined ? "" : `${password}\n`);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const lines = out
    .replace(ANSI, "")
    .split(/\r?\n/)
    .map((line) => line.replace(PASSWORD_PROMPT, "").trim())
    .filter((line) => line !== "");
  if (code !== 0) {
    // A failed `get` prints Hardhat's explanation, never the value.
    const errors = err.replace(ANSI, "").split(/\r?\n/).map((line) => line.trim());
    const reason = [...lines, ...errors].find((line) => line !== "");
    const kind = options.dev ? "development " : "";
    throw new KeystoreError(`cannot read "${name}" from the Hardhat ${kind}keystore: ${reason ?? `exit code ${code}`}`);
  }
  const value = lines.at(-1);
  if (value === undefined) throw new KeystoreError(`the Hardhat keystore returned no value for "${name}"`);
  return value;
}
