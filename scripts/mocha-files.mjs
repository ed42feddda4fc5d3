// Prints the mocha test files for `npm test`, the longest first. Mocha's parallel mode (two workers,
// hardhat.config.ts) hands files out in the order it is given them, and Hardhat's own order is the path's: the
// browser test (about 67 s alone) would start only after the 31 files before it, and finish last. Each file appears
// once; a file named here that no longer exists is an error, not a silently shorter suite.
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
// Serial times on this machine (docs/testing.md, "Suite time"): 83, 42, 18, 16, 16, 14, 14, 11, 10, 10, 8 and 6 s;
// every other file takes under 3 s.
const LONGEST_FIRST = [
  "test/web.test.ts",
  "test/keeper.test.ts",
  "test/cli.test.ts",
  "test/demo.test.ts",
  "test/keeper-faults.test.ts",
  "test/deploy.test.ts",
  "test/sdk/e2e.test.ts",
  "test/keeper-pyth-faults.test.ts",
  "test/cli-orders.test.ts",
  "test/sdk/package.test.ts",
  "test/keeper-orders.test.ts",
  "test/keeper-scale.test.ts",
];

function testFiles(dir) {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return relative === "test/solidity" || relative === "test/helpers" ? [] : testFiles(relative);
    return entry.name.endsWith(".test.ts") ? [relative] : [];
  });
}

for (const file of LONGEST_FIRST) {
  if (!existsSync(path.join(ROOT, file))) throw new Error(`scripts/mocha-files.mjs names ${file}, which does not exist`);
}
const rest = testFiles("test").filter((file) => !LONGEST_FIRST.includes(file)).sort();
console.log([...LONGEST_FIRST, ...rest].join("\n"));
