/** The REST surface: which path and method run which operation. Operations live in resources/. */
import type { RequestContext, StripeEngine } from './engine';
import { invalidRequest, noSuchObject } from './errors';
import type { CollectionOperation, ObjectOperation } from './operations';
import { optionalString, Params } from './params';
import * as balance from './resources/balance';
import * as bankDebits from './resources/bank-debits';
import * as billing from './resources/billing';
import * as checkout from './resources/checkout';
import * as customers from './resources/customers';
import { listEvents } from './resources/events';
import * as creditNotes from './resources/creditNotes';
import * as payments from './resources/payments';
import * as subscriptionItems from './resources/subscriptionItems';
import * as testClocks from './resources/testClocks';
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

/** Top-level parameters each endpoint takes besides `expand` (Stripe API reference); others are refused. */
const CUST_CREATE =
  'address balance business_name cash_balance coupon description email individual_name invoice_prefix invoice_settings metadata name next_invoice_sequence payment_method phone preferred_locales promotion_code shipping source tax tax_exempt tax_id_data test_clock validate';
const CUST_UPDATE =
  'address balance business_name cash_balance coupon default_source description email individual_name invoice_prefix invoice_settings metadata name next_invoice_sequence phone preferred_locales promotion_code shipping source tax tax_exempt validate';
const CUST_LIST = 'created email ending_before limit starting_after test_clock';
const CBT_LIST = 'created ending_before invoice limit starting_after';
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
const CH_CREATE =
  'amount application_fee application_fee_amount capture currency customer description destination metadata on_behalf_of radar_options receipt_email shipping source statement_descriptor statement_descriptor_suffix transfer_data transfer_group';
const CH_CAPTURE =
  'amount application_fee application_fee_amount receipt_email statement_descriptor statement_descriptor_suffix transfer_data transfer_group';
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
const SI_CREATE =
  'billing_thresholds discounts metadata payment_behavior price price_data proration_behavior proration_date quantity subscription tax_rates';
const SI_UPDATE =
  'billing_thresholds discounts metadata off_session payment_behavior price price_data proration_behavior proration_date quantity tax_rates';
const SI_DELETE = 'clear_usage proration_behavior proration_date';
const SI_LIST = 'ending_before limit starting_after subscription';
const CLOCK_CREATE = 'frozen_time name';
const CLOCK_ADVANCE = 'frozen_time';
const CLOCK_LIST = 'ending_before limit starting_after';
const CN_CREATE =
  'amount credit_amount effective_at email_type invoice lines memo metadata out_of_band_amount reason refund_amount refunds shipping_cost';
const CN_UPDATE = 'memo metadata';
const CN_LIST = 'created customer customer_account ending_before invoice limit starting_after';
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
const CS_CREATE =
  'adaptive_pricing after_expiration allow_promotion_codes automatic_tax billing_address_collection branding_settings cancel_url client_reference_id consent_collection currency custom_fields custom_text customer customer_account customer_creation customer_email customer_update discounts excluded_payment_method_types expires_at invoice_creation line_items locale metadata mode name_collection optional_items origin_context payment_intent_data payment_method_collection payment_method_configuration payment_method_data payment_method_options payment_method_types permissions phone_number_collection redirect_on_completion return_url saved_payment_method_options setup_intent_data shipping_address_collection shipping_options submit_type subscription_data success_url tax_id_collection ui_mode wallet_options';
const CS_LIST =
  'created customer customer_account customer_details ending_before limit payment_intent payment_link starting_after status subscription';
const LINES = 'ending_before limit starting_after';
const PLINK_CREATE =
  'after_completion allow_promotion_codes application_fee_amount application_fee_percent automatic_tax billing_address_collection consent_collection currency custom_fields custom_text customer_creation inactive_message invoice_creation line_items metadata name_collection on_behalf_of optional_items payment_intent_data payment_method_collection payment_method_types phone_number_collection restrictions shipping_address_collection shipping_options submit_type subscription_data tax_id_collection transfer_data';
const PLINK_UPDATE = 'active metadata';
const PLINK_LIST = 'active ending_before limit starting_after';
const EVT_LIST = 'created delivery_success ending_before limit starting_after type types';
const NONE = '';

/** The parameters an endpoint accepts, and what it runs. */
type Endpoint<O> = [params: string, operation: O];

/**
 * One Stripe resource's endpoints, as the API reference lays them out: `create` POST /path, `list` GET
 * /path, `search` GET /path/search, `retrieve` GET /path/:id (by default the stored object of type
 * `object`), `update` POST /path/:id, `delete` DELETE /path/:id, `actions` POST /path/:id/<name>, `lists`
 * GET /path/:id/<name>.
 */
