/** Polls `check` until it returns a truthy value (returned) or the timeout passes (throws, naming `what`). */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  what: string,
  timeoutMs = 10_000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until the store's inbox has nothing pending or processing (dead letters may remain). */
export function waitForEmptyQueue(
  store: { queueDepth(): Promise<{ pending: number; processing: number }> },
  what: string,
  timeoutMs?: number,
  everyMs?: number,
): Promise<boolean> {
  return waitFor(
    async () => {
      const depth = await store.queueDepth();
      return depth.pending + depth.processing === 0;
    },
    what,
    timeoutMs,
    everyMs,
  );
}
