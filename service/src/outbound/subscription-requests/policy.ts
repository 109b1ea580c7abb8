/**
 * The subscription policy as one pure decision over facts already read: may this user have Stripe make this
 * change, and if not, why (in words the requester reads on the request). Nothing reaches Stripe unless it
 * passes: the requester holds a role allowed to ask, the customer has a Stripe customer of the mode the
 * service serves, a subscription acted on belongs to the customer named, a quantity is a positive whole number.
 */
import { SubscriptionStatus } from '@stc/solution/tables';
import type { PauseBehavior } from '../../config/outbound';
import type { PolicyUser } from '../refund-requests/policy';
import type { SubscriptionRequestFacts, SubscriptionFacts } from './facts';
import { orderItems, orderLabel, type OneOffItem, type OrderFacts, type RecurringItem } from './order';
import type { Action, SubscriptionRequestRow } from './requests';

export interface SubscriptionRules {
  requesterRoles: string[];
  /** Whether the service serves live mode; a customer or subscription of the other mode is refused. */
  livemode: boolean;
  pauseBehavior: PauseBehavior;
}

/**
 * The Stripe customer of a subscription from an order: the one the account or contact has, or one to make
 * first for a row marked Create in Stripe (as the customers-from-Dynamics-365 path makes it).
 */
export type OrderCustomerRef = { stripeId: string } | { ensure: { kind: 'account' | 'contact'; id: string } };

/** The one Stripe call a request comes to, with what it needs. */
export type StripeChange =
  | { action: 'create'; customer: string; price: string; quantity: number }
  | {
      action: 'create_from_order';
      customer: OrderCustomerRef;
      order: string;
      items: RecurringItem[];
      oneOff: OneOffItem[];
    }
  | { action: 'cancel_now' | 'cancel_at_period_end' | 'resume'; subscription: string }
  | { action: 'pause'; subscription: string; behavior: PauseBehavior }
  | { action: 'change_quantity'; subscription: string; item: string; quantity: number };

/** The change and the connected account (Stripe-Account) it is made on; null for the platform's own. */
export interface Plan {
  change: StripeChange;
  stripeAccount: string | null;
}
export type Planned = Plan | { problem: string };
export type SubscriptionDecision = { kind: 'reject'; reason: string } | { kind: 'act'; plan: Plan };

const ACTION_WORDS: Record<Action, string> = {
  create: 'create',
  cancel_now: 'cancel',
  cancel_at_period_end: 'cancel',
  pause: 'pause',
  resume: 'resume',
  change_quantity: 'change the quantity of',
};

export function decideSubscriptionChange(
  requester: PolicyUser,
  request: SubscriptionRequestRow,
  facts: SubscriptionRequestFacts,
  rules: SubscriptionRules,
): SubscriptionDecision {
  if (!requester.roles.some((role) => rules.requesterRoles.includes(role)))
    return {
      kind: 'reject',
      reason: `The requester (user ${requester.id}) holds none of the roles allowed to request Stripe subscription changes: ${rules.requesterRoles.join(', ')}.`,
    };
  // Asked once, when the request is decided: a resumed request finds the subscription it made itself.
  const order = request.action === 'create' ? facts.order : null;
  if (order?.liveSubscriptions.length)
    return {
      kind: 'reject',
      reason: `${orderLabel(order)} has the Stripe subscription ${order.liveSubscriptions.join(', ')} already: cancel it first to start another.`,
    };
  if (order?.requestsInFlight)
    return {
      kind: 'reject',
      reason: `${orderLabel(order)} has a subscription being started by another request: see its outcome before asking again.`,
    };
  const planned = planChange(request, facts, rules);
  return 'problem' in planned ? { kind: 'reject', reason: planned.problem } : { kind: 'act', plan: planned };
}

/**
 * The Stripe call a request comes to, or why it comes to none; also what a resumed request is acted on from. A
 * request `resuming` from Processing was checked against the subscription's state when it was decided, and
 * its change may have been made since (the row then shows it: canceled, paused): the subscription's state
 * is not asked of the row again; the handler reads it from Stripe instead (stateInStripe).
 */
