/** Prometheus metrics (prom-client), one registry per service instance so tests can build many. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store';
import { createDependencyRequests, type DependencyRequests } from './requests';

export interface Metrics {
  registry: Registry;
  received: Counter<'source'>;
  verified: Counter<'source'>;
  rejected: Counter<'source' | 'reason'>;
  duplicates: Counter<'source'>;
  /** Events finished: `applied`, `skipped` (the handler wrote nothing) or `superseded`. */
  processed: Counter<'type' | 'outcome'>;
  /** Failed attempts, transient (to be retried) or not. */
  failed: Counter<'type' | 'transient'>;
  deadLettered: Counter<'type'>;
  claimLatency: Histogram;
  /**
   * Claims the workers made: `events` (it took some), `empty` (nothing due, or every due event's object held
   * by another worker or process), `failed` (the store refused). Many empty claims beside a backlog is a sign
   * of more replicas than the work needs.
   */
  claims: Counter<'result'>;
  handlerDuration: Histogram<'type'>;
  /** Requests to Dataverse and Stripe: their histogram, and the last day per minute for the console. */
  dependencies: DependencyRequests;
}

export function createMetrics(options: { store?: Store; defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'stc_' });
  const store = options.store;
  new Gauge({
    name: 'stc_queue_depth',
    help: 'Events waiting (pending), being worked on (processing) and in the dead-letter queue (dead)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      if (!store) return;
      const depth = await store.queueDepth();
      this.set({ state: 'pending' }, depth.pending);
      this.set({ state: 'processing' }, depth.processing);
      this.set({ state: 'dead' }, depth.dead);
    },
  });
  return {
    registry,
    dependencies: createDependencyRequests(registry),
    received: new Counter({
      name: 'stc_events_received_total',
      help: 'Webhook requests received',
      labelNames: ['source'],
      registers: [registry],
    }),
    verified: new Counter({
      name: 'stc_events_verified_total',
      help: 'Webhook events verified and stored',
      labelNames: ['source'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'stc_events_rejected_total',
      help: 'Webhook requests refused, by reason',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'stc_events_duplicate_total',
      help: 'Webhook events already in the inbox',
      labelNames: ['source'],
      registers: [registry],
    }),
    ...workerMetrics(registry),
  };
}

/** The workers' metrics: what became of events, the claims, and how long handlers ran. */
function workerMetrics(registry: Registry) {
  return {
    processed: new Counter({
      name: 'stc_events_processed_total',
      help: 'Events finished by the workers (applied, skipped: nothing written, or superseded), by type',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    failed: new Counter({
      name: 'stc_events_failed_total',
      help: 'Failed handler attempts, by type and whether they will be retried',
      labelNames: ['type', 'transient'],
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'stc_events_dead_lettered_total',
      help: 'Events moved to the dead-letter queue',
      labelNames: ['type'],
      registers: [registry],
    }),
    claimLatency: new Histogram({
      name: 'stc_claim_latency_seconds',
      help: 'Time from an event being due to a worker claiming it',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    claims: new Counter({
      name: 'stc_claims_total',
      help: 'Claims the workers made on the inbox: with events, empty, or failed',
      labelNames: ['result'],
      registers: [registry],
    }),
    handlerDuration: new Histogram({
      name: 'stc_handler_duration_seconds',
      help: 'Handler run time, by event type',
      labelNames: ['type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}
