/**
 * Bounded concurrency for a keeper's reads and simulations: `count` jobs, at most `limit` in flight, started in index
 * order. The one pool the liquidation scan (`scanHealth`), the liquidation batches' simulations and the order
 * keeper's preparation share.
 *
 * @packageDocumentation
 */

/**
 * Runs `job(i)` for every `i` in `[0, count)`, at most `limit` at a time, each started in index order; the results by
 * index. `shouldStop()` is asked before each start: once it says so, or once a job threw, no further job starts, the
 * jobs in flight finish, and the first error is thrown (a job that must not end the run catches its own). Indices
 * never started are left empty.
 * @example const pages = await runConcurrently(keys.length, 4, (i) => read(keys[i]))
 */
export async function runConcurrently<T>(
  count: number,
  limit: number,
  job: (index: number) => Promise<T>,
  shouldStop: () => boolean = () => false,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let failure: { error: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (next < count && failure === undefined && !shouldStop()) {
      const i = next++;
      try {
        results[i] = await job(i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(limit, count)) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}
