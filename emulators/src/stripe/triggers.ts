/**
 * `stripe trigger <event>` for the emulator: each flow makes the API calls the Stripe CLI makes for that event
 * (its fixtures in stripe-cli pkg/fixtures/triggers), in-process, so the event and everything around it
 * happen as they would on Stripe. Steps refer to earlier results as `${name:path}`.
 */
import type { RequestContext, StripeEngine } from './engine';
import { invalidRequest, StripeApiError } from './errors';
import { newRequestId } from './ids';
import type { Params } from './params';
import * as balance from './resources/balance';
import { ROUTES } from './routes';
import type { Scope, StripeObject } from './store';

type ApiStep = {
  name: string;
  method: 'get' | 'post' | 'delete';
  path: string;
  params?: Params;
  mayFail?: boolean;
};
type HelperStep = {
  name: string;
  helper: (engine: StripeEngine, ctx: RequestContext, results: Results) => unknown;
};
type Step = ApiStep | HelperStep;
type Results = Record<string, unknown>;

const DESCRIPTION = '(created by the Stripe emulator)';

const payment = (paymentMethod: string, extra: Params = {}): ApiStep => ({
  name: 'payment_intent',
  method: 'post',
  path: '/v1/payment_intents',
  params: {
    amount: 2000,
    currency: 'usd',
    payment_method_types: ['card'],
    payment_method: paymentMethod,
    confirm: true,
    description: DESCRIPTION,
    ...extra,
  },
  mayFail: paymentMethod.includes('Declined'),
});

const customerWithCard = (card = 'pm_card_visa'): ApiStep => ({
  name: 'customer',
  method: 'post',
  path: '/v1/customers',
  params: {
    description: DESCRIPTION,
    payment_method: card,
    invoice_settings: { default_payment_method: card },
  },
});

const subscriptionSteps: Step[] = [
  customerWithCard(),
  {
    name: 'product',
    method: 'post',
    path: '/v1/products',
    params: { name: 'myproduct', description: DESCRIPTION },
  },
  {
    name: 'price',
    method: 'post',
    path: '/v1/prices',
    params: {
      product: '${product:id}',
      unit_amount: 1500,
      currency: 'usd',
      recurring: { interval: 'month' },
    },
  },
  {
    name: 'subscription',
    method: 'post',
    path: '/v1/subscriptions',
    params: { customer: '${customer:id}', items: [{ price: '${price:id}' }] },
  },
];

const invoiceSteps = (card: string, pay: boolean): Step[] => [
  { name: 'customer', method: 'post', path: '/v1/customers', params: { description: DESCRIPTION } },
  {
    name: 'payment_method',
    method: 'post',
    path: `/v1/payment_methods/${card}/attach`,
    params: { customer: '${customer:id}' },
  },
  {
    name: 'invoiceitem',
    method: 'post',
    path: '/v1/invoiceitems',
    params: { amount: 2000, currency: 'usd', customer: '${customer:id}', description: DESCRIPTION },
  },
  {
    name: 'invoice',
    method: 'post',
    path: '/v1/invoices',
    params: {
      customer: '${customer:id}',
      description: DESCRIPTION,
      pending_invoice_items_behavior: 'include',
    },
  },
  pay
    ? {
        name: 'invoice_pay',
        method: 'post',
        path: '/v1/invoices/${invoice:id}/pay',
        params: { payment_method: '${payment_method:id}' },
        mayFail: true,
      }
    : { name: 'invoice_finalize', method: 'post', path: '/v1/invoices/${invoice:id}/finalize' },
];

const disputeSteps = (close: boolean): Step[] => [
  payment(close ? 'pm_card_createDisputeInquiry' : 'pm_card_createDispute'),
  {
    name: 'disputes_list',
    method: 'get',
    path: '/v1/disputes',
    params: { payment_intent: '${payment_intent:id}' },
  },
  ...(close
    ? [
        {
          name: 'dispute_close',
          method: 'post',
          path: '/v1/disputes/${disputes_list:data.0.id}/close',
        } as ApiStep,
      ]
    : []),
];

