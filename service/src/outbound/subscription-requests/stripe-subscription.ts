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

/** What the request records of the outcome. */
export interface ChangeMade {
  subscriptionId: string;
  livemode: boolean | null;
}

/** Makes the change; a final refusal is answered with Stripe's words, anything retryable is thrown. */
export async function makeChange(
  stripe: Stripe,
  change: StripeChange,
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
  change: StripeChange,
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
