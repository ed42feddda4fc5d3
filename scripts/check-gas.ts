/**
 * Gas snapshot check: runs the gas benchmark (scripts/bench-gas.ts) into a temporary file and compares it with the
 * committed bench/gas.json. Fails, printing every difference, when an operation's gas changed, or when an operation
 * was added or removed: a gas regression (or improvement) lands only together with the regenerated snapshot
 * (`npm run bench`).
 *
 * Every field is compared: the benchmark's gas is deterministic (fixed scenario on a fresh in-process chain, gas read
 * from receipts; measured identical across repeated runs). A field listed in NONDETERMINISTIC would be skipped.
 *
 * Run: npm run check:gas
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Operations whose gas may differ between runs of the same code (none so far). */
const NONDETERMINISTIC = new Set<string>();

type Snapshot = Record<string, number>;

function readSnapshot(path: string): Snapshot {
  return JSON.parse(readFileSync(path, "utf8")) as Snapshot;
}

/** The differences between the committed snapshot and a fresh run, one line each; empty when they agree. */
function diffSnapshots(committed: Snapshot, fresh: Snapshot): string[] {
  const lines: string[] = [];
  const names = new Set([...Object.keys(committed), ...Object.keys(fresh)]);
  for (const name of names) {
    if (NONDETERMINISTIC.has(name)) continue;
    const was = committed[name];
    const now = fresh[name];
    if (was === undefined) lines.push(`${name}: new operation, ${now} gas (not in bench/gas.json)`);
    else if (now === undefined) lines.push(`${name}: in bench/gas.json (${was} gas) but no longer measured`);
    else if (was !== now) {
      const change = now - was;
      const pct = ((change / was) * 100).toFixed(2);
      lines.push(`${name}: ${was} -> ${now} (${change > 0 ? "+" : ""}${change}, ${change > 0 ? "+" : ""}${pct} %)`);
    }
  }
  return lines;
}

function main(): void {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), "gas-check-"));
  const out = join(dir, "gas.json");
  try {
    const run = spawnSync("npx", ["hardhat", "run", "scripts/bench-gas.ts"], {
      cwd: root,
      env: { ...process.env, GAS_BENCH_OUT: out },
      stdio: ["ignore", "ignore", "inherit"],
    });
    if (run.status !== 0) {
      console.error(`gas check: the benchmark failed (exit ${run.status ?? run.signal})`);
      process.exitCode = 1;
      return;
    }
    const diff = diffSnapshots(readSnapshot(join(root, "bench/gas.json")), readSnapshot(out));
    if (diff.length !== 0) {
      console.error("gas check: bench/gas.json differs from what `npm run bench` produces now:");
      for (const line of diff) console.error(`  ${line}`);
      console.error("Regenerate it with `npm run bench` and commit it with the change that moved the gas.");
      process.exitCode = 1;
      return;
    }
    console.log(`gas check: ${Object.keys(readSnapshot(out)).length} operations match bench/gas.json`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
