/**
 * Subscription items (`/v1/subscription_items`) and the prorations a change of price or quantity makes in the
 * middle of a period: Stripe credits the unused time of what the item was and charges the remaining time of
 * what it is now, as pending invoice items that the next invoice takes (`create_prorations`, the default),
 * on an invoice made at once (`always_invoice`), or not at all (`none`).
 */
import type { RequestContext, StripeEngine } from '../engine';
import { invalidRequest, noSuchObject } from '../errors';
import { paginate, type StripeList } from '../list';
import type { ObjectOperation } from '../operations';
import { mergeMetadata, optionalInteger, optionalString, type Params, requiredString } from '../params';
import type { StripeObject } from '../store';
import { frozenTimeOf, Invoicing, planOf, subscriptionItem, updateSubscription } from './billing';
import { cloneJson } from '../clone';

const PRORATION_BEHAVIORS = ['create_prorations', 'none', 'always_invoice'];

/** What an item bills: its price and quantity, before or after a change. */
export interface ItemTerms {
  price: StripeObject;
  quantity: number;
}

/** The item and the subscription holding it, or the 404 Stripe gives for an unknown id. */
function findItem(ctx: RequestContext, id: string): { subscription: StripeObject; item: StripeObject } {
  for (const subscription of ctx.scope.all('subscription')) {
    const item = subscription.items.data.find((i: StripeObject) => i.id === id);
    if (item) return { subscription, item };
  }
  throw noSuchObject('subscription_item', id);
}

export function prorationBehavior(params: Params): string {
  const behavior = optionalString(params, 'proration_behavior') ?? 'create_prorations';
  if (!PRORATION_BEHAVIORS.includes(behavior)) {
    throw invalidRequest(
      `Invalid proration_behavior: must be one of ${PRORATION_BEHAVIORS.join(', ')}`,
      'proration_behavior',
    );
  }
  return behavior;
}

function recurringPrice(
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
  subscription: StripeObject,
) {
  const price = engine.reference(ctx, 'price', requiredString(params, 'price'), 'price');
  if (price.type !== 'recurring') {
    throw invalidRequest(
      'The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.',
      'price',
    );
  }
  if (price.currency !== subscription.currency) {
    throw invalidRequest(
      `The price's currency (${price.currency}) must match the subscription's currency (${subscription.currency}).`,
      'price',
    );
  }
  return price;
}

function mutableSubscription(subscription: StripeObject): void {
  if (['canceled', 'incomplete_expired'].includes(subscription.status)) {
    throw invalidRequest(
      `This subscription is ${subscription.status} and its items can no longer be changed.`,
      'subscription',
    );
  }
}

export function createSubscriptionItem(
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
): StripeObject {
  const subscription = engine.reference(
    ctx,
    'subscription',
    requiredString(params, 'subscription'),
    'subscription',
  );
  mutableSubscription(subscription);
  const price = recurringPrice(engine, ctx, params, subscription);
  if (subscription.items.data.some((i: StripeObject) => i.price.id === price.id)) {
    throw invalidRequest(`Cannot add multiple subscription items with the same price: ${price.id}`, 'price');
  }
  const quantity = optionalInteger(params, 'quantity', 0) ?? 1;
  const behavior = prorationBehavior(params);
  return engine.at(frozenTimeOf(ctx, subscription), () => {
    const prorationDate = optionalInteger(params, 'proration_date') ?? engine.now();
    const current = subscription.items.data[0];
    const item = subscriptionItem(engine, subscription.id, price, quantity, mergeMetadata({}, params), 0);
    // A new item shares the subscription's current period.
    item.current_period_start = current?.current_period_start ?? engine.now();
    item.current_period_end = current?.current_period_end ?? item.current_period_end;
    engine.update(
      ctx,
      subscription,
      (s) => {
        s.items.data.push(item);
        s.items.total_count = s.items.data.length;
      },
      'customer.subscription.updated',
    );
    prorate(
      engine,
      ctx,
      subscription,
      item,
      { before: null, after: { price, quantity } },
      behavior,
      prorationDate,
    );
    return item;
  });
}

