/** Customers (CRUD, list, search) and the payment methods attached to them. */
import { testCardFor } from '../cards';
import { TEST_ROUTING_NUMBER, testBankAccountFor } from '../bank-accounts';
import type { RequestContext, StripeEngine } from '../engine';
import type { ObjectOperation } from '../operations';
import { invalidRequest, StripeApiError } from '../errors';
import { randomToken } from '../ids';
import { fieldFilters, listObjects, StripeList, timeFilter } from '../list';
import {
  assignStrings,
  mergeMetadata,
  nullableString,
  optionalArray,
  optionalObject,
  optionalString,
  Params,
} from '../params';
import type { StripeObject } from '../store';

const ADDRESS_FIELDS = ['city', 'country', 'line1', 'line2', 'postal_code', 'state'] as const;

export function address(value: Params | undefined): Record<string, string | null> | null {
  if (!value) return null;
  return Object.fromEntries(
    ADDRESS_FIELDS.map((f) => [f, typeof value[f] === 'string' ? (value[f] as string) : null]),
  );
}

/**
 * Stripe's shipping hash: the address, then name and phone and any `more` fields (a payment intent's carrier
 * and tracking number) in alphabetical order, each a string or null.
 */
export function shipping(value: Params | undefined, more: string[] = []): Record<string, unknown> | null {
  if (!value) return null;
  const fields = ['name', 'phone', ...more].sort();
  return {
    address: address(value.address as Params | undefined),
    ...Object.fromEntries(fields.map((f) => [f, typeof value[f] === 'string' ? (value[f] as string) : null])),
  };
}

/** The parameter that names a customer's default payment method. */
const DEFAULT_PM_PARAM = 'invoice_settings[default_payment_method]';

/** Something before an `@`, a domain with a dot after it, no spaces: what Stripe takes as an e-mail address. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Stripe refuses a customer's e-mail that is not an address (400, `email_invalid`); empty clears it. */
function checkEmail(params: Params): void {
  const email = nullableString(params, 'email');
  if (email && !EMAIL.test(email))
    throw invalidRequest(`Invalid email address: ${email}`, 'email', 'email_invalid');
}

export function createCustomer(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  checkEmail(params);
  const clockId = optionalString(params, 'test_clock');
  const clock = clockId ? engine.reference(ctx, 'test_helpers.test_clock', clockId, 'test_clock') : null;
  // A customer on a test clock is created at the clock's frozen time.
  return engine.at(clock?.frozen_time ?? null, () => newCustomer(engine, ctx, params, clock?.id ?? null));
}

function newCustomer(
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
  testClock: string | null,
): StripeObject {
  const customer: StripeObject = {
    id: engine.newId('cus'),
    object: 'customer',
    address: address(optionalObject(params, 'address')),
    balance: 0,
    created: engine.now(),
    currency: null,
    default_source: null,
    delinquent: false,
    description: nullableString(params, 'description') ?? null,
    discount: null,
    email: nullableString(params, 'email') ?? null,
    invoice_prefix: randomToken(8).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: ctx.scope.livemode,
    metadata: mergeMetadata({}, params),
    name: nullableString(params, 'name') ?? null,
    next_invoice_sequence: 1,
    phone: nullableString(params, 'phone') ?? null,
    preferred_locales: (optionalArray(params, 'preferred_locales') ?? []).map(String),
    shipping: shipping(optionalObject(params, 'shipping')),
    tax_exempt: optionalString(params, 'tax_exempt') ?? 'none',
    test_clock: testClock,
  };
  // Attach before the customer exists in the scope's event stream, so a declined card creates nothing.
  const paymentMethodParam = optionalString(params, 'payment_method');
  const invoiceSettings = optionalObject(params, 'invoice_settings');
  ctx.scope.insert(customer);
  try {
    const attached = paymentMethodParam
      ? attachPaymentMethod(engine, ctx, paymentMethodParam, customer, 'payment_method')
      : undefined;
    const defaultParam = invoiceSettings?.default_payment_method;
    if (typeof defaultParam === 'string' && defaultParam) {
      // The CLI passes the same token twice: it means the method just attached.
      const pm =
        attached && defaultParam === paymentMethodParam
          ? attached
          : attachPaymentMethod(engine, ctx, defaultParam, customer, DEFAULT_PM_PARAM);
      customer.invoice_settings.default_payment_method = pm.id;
    }
  } catch (error) {
    ctx.scope.remove(customer);
    throw error;
  }
  engine.emit(ctx, 'customer.created', customer);
  return customer;
}

export function retrieveCustomer(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  if (ctx.scope.deleted.get(id) === 'customer') return { id, object: 'customer', deleted: true };
  return engine.get(ctx, 'customer', id);
}

