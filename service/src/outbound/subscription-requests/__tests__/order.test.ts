/**
 * The rules that turn a sales order into one Stripe subscription, over facts as readOrder gives them: which
 * lines are subscription items and which are one-off charges on the first invoice, and the refusals a
 * finance user reads on the request (mixed intervals, another currency, write-ins, discounts, prices that
 * differ from Stripe's). Then the policy around it: the customer to bill, the role, an order subscribed already.
 */
import { SalesorderStatecode } from '@stc/solution/tables';
import { decideSubscriptionChange, orderItems, type OrderFacts } from '..';
import type { OrderLine, OrderPrice } from '../order';
import type { SubscriptionRequestRow } from '../requests';

const ORDER = '00000000-0000-4000-8000-0000000000a1';
const ACCOUNT = '00000000-0000-4000-8000-0000000000b1';
const USD_MONTH = '00000000-0000-4000-8000-0000000000c1';
const USD_YEAR = '00000000-0000-4000-8000-0000000000c2';

const price = (over: Partial<OrderPrice>): OrderPrice => ({
  stripePriceId: 'price_x',
  priceLevelId: USD_MONTH,
  currency: 'usd',
  interval: 'month',
  intervalCount: 1,
  amount: 15,
  archived: false,
  ...over,
});

let position = 0;
const line = (over: Partial<OrderLine>): OrderLine => ({
  position: ++position,
  description: 'Seat',
  productId: `00000000-0000-4000-8000-00000000d00${position}`,
  stripeProductId: `prod_${position}`,
  writeIn: false,
  quantity: 1,
  pricePerUnit: 15,
  discount: 0,
  tax: null,
  prices: [],
  ...over,
});

const seat = () =>
  line({
    description: 'Seat',
    quantity: 3,
    pricePerUnit: 15,
    prices: [price({ stripePriceId: 'price_seat' })],
  });
const support = () =>
  line({
    description: 'Support',
    quantity: 1,
    pricePerUnit: 99.5,
    prices: [price({ stripePriceId: 'price_support', amount: 99.5 })],
  });
const setup = (prices: OrderPrice[] = []) =>
  line({ description: 'Setup', stripeProductId: 'prod_setup', quantity: 1, pricePerUnit: 250, prices });

const order = (lines: OrderLine[], over: Partial<OrderFacts> = {}): OrderFacts => ({
  id: ORDER,
  number: 'ORD-1001',
  statecode: SalesorderStatecode.Active,
  currency: 'usd',
  priceLevelId: null,
  discount: null,
  freight: null,
  livemode: null,
  customer: {
    kind: 'account',
    id: ACCOUNT,
    name: 'Northwind',
    stripeCustomerId: 'cus_1',
    createInStripe: false,
    livemode: false,
    stripeAccount: null,
  },
  // Positions as readOrder numbers them: in the order's line order.
  lines: lines.map((l, i) => ({ ...l, position: i + 1 })),
  liveSubscriptions: [],
  requestsInFlight: 0,
  ...over,
});

const problem = (facts: OrderFacts) => {
  const planned = orderItems(facts);
  return 'problem' in planned ? planned.problem : planned;
};

beforeEach(() => {
  position = 0;
});

