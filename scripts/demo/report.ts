/**
 * The demo's output: sections, tables (cli-table3), and a progress bar (cli-progress) that exists only while stdout
 * is a terminal, so that redirected output is plain, complete and identical from run to run.
 */
import { Presets, SingleBar } from "cli-progress";
import Table from "cli-table3";

import type { PositionInfo } from "@perp/sdk";
import { formatDecimal, formatPercent, formatPrice, formatSize } from "@perp/sdk";

/** What the output writes to: a stream (a terminal gets the progress bar and colours), or a capture in a test. */
export interface OutputStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export class Output {
  private readonly tty: boolean;
  private bar: SingleBar | undefined;
  private total = 1;
  private value = 0;
  private label = "";

  constructor(private readonly stream: OutputStream = process.stdout) {
    this.tty = stream.isTTY === true;
  }

  /** Whether the output is a terminal (progress bar, colours). */
  get interactive(): boolean {
    return this.tty;
  }

  /** Starts the progress bar over `total` units of work (nothing when not a terminal). */
  startProgress(total: number): void {
    this.total = total;
    this.value = 0;
    if (!this.tty) return;
    this.bar = new SingleBar(
      {
        // Only ever a terminal here (tty above): a real stream.
        stream: this.stream as NodeJS.WritableStream,
        format: " {bar} {percentage}% | {label}",
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        gracefulExit: true,
      },
      Presets.shades_classic,
    );
    this.bar.start(this.total, this.value, { label: this.label });
  }

  /** What is running now. */
  status(label: string): void {
    this.label = label;
    this.bar?.update({ label });
  }

  /** One unit of work done. */
  tick(label?: string): void {
    if (label !== undefined) this.label = label;
    this.value = Math.min(this.value + 1, this.total);
    this.bar?.update(this.value, { label: this.label });
  }

  /** Prints lines above the progress bar. */
  print(text = ""): void {
    const bar = this.bar;
    if (bar !== undefined) bar.stop();
    this.stream.write(`${text}\n`);
    if (bar !== undefined) bar.start(this.total, this.value, { label: this.label });
  }

  section(title: string): void {
    this.print();
    this.print(`== ${title} ==`);
  }

  stopProgress(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  /** A table; `align` per column ("r" right-aligns numbers); "\n" in a heading breaks it over two lines. */
  table(head: readonly string[], rows: readonly (readonly string[])[], align: string): string {
    const table = new Table({
      head: [...head],
      colAligns: [...align].map((a) => (a === "r" ? "right" : "left")),
      style: {
        head: this.tty ? ["cyan"] : [],
        border: this.tty ? ["grey"] : [],
        "padding-left": 1,
        "padding-right": 1,
        compact: true,
      },
    });
    for (const row of rows) table.push([...row]);
    return table.toString();
  }
}

// ------------------------------------------------------------------------------------------ formatting
// Display only (the SDK's units.ts): WAD in, text out.

/** "1,234.56" */
export function usd(value: bigint): string {
  return formatDecimal(value, 18, 2, 2);
}

/** "+1,234.56" / "-1,234.56" / "0.00" */
export function signedUsd(value: bigint): string {
  const text = usd(value);
  return value > 0n && text !== "0.00" ? `+${text}` : text;
}

/** A vault share price (WAD USDC per share): "1.000000" */
export function sharePrice(value: bigint): string {
  return formatDecimal(value, 18, 6, 6);
}

/** "$2,000.00" */
export function price(value: bigint): string {
  return formatPrice(value, 2);
}

/** "1.23 %" */
export function percent(value: bigint, digits = 2): string {
  return formatPercent(value, digits);
}

/** "+1.23 %" */
export function signedPercent(value: bigint, digits = 2): string {
  const text = formatPercent(value, digits);
  return value > 0n && !/^0\.0*\s%$/.test(text) ? `+${text}` : text;
}

/** The SDK's liquidation price, or "none" when no price of this market alone would liquidate the position. */
export function liquidationPriceText(p: PositionInfo): string {
  return p.liquidationPrice === 0n ? "none" : price(p.liquidationPrice);
}

/** "2.5" (up to 4 decimals) */
export function size(value: bigint): string {
  return formatSize(value, 4);
}

/** "1,234,567" (integers such as gas) */
export function integer(value: bigint | number): string {
  return formatDecimal(BigInt(value), 0);
}

/** "+2h", "+14h30m" */
export function hours(seconds: bigint): string {
  const h = seconds / 3600n;
  const m = (seconds % 3600n) / 60n;
  return `+${h}h${m === 0n ? "" : `${String(m).padStart(2, "0")}m`}`;
}
