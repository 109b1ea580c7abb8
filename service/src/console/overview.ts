/**
 * `GET /console/api/overview?minutes=60`: the outcomes of the attempts finished in each minute of the window
 * (from the store, so every replica's work counts), the backlog, the last event received, how Dataverse and
 * Stripe answered this process in the window, and the alerts firing.
 */
import type Router from '@koa/router';
import type { OpenAlert } from '../alerts';
import type { Metrics } from '../observability/metrics';
import type { Store } from '../store';
import type { LatencySummary, Outcome, OutcomeCounts, Overview } from './contract';
import { numberParam } from './events';

const MINUTE = 60_000;

/** The attempts table's outcome kinds as the console names them. */
const OUTCOMES: Record<string, Outcome> = {
  applied: 'applied',
  skipped: 'skipped',
  superseded: 'superseded',
  ignored: 'ignored',
  retry: 'retried',
  dead: 'dead',
};

const noOutcomes = (): OutcomeCounts => ({
  applied: 0,
  skipped: 0,
  superseded: 0,
  ignored: 0,
  retried: 0,
  dead: 0,
});

export function registerOverview(
  router: Router,
  options: {
    store: Store;
    metrics: Metrics;
    now: () => number;
    openAlerts?: () => OpenAlert[];
  },
): void {
  const { store, metrics, now } = options;
  router.get('/console/api/overview', async (ctx) => {
    const minutes = Math.min(Math.max(numberParam(ctx, 'minutes') ?? 60, 1), 24 * 60);
    const nowMs = now();
    const lastMinute = Math.floor(nowMs / MINUTE) * MINUTE;
    const firstMinute = lastMinute - (minutes - 1) * MINUTE;
    const [counted, backlog, oldest, latest] = await Promise.all([
      store.outcomesPerMinute(firstMinute),
      store.queueDepth(),
      store.oldestWaitingMs(),
      store.latestEvent(),
    ]);
    const perMinute = Array.from({ length: minutes }, (_, i) => ({
      minuteMs: firstMinute + i * MINUTE,
      ...noOutcomes(),
    }));
    for (const { minuteMs, outcome, count } of counted) {
      const slot = perMinute[(minuteMs - firstMinute) / MINUTE];
      const name = OUTCOMES[outcome];
      if (slot && name) slot[name] += count;
    }
    const windowMs = minutes * MINUTE;
    const latency = (dependency: 'dataverse' | 'stripe'): LatencySummary =>
      metrics.dependencies.summary(dependency, windowMs, nowMs);
    const body: Overview = {
      generatedAtMs: nowMs,
      perMinute,
      backlog,
      oldestPendingAgeMs: oldest === null ? null : Math.max(0, nowMs - oldest),
      lastEvent: latest
        ? { eventId: latest.eventId, type: latest.type, receivedAtMs: latest.receivedAtMs }
        : null,
      dataverse: latency('dataverse'),
      stripe: latency('stripe'),
      alerts: (options.openAlerts?.() ?? []).map((a) => ({
        rule: a.alert,
        summary: a.summary,
        sinceMs: a.sinceMs,
      })),
    };
    ctx.body = body;
  });
}
