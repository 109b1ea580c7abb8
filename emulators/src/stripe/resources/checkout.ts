/**
 * Checkout Sessions (payment mode) and Payment Links: line items priced by prices or `price_data`, a hosted
 * page (hosted.ts) where the payer pays with a test card number, and the events Stripe records when a
 * session is paid or expires.
 */
import { TEST_CARD_NUMBERS } from '../cards';
import { cloneJson } from '../clone';
import type { RequestContext, StripeEngine } from '../engine';
import { invalidRequest, missingParam, StripeApiError } from '../errors';
import { randomToken } from '../ids';
import { fieldFilters, flagFilter, listObjects, paginate, StripeList, timeFilter } from '../list';
import type { ObjectOperation } from '../operations';
import {
  assignBooleans,
  expandPaths,
  mergeMetadata,
  nullableString,
  optionalArray,
  optionalInteger,
  optionalObject,
  optionalString,
  Params,
} from '../params';
import type { StripeObject } from '../store';
import { createPrice } from './billing';
import { address } from './customers';
import { confirmPaymentIntent, createPaymentIntent } from './payments';

/** A line as asked for: the price (stored, or made inline from `price_data`) and how many. */
interface Line {
  price: StripeObject;
  quantity: number;
}

/** How long a session stays open (Stripe's default `expires_at`: 24 hours). */
const SESSION_LIFETIME = 24 * 60 * 60;

/** The line items of each session, in the order given (Stripe shows them only through expansion or a list). */
const sessionLines = new WeakMap<StripeObject, StripeObject[]>();
/**
 * `payment_intent_data` of each session: what its PaymentIntent is made with (description, metadata, and
 * capture_method: `manual` places a hold, and the completed session is then `unpaid` until it is captured).
 */
const sessionIntentData = new WeakMap<StripeObject, Params>();
/** The lines of each payment link, from which each of its sessions is made. */
const linkLines = new WeakMap<StripeObject, { lines: Line[]; items: StripeObject[] }>();

// ---- line items ------------------------------------------------------------------------------------------

/** A `price_data` line: a price of its own (inactive, as Stripe makes them), with a product or product_data. */
function inlinePrice(engine: StripeEngine, ctx: RequestContext, data: Params): StripeObject {
  const price = engine.withoutEvents(() => createPrice(engine, ctx, data));
  price.active = false;
  return price;
}

function readLine(engine: StripeEngine, ctx: RequestContext, item: unknown, at: string): Line {
  if (typeof item !== 'object' || item === null) throw invalidRequest('Invalid object', at);
  const params = item as Params;
  const quantity = optionalInteger(params, 'quantity', 1);
  if (quantity === undefined) throw missingParam(`${at}[quantity]`);
  const priceId = optionalString(params, 'price');
  const priceData = optionalObject(params, 'price_data');
  let price: StripeObject;
  if (priceId) {
    price = engine.reference(ctx, 'price', priceId, `${at}[price]`);
    if (!price.active) {
      throw invalidRequest(
        `The price specified is inactive. This field only accepts active prices.`,
        `${at}[price]`,
      );
    }
  } else if (priceData) {
    price = inlinePrice(engine, ctx, priceData);
  } else {
    throw invalidRequest(`You must specify either \`price\` or \`price_data\` in \`${at}\`.`, at);
  }
  if (price.type === 'recurring') {
    throw invalidRequest(
      'You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.',
      `${at}[price]`,
    );
  }
  return { price, quantity };
}

/** `line_items`: at least one, every price in one currency. */
function readLines(engine: StripeEngine, ctx: RequestContext, params: Params): Line[] {
  const items = optionalArray(params, 'line_items');
  if (!items || items.length === 0) throw missingParam('line_items');
  const lines = items.map((item, i) => readLine(engine, ctx, item, `line_items[${i}]`));
  const currencies = [...new Set(lines.map((line) => line.price.currency))];
  if (currencies.length > 1) {
    throw invalidRequest(
      `All line items must be in the same currency; this request has prices in ${currencies.join(', ')}.`,
      'line_items',
    );
  }
  return lines;
}

