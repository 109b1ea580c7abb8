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
  /** Space-separated top-level parameters the endpoint accepts besides `expand`; unset: anything. */
  params?: string;
}

const get =
  (type: string): Operation =>
  (engine, ctx, _params, path) =>
    engine.get(ctx, type, path.id);

/** Top-level parameters each endpoint takes besides `expand` (Stripe API reference); others are refused. */
const CUST_CREATE =
  'address balance business_name cash_balance coupon description email individual_name invoice_prefix invoice_settings metadata name next_invoice_sequence payment_method phone preferred_locales promotion_code shipping source tax tax_exempt tax_id_data test_clock validate';
const CUST_UPDATE =
  'address balance business_name cash_balance coupon default_source description email individual_name invoice_prefix invoice_settings metadata name next_invoice_sequence phone preferred_locales promotion_code shipping source tax tax_exempt validate';
const CUST_LIST = 'created email ending_before limit starting_after test_clock';
const CUST_SEARCH = 'query limit page';
const PM_LIST = 'customer customer_account ending_before limit starting_after type allow_redisplay';
const PM_ATTACH = 'customer customer_account';
const PI_CREATE =
  'amount amount_details application_fee_amount automatic_payment_methods capture_method confirm confirmation_method confirmation_token currency customer customer_account description error_on_requires_action excluded_payment_method_types hooks mandate mandate_data metadata off_session on_behalf_of payment_details payment_method payment_method_configuration payment_method_data payment_method_options payment_method_types radar_options receipt_email return_url setup_future_usage shipping statement_descriptor statement_descriptor_suffix transfer_data transfer_group use_stripe_sdk';
const PI_UPDATE =
  'amount amount_details application_fee_amount capture_method currency customer customer_account description excluded_payment_method_types hooks metadata payment_details payment_method payment_method_configuration payment_method_data payment_method_options payment_method_types receipt_email setup_future_usage shipping statement_descriptor statement_descriptor_suffix transfer_data transfer_group';
const PI_CONFIRM =
  'amount_details capture_method confirmation_token error_on_requires_action excluded_payment_method_types hooks mandate mandate_data off_session payment_details payment_method payment_method_data payment_method_options payment_method_types radar_options receipt_email return_url setup_future_usage shipping use_stripe_sdk';
const PI_CAPTURE =
  'amount_details amount_to_capture application_fee_amount final_capture hooks metadata payment_details statement_descriptor statement_descriptor_suffix transfer_data';
const PI_CANCEL = 'cancellation_reason';
const PI_LIST = 'created customer customer_account ending_before limit starting_after';
const CH_UPDATE = 'customer description fraud_details metadata receipt_email shipping transfer_group';
const CH_LIST = 'created customer ending_before limit payment_intent starting_after transfer_group';
const RE_CREATE =
  'amount charge currency customer instructions_email metadata origin payment_intent reason refund_application_fee reverse_transfer';
const RE_UPDATE = 'metadata';
const RE_LIST = 'charge created ending_before limit payment_intent starting_after';
const DP_UPDATE = 'evidence intended_submission_method metadata submit';
const DP_LIST = 'charge created ending_before limit payment_intent starting_after';
const BT_LIST = 'created currency ending_before limit payout source starting_after type';
const PO_CREATE =
  'amount currency description destination metadata method payout_method source_type statement_descriptor';
const PO_UPDATE = 'metadata';
const PO_LIST = 'arrival_date created destination ending_before limit starting_after status';
const PROD_CREATE =
  'active default_price_data description id images marketing_features metadata name package_dimensions shippable statement_descriptor tax_code type unit_label url';
const PROD_UPDATE =
  'active default_price description images marketing_features metadata name package_dimensions shippable statement_descriptor tax_code unit_label url';
const PROD_LIST = 'active created ending_before ids limit shippable starting_after type url';
const PRICE_CREATE =
  'active billing_scheme currency currency_options custom_unit_amount lookup_key metadata nickname product product_data recurring tax_behavior tiers tiers_mode transfer_lookup_key transform_quantity unit_amount unit_amount_decimal';
const PRICE_UPDATE = 'active currency_options lookup_key metadata nickname tax_behavior transfer_lookup_key';
const PRICE_LIST =
  'active created currency ending_before limit lookup_keys product recurring starting_after type';