interface Resource {
  object?: string;
  create?: Endpoint<CollectionOperation>;
  list?: Endpoint<CollectionOperation>;
  search?: Endpoint<CollectionOperation>;
  retrieve?: Endpoint<ObjectOperation>;
  update?: Endpoint<ObjectOperation>;
  delete?: Endpoint<ObjectOperation>;
  actions?: Record<string, Endpoint<ObjectOperation>>;
  lists?: Record<string, Endpoint<ObjectOperation>>;
}

/** A resource's routes; collection routes come first so that `/path/search` is not taken for an id. */
function resource(path: string, spec: Resource): Route[] {
  const onCollection = (method: Route['method'], at: string, [params, run]: Endpoint<CollectionOperation>) =>
    ({ method, path: at, params, operation: (e, c, p) => run(e, c, p) }) satisfies Route;
  const onObject = (method: Route['method'], at: string, [params, run]: Endpoint<ObjectOperation>) =>
    ({ method, path: at, params, operation: (e, c, p, r) => run(e, c, r.id, p) }) satisfies Route;
  const retrieve: Endpoint<ObjectOperation> | undefined =
    spec.retrieve ?? (spec.object ? [NONE, (e, c, id) => e.get(c, spec.object as string, id)] : undefined);
  const item = `${path}/:id`;
  return [
    ...(spec.create ? [onCollection('post', path, spec.create)] : []),
    ...(spec.list ? [onCollection('get', path, spec.list)] : []),
    ...(spec.search ? [onCollection('get', `${path}/search`, spec.search)] : []),
    ...(retrieve ? [onObject('get', item, retrieve)] : []),
    ...(spec.update ? [onObject('post', item, spec.update)] : []),
    ...(spec.delete ? [onObject('delete', item, spec.delete)] : []),
    ...Object.entries(spec.actions ?? {}).map(([name, endpoint]) =>
      onObject('post', `${item}/${name}`, endpoint),
    ),
    ...Object.entries(spec.lists ?? {}).map(([name, endpoint]) =>
      onObject('get', `${item}/${name}`, endpoint),
    ),
  ];
}

