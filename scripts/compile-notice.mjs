// Before `npm start` and `npm test`: says that the silent first compile is running (solc-wasm with viaIR takes about
// a minute on 2 cores), so that it does not look hung. Prints nothing once the contracts are built.
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

const buildInfo = path.resolve(import.meta.dirname, "..", "artifacts", "build-info");
if (!existsSync(buildInfo) || readdirSync(buildInfo).length === 0) {
  console.error("compiling contracts (about a minute the first time)…");
}