export function planChange(
  request: SubscriptionRequestRow,
  facts: SubscriptionRequestFacts,
  rules: SubscriptionRules,
  options: { resuming?: boolean } = {},
): Planned {
  if (!request.action)
    return {
      problem: 'The request names no action: choose Create, Cancel, Pause, Resume or Change quantity.',
    };
  if (request.customerId && !facts.customer) return { problem: 'The account or contact no longer exists.' };
  return request.action === 'create'
    ? planCreate(request, facts, rules)
    : planChangeOf(request.action, request, facts, rules, options.resuming === true);
}

function planCreate(
  request: SubscriptionRequestRow,
  facts: SubscriptionRequestFacts,
  rules: SubscriptionRules,
): Planned {
  if (request.orderId) return planFromOrder(request, facts, rules);
  const { customer, product } = facts;
  if (!customer) return { problem: 'The request names no account or contact to subscribe.' };
  const who = `The ${customer.kind}${customer.name ? ` ${customer.name}` : ''}`;
  if (!customer.stripeCustomerId)
    return {
      problem: `${who} has no Stripe customer: sync the customer to Stripe first, then ask again.`,
    };
  const mode = modeProblem(who, customer.livemode, rules);
  if (mode) return { problem: mode };
  const quantity = quantityOf(request.quantity ?? 1);
  if (typeof quantity === 'string') return { problem: quantity };
  const price = priceOf(request, product);
  if ('problem' in price) return price;
  return {
    change: { action: 'create', customer: customer.stripeCustomerId, price: price.price, quantity },
    stripeAccount: customer.stripeAccount,
  };
}

/** A subscription of the order's recurring lines, billed to the order's customer. */
function planFromOrder(
  request: SubscriptionRequestRow,
  facts: SubscriptionRequestFacts,
  rules: SubscriptionRules,
): Planned {
  if (request.priceId || request.productId)
    return {
      problem:
        'The request names an order and a Stripe price or product: name the order alone (its lines say what is subscribed to).',
    };
  if (request.quantity !== null && request.quantity !== undefined && request.quantity !== '')
    return { problem: "The quantities come from the order's lines: leave Quantity empty." };
  const order = facts.order;
  if (!order) return { problem: 'The order no longer exists.' };
  const what = orderLabel(order);
  const customer = order.customer;
  if (!customer) return { problem: `${what} has no customer to bill.` };
  if (request.customerId && request.customerId !== customer.id)
    return { problem: `${what} is for another customer than the one the request names.` };
  const who = `The ${customer.kind}${customer.name ? ` ${customer.name}` : ''}`;
  const mode = modeProblem(who, customer.livemode, rules) ?? modeProblem(what, order.livemode, rules);
  if (mode) return { problem: mode };
  const planned = orderItems(order);
  if ('problem' in planned) return planned;
  const ref = customerRef(customer, who);
  if ('problem' in ref) return ref;
  return {
    change: {
      action: 'create_from_order',
      customer: ref,
      order: order.id,
      items: planned.items,
      oneOff: planned.oneOff,
    },
    stripeAccount: customer.stripeAccount,
  };
}

function customerRef(
  customer: NonNullable<OrderFacts['customer']>,
  who: string,
): OrderCustomerRef | { problem: string } {
  if (customer.stripeCustomerId) return { stripeId: customer.stripeCustomerId };
  if (customer.createInStripe) return { ensure: { kind: customer.kind, id: customer.id } };
  return {
    problem: `${who} has no Stripe customer and is not marked Create in Stripe: mark it (Stripe tab) or sync it to Stripe, then ask again.`,
  };
}

function priceOf(
  request: SubscriptionRequestRow,
  product: SubscriptionRequestFacts['product'],
): { price: string } | { problem: string } {
  if (request.priceId && request.productId)
    return { problem: 'The request names both a Stripe price and a product: name one of them.' };
  if (request.priceId) {
    if (!/^(price|plan)_[A-Za-z0-9_]+$/.test(request.priceId))
      return { problem: `${JSON.stringify(request.priceId)} is not a Stripe price id (price_…).` };
    return { price: request.priceId };
  }
  if (!request.productId) return { problem: 'The request names no Stripe price or product to subscribe to.' };
  if (!product) return { problem: 'The product no longer exists.' };
  const what = `The product${product.name ? ` ${product.name}` : ''}`;
  if (product.recurringPriceIds.length === 0)
    return { problem: `${what} has no active recurring price list item with a Stripe price.` };
  if (product.recurringPriceIds.length > 1)
    return {
      problem: `${what} has ${product.recurringPriceIds.length} active recurring Stripe prices (${product.recurringPriceIds.join(', ')}): name the Stripe price id instead.`,
    };
  return { price: product.recurringPriceIds[0] };
}

