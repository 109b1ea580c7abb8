/** Prometheus counters for reconciliation, registered on the registry the service exposes at /metrics. */
import { Counter, type Registry } from 'prom-client';
import type { ReconciliationMetrics } from './reconcile';

export function createReconciliationMetrics(registry: Registry): ReconciliationMetrics & {
  mismatches: Counter;
  reconciliations: Counter<'outcome'>;
} {
  const mismatches = new Counter({
    name: 'stc_reconciliation_mismatch_total',
    help: 'Payout journals whose lines do not sum to the payout amount',
    registers: [registry],
  });
  const reconciliations = new Counter({
    name: 'stc_payouts_reconciled_total',
    help: 'Payouts reconciled into a journal entry, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  return {
    mismatches,
    reconciliations,
    mismatch: () => mismatches.inc(),
    reconciled: (outcome) => reconciliations.inc({ outcome }),
  };
}