export const updateSubscriptionItem: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const { subscription, item } = findItem(ctx, id);
  mutableSubscription(subscription);
  const price = params.price !== undefined ? recurringPrice(engine, ctx, params, subscription) : item.price;
  const quantity = optionalInteger(params, 'quantity', 0) ?? item.quantity;
  const behavior = prorationBehavior(params);
  const metadata = mergeMetadata(item.metadata, params);
  const before: ItemTerms = { price: item.price, quantity: item.quantity };
  return engine.at(frozenTimeOf(ctx, subscription), () => {
    const prorationDate = optionalInteger(params, 'proration_date') ?? engine.now();
    engine.update(
      ctx,
      subscription,
      (s) => {
        const target = s.items.data.find((i: StripeObject) => i.id === id);
        target.price = cloneJson(price);
        target.plan = planOf(price);
        target.quantity = quantity;
        target.metadata = metadata;
      },
      'customer.subscription.updated',
    );
    const changed = before.price.id !== price.id || before.quantity !== quantity;
    if (changed) {
      prorate(
        engine,
        ctx,
        subscription,
        item,
        { before, after: { price, quantity } },
        behavior,
        prorationDate,
      );
    }
    return item;
  });
};

export const deleteSubscriptionItem: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const { subscription, item } = findItem(ctx, id);
  mutableSubscription(subscription);
  if (subscription.items.data.length === 1) {
    throw invalidRequest(
      'A subscription must have at least one active plan. To cancel a subscription, please use the cancel API ' +
        'endpoint on /v1/subscriptions.',
    );
  }
  const behavior = prorationBehavior(params);
  return engine.at(frozenTimeOf(ctx, subscription), () => {
    const prorationDate = optionalInteger(params, 'proration_date') ?? engine.now();
    engine.update(
      ctx,
      subscription,
      (s) => {
        s.items.data = s.items.data.filter((i: StripeObject) => i.id !== id);
        s.items.total_count = s.items.data.length;
      },
      'customer.subscription.updated',
    );
    const before = { price: item.price, quantity: item.quantity };
    prorate(engine, ctx, subscription, item, { before, after: null }, behavior, prorationDate);
    return { id, object: 'subscription_item', deleted: true };
  });
};

export const retrieveSubscriptionItem: ObjectOperation<StripeObject> = (engine, ctx, id) =>
  findItem(ctx, id).item;

export function listSubscriptionItems(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const id = requiredString(params, 'subscription');
  const subscription = engine.reference(ctx, 'subscription', id, 'subscription');
  // Items are kept in the order they were added; the pager wants creation order and lists newest first.
  return paginate(subscription.items.data, params, `/v1/subscription_items?subscription=${id}`);
}

/**
 * The prorations of a change to `item` at `date`: a credit for the unused time of `before` and a charge for
 * the remaining time of `after` (each rounded to the minor unit), as pending invoice items. None during a
 * trial, outside the current period, or with `proration_behavior=none`.
 */
export function prorate(
  engine: StripeEngine,
  ctx: RequestContext,
  subscription: StripeObject,
  item: StripeObject,
  change: { before: ItemTerms | null; after: ItemTerms | null },
  behavior: string,
  date: number,
): void {
  const start = item.current_period_start;
  const end = item.current_period_end;
  if (behavior === 'none' || subscription.status === 'trialing' || date < start || date >= end) return;
  const fraction = (end - date) / (end - start);
  const period = { start: date, end };
  if (change.before) {
    const { price, quantity } = change.before;
    const amount = -Math.round(price.unit_amount * quantity * fraction);
    const description = `Unused time on ${label(ctx, price, quantity)} after ${day(date)}`;
    prorationItem(engine, ctx, subscription, item, { price, quantity, amount, description, period });
  }
  if (change.after) {
    const { price, quantity } = change.after;
    const amount = Math.round(price.unit_amount * quantity * fraction);
    const description = `Remaining time on ${label(ctx, price, quantity)} after ${day(date)}`;
    prorationItem(engine, ctx, subscription, item, { price, quantity, amount, description, period });
  }
  if (behavior === 'always_invoice') new Invoicing(engine, ctx).invoicePendingItems(subscription);
}

