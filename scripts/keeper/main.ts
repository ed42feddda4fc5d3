/**
 * The keeper's entry point: `npm run keeper -- --rpc http://127.0.0.1:8545 --once` (options and exit codes: cli.ts,
 * docs/keeper.md).
 */
import { runKeeperCli } from "./cli.js";

runKeeperCli(process.argv.slice(2), process.env).then((code) => process.exit(code));
