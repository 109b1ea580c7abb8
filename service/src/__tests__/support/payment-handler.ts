/**
 * Test support: a small handler that writes a charge to `stc_payments` by its alternate key, standing in for
 * the real payments handler in pipeline tests. `before` lets a test fail or delay an attempt first.
 */
import type Stripe from 'stripe';
import type { StripeEventHandler, SyncContext } from '../../pipeline/handler';

export interface PaymentTestHandler extends StripeEventHandler {
  calls: Array<{ eventId: string; objectId: string; startedAt: number }>;
  /** Most handler runs of one object seen at the same moment (1 when ordering holds). */
  maxConcurrentPerObject: number;
}

export function createPaymentTestHandler(
  before?: (event: Stripe.Event, attempt: number) => Promise<void> | void,
): PaymentTestHandler {
  const running = new Map<string, number>();
  const attempts = new Map<string, number>();
  const handler: PaymentTestHandler = {
    resource: 'payments',
    eventTypes: ['charge.*', 'payment_intent.*'],
    calls: [],
    maxConcurrentPerObject: 0,
    async handle(event: Stripe.Event, context: SyncContext) {
      const charge = event.data.object as Stripe.Charge;
      const n = (running.get(charge.id) ?? 0) + 1;
      running.set(charge.id, n);
      handler.maxConcurrentPerObject = Math.max(handler.maxConcurrentPerObject, n);
      const attempt = (attempts.get(event.id) ?? 0) + 1;
      attempts.set(event.id, attempt);
      handler.calls.push({ eventId: event.id, objectId: charge.id, startedAt: Date.now() });
      try {
        await before?.(event, attempt);
        await context.dataverse.upsertByKey(
          'stc_payments',
          { stc_stripeid: charge.id },
          {
            stc_name: charge.description ?? charge.id,
            stc_amount: charge.amount / 100,
            stc_currency: charge.currency,
            stc_livemode: event.livemode,
            stc_stripeaccount: event.account ?? '',
            stc_lasteventid: event.id,
            stc_lasteventcreated: new Date(event.created * 1000).toISOString(),
          },
        );
        context.log.info({ chargeId: charge.id }, 'payment written');
      } finally {
        running.set(charge.id, (running.get(charge.id) ?? 1) - 1);
      }
    },
  };
  return handler;
}
