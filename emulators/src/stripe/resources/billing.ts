/**
 * Stripe Billing, enough for the connector's flows: products, prices, subscriptions, invoice items, invoices
 * (finalize, pay, void) and invoice payments, with `customer.subscription.*` and `invoice.*` events.
 */
import { cloneJson } from '../clone';
import type { RequestContext, StripeEngine } from '../engine';
import type { ObjectOperation } from '../operations';
import { invalidRequest, StripeApiError } from '../errors';
import {
  emptyList,
  type Filter,
  fieldFilters,
  flagFilter,
  listObjects,
  paginate,
  StripeList,
  timeFilter,
} from '../list';
import {
  assignBooleans,
  assignStrings,
  currency,
  expandPaths,
  mergeMetadata,
  nullableString,
  optionalArray,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  Params,
  requiredString,
} from '../params';
import type { StripeObject } from '../store';
import { resolvePaymentMethod } from './customers';
import { createPaymentIntent } from './payments';

// ---- products and prices ---------------------------------------------------------------------------------

export function createProduct(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const created = engine.now();
  const product: StripeObject = {
    id: optionalString(params, 'id') ?? engine.newId('prod'),
    object: 'product',
    active: optionalBoolean(params, 'active') ?? true,
    created,
    default_price: null,
    description: nullableString(params, 'description') ?? null,
    images: (optionalArray(params, 'images') ?? []).map(String),
    livemode: ctx.scope.livemode,
    marketing_features: [],
    metadata: mergeMetadata({}, params),
    name: requiredString(params, 'name'),
    package_dimensions: null,
    shippable: null,
    statement_descriptor: nullableString(params, 'statement_descriptor') ?? null,
    tax_code: null,
    type: 'service',
    unit_label: nullableString(params, 'unit_label') ?? null,
    updated: created,
    url: nullableString(params, 'url') ?? null,
  };
  if (ctx.scope.find(product.id))
    throw invalidRequest(`Product already exists.`, 'id', 'resource_already_exists');
  ctx.scope.insert(product);
  engine.emit(ctx, 'product.created', product);
  const defaultPriceData = optionalObject(params, 'default_price_data');
  if (defaultPriceData) {
    const price = createPrice(engine, ctx, { ...defaultPriceData, product: product.id });
    engine.change(product, (p) => void (p.default_price = price.id));
  }
  return product;
}

export const updateProduct: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const product = engine.get(ctx, 'product', id);
  const defaultPrice = optionalString(params, 'default_price');
  if (defaultPrice) engine.reference(ctx, 'price', defaultPrice, 'default_price');
  const before = JSON.stringify(product);
  engine.update(
    ctx,
    product,
    (p) => {
      const name = optionalString(params, 'name');
      if (name) p.name = name;
      assignStrings(p, params, ['description']);
      assignBooleans(p, params, ['active']);
      if (defaultPrice) p.default_price = defaultPrice;
      p.metadata = mergeMetadata(p.metadata, params);
      // A change moves `updated`, which the event carries with its previous value, as Stripe's does.
      if (JSON.stringify(p) !== before) p.updated = engine.now();
    },
    'product.updated',
  );
  return product;
};

export function deleteProduct(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  const product = engine.get(ctx, 'product', id);
  if (ctx.scope.all('price').some((p) => p.product === id)) {
    throw invalidRequest(
      'This product cannot be deleted because it has one or more user-created prices.',
      undefined,
      'product_has_prices',
    );
  }
  ctx.scope.remove(product);
  ctx.scope.deleted.set(id, 'product');
  engine.emit(ctx, 'product.deleted', product);
  return { id, object: 'product', deleted: true };
}

export function listProducts(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const filters = [flagFilter(params, 'active'), timeFilter(params)];
  return listObjects(ctx.scope, 'product', params, '/v1/products', filters);
}

export function createPrice(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const code = currency(params);
  let productId = optionalString(params, 'product');
  const productData = optionalObject(params, 'product_data');
  if (productId) engine.reference(ctx, 'product', productId, 'product');
  else if (productData) productId = createProduct(engine, ctx, productData).id;
  else throw invalidRequest('Missing required param: product.', 'product', 'parameter_missing');
  const unitAmount = optionalInteger(params, 'unit_amount', 0);
  if (unitAmount === undefined)
    throw invalidRequest('Missing required param: unit_amount.', 'unit_amount', 'parameter_missing');
  const recurringParam = optionalObject(params, 'recurring');
  let recurring = null;
  if (recurringParam) {
    const interval = requiredString(recurringParam, 'interval');
    if (!['day', 'week', 'month', 'year'].includes(interval)) {
      throw invalidRequest(
        'Invalid recurring[interval]: must be one of day, week, month, or year',
        'recurring[interval]',
      );
    }
    recurring = {
      interval,
      interval_count: optionalInteger(recurringParam, 'interval_count', 1) ?? 1,
      meter: null,
      trial_period_days: null,
      usage_type: optionalString(recurringParam, 'usage_type') ?? 'licensed',
    };
  }
  const price: StripeObject = {
    id: engine.newId('price'),
    object: 'price',
    active: optionalBoolean(params, 'active') ?? true,
    billing_scheme: 'per_unit',
    created: engine.now(),
    currency: code,
    custom_unit_amount: null,
    livemode: ctx.scope.livemode,
    lookup_key: nullableString(params, 'lookup_key') ?? null,
    metadata: mergeMetadata({}, params),
    nickname: nullableString(params, 'nickname') ?? null,
    product: productId,
    recurring,
    tax_behavior: optionalString(params, 'tax_behavior') ?? 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: recurring ? 'recurring' : 'one_time',
    unit_amount: unitAmount,
    unit_amount_decimal: String(unitAmount),
  };
  ctx.scope.insert(price);
  engine.emit(ctx, 'price.created', price);
  return price;
}

export const updatePrice: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const price = engine.get(ctx, 'price', id);
  engine.update(
    ctx,
    price,
    (p) => {
      assignBooleans(p, params, ['active']);
      assignStrings(p, params, ['nickname', 'lookup_key']);
      p.metadata = mergeMetadata(p.metadata, params);
    },
    'price.updated',
  );
  return price;
};

export function listPrices(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const filters = [
    ...fieldFilters(params, 'product'),
    flagFilter(params, 'active'),
    ...fieldFilters(params, 'type', 'currency'),
  ];
  const lookupKeys = optionalArray(params, 'lookup_keys')?.map(String);
  const lookupKeyFilter: Filter = lookupKeys && ((p) => lookupKeys.includes(p.lookup_key));
  return listObjects(ctx.scope, 'price', params, '/v1/prices', [
    ...filters,
    lookupKeyFilter,
    timeFilter(params),
  ]);
}

export function planOf(price: StripeObject): StripeObject {
  return {
    id: price.id,
    object: 'plan',
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    interval: price.recurring?.interval ?? null,
    interval_count: price.recurring?.interval_count ?? null,
    livemode: price.livemode,
    metadata: price.metadata,
    meter: null,
    nickname: price.nickname,
    product: price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: price.recurring?.usage_type ?? 'licensed',
  };
}

// ---- periods ---------------------------------------------------------------------------------------------

