/**
 * `npm test` runs this first: every file outside sdk/ imports the SDK by its package name (`@perp/sdk`,
 * `@perp/sdk/node`, `@perp/sdk/keeper`: the entries of sdk/package.json's "exports"), never `sdk/src/...` by path.
 * Apps then stand on the SDK's public surface, as an outside user does.
 *
 *   npx tsx scripts/check-imports.ts        prints each offending import, exit code 1 if there is one
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const ROOT = path.resolve(import.meta.dirname, "..");
const SDK_DIR = path.join(ROOT, "sdk");
/** The folders and files checked (everything that is not the SDK itself). */
const CHECKED = ["scripts", "test", "ignition", "hardhat.config.ts"];
const SKIPPED_DIRS = new Set(["node_modules", "dist", "artifacts", "cache", "types"]);
const SOURCE = /\.(c|m)?(t|j)sx?$/;
/** `from "x"`, `import "x"`, `import("x")`, `export ... from "x"`, `require("x")`. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g;

export interface BadImport {
  file: string;
  line: number;
  specifier: string;
  reason: string;
}

/** The package's public entry points, e.g. ["@perp/sdk", "@perp/sdk/node"]. */
export function sdkEntries(root = ROOT): string[] {
  const manifest = JSON.parse(readFileSync(path.join(root, "sdk", "package.json"), "utf8")) as {
    name: string;
    exports: Record<string, unknown>;
  };
  return Object.keys(manifest.exports).map((key) => (key === "." ? manifest.name : `${manifest.name}/${key.slice(2)}`));
}

/** The imports of one file (`text`, at `file`) that bypass the SDK's package name or its exports. */
export function badImports(file: string, text: string, entries: readonly string[], root = ROOT): BadImport[] {
  const found: BadImport[] = [];
  const sdkDir = path.join(root, "sdk");
  const packageName = entries[0];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1];
    const line = text.slice(0, match.index).split("\n").length;
    if (specifier.startsWith(".")) {
      const target = path.resolve(path.dirname(file), specifier);
      if (target === sdkDir || target.startsWith(sdkDir + path.sep)) {
        found.push({ file, line, specifier, reason: `reaches into sdk/ by path: import "${packageName}" instead` });
      }
    } else if ((specifier === packageName || specifier.startsWith(`${packageName}/`)) && !entries.includes(specifier)) {
      found.push({ file, line, specifier, reason: `not an entry of sdk/package.json "exports" (${entries.join(", ")})` });
    }
  }
  return found;
}

function sourceFiles(entry: string): string[] {
  const stat = statSync(entry, { throwIfNoEntry: false });
  if (stat === undefined) return [];
  if (stat.isFile()) return SOURCE.test(entry) ? [entry] : [];
  return readdirSync(entry)
    .filter((name) => !SKIPPED_DIRS.has(name))
    .flatMap((name) => sourceFiles(path.join(entry, name)));
}

/** Every offending import in the repository outside sdk/. */
export function checkRepository(root = ROOT): BadImport[] {
  const entries = sdkEntries(root);
  return CHECKED.flatMap((entry) => sourceFiles(path.join(root, entry)))
    .filter((file) => !file.startsWith(SDK_DIR + path.sep))
    .flatMap((file) => badImports(file, readFileSync(file, "utf8"), entries, root));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const bad = checkRepository();
  for (const b of bad) console.error(`${path.relative(ROOT, b.file)}:${b.line}: "${b.specifier}" ${b.reason}`);
  if (bad.length > 0) {
    console.error(`${bad.length} import(s) bypass @perp/sdk's package name`);
    process.exitCode = 1;
  }
}