export const ROUTES: Route[] = [
  // customers and payment methods
  ...resource('/v1/customers', {
    create: [CUST_CREATE, customers.createCustomer],
    list: [CUST_LIST, customers.listCustomers],
    search: [CUST_SEARCH, customers.searchCustomers],
    retrieve: [NONE, customers.retrieveCustomer],
    update: [CUST_UPDATE, customers.updateCustomer],
    delete: [NONE, customers.deleteCustomer],
    lists: {
      payment_methods: [PM_LIST, (e, c, id, p) => customers.listPaymentMethods(e, c, p, id)],
      balance_transactions: [CBT_LIST, creditNotes.listCustomerBalanceTransactions],
    },
  }),
  ...resource('/v1/payment_methods', {
    object: 'payment_method',
    list: [PM_LIST, customers.listPaymentMethods],
    actions: { attach: [PM_ATTACH, customers.attachPaymentMethodRoute] },
  }),

  // payments
  ...resource('/v1/payment_intents', {
    object: 'payment_intent',
    create: [PI_CREATE, payments.createPaymentIntent],
    list: [PI_LIST, payments.listPaymentIntents],
    update: [PI_UPDATE, payments.updatePaymentIntent],
    actions: {
      confirm: [PI_CONFIRM, payments.confirmPaymentIntent],
      capture: [PI_CAPTURE, payments.capturePaymentIntent],
      cancel: [PI_CANCEL, payments.cancelPaymentIntent],
    },
  }),
  ...resource('/v1/charges', {
    object: 'charge',
    create: [CH_CREATE, payments.createCharge],
    list: [CH_LIST, payments.listCharges],
    update: [CH_UPDATE, payments.updateCharge],
    actions: { capture: [CH_CAPTURE, payments.captureCharge] },
    lists: { refunds: [RE_LIST, (e, c, id, p) => payments.listRefunds(e, c, p, id)] },
  }),
  ...resource('/v1/refunds', {
    object: 'refund',
    create: [RE_CREATE, payments.createRefund],
    list: [RE_LIST, payments.listRefunds],
    update: [RE_UPDATE, payments.updateRefund],
    actions: { cancel: [NONE, payments.cancelRefund] },
  }),
  ...resource('/v1/disputes', {
    object: 'dispute',
    list: [DP_LIST, payments.listDisputes],
    update: [DP_UPDATE, payments.updateDispute],
    actions: { close: [NONE, payments.closeDispute] },
  }),

  // balance and payouts
  { method: 'get', path: '/v1/balance', params: NONE, operation: (e, c) => balance.retrieveBalance(e, c) },
  ...resource('/v1/balance_transactions', {
    object: 'balance_transaction',
    list: [BT_LIST, balance.listBalanceTransactions],
  }),
  ...resource('/v1/payouts', {
    object: 'payout',
    create: [PO_CREATE, balance.createPayout],
    list: [PO_LIST, balance.listPayouts],
    update: [PO_UPDATE, balance.updatePayout],
    actions: {
      cancel: [NONE, balance.cancelPayout],
      reverse: [PO_UPDATE, balance.reversePayoutRoute],
    },
  }),

  // billing
  ...resource('/v1/products', {
    object: 'product',
    create: [PROD_CREATE, billing.createProduct],
    list: [PROD_LIST, billing.listProducts],
    update: [PROD_UPDATE, billing.updateProduct],
    delete: [NONE, billing.deleteProduct],
  }),
  ...resource('/v1/prices', {
    object: 'price',
    create: [PRICE_CREATE, billing.createPrice],
    list: [PRICE_LIST, billing.listPrices],
    update: [PRICE_UPDATE, billing.updatePrice],
  }),
  ...resource('/v1/subscriptions', {
    object: 'subscription',
    create: [SUB_CREATE, billing.createSubscription],
    list: [SUB_LIST, billing.listSubscriptions],
    update: [SUB_UPDATE, subscriptionItems.updateSubscriptionProrating],
    delete: [SUB_CANCEL, billing.cancelSubscription],
  }),
  ...resource('/v1/subscription_items', {
    create: [SI_CREATE, subscriptionItems.createSubscriptionItem],
    list: [SI_LIST, subscriptionItems.listSubscriptionItems],
    retrieve: [NONE, subscriptionItems.retrieveSubscriptionItem],
    update: [SI_UPDATE, subscriptionItems.updateSubscriptionItem],
    delete: [SI_DELETE, subscriptionItems.deleteSubscriptionItem],
  }),
  ...resource('/v1/test_helpers/test_clocks', {
    object: 'test_helpers.test_clock',
    create: [CLOCK_CREATE, testClocks.createTestClock],
    list: [CLOCK_LIST, testClocks.listTestClocks],
    delete: [NONE, testClocks.deleteTestClock],
    actions: { advance: [CLOCK_ADVANCE, testClocks.advanceTestClock] },
  }),
  ...resource('/v1/credit_notes', {
    object: 'credit_note',
    create: [CN_CREATE, creditNotes.createCreditNote],
    list: [CN_LIST, creditNotes.listCreditNotes],
    update: [CN_UPDATE, creditNotes.updateCreditNote],
    actions: { void: [NONE, creditNotes.voidCreditNote] },
    lists: { lines: [LINES, creditNotes.listCreditNoteLines] },
  }),
  ...resource('/v1/invoiceitems', {
    object: 'invoiceitem',
    create: [II_CREATE, billing.createInvoiceItem],
    list: [II_LIST, billing.listInvoiceItems],
  }),
  ...resource('/v1/invoices', {
    create: [IN_CREATE, billing.createInvoice],
    retrieve: [NONE, billing.retrieveInvoice],
    list: [IN_LIST, billing.listInvoices],
    update: [IN_UPDATE, billing.updateInvoice],
    delete: [NONE, billing.deleteInvoice],
    actions: {
      finalize: [IN_FINALIZE, billing.finalizeInvoice],
      pay: [IN_PAY, billing.payInvoice],
      void: [NONE, billing.voidInvoice],
    },
    lists: { lines: [IN_LINES, billing.listInvoiceLines] },
  }),
  ...resource('/v1/invoice_payments', {
    object: 'invoice_payment',
    list: [INPAY_LIST, billing.listInvoicePayments],
  }),

  // checkout
  ...resource('/v1/checkout/sessions', {
    create: [CS_CREATE, checkout.createCheckoutSession],
    list: [CS_LIST, checkout.listCheckoutSessions],
    retrieve: [NONE, checkout.retrieveCheckoutSession],
    actions: { expire: [NONE, checkout.expireCheckoutSession] },
    lists: { line_items: [LINES, checkout.listCheckoutSessionLineItems] },
  }),
  ...resource('/v1/payment_links', {
    object: 'payment_link',
    create: [PLINK_CREATE, checkout.createPaymentLink],
    list: [PLINK_LIST, checkout.listPaymentLinks],
    update: [PLINK_UPDATE, checkout.updatePaymentLink],
    lists: { line_items: [LINES, checkout.listPaymentLinkLineItems] },
  }),

  // events
  ...resource('/v1/events', { object: 'event', list: [EVT_LIST, listEvents] }),
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
    path: '/_emulator/payment_intents/:id/settle',
    operation: (e, c, _p, r) => bankDebits.settleBankDebit(e, c, r.id),
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