export function addInterval(unixSeconds: number, interval: string, count: number): number {
  const date = new Date(unixSeconds * 1000);
  if (interval === 'day') date.setUTCDate(date.getUTCDate() + count);
  else if (interval === 'week') date.setUTCDate(date.getUTCDate() + 7 * count);
  else if (interval === 'month') date.setUTCMonth(date.getUTCMonth() + count);
  else date.setUTCFullYear(date.getUTCFullYear() + count);
  return Math.floor(date.getTime() / 1000);
}

// ---- subscriptions ---------------------------------------------------------------------------------------

export function subscriptionItem(
  engine: StripeEngine,
  subscriptionId: string,
  price: StripeObject,
  quantity: number,
  metadata: Record<string, string>,
  start: number,
): StripeObject {
  return {
    id: engine.newId('si'),
    object: 'subscription_item',
    billing_thresholds: null,
    created: engine.now(),
    current_period_end: addInterval(start, price.recurring.interval, price.recurring.interval_count),
    current_period_start: start,
    discounts: [],
    metadata,
    plan: planOf(price),
    price: cloneJson(price),
    quantity,
    subscription: subscriptionId,
    tax_rates: [],
  };
}

function readItems(
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
): Array<{
  price: StripeObject;
  quantity: number;
  metadata: Record<string, string>;
  id?: string;
  deleted?: boolean;
}> {
  const items = optionalArray(params, 'items') ?? [];
  return items.map((raw, index) => {
    const item = (raw ?? {}) as Params;
    const param = `items[${index}][price]`;
    const id = optionalString(item, 'id');
    const priceId = optionalString(item, 'price');
    if (optionalBoolean(item, 'deleted'))
      return { price: {} as StripeObject, quantity: 0, metadata: {}, id, deleted: true };
    if (!priceId && !id)
      throw invalidRequest(`Missing required param: ${param}.`, param, 'parameter_missing');
    const price = priceId ? engine.reference(ctx, 'price', priceId, param) : ({} as StripeObject);
    if (priceId && price.type !== 'recurring') {
      throw invalidRequest(
        `The price specified is set to \`type=one_time\` but this field only accepts prices with \`type=recurring\`.`,
        param,
      );
    }
    return {
      id,
      price,
      quantity: optionalInteger(item, 'quantity', 0) ?? 1,
      metadata: mergeMetadata({}, item),
    };
  });
}

/** A one-off charge of `add_invoice_items`: a one-time price and how many. */
interface OneOffCharge {
  price: StripeObject;
  quantity: number;
  metadata: Record<string, string>;
}

/**
 * `add_invoice_items` (at most 20): each a one-time `price`, or `price_data` (currency, product, unit_amount)
 * made into an inactive price as Stripe makes inline prices, in the subscription's currency. Everything is
 * checked before an inline price is made, so a refused request leaves nothing behind.
 */
function readAddInvoiceItems(
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
  subscriptionCurrency: string,
): OneOffCharge[] {
  const raw = optionalArray(params, 'add_invoice_items') ?? [];
  if (raw.length > 20) throw invalidRequest('You can add at most 20 invoice items.', 'add_invoice_items');
  const checked = raw.map((value, index) => {
    const at = `add_invoice_items[${index}]`;
    if (typeof value !== 'object' || value === null) throw invalidRequest('Invalid object', at);
    const item = value as Params;
    const quantity = optionalInteger(item, 'quantity', 0) ?? 1;
    const priceId = optionalString(item, 'price');
    const data = optionalObject(item, 'price_data');
    if (!priceId && !data)
      throw invalidRequest(`You must specify either \`price\` or \`price_data\` in \`${at}\`.`, at);
    if (priceId) {
      const price = engine.reference(ctx, 'price', priceId, `${at}[price]`);
      if (price.type === 'recurring')
        throw invalidRequest(
          'The price specified is set to `type=recurring` but this field only accepts prices with `type=one_time`.',
          `${at}[price]`,
        );
      if (price.currency !== subscriptionCurrency)
        throw invalidRequest(
          `The price's currency (${price.currency}) must match the subscription's currency (${subscriptionCurrency}).`,
          `${at}[price]`,
        );
      return { price, data: null, quantity, metadata: mergeMetadata({}, item) };
    }
    const productId = requiredString(data!, 'product');
    engine.reference(ctx, 'product', productId, `${at}[price_data][product]`);
    const code = currency(data!);
    if (code !== subscriptionCurrency)
      throw invalidRequest(
        `The price's currency (${code}) must match the subscription's currency (${subscriptionCurrency}).`,
        `${at}[price_data][currency]`,
      );
    if (optionalInteger(data!, 'unit_amount', 0) === undefined)
      throw invalidRequest(
        `Missing required param: ${at}[price_data][unit_amount].`,
        `${at}[price_data][unit_amount]`,
        'parameter_missing',
      );
    return { price: null, data: data!, quantity, metadata: mergeMetadata({}, item) };
  });
  return checked.map(({ price, data, quantity, metadata }) => {
    if (price) return { price, quantity, metadata };
    const inline = engine.withoutEvents(() =>
      createPrice(engine, ctx, {
        currency: data!.currency,
        product: data!.product,
        unit_amount: data!.unit_amount,
        ...(data!.tax_behavior ? { tax_behavior: data!.tax_behavior } : {}),
      }),
    );
    inline.active = false;
    return { price: inline, quantity, metadata };
  });
}

/** A pending invoice item of the subscription for a one-off charge, with `invoiceitem.created`. */
function addInvoiceItem(
  engine: StripeEngine,
  ctx: RequestContext,
  subscription: StripeObject,
  charge: OneOffCharge,
): StripeObject {
  const { price, quantity } = charge;
  const amount = price.unit_amount * quantity;
  const now = engine.now();
  const item: StripeObject = {
    id: engine.newId('ii'),
    object: 'invoiceitem',
    amount,
    currency: price.currency,
    customer: subscription.customer,
    customer_account: null,
    date: now,
    description: ctx.scope.find(price.product)?.name ?? null,
    discountable: true,
    discounts: [],
    invoice: null,
    livemode: ctx.scope.livemode,
    metadata: charge.metadata,
    net_amount: amount,
    parent: {
      subscription_details: { subscription: subscription.id, subscription_item: null },
      type: 'subscription_details',
    },
    period: { end: now, start: now },
    pricing: {
      price_details: { price: price.id, product: price.product },
      type: 'price_details',
      unit_amount_decimal: price.unit_amount_decimal,
    },
    proration: false,
    quantity,
    quantity_decimal: String(quantity),
    tax_rates: [],
    test_clock: subscription.test_clock,
  };
  ctx.scope.insert(item);
  engine.emit(ctx, 'invoiceitem.created', item);
  return item;
}

/** How a new subscription is paid: its collection method, payment behaviour and payment method. */
interface SubscriptionCollection {
  collectionMethod: string;
  paymentBehavior: string;
  /** The subscription's own default payment method, when the request names one. */
  defaultPaymentMethod: string | null;
  /** What the first invoice is charged to: the subscription's default, else the customer's. */
  paymentMethod: string | null;
}

