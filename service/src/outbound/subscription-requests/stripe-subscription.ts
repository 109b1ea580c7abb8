/**
 * The Stripe side of a subscription request: one call per action, each with the request id as idempotency
 * key, so a request delivered twice or resumed from Processing makes its change once (Stripe answers a
 * repeated key with the first response for 24 hours).
 */
import type Stripe from 'stripe';
import { isFinalStripeRefusal } from '../refund-requests/stripe-refund';
import type { StripeChange } from './policy';

/** Metadata key on a subscription created from a request: the request's Dataverse id. */
export const REQUEST_METADATA_KEY = 'd365_subscriptionrequestid';
/**
 * Metadata key on a subscription started from an order: the order's Dataverse id, which subscriptions.yaml
 * binds the stc_subscription row's order lookup by (as payment links name theirs).
 */
export const ORDER_METADATA_KEY = 'd365_salesorderid';

/** What the request records of the outcome. */
export interface ChangeMade {
  subscriptionId: string;
  livemode: boolean | null;
}

/** The change with its Stripe customer resolved: an order's customer to be made is made before the call. */
export type ResolvedChange =
  | Exclude<StripeChange, { action: 'create_from_order' }>
  | (Extract<StripeChange, { action: 'create_from_order' }> & { customer: { stripeId: string } });

/** Makes the change; a final refusal is answered with Stripe's words, anything retryable is thrown. */
export async function makeChange(
  stripe: Stripe,
  change: ResolvedChange,
  requestId: string,
): Promise<{ made: ChangeMade } | { refusal: string }> {
  try {
    return { made: await call(stripe, change, { idempotencyKey: requestId }, requestId) };
  } catch (error) {
    if (!isFinalStripeRefusal(error)) throw error;
    const e = error as Stripe.errors.StripeError;
    return { refusal: `Stripe refused the change: ${e.message}${e.code ? ` (${e.code})` : ''}` };
  }
}

async function call(
  stripe: Stripe,
  change: ResolvedChange,
  options: Stripe.RequestOptions,
  requestId: string,
): Promise<ChangeMade> {
  const made = (s: Stripe.Subscription): ChangeMade => ({ subscriptionId: s.id, livemode: s.livemode });
  switch (change.action) {
    case 'create':
      return made(
        await stripe.subscriptions.create(
          {
            customer: change.customer,
            items: [{ price: change.price, quantity: change.quantity }],
            metadata: { [REQUEST_METADATA_KEY]: requestId },
          },
          options,
        ),
      );
    case 'create_from_order':
      return made(
        await stripe.subscriptions.create(
          {
            customer: change.customer.stripeId,
            items: change.items.map(({ price, quantity }) => ({ price, quantity })),
            // The order's one-off lines, billed once on the first invoice with the first period.
            ...(change.oneOff.length ? { add_invoice_items: change.oneOff } : {}),
            metadata: { [REQUEST_METADATA_KEY]: requestId, [ORDER_METADATA_KEY]: change.order },
          },
          options,
        ),
      );
    case 'cancel_now':
      return made(await stripe.subscriptions.cancel(change.subscription, {}, options));
    case 'cancel_at_period_end':
      return made(
        await stripe.subscriptions.update(change.subscription, { cancel_at_period_end: true }, options),
      );
    case 'pause':
      return made(
        await stripe.subscriptions.update(
          change.subscription,
          { pause_collection: { behavior: change.behavior } },
          options,
        ),
      );
    case 'resume':
      // An empty string unsets a field in Stripe's API: collection goes on.
      return made(await stripe.subscriptions.update(change.subscription, { pause_collection: '' }, options));
    case 'change_quantity': {
      const item = await stripe.subscriptionItems.update(
        change.item,
        { quantity: change.quantity, proration_behavior: 'create_prorations' },
        options,
      );
      // A subscription item carries no livemode; the request keeps the mode it was moved to Processing with.
      return { subscriptionId: item.subscription, livemode: null };
    }
  }
}
