/**
 * Dataverse's service protection limits, per user over a sliding window (Microsoft Learn, "Service protection
 * API limits"): number of requests (6,000 per 300 s), combined execution time (1,200,000 ms per 300 s) and
 * concurrent requests (52). Over a limit the request is refused with 429 and `Retry-After` in seconds. The
 * window is a setting so that a benchmark can compress time (e.g. 60 requests per 3 s).
 */
import { type DataverseHttpError, executionTimeExceeded, tooManyConcurrent, tooManyRequests } from './errors';

export interface LimitSettings {
  enabled: boolean;
  /** Requests allowed per user in one window. */
  requests: number;
  windowMs: number;
  /** Requests a user may have in flight at once. */
  concurrent: number;
  /** Combined execution time allowed per user in one window. */
  executionMs: number;
}

export const DATAVERSE_LIMITS: LimitSettings = {
  enabled: true,
  requests: 6000,
  windowMs: 300_000,
  concurrent: 52,
  executionMs: 1_200_000,
};

interface UserUsage {
  /** Arrival times of the requests counted in the window (oldest first, from `head`). */
  arrivals: number[];
  head: number;
  /** Finished requests: [finish time, duration]. */
  executions: Array<[number, number]>;
  executionHead: number;
  executionTotal: number;
  active: number;
}

export class ServiceProtection {
  private readonly usage = new Map<string, UserUsage>();
  settings: LimitSettings;

  constructor(
    settings: Partial<LimitSettings> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.settings = { ...DATAVERSE_LIMITS, enabled: false, ...settings };
  }

  /** New limits; settings not named take Dataverse's values, `enabled` defaults to true. */
  replace(settings: Partial<LimitSettings>): void {
    this.settings = { ...DATAVERSE_LIMITS, ...settings };
  }

  reset(): void {
    this.usage.clear();
  }

  /**
   * Admits one request of `user` or throws the 429 Dataverse would send. The returned function must be called
   * when the request finishes, so that concurrency and execution time are accounted.
   */
  enter(user: string): () => void {
    if (!this.settings.enabled) return () => undefined;
    const now = this.now();
    const { requests, windowMs, concurrent, executionMs } = this.settings;
    const usage = this.usageOf(user);
    this.prune(usage, now - windowMs);
    const windowSeconds = Math.round(windowMs / 1000);
    const retryAfter = (oldest: number) => Math.max(1, Math.ceil((oldest + windowMs - now) / 1000));

    let refusal: DataverseHttpError | undefined;
    if (usage.arrivals.length - usage.head >= requests) {
      refusal = tooManyRequests(requests, windowSeconds, retryAfter(usage.arrivals[usage.head]));
    } else if (usage.executionTotal >= executionMs) {
      refusal = executionTimeExceeded(
        executionMs,
        windowSeconds,
        retryAfter(usage.executions[usage.executionHead][0]),
      );
    } else if (usage.active >= concurrent) {
      refusal = tooManyConcurrent(concurrent, 1);
    }
    if (refusal) throw refusal;

    usage.arrivals.push(now);
    usage.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      usage.active--;
      const finished = this.now();
      const duration = Math.max(0, finished - now);
      usage.executions.push([finished, duration]);
      usage.executionTotal += duration;
    };
  }

  /**
   * The budget headers Dataverse sends on every response (api-limits, "Rate limit headers"): requests left in
   * the window and combined execution time left, in seconds. Meant for debugging, as Dataverse says.
   */
  budgetHeaders(user: string): Record<string, string> {
    if (!this.settings.enabled) return {};
    const usage = this.usageOf(user);
    const requests = Math.max(0, this.settings.requests - (usage.arrivals.length - usage.head));
    const seconds = Math.max(0, this.settings.executionMs - usage.executionTotal) / 1000;
    return {
      'x-ms-ratelimit-burst-remaining-xrm-requests': String(requests),
      'x-ms-ratelimit-time-remaining-xrm-requests': seconds.toLocaleString('en-US', {
        minimumFractionDigits: 2,
        maximumFractionDigits: 2,
      }),
    };
  }

  private usageOf(user: string): UserUsage {
    let usage = this.usage.get(user);
    if (!usage) {
      usage = { arrivals: [], head: 0, executions: [], executionHead: 0, executionTotal: 0, active: 0 };
      this.usage.set(user, usage);
    }
    return usage;
  }

  private prune(usage: UserUsage, since: number): void {
    while (usage.head < usage.arrivals.length && usage.arrivals[usage.head] <= since) usage.head++;
    while (
      usage.executionHead < usage.executions.length &&
      usage.executions[usage.executionHead][0] <= since
    ) {
      usage.executionTotal -= usage.executions[usage.executionHead][1];
      usage.executionHead++;
    }
    // Compact now and then so the queues do not grow without bound.
    if (usage.head > 1024 && usage.head * 2 > usage.arrivals.length) {
      usage.arrivals = usage.arrivals.slice(usage.head);
      usage.head = 0;
    }
    if (usage.executionHead > 1024 && usage.executionHead * 2 > usage.executions.length) {
      usage.executions = usage.executions.slice(usage.executionHead);
      usage.executionHead = 0;
    }
  }
}