function subscriptionCollection(
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
  customer: StripeObject,
  trial: boolean,
): SubscriptionCollection {
  const defaultPaymentMethodParam = optionalString(params, 'default_payment_method');
  const defaultPaymentMethod = defaultPaymentMethodParam
    ? resolvePaymentMethod(engine, ctx, defaultPaymentMethodParam, 'default_payment_method').id
    : null;
  const paymentBehavior = optionalString(params, 'payment_behavior') ?? 'allow_incomplete';
  const collectionMethod = optionalString(params, 'collection_method') ?? 'charge_automatically';
  const paymentMethod = defaultPaymentMethod ?? customer.invoice_settings.default_payment_method;
  // A trial's first invoice is zero: Stripe starts it without a payment method and charges at the trial's end.
  if (
    !paymentMethod &&
    !trial &&
    collectionMethod === 'charge_automatically' &&
    paymentBehavior !== 'default_incomplete'
  ) {
    throw invalidRequest(
      'This customer has no attached payment source or default payment method. Please consider adding a default ' +
        'payment method.',
      undefined,
      'resource_missing',
    );
  }
  return { collectionMethod, paymentBehavior, defaultPaymentMethod, paymentMethod };
}

export function createSubscription(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const customer = engine.reference(ctx, 'customer', requiredString(params, 'customer'), 'customer');
  // A customer on a test clock has its subscriptions start at the clock's frozen time.
  return engine.at(frozenTimeOf(ctx, customer), () => startSubscription(engine, ctx, params, customer));
}

/** The frozen time of the test clock an object (customer, subscription, invoice) is attached to, else null. */
export function frozenTimeOf(ctx: RequestContext, object: StripeObject): number | null {
  const clock = object.test_clock ? ctx.scope.find(object.test_clock) : undefined;
  return clock ? clock.frozen_time : null;
}

function startSubscription(
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
  customer: StripeObject,
): StripeObject {
  const items = readItems(engine, ctx, params);
  if (items.length === 0)
    throw invalidRequest('Missing required param: items.', 'items', 'parameter_missing');
  const currencies = new Set(items.map((i) => i.price.currency));
  if (currencies.size > 1)
    throw invalidRequest('All prices on a subscription must have the same currency.', 'items');
  const oneOff = readAddInvoiceItems(engine, ctx, params, items[0].price.currency);
  const trialDays = optionalInteger(params, 'trial_period_days', 0);
  const collection = subscriptionCollection(engine, ctx, params, customer, Boolean(trialDays));
  const start = engine.now();
  const trialEnd = trialDays ? start + trialDays * 24 * 3600 : null;
  const subscription = newSubscription(engine, ctx, params, {
    customer,
    currency: items[0].price.currency,
    collection,
    start,
    trialEnd,
  });
  subscription.items.data = items.map((i) =>
    subscriptionItem(engine, subscription.id, i.price, i.quantity, i.metadata, start),
  );
  subscription.items.total_count = subscription.items.data.length;
  if (trialEnd) {
    for (const item of subscription.items.data) item.current_period_end = trialEnd;
  }
  ctx.scope.insert(subscription);
  engine.emit(ctx, 'customer.subscription.created', subscription);
  // One-off charges wait as pending invoice items of the subscription; its first invoice takes them.
  for (const charge of oneOff) addInvoiceItem(engine, ctx, subscription, charge);

  const invoicing = new Invoicing(engine, ctx);
  const invoice = invoicing.forSubscription(subscription, 'subscription_create', Boolean(trialEnd));
  subscription.latest_invoice = invoice.id;
  invoicing.finalize(invoice);
  const paid =
    invoice.amount_due === 0
      ? invoicing.markPaid(invoice, null)
      : invoicing.payWith(
          invoice,
          collection.paymentMethod,
          collection.paymentBehavior === 'error_if_incomplete',
        );
  engine.update(
    ctx,
    subscription,
    (s) => {
      s.status = paid ? (trialEnd ? 'trialing' : 'active') : 'incomplete';
    },
    'customer.subscription.updated',
  );
  return subscription;
}

/** A subscription as created, `incomplete` and without items yet. */
function newSubscription(
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
  init: {
    customer: StripeObject;
    currency: string;
    collection: SubscriptionCollection;
    start: number;
    trialEnd: number | null;
  },
): StripeObject {
  const { customer, collection, start, trialEnd } = init;
  const id = engine.newId('sub');
  return {
    id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: trialEnd ?? start,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: null, type: 'classic' },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: collection.collectionMethod,
    created: start,
    currency: init.currency,
    customer: customer.id,
    customer_account: null,
    days_until_due: optionalInteger(params, 'days_until_due') ?? null,
    default_payment_method: collection.defaultPaymentMethod,
    default_source: null,
    default_tax_rates: [],
    description: nullableString(params, 'description') ?? null,
    discounts: [],
    ended_at: null,
    invoice_settings: { account_tax_ids: null, issuer: { type: 'self' } },
    items: emptyList(`/v1/subscription_items?subscription=${id}`),
    latest_invoice: null,
    livemode: ctx.scope.livemode,
    managed_payments: null,
    metadata: mergeMetadata({}, params),
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: null,
      save_default_payment_method: 'off',
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: start,
    status: 'incomplete',
    test_clock: customer.test_clock,
    transfer_data: null,
    trial_end: trialEnd,
    trial_settings: { end_behavior: { missing_payment_method: 'create_invoice' } },
    trial_start: trialEnd ? start : null,
  };
}

export const updateSubscription: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const subscription = engine.get(ctx, 'subscription', id);
  if (subscription.status === 'canceled') {
    throw invalidRequest(
      `A canceled subscription can only update its cancellation_details and metadata.`,
      undefined,
      'resource_missing',
    );
  }
  const items = params.items !== undefined ? readItems(engine, ctx, params) : [];
  // Validate before changing anything: a refused update leaves the subscription as it was.
  for (const item of items) {
    if (item.id && !subscription.items.data.some((i: StripeObject) => i.id === item.id)) {
      throw invalidRequest(`Invalid subscription_item: ${item.id}`, 'items');
    }
  }
  const pause = pauseCollection(params);
  const metadata = mergeMetadata(subscription.metadata, params);
  const defaultPaymentMethodParam = nullableString(params, 'default_payment_method');
  const defaultPaymentMethod = defaultPaymentMethodParam
    ? resolvePaymentMethod(engine, ctx, defaultPaymentMethodParam, 'default_payment_method').id
    : defaultPaymentMethodParam;
  engine.update(
    ctx,
    subscription,
    (s) => {
      s.metadata = metadata;
      assignStrings(s, params, ['description']);
      const cancelAtPeriodEnd = optionalBoolean(params, 'cancel_at_period_end');
      if (cancelAtPeriodEnd !== undefined) {
        s.cancel_at_period_end = cancelAtPeriodEnd;
        s.cancel_at = cancelAtPeriodEnd ? (s.items.data[0]?.current_period_end ?? null) : null;
        s.canceled_at = cancelAtPeriodEnd ? engine.now() : null;
        s.cancellation_details = {
          comment: null,
          feedback: null,
          reason: cancelAtPeriodEnd ? 'cancellation_requested' : null,
        };
      }
      if (defaultPaymentMethod !== undefined) s.default_payment_method = defaultPaymentMethod;
      if (pause !== undefined) s.pause_collection = pause;
      for (const item of items) {
        const existing = item.id ? s.items.data.find((i: StripeObject) => i.id === item.id) : undefined;
        if (item.deleted) {
          s.items.data = s.items.data.filter((i: StripeObject) => i.id !== item.id);
        } else if (existing) {
          if (item.price.id) {
            existing.price = cloneJson(item.price);
            existing.plan = planOf(item.price);
          }
          existing.quantity = item.quantity;
          existing.metadata = { ...existing.metadata, ...item.metadata };
        } else {
          const start = s.items.data[0]?.current_period_start ?? engine.now();
          s.items.data.push(subscriptionItem(engine, s.id, item.price, item.quantity, item.metadata, start));
        }
      }
      s.items.total_count = s.items.data.length;
    },
    'customer.subscription.updated',
  );
  return subscription;
};

