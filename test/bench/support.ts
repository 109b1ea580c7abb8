/**
 * What the end-to-end benchmarks share: Dataverse's service protection limits with the 5-minute window
 * compressed by a factor, the service's application user, the least time a number of requests needs under
 * those limits, and medians.
 */
import { DATAVERSE_LIMITS } from '@stc/emulators';

/** Dataverse's limits (6,000 requests, 1,200 s of execution per 5 minutes, 52 at once), the window / `factor`. */
export function compressedLimits(factor: number) {
  return {
    enabled: true as const,
    requests: DATAVERSE_LIMITS.requests,
    concurrent: DATAVERSE_LIMITS.concurrent,
    windowMs: DATAVERSE_LIMITS.windowMs / factor,
    executionMs: DATAVERSE_LIMITS.executionMs / factor,
  };
}

export type Limits = ReturnType<typeof compressedLimits>;

/** The service's application user in the Dataverse emulator. */
export const serviceUser = (systemuserid: string) => ({
  systemuserid,
  fullname: 'Stripe Connector Service',
  roles: ['Stripe Connector Service'],
});

/** Least time N admitted requests need under the request limit: a window per further full budget. */
export const leastMs = (limits: Limits, admitted: number) =>
  Math.floor((admitted - 1) / limits.requests) * limits.windowMs;

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The value at or below which `p` percent of `values` fall (nearest rank); 0 for none. */
export const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};

export const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface Deliveries {
  waitForDeliveries(timeoutMs?: number): Promise<void>;
  readonly deliveries: ReadonlyArray<{ ok: boolean }>;
}

interface Inbox {
  queueDepth(): Promise<{ pending: number; processing: number; dead: number }>;
}

/**
 * Waits until Stripe has delivered every event and the service's inbox is empty; answers what went wrong:
 * deliveries refused, events dead-lettered, or not drained in `minutes`.
 */
export async function drained(stripe: Deliveries, inbox: Inbox, minutes: number): Promise<string[]> {
  await stripe.waitForDeliveries(minutes * 60_000);
  const failures: string[] = [];
  const undelivered = stripe.deliveries.filter((d) => !d.ok).length;
  if (undelivered > 0) failures.push(`${undelivered} webhook deliveries were refused`);
  const deadline = Date.now() + minutes * 60_000;
  for (;;) {
    const depth = await inbox.queueDepth();
    if (depth.pending === 0 && depth.processing === 0) {
      if (depth.dead > 0) failures.push(`${depth.dead} events dead-lettered`);
      return failures;
    }
    if (Date.now() > deadline) {
      failures.push(`not drained after ${minutes} minutes: ${JSON.stringify(depth)}`);
      return failures;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
