/**
 * `npm run deploy` (and `deploy:pyth`) inside the test's process: the scripts' own body, `deployMain` of
 * scripts/lib/deploy-main.ts over scripts/lib/deploy-protocol.ts, on a Hardhat connection to the test's node
 * (the `localhost` network with the node's URL), with the run's environment variables set for the call only and its
 * output captured. Same steps, same record, same journal as the child `hardhat run scripts/deploy.ts --network
 * localhost`, without the child's 5-10 s of start-up (test/deploy.test.ts keeps one real child run per script).
 */
import hre from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";

import { deployMain } from "../../scripts/lib/deploy-main.js";
import type { RunResult } from "../../scripts/lib/nodes.js";

/** The variables a deploy run reads (scripts/lib/deployment.ts ENV, and the listing's price sources). */
export const DEPLOY_ENV = [
  "PERP_MODULE",
  "PERP_PARAMETERS",
  "PERP_DEPLOYMENTS_DIR",
  "PERP_IGNITION_DEPLOYMENTS_DIR",
  "PERP_PRICE_SERVICE_URL",
  "PYTH_HERMES_URL",
  "PYTH_API_KEY",
] as const;

export type DeployEnv = Partial<Record<(typeof DEPLOY_ENV)[number], string>>;

/** Runs `fn` with exactly `env`'s values for DEPLOY_ENV (the others unset), restoring the environment afterwards. */
export async function withDeployEnv<T>(env: DeployEnv, fn: () => Promise<T>): Promise<T> {
  const saved = new Map(DEPLOY_ENV.map((name) => [name, process.env[name]]));
  for (const name of DEPLOY_ENV) {
    const value = env[name];
    if (value === undefined || value === "") delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/**
 * `npm run deploy -- --network localhost` (`pyth`: `deploy:pyth`) against the node at `target` (its URL), in this
 * process; or over `target` itself, a connection the caller made and closes (e.g. the in-process network with
 * another chain id).
 * `output` holds the lines the script prints (stdout and stderr, in order); `code` is its exit code.
 */
export async function deployInProcess(
  target: string | NetworkConnection,
  env: DeployEnv,
  options: { pyth?: boolean } = {},
): Promise<RunResult> {
  let output = "";
  const line = (text: string) => (output += `${text}\n`);
  const own = typeof target === "string";
  const connection = own ? await hre.network.create({ network: "localhost", override: { url: target } }) : target;
  try {
    const code = await withDeployEnv(env, () =>
      deployMain(hre, { pyth: options.pyth === true, connection }, { out: line, err: line, showProgress: false }),
    );
    return { code, output };
  } catch (error) {
    // A child would print the error and exit 1: the same, so that callers assert one way.
    return { code: 1, output: `${output}${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n` };
  } finally {
    if (own) await connection.close();
  }
}