describe('an order’s lines as a subscription', () => {
  it('makes the recurring lines items and a one-off line a charge on the first invoice at its own price', () => {
    expect(orderItems(order([seat(), support(), setup()]))).toEqual({
      items: [
        { price: 'price_seat', quantity: 3 },
        { price: 'price_support', quantity: 1 },
      ],
      oneOff: [{ price_data: { currency: 'usd', product: 'prod_setup', unit_amount: 25000 }, quantity: 1 }],
      currency: 'usd',
      interval: 'month',
      intervalCount: 1,
    });
  });

  it('bills a one-off line with the product’s one-time Stripe price when it has one of the line’s amount', () => {
    const oneTime = price({ stripePriceId: 'price_setup', interval: null, amount: 250 });
    const other = price({ stripePriceId: 'price_setup_old', interval: null, amount: 200 });
    const planned = orderItems(order([seat(), setup([other, oneTime])]));
    expect('oneOff' in planned && planned.oneOff).toEqual([{ price: 'price_setup', quantity: 1 }]);
  });

  it('takes the price of the order’s price list when the product has a monthly and a yearly price', () => {
    const both = line({
      description: 'Seat',
      pricePerUnit: 150,
      prices: [
        price({ stripePriceId: 'price_month', priceLevelId: USD_MONTH, amount: 15 }),
        price({ stripePriceId: 'price_year', priceLevelId: USD_YEAR, interval: 'year', amount: 150 }),
      ],
    });
    const planned = orderItems(order([both], { priceLevelId: USD_YEAR }));
    expect('items' in planned && [planned.items, planned.interval]).toEqual([
      [{ price: 'price_year', quantity: 1 }],
      'year',
    ]);
    position = 0;
    expect(problem(order([both]))).toBe(
      "The order's line 1 (Seat) has 2 recurring Stripe prices in USD (price_month monthly, price_year yearly) and the order's price list names none of them: put the order on the Stripe price list of the interval wanted, then ask again.",
    );
  });

  it('makes lines of the same Stripe price one item of their summed quantity', () => {
    const more = line({ ...seat(), quantity: 2 });
    const planned = orderItems(order([seat(), support(), more]));
    expect('items' in planned && planned.items).toEqual([
      { price: 'price_seat', quantity: 5 },
      { price: 'price_support', quantity: 1 },
    ]);
  });

  it('leaves archived prices out', () => {
    const archived = line({ prices: [price({ archived: true })] });
    expect(problem(order([seat(), archived]))).toEqual(
      expect.objectContaining({ oneOff: [expect.anything()] }),
    );
  });
});

describe('orders refused with the reason', () => {
  it('refuses lines recurring at different intervals', () => {
    const yearly = line({
      description: 'Hosting',
      pricePerUnit: 1200,
      prices: [price({ stripePriceId: 'price_host', interval: 'year', amount: 1200 })],
    });
    const quarterly = line({
      description: 'Audit',
      pricePerUnit: 300,
      prices: [price({ stripePriceId: 'price_audit', intervalCount: 3, amount: 300 })],
    });
    expect(problem(order([seat(), yearly, quarterly]))).toBe(
      'The order ORD-1001 has lines billed at different intervals (line 1 (Seat) monthly, line 2 (Hosting) yearly, line 3 (Audit) every 3 months): a Stripe subscription bills all its items at one interval. Split the order by interval, then ask for each.',
    );
  });

  it('refuses a product whose recurring prices are in another currency', () => {
    const euro = line({ description: 'Seat EU', prices: [price({ currency: 'eur' })] });
    expect(problem(order([seat(), euro]))).toBe(
      "The order's line 2 (Seat EU) has recurring Stripe prices only in EUR, and the order is in USD.",
    );
  });

  it('refuses an order with no recurring line, and one with a line Stripe cannot bill', () => {
    expect(problem(order([setup()]))).toBe(
      'The order ORD-1001 has no line whose product has a recurring Stripe price in USD: there is nothing to subscribe to. Use a payment link for one-off lines.',
    );
    position = 0;
    expect(problem(order([seat(), line({ description: 'Cabling', writeIn: true, productId: null })]))).toBe(
      "The order's line 2 (Cabling) is a write-in product, which Stripe cannot bill: choose a product synced from Stripe, then ask again.",
    );
    position = 0;
    expect(problem(order([seat(), line({ description: 'Local', stripeProductId: null })]))).toBe(
      "The order's line 2 (Local) is a product not synced with Stripe, which Stripe cannot bill: sync it from Stripe or remove the line, then ask again.",
    );
  });

  it('refuses what a subscription cannot bill as the order says: discounts, tax, freight, other prices, part quantities', () => {
    expect(problem(order([line({ ...seat(), discount: 5 })]))).toBe(
      "The order's line 1 (Seat) has a discount of 5.00 USD, which a Stripe subscription cannot carry: bill the product at its Stripe price, then ask again.",
    );
    expect(problem(order([line({ ...seat(), tax: 2.85 })]))).toBe(
      "The order's line 1 (Seat) has tax of 2.85 USD, which the subscription would not bill: Stripe taxes its invoices itself (Stripe Tax or tax rates). Take the tax off the line, then ask again.",
    );
    expect(problem(order([line({ ...seat(), pricePerUnit: 12 })]))).toBe(
      "The order's line 1 (Seat) is priced 12.00 USD, and its Stripe price price_seat bills 15.00 USD monthly: price the line at the Stripe price, then ask again.",
    );
    expect(problem(order([line({ ...seat(), quantity: 1.5 })]))).toBe(
      "The order's line 1 (Seat) has the quantity 1.5: Stripe bills whole quantities of at least 1.",
    );
    expect(problem(order([seat()], { freight: 10 }))).toBe(
      'The order ORD-1001 has freight of 10.00 USD, which a Stripe subscription cannot bill: remove it, then ask again.',
    );
  });

  it('refuses a canceled order, one without lines or currency', () => {
    expect(problem(order([seat()], { statecode: SalesorderStatecode.Canceled }))).toBe(
      'The order ORD-1001 is canceled.',
    );
    expect(problem(order([]))).toBe('The order ORD-1001 has no lines to subscribe to.');
    expect(problem(order([seat()], { currency: null }))).toBe('The order ORD-1001 has no currency.');
  });
});

