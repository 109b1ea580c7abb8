/**
 * Orders of payments made without a Checkout Session (ORDERS_FROM_PAYMENTS=true): after the payments handler
 * has written a payment, its order is made when the payment as the handler wrote it is a succeeded
 * PaymentIntent (or a succeeded, captured Charge made without one: a charge made with capture=false makes its
 * order at `charge.captured`, for the amount captured). That is the state the handler synced, whichever
 * event of the payment's burst was applied (payment_intent.created, a charge's events, a later charge.updated):
 * the PaymentIntent the handler read from Stripe, else the newest copy of it among the burst's events, else
 * the event's own copy. No Stripe read is added for it.
 */
import type Stripe from 'stripe';
import type { MappingSet } from '../../mapping';
import type { StripeEventHandler, SyncContext } from '../../pipeline/handler';
import { idOf, type StripeObject } from '../../write/stripe-objects';
import { intentFromBurst } from '../payments';
import { writePaymentOrder } from './index';

/** The payments handler, then an order for a succeeded, captured payment made without a Checkout Session. */
export function withPaymentOrders(
  payments: StripeEventHandler,
  mappings: () => MappingSet,
): StripeEventHandler {
  return {
    ...payments,
    async handle(event, context) {
      const reads = new Map<string, StripeObject>();
      await payments.handle(event, recordingIntentReads(context, reads));
      const payment = syncedPayment(event, context, reads);
      if (payment) await writePaymentOrder(mappings(), payment, event, context);
    },
  };
}

/**
 * The payment the handler wrote for this event: for a PaymentIntent's event (its own or one of its charges'),
 * the PaymentIntent as the handler had it; for a Charge made without one, the event's charge. Null when the
 * handler could only have read it and did not (it wrote nothing then).
 */
export function syncedPayment(
  event: Stripe.Event,
  context: Pick<SyncContext, 'burst' | 'payloadMayBeStale'>,
  reads: ReadonlyMap<string, StripeObject>,
): StripeObject | null {
  const object = event.data.object as unknown as StripeObject;
  const intentId =
    object.object === 'payment_intent'
      ? object.id
      : object.object === 'charge'
        ? idOf(object.payment_intent)
        : undefined;
  if (!intentId) return object;
  const own = object.object === 'payment_intent' && !context.payloadMayBeStale ? object : undefined;
  return reads.get(intentId) ?? intentFromBurst(context.burst, intentId) ?? own ?? null;
}

/**
 * The context with Stripe clients that note each PaymentIntent the handler retrieves in `reads`: the state it
 * wrote when it read one.
 */
function recordingIntentReads(context: SyncContext, reads: Map<string, StripeObject>): SyncContext {
  return {
    ...context,
    stripeFor: (account) => {
      const stripe = context.stripeFor(account);
      const intents = stripe.paymentIntents;
      const retrieve: typeof intents.retrieve = async (...args: Parameters<typeof intents.retrieve>) => {
        const intent = await intents.retrieve(...args);
        reads.set(intent.id, intent as unknown as StripeObject);
        return intent;
      };
      const recording = delegate(intents, { retrieve });
      return delegate(stripe, { paymentIntents: recording });
    },
  };
}

/** `target` with `overrides` in place of some of its members; the rest are the target's own, bound to it. */
function delegate<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, property) {
      if (Object.prototype.hasOwnProperty.call(overrides, property)) return overrides[property as keyof T];
      const value: unknown = Reflect.get(object, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}
