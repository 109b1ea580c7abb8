/**
 * The Stripe side of a subscription request: one call per action, each with the request id as idempotency
 * key, so a request delivered twice or resumed from Processing makes its change once (Stripe answers a
 * repeated key with the first response for 24 hours). What a key cannot cover is looked up in Stripe first:
 * a created subscription carries the request id in its metadata and is found by it (findCreated), past the
 * 24 hours and whatever the request or its order says now; a change to a subscription is read back from the
 * subscription (stateInStripe), so a resumed request whose change went through is not refused because of it.
 */
import type Stripe from 'stripe';
import { isFinalStripeRefusal, madeUnderRequestKey } from '../refund-requests/stripe-refund';
import type { StripeChange } from './policy';

/** Metadata key on a subscription created from a request: the request's Dataverse id. */
export const REQUEST_METADATA_KEY = 'd365_subscriptionrequestid';
/**
 * Metadata key on a subscription started from an order: the order's Dataverse id, which subscriptions.yaml
 * binds the stc_subscription row's order lookup by (as payment links name theirs).
 */
export const ORDER_METADATA_KEY = 'd365_salesorderid';

/** Subscriptions of one customer looked through for a request's own (a customer rarely has more than a few). */
const MAX_SUBSCRIPTIONS_SEARCHED = 1000;

/** What the request records of the outcome. */
export interface ChangeMade {
  subscriptionId: string;
  livemode: boolean | null;
}

/** The change with its Stripe customer resolved: an order's customer to be made is made before the call. */
export type ResolvedChange =
  | Exclude<StripeChange, { action: 'create_from_order' }>
  | (Extract<StripeChange, { action: 'create_from_order' }> & { customer: { stripeId: string } });

/** A change to an existing subscription, as opposed to a create. */
export type SubscriptionChange = Exclude<StripeChange, { action: 'create' | 'create_from_order' }>;

export function isChangeOf(change: StripeChange): change is SubscriptionChange {
  return change.action !== 'create' && change.action !== 'create_from_order';
}

const made = (s: Stripe.Subscription): ChangeMade => ({ subscriptionId: s.id, livemode: s.livemode });

/**
 * The subscription a create request made, found by the request id in its metadata among the customer's
 * subscriptions of every status; null when it made none. A list rather than `subscriptions.search`: Stripe's
 * search index lags its writes (under a minute normally, longer during an outage), so a subscription made
 * moments ago may not be found by a search, while a list reads what Stripe holds now.
 */
export async function findCreated(
  stripe: Stripe,
  customer: string,
  requestId: string,
): Promise<ChangeMade | null> {
  const subscriptions = await stripe.subscriptions
    .list({ customer, status: 'all', limit: 100 })
    .autoPagingToArray({ limit: MAX_SUBSCRIPTIONS_SEARCHED });
  const found = subscriptions.find((s) => s.metadata?.[REQUEST_METADATA_KEY] === requestId);
  return found ? made(found) : null;
}

/** What Stripe shows of a change: made already (the outcome to record), or not, and whether the subscription has ended. */
export type ChangeState = { done: ChangeMade } | { done: null; ended: boolean };

/**
 * Whether the subscription as Stripe has it now shows the change made: canceled (or ended) for a cancel, set to
 * cancel at period end, collection paused with the behavior asked for, collection going on for a resume, the
 * item at the quantity asked for. A request resumed from Processing whose change Stripe made (its answer lost,
 * or the outcome's write to Dataverse failed) is completed from this; whoever made the change, the subscription
 * is as the request asked.
 */
export async function stateInStripe(stripe: Stripe, change: SubscriptionChange): Promise<ChangeState> {
  const subscription = await stripe.subscriptions.retrieve(change.subscription);
  const ended = subscription.status === 'canceled' || subscription.status === 'incomplete_expired';
  const shown = (done: boolean): ChangeState => (done ? { done: made(subscription) } : { done: null, ended });
  switch (change.action) {
    case 'cancel_now':
      return shown(ended);
    case 'cancel_at_period_end':
      return shown(ended || subscription.cancel_at_period_end);
    case 'pause':
      return shown(!ended && subscription.pause_collection?.behavior === change.behavior);
    case 'resume':
      return shown(!ended && !subscription.pause_collection);
    case 'change_quantity': {
      const item = subscription.items.data.find((i) => i.id === change.item);
      const quantity = item
        ? item.quantity
        : await stripe.subscriptionItems.retrieve(change.item).then(
            (i) => (i.subscription === subscription.id ? i.quantity : undefined),
            () => undefined,
          );
      // A subscription item carries no livemode; the request keeps the mode it was moved to Processing with.
      return !ended && quantity === change.quantity
        ? { done: { subscriptionId: subscription.id, livemode: null } }
        : { done: null, ended };
    }
  }
}

/**
 * Makes the change; a final refusal is answered with Stripe's words, anything retryable is thrown. An
 * idempotency error is answered with what Stripe holds of the change made under the request's key, when it
 * shows it (madeUnderRequestKey).
 */
export async function makeChange(
  stripe: Stripe,
  change: ResolvedChange,
  requestId: string,
): Promise<{ made: ChangeMade } | { refusal: string }> {
  try {
    return { made: await call(stripe, change, { idempotencyKey: requestId }, requestId) };
  } catch (error) {
    if (!isFinalStripeRefusal(error)) throw error;
    const shown = await madeUnderRequestKey(error, () => madeMeanwhile(stripe, change, requestId));
    if (shown) return { made: shown };
    const e = error as Stripe.errors.StripeError;
    return { refusal: `Stripe refused the change: ${e.message}${e.code ? ` (${e.code})` : ''}` };
  }
}

/** What Stripe holds of the request's change: the subscription it created, or one showing the change. */
async function madeMeanwhile(
  stripe: Stripe,
  change: ResolvedChange,
  requestId: string,
): Promise<ChangeMade | null> {
  const customer = creatingFor(change);
  if (customer) return findCreated(stripe, customer, requestId);
  return isChangeOf(change) ? (await stateInStripe(stripe, change)).done : null;
}

/** The Stripe customer a create request makes its subscription for; null for a change of a subscription. */
export function creatingFor(change: ResolvedChange): string | null {
  if (change.action === 'create') return change.customer;
  if (change.action === 'create_from_order') return change.customer.stripeId;
  return null;
}

async function call(
  stripe: Stripe,
  change: ResolvedChange,
  options: Stripe.RequestOptions,
  requestId: string,
): Promise<ChangeMade> {
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