const SUB_CREATE =
  'add_invoice_items application_fee_percent automatic_tax backdate_start_date billing_cycle_anchor billing_cycle_anchor_config billing_mode billing_thresholds cancel_at cancel_at_period_end collection_method currency customer customer_account days_until_due default_payment_method default_source default_tax_rates description discounts invoice_settings items metadata off_session on_behalf_of payment_behavior payment_settings pending_invoice_item_interval proration_behavior transfer_data trial_end trial_from_plan trial_period_days trial_settings';
const SUB_UPDATE =
  'add_invoice_items application_fee_percent automatic_tax billing_cycle_anchor billing_thresholds cancel_at cancel_at_period_end cancellation_details collection_method days_until_due default_payment_method default_source default_tax_rates description discounts invoice_settings items metadata off_session on_behalf_of pause_collection payment_behavior payment_settings pending_invoice_item_interval proration_behavior proration_date transfer_data trial_end trial_from_plan trial_settings';
const SUB_CANCEL = 'cancellation_details invoice_now prorate';
const SUB_LIST =
  'automatic_tax collection_method created current_period_end current_period_start customer customer_account ending_before limit price starting_after status test_clock';
const II_CREATE =
  'amount currency customer customer_account description discountable discounts invoice metadata period price price_data pricing quantity subscription tax_behavior tax_code tax_rates unit_amount_decimal';
const II_LIST = 'created customer customer_account ending_before invoice limit pending starting_after';
const IN_CREATE =
  'account_tax_ids application_fee_amount auto_advance automatic_tax automatically_finalizes_at collection_method currency custom_fields customer customer_account days_until_due default_payment_method default_source default_tax_rates description discounts due_date effective_at footer from_invoice issuer metadata number on_behalf_of payment_settings pending_invoice_items_behavior rendering shipping_cost shipping_details statement_descriptor subscription transfer_data';
const IN_UPDATE =
  'account_tax_ids application_fee_amount auto_advance automatic_tax automatically_finalizes_at collection_method custom_fields days_until_due default_payment_method default_source default_tax_rates description discounts due_date effective_at footer issuer metadata number on_behalf_of payment_settings rendering shipping_cost shipping_details statement_descriptor transfer_data';
const IN_LIST =
  'collection_method created customer customer_account due_date ending_before limit starting_after status subscription';
const IN_LINES = 'ending_before limit starting_after';
const IN_PAY = 'forgive mandate off_session paid_out_of_band payment_method source';
const IN_FINALIZE = 'auto_advance';
const INPAY_LIST = 'created ending_before invoice limit payment starting_after status';
const EVT_LIST = 'created delivery_success ending_before limit starting_after type types';
const NONE = '';

