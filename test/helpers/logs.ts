import { Writable } from "node:stream";

import { createLogger, type Logger } from "../../scripts/keeper/logger.js";

/** A keeper logger whose JSON lines land in `lines` (parsed), at `level` and above. */
export function captureLogger(level: "info" | "debug" = "debug"): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      for (const line of chunk.toString().split("\n")) if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(level, sink), lines };
}
