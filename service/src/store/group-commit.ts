/**
 * Group commit for the intake hot path: inserts that arrive together share one transaction (SQLite: one WAL
 * append; PostgreSQL: one round trip and one fsync), and each caller still learns its own result only after
 * that commit. Latency added: at most one event-loop turn, or the duration of the batch ahead of it.
 */
export interface GroupCommitOptions {
  /** Largest batch in one commit. */
  maxBatch: number;
  /** Batches committing at once (PostgreSQL: a few connections; SQLite: 1, commits are synchronous). */
  maxConcurrent: number;
}

export function createGroupCommit<T, R>(
  commit: (items: T[]) => Promise<R[]> | R[],
  options: GroupCommitOptions,
): (item: T) => Promise<R> {
  let queue: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  let running = 0;
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    while (queue.length > 0 && running < options.maxConcurrent) {
      const batch = queue.length <= options.maxBatch ? queue : queue.slice(0, options.maxBatch);
      queue = queue.length <= options.maxBatch ? [] : queue.slice(options.maxBatch);
      running++;
      commitEach(batch).finally(() => {
        running--;
        if (queue.length > 0) schedule();
      });
    }
  };
  // One failing item must not fail the others: on error, each item of the batch is committed alone.
  async function commitEach(batch: typeof queue): Promise<void> {
    try {
      const results = await commit(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(results[i]));
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      for (const b of batch) {
        try {
          b.resolve((await commit([b.item]))[0]);
        } catch (itemError) {
          b.reject(itemError);
        }
      }
    }
  }

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    // After the I/O phase: every request parsed in this turn joins the batch.
    setImmediate(flush);
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      schedule();
    });
}
