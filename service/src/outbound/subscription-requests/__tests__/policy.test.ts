/**
 * The subscription policy's answers to requests the Dynamics 365 form lets through but Stripe must not see:
 * quantities that are not a positive whole number, a request without an action or a target, an item of
 * another subscription, two items and none named.
 */
import { SubscriptionStatus } from '@stc/solution/tables';
import { decideSubscriptionChange, quantityOf } from '..';
import type { SubscriptionRequestFacts, SubscriptionFacts } from '../facts';
import type { SubscriptionRequestRow } from '../requests';

const rules = {
  requesterRoles: ['Stripe Refund Requester'],
  livemode: false,
  pauseBehavior: 'void' as const,
};
const requester = { id: 'u1', roles: ['Stripe Refund Requester'] };
const SUB_ROW = '00000000-0000-4000-8000-000000000001';

const request = (over: Partial<SubscriptionRequestRow>): SubscriptionRequestRow => ({
  id: 'r1',
  status: 100000000,
  action: 'change_quantity',
  customerId: null,
  priceId: null,
  productId: null,
  orderId: null,
  quantity: 3,
  subscriptionId: SUB_ROW,
  subscriptionItemId: null,
  createdBy: 'u1',
  etag: 'W/"1"',
  ...over,
});

const subscription = (over: Partial<SubscriptionFacts> = {}): SubscriptionFacts => ({
  id: SUB_ROW,
  stripeId: 'sub_1',
  customerId: null,
  stripeCustomerId: 'cus_1',
  status: SubscriptionStatus.active,
  livemode: false,
  stripeAccount: null,
  pauseCollection: null,
  itemIds: ['i1'],
  ...over,
});

const facts = (over: Partial<SubscriptionRequestFacts> = {}): SubscriptionRequestFacts => ({
  customer: null,
  product: null,
  subscription: subscription(),
  item: { id: 'i1', stripeId: 'si_1', subscriptionId: SUB_ROW },
  order: null,
  ...over,
});

const reason = (r: SubscriptionRequestRow, f = facts()) => {
  const decision = decideSubscriptionChange(requester, r, f, rules);
  return decision.kind === 'reject' ? decision.reason : decision.plan.change;
};

test.each([
  [0, 'The quantity must be a whole number of at least 1, not 0.'],
  [2.5, 'The quantity must be a whole number of at least 1, not 2.5.'],
  [-1, 'The quantity must be a whole number of at least 1, not -1.'],
  ['two', 'The quantity must be a whole number of at least 1, not "two".'],
  [null, 'The request names no quantity.'],
])('a quantity of %p is refused: %s', (quantity, why) => {
  expect(quantityOf(quantity)).toBe(why);
  expect(reason(request({ quantity }))).toBe(why);
});

test('a quantity change of the only item names it for Stripe with the quantity as a number', () => {
  expect(reason(request({ quantity: '7' }))).toEqual({
    action: 'change_quantity',
    subscription: 'sub_1',
    item: 'si_1',
    quantity: 7,
  });
});

test('an item of another subscription, or none named of two, is refused', () => {
  expect(reason(request({}), facts({ item: { id: 'i9', stripeId: 'si_9', subscriptionId: 'other' } }))).toBe(
    'The subscription item is not an item of the subscription named.',
  );
  expect(
    reason(request({}), facts({ item: null, subscription: subscription({ itemIds: ['a', 'b'] }) })),
  ).toBe('The subscription has 2 items: name the one whose quantity changes.');
});

test('a request without an action, or a change without a subscription, is refused', () => {
  expect(reason(request({ action: null }))).toBe(
    'The request names no action: choose Create, Cancel, Pause, Resume or Change quantity.',
  );
  expect(reason(request({ action: 'resume', subscriptionId: null }), facts({ subscription: null }))).toBe(
    'The request names no subscription to resume.',
  );
});

test('a new subscription names a price or a product, not both', () => {
  const customer = {
    kind: 'account' as const,
    id: 'a1',
    name: 'Northwind',
    stripeCustomerId: 'cus_1',
    livemode: false,
    stripeAccount: null,
  };
  const create = request({ action: 'create', customerId: 'a1', subscriptionId: null, quantity: null });
  expect(reason({ ...create, priceId: 'price_1', productId: 'p1' }, facts({ customer }))).toBe(
    'The request names both a Stripe price and a product: name one of them.',
  );
  expect(reason({ ...create, priceId: 'price_1' }, facts({ customer }))).toEqual({
    action: 'create',
    customer: 'cus_1',
    price: 'price_1',
    quantity: 1,
  });
});