/** The prorations of several items' changes; with `always_invoice`, one invoice for all of them. */
function prorateAll(
  engine: StripeEngine,
  ctx: RequestContext,
  subscription: StripeObject,
  changes: Array<{ item: StripeObject; before: ItemTerms | null; after: ItemTerms | null }>,
  behavior: string,
  date: number,
): void {
  const deferred = behavior === 'always_invoice' ? 'create_prorations' : behavior;
  for (const { item, before, after } of changes) {
    prorate(engine, ctx, subscription, item, { before, after }, deferred, date);
  }
  const pending = ctx.scope
    .all('invoiceitem')
    .some((ii) => ii.invoice === null && ii.parent?.subscription_details?.subscription === subscription.id);
  if (behavior === 'always_invoice' && pending) new Invoicing(engine, ctx).invoicePendingItems(subscription);
}

function label(ctx: RequestContext, price: StripeObject, quantity: number): string {
  const name = ctx.scope.find(price.product)?.name ?? price.product;
  return quantity === 1 ? name : `${quantity} × ${name}`;
}

/** `05 Dec 2026`, as Stripe writes the date in a proration's description. */
function day(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  const month = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  return `${String(date.getUTCDate()).padStart(2, '0')} ${month} ${date.getUTCFullYear()}`;
}

/** A pending invoice item of a subscription item's proration (`invoiceitem.created`). */
function prorationItem(
  engine: StripeEngine,
  ctx: RequestContext,
  subscription: StripeObject,
  item: StripeObject,
  line: {
    price: StripeObject;
    quantity: number;
    amount: number;
    description: string;
    period: { start: number; end: number };
  },
): StripeObject {
  const invoiceItem: StripeObject = {
    id: engine.newId('ii'),
    object: 'invoiceitem',
    amount: line.amount,
    currency: subscription.currency,
    customer: subscription.customer,
    customer_account: null,
    date: engine.now(),
    description: line.description,
    discountable: false,
    discounts: [],
    invoice: null,
    livemode: ctx.scope.livemode,
    metadata: {},
    net_amount: line.amount,
    parent: {
      subscription_details: { subscription: subscription.id, subscription_item: item.id },
      type: 'subscription_details',
    },
    period: line.period,
    pricing: {
      price_details: { price: line.price.id, product: line.price.product },
      type: 'price_details',
      unit_amount_decimal: line.price.unit_amount_decimal,
    },
    proration: true,
    quantity: line.quantity,
    quantity_decimal: String(line.quantity),
    tax_rates: [],
    test_clock: subscription.test_clock,
  };
  ctx.scope.insert(invoiceItem);
  engine.emit(ctx, 'invoiceitem.created', invoiceItem);
  return invoiceItem;
}

/**
 * POST /v1/subscriptions/:id: the subscription's update (billing.ts), at its test clock's time, followed by
 * the prorations of the items whose price or quantity it changed, added or removed.
 */
export const updateSubscriptionProrating: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const subscription = engine.get(ctx, 'subscription', id);
  const behavior = prorationBehavior(params);
  const before = new Map<string, StripeObject>(
    subscription.items.data.map((item: StripeObject) => [item.id, cloneJson(item)]),
  );
  return engine.at(frozenTimeOf(ctx, subscription), () => {
    const prorationDate = optionalInteger(params, 'proration_date') ?? engine.now();
    updateSubscription(engine, ctx, id, params);
    if (params.items === undefined) return subscription;
    const after = new Map<string, StripeObject>(
      subscription.items.data.map((item: StripeObject) => [item.id, item]),
    );
    const terms = (item: StripeObject | undefined): ItemTerms | null =>
      item ? { price: item.price, quantity: item.quantity } : null;
    const changes = [...new Set([...before.keys(), ...after.keys()])].flatMap((itemId) => {
      const old = before.get(itemId);
      const now = after.get(itemId);
      if (old && now && old.price.id === now.price.id && old.quantity === now.quantity) return [];
      return [{ item: (now ?? old) as StripeObject, before: terms(old), after: terms(now) }];
    });
    prorateAll(engine, ctx, subscription, changes, behavior, prorationDate);
    return subscription;
  });
};