export const updateCustomer: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const customer = engine.get(ctx, 'customer', id);
  checkEmail(params);
  const invoiceSettings = optionalObject(params, 'invoice_settings');
  let defaultPaymentMethod: string | undefined;
  if (typeof invoiceSettings?.default_payment_method === 'string' && invoiceSettings.default_payment_method) {
    const pm = invoiceSettings.default_payment_method;
    defaultPaymentMethod = attachPaymentMethod(engine, ctx, pm, customer, DEFAULT_PM_PARAM).id;
  }
  engine.update(
    ctx,
    customer,
    (c) => {
      assignStrings(c, params, ['description', 'email', 'name', 'phone']);
      if (params.address !== undefined) c.address = address(optionalObject(params, 'address'));
      if (params.shipping !== undefined) c.shipping = shipping(optionalObject(params, 'shipping'));
      if (params.preferred_locales !== undefined) {
        c.preferred_locales = (optionalArray(params, 'preferred_locales') ?? []).map(String);
      }
      const taxExempt = optionalString(params, 'tax_exempt');
      if (taxExempt) c.tax_exempt = taxExempt;
      c.metadata = mergeMetadata(c.metadata, params);
      if (defaultPaymentMethod) {
        c.invoice_settings = { ...c.invoice_settings, default_payment_method: defaultPaymentMethod };
      }
    },
    'customer.updated',
  );
  return customer;
};

export function deleteCustomer(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  const customer = engine.get(ctx, 'customer', id);
  ctx.scope.remove(customer);
  // The event carries the customer as it was, marked deleted (recorded events show `deleted: true`).
  engine.emit(ctx, 'customer.deleted', { ...customer, deleted: true });
  // Retrieving a deleted customer answers `{ id, object, deleted: true }`, as Stripe does.
  ctx.scope.deleted.set(id, 'customer');
  return { id, object: 'customer', deleted: true };
}

export function listCustomers(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const filters = [...fieldFilters(params, 'email', 'test_clock'), timeFilter(params)];
  return listObjects(ctx.scope, 'customer', params, '/v1/customers', filters);
}

/**
 * Search with Stripe's query language, the common part: `field:'value'` and `field~'substring'` clauses on
 * email, name, phone, description and `metadata['key']`, joined by AND or OR (not mixed).
 */
export function searchCustomers(engine: StripeEngine, ctx: RequestContext, params: Params) {
  const query = optionalString(params, 'query');
  if (!query) throw invalidRequest('Missing required param: query.', 'query', 'parameter_missing');
  const predicate = parseSearchQuery(query);
  const matches = ctx.scope.all('customer').filter(predicate);
  const limit = Math.min(100, Math.max(1, Number(params.limit ?? 10)));
  const offset = params.page ? Number(Buffer.from(String(params.page), 'base64url').toString()) : 0;
  const newestFirst = [...matches].reverse();
  const data = newestFirst.slice(offset, offset + limit);
  const hasMore = offset + limit < newestFirst.length;
  return {
    object: 'search_result',
    data,
    has_more: hasMore,
    next_page: hasMore ? Buffer.from(String(offset + limit)).toString('base64url') : null,
    url: '/v1/customers/search',
  };
}

function parseSearchQuery(query: string): (customer: StripeObject) => boolean {
  const clause = /(metadata\[['"]([^'"]+)['"]\]|[a-z_]+)\s*(:|~)\s*(?:'([^']*)'|"([^"]*)")/g;
  const tests: Array<(c: StripeObject) => boolean> = [];
  let match: RegExpExecArray | null;
  while ((match = clause.exec(query))) {
    const [, field, metadataKey, operator, single, double] = match;
    const wanted = single ?? double ?? '';
    const read = (c: StripeObject): unknown => (metadataKey ? c.metadata?.[metadataKey] : c[field]);
    if (!metadataKey && !['email', 'name', 'phone', 'description', 'created'].includes(field)) {
      throw invalidRequest(
        `Field \`${field}\` is an unsupported search field for resource \`customers\`.`,
        'query',
      );
    }
    tests.push((c) => {
      const value = read(c);
      if (typeof value !== 'string') return false;
      return operator === ':'
        ? value.toLowerCase() === wanted.toLowerCase()
        : value.toLowerCase().includes(wanted.toLowerCase());
    });
  }
  if (tests.length === 0) throw invalidRequest(`Could not parse the search query: ${query}`, 'query');
  const any = /\sOR\s/.test(query);
  return (c) => (any ? tests.some((t) => t(c)) : tests.every((t) => t(c)));
}

// ---- payment methods -------------------------------------------------------------------------------------

/**
 * The payment method a parameter names: a test token (`pm_card_visa`) makes a new `pm_…` each time, as on
 * Stripe; a `pm_…` id must exist in the scope.
 */
