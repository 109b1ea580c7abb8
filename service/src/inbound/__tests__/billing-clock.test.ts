/**
 * Stripe Billing into Dynamics 365 over both emulators: a subscription of two items on a test clock, renewed
 * twice, and a yearly one; every event (shuffled, some twice) through the handlers under the pipeline's
 * per-object ordering. The subscription rows
 * carry their items and MRR; each invoice its lines with their periods and the PaymentIntent that paid it.
 */
import type Stripe from 'stripe';
import { OrderedDelivery, shuffled } from './harness';
import { dataverseEmulatorForFile, handlersOverStripeEmulator, option, stripeEmulatorForFile } from './setup';

const stripeSide = stripeEmulatorForFile();
const dataverseSide = dataverseEmulatorForFile();

const JAN_1 = Date.UTC(2026, 0, 1) / 1000;
const FEB_1 = Date.UTC(2026, 1, 1) / 1000;
const MAR_1 = Date.UTC(2026, 2, 1) / 1000;
const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

async function deliverAll(from: number): Promise<void> {
  // Through the pipeline's ordering rule, as the service applies them: an older event never overwrites a newer.
  const sync = await OrderedDelivery.open(
    handlersOverStripeEmulator(stripeSide.emulator, dataverseSide.client),
  );
  // The catalog's own events (products, prices) are the catalog tests' matter.
  const events = (stripeSide.emulator.events as unknown as Stripe.Event[])
    .slice(from)
    .filter((event) => !/^(product|price)\./.test(event.type));
  for (const event of shuffled([...events, ...shuffled(events, 5).slice(0, 8)], 17))
    await sync.deliver(event);
}

/** A customer paying by card by default, as a subscription charges it. */
function payingCustomer(stripe: Stripe, name: string, extra: Stripe.CustomerCreateParams = {}) {
  return stripe.customers.create({
    name,
    payment_method: 'pm_card_visa',
    invoice_settings: { default_payment_method: 'pm_card_visa' },
    ...extra,
  });
}

async function price(stripe: Stripe, amount: number, interval: 'month' | 'year', name: string) {
  const product = await stripe.products.create({ name });
  return stripe.prices.create({
    product: product.id,
    unit_amount: amount,
    currency: 'usd',
    recurring: { interval },
  });
}

test('a subscription renewed twice by test clock: items, MRR, three invoices with their lines and payments', async () => {
  const stripe = stripeSide.emulator.client();
  const { client } = dataverseSide;
  const from = stripeSide.emulator.events.length;
  const seat = await price(stripe, 1500, 'month', 'Seat');
  const support = await price(stripe, 500, 'month', 'Support');
  const annual = await price(stripe, 12000, 'year', 'Annual plan');
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1 });
  const customer = await payingCustomer(stripe, 'Northwind', { test_clock: clock.id });
  const account = await client.create('accounts', { name: 'Northwind', stc_stripecustomerid: customer.id });
  const monthly = await stripe.subscriptions.create({
    customer: customer.id,
    items: [
      { price: seat.id, quantity: 2 },
      { price: support.id, quantity: 1 },
    ],
  });
  const yearly = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: annual.id }] });
  await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: FEB_1 + 7200 });
  await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: MAR_1 + 7200 });
  await deliverAll(from);

  expect(await client.retrieveByKey('stc_subscriptions', { stc_stripeid: monthly.id })).toMatchObject({
    stc_status: option('stc_subscriptionstatus', 'active'),
    stc_amount: 35,
    stc_monthlyrecurringrevenue: 35,
    stc_currentperiodstart: iso(MAR_1),
    _stc_customerid_value: account,
  });
  // A year's 120.00 is 10.00 a month.
  expect(await client.retrieveByKey('stc_subscriptions', { stc_stripeid: yearly.id })).toMatchObject({
    stc_monthlyrecurringrevenue: 10,
  });
  const subscriptionRow = await client.retrieveByKey('stc_subscriptions', { stc_stripeid: monthly.id });
  const items = await client.retrieveMultiple('stc_subscriptionitems', {
    filter: `_stc_subscriptionid_value eq ${String(subscriptionRow!.stc_subscriptionid)}`,
    orderBy: ['stc_unitamount desc'],
  });
  expect(
    items.map((item) => [
      item.stc_stripepriceid,
      item.stc_quantity,
      item.stc_unitamount,
      item.stc_amountperperiod,
    ]),
  ).toEqual([
    [seat.id, 2, 15, 30],
    [support.id, 1, 5, 5],
  ]);
  expect(items[0]).toMatchObject({
    stc_interval: 'month',
    stc_currentperiodend: expect.stringMatching(/^2026-04-01/),
  });

  const invoices = (await stripe.invoices.list({ subscription: monthly.id, limit: 10 })).data.reverse();
  expect(invoices).toHaveLength(3);
  for (const [i, stripeInvoice] of invoices.entries()) {
    const row = await client.retrieveByKey('stc_stripeinvoices', { stc_stripeid: stripeInvoice.id });
    const payment = (await stripe.invoicePayments.list({ invoice: stripeInvoice.id })).data[0];
    const start = [JAN_1, FEB_1, MAR_1][i];
    const end = [FEB_1, MAR_1, Date.UTC(2026, 3, 1) / 1000][i];
    // The month billed, not Stripe's invoice period (the month before, for a renewal).
    expect(row).toMatchObject({
      stc_periodstart: iso(start),
      stc_periodend: iso(end),
      stc_total: 35,
      stc_status: option('stc_stripeinvoicestatus', 'paid'),
      stc_collectionstate: option('stc_invoicecollectionstate', 'paid'),
      stc_paymentintentid: payment.payment.payment_intent,
    });
    const lines = await client.retrieveMultiple('stc_stripeinvoicelines', {
      filter: `_stc_invoiceid_value eq ${String(row!.stc_stripeinvoiceid)}`,
      orderBy: ['stc_amount desc'],
    });
    expect(
      lines.map((line) => [line.stc_amount, line.stc_quantity, line.stc_proration, line.stc_periodstart]),
    ).toEqual([
      [30, 2, false, iso(start)],
      [5, 1, false, iso(start)],
    ]);
  }
});