describe('the policy of a request naming an order', () => {
  const rules = {
    requesterRoles: ['Stripe Refund Requester'],
    livemode: false,
    pauseBehavior: 'void' as const,
  };
  const requester = { id: 'u1', roles: ['Stripe Refund Requester'] };
  const request: SubscriptionRequestRow = {
    id: 'r1',
    status: 100000000,
    action: 'create',
    customerId: null,
    priceId: null,
    productId: null,
    orderId: ORDER,
    quantity: null,
    subscriptionId: null,
    subscriptionItemId: null,
    createdBy: 'u1',
    etag: null,
  };
  const decide = (facts: OrderFacts, who = requester, r = request) =>
    decideSubscriptionChange(
      who,
      r,
      { customer: null, product: null, subscription: null, item: null, order: facts },
      rules,
    );
  const reason = (facts: OrderFacts, who = requester, r = request) => {
    const decision = decide(facts, who, r);
    return decision.kind === 'reject' ? decision.reason : decision.plan.change;
  };

  it('bills the order’s customer, with its Stripe customer or one to make for a row marked Create in Stripe', () => {
    expect(reason(order([seat()]))).toEqual({
      action: 'create_from_order',
      customer: { stripeId: 'cus_1' },
      order: ORDER,
      items: [{ price: 'price_seat', quantity: 3 }],
      oneOff: [],
    });
    const unsynced = order([seat()]);
    unsynced.customer = { ...unsynced.customer!, stripeCustomerId: null, createInStripe: true };
    expect(reason(unsynced)).toMatchObject({ customer: { ensure: { kind: 'account', id: ACCOUNT } } });
    unsynced.customer.createInStripe = false;
    expect(reason(unsynced)).toBe(
      'The account Northwind has no Stripe customer and is not marked Create in Stripe: mark it (Stripe tab) or sync it to Stripe, then ask again.',
    );
  });

  it('refuses a user without the role, an order subscribed already, and a price or quantity beside the order', () => {
    expect(reason(order([seat()]), { id: 'u2', roles: ['Salesperson'] })).toBe(
      'The requester (user u2) holds none of the roles allowed to request Stripe subscription changes: Stripe Refund Requester.',
    );
    expect(reason(order([seat()], { liveSubscriptions: ['sub_1'] }))).toBe(
      'The order ORD-1001 has the Stripe subscription sub_1 already: cancel it first to start another.',
    );
    expect(reason(order([seat()], { requestsInFlight: 1 }))).toBe(
      'The order ORD-1001 has a subscription being started by another request: see its outcome before asking again.',
    );
    expect(reason(order([seat()]), requester, { ...request, priceId: 'price_1' })).toBe(
      'The request names an order and a Stripe price or product: name the order alone (its lines say what is subscribed to).',
    );
    expect(reason(order([seat()]), requester, { ...request, quantity: 2 })).toBe(
      "The quantities come from the order's lines: leave Quantity empty.",
    );
    expect(reason(order([seat()], { livemode: true }))).toBe(
      'The order ORD-1001 is in Stripe live mode, and this service serves test mode.',
    );
  });
});
