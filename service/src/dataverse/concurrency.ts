/**
 * Adaptive concurrency for Dataverse's service protection limits (api-limits): start around ten requests
 * in parallel, add one after a run of successes, halve on a 429, and hold every new request back until a
 * `Retry-After` has passed (the limits are per user, so one 429 speaks for all requests).
 */

export interface ConcurrencyLimiterOptions {
  initial?: number;
  min?: number;
  /** Dataverse refuses more than 52 concurrent requests per user. */
  max?: number;
  /**
   * Milliseconds on a clock that only moves forward (default: performance.now()): a Retry-After is a duration,
   * and a wall clock stepped back (NTP, a virtual machine resumed) would stretch the pause by as much.
   */
  now?: () => number;
}

export interface ConcurrencyState {
  limit: number;
  inFlight: number;
  queued: number;
  pausedForMs: number;
}

export class ConcurrencyLimiter {
  private limitValue: number;
  private readonly min: number;
  private readonly max: number;
  private readonly now: () => number;
  private inFlight = 0;
  private successesSinceChange = 0;
  private pausedUntil = 0;
  /** Requests that started before the last decrease: their 429s do not halve the limit again. */
  private generation = 0;
  private readonly waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(options: ConcurrencyLimiterOptions = {}) {
    this.min = Math.max(1, options.min ?? 1);
    this.max = Math.max(this.min, options.max ?? 52);
    this.limitValue = Math.min(this.max, Math.max(this.min, options.initial ?? 10));
    this.now = options.now ?? (() => performance.now());
  }

  get limit(): number {
    return this.limitValue;
  }

  state(): ConcurrencyState {
    return {
      limit: this.limitValue,
      inFlight: this.inFlight,
      queued: this.waiters.length,
      pausedForMs: Math.max(0, this.pausedUntil - this.now()),
    };
  }

  /** Waits for a slot (first come, first served); returns the generation to hand back to `release`. */
  async acquire(): Promise<number> {
    if (this.waiters.length === 0 && this.canStart()) {
      this.inFlight += 1;
      return this.generation;
    }
    // `wake` counts the slot as taken before resolving, so no other caller can take it meanwhile.
    await new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      this.schedule();
    });
    return this.generation;
  }

  /**
   * Ends a request. `throttled` with the Retry-After (ms) when it was a 429; `reduce: false` when the limit
   * hit was the number of requests per window, which fewer parallel requests would not have avoided.
   */
  release(
    generation: number,
    outcome: { throttled: boolean; retryAfterMs?: number; reduce?: boolean },
  ): void {
    this.inFlight -= 1;
    if (outcome.throttled) {
      if (outcome.retryAfterMs !== undefined) {
        this.pausedUntil = Math.max(this.pausedUntil, this.now() + outcome.retryAfterMs);
      }
      if (outcome.reduce !== false && generation === this.generation) {
        this.limitValue = Math.max(this.min, Math.floor(this.limitValue / 2));
        this.generation += 1;
        this.successesSinceChange = 0;
      }
    } else {
      this.successesSinceChange += 1;
      if (this.successesSinceChange >= this.limitValue && this.limitValue < this.max) {
        this.limitValue += 1;
        this.successesSinceChange = 0;
      }
    }
    this.wake();
  }

  private canStart(): boolean {
    return this.inFlight < this.limitValue && this.now() >= this.pausedUntil;
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.canStart()) {
      this.inFlight += 1;
      this.waiters.shift()!();
    }
    this.schedule();
  }

  /**
   * Waiters with fewer requests in flight than the limit are held back by a Retry-After only, which no release
   * will end: a timer wakes them when it has passed. The time is read again here, not taken from the check
   * that queued them: a pause that ended in between (a timer fires on its own clock, up to a millisecond
   * before Date.now() reaches the end) still needs the wake-up, or the waiters would wait for ever.
   */
  private schedule(): void {
    if (this.timer || this.waiters.length === 0 || this.inFlight >= this.limitValue) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.wake();
      },
      Math.max(0, this.pausedUntil - this.now()),
    );
  }
}
