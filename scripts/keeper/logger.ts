/**
 * Structured logs (pino) on stderr, so that stdout stays free for the `--once` summary: JSON lines (the default), or
 * plain text for a human at a terminal (`--log-format pretty`). Every bigint is written as a decimal string (JSON
 * numbers lose precision beyond 2^53).
 */
import { writeSync } from "node:fs";

import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const PRETTY_SKIPPED = new Set(["time", "level", "msg", "service"]);

function prettyValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(prettyValue).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${prettyValue(v)}`)
      .join(" ")}}`;
  }
  const text = String(value);
  return text === "" || /[\s"=,{}[\]]/.test(text) ? JSON.stringify(text) : text;
}

/**
 * One JSON log object as a line of text: time, level, message, then the fields as `key=value`.
 * @example prettyLine({ time: "2026-01-02T03:04:05.678Z", level: "info", msg: "scan", block: 7 })
 *   // "2026-01-02 03:04:05.678 INFO  scan  block=7\n"
 */
export function prettyLine(entry: Record<string, unknown>): string {
  const time = typeof entry.time === "string" ? entry.time.replace("T", " ").replace(/Z$/, "") : "";
  const level = String(entry.level ?? "").toUpperCase().padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key, value]) => !PRETTY_SKIPPED.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${prettyValue(value)}`);
  return `${time} ${level} ${String(entry.msg ?? "")}${fields.length > 0 ? `  ${fields.join(" ")}` : ""}\n`;
}

/** A pino destination that turns each JSON line into `prettyLine` text for `out`. */
function prettyDestination(out: (text: string) => void): DestinationStream {
  return {
    write(line: string) {
      try {
        out(prettyLine(JSON.parse(line) as Record<string, unknown>));
      } catch {
        out(line);
      }
    },
  };
}

/** Replaces every bigint (at any depth) by its decimal string; leaves other values as they are. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === "object" && !(value instanceof Error)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}

/**
 * The keeper's logger: JSON lines (or with `format` "pretty", text lines) on stderr (file descriptor 2, written synchronously so that nothing is lost when
 * the process exits), ISO timestamps, level names instead of numbers. Fields that could ever hold a secret are
 * redacted defensively, although the keeper never passes one.
 */
export function createLogger(level: LogLevel, destination: number | NodeJS.WritableStream = 2, format: LogFormat = "json"): Logger {
  const out =
    typeof destination === "number"
      ? format === "pretty"
        ? prettyDestination((text) => writeSync(destination, text))
        : pino.destination({ dest: destination, sync: true })
      : format === "pretty"
        ? prettyDestination((text) => destination.write(text))
        : destination;
  return pino(
    {
      level,
      base: { service: "perp-keeper" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => jsonSafe(object) as Record<string, unknown>,
      },
      redact: { paths: ["privateKey", "*.privateKey", "key", "*.key", "password", "mnemonic"], censor: "[redacted]" },
    },
    out,
  );
}

/** A logger that writes nothing (the default of a `Keeper` built without one). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
