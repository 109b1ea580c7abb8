/**
 * The charge policy over facts: who may ask, which amounts, which customers, which documents, when an approver
 * is needed and whose approval counts. Pure: no Dataverse, no Stripe.
 */
import { decideCharge, preflight, type ChargeFacts, type ChargeRules } from '..';

const rules: ChargeRules = {
  requesterRoles: ['Stripe Refund Requester', 'Stripe Finance Approver'],
  approverRoles: ['Stripe Finance Approver'],
  allowSelfApproval: false,
  livemode: false,
};
const requester = { id: 'u-rita', roles: ['Stripe Refund Requester'] };
const approver = { id: 'u-frank', roles: ['Stripe Finance Approver'] };

function facts(extra: Partial<ChargeFacts> = {}): ChargeFacts {
  return {
    requester,
    approver: null,
    amount: 2000,
    currency: 'usd',
    threshold: 50_000,
    unapproved: 0,
    customer: {
      kind: 'account',
      id: 'a1',
      name: 'Northwind',
      stripeCustomerId: 'cus_1',
      livemode: false,
      stripeAccount: null,
    },
    customerNamed: true,
    bothDocuments: false,
    document: null,
    paymentMethod: { id: 'pm_1', source: 'default' },
    stripeLivemode: false,
    ...extra,
  };
}

const reason = (f: ChargeFacts) => {
  const d = decideCharge(f, rules);
  return d.kind === 'refuse' ? d.reason : d.kind;
};

test('charges the saved payment method under the threshold', () => {
  expect(decideCharge(facts(), rules)).toEqual({
    kind: 'charge',
    approvedBy: null,
    plan: { customer: 'cus_1', paymentMethod: 'pm_1', amount: 2000, currency: 'usd', stripeAccount: null },
  });
  expect(decideCharge(facts({ amount: 50_000 }), rules).kind).toBe('charge');
});

test('above the threshold, or in a currency without one, waits for an approver', () => {
  expect(decideCharge(facts({ amount: 50_001 }), rules)).toEqual({
    kind: 'awaitApproval',
    note: '500.01 USD is above the approval threshold of 500.00 USD: a finance approver has to approve it.',
  });
  expect(decideCharge(facts({ currency: 'kwd', amount: 1, threshold: null }), rules)).toEqual({
    kind: 'awaitApproval',
    note: 'No approval threshold is set for KWD: every charge in it needs a finance approver.',
  });
  expect(decideCharge(facts({ amount: 50_001, approver }), rules)).toMatchObject({
    kind: 'charge',
    approvedBy: 'u-frank',
  });
});

test("weighs the customer's charges without an approver with the request against the threshold", () => {
  expect(decideCharge(facts({ amount: 20_000, unapproved: 30_000 }), rules).kind).toBe('charge');
  expect(decideCharge(facts({ amount: 20_000, unapproved: 30_001 }), rules)).toEqual({
    kind: 'awaitApproval',
    note: 'Charges of this customer without an approver (those on their way, and those made in the last 24 hours) would come to 500.01 USD with this request, more than the approval threshold of 500.00 USD: a finance approver has to approve it.',
  });
  // Above the threshold on its own: said so; approved: charged whatever the others come to.
  expect(decideCharge(facts({ amount: 50_001, unapproved: 10_000 }), rules)).toMatchObject({
    note: '500.01 USD is above the approval threshold of 500.00 USD: a finance approver has to approve it.',
  });
  expect(decideCharge(facts({ amount: 20_000, unapproved: 90_000, approver }), rules)).toMatchObject({
    kind: 'charge',
    approvedBy: 'u-frank',
  });
});