test('a credit note refunding part of a paid invoice is a negative document linked to it, with its line', async () => {
  const stripe = stripeSide.emulator.client();
  const { client } = dataverseSide;
  const from = stripeSide.emulator.events.length;
  const seat = await price(stripe, 3000, 'month', 'Seat');
  const customer = await payingCustomer(stripe, 'Litware');
  const subscription = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: seat.id }],
  });
  const invoiceId = String(subscription.latest_invoice);
  const [line] = (await stripe.invoices.listLineItems(invoiceId)).data;
  const credit = await stripe.creditNotes.create({
    invoice: invoiceId,
    lines: [{ type: 'invoice_line_item', invoice_line_item: line.id, amount: 1500 }],
    refund_amount: 1500,
    reason: 'order_change',
  });
  await deliverAll(from);

  const invoiceRow = await client.retrieveByKey('stc_stripeinvoices', { stc_stripeid: invoiceId });
  const creditRow = await client.retrieveByKey('stc_stripeinvoices', { stc_stripeid: credit.id });
  expect(invoiceRow).toMatchObject({
    stc_documenttype: option('stc_stripedocumenttype', 'invoice'),
    stc_total: 30,
  });
  expect(creditRow).toMatchObject({
    stc_documenttype: option('stc_stripedocumenttype', 'credit_note'),
    stc_status: option('stc_stripeinvoicestatus', 'issued'),
    stc_total: -15,
    stc_creditreason: 'order_change',
    _stc_creditedinvoiceid_value: invoiceRow!.stc_stripeinvoiceid,
  });
  const lines = await client.retrieveMultiple('stc_stripeinvoicelines', {
    filter: `_stc_invoiceid_value eq ${String(creditRow!.stc_stripeinvoiceid)}`,
  });
  expect(lines.map((line) => line.stc_amount)).toEqual([-15]);
  // The refund the credit note made shows on the payment.
  const payment = await client.retrieveByKey('stc_payments', {
    stc_stripeid: String(invoiceRow!.stc_paymentintentid),
  });
  expect(payment).toMatchObject({
    stc_amountrefunded: 15,
    stc_status: option('stc_paymentstatus', 'partially_refunded'),
  });
});