const PAUSE_BEHAVIORS = ['keep_as_draft', 'mark_uncollectible', 'void'];

/**
 * `pause_collection[behavior]` (and `[resumes_at]`) pauses collection; `pause_collection=` (empty) resumes it,
 * as Stripe reads the parameter. Undefined when the update leaves it alone.
 */
function pauseCollection(params: Params): { behavior: string; resumes_at: number | null } | null | undefined {
  if (params.pause_collection === '') return null;
  const pause = optionalObject(params, 'pause_collection');
  if (!pause) return undefined;
  const behavior = optionalString(pause, 'behavior');
  if (!behavior)
    throw invalidRequest('Missing required param: pause_collection[behavior].', 'pause_collection');
  if (!PAUSE_BEHAVIORS.includes(behavior)) {
    throw invalidRequest(
      `Invalid pause_collection[behavior]: must be one of ${PAUSE_BEHAVIORS.join(', ')}`,
      'pause_collection',
    );
  }
  return { behavior, resumes_at: optionalInteger(pause, 'resumes_at') ?? null };
}

export const cancelSubscription: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const subscription = engine.get(ctx, 'subscription', id);
  if (subscription.status === 'canceled') {
    throw invalidRequest(`No such subscription: '${id}'`, undefined, 'resource_missing');
  }
  const details = optionalObject(params, 'cancellation_details');
  const now = engine.now();
  engine.change(subscription, (s) => {
    s.status = 'canceled';
    s.canceled_at = now;
    s.ended_at = now;
    s.cancellation_details = {
      comment: typeof details?.comment === 'string' ? details.comment : null,
      feedback: typeof details?.feedback === 'string' ? details.feedback : null,
      reason: 'cancellation_requested',
    };
  });
  engine.emit(ctx, 'customer.subscription.deleted', subscription);
  return subscription;
};

export function listSubscriptions(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const customer = fieldFilters(params, 'customer', 'test_clock');
  const price = optionalString(params, 'price');
  const status = optionalString(params, 'status');
  return listObjects(ctx.scope, 'subscription', params, '/v1/subscriptions', [
    ...customer,
    // Stripe lists canceled subscriptions only when asked for them (status=canceled or all).
    (s) => (status ? status === 'all' || s.status === status : s.status !== 'canceled'),
    price ? (s) => s.items.data.some((i: StripeObject) => i.price.id === price) : undefined,
    timeFilter(params),
  ]);
}

/**
 * The subscription's period ends (a test clock reaching it, or the test helper): Stripe opens the next
 * period's invoice, with the prorations waiting for it, and tries to pay it; a failed payment makes the
 * subscription `past_due` and schedules the retries.
 */
export function renewSubscription(
  engine: StripeEngine,
  ctx: RequestContext,
  id: string,
  options: { finalizeAfter?: number } = {},
): StripeObject {
  const subscription = engine.get(ctx, 'subscription', id);
  if (!['active', 'trialing', 'past_due'].includes(subscription.status)) {
    throw invalidRequest(`Subscription ${id} is ${subscription.status} and does not renew.`, 'subscription');
  }
  if (subscription.cancel_at_period_end) {
    engine.change(subscription, (s) => {
      s.status = 'canceled';
      s.ended_at = s.items.data[0]?.current_period_end ?? engine.now();
    });
    engine.emit(ctx, 'customer.subscription.deleted', subscription, undefined, { automatic: true });
    return subscription;
  }
  const periodStart = Math.min(...subscription.items.data.map((i: StripeObject) => i.current_period_start));
  const previousInvoice = subscription.latest_invoice;
  const previous = engine.change(subscription, (s) => {
    for (const item of s.items.data) {
      item.current_period_start = item.current_period_end;
      item.current_period_end = addInterval(
        item.current_period_end,
        item.price.recurring.interval,
        item.price.recurring.interval_count,
      );
    }
    if (s.status === 'trialing') s.status = 'active';
  });
  const invoicing = new Invoicing(engine, ctx, { automatic: true });
  const invoice = invoicing.forSubscription(subscription, 'subscription_cycle', false, periodStart);
  subscription.latest_invoice = invoice.id;
  engine.emit(
    ctx,
    'customer.subscription.updated',
    subscription,
    { ...previous, latest_invoice: previousInvoice },
    { automatic: true },
  );
  if (options.finalizeAfter) {
    // Stripe leaves a renewal's draft open for an hour before finalizing and charging it.
    invoice.automatically_finalizes_at = invoice.created + options.finalizeAfter;
    return subscription;
  }
  finalizeAndCollect(engine, ctx, subscription, invoice);
  return subscription;
}

/** A subscription's draft renewal invoice is finalized and charged (its scheduled time has come). */
export function finalizeAndCollect(
  engine: StripeEngine,
  ctx: RequestContext,
  subscription: StripeObject,
  invoice: StripeObject,
): void {
  invoice.automatically_finalizes_at = null;
  // While collection is paused Stripe still makes the renewal's invoice, but collects nothing.
  const paused: string | undefined = subscription.pause_collection?.behavior;
  if (paused === 'keep_as_draft') return;
  new Invoicing(engine, ctx, { automatic: true }).finalize(invoice);
  if (paused === 'void') voidInvoice(engine, ctx, invoice.id);
  else if (paused === 'mark_uncollectible') markUncollectible(engine, ctx, invoice);
  else collectSubscriptionInvoice(engine, ctx, subscription, invoice);
}

/** An open invoice no one is asked to pay (`invoice.marked_uncollectible`). */
function markUncollectible(engine: StripeEngine, ctx: RequestContext, invoice: StripeObject): void {
  engine.change(invoice, (i) => {
    i.status = 'uncollectible';
    i.status_transitions = { ...i.status_transitions, marked_uncollectible_at: engine.now() };
  });
  engine.emit(ctx, 'invoice.marked_uncollectible', invoice);
}

/** Days between the attempts to pay a subscription's invoice after the first fails (4 attempts in all). */
export const RETRY_DAYS = [3, 5, 7];

/**
 * An automatic attempt (at the period's end, or a scheduled retry) to pay a subscription's open invoice with
 * the subscription's or the customer's default payment method. Paid: a `past_due` subscription is active
 * again. Failed: the subscription is `past_due`; after the last attempt it is canceled (`payment_failed`),
 * Stripe's default for subscriptions whose retries all fail.
 */
