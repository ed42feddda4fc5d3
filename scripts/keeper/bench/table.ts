/**
 * The keeper benchmark's table (README and docs/keeper.md), generated from bench/keeper.json. The keeper tests fail
 * when either file differs from it (test/keeper-scale.test.ts).
 *
 *   npx tsx scripts/keeper/bench/table.ts           prints the table
 *   npx tsx scripts/keeper/bench/table.ts --write   rewrites it in README.md and docs/keeper.md
 *   npx tsx scripts/keeper/bench/table.ts --merge other.json
 *                                                   adds other.json's sizes (a bench run with --out) to bench/keeper.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { mergeSizes, type SizeResult } from "./results.js";

export const ROOT = path.resolve(import.meta.dirname, "..", "..", "..");
export const BENCH = path.join(ROOT, "bench", "keeper.json");
export const FILES = [path.join(ROOT, "README.md"), path.join(ROOT, "docs", "keeper.md")];
export const BEGIN = "<!-- keeper-bench:begin (generated from bench/keeper.json by scripts/keeper/bench/table.ts) -->";
export const END = "<!-- keeper-bench:end -->";

interface Run {
  readonly mode: "fresh" | "warm" | "running";
  readonly scanSeconds: number;
  readonly scanRpcCalls: number;
  readonly liquidated: number;
  readonly blocksAfterPriceMove: number;
  readonly keeperMaxRssMb: number | null;
  readonly allLiquidated: boolean;
}

interface Size {
  readonly positions: number;
  readonly expected: { readonly liquidatableUnits: number };
  readonly median: {
    readonly scanSecondsFresh: number | null;
    readonly scanSecondsWarm: number | null;
    readonly scanSecondsRunning?: number | null;
    readonly scanRpcCalls: number | null;
  };
  readonly runs: readonly Run[];
  readonly book: { readonly setupSeconds: number };
}

interface BenchFile {
  readonly machine: { readonly cpu: string; readonly cpus: number; readonly nodejs: string; readonly memoryGb?: number };
  readonly sizes: Record<string, Size>;
}

const n = (x: number) => x.toLocaleString("en-US");

/** The markdown table of every size in the file, one row per size. */
export function keeperTable(bench: BenchFile): string {
  const rows = Object.values(bench.sizes)
    .sort((a, b) => a.positions - b.positions)
    .map((size) => {
      const fresh = size.runs.filter((r) => r.mode === "fresh");
      const warm = size.runs.filter((r) => r.mode === "warm");
      const running = size.runs.filter((r) => r.mode === "running");
      const list = (runs: readonly Run[], f: (r: Run) => string) => (runs.length === 0 ? "-" : runs.map(f).join(", "));
      const scans = (median: number | null | undefined, runs: readonly Run[]) => (runs.length === 0 ? "-" : `${median} (${list(runs, (r) => String(r.scanSeconds))})`);
      const blocks = (runs: readonly Run[]) => list(runs, (r) => String(r.blocksAfterPriceMove));
      const units = size.expected.liquidatableUnits;
      return (
        `| ${n(size.positions)} | ${fresh.length} | ${scans(size.median.scanSecondsFresh, fresh)} | ` +
        `${scans(size.median.scanSecondsWarm, warm)} | ${scans(size.median.scanSecondsRunning, running)} | ${size.median.scanRpcCalls} | ` +
        `${list(fresh, (r) => (r.keeperMaxRssMb === null ? "-" : String(r.keeperMaxRssMb)))} | ` +
        `${list(size.runs, (r) => `${n(r.liquidated)}`)} of ${n(units)} | ` +
        `${blocks(fresh)} / ${blocks(warm)} / ${blocks(running)} |`
      );
    });
  const m = bench.machine;
  return [
    `Measured with \`npm run bench:keeper -- --positions N\` on ${m.cpu}, ${m.cpus} cores${m.memoryGb ? `, ${m.memoryGb} GB` : ""}, Node ${m.nodejs}, anvil on the same host. Medians, each run's value in brackets.`,
    "",
    "| positions | runs | scan s, fresh keeper process | scan s, warm in-process keeper | scan s, keeper running before the move | scan RPC calls | fresh keeper peak RSS, MB | liquidated of liquidatable, every run (fresh, warm, running in turn) | blocks from the price move to the last liquidation, fresh / warm / running |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

/** `text` with the section between the markers replaced by `table`. */
export function withTable(text: string, table: string): string {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error("keeper-bench markers not found");
  return `${text.slice(0, start + BEGIN.length)}\n${table}\n${text.slice(end)}`;
}

export function readBench(): BenchFile {
  return JSON.parse(readFileSync(BENCH, "utf8")) as BenchFile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const merge = process.argv.indexOf("--merge");
  if (merge >= 0) {
    const other = JSON.parse(readFileSync(process.argv[merge + 1], "utf8")) as { node: string; sizes: Record<string, SizeResult> };
    await mergeSizes(BENCH, other.node, other.sizes);
  }
  const table = keeperTable(readBench());
  if (process.argv.includes("--write")) {
    for (const file of FILES) writeFileSync(file, withTable(readFileSync(file, "utf8"), table));
  } else {
    process.stdout.write(`${table}\n`);
  }
}
