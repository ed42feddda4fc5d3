/**
 * The CLI's own errors, exit codes, and the redaction of secrets from anything it prints.
 */
import { CommanderError } from "commander";

import { InvalidAmountError, PerpError } from "@perp/sdk";

/** Exit codes: 0 success, 1 a refused or failed action, 2 a usage error (bad command line). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** An error the CLI reports as one line and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

/** A command line that is wrong whatever the chain's state (exit code 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

const secrets = new Set<string>();

/** Registers a value that must never be printed (a private key): `redact` replaces it. */
export function registerSecret(secret: string): void {
  const bare = secret.trim().replace(/^0x/i, "");
  if (bare.length >= 8) secrets.add(bare.toLowerCase());
}

/** Replaces every registered secret (case-insensitive, with or without 0x) by "[redacted]". */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    out = out.replace(new RegExp(`(0x)?${escaped}`, "gi"), "[redacted]");
  }
  return out;
}

/** One line: newlines folded, secrets redacted. */
export function oneLine(text: string): string {
  return redact(text)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" ");
}

/** The message and exit code to report for whatever a command threw. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (through `configureOutput`).
    return { message: "", exitCode: error.exitCode === 0 ? EXIT.ok : EXIT.usage };
  }
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  // The SDK's errors carry plain-words messages (decoded reverts, refused requests, malformed amounts).
  if (error instanceof PerpError || error instanceof InvalidAmountError) {
    return { message: error.message, exitCode: EXIT.failure };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `unexpected failure: ${message}`, exitCode: EXIT.failure };
}