export function collectSubscriptionInvoice(
  engine: StripeEngine,
  ctx: RequestContext,
  subscription: StripeObject,
  invoice: StripeObject,
): void {
  const invoicing = new Invoicing(engine, ctx, { automatic: true });
  const customer = engine.get(ctx, 'customer', subscription.customer);
  const paymentMethod =
    subscription.default_payment_method ?? customer.invoice_settings.default_payment_method;
  const paid = invoicing.payWith(invoice, paymentMethod, false);
  const options = { automatic: true };
  if (paid) {
    if (subscription.status === 'past_due') {
      engine.update(
        ctx,
        subscription,
        (s) => void (s.status = 'active'),
        'customer.subscription.updated',
        options,
      );
    }
    return;
  }
  if (invoice.next_payment_attempt === null) {
    const now = engine.now();
    engine.change(subscription, (s) => {
      s.status = 'canceled';
      s.canceled_at = now;
      s.ended_at = now;
      s.cancellation_details = { comment: null, feedback: null, reason: 'payment_failed' };
    });
    engine.emit(ctx, 'customer.subscription.deleted', subscription, undefined, options);
    return;
  }
  engine.update(
    ctx,
    subscription,
    (s) => void (s.status = 'past_due'),
    'customer.subscription.updated',
    options,
  );
}

// ---- invoices --------------------------------------------------------------------------------------------

interface InvoiceInit {
  currency: string;
  billingReason: string;
  subscription: StripeObject | null;
  description: string | null;
  metadata: Record<string, string>;
  autoAdvance: boolean;
  collectionMethod: string;
  daysUntilDue: number | null;
}

/** The customer as an invoice copies it when it is created. */
function invoiceCustomer(customer: StripeObject): Record<string, unknown> {
  return {
    customer: customer.id,
    customer_account: null,
    customer_address: customer.address,
    customer_email: customer.email,
    customer_name: customer.name,
    customer_phone: customer.phone,
    customer_shipping: customer.shipping,
    customer_tax_exempt: customer.tax_exempt,
    customer_tax_ids: [],
  };
}

/** An invoice's `parent` when a subscription bills it. */
function subscriptionParent(subscription: StripeObject): Record<string, unknown> {
  return {
    quote_details: null,
    subscription_details: { metadata: { ...subscription.metadata }, subscription: subscription.id },
    type: 'subscription_details',
  };
}

/** A draft invoice without lines. */
function newInvoice(
  engine: StripeEngine,
  ctx: RequestContext,
  customer: StripeObject,
  init: InvoiceInit,
): StripeObject {
  const id = engine.newId('in');
  const now = engine.now();
  return {
    id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'Stripe Emulator',
    account_tax_ids: null,
    amount_due: 0,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: 0,
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: init.autoAdvance,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: init.billingReason,
    collection_method: init.collectionMethod,
    created: now,
    currency: init.currency,
    custom_fields: null,
    ...invoiceCustomer(customer),
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: init.description,
    discounts: [],
    due_date: init.daysUntilDue !== null ? now + init.daysUntilDue * 24 * 3600 : null,
    effective_at: null,
    ending_balance: null,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: emptyList(`/v1/invoices/${id}/lines`),
    livemode: ctx.scope.livemode,
    metadata: init.metadata,
    next_payment_attempt: null,
    number: null,
    on_behalf_of: null,
    parent: init.subscription ? subscriptionParent(init.subscription) : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: now,
    period_start: now,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: customer.balance,
    statement_descriptor: null,
    status: 'draft',
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subscription: init.subscription?.id ?? null,
    subtotal: 0,
    subtotal_excluding_tax: 0,
    test_clock: customer.test_clock,
    total: 0,
    total_discount_amounts: [],
    total_excluding_tax: 0,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  };
}

export function lineItem(
  engine: StripeEngine,
  ctx: RequestContext,
  invoice: StripeObject,
  init: {
    amount: number;
    description: string | null;
    quantity: number;
    price: StripeObject | null;
    period: { start: number; end: number };
    subscription: string | null;
    subscriptionItem: string | null;
    invoiceItem: string | null;
    metadata: Record<string, string>;
    proration?: boolean;
  },
): StripeObject {
  const proration = init.proration ?? false;
  return {
    id: engine.newId('il'),
    object: 'line_item',
    amount: init.amount,
    currency: invoice.currency,
    description: init.description,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: invoice.id,
    livemode: ctx.scope.livemode,
    metadata: init.metadata,
    parent: init.subscriptionItem
      ? {
          invoice_item_details: null,
          subscription_item_details: {
            invoice_item: init.invoiceItem,
            proration,
            proration_details: { credited_items: null },
            subscription: init.subscription,
            subscription_item: init.subscriptionItem,
          },
          type: 'subscription_item_details',
        }
      : {
          invoice_item_details: {
            invoice_item: init.invoiceItem,
            proration,
            proration_details: { credited_items: null },
            subscription: init.subscription,
          },
          subscription_item_details: null,
          type: 'invoice_item_details',
        },
    period: init.period,
    pretax_credit_amounts: [],
    pricing: init.price
      ? {
          price_details: { price: init.price.id, product: init.price.product },
          type: 'price_details',
          unit_amount_decimal: init.price.unit_amount_decimal,
        }
      : null,
    quantity: init.quantity,
    quantity_decimal: String(init.quantity),
    subscription: init.subscription,
    subtotal: init.amount,
    taxes: [],
  };
}

export function setLines(invoice: StripeObject, lines: StripeObject[]): void {
  const total = lines.reduce((sum, line) => sum + line.amount, 0);
  invoice.lines = { ...invoice.lines, data: lines, total_count: lines.length };
  invoice.subtotal = invoice.subtotal_excluding_tax = total;
  invoice.total = invoice.total_excluding_tax = total;
  invoice.amount_due = invoice.amount_remaining = Math.max(0, total);
  if (lines.length > 0) {
    invoice.period_start = Math.min(...lines.map((l) => l.period.start));
    invoice.period_end = Math.max(...lines.map((l) => l.period.end));
  }
}

/**
 * Stripe's invoicing steps, in one request or one run of Stripe's own schedule (`automatic`: the events
 * carry no request).
 */
export class Invoicing {
  constructor(
    private readonly engine: StripeEngine,
    private readonly ctx: RequestContext,
    private readonly options: { automatic?: boolean } = {},
  ) {}

  private emit(type: string, object: StripeObject): void {
    this.engine.emit(this.ctx, type, object, undefined, this.options);
  }

  /**
   * The subscription's invoice for its current period (zero during a trial), created as a draft. Its own
   * `period_start`/`period_end` are, as on Stripe, the period that ended (when pending items were added):
   * `previousPeriodStart` up to now for a renewal, just now for a new subscription.
   */
  forSubscription(
    subscription: StripeObject,
    billingReason: string,
    trial: boolean,
    previousPeriodStart?: number,
  ): StripeObject {
    const { engine, ctx } = this;
    const customer = engine.get(ctx, 'customer', subscription.customer);
    const invoice = newInvoice(engine, ctx, customer, {
      currency: subscription.currency,
      billingReason,
      subscription,
      description: null,
      metadata: {},
      autoAdvance: true,
      collectionMethod: subscription.collection_method,
      daysUntilDue: subscription.days_until_due,
    });
    const lines = subscription.items.data.map((item: StripeObject) => {
      const product = ctx.scope.find(item.price.product);
      const amount = trial ? 0 : item.price.unit_amount * item.quantity;
      const label = product?.name ?? item.price.product;
      return lineItem(engine, ctx, invoice, {
        amount,
        description: trial
          ? `Trial period for ${label}`
          : `${item.quantity} × ${label} (at ${item.price.unit_amount / 100} / ${item.price.recurring.interval})`,
        quantity: item.quantity,
        price: item.price,
        period: { start: item.current_period_start, end: item.current_period_end },
        subscription: subscription.id,
        subscriptionItem: item.id,
        invoiceItem: null,
        metadata: { ...subscription.metadata },
      });
    });
    setLines(invoice, [...this.takePendingItems(invoice, subscription.id), ...lines]);
    invoice.period_start = previousPeriodStart ?? invoice.created;
    invoice.period_end = invoice.created;
    ctx.scope.insert(invoice);
    this.emit('invoice.created', invoice);
    return invoice;
  }