const payoutSteps = (pay: boolean): Step[] => [
  payment('pm_card_bypassPending'),
  { name: 'payout', helper: (engine, ctx) => balance.createAutomaticPayout(engine, ctx, 'usd') },
  ...(pay
    ? [
        {
          name: 'payout_pay',
          helper: (engine: StripeEngine, ctx: RequestContext, results: Results) =>
            balance.payPayout(engine, ctx, (results.payout as StripeObject).id),
        },
      ]
    : []),
];

const refundSteps: Step[] = [
  payment('pm_card_visa'),
  { name: 'refund', method: 'post', path: '/v1/refunds', params: { payment_intent: '${payment_intent:id}' } },
];

export const TRIGGERS: Record<string, Step[]> = {
  'customer.created': [
    { name: 'customer', method: 'post', path: '/v1/customers', params: { description: DESCRIPTION } },
  ],
  'customer.updated': [
    { name: 'customer', method: 'post', path: '/v1/customers', params: { description: DESCRIPTION } },
    {
      name: 'customer_update',
      method: 'post',
      path: '/v1/customers/${customer:id}',
      params: { metadata: { foo: 'bar' } },
    },
  ],
  'customer.deleted': [
    { name: 'customer', method: 'post', path: '/v1/customers', params: { description: DESCRIPTION } },
    { name: 'customer_delete', method: 'delete', path: '/v1/customers/${customer:id}' },
  ],
  'payment_intent.created': [payment('pm_card_visa', { confirm: false })],
  'payment_intent.succeeded': [payment('pm_card_visa')],
  'payment_intent.payment_failed': [payment('pm_card_chargeDeclined')],
  'payment_intent.canceled': [
    {
      name: 'payment_intent',
      method: 'post',
      path: '/v1/payment_intents',
      params: { amount: 2000, currency: 'usd', description: DESCRIPTION },
    },
    {
      name: 'cancel',
      method: 'post',
      path: '/v1/payment_intents/${payment_intent:id}/cancel',
      params: { cancellation_reason: 'requested_by_customer' },
    },
  ],
  'payment_intent.amount_capturable_updated': [payment('pm_card_visa', { capture_method: 'manual' })],
  'payment_intent.requires_action': [payment('pm_card_authenticationRequired')],
  'charge.succeeded': [payment('pm_card_visa')],
  'charge.updated': [payment('pm_card_visa')],
  'charge.failed': [payment('pm_card_chargeDeclined')],
  'charge.captured': [
    payment('pm_card_visa', { capture_method: 'manual' }),
    { name: 'capture', method: 'post', path: '/v1/payment_intents/${payment_intent:id}/capture' },
  ],
  'charge.refunded': refundSteps,
  'refund.created': refundSteps,
  'charge.refund.updated': [
    ...refundSteps,
    {
      name: 'refund_update',
      method: 'post',
      path: '/v1/refunds/${refund:id}',
      params: { metadata: { foo: 'bar' } },
    },
  ],
  'refund.updated': [
    ...refundSteps,
    {
      name: 'refund_update',
      method: 'post',
      path: '/v1/refunds/${refund:id}',
      params: { metadata: { foo: 'bar' } },
    },
  ],
  'refund.failed': [
    payment('pm_card_refundFail'),
    {
      name: 'refund',
      method: 'post',
      path: '/v1/refunds',
      params: { payment_intent: '${payment_intent:id}' },
    },
  ],
  'charge.dispute.created': disputeSteps(false),
  'charge.dispute.funds_withdrawn': disputeSteps(false),
  'charge.dispute.closed': disputeSteps(true),
  'charge.dispute.updated': [
    ...disputeSteps(false),
    {
      name: 'dispute_update',
      method: 'post',
      path: '/v1/disputes/${disputes_list:data.0.id}',
      params: { evidence: { customer_name: 'Jenny Rosen' }, submit: false },
    },
  ],
  'charge.dispute.funds_reinstated': [
    ...disputeSteps(false),
    {
      name: 'dispute_update',
      method: 'post',
      path: '/v1/disputes/${disputes_list:data.0.id}',
      params: { evidence: { uncategorized_text: 'winning_evidence' } },
    },
  ],
  'product.created': [subscriptionSteps[1]],
  'price.created': subscriptionSteps.slice(1, 3),
  'customer.subscription.created': subscriptionSteps,
  'customer.subscription.updated': [
    ...subscriptionSteps,
    {
      name: 'subscription_update',
      method: 'post',
      path: '/v1/subscriptions/${subscription:id}',
      params: { metadata: { foo: 'bar' } },
    },
  ],
  'customer.subscription.deleted': [
    ...subscriptionSteps,
    { name: 'subscription_cancel', method: 'delete', path: '/v1/subscriptions/${subscription:id}' },
  ],
  'invoice.created': invoiceSteps('pm_card_visa', false).slice(0, 4),
  'invoice.finalized': invoiceSteps('pm_card_visa', false),
  'invoice.paid': invoiceSteps('pm_card_visa', true),
  'invoice.payment_succeeded': invoiceSteps('pm_card_visa', true),
  'invoice.payment_failed': invoiceSteps('pm_card_chargeCustomerFail', true),
  'invoice.payment_action_required': invoiceSteps('pm_card_threeDSecure2Required', true),
  'payout.created': payoutSteps(false),
  'payout.paid': payoutSteps(true),
  'payout.reconciliation_completed': payoutSteps(true),
};