export const ROUTES: Route[] = [
  // customers and payment methods
  {
    method: 'post',
    path: '/v1/customers',
    params: CUST_CREATE,
    operation: (e, c, p) => customers.createCustomer(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/customers/search',
    params: CUST_SEARCH,
    operation: (e, c, p) => customers.searchCustomers(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/customers',
    params: CUST_LIST,
    operation: (e, c, p) => customers.listCustomers(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/customers/:id',
    params: NONE,
    operation: (e, c, _p, r) => customers.retrieveCustomer(e, c, r.id),
  },
  {
    method: 'post',
    path: '/v1/customers/:id',
    params: CUST_UPDATE,
    operation: (e, c, p, r) => customers.updateCustomer(e, c, r.id, p),
  },
  {
    method: 'delete',
    path: '/v1/customers/:id',
    params: NONE,
    operation: (e, c, _p, r) => customers.deleteCustomer(e, c, r.id),
  },
  {
    method: 'get',
    path: '/v1/customers/:id/payment_methods',
    params: PM_LIST,
    operation: (e, c, p, r) => customers.listPaymentMethods(e, c, p, r.id),
  },
  {
    method: 'get',
    path: '/v1/payment_methods',
    params: PM_LIST,
    operation: (e, c, p) => customers.listPaymentMethods(e, c, p),
  },
  { method: 'get', path: '/v1/payment_methods/:id', params: NONE, operation: get('payment_method') },
  {
    method: 'post',
    path: '/v1/payment_methods/:id/attach',
    params: PM_ATTACH,
    operation: (e, c, p, r) => customers.attachPaymentMethodRoute(e, c, r.id, p),
  },

  // payments
  {
    method: 'post',
    path: '/v1/payment_intents',
    params: PI_CREATE,
    operation: (e, c, p) => payments.createPaymentIntent(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/payment_intents',
    params: PI_LIST,
    operation: (e, c, p) => payments.listPaymentIntents(e, c, p),
  },
  { method: 'get', path: '/v1/payment_intents/:id', params: NONE, operation: get('payment_intent') },
  {
    method: 'post',
    path: '/v1/payment_intents/:id',
    params: PI_UPDATE,
    operation: (e, c, p, r) => payments.updatePaymentIntent(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/payment_intents/:id/confirm',
    params: PI_CONFIRM,
    operation: (e, c, p, r) => payments.confirmPaymentIntent(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/payment_intents/:id/capture',
    params: PI_CAPTURE,
    operation: (e, c, p, r) => payments.capturePaymentIntent(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/payment_intents/:id/cancel',
    params: PI_CANCEL,
    operation: (e, c, p, r) => payments.cancelPaymentIntent(e, c, r.id, p),
  },
  {
    method: 'get',
    path: '/v1/charges',
    params: CH_LIST,
    operation: (e, c, p) => payments.listCharges(e, c, p),
  },
  { method: 'get', path: '/v1/charges/:id', params: NONE, operation: get('charge') },
  {
    method: 'post',
    path: '/v1/charges/:id',
    params: CH_UPDATE,
    operation: (e, c, p, r) => payments.updateCharge(e, c, r.id, p),
  },
  {
    method: 'get',
    path: '/v1/charges/:id/refunds',
    params: RE_LIST,
    operation: (e, c, p, r) => payments.listRefunds(e, c, p, r.id),
  },
  {
    method: 'post',
    path: '/v1/refunds',
    params: RE_CREATE,
    operation: (e, c, p) => payments.createRefund(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/refunds',
    params: RE_LIST,
    operation: (e, c, p) => payments.listRefunds(e, c, p),
  },
  { method: 'get', path: '/v1/refunds/:id', params: NONE, operation: get('refund') },
  {
    method: 'post',
    path: '/v1/refunds/:id',
    params: RE_UPDATE,
    operation: (e, c, p, r) => payments.updateRefund(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/refunds/:id/cancel',
    params: NONE,
    operation: (e, c, _p, r) => payments.cancelRefund(e, c, r.id),
  },
  {
    method: 'get',
    path: '/v1/disputes',
    params: DP_LIST,
    operation: (e, c, p) => payments.listDisputes(e, c, p),
  },
  { method: 'get', path: '/v1/disputes/:id', params: NONE, operation: get('dispute') },
  {
    method: 'post',
    path: '/v1/disputes/:id',
    params: DP_UPDATE,
    operation: (e, c, p, r) => payments.updateDispute(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/disputes/:id/close',
    params: NONE,
    operation: (e, c, _p, r) => payments.closeDispute(e, c, r.id),
  },

  // balance and payouts
  { method: 'get', path: '/v1/balance', params: NONE, operation: (e, c) => balance.retrieveBalance(e, c) },
  {
    method: 'get',
    path: '/v1/balance_transactions',
    params: BT_LIST,
    operation: (e, c, p) => balance.listBalanceTransactions(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/balance_transactions/:id',
    params: NONE,
    operation: get('balance_transaction'),
  },
  {
    method: 'post',
    path: '/v1/payouts',
    params: PO_CREATE,
    operation: (e, c, p) => balance.createPayout(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/payouts',
    params: PO_LIST,
    operation: (e, c, p) => balance.listPayouts(e, c, p),
  },
  { method: 'get', path: '/v1/payouts/:id', params: NONE, operation: get('payout') },
  {
    method: 'post',
    path: '/v1/payouts/:id',
    params: PO_UPDATE,
    operation: (e, c, p, r) => balance.updatePayout(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/payouts/:id/cancel',
    params: NONE,
    operation: (e, c, _p, r) => balance.cancelPayout(e, c, r.id),
  },

  // billing
  {
    method: 'post',
    path: '/v1/products',
    params: PROD_CREATE,
    operation: (e, c, p) => billing.createProduct(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/products',
    params: PROD_LIST,
    operation: (e, c, p) => billing.listProducts(e, c, p),
  },
  { method: 'get', path: '/v1/products/:id', params: NONE, operation: get('product') },
  {
    method: 'post',
    path: '/v1/products/:id',
    params: PROD_UPDATE,
    operation: (e, c, p, r) => billing.updateProduct(e, c, r.id, p),
  },
  {
    method: 'delete',
    path: '/v1/products/:id',
    params: NONE,
    operation: (e, c, _p, r) => billing.deleteProduct(e, c, r.id),
  },
  {
    method: 'post',
    path: '/v1/prices',
    params: PRICE_CREATE,
    operation: (e, c, p) => billing.createPrice(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/prices',
    params: PRICE_LIST,
    operation: (e, c, p) => billing.listPrices(e, c, p),
  },
  { method: 'get', path: '/v1/prices/:id', params: NONE, operation: get('price') },
  {
    method: 'post',
    path: '/v1/prices/:id',
    params: PRICE_UPDATE,
    operation: (e, c, p, r) => billing.updatePrice(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/subscriptions',
    params: SUB_CREATE,
    operation: (e, c, p) => billing.createSubscription(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/subscriptions',
    params: SUB_LIST,
    operation: (e, c, p) => billing.listSubscriptions(e, c, p),
  },
  { method: 'get', path: '/v1/subscriptions/:id', params: NONE, operation: get('subscription') },
  {
    method: 'post',
    path: '/v1/subscriptions/:id',
    params: SUB_UPDATE,
    operation: (e, c, p, r) => billing.updateSubscription(e, c, r.id, p),
  },
  {
    method: 'delete',
    path: '/v1/subscriptions/:id',
    params: SUB_CANCEL,
    operation: (e, c, p, r) => billing.cancelSubscription(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/invoiceitems',
    params: II_CREATE,
    operation: (e, c, p) => billing.createInvoiceItem(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/invoiceitems',
    params: II_LIST,
    operation: (e, c, p) => billing.listInvoiceItems(e, c, p),
  },
  { method: 'get', path: '/v1/invoiceitems/:id', params: NONE, operation: get('invoiceitem') },
  {
    method: 'post',
    path: '/v1/invoices',
    params: IN_CREATE,
    operation: (e, c, p) => billing.createInvoice(e, c, p),
  },
  {
    method: 'get',
    path: '/v1/invoices',
    params: IN_LIST,
    operation: (e, c, p) => billing.listInvoices(e, c, p),
  },
  { method: 'get', path: '/v1/invoices/:id', params: NONE, operation: get('invoice') },
  {
    method: 'post',
    path: '/v1/invoices/:id',
    params: IN_UPDATE,
    operation: (e, c, p, r) => billing.updateInvoice(e, c, r.id, p),
  },
  {
    method: 'delete',
    path: '/v1/invoices/:id',
    params: NONE,
    operation: (e, c, _p, r) => billing.deleteInvoice(e, c, r.id),
  },
  {
    method: 'get',
    path: '/v1/invoices/:id/lines',
    params: IN_LINES,
    operation: (e, c, p, r) => billing.listInvoiceLines(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/invoices/:id/finalize',
    params: IN_FINALIZE,
    operation: (e, c, _p, r) => billing.finalizeInvoice(e, c, r.id),
  },
  {
    method: 'post',
    path: '/v1/invoices/:id/pay',
    params: IN_PAY,
    operation: (e, c, p, r) => billing.payInvoice(e, c, r.id, p),
  },
  {
    method: 'post',
    path: '/v1/invoices/:id/void',
    params: NONE,
    operation: (e, c, _p, r) => billing.voidInvoice(e, c, r.id),
  },
  {
    method: 'get',
    path: '/v1/invoice_payments',
    params: INPAY_LIST,
    operation: (e, c, p) => billing.listInvoicePayments(e, c, p),
  },
  { method: 'get', path: '/v1/invoice_payments/:id', params: NONE, operation: get('invoice_payment') },

  // events
  { method: 'get', path: '/v1/events', params: EVT_LIST, operation: (e, c, p) => listEvents(e, c, p) },
  { method: 'get', path: '/v1/events/:id', params: NONE, operation: get('event') },
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