  /** Lines for the subscription's pending invoice items (prorations), which now belong to `invoice`. */
  takePendingItems(invoice: StripeObject, subscriptionId: string): StripeObject[] {
    const { engine, ctx } = this;
    const pending = ctx.scope
      .all('invoiceitem')
      .filter(
        (ii) => ii.invoice === null && ii.parent?.subscription_details?.subscription === subscriptionId,
      );
    return pending.map((item) => {
      item.invoice = invoice.id;
      return lineForInvoiceItem(engine, ctx, invoice, item);
    });
  }

  /**
   * An invoice of the subscription's pending prorations alone (`proration_behavior=always_invoice`),
   * finalized and paid at once.
   */
  invoicePendingItems(subscription: StripeObject): StripeObject {
    const { engine, ctx } = this;
    const customer = engine.get(ctx, 'customer', subscription.customer);
    const invoice = newInvoice(engine, ctx, customer, {
      currency: subscription.currency,
      billingReason: 'subscription_update',
      subscription,
      description: null,
      metadata: {},
      autoAdvance: true,
      collectionMethod: subscription.collection_method,
      daysUntilDue: subscription.days_until_due,
    });
    setLines(invoice, this.takePendingItems(invoice, subscription.id));
    ctx.scope.insert(invoice);
    this.emit('invoice.created', invoice);
    subscription.latest_invoice = invoice.id;
    this.finalize(invoice);
    const paymentMethod =
      subscription.default_payment_method ?? customer.invoice_settings.default_payment_method;
    this.payWith(invoice, paymentMethod, false);
    return invoice;
  }

  /** Draft → open: the invoice takes the customer's next number. */
  finalize(invoice: StripeObject): void {
    const { engine, ctx } = this;
    const customer = engine.get(ctx, 'customer', invoice.customer);
    const sequence = customer.next_invoice_sequence;
    customer.next_invoice_sequence = sequence + 1;
    engine.change(invoice, (i) => {
      i.status = 'open';
      i.number = `${customer.invoice_prefix}-${String(sequence).padStart(4, '0')}`;
      i.effective_at = engine.now();
      i.status_transitions = { ...i.status_transitions, finalized_at: engine.now() };
      i.hosted_invoice_url = `https://invoice.stripe.com/i/emulator/${i.id}`;
      i.invoice_pdf = `https://pay.stripe.com/invoice/emulator/${i.id}/pdf`;
    });
    this.applyCreditBalance(invoice, customer);
    this.emit('invoice.finalized', invoice);
  }

  /**
   * The customer's credit balance (a negative `balance`, from credit notes) pays what it can of the invoice
   * when it is finalized; `starting_balance` and `ending_balance` show it, as on Stripe.
   */
  private applyCreditBalance(invoice: StripeObject, customer: StripeObject): void {
    const applied = customer.balance < 0 ? Math.min(-customer.balance, invoice.amount_due) : 0;
    invoice.starting_balance = customer.balance;
    invoice.ending_balance = customer.balance + applied;
    if (applied === 0) return;
    invoice.amount_due -= applied;
    invoice.amount_remaining -= applied;
    changeCustomerBalance(this.engine, this.ctx, customer, {
      amount: applied,
      currency: invoice.currency,
      type: 'applied_to_invoice',
      invoice: invoice.id,
      creditNote: null,
      automatic: this.options.automatic,
    });
  }

  /** The invoice is paid, by the PaymentIntent (its default payment, paid) or out of band. */
  markPaid(invoice: StripeObject, paymentIntent: StripeObject | null): boolean {
    const { engine } = this;
    const now = engine.now();
    engine.change(invoice, (i) => {
      i.status = 'paid';
      i.amount_paid = i.amount_due;
      i.amount_remaining = 0;
      i.attempted = true;
      i.attempt_count = paymentIntent ? i.attempt_count + 1 : i.attempt_count;
      i.next_payment_attempt = null;
      i.status_transitions = { ...i.status_transitions, paid_at: now };
      i.auto_advance = false;
    });
    if (paymentIntent) {
      const invoicePayment = this.defaultPayment(invoice, paymentIntent);
      Object.assign(invoicePayment, {
        amount_paid: paymentIntent.amount_received,
        amount_requested: paymentIntent.amount,
        status: 'paid',
        status_transitions: { canceled_at: null, paid_at: now },
      });
      this.emit('invoice_payment.paid', invoicePayment);
    }
    this.emit('invoice.paid', invoice);
    this.emit('invoice.payment_succeeded', invoice);
    return true;
  }

  /** Charge the invoice's amount to a payment method; on a decline record the attempt and answer false. */
  payWith(invoice: StripeObject, paymentMethod: string | null, throwOnDecline: boolean): boolean {
    const { engine, ctx } = this;
    if (invoice.amount_due === 0) return this.markPaid(invoice, null);
    if (!paymentMethod) {
      // Stripe's own attempts fail without a payment method; a request's first invoice just stays open.
      if (this.options.automatic) this.failedAttempt(invoice);
      return false;
    }
    let paymentIntent: StripeObject | undefined;
    try {
      paymentIntent = createPaymentIntent(engine, ctx, {
        amount: String(invoice.amount_due),
        currency: invoice.currency,
        customer: invoice.customer,
        description:
          invoice.billing_reason === 'subscription_create'
            ? 'Subscription creation'
            : invoice.billing_reason === 'subscription_cycle'
              ? 'Subscription update'
              : `Payment for Invoice`,
        payment_method: paymentMethod,
        payment_method_types: ['card'],
        confirm: 'true',
      });
      ctx.scope.invoicePayments.set(invoice.id, paymentIntent.id);
    } catch (error) {
      if (!(error instanceof StripeApiError) || error.type !== 'card_error') throw error;
      const failedIntent = error.extra.payment_intent as StripeObject | undefined;
      if (failedIntent) {
        ctx.scope.invoicePayments.set(invoice.id, failedIntent.id);
        this.defaultPayment(invoice, failedIntent);
      }
      this.failedAttempt(invoice);
      if (throwOnDecline) throw error;
      return false;
    }
    if (paymentIntent.status === 'requires_action') {
      this.defaultPayment(invoice, paymentIntent);
      this.actionRequired(invoice);
      if (throwOnDecline) throw requiresActionError(paymentIntent);
      return false;
    }
    return this.markPaid(invoice, paymentIntent);
  }

