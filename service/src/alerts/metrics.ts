/**
 * Gauges for the Prometheus alert rules (deploy/prometheus/alerts.yml), so Prometheus can decide the same
 * conditions the service's own alerts do: the age of the oldest waiting event (read from the store when
 * scraped), and, set at each alert round, the mismatched payout journals, whether Dataverse and Stripe
 * answered, and which alerts are firing.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Store } from '../store/types';
import { ALERT_NAMES, type AlertFacts, type AlertName } from './rules';

export interface AlertMetrics {
  observe(facts: AlertFacts, firing: ReadonlySet<AlertName>): void;
}

export function createAlertMetrics(
  registry: Registry,
  store: Pick<Store, 'oldestWaitingMs'>,
  now: () => number = Date.now,
): AlertMetrics {
  new Gauge({
    name: 'stc_oldest_waiting_age_seconds',
    help: 'Age of the oldest event still waiting (pending or being processed); 0 when none waits',
    registers: [registry],
    async collect() {
      const oldest = await store.oldestWaitingMs();
      this.set(oldest === null ? 0 : Math.max(0, (now() - oldest) / 1000));
    },
  });
  const mismatched = new Gauge({
    name: 'stc_reconciliation_mismatched_journals',
    help: 'Payout journals in Dataverse that do not balance, as of the last alert round',
    registers: [registry],
  });
  const healthy = new Gauge({
    name: 'stc_dependency_healthy',
    help: 'Whether Dataverse or Stripe answered the last alert round in time and without throttling (1) or not (0)',
    labelNames: ['dependency'],
    registers: [registry],
  });
  const firingGauge = new Gauge({
    name: 'stc_alert_firing',
    help: "Whether the service's own alert is firing (1) or not (0), by alert",
    labelNames: ['alert'],
    registers: [registry],
  });
  return {
    observe(facts, firing) {
      if (facts.mismatchedJournals !== null) mismatched.set(facts.mismatchedJournals);
      for (const [dependency, check] of Object.entries(facts.dependencies))
        healthy.set({ dependency }, check.ok ? 1 : 0);
      for (const alert of ALERT_NAMES) firingGauge.set({ alert }, firing.has(alert) ? 1 : 0);
    },
  };
}
