/**
 * A subscription started from a sales order: what is read of the order (its lines, each line's product with
 * the Stripe prices the catalog sync wrote as price list items, the customer, the subscriptions already made
 * from it), and the pure rules that turn it into one Stripe subscription or say why not.
 *
 * The rules, as a finance user reads an order:
 * - A line whose product has an active recurring Stripe price in the order's currency is a subscription item
 *   (that price, the line's quantity; lines of the same price are one item of their summed quantity, as Stripe
 *   takes a price once per subscription). When the product has several, the one on the order's price list is
 *   taken; otherwise the request is refused naming them. The line's unit price must be the Stripe price's
 *   amount: the subscription bills the Stripe price every period, so an order priced otherwise is refused
 *   rather than billed differently from what it says.
 * - Any other line of a product synced from Stripe is a one-off charge: it is added to the subscription's
 *   first invoice (`add_invoice_items`) at the line's unit price and quantity, with the product's one-time
 *   Stripe price of that amount when it has one, else an inline price of that amount on the Stripe product.
 *   It is billed once, together with the first period.
 * - Refused with the reason: a canceled order; no currency or no lines; a write-in line or a product not
 *   synced from Stripe (Stripe can bill neither); a line with a discount or tax, or a quantity that is not a
 *   whole number; an order-level discount or freight; a product whose recurring prices are all in other currencies;
 *   lines that recur at different intervals (Stripe bills every item of a subscription at one interval); no
 *   recurring line at all; more items than Stripe takes on one subscription (20 each).
 */
import {
  PriceInterval,
  ProductPriceLevel,
  SalesOrder,
  SalesOrderDetail,
  SalesorderStatecode,
} from '@stc/solution/tables';
import {
  Account,
  Contact,
  Product,
  Subscription,
  SubscriptionAction,
  SubscriptionRequest,
  SubscriptionRequestStatus,
  SubscriptionStatus,
} from '@stc/solution/tables';
import type { DataverseClient, Row } from '../../dataverse/types';
import { isGuid } from '../../config/outbound';
import { MoneyError } from '../../mapping';
import { formatMinor, majorToMinor } from '../refund-requests/money';

export type Interval = 'day' | 'week' | 'month' | 'year';

export interface OrderPrice {
  stripePriceId: string;
  priceLevelId: string | null;
  /** Lower-case ISO code, or null when the item names none. */
  currency: string | null;
  /** Null for a one-time price. */
  interval: Interval | null;
  intervalCount: number;
  /** Major units, as the Web API gives them. */
  amount: unknown;
  archived: boolean;
}

export interface OrderLine {
  /** 1, 2, … in the order's line order. */
  position: number;
  description: string;
  productId: string | null;
  stripeProductId: string | null;
  writeIn: boolean;
  quantity: unknown;
  pricePerUnit: unknown;
  /** Manual and volume discount, major units. */
  discount: unknown;
  /** The line's tax, major units. */
  tax: unknown;
  /** The product's price list items that carry a Stripe price. */
  prices: OrderPrice[];
}

export interface OrderCustomer {
  kind: 'account' | 'contact';
  id: string;
  name: string | null;
  stripeCustomerId: string | null;
  createInStripe: boolean;
  livemode: boolean | null;
  stripeAccount: string | null;
}

export interface OrderFacts {
  id: string;
  number: string | null;
  statecode: number | null;
  currency: string | null;
  priceLevelId: string | null;
  discount: unknown;
  freight: unknown;
  livemode: boolean | null;
  customer: OrderCustomer | null;
  lines: OrderLine[];
  /**
   * Stripe ids of the subscriptions made from the order that have not ended: linked to it by their rows, or
   * made by another request for it whose subscription has no row yet.
   */
  liveSubscriptions: string[];
  /** Other requests for the order in Processing: a subscription being made. */
  requestsInFlight: number;
}

/** A subscription item, or a one-off charge on the first invoice, as Stripe takes it. */
export interface RecurringItem {
  price: string;
  quantity: number;
}
export type OneOffItem =
  | { price: string; quantity: number }
  | { price_data: { currency: string; product: string; unit_amount: number }; quantity: number };

export interface OrderItems {
  items: RecurringItem[];
  oneOff: OneOffItem[];
  currency: string;
  interval: Interval;
  intervalCount: number;
}

