/**
 * Runs a task every `intervalMs`, never two at once: the next run is scheduled when the previous one has
 * finished. A failed run is logged and the schedule goes on. The timer does not hold the process open.
 */
import type { HandlerLogger } from './handler';

export interface Schedule {
  /** Stops scheduling; resolves when a run that is under way has finished. */
  stop(): Promise<void>;
}

export function startSchedule<T>(options: {
  what: string;
  intervalMs: number;
  log: HandlerLogger;
  run: () => Promise<T>;
  onRun?: (result: T) => void;
}): Schedule {
  if (!(options.intervalMs > 0)) throw new Error(`${options.what}: intervalMs must be a positive number`);
  let running: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(tick, options.intervalMs);
    timer.unref();
  };
  const tick = () => {
    running = options
      .run()
      .then(
        (result) => options.onRun?.(result),
        (error: unknown) =>
          options.log.error({ err: error }, `${options.what} failed; next one at the interval`),
      )
      .finally(() => {
        running = undefined;
        schedule();
      });
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
