/**
 * The trader CLI: `npm run perp -- <command>` (see `npm run perp -- --help`). Commands live in scripts/cli/commands/.
 *
 *   npm run perp -- markets
 *   npm run perp -- deposit 1000
 *   npm run perp -- open ETH long --margin 500 --leverage 10 --isolated
 *   npm run perp -- close ETH
 *
 * Exit codes: 0 success, 1 refused or failed (nothing sent, or a reverted transaction), 2 usage error.
 */
import { tolerateClosedStdout } from "./format.js";
import { main } from "./program.js";

tolerateClosedStdout();
const code = await main(process.argv);
process.exitCode = code;
// Nothing should keep the process alive once the command is done; if something does, do not hang.
setTimeout(() => process.exit(code), 2_000).unref();