test('a subscription of twelve items, its event carrying the first ten as Stripe sends it: the amount of all twelve', async () => {
  const stripe = stripeSide.emulator.client();
  const { client } = dataverseSide;
  const prices = [];
  for (let n = 1; n <= 12; n++) prices.push(await price(stripe, 100, 'month', `Module ${n}`));
  const customer = await payingCustomer(stripe, 'Litware');
  const from = stripeSide.emulator.events.length;
  const subscription = await stripe.subscriptions.create({
    customer: customer.id,
    items: prices.map((p) => ({ price: p.id })),
  });
  const created = structuredClone(
    (stripeSide.emulator.events as unknown as Stripe.Event[])
      .slice(from)
      .find((e) => e.type === 'customer.subscription.created')!,
  );
  const items = (created.data.object as Stripe.Subscription).items;
  expect(items.data).toHaveLength(12);
  items.data = items.data.slice(0, 10);
  items.has_more = true;
  const sync = await OrderedDelivery.open(
    handlersOverStripeEmulator(stripeSide.emulator, dataverseSide.client),
  );
  expect(await sync.deliver(created)).toBe('applied');

  const row = await client.retrieveByKey('stc_subscriptions', { stc_stripeid: subscription.id });
  expect(row).toMatchObject({ stc_amount: 12 });
  const written = await client.retrieveMultiple('stc_subscriptionitems', {
    filter: `_stc_subscriptionid_value eq ${String(row!.stc_subscriptionid)}`,
    select: ['stc_stripeid'],
  });
  expect(written).toHaveLength(12);
});

test("a new subscription's first invoice worked before its subscription's and customer's rows is linked to both once they are", async () => {
  const stripe = stripeSide.emulator.client();
  const { client } = dataverseSide;
  const seat = await price(stripe, 2500, 'month', 'Seat');
  const from = stripeSide.emulator.events.length;
  const customer = await payingCustomer(stripe, 'Alpine Ski House');
  const subscription = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: seat.id }],
  });
  const events = (stripeSide.emulator.events as unknown as Stripe.Event[]).slice(from);
  const sync = await OrderedDelivery.open(
    handlersOverStripeEmulator(stripeSide.emulator, dataverseSide.client),
  );
  // The invoice's events first, then the customer's and the subscription's, as parallel workers may.
  const first = (prefix: string) => events.filter((e) => e.type.startsWith(prefix));
  for (const event of [
    ...first('invoice.'),
    ...first('customer.created'),
    ...first('customer.subscription.'),
  ])
    await sync.deliver(event);

  const invoice = await client.retrieveByKey('stc_stripeinvoices', {
    stc_stripeid: String(subscription.latest_invoice),
  });
  const subscriptionRow = await client.retrieveByKey('stc_subscriptions', { stc_stripeid: subscription.id });
  const account = await client.retrieveByKey('accounts', { stc_stripecustomerid: customer.id });
  expect(invoice).toMatchObject({
    stc_stripesubscriptionid: subscription.id,
    _stc_subscriptionid_value: subscriptionRow!.stc_subscriptionid,
    _stc_customerid_value: account!.accountid,
  });
});

test("an item removed from a subscription has its row deactivated; the subscription's other items stay active", async () => {
  const stripe = stripeSide.emulator.client();
  const { client } = dataverseSide;
  const from = stripeSide.emulator.events.length;
  const seat = await price(stripe, 1500, 'month', 'Seat');
  const support = await price(stripe, 500, 'month', 'Support');
  const customer = await payingCustomer(stripe, 'Fabrikam');
  const subscription = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: seat.id, quantity: 3 }, { price: support.id }],
  });
  const supportItem = subscription.items.data.find((item) => item.price.id === support.id)!;
  await stripe.subscriptions.update(subscription.id, {
    items: [{ id: supportItem.id, deleted: true }],
    proration_behavior: 'none',
  });
  await deliverAll(from);

  const row = await client.retrieveByKey('stc_subscriptions', { stc_stripeid: subscription.id });
  expect(row).toMatchObject({ stc_amount: 45 });
  const items = await client.retrieveMultiple('stc_subscriptionitems', {
    filter: `_stc_subscriptionid_value eq ${String(row!.stc_subscriptionid)}`,
    select: ['stc_stripepriceid', 'statecode'],
  });
  expect(
    items.map((item) => [item.stc_stripepriceid, item.statecode]).sort((a, b) => Number(a[1]) - Number(b[1])),
  ).toEqual([
    [seat.id, 0],
    [support.id, 1],
  ]);
});
