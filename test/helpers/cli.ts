/** The trader CLI run inside the test's process: no child process, so each case costs milliseconds, not seconds. */
import { main } from "../../scripts/cli/program.js";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment variables a run reads; each in-process run sets exactly these. */
export const CLI_ENV = ["RPC_URL", "LOCALHOST_RPC_URL", "PERP_DEPLOYMENTS_DIR", "PRIVATE_KEY"] as const;

/** Runs `perp <args>` with `env` as its environment variables (those of CLI_ENV it omits are unset; all restored afterwards). */
export async function runCliInProcess(args: string[], env: Partial<Record<(typeof CLI_ENV)[number], string | undefined>>): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const line = (text: string) => (text.endsWith("\n") ? text : `${text}\n`);
  const io = { out: (text: string) => (stdout += line(text)), err: (text: string) => (stderr += line(text)) };
  const saved = new Map(CLI_ENV.map((name) => [name, process.env[name]]));
  for (const name of CLI_ENV) {
    if (env[name] === undefined) delete process.env[name];
    else process.env[name] = env[name];
  }
  try {
    const code = await main(["node", "perp", ...args], io);
    return { code, stdout, stderr };
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