/** Stripe's most items on one subscription, and most `add_invoice_items`. */
export const MAX_ITEMS = 20;

const INTERVALS = new Map<number, Interval>([
  [PriceInterval.day, 'day'],
  [PriceInterval.week, 'week'],
  [PriceInterval.month, 'month'],
  [PriceInterval.year, 'year'],
]);
const EVERY: Record<Interval, string> = { day: 'daily', week: 'weekly', month: 'monthly', year: 'yearly' };

const str = (value: unknown): string | null =>
  typeof value === 'string' && value.trim() ? value.trim() : null;
const guid = (value: unknown): string | null => (isGuid(value) ? value.toLowerCase() : null);
const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);

export function orderLabel(order: Pick<OrderFacts, 'number'>): string {
  return order.number ? `The order ${order.number}` : 'The order';
}

const lineLabel = (line: OrderLine) => `line ${line.position} (${line.description})`;

function every(price: Pick<OrderPrice, 'interval' | 'intervalCount'>): string {
  if (!price.interval) return 'once';
  return price.intervalCount > 1 ? `every ${price.intervalCount} ${price.interval}s` : EVERY[price.interval];
}

const isZero = (value: unknown, currency: string) =>
  value === null || value === undefined || majorToMinor(value, currency) === 0;

/** The subscription items and one-off charges of an order, or why it cannot become a subscription. */
export function orderItems(order: OrderFacts): OrderItems | { problem: string } {
  const what = orderLabel(order);
  if (order.statecode === SalesorderStatecode.Canceled) return { problem: `${what} is canceled.` };
  const currency = order.currency;
  if (!currency) return { problem: `${what} has no currency.` };
  if (order.lines.length === 0) return { problem: `${what} has no lines to subscribe to.` };
  try {
    if (!isZero(order.discount, currency))
      return {
        problem: `${what} has a discount of ${formatMinor(majorToMinor(order.discount, currency), currency)} on the whole order, which a Stripe subscription cannot carry: put it on no line and ask again, or create the subscription in Stripe with a coupon.`,
      };
    if (!isZero(order.freight, currency))
      return {
        problem: `${what} has freight of ${formatMinor(majorToMinor(order.freight, currency), currency)}, which a Stripe subscription cannot bill: remove it, then ask again.`,
      };
    const items: Array<RecurringItem & { line: OrderLine; stripe: OrderPrice }> = [];
    const oneOff: OneOffItem[] = [];
    for (const line of order.lines) {
      const planned = planLine(order, line, currency);
      if ('problem' in planned) return planned;
      if ('recurring' in planned) items.push({ ...planned.recurring, line, stripe: planned.price });
      else oneOff.push(planned.oneOff);
    }
    if (items.length === 0)
      return {
        problem: `${what} has no line whose product has a recurring Stripe price in ${currency.toUpperCase()}: there is nothing to subscribe to. Use a payment link for one-off lines.`,
      };
    const cadences = new Set(items.map((item) => every(item.stripe)));
    if (cadences.size > 1)
      return {
        problem: `${what} has lines billed at different intervals (${items.map((item) => `${lineLabel(item.line)} ${every(item.stripe)}`).join(', ')}): a Stripe subscription bills all its items at one interval. Split the order by interval, then ask for each.`,
      };
    if (merged(items).length > MAX_ITEMS || oneOff.length > MAX_ITEMS)
      return {
        problem: `${what} has ${items.length} recurring and ${oneOff.length} one-off lines: Stripe takes at most ${MAX_ITEMS} of each on one subscription.`,
      };
    return {
      items: merged(items),
      oneOff,
      currency,
      interval: items[0].stripe.interval!,
      intervalCount: items[0].stripe.intervalCount,
    };
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error;
    return { problem: `${what} cannot be billed through Stripe: ${error.message}.` };
  }
}

/** Lines of the same Stripe price as one item of their summed quantity: Stripe takes a price once per subscription. */
function merged(items: RecurringItem[]): RecurringItem[] {
  const byPrice = new Map<string, RecurringItem>();
  for (const { price, quantity } of items) {
    const seen = byPrice.get(price);
    if (seen) seen.quantity += quantity;
    else byPrice.set(price, { price, quantity });
  }
  return [...byPrice.values()];
}

type LinePlan =
  { recurring: RecurringItem; price: OrderPrice } | { oneOff: OneOffItem } | { problem: string };