  /**
   * The invoice's default payment, its PaymentIntent now `paymentIntent` (the attempt's). Stripe makes it open
   * when it finalizes the invoice, with the one PaymentIntent every attempt confirms; here it is made at the
   * first attempt, and names each attempt's PaymentIntent in turn.
   */
  private defaultPayment(invoice: StripeObject, paymentIntent: StripeObject): StripeObject {
    const { engine, ctx } = this;
    const payment = { payment_intent: paymentIntent.id, type: 'payment_intent' };
    const found = ctx.scope.all('invoice_payment').find((p) => p.invoice === invoice.id && p.is_default);
    if (found) {
      found.payment = payment;
      return found;
    }
    const invoicePayment: StripeObject = {
      id: engine.newId('inpay'),
      object: 'invoice_payment',
      amount_paid: null,
      amount_requested: invoice.amount_remaining,
      created: engine.now(),
      currency: invoice.currency,
      invoice: invoice.id,
      is_default: true,
      livemode: ctx.scope.livemode,
      payment,
      status: 'open',
      status_transitions: { canceled_at: null, paid_at: null },
    };
    ctx.scope.insert(invoicePayment);
    return invoicePayment;
  }

  /** An attempt that did not pay: counted, the next one scheduled (RETRY_DAYS; none after the last). */
  private countAttempt(invoice: StripeObject): Record<string, unknown> {
    const now = this.engine.now();
    return this.engine.change(invoice, (i) => {
      i.attempted = true;
      i.attempt_count += 1;
      const wait = RETRY_DAYS[i.attempt_count - 1];
      i.next_payment_attempt = wait === undefined ? null : now + wait * 24 * 3600;
    });
  }

  /** A failed attempt: counted, the next one scheduled, `invoice.payment_failed`. */
  private failedAttempt(invoice: StripeObject): void {
    this.countAttempt(invoice);
    this.emit('invoice.payment_failed', invoice);
  }

  /**
   * An attempt whose PaymentIntent waits for the customer to authenticate (3-D Secure, `requires_action`):
   * counted and the next one scheduled as a failed one, the invoice still open; `invoice.payment_action_required`
   * and right after it `invoice.updated` with what the attempt changed, as Stripe sends them.
   */
  private actionRequired(invoice: StripeObject): void {
    const previous = this.countAttempt(invoice);
    this.emit('invoice.payment_action_required', invoice);
    this.engine.emit(this.ctx, 'invoice.updated', invoice, previous, this.options);
  }
}

/**
 * What paying an invoice answers when its PaymentIntent needs the customer's authentication: Stripe's 402
 * `invoice_payment_intent_requires_action`, with the PaymentIntent to complete.
 */
function requiresActionError(paymentIntent: StripeObject): StripeApiError {
  return new StripeApiError({
    status: 402,
    type: 'card_error',
    code: 'invoice_payment_intent_requires_action',
    message:
      'This payment requires additional user action before it can be completed successfully. Payment can be ' +
      'completed using the PaymentIntent associated with the invoice. For more details see: ' +
      'https://stripe.com/docs/billing/subscriptions/overview#requires-action',
    extra: { payment_intent: cloneJson(paymentIntent) },
    replayable: true,
  });
}

export function createInvoice(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const customer = engine.reference(ctx, 'customer', requiredString(params, 'customer'), 'customer');
  const pending = (optionalString(params, 'pending_invoice_items_behavior') ?? 'exclude') === 'include';
  const pendingItems = ctx.scope
    .all('invoiceitem')
    .filter((ii) => ii.customer === customer.id && ii.invoice === null);
  const collectionMethod = optionalString(params, 'collection_method') ?? 'charge_automatically';
  const invoice = newInvoice(engine, ctx, customer, {
    currency:
      optionalString(params, 'currency')?.toLowerCase() ??
      pendingItems[0]?.currency ??
      customer.currency ??
      'usd',
    billingReason: 'manual',
    subscription: null,
    description: nullableString(params, 'description') ?? null,
    metadata: mergeMetadata({}, params),
    autoAdvance: optionalBoolean(params, 'auto_advance') ?? false,
    collectionMethod,
    daysUntilDue:
      optionalInteger(params, 'days_until_due') ?? (collectionMethod === 'send_invoice' ? 30 : null),
  });
  const defaultPaymentMethod = optionalString(params, 'default_payment_method');
  if (defaultPaymentMethod) invoice.default_payment_method = defaultPaymentMethod;
  ctx.scope.insert(invoice);
  if (pending) {
    for (const item of pendingItems) item.invoice = invoice.id;
  }
  setLines(
    invoice,
    pending ? pendingItems.map((item) => lineForInvoiceItem(engine, ctx, invoice, item)) : [],
  );
  engine.emit(ctx, 'invoice.created', invoice);
  return invoice;
}

function lineForInvoiceItem(
  engine: StripeEngine,
  ctx: RequestContext,
  invoice: StripeObject,
  item: StripeObject,
): StripeObject {
  const price = item.pricing?.price_details?.price
    ? (ctx.scope.find(item.pricing.price_details.price) ?? null)
    : null;
  const fromSubscription = item.parent?.subscription_details ?? null;
  return lineItem(engine, ctx, invoice, {
    amount: item.amount,
    description: item.description,
    quantity: item.quantity,
    price,
    period: item.period,
    subscription: fromSubscription?.subscription ?? null,
    subscriptionItem: fromSubscription?.subscription_item ?? null,
    invoiceItem: item.id,
    metadata: item.metadata,
    proration: item.proration,
  });
}

export const updateInvoice: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const invoice = engine.get(ctx, 'invoice', id);
  // Validate everything before changing anything: a refused update leaves the invoice as it was.
  const description = nullableString(params, 'description');
  if (description !== undefined && invoice.status !== 'draft') {
    throw invalidRequest(
      'You can only update the description of a draft invoice.',
      'description',
      'invoice_not_editable',
    );
  }
  const metadata = mergeMetadata(invoice.metadata, params);
  engine.update(
    ctx,
    invoice,
    (i) => {
      i.metadata = metadata;
      if (description !== undefined) i.description = description;
      assignBooleans(i, params, ['auto_advance']);
    },
    'invoice.updated',
  );
  return invoice;
};

export function finalizeInvoice(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  const invoice = engine.get(ctx, 'invoice', id);
  if (invoice.status !== 'draft') {
    throw invalidRequest(
      `This invoice is already finalized, you can't re-finalize a non-draft invoice.`,
      undefined,
      'invoice_not_editable',
    );
  }
  const invoicing = new Invoicing(engine, ctx);
  invoicing.finalize(invoice);
  if (invoice.amount_due === 0) invoicing.markPaid(invoice, null);
  return invoice;
}

export const payInvoice: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const invoice = engine.get(ctx, 'invoice', id);
  const invoicing = new Invoicing(engine, ctx);
  if (invoice.status === 'draft') invoicing.finalize(invoice);
  if (invoice.status === 'paid') throw invalidRequest('Invoice is already paid.');
  if (invoice.status !== 'open')
    throw invalidRequest(`You cannot pay an invoice with status ${invoice.status}.`);
  if (optionalBoolean(params, 'paid_out_of_band')) {
    invoicing.markPaid(invoice, null);
    return invoice;
  }
  const customer = engine.get(ctx, 'customer', invoice.customer);
  const subscription = invoice.subscription ? ctx.scope.find(invoice.subscription) : undefined;
  const paymentMethod =
    optionalString(params, 'payment_method') ??
    invoice.default_payment_method ??
    subscription?.default_payment_method ??
    customer.invoice_settings.default_payment_method;
  if (!paymentMethod) {
    throw invalidRequest(
      'This customer has no attached payment source or default payment method.',
      undefined,
      'resource_missing',
    );
  }
  invoicing.payWith(invoice, paymentMethod, true);
  if (subscription && subscription.status !== 'active' && invoice.status === 'paid') {
    engine.update(ctx, subscription, (s) => void (s.status = 'active'), 'customer.subscription.updated');
  }
  return invoice;
};

