/**
 * Requests to the service's dependencies (Dataverse, Stripe): a Prometheus histogram of their durations by
 * outcome, and the same requests kept per minute in memory for the last day, so the operator console can
 * show the latency and throttling of a recent window (Prometheus keeps totals; a window needs history).
 */
import { Histogram, type Registry } from 'prom-client';

export type Dependency = 'dataverse' | 'stripe';
/** `ok` (2xx, 3xx), `client_error` (4xx but 429), `throttled` (429), `failed` (5xx or no answer). */
export type RequestOutcome = 'ok' | 'client_error' | 'throttled' | 'failed';

export interface RequestWindowSummary {
  requests: number;
  p50Ms: number | null;
  p95Ms: number | null;
  throttled: number;
  failed: number;
}

export interface DependencyRequests {
  /** Records one request's answer (status 0: none came) and how long it took. */
  observe(dependency: Dependency, status: number, durationMs: number): void;
  /** The requests of the last `windowMs`. */
  summary(dependency: Dependency, windowMs: number, nowMs?: number): RequestWindowSummary;
}

/** Upper bounds (ms) of the duration buckets; percentiles are read as the bound of their bucket. */
const BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000];
const MINUTE = 60_000;
const KEPT_MINUTES = 24 * 60;

interface Minute {
  buckets: number[];
  requests: number;
  throttled: number;
  failed: number;
}

export function outcomeOf(status: number): RequestOutcome {
  if (status === 429) return 'throttled';
  if (status === 0 || status >= 500) return 'failed';
  return status >= 400 ? 'client_error' : 'ok';
}

function percentile(buckets: number[], total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.ceil(total * q);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i];
    if (seen >= rank) return i < BOUNDS_MS.length ? BOUNDS_MS[i] : BOUNDS_MS[BOUNDS_MS.length - 1];
  }
  return null;
}

export function createDependencyRequests(
  registry: Registry,
  now: () => number = Date.now,
): DependencyRequests {
  const histogram = new Histogram({
    name: 'stc_dependency_request_duration_seconds',
    help: 'Requests to Dataverse and Stripe, by dependency and outcome (ok, client_error, throttled, failed)',
    labelNames: ['dependency', 'outcome'],
    buckets: BOUNDS_MS.map((ms) => ms / 1000),
    registers: [registry],
  });
  const minutes: Record<Dependency, Map<number, Minute>> = { dataverse: new Map(), stripe: new Map() };

  return {
    observe(dependency, status, durationMs) {
      const outcome = outcomeOf(status);
      histogram.observe({ dependency, outcome }, durationMs / 1000);
      const byMinute = minutes[dependency];
      const minute = Math.floor(now() / MINUTE) * MINUTE;
      let slot = byMinute.get(minute);
      if (!slot) {
        slot = {
          buckets: new Array<number>(BOUNDS_MS.length + 1).fill(0),
          requests: 0,
          throttled: 0,
          failed: 0,
        };
        byMinute.set(minute, slot);
        // Minutes are added in order: the oldest is first.
        while (byMinute.size > KEPT_MINUTES) byMinute.delete(byMinute.keys().next().value as number);
      }
      const bucket = BOUNDS_MS.findIndex((bound) => durationMs <= bound);
      slot.buckets[bucket === -1 ? BOUNDS_MS.length : bucket] += 1;
      slot.requests += 1;
      if (outcome === 'throttled') slot.throttled += 1;
      if (outcome === 'failed') slot.failed += 1;
    },
    summary(dependency, windowMs, nowMs = now()) {
      const from = nowMs - windowMs;
      const buckets = new Array<number>(BOUNDS_MS.length + 1).fill(0);
      const total = { requests: 0, throttled: 0, failed: 0 };
      for (const [minute, slot] of minutes[dependency]) {
        if (minute + MINUTE <= from) continue;
        slot.buckets.forEach((n, i) => (buckets[i] += n));
        total.requests += slot.requests;
        total.throttled += slot.throttled;
        total.failed += slot.failed;
      }
      return {
        ...total,
        p50Ms: percentile(buckets, total.requests, 0.5),
        p95Ms: percentile(buckets, total.requests, 0.95),
      };
    },
  };
}