function planLine(order: OrderFacts, line: OrderLine, currency: string): LinePlan {
  const what = lineLabel(line);
  if (line.writeIn || !line.productId)
    return {
      problem: `The order's ${what} is a write-in product, which Stripe cannot bill: choose a product synced from Stripe, then ask again.`,
    };
  const quantity = line.quantity;
  if (typeof quantity !== 'number' || !Number.isSafeInteger(quantity) || quantity < 1)
    return {
      problem: `The order's ${what} has the quantity ${JSON.stringify(quantity)}: Stripe bills whole quantities of at least 1.`,
    };
  if (!isZero(line.discount, currency))
    return {
      problem: `The order's ${what} has a discount of ${formatMinor(majorToMinor(line.discount, currency), currency)}, which a Stripe subscription cannot carry: bill the product at its Stripe price, then ask again.`,
    };
  if (!isZero(line.tax, currency))
    return {
      problem: `The order's ${what} has tax of ${formatMinor(majorToMinor(line.tax, currency), currency)}, which the subscription would not bill: Stripe taxes its invoices itself (Stripe Tax or tax rates). Take the tax off the line, then ask again.`,
    };
  const unit = majorToMinor(line.pricePerUnit ?? 0, currency);
  const active = line.prices.filter((p) => !p.archived);
  const inCurrency = active.filter((p) => p.currency === currency);
  const onPriceList = order.priceLevelId
    ? inCurrency.filter((p) => p.priceLevelId === order.priceLevelId)
    : [];
  const recurring = inCurrency.filter((p) => p.interval !== null);
  // The order's price list decides when it lists the product; otherwise its one recurring price does.
  const chosen =
    onPriceList.length === 1 ? onPriceList[0] : recurring.length === 1 ? recurring[0] : undefined;
  if (!chosen && recurring.length > 1)
    return {
      problem: `The order's ${what} has ${recurring.length} recurring Stripe prices in ${currency.toUpperCase()} (${recurring.map((p) => `${p.stripePriceId} ${every(p)}`).join(', ')}) and the order's price list names none of them: put the order on the Stripe price list of the interval wanted, then ask again.`,
    };
  if (chosen?.interval) {
    const amount = majorToMinor(chosen.amount ?? 0, currency);
    if (amount !== unit)
      return {
        problem: `The order's ${what} is priced ${formatMinor(unit, currency)}, and its Stripe price ${chosen.stripePriceId} bills ${formatMinor(amount, currency)} ${every(chosen)}: price the line at the Stripe price, then ask again.`,
      };
    return { recurring: { price: chosen.stripePriceId, quantity }, price: chosen };
  }
  const elsewhere = active.filter((p) => p.interval !== null && p.currency !== currency);
  if (inCurrency.length === 0 && elsewhere.length > 0)
    return {
      problem: `The order's ${what} has recurring Stripe prices only in ${[...new Set(elsewhere.map((p) => (p.currency ?? '?').toUpperCase()))].join(', ')}, and the order is in ${currency.toUpperCase()}.`,
    };
  if (!line.stripeProductId)
    return {
      problem: `The order's ${what} is a product not synced with Stripe, which Stripe cannot bill: sync it from Stripe or remove the line, then ask again.`,
    };
  const oneTime = inCurrency.find(
    (p) => p.interval === null && majorToMinor(p.amount ?? 0, currency) === unit,
  );
  return {
    oneOff: oneTime
      ? { price: oneTime.stripePriceId, quantity }
      : { price_data: { currency, product: line.stripeProductId, unit_amount: unit }, quantity },
  };
}

// ---- reading the order ------------------------------------------------------------------------------------

const O = SalesOrder.col;
const D = SalesOrderDetail.col;
const P = ProductPriceLevel.col;