/** Run the flow for `eventType` in `scope`; returns each step's result by name. */
export function trigger(engine: StripeEngine, scope: Scope, eventType: string): Results {
  const steps = TRIGGERS[eventType];
  if (!steps) {
    throw invalidRequest(`No trigger for ${eventType}. Known: ${Object.keys(TRIGGERS).join(', ')}`, 'event');
  }
  const results: Results = {};
  for (const step of steps) {
    const ctx: RequestContext = { scope, requestId: newRequestId(), idempotencyKey: null };
    if ('helper' in step) {
      results[step.name] = step.helper(engine, ctx, results);
      continue;
    }
    const path = substitute(step.path, results) as string;
    const params = (substitute(step.params ?? {}, results) ?? {}) as Params;
    const [route, pathParams] = findRoute(step.method, path);
    try {
      results[step.name] = route.operation(engine, ctx, stringify(params) as Params, pathParams);
    } catch (error) {
      // The CLI expects some flows to end in a card error (declines); the events are what matters.
      if (!(step.mayFail && error instanceof StripeApiError && error.type === 'card_error')) throw error;
      results[step.name] = error.toJSON();
    }
  }
  return results;
}

function findRoute(method: string, path: string): [(typeof ROUTES)[number], Record<string, string>] {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const pattern = new RegExp(`^${route.path.replace(/:(\w+)/g, '(?<$1>[^/]+)')}$`);
    const match = pattern.exec(path);
    if (match) return [route, { ...match.groups }];
  }
  throw new Error(`trigger step names no route: ${method.toUpperCase()} ${path}`);
}

/** `${name:path.to.field}` → the value at that path of an earlier step's result. */
function substitute(value: unknown, results: Results): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{(\w+):([\w.]+)\}/g, (_whole, name: string, path: string) => {
      let node: unknown = results[name];
      for (const key of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[key];
      if (node === undefined) throw new Error(`trigger placeholder \${${name}:${path}} has no value`);
      return String(node);
    });
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, results));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, results)]));
  }
  return value;
}

/** Parameters as a form body would carry them: every leaf a string. */
function stringify(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stringify);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stringify(v)]));
  }
  return value === undefined ? undefined : String(value);
}