test('an approval by the requester or by a user without an approver role does not count', () => {
  const self = { id: 'u-frank', roles: ['Stripe Finance Approver'] };
  expect(decideCharge(facts({ amount: 60_000, requester: self, approver: self }), rules)).toEqual({
    kind: 'awaitApproval',
    note: 'The approval was not accepted: a request cannot be approved by the user who asked for it.',
  });
  expect(decideCharge(facts({ amount: 60_000, approver: requester }), rules)).toMatchObject({
    kind: 'awaitApproval',
    note: expect.stringContaining('holds none of the roles Stripe Finance Approver'),
  });
});

test('refuses, saying why, whatever Stripe would not be asked for', () => {
  expect(reason(facts({ requester: { id: 'u-otto', roles: ['Stripe Payments Reader'] } }))).toBe(
    'The requester (user u-otto) holds none of the roles allowed to request charges of a saved payment method: Stripe Refund Requester, Stripe Finance Approver.',
  );
  expect(reason(facts({ amount: 0 }))).toBe('The amount to charge must be more than zero.');
  expect(
    reason(facts({ amount: { problem: 'The amount cannot be charged: 10.5 JPY has more decimals.' } })),
  ).toBe('The amount cannot be charged: 10.5 JPY has more decimals.');
  expect(reason(facts({ customer: null }))).toBe('The account or contact no longer exists.');
  expect(reason(facts({ customer: null, customerNamed: false }))).toBe(
    'The request names no account or contact to charge.',
  );
  expect(reason(facts({ customer: { ...facts().customer!, stripeCustomerId: null } }))).toBe(
    'The account Northwind has no Stripe customer: sync the customer to Stripe first, then ask again.',
  );
  expect(reason(facts({ customer: { ...facts().customer!, livemode: true } }))).toBe(
    'The account Northwind is a Stripe live-mode customer, and this service serves test mode only.',
  );
  expect(reason(facts({ stripeLivemode: true }))).toBe(
    'The Stripe customer cus_1 is in live mode, and this service serves test mode only.',
  );
  expect(reason(facts({ bothDocuments: true }))).toBe(
    'The request names both an order and an invoice: name the one the charge pays.',
  );
  const invoice = {
    kind: 'invoice' as const,
    id: 'i1',
    number: 'INV-1',
    missing: false,
    settled: true,
    currency: 'usd',
    totalMinor: 2000,
  };
  expect(reason(facts({ document: invoice }))).toBe('The invoice INV-1 is paid or closed already.');
  expect(reason(facts({ document: { ...invoice, missing: true, number: null } }))).toBe(
    'The invoice no longer exists.',
  );
  const open = { ...invoice, settled: false };
  expect(reason(facts({ document: { ...open, currency: 'eur' } }))).toBe(
    'The invoice INV-1 is in EUR, and the charge in USD: a charge that pays it is in its currency.',
  );
  expect(reason(facts({ document: { ...open, totalMinor: 12_050 } }))).toBe(
    'The invoice INV-1 totals 120.50 USD, and the charge is for 20.00 USD: a charge that pays it is for its total.',
  );
  expect(
    reason(facts({ paymentMethod: { problem: 'The Stripe customer cus_1 has no saved payment method.' } })),
  ).toBe('The Stripe customer cus_1 has no saved payment method.');
});

test('a charge naming an unpaid order or invoice for its total in its currency pays it', () => {
  const order = {
    kind: 'salesorder' as const,
    id: 'o1',
    number: 'ORD-1',
    missing: false,
    settled: false,
    currency: 'kwd',
    totalMinor: 12_345,
  };
  expect(decideCharge(facts({ document: order, currency: 'kwd', amount: 12_345 }), rules).kind).toBe(
    'charge',
  );
  // A request resumed from Sent may find its order paid by this very charge: the same key gives the same outcome.
  const paid = { ...order, settled: true };
  expect(
    preflight(facts({ document: paid, currency: 'kwd', amount: 12_345 }), rules, { resuming: true }),
  ).toBeNull();
  expect(preflight(facts({ document: paid, currency: 'kwd', amount: 12_345 }), rules)).toEqual({
    problem: 'The order ORD-1 is paid or closed already.',
  });
});