export function resolvePaymentMethod(
  engine: StripeEngine,
  ctx: RequestContext,
  idOrToken: string,
  param: string,
): StripeObject {
  const bank = testBankAccountFor(idOrToken);
  if (bank) return bankAccountPaymentMethod(engine, ctx, idOrToken, bank.last4);
  const card = testCardFor(idOrToken);
  if (!card) return engine.reference(ctx, 'payment_method', idOrToken, param);
  const paymentMethod: StripeObject = {
    id: engine.newId('pm'),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: {
      address: address({}),
      email: null,
      name: null,
      phone: null,
      tax_id: null,
    },
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'unchecked' },
      country: card.country,
      display_brand: card.brand,
      exp_month: 12,
      exp_year: new Date(engine.nowMs()).getUTCFullYear() + 3,
      fingerprint: randomToken(16),
      funding: card.funding,
      generated_from: null,
      last4: card.last4,
      networks: { available: [card.brand], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: engine.now(),
    customer: null,
    customer_account: null,
    livemode: ctx.scope.livemode,
    metadata: {},
    type: 'card',
  };
  ctx.scope.insert(paymentMethod);
  ctx.scope.cardBehaviour.set(
    paymentMethod.id,
    idOrToken.startsWith('tok_') ? `pm_card_${idOrToken.slice(4)}` : idOrToken,
  );
  return paymentMethod;
}

/** A `pm_usBankAccount_*` token: a new us_bank_account PaymentMethod of that test account. */
function bankAccountPaymentMethod(
  engine: StripeEngine,
  ctx: RequestContext,
  token: string,
  last4: string,
): StripeObject {
  const paymentMethod: StripeObject = {
    id: engine.newId('pm'),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: { address: address({}), email: null, name: null, phone: null, tax_id: null },
    created: engine.now(),
    customer: null,
    customer_account: null,
    livemode: ctx.scope.livemode,
    metadata: {},
    type: 'us_bank_account',
    us_bank_account: {
      account_holder_type: 'individual',
      account_type: 'checking',
      bank_name: 'STRIPE TEST BANK',
      financial_connections_account: null,
      fingerprint: randomToken(16),
      last4,
      networks: { preferred: 'ach', supported: ['ach'] },
      routing_number: TEST_ROUTING_NUMBER,
      status_details: {},
    },
  };
  ctx.scope.insert(paymentMethod);
  ctx.scope.cardBehaviour.set(paymentMethod.id, token);
  return paymentMethod;
}

/** The test bank account a us_bank_account PaymentMethod stands for (the successful one when not a token's). */
export function bankBehaviourOf(ctx: RequestContext, paymentMethod: StripeObject) {
  const token = ctx.scope.cardBehaviour.get(paymentMethod.id);
  return (token && testBankAccountFor(token)) || testBankAccountFor('pm_usBankAccount_success')!;
}

export function behaviourOf(ctx: RequestContext, paymentMethod: StripeObject) {
  const token = ctx.scope.cardBehaviour.get(paymentMethod.id);
  return (token && testCardFor(token)) || testCardFor('pm_card_visa')!;
}

export function attachPaymentMethod(
  engine: StripeEngine,
  ctx: RequestContext,
  idOrToken: string,
  customer: StripeObject,
  param = 'payment_method',
): StripeObject {
  const paymentMethod = resolvePaymentMethod(engine, ctx, idOrToken, param);
  const card = behaviourOf(ctx, paymentMethod);
  if (card.decline && !card.declineAfterAttach) {
    throw new StripeApiError({
      status: 402,
      type: 'card_error',
      code: card.decline.code,
      message: card.decline.message,
      param: '',
      extra: { decline_code: card.decline.declineCode },
      replayable: true,
    });
  }
  if (paymentMethod.customer && paymentMethod.customer !== customer.id) {
    throw invalidRequest(
      'The payment method you provided has already been attached to a customer.',
      param,
      'payment_method_unexpected_state',
    );
  }
  if (!paymentMethod.customer) {
    paymentMethod.customer = customer.id;
    engine.emit(ctx, 'payment_method.attached', paymentMethod);
  }
  return paymentMethod;
}

export const attachPaymentMethodRoute: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const customerId = optionalString(params, 'customer');
  if (!customerId) throw invalidRequest('Missing required param: customer.', 'customer', 'parameter_missing');
  const customer = engine.reference(ctx, 'customer', customerId, 'customer');
  return attachPaymentMethod(engine, ctx, id, customer, 'payment_method');
};

export function listPaymentMethods(
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
  customerId?: string,
) {
  if (customerId) engine.get(ctx, 'customer', customerId);
  const filters = fieldFilters(customerId ? { ...params, customer: customerId } : params, 'customer', 'type');
  const url = customerId ? `/v1/customers/${customerId}/payment_methods` : '/v1/payment_methods';
  return listObjects(ctx.scope, 'payment_method', params, url, filters);
}