export function voidInvoice(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  const invoice = engine.get(ctx, 'invoice', id);
  if (invoice.status !== 'open')
    throw invalidRequest(`You can only void an open invoice.`, undefined, 'invoice_not_editable');
  engine.change(invoice, (i) => {
    i.status = 'void';
    i.amount_remaining = 0;
    i.status_transitions = { ...i.status_transitions, voided_at: engine.now() };
  });
  engine.emit(ctx, 'invoice.voided', invoice);
  return invoice;
}

export function deleteInvoice(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  const invoice = engine.get(ctx, 'invoice', id);
  if (invoice.status !== 'draft')
    throw invalidRequest('You can only delete draft invoices.', undefined, 'invoice_not_editable');
  ctx.scope.remove(invoice);
  ctx.scope.deleted.set(id, 'invoice');
  engine.emit(ctx, 'invoice.deleted', invoice);
  return { id, object: 'invoice', deleted: true };
}

export function listInvoices(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const filters = [...fieldFilters(params, 'customer', 'subscription', 'status'), timeFilter(params)];
  return listObjects(ctx.scope, 'invoice', params, '/v1/invoices', filters);
}

export const listInvoiceLines: ObjectOperation<StripeList> = (engine, ctx, id, params) => {
  const invoice = engine.get(ctx, 'invoice', id);
  // Lines are listed in invoice order, so reverse into creation order for the newest-first pager.
  return paginate([...invoice.lines.data].reverse(), params, `/v1/invoices/${id}/lines`, ctx.scope);
};

/**
 * An invoice; `expand[]=payments` includes its invoice payments (`payments`, a list Stripe only returns
 * when asked for it).
 */
export const retrieveInvoice: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const invoice = engine.get(ctx, 'invoice', id);
  const asked = expandPaths(params).some((path) => path === 'payments' || path.startsWith('payments.'));
  if (!asked) return invoice;
  const payments = ctx.scope.all('invoice_payment').filter((p) => p.invoice === id);
  return {
    ...invoice,
    payments: {
      ...paginate(payments, { limit: '100' }, `/v1/invoices/${id}/payments`),
      total_count: payments.length,
    },
  };
};

export function listInvoicePayments(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const filters = [...fieldFilters(params, 'invoice'), paymentFilter(params)];
  return listObjects(ctx.scope, 'invoice_payment', params, '/v1/invoice_payments', filters);
}

/**
 * `payment[type]` (required with `payment`) and `payment[payment_intent]` or `payment[payment_record]`: the
 * invoice payments made by that payment, as Stripe finds an invoice from the PaymentIntent that paid it.
 */
function paymentFilter(params: Params): Filter {
  const payment = optionalObject(params, 'payment');
  if (!payment) return undefined;
  const type = requiredString(payment, 'type');
  if (type !== 'payment_intent' && type !== 'payment_record')
    throw invalidRequest(
      `Invalid payment[type]: must be one of payment_intent or payment_record`,
      'payment[type]',
    );
  const id = optionalString(payment, type);
  return (object) => {
    const made = object.payment as Record<string, unknown> | null | undefined;
    if (!made || made.type !== type) return false;
    const by = made[type];
    return (
      id === undefined || (typeof by === 'object' && by !== null ? (by as { id?: unknown }).id : by) === id
    );
  };
}

/**
 * A change of the customer's balance (negative: credit the customer has) as a customer balance transaction,
 * with `customer.updated`.
 */
export function changeCustomerBalance(
  engine: StripeEngine,
  ctx: RequestContext,
  customer: StripeObject,
  change: {
    amount: number;
    currency: string;
    type: string;
    invoice: string | null;
    creditNote: string | null;
    automatic?: boolean;
  },
): StripeObject {
  const transaction: StripeObject = {
    id: engine.newId('cbtxn'),
    object: 'customer_balance_transaction',
    amount: change.amount,
    checkout_session: null,
    created: engine.now(),
    credit_note: change.creditNote,
    currency: change.currency,
    customer: customer.id,
    customer_account: null,
    description: null,
    ending_balance: customer.balance + change.amount,
    invoice: change.invoice,
    livemode: ctx.scope.livemode,
    metadata: null,
    type: change.type,
  };
  ctx.scope.insert(transaction);
  engine.update(
    ctx,
    customer,
    (c) => {
      c.balance += change.amount;
      c.currency = c.currency ?? change.currency;
    },
    'customer.updated',
    { automatic: change.automatic },
  );
  return transaction;
}

// ---- invoice items ---------------------------------------------------------------------------------------

export function createInvoiceItem(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const customer = engine.reference(ctx, 'customer', requiredString(params, 'customer'), 'customer');
  const priceId =
    optionalString(params, 'price') ?? (optionalObject(params, 'pricing')?.price as string | undefined);
  const price = priceId ? engine.reference(ctx, 'price', priceId, 'price') : null;
  const quantity = optionalInteger(params, 'quantity', 0) ?? 1;
  const amount = price ? price.unit_amount * quantity : optionalInteger(params, 'amount');
  if (amount === undefined)
    throw invalidRequest('Missing required param: amount.', 'amount', 'parameter_missing');
  const code = price ? price.currency : currency(params);
  const invoiceId = optionalString(params, 'invoice');
  const invoice = invoiceId ? engine.reference(ctx, 'invoice', invoiceId, 'invoice') : null;
  if (invoice && invoice.status !== 'draft') {
    throw invalidRequest(
      'You can only add invoice items to draft invoices.',
      'invoice',
      'invoice_not_editable',
    );
  }
  const now = engine.now();
  const item: StripeObject = {
    id: engine.newId('ii'),
    object: 'invoiceitem',
    amount,
    currency: code,
    customer: customer.id,
    customer_account: null,
    date: now,
    description: nullableString(params, 'description') ?? null,
    discountable: true,
    discounts: [],
    invoice: invoice?.id ?? null,
    livemode: ctx.scope.livemode,
    metadata: mergeMetadata({}, params),
    net_amount: amount,
    parent: null,
    period: { end: now, start: now },
    pricing: price
      ? {
          price_details: { price: price.id, product: price.product },
          type: 'price_details',
          unit_amount_decimal: price.unit_amount_decimal,
        }
      : null,
    proration: false,
    quantity,
    quantity_decimal: String(quantity),
    tax_rates: [],
    test_clock: customer.test_clock,
  };
  ctx.scope.insert(item);
  engine.emit(ctx, 'invoiceitem.created', item);
  if (invoice) {
    const previous = engine.change(invoice, (i) =>
      setLines(i, [...i.lines.data, lineForInvoiceItem(engine, ctx, i, item)]),
    );
    engine.emit(ctx, 'invoice.updated', invoice, previous);
  }
  return item;
}

export function listInvoiceItems(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const filters = fieldFilters(params, 'customer', 'invoice');
  const pending = optionalBoolean(params, 'pending');
  const pendingFilter: Filter = pending === undefined ? undefined : (ii) => (ii.invoice === null) === pending;
  return listObjects(ctx.scope, 'invoiceitem', params, '/v1/invoiceitems', [...filters, pendingFilter]);
}
