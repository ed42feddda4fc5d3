/**
 * Stopping with the wrapper that started the keeper. `npm run keeper` runs `sh -c "tsx scripts/keeper/main.ts"`;
 * a SIGTERM sent to npm reaches `sh`, which dies without passing it on (dash does not exec its last command), and
 * the keeper would run on, orphaned. So the keeper watches the processes between itself and the `npm` that started
 * it, and stops gracefully, as on SIGTERM, as soon as one of them is gone.
 *
 * Which processes: on Linux, the ancestors read from `/proc` while they carry `npm_lifecycle_event` in their
 * environment (everything `npm run` started), and the first one that does not (npm itself). Elsewhere, the parent
 * (`process.ppid`). Without `npm_lifecycle_event` in the keeper's own environment (started directly, by a service
 * manager or `node --import tsx`), nothing is watched: signals reach the keeper directly.
 */
import { readFileSync } from "node:fs";

interface Watched {
  readonly pid: number;
  /** `/proc/<pid>/stat` field 22 (start time in clock ticks), to tell a reused pid from the original process. */
  readonly start: string | undefined;
}

function procStat(pid: number): { ppid: number; start: string; zombie: boolean } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (in parentheses, which may itself contain spaces): state, ppid, ..., starttime.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(rest[1]), start: rest[19], zombie: rest[0] === "Z" };
  } catch {
    return undefined;
  }
}

function startedByNpm(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`).toString("utf8").split("\0").some((e) => e.startsWith("npm_lifecycle_event="));
  } catch {
    return false;
  }
}

/** The processes to watch (see the file comment); empty when the keeper was not started by `npm run`. */
export function wrapperProcesses(env: NodeJS.ProcessEnv = process.env): Watched[] {
  if (env.npm_lifecycle_event === undefined) return [];
  if (procStat(process.pid) === undefined) return [{ pid: process.ppid, start: undefined }];
  const chain: Watched[] = [];
  for (let pid = process.ppid; pid > 1 && chain.length < 16; ) {
    const stat = procStat(pid);
    if (!stat) break;
    chain.push({ pid, start: stat.start });
    if (!startedByNpm(pid)) break;
    pid = stat.ppid;
  }
  return chain;
}

function alive(watched: Watched): boolean {
  if (watched.start === undefined) return process.ppid === watched.pid;
  const stat = procStat(watched.pid);
  // A zombie has exited; a different start time is another process that got the pid.
  return stat !== undefined && !stat.zombie && stat.start === watched.start;
}

/**
 * Calls `onGone(pid)` once, when the first watched wrapper process is gone (checked every `intervalMs`). The timer
 * does not keep the process alive. Returns a function that stops watching.
 */
export function watchWrappers(onGone: (pid: number) => void, intervalMs = 500, env: NodeJS.ProcessEnv = process.env): () => void {
  const watched = wrapperProcesses(env);
  if (watched.length === 0) return () => {};
  const timer = setInterval(() => {
    const gone = watched.find((w) => !alive(w));
    if (gone) {
      clearInterval(timer);
      onGone(gone.pid);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
