/**
 * An order's lines as Checkout line items, exact in minor units (pure: documents made by a small factory).
 */
import { checkoutPlan } from '..';
import type { DocumentLine, PayableDocument } from '../documents';

const line = (fields: Partial<DocumentLine> & Pick<DocumentLine, 'pricePerUnit'>): DocumentLine => ({
  description: 'Widget',
  quantity: 1,
  discount: 0,
  tax: 0,
  extendedAmount: fields.pricePerUnit,
  ...fields,
});

const order = (currency: string | null, lines: DocumentLine[], totals: Partial<PayableDocument> = {}) =>
  ({
    kind: 'salesorder',
    id: '6f1c2a9e-1d2b-4c3d-8e9f-0a1b2c3d4e5f',
    number: 'ORD-01000',
    name: 'Spring order',
    statecode: 0,
    paymentStatus: null,
    currency,
    totalAmount: 0,
    freightAmount: 0,
    lines,
    customer: null,
    livemode: false,
    paymentInProgress: null,
    ...totals,
  }) satisfies PayableDocument;

test('KWD keeps its three decimals: 19.995 is 19995 fils, freight is a line of its own', () => {
  const plan = checkoutPlan(
    order('kwd', [line({ quantity: 2, pricePerUnit: 19.995, extendedAmount: 39.99 })], {
      totalAmount: 42.49,
      freightAmount: 2.5,
    }),
  );
  expect(plan).toEqual({
    lines: [
      { name: 'Widget', quantity: 2, unitAmount: 19995 },
      { name: 'Freight', quantity: 1, unitAmount: 2500 },
    ],
    total: 42490,
  });
});

test('a fractional quantity is one unit at the extended amount, named with the quantity', () => {
  const plan = checkoutPlan(
    order(
      'usd',
      [line({ description: 'Consulting', quantity: 2.5, pricePerUnit: 120, extendedAmount: 300 })],
      {
        totalAmount: 300,
      },
    ),
  );
  expect(plan).toEqual({
    lines: [{ name: '2.5 × Consulting', quantity: 1, unitAmount: 30000 }],
    total: 30000,
  });
});

test.each([
  [
    order('usd', [line({ pricePerUnit: 19.999, extendedAmount: 19.999 })], { totalAmount: 19.999 }),
    "The order cannot be paid through Stripe: 19.999 USD has more decimals than the currency's 2.",
  ],
  [
    order('jpy', [line({ pricePerUnit: 10.5, extendedAmount: 10.5 })], { totalAmount: 10.5 }),
    "The order cannot be paid through Stripe: 10.5 JPY has more decimals than the currency's 0.",
  ],
  [order(null, [line({ pricePerUnit: 10 })], { totalAmount: 10 }), 'The order has no currency.'],
  [
    order('usd', [line({ pricePerUnit: 0, extendedAmount: 0 })], { totalAmount: 0 }),
    'The order total is zero: there is nothing to pay.',
  ],
  [
    order('usd', [line({ quantity: 0, pricePerUnit: 10, extendedAmount: 0 })], { totalAmount: 0 }),
    'The order cannot be paid through Stripe: line 1 has no quantity.',
  ],
])('refuses what cannot be an exact payment page (%#)', (document, problem) => {
  expect(checkoutPlan(document)).toEqual({ problem });
});
