/**
 * Payouts: `payout.*` → the stc_payout row, read fresh from Stripe. When the payout is paid
 * (`payout.paid`, `payout.reconciliation_completed`) its balance transactions and journal entry are
 * written too (see reconciliation/); `payout.failed` marks the row Failed with the bank's reason and a
 * reconciled payout's entry Failed with reversing lines; a reversal (`payout.updated`) marks it Reversed. A
 * manual payout's entry is marked Not reconcilable, since Stripe does not list its transactions.
 */
import type { MappingSet } from '../../mapping';
import {
  createPayoutReconciler,
  type PayoutReconciler,
  type ReconciliationConfig,
  type ReconciliationMetrics,
} from '../../reconciliation';
import { objectEventHandler, stripeForEvent } from '../../write/stripe-objects';
import type { StripeEventHandler } from '../../pipeline/handler';

export interface PayoutsHandlerOptions {
  config?: ReconciliationConfig;
  metrics?: ReconciliationMetrics;
  /** A reconciler built elsewhere (shared with the sweep); default one over `mappings`. */
  reconciler?: PayoutReconciler;
}

export function createPayoutsHandler(
  mappings: () => MappingSet,
  options: PayoutsHandlerOptions = {},
): StripeEventHandler {
  let reconciler = options.reconciler;
  return objectEventHandler('payouts', ['payout.*'], 'payout', async (object, event, context) => {
    // Built on first use: the GL account file is read then, not when the registry is imported.
    reconciler ??= createPayoutReconciler({ mappings, config: options.config, metrics: options.metrics });
    await reconciler.reconcile({
      stripe: stripeForEvent(event, context),
      dataverse: context.dataverse,
      log: context.log,
      payout: object.id,
      event,
      account: event.account ?? null,
    });
  });
}