function lineItem(ctx: RequestContext, { price, quantity }: Line): StripeObject {
  const amount = price.unit_amount * quantity;
  const product = ctx.scope.find(price.product);
  return {
    id: `li_${randomToken(24)}`,
    object: 'item',
    adjustable_quantity: null,
    amount_discount: 0,
    amount_subtotal: amount,
    amount_tax: 0,
    amount_total: amount,
    currency: price.currency,
    description: product?.name ?? null,
    metadata: {},
    price: cloneJson(price),
    quantity,
  };
}

// ---- sessions --------------------------------------------------------------------------------------------

interface SessionInit {
  lines: Line[];
  params: Params;
  customer: string | null;
  paymentLink: StripeObject | null;
}

function newSession(engine: StripeEngine, ctx: RequestContext, init: SessionInit): StripeObject {
  const items = init.lines.map((line) => lineItem(ctx, line));
  const total = items.reduce((sum, item) => sum + item.amount_total, 0);
  const { params } = init;
  const created = engine.now();
  const id = `cs_${ctx.scope.livemode ? 'live' : 'test'}_${randomToken(58)}`;
  const session: StripeObject = {
    id,
    object: 'checkout.session',
    ...cloneJson(SESSION_DEFAULTS),
    amount_subtotal: total,
    amount_total: total,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    cancel_url: nullableString(params, 'cancel_url') ?? null,
    client_reference_id: nullableString(params, 'client_reference_id') ?? null,
    created,
    currency: items[0].currency,
    customer: init.customer,
    customer_creation: init.customer ? null : 'if_required',
    customer_email: nullableString(params, 'customer_email') ?? null,
    expires_at: optionalInteger(params, 'expires_at') ?? created + SESSION_LIFETIME,
    livemode: ctx.scope.livemode,
    metadata: mergeMetadata({}, params),
    payment_link: init.paymentLink?.id ?? null,
    success_url: nullableString(params, 'success_url') ?? null,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    url: `${engine.hostedUrl}/c/pay/${id}`,
  };
  sessionLines.set(session, items);
  ctx.scope.insert(session);
  return session;
}

/** `custom_text` with no text set. */
function noCustomText() {
  return { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null };
}

/** Fields every new payment-mode session has, whatever was asked. */
const SESSION_DEFAULTS = {
  adaptive_pricing: { enabled: false },
  after_expiration: null,
  allow_promotion_codes: null,
  billing_address_collection: null,
  client_secret: null,
  collected_information: null,
  consent: null,
  consent_collection: null,
  currency_conversion: null,
  custom_fields: [],
  custom_text: noCustomText(),
  customer_account: null,
  customer_details: null,
  discounts: [],
  integration_identifier: null,
  invoice: null,
  invoice_creation: {
    enabled: false,
    invoice_data: {
      account_tax_ids: null,
      custom_fields: null,
      description: null,
      footer: null,
      issuer: null,
      metadata: {},
      rendering_options: null,
    },
  },
  locale: null,
  managed_payments: { enabled: false },
  mode: 'payment',
  origin_context: null,
  payment_intent: null,
  payment_method_collection: 'if_required',
  payment_method_configuration_details: null,
  payment_method_options: { card: { request_three_d_secure: 'automatic' } },
  payment_method_types: ['card'],
  payment_status: 'unpaid',
  permissions: null,
  phone_number_collection: { enabled: false },
  recovered_from: null,
  saved_payment_method_options: null,
  setup_intent: null,
  shipping_address_collection: null,
  shipping_cost: null,
  shipping_options: [],
  status: 'open',
  submit_type: null,
  subscription: null,
  ui_mode: 'hosted',
  wallet_options: null,
};

/** The session as the API answers: with `line_items` when `expand[]` asks for them (or below them). */
function presented(session: StripeObject, params: Params): StripeObject {
  const asked = expandPaths(params).some((path) => path === 'line_items' || path.startsWith('line_items.'));
  if (!asked) return session;
  const url = `/v1/checkout/sessions/${session.id}/line_items`;
  return { ...session, line_items: paginate([...linesOf(session)].reverse(), { limit: 100 }, url) };
}

function linesOf(session: StripeObject): StripeObject[] {
  return sessionLines.get(session) ?? [];
}

