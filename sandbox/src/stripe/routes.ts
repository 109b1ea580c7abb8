/** The REST surface: which path and method run which operation. Operations live in resources/. */
import type { RequestContext, StripeEngine } from './engine';
import { invalidRequest, noSuchObject } from './errors';
import { optionalString, Params } from './params';
import * as balance from './resources/balance';
import * as billing from './resources/billing';
import * as customers from './resources/customers';
import { listEvents } from './resources/events';
import * as payments from './resources/payments';
import { thinNotification } from './webhooks';
import type { StripeEvent } from './engine';

export type Operation = (
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
  path: Record<string, string>,
) => unknown;

export interface Route {
  method: 'get' | 'post' | 'delete';
  path: string;
  operation: Operation;
}

const get =
  (type: string): Operation =>
  (engine, ctx, _params, path) =>
    engine.get(ctx, type, path.id);

export const ROUTES: Route[] = [
  // customers and payment methods
  { method: 'post', path: '/v1/customers', operation: (e, c, p) => customers.createCustomer(e, c, p) },
  { method: 'get', path: '/v1/customers/search', operation: (e, c, p) => customers.searchCustomers(e, c, p) },
  { method: 'get', path: '/v1/customers', operation: (e, c, p) => customers.listCustomers(e, c, p) },
  {
    method: 'get',
    path: '/v1/customers/:id',
    operation: (e, c, _p, r) => customers.retrieveCustomer(e, c, r.id),
  },
  {
    method: 'post',
    path: '/v1/customers/:id',
    operation: (e, c, p, r) => customers.updateCustomer(e, c, r.id, p),
  },
  {
    method: 'delete',
    path: '/v1/customers/:id',
    operation: (e, c, _p, r) => customers.deleteCustomer(e, c, r.id),
  },
  {
    method: 'get',
    path: '/v1/customers/:id/payment_methods',
    operation: (e, c, p, r) => customers.listPaymentMethods(e, c, p, r.id),
  },
  {
    method: 'get',
    path: '/v1/payment_methods',
    operation: (e, c, p) => customers.listPaymentMethods(e, c, p),
  },
  { method: 'get', path: '/v1/payment_methods/:id', operation: get('payment_method') },
  {
    method: 'post',
    path: '/v1/payment_methods/:id/attach',
    operation: (e, c, p, r) => customers.attachPaymentMethodRoute(e, c, r.id, p),
  },

  // payments
  {
    method: 'post',
    path: '/v1/payment_intents',
    operation: (e, c, p) => payments.createPaymentIntent(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/payment_intents',
    operation: (e, c, p) => payments.listPaymentIntents(e, c, p),
  },
  { method: 'get', path: '/v1/payment_intents/:id', operation: get('payment_intent') },
  {
    method: 'post',
    path: '/v1/payment_intents/:id',
    operation: (e, c, p, r) => payments.updatePaymentIntent(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/payment_intents/:id/confirm',
    operation: (e, c, p, r) => payments.confirmPaymentIntent(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/payment_intents/:id/capture',
    operation: (e, c, p, r) => payments.capturePaymentIntent(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/payment_intents/:id/cancel',
    operation: (e, c, p, r) => payments.cancelPaymentIntent(e, c, r.id, p),
  },
  { method: 'get', path: '/v1/charges', operation: (e, c, p) => payments.listCharges(e, c, p) },
  { method: 'get', path: '/v1/charges/:id', operation: get('charge') },
  {
    method: 'post',
    path: '/v1/charges/:id',
    operation: (e, c, p, r) => payments.updateCharge(e, c, r.id, p),
  },
  {
    method: 'get',
    path: '/v1/charges/:id/refunds',
    operation: (e, c, p, r) => payments.listRefunds(e, c, p, r.id),
  },
  { method: 'post', path: '/v1/refunds', operation: (e, c, p) => payments.createRefund(e, c, p) },
  { method: 'get', path: '/v1/refunds', operation: (e, c, p) => payments.listRefunds(e, c, p) },
  { method: 'get', path: '/v1/refunds/:id', operation: get('refund') },
  {
    method: 'post',
    path: '/v1/refunds/:id',
    operation: (e, c, p, r) => payments.updateRefund(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/refunds/:id/cancel',
    operation: (e, c, _p, r) => payments.cancelRefund(e, c, r.id),
  },
  { method: 'get', path: '/v1/disputes', operation: (e, c, p) => payments.listDisputes(e, c, p) },
  { method: 'get', path: '/v1/disputes/:id', operation: get('dispute') },
  {
    method: 'post',
    path: '/v1/disputes/:id',
    operation: (e, c, p, r) => payments.updateDispute(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/disputes/:id/close',
    operation: (e, c, _p, r) => payments.closeDispute(e, c, r.id),
  },

  // balance and payouts
  { method: 'get', path: '/v1/balance', operation: (e, c) => balance.retrieveBalance(e, c) },
  {
    method: 'get',
    path: '/v1/balance_transactions',
    operation: (e, c, p) => balance.listBalanceTransactions(e, c, p),
  },
  { method: 'get', path: '/v1/balance_transactions/:id', operation: get('balance_transaction') },
  { method: 'post', path: '/v1/payouts', operation: (e, c, p) => balance.createPayout(e, c, p) },
  { method: 'get', path: '/v1/payouts', operation: (e, c, p) => balance.listPayouts(e, c, p) },
  { method: 'get', path: '/v1/payouts/:id', operation: get('payout') },
  { method: 'post', path: '/v1/payouts/:id', operation: (e, c, p, r) => balance.updatePayout(e, c, r.id, p) },
  {
    method: 'post',
    path: '/v1/payouts/:id/cancel',
    operation: (e, c, _p, r) => balance.cancelPayout(e, c, r.id),
  },

  // billing
  { method: 'post', path: '/v1/products', operation: (e, c, p) => billing.createProduct(e, c, p) },
  { method: 'get', path: '/v1/products', operation: (e, c, p) => billing.listProducts(e, c, p) },
  { method: 'get', path: '/v1/products/:id', operation: get('product') },
  {
    method: 'post',
    path: '/v1/products/:id',
    operation: (e, c, p, r) => billing.updateProduct(e, c, r.id, p),
  },
  {
    method: 'delete',
    path: '/v1/products/:id',
    operation: (e, c, _p, r) => billing.deleteProduct(e, c, r.id),
  },
  { method: 'post', path: '/v1/prices', operation: (e, c, p) => billing.createPrice(e, c, p) },
  { method: 'get', path: '/v1/prices', operation: (e, c, p) => billing.listPrices(e, c, p) },
  { method: 'get', path: '/v1/prices/:id', operation: get('price') },
  { method: 'post', path: '/v1/prices/:id', operation: (e, c, p, r) => billing.updatePrice(e, c, r.id, p) },
  { method: 'post', path: '/v1/subscriptions', operation: (e, c, p) => billing.createSubscription(e, c, p) },
  { method: 'get', path: '/v1/subscriptions', operation: (e, c, p) => billing.listSubscriptions(e, c, p) },
  { method: 'get', path: '/v1/subscriptions/:id', operation: get('subscription') },
  {
    method: 'post',
    path: '/v1/subscriptions/:id',
    operation: (e, c, p, r) => billing.updateSubscription(e, c, r.id, p),
  },
  {
    method: 'delete',
    path: '/v1/subscriptions/:id',
    operation: (e, c, p, r) => billing.cancelSubscription(e, c, r.id, p),
  },
  { method: 'post', path: '/v1/invoiceitems', operation: (e, c, p) => billing.createInvoiceItem(e, c, p) },
  { method: 'get', path: '/v1/invoiceitems', operation: (e, c, p) => billing.listInvoiceItems(e, c, p) },
  { method: 'get', path: '/v1/invoiceitems/:id', operation: get('invoiceitem') },
  { method: 'post', path: '/v1/invoices', operation: (e, c, p) => billing.createInvoice(e, c, p) },
  { method: 'get', path: '/v1/invoices', operation: (e, c, p) => billing.listInvoices(e, c, p) },
  { method: 'get', path: '/v1/invoices/:id', operation: get('invoice') },
  {
    method: 'post',
    path: '/v1/invoices/:id',
    operation: (e, c, p, r) => billing.updateInvoice(e, c, r.id, p),
  },
  {
    method: 'delete',
    path: '/v1/invoices/:id',
    operation: (e, c, _p, r) => billing.deleteInvoice(e, c, r.id),
  },
  {
    method: 'get',
    path: '/v1/invoices/:id/lines',
    operation: (e, c, p, r) => billing.listInvoiceLines(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/invoices/:id/finalize',
    operation: (e, c, _p, r) => billing.finalizeInvoice(e, c, r.id),
  },
  {
    method: 'post',
    path: '/v1/invoices/:id/pay',
    operation: (e, c, p, r) => billing.payInvoice(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/invoices/:id/void',
    operation: (e, c, _p, r) => billing.voidInvoice(e, c, r.id),
  },
  {
    method: 'get',
    path: '/v1/invoice_payments',
    operation: (e, c, p) => billing.listInvoicePayments(e, c, p),
  },
  { method: 'get', path: '/v1/invoice_payments/:id', operation: get('invoice_payment') },

  // events
  { method: 'get', path: '/v1/events', operation: (e, c, p) => listEvents(e, c, p) },
  { method: 'get', path: '/v1/events/:id', operation: get('event') },
  { method: 'get', path: '/v2/core/events', operation: (e, c, p) => v2Events(e, c, p) },
  { method: 'get', path: '/v2/core/events/:id', operation: (e, c, _p, r) => v2Event(e, c, r.id) },

  // emulator-only test helpers, for scenarios driving the emulator from another process
  {
    method: 'post',
    path: '/_emulator/payouts/automatic',
    operation: (e, c, p) => balance.createAutomaticPayout(e, c, optionalString(p, 'currency') ?? 'usd'),
  },
  {
    method: 'post',
    path: '/_emulator/payouts/:id/pay',
    operation: (e, c, _p, r) => balance.payPayout(e, c, r.id),
  },
  {
    method: 'post',
    path: '/_emulator/payouts/:id/fail',
    operation: (e, c, p, r) => balance.failPayout(e, c, r.id, optionalString(p, 'failure_code')),
  },
  {
    method: 'post',
    path: '/_emulator/disputes/:id/close',
    operation: (e, c, p, r) => payments.closeDisputeAs(e, c, e.get(c, 'dispute', r.id), disputeOutcome(p)),
  },
  {
    method: 'post',
    path: '/_emulator/subscriptions/:id/renew',
    operation: (e, c, _p, r) => billing.renewSubscription(e, c, r.id),
  },
];

function disputeOutcome(params: Params): 'won' | 'lost' {
  const outcome = optionalString(params, 'outcome');
  if (outcome !== 'won' && outcome !== 'lost') throw invalidRequest('outcome must be won or lost', 'outcome');
  return outcome;
}

/** A v1 event as the v2 Events API shows it (thin shape); `fetchRelatedObject` then reads the object. */
/** GET /v2/core/events: newest first, `object_id` filter, `limit` (default 20), `page` token. */
function v2Events(engine: StripeEngine, ctx: RequestContext, params: Params): Record<string, unknown> {
  const objectId = optionalString(params, 'object_id');
  const limit = Math.min(100, Math.max(1, Number(optionalString(params, 'limit') ?? 20)));
  const page = optionalString(params, 'page');
  const offset = page ? Number(Buffer.from(page, 'base64url').toString()) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw invalidRequest('Invalid page token.', 'page');
  const events = [...ctx.scope.all('event')]
    .reverse()
    .filter((event) => !objectId || (event as StripeEvent).data.object.id === objectId);
  const data = events
    .slice(offset, offset + limit)
    .map((event) => ({ ...thinNotification(event as StripeEvent), data: null }));
  const token = (value: number) => Buffer.from(String(value)).toString('base64url');
  const query = (value: number) =>
    `/v2/core/events?${new URLSearchParams({ ...(objectId ? { object_id: objectId } : {}), limit: String(limit), page: token(value) })}`;
  return {
    data,
    next_page_url: offset + limit < events.length ? query(offset + limit) : null,
    previous_page_url: offset > 0 ? query(Math.max(0, offset - limit)) : null,
  };
}

function v2Event(engine: StripeEngine, ctx: RequestContext, id: string): Record<string, unknown> {
  const found = ctx.scope.find(id);
  if (!found || found.object !== 'event') throw noSuchObject('event', id);
  return { ...thinNotification(found as StripeEvent), data: null };
}