/** The order with what the rules read (`requestId`: the request asking, left out of the others); null when it is gone. */
export async function readOrder(
  dataverse: DataverseClient,
  id: string,
  requestId: string,
): Promise<OrderFacts | null> {
  const row = await dataverse.retrieve(SalesOrder.entitySetName, id, {
    select: [
      O.orderNumber,
      O.statecode,
      O.discountAmount,
      O.freightAmount,
      O.liveMode,
      SalesOrder.lookup.customerId.value,
      SalesOrder.lookup.priceLevelId.value,
      SalesOrder.lookup.transactionCurrencyId.value,
    ],
  });
  if (!row) return null;
  const [lineRows, customer, started] = await Promise.all([
    dataverse.retrieveMultiple(SalesOrderDetail.entitySetName, {
      select: [
        D.quantity,
        D.pricePerUnit,
        D.manualDiscountAmount,
        D.volumeDiscountAmount,
        D.tax,
        D.productDescription,
        D.isProductOverridden,
        D.lineItemNumber,
        SalesOrderDetail.lookup.productId.value,
      ],
      filter: `${SalesOrderDetail.lookup.salesOrderId.value} eq ${id}`,
      orderBy: [`${D.lineItemNumber} asc`],
    }),
    readOrderCustomer(dataverse, row[SalesOrder.lookup.customerId.value]),
    readStarted(dataverse, id, requestId),
  ]);
  const productIds = [
    ...new Set(lineRows.map((r) => guid(r[SalesOrderDetail.lookup.productId.value]))),
  ].filter((p): p is string => p !== null);
  const [products, prices] = await Promise.all([
    readProducts(dataverse, productIds),
    readPrices(dataverse, productIds),
  ]);
  const currencyIds = [
    row[SalesOrder.lookup.transactionCurrencyId.value],
    ...prices.map((p) => p[ProductPriceLevel.lookup.transactionCurrencyId.value]),
  ];
  const currencies = await readCurrencies(dataverse, currencyIds);
  const currencyOf = (value: unknown) => currencies.get(guid(value) ?? '') ?? null;
  const lines = lineRows.map((r, index) => orderLine(r, index, products, prices, currencyOf));
  return {
    id,
    number: str(row[O.orderNumber]),
    statecode: num(row[O.statecode]),
    currency: currencyOf(row[SalesOrder.lookup.transactionCurrencyId.value]),
    priceLevelId: guid(row[SalesOrder.lookup.priceLevelId.value]),
    discount: row[O.discountAmount],
    freight: row[O.freightAmount],
    livemode: typeof row[O.liveMode] === 'boolean' ? Boolean(row[O.liveMode]) : null,
    customer,
    lines,
    ...started,
  };
}

type Products = Map<string, { name: string | null; stripeProductId: string | null }>;

function orderLine(
  r: Row,
  index: number,
  products: Products,
  prices: Row[],
  currencyOf: (value: unknown) => string | null,
): OrderLine {
  const productId = guid(r[SalesOrderDetail.lookup.productId.value]);
  const product = productId ? products.get(productId) : undefined;
  const discount = (num(r[D.manualDiscountAmount]) ?? 0) + (num(r[D.volumeDiscountAmount]) ?? 0);
  return {
    position: index + 1,
    description: product?.name ?? str(r[D.productDescription]) ?? 'Item',
    productId: product ? productId : null,
    stripeProductId: product?.stripeProductId ?? null,
    writeIn: r[D.isProductOverridden] === true,
    quantity: r[D.quantity],
    pricePerUnit: r[D.pricePerUnit],
    discount: Math.round(discount * 1e6) / 1e6,
    tax: r[D.tax],
    prices: prices
      .filter((p) => guid(p[ProductPriceLevel.lookup.productId.value]) === productId)
      .map((p) => ({
        stripePriceId: String(p[P.stripePriceId]),
        priceLevelId: guid(p[ProductPriceLevel.lookup.priceLevelId.value]),
        currency: currencyOf(p[ProductPriceLevel.lookup.transactionCurrencyId.value]),
        interval: INTERVALS.get(Number(p[P.recurringInterval])) ?? null,
        intervalCount: num(p[P.intervalCount]) ?? 1,
        amount: p[P.amount],
        archived: p[P.archived] === true,
      })),
  };
}

async function readProducts(dataverse: DataverseClient, ids: string[]): Promise<Products> {
  const found: Products = new Map();
  if (ids.length === 0) return found;
  const rows = await dataverse.retrieveMultiple(Product.entitySetName, {
    select: [Product.primaryId, Product.col.name, Product.col.stripeProductId],
    filter: ids.map((p) => `${Product.primaryId} eq ${p}`).join(' or '),
  });
  for (const r of rows)
    found.set(String(r[Product.primaryId]).toLowerCase(), {
      name: str(r[Product.col.name]),
      stripeProductId: str(r[Product.col.stripeProductId]),
    });
  return found;
}