export function createCheckoutSession(engine: StripeEngine, ctx: RequestContext, params: Params) {
  const mode = optionalString(params, 'mode');
  if (mode === undefined) throw missingParam('mode');
  if (mode !== 'payment') {
    throw invalidRequest(`The emulator's Checkout supports mode \`payment\` only, not \`${mode}\`.`, 'mode');
  }
  const customer = optionalString(params, 'customer');
  if (customer) engine.reference(ctx, 'customer', customer, 'customer');
  if (customer && params.customer_email !== undefined) {
    throw invalidRequest(
      'You may only specify one of these parameters: customer, customer_email.',
      'customer',
    );
  }
  const lines = readLines(engine, ctx, params);
  const session = newSession(engine, ctx, { lines, params, customer: customer ?? null, paymentLink: null });
  const intentData = optionalObject(params, 'payment_intent_data');
  if (intentData) {
    sessionIntentData.set(session, {
      ...(intentData.description === undefined ? {} : { description: intentData.description }),
      ...(intentData.metadata === undefined ? {} : { metadata: intentData.metadata }),
      ...(intentData.capture_method === undefined ? {} : { capture_method: intentData.capture_method }),
    });
  }
  return presented(session, params);
}

export const retrieveCheckoutSession: ObjectOperation<StripeObject> = (engine, ctx, id, params) =>
  presented(expireIfDue(engine, ctx, engine.get(ctx, 'checkout.session', id)), params);

export const listCheckoutSessionLineItems: ObjectOperation<StripeList> = (engine, ctx, id, params) => {
  const session = engine.get(ctx, 'checkout.session', id);
  const url = `/v1/checkout/sessions/${id}/line_items`;
  return paginate([...linesOf(session)].reverse(), params, url);
};

export function listCheckoutSessions(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const filters = [
    ...fieldFilters(params, 'customer', 'payment_intent', 'payment_link', 'status'),
    timeFilter(params),
  ];
  return listObjects(ctx.scope, 'checkout.session', params, '/v1/checkout/sessions', filters);
}

