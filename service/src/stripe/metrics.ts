/** Prometheus metrics of the Stripe budget, registered on the registry the service exposes at /metrics. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { StripeBudget, StripeBudgetObserver } from './budget';
import { STRIPE_PRIORITIES } from './priority';

/**
 * The budget's observer, counting on `registry`: 429s met, waits by priority, the budget factor (1 whole,
 * less after a 429) and store failures. `waiting()` reports the calls waiting, by priority, when scraped.
 */
export function createStripeBudgetMetrics(
  registry: Registry,
  waiting?: () => ReturnType<StripeBudget['waiting']>,
): StripeBudgetObserver {
  const rateLimited = new Counter({
    name: 'stc_stripe_rate_limited_total',
    help: 'Stripe requests answered 429 (rate limited), by mode and priority',
    labelNames: ['mode', 'priority'],
    registers: [registry],
  });
  const waits = new Histogram({
    name: 'stc_stripe_budget_wait_seconds',
    help: 'Time a Stripe request waited for its place in the budget, by priority',
    labelNames: ['priority'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  const factor = new Gauge({
    name: 'stc_stripe_budget_factor',
    help: 'Share of the configured Stripe budget in force (1, or less for a while after a 429), by scope',
    labelNames: ['scope'],
    registers: [registry],
  });
  const storeFailures = new Counter({
    name: 'stc_stripe_budget_store_failures_total',
    help: 'Budget claims the store failed (the requests wait and the claim is tried again)',
    registers: [registry],
  });
  new Gauge({
    name: 'stc_stripe_budget_waiting',
    help: 'Stripe requests waiting for their place in the budget, by priority',
    labelNames: ['priority'],
    registers: [registry],
    collect() {
      if (!waiting) return;
      const counts = waiting();
      for (const priority of STRIPE_PRIORITIES) this.set({ priority }, counts[priority]);
    },
  });
  return {
    waited: (priority, ms) => waits.observe({ priority }, ms / 1000),
    rateLimited: (call) => rateLimited.inc({ mode: call.mode, priority: call.priority }),
    factor: (scope, value) => factor.set({ scope }, value),
    storeFailed: () => storeFailures.inc(),
  };
}