function planChangeOf(
  action: Exclude<Action, 'create'>,
  request: SubscriptionRequestRow,
  facts: SubscriptionRequestFacts,
  rules: SubscriptionRules,
  resuming: boolean,
): Planned {
  const subscription = facts.subscription;
  if (!request.subscriptionId)
    return { problem: `The request names no subscription to ${ACTION_WORDS[action]}.` };
  if (!subscription?.stripeId) return { problem: 'The subscription no longer exists in Dynamics 365.' };
  const problem =
    ownershipProblem(subscription, facts, rules) ??
    (resuming ? undefined : stateProblem(action, subscription));
  if (problem) return { problem };
  const target = { subscription: subscription.stripeId };
  const planned = (change: StripeChange): Planned => ({ change, stripeAccount: subscription.stripeAccount });
  if (action === 'pause') return planned({ action, ...target, behavior: rules.pauseBehavior });
  if (action !== 'change_quantity') return planned({ action, ...target });
  const quantity = quantityOf(request.quantity);
  if (typeof quantity === 'string') return { problem: quantity };
  const item = facts.item;
  if (!item)
    return {
      problem: request.subscriptionItemId
        ? 'The subscription item no longer exists in Dynamics 365.'
        : `The subscription has ${subscription.itemIds.length} items: name the one whose quantity changes.`,
    };
  if (item.subscriptionId !== subscription.id || !item.stripeId)
    return { problem: 'The subscription item is not an item of the subscription named.' };
  return planned({ action, ...target, item: item.stripeId, quantity });
}

function ownershipProblem(
  subscription: SubscriptionFacts,
  facts: SubscriptionRequestFacts,
  rules: SubscriptionRules,
): string | undefined {
  const customer = facts.customer;
  if (customer) {
    const same =
      subscription.customerId === customer.id ||
      (!!customer.stripeCustomerId && subscription.stripeCustomerId === customer.stripeCustomerId);
    if (!same)
      return `The subscription ${subscription.stripeId} does not belong to the ${customer.kind}${customer.name ? ` ${customer.name}` : ''}.`;
  }
  return modeProblem(`The subscription ${subscription.stripeId}`, subscription.livemode, rules);
}

function stateProblem(
  action: Exclude<Action, 'create'>,
  subscription: SubscriptionFacts,
): string | undefined {
  const id = subscription.stripeId!;
  if (
    subscription.status === SubscriptionStatus.canceled ||
    subscription.status === SubscriptionStatus.incomplete_expired
  )
    return endedProblem(action, id);
  if (action === 'pause' && subscription.pauseCollection)
    return `Collection of the subscription ${id} is paused already (${subscription.pauseCollection}).`;
  if (action === 'resume' && !subscription.pauseCollection)
    return `Collection of the subscription ${id} is not paused; there is nothing to resume.`;
  return undefined;
}

/** Why a change to a subscription that has ended is not made. */
export function endedProblem(action: Exclude<Action, 'create'>, stripeId: string): string {
  return `The subscription ${stripeId} has ended; there is nothing to ${ACTION_WORDS[action]}.`;
}

function modeProblem(who: string, livemode: boolean | null, rules: SubscriptionRules): string | undefined {
  if (livemode === null || livemode === rules.livemode) return undefined;
  return `${who} is in Stripe ${livemode ? 'live' : 'test'} mode, and this service serves ${rules.livemode ? 'live' : 'test'} mode.`;
}

/** A quantity Stripe takes: a whole number of at least 1; otherwise why not. */
export function quantityOf(value: unknown): number | string {
  if (value === null || value === undefined || value === '') return 'The request names no quantity.';
  const quantity = typeof value === 'string' ? Number(value) : value;
  if (typeof quantity !== 'number' || !Number.isSafeInteger(quantity) || quantity < 1)
    return `The quantity must be a whole number of at least 1, not ${JSON.stringify(value)}.`;
  return quantity;
}