export const expireCheckoutSession: ObjectOperation<StripeObject> = (engine, ctx, id) => {
  const session = engine.get(ctx, 'checkout.session', id);
  if (session.status !== 'open') {
    throw invalidRequest(
      `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
    );
  }
  expire(engine, ctx, session, false);
  return session;
};

function expire(engine: StripeEngine, ctx: RequestContext, session: StripeObject, automatic: boolean): void {
  engine.change(session, (s) => {
    s.status = 'expired';
    s.url = null;
  });
  engine.emit(ctx, 'checkout.session.expired', session, undefined, { automatic });
}

/** An open session past its `expires_at` expires when next looked at, as Stripe's own sweep would. */
function expireIfDue(engine: StripeEngine, ctx: RequestContext, session: StripeObject): StripeObject {
  if (session.status === 'open' && engine.now() >= session.expires_at) expire(engine, ctx, session, true);
  return session;
}

// ---- paying on the hosted page ---------------------------------------------------------------------------

/** What the hosted page shows after a payment attempt: the session, and the card error if any. */
export interface Attempt {
  session: StripeObject;
  error: string | null;
}

/**
 * The payer submits a card number: the session's PaymentIntent (made on the first attempt, confirmed again
 * on later ones) is charged; on success the session completes (`checkout.session.completed`), on a decline
 * it stays open with the card's message.
 */
export function payCheckoutSession(
  engine: StripeEngine,
  ctx: RequestContext,
  session: StripeObject,
  cardNumber: string,
): Attempt {
  expireIfDue(engine, ctx, session);
  if (session.status !== 'open') return { session, error: `This Checkout Session is ${session.status}.` };
  const token = TEST_CARD_NUMBERS[cardNumber.replace(/[\s-]/g, '')];
  if (!token) return { session, error: 'Your card number is invalid.' };
  try {
    const paymentIntent = session.payment_intent
      ? confirmPaymentIntent(engine, ctx, session.payment_intent, { payment_method: token })
      : createPaymentIntent(engine, ctx, {
          amount: String(session.amount_total),
          currency: session.currency,
          ...(session.customer ? { customer: session.customer } : {}),
          payment_method: token,
          confirm: 'true',
          ...sessionIntentData.get(session),
        });
    complete(engine, ctx, session, paymentIntent);
    return { session, error: null };
  } catch (error) {
    if (!(error instanceof StripeApiError) || error.type !== 'card_error') throw error;
    const declined = error.extra.payment_intent as StripeObject | undefined;
    if (declined) session.payment_intent = declined.id;
    return { session, error: error.message };
  }
}

function complete(
  engine: StripeEngine,
  ctx: RequestContext,
  session: StripeObject,
  paymentIntent: StripeObject,
): void {
  const customer = session.customer ? ctx.scope.find(session.customer) : undefined;
  engine.change(session, (s) => {
    s.status = 'complete';
    // A hold (capture_method=manual) has moved no funds yet: the session completes unpaid.
    s.payment_status = paymentIntent.status === 'requires_capture' ? 'unpaid' : 'paid';
    s.payment_intent = paymentIntent.id;
    s.url = null;
    s.customer_details = {
      address: address({}),
      business_name: null,
      email: customer?.email ?? s.customer_email,
      individual_name: null,
      name: customer?.name ?? null,
      phone: null,
      tax_exempt: 'none',
      tax_ids: [],
    };
  });
  engine.emit(ctx, 'checkout.session.completed', session);
  const link = session.payment_link ? ctx.scope.find(session.payment_link) : undefined;
  if (link) link.restrictions.completed_sessions.count += 1;
}

/** The lines the hosted page shows. */
export function hostedLines(session: StripeObject): StripeObject[] {
  return linesOf(session);
}

// ---- payment links ---------------------------------------------------------------------------------------

export function createPaymentLink(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const lines = readLines(engine, ctx, params);
  const id = engine.newId('plink');
  const link: StripeObject = {
    id,
    object: 'payment_link',
    ...cloneJson(LINK_DEFAULTS),
    active: true,
    currency: lines[0].price.currency,
    livemode: ctx.scope.livemode,
    metadata: mergeMetadata({}, params),
    restrictions: { completed_sessions: { count: 0, limit: null } },
    url: `${engine.hostedUrl}/b/${id}`,
  };
  linkLines.set(link, { lines, items: lines.map((line) => lineItem(ctx, line)) });
  ctx.scope.insert(link);
  engine.emit(ctx, 'payment_link.created', link);
  return link;
}

const LINK_DEFAULTS = {
  after_completion: { hosted_confirmation: { custom_message: null }, type: 'hosted_confirmation' },
  allow_promotion_codes: false,
  application: null,
  application_fee_amount: null,
  application_fee_percent: null,
  automatic_tax: { enabled: false, liability: null },
  billing_address_collection: 'auto',
  consent_collection: null,
  custom_fields: [],
  custom_text: noCustomText(),
  customer_creation: 'if_required',
  inactive_message: null,
  invoice_creation: null,
  managed_payments: { enabled: false },
  on_behalf_of: null,
  payment_intent_data: null,
  payment_method_collection: 'always',
  payment_method_options: null,
  payment_method_types: null,
  phone_number_collection: { enabled: false },
  shipping_address_collection: null,
  shipping_options: [],
  submit_type: 'auto',
  subscription_data: null,
  tax_id_collection: { enabled: false, required: 'never' },
  transfer_data: null,
};

/** `active` and `metadata` change (`payment_link.updated`); an inactive link's page no longer opens. */
export const updatePaymentLink: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const link = engine.get(ctx, 'payment_link', id);
  const change = (target: StripeObject) => {
    assignBooleans(target, params, ['active']);
    target.metadata = mergeMetadata(target.metadata, params);
  };
  engine.update(ctx, link, change, 'payment_link.updated');
  return link;
};

export function listPaymentLinks(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  return listObjects(ctx.scope, 'payment_link', params, '/v1/payment_links', [flagFilter(params, 'active')]);
}

export const listPaymentLinkLineItems: ObjectOperation<StripeList> = (engine, ctx, id, params) => {
  const link = engine.get(ctx, 'payment_link', id);
  const items = linkLines.get(link)?.items ?? [];
  return paginate([...items].reverse(), params, `/v1/payment_links/${id}/line_items`);
};

/** A payer opens a payment link: a new session of its lines, with `payment_link` set. */
export function sessionForLink(engine: StripeEngine, ctx: RequestContext, link: StripeObject): StripeObject {
  if (!link.active) throw invalidRequest('This payment link is no longer active.');
  const lines = linkLines.get(link)?.lines ?? [];
  return newSession(engine, ctx, { lines, params: {}, customer: null, paymentLink: link });
}
