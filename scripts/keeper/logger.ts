/**
 * Structured JSON logs (pino), one object per line on stderr, so that stdout stays free for the `--once` summary.
 * Every bigint is written as a decimal string (JSON numbers lose precision beyond 2^53).
 */
import pino, { type Logger } from "pino";

export type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

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
 * The keeper's logger: JSON lines on stderr (file descriptor 2, written synchronously so that nothing is lost when
 * the process exits), ISO timestamps, level names instead of numbers. Fields that could ever hold a secret are
 * redacted defensively, although the keeper never passes one.
 */
export function createLogger(level: LogLevel, destination: number | NodeJS.WritableStream = 2): Logger {
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
    typeof destination === "number" ? pino.destination({ dest: destination, sync: true }) : destination,
  );
}

/** A logger that writes nothing (the default of a `Keeper` built without one). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