async function readPrices(dataverse: DataverseClient, productIds: string[]): Promise<Row[]> {
  if (productIds.length === 0) return [];
  const products = productIds.map((p) => `${ProductPriceLevel.lookup.productId.value} eq ${p}`).join(' or ');
  return dataverse.retrieveMultiple(ProductPriceLevel.entitySetName, {
    select: [
      P.stripePriceId,
      P.recurringInterval,
      P.intervalCount,
      P.amount,
      P.archived,
      ProductPriceLevel.lookup.productId.value,
      ProductPriceLevel.lookup.priceLevelId.value,
      ProductPriceLevel.lookup.transactionCurrencyId.value,
    ],
    filter: `(${products}) and ${P.stripePriceId} ne null`,
  });
}

async function readCurrencies(dataverse: DataverseClient, ids: unknown[]): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.map(guid))].filter((id): id is string => id !== null);
  const found = new Map<string, string>();
  if (wanted.length === 0) return found;
  const rows = await dataverse.retrieveMultiple('transactioncurrencies', {
    select: ['transactioncurrencyid', 'isocurrencycode'],
    filter: wanted.map((id) => `transactioncurrencyid eq ${id}`).join(' or '),
  });
  for (const r of rows) {
    const code = str(r.isocurrencycode);
    if (code) found.set(String(r.transactioncurrencyid).toLowerCase(), code.toLowerCase());
  }
  return found;
}

async function readOrderCustomer(dataverse: DataverseClient, value: unknown): Promise<OrderCustomer | null> {
  const id = guid(value);
  if (!id) return null;
  for (const [kind, table, nameColumn] of [
    ['account', Account, 'name'],
    ['contact', Contact, 'fullname'],
  ] as const) {
    const c = table.col;
    const row = await dataverse.retrieve(table.entitySetName, id, {
      select: [nameColumn, c.stripeCustomerId, c.createInStripe, c.liveMode, c.stripeAccount],
    });
    if (row)
      return {
        kind,
        id,
        name: str(row[nameColumn]),
        stripeCustomerId: str(row[c.stripeCustomerId]),
        createInStripe: row[c.createInStripe] === true,
        livemode: typeof row[c.liveMode] === 'boolean' ? Boolean(row[c.liveMode]) : null,
        stripeAccount: str(row[c.stripeAccount]),
      };
  }
  return null;
}

/**
 * What the order has started already: its subscriptions that have not ended (their rows, and those other
 * Succeeded requests for it made whose rows have not arrived yet), and the other requests still Processing.
 */
async function readStarted(
  dataverse: DataverseClient,
  orderId: string,
  requestId: string,
): Promise<Pick<OrderFacts, 'liveSubscriptions' | 'requestsInFlight'>> {
  const R = SubscriptionRequest.col;
  const [rows, requests] = await Promise.all([
    dataverse.retrieveMultiple(Subscription.entitySetName, {
      select: [Subscription.col.stripeId, Subscription.col.status],
      filter: `${Subscription.lookup.salesorderid.value} eq ${orderId}`,
    }),
    dataverse.retrieveMultiple(SubscriptionRequest.entitySetName, {
      select: [SubscriptionRequest.primaryId, R.status, R.stripeSubscriptionId],
      filter: `${SubscriptionRequest.lookup.salesorderid.value} eq ${orderId} and ${R.action} eq ${SubscriptionAction.create}`,
    }),
  ]);
  const endedStatus: number[] = [SubscriptionStatus.canceled, SubscriptionStatus.incomplete_expired];
  const ended = new Set<string>();
  const live: string[] = [];
  for (const r of rows) {
    const stripeId = String(r[Subscription.col.stripeId]);
    if (endedStatus.includes(Number(r[Subscription.col.status]))) ended.add(stripeId);
    else live.push(stripeId);
  }
  const others = requests.filter((r) => guid(r[SubscriptionRequest.primaryId]) !== requestId.toLowerCase());
  for (const r of others) {
    const made = str(r[R.stripeSubscriptionId]);
    if (
      r[R.status] === SubscriptionRequestStatus.succeeded &&
      made &&
      !ended.has(made) &&
      !live.includes(made)
    )
      live.push(made);
  }
  const requestsInFlight = others.filter((r) => r[R.status] === SubscriptionRequestStatus.processing).length;
  return { liveSubscriptions: live, requestsInFlight };
}
