/**
 * Order-to-cash over both emulators: Checkout Sessions made with the official SDK and paid on the Stripe
 * emulator's hosted page, their events (shuffled and duplicated) through the handlers, and the orders,
 * lines and paid invoices Dataverse then holds, with the totals Dynamics 365 computes from the lines.
 */
import type Stripe from 'stripe';
import { SyncIssueKind, SyncIssueStatus } from '@stc/solution/tables';
import type { Row } from '../../dataverse/types';
import { createHandlerRouter } from '../../pipeline/routing';
import { createSyncHandlers } from '../../handlers';
import { defaultMappings, OrderedDelivery, shuffled, SyncHarness } from './harness';
import { StripeStub } from './stripe-stub';
import { dataverseEmulatorForFile, handlersOverStripeEmulator, option, stripeEmulatorForFile } from './setup';

const stripeSide = stripeEmulatorForFile();
const dataverseSide = dataverseEmulatorForFile();

function pay(url: string, cardNumber = '4242424242424242'): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ card_number: cardNumber }),
    redirect: 'manual',
  });
}

/** Every event the Stripe emulator emitted from `from` on, shuffled, five of them twice. */
async function deliverAll(from = 0): Promise<void> {
  const sync = handlersOverStripeEmulator(stripeSide.emulator, dataverseSide.client);
  const events = (stripeSide.emulator.events as unknown as Stripe.Event[]).slice(from);
  for (const event of shuffled([...events, ...shuffled(events, 3).slice(0, 5)], 11))
    await sync.deliver(event);
}

async function checkout(
  params: Stripe.Checkout.SessionCreateParams,
  cardNumber?: string,
): Promise<Stripe.Checkout.Session> {
  const stripe = stripeSide.emulator.client();
  const session = await stripe.checkout.sessions.create(params);
  expect((await pay(session.url!, cardNumber)).status).toBe(303);
  return stripe.checkout.sessions.retrieve(session.id);
}

const inline = (currency: string, name: string, amount: number, quantity: number) => ({
  price_data: { currency, unit_amount: amount, product_data: { name } },
  quantity,
});

/** A catalog product in Dataverse, numbered as the catalog sync numbers it, with its unit. */
async function catalogProduct(number: string, name: string): Promise<{ product: string; unit: string }> {
  const { client } = dataverseSide;
  const schedule = await client.create('uomschedules', { name: 'Default Unit', baseuomname: 'Primary Unit' });
  const unit = await client.create('uoms', {
    name: 'Primary Unit',
    quantity: 1,
    'uomscheduleid@odata.bind': `/uomschedules(${schedule})`,
  });
  const product = await client.create('products', {
    name,
    productnumber: number,
    'defaultuomid@odata.bind': `/uoms(${unit})`,
    'defaultuomscheduleid@odata.bind': `/uomschedules(${schedule})`,
  });
  return { product, unit };
}

const invoiceOf = (sessionId: string) =>
  dataverseSide.client.retrieveByKey('invoices', { stc_stripeid: sessionId });
const orderOf = (sessionId: string) =>
  dataverseSide.client.retrieveByKey('salesorders', { stc_stripeid: sessionId });
const linesOf = (set: string, parent: string, id: string) =>
  dataverseSide.client.retrieveMultiple(set, {
    filter: `_${parent}_value eq ${id}`,
    orderBy: ['lineitemnumber asc'],
  });

test('a paid checkout of three lines over two products becomes one order with three lines and a paid invoice', async () => {
  const stripe = stripeSide.emulator.client();
  const { client } = dataverseSide;
  const starter = await stripe.products.create({ name: 'Starter kit' });
  const monthly = await stripe.prices.create({ product: starter.id, unit_amount: 1999, currency: 'usd' });
  const yearly = await stripe.prices.create({ product: starter.id, unit_amount: 19900, currency: 'usd' });
  const catalog = await catalogProduct(starter.id, 'Starter kit');
  const customer = await stripe.customers.create({ name: 'Fabrikam', email: 'ap@fabrikam.example' });
  const account = await client.create('accounts', { name: 'Fabrikam', stc_stripecustomerid: customer.id });
  const from = stripeSide.emulator.events.length;

  const session = await checkout({
    mode: 'payment',
    success_url: 'https://shop.example/done',
    customer: customer.id,
    client_reference_id: 'web-1001',
    line_items: [
      { price: monthly.id, quantity: 2 },
      inline('usd', 'Gift wrap', 350, 1),
      { price: yearly.id, quantity: 1 },
    ],
  });
  expect(session.amount_total).toBe(2 * 1999 + 350 + 19900);
  await deliverAll(from);

  const order = await orderOf(session.id);
  expect(order).toMatchObject({
    name: 'web-1001 · Stripe checkout 242.48 USD',
    stc_stripepaymentid: session.payment_intent,
    stc_paymentstatus: option('stc_documentpaymentstatus', 'paid'),
    stc_amountpaid: 242.48,
    totalamount: 242.48,
    totallineitemamount: 242.48,
    _customerid_value: account,
  });
  const lines = await linesOf('salesorderdetails', 'salesorderid', String(order!.salesorderid));
  expect(
    lines.map((line) => [line.lineitemnumber, line.quantity, line.priceperunit, line.extendedamount]),
  ).toEqual([
    [1, 2, 19.99, 39.98],
    [2, 1, 3.5, 3.5],
    [3, 1, 199, 199],
  ]);
  // The catalog's product with its unit; the product Dynamics 365 does not have is written in.
  expect(lines[0]).toMatchObject({
    _productid_value: catalog.product,
    _uomid_value: catalog.unit,
    isproductoverridden: false,
  });
  expect(lines[1]).toMatchObject({
    _productid_value: null,
    isproductoverridden: true,
    productdescription: 'Gift wrap',
  });

  const payment = await client.retrieveByKey('stc_payments', {
    stc_stripeid: String(session.payment_intent),
  });
  expect(payment).toMatchObject({ _stc_salesorderid_value: order!.salesorderid, stc_amount: 242.48 });

  const invoice = await client.retrieveByKey('invoices', { stc_stripeid: session.id });
  expect(invoice).toMatchObject({
    statecode: 2,
    statuscode: 100001,
    totalamount: 242.48,
    _salesorderid_value: order!.salesorderid,
    _customerid_value: account,
  });
  expect(await linesOf('invoicedetails', 'invoiceid', String(invoice!.invoiceid))).toHaveLength(3);
  expect(await client.retrieveMultiple('salesorders')).toHaveLength(1);
});

test.each([
  ['jpy', [inline('jpy', 'Tea', 1200, 3), inline('jpy', 'Bag', 55, 1)], 3655],
  ['kwd', [inline('kwd', 'Dates', 1005, 2), inline('kwd', 'Card', 3, 1)], 2.013],
  ['usd', [inline('usd', 'Sticker', 1, 7), inline('usd', 'Cable', 250, 2)], 5.07],
])('a %s order totals exactly what Stripe charged', async (currency, lineItems, total) => {
  const from = stripeSide.emulator.events.length;
  const session = await checkout({
    mode: 'payment',
    success_url: 'https://shop.example/done',
    line_items: lineItems,
  });
  await deliverAll(from);
  expect(await orderOf(session.id)).toMatchObject({ totalamount: total, stc_amountpaid: total });
  expect(await dataverseSide.client.retrieveByKey('invoices', { stc_stripeid: session.id })).toMatchObject({
    totalamount: total,
  });
});

test('a payer whose e-mail two contacts share gets an order without customer and a review item', async () => {
  const { client } = dataverseSide;
  const from = stripeSide.emulator.events.length;
  for (const lastname of ['Doe', 'Roe'])
    await client.create('contacts', { lastname, emailaddress1: 'sam@example.com' });
  await client.create('accounts', { name: 'Solo', emailaddress1: 'solo@example.com' });
  const shared = await checkout({
    mode: 'payment',
    success_url: 'https://shop.example/done',
    customer_email: 'sam@example.com',
    line_items: [inline('usd', 'Mug', 1200, 1)],
  });
  const solo = await checkout({
    mode: 'payment',
    success_url: 'https://shop.example/done',
    customer_email: 'solo@example.com',
    line_items: [inline('usd', 'Mug', 1200, 1)],
  });
  await deliverAll(from);

  expect(await orderOf(shared.id)).toMatchObject({ _customerid_value: null, totalamount: 12 });
  const review = await client.retrieveByKey('stc_syncissues', { stc_issuekey: `review:order:${shared.id}` });
  expect(review).toMatchObject({
    stc_kind: SyncIssueKind.customer_review,
    stc_status: SyncIssueStatus.open,
    stc_errorcode: 'customer_ambiguous',
    stc_stripeobjectid: shared.id,
  });
  expect(String(review!.stc_errormessage)).toContain(
    "2 accounts or contacts have the payer's e-mail sam@example.com",
  );
  const soloAccount = (await client.retrieveMultiple('accounts', { filter: "name eq 'Solo'" }))[0];
  expect(await orderOf(solo.id)).toMatchObject({ _customerid_value: soloAccount.accountid });
  expect(
    await client.retrieveByKey('stc_syncissues', { stc_issuekey: `review:order:${solo.id}` }),
  ).toBeNull();
});

/**
 * Runs `work` while Dataverse answers the writes of `entitySet` (invoices by default) that `refusal` gives an
 * error for with that error; the other writes go through.
 */
async function whileWritesRefused(
  refusal: (row: Row, options?: { mode?: string }) => Error | undefined,
  work: () => Promise<void>,
  refusedSet = 'invoices',
): Promise<void> {
  const { client } = dataverseSide;
  const upsert = client.upsertByKey.bind(client);
  client.upsertByKey = async (entitySet, key, row, options) => {
    const refused = entitySet === refusedSet ? refusal(row, options) : undefined;
    if (refused) throw refused;
    return upsert(entitySet, key, row, options);
  };
  try {
    await work();
  } finally {
    client.upsertByKey = upsert;
  }
}

describe('a checkout paid by a hold (payment_intent_data.capture_method=manual)', () => {
  const held = (name: string) => ({
    mode: 'payment' as const,
    success_url: 'https://shop.example/done',
    line_items: [inline('usd', name, 4500, 2)],
    payment_intent_data: { capture_method: 'manual' as const },
  });
  const paid = (amount: number) => ({
    stc_paymentstatus: option('stc_documentpaymentstatus', 'paid'),
    stc_amountpaid: amount,
    stc_amountrefunded: 0,
  });

  /** A checkout paid by a hold, its events delivered: its order is written, unpaid. */
  async function heldOrder(name: string): Promise<Stripe.Checkout.Session> {
    const from = stripeSide.emulator.events.length;
    const session = await checkout(held(name));
    await deliverAll(from);
    return session;
  }
  /** The session's invoice: paid (closed), with its line, linked to the session's order. */
  async function expectPaidInvoice(sessionId: string, amountPaid: number) {
    const invoice = await invoiceOf(sessionId);
    expect(invoice).toMatchObject({
      ...paid(amountPaid),
      statecode: 2,
      statuscode: 100001,
      totalamount: 90,
      _salesorderid_value: (await orderOf(sessionId))!.salesorderid,
    });
    const lines = await linesOf('invoicedetails', 'invoiceid', String(invoice!.invoiceid));
    expect(lines.map((l) => [l.productdescription, l.quantity, l.priceperunit])).toEqual([
      [expect.stringMatching(/hire$/), 2, 45],
    ]);
  }

  test('makes an unpaid order and no invoice; once captured, the order is paid the amount captured and invoiced', async () => {
    const stripe = stripeSide.emulator.client();
    const from = stripeSide.emulator.events.length;
    const session = await checkout(held('Tent hire'));
    expect(session.payment_status).toBe('unpaid');
    await deliverAll(from);
    expect(await orderOf(session.id)).toMatchObject({
      stc_paymentstatus: option('stc_documentpaymentstatus', 'unpaid'),
      stc_amountpaid: 0,
      totalamount: 90,
    });
    expect(await invoiceOf(session.id)).toBeNull();

    const capture = stripeSide.emulator.events.length;
    await stripe.paymentIntents.capture(String(session.payment_intent), { amount_to_capture: 8000 });
    await deliverAll(capture);
    expect(await orderOf(session.id)).toMatchObject({ ...paid(80), totalamount: 90 });
    await expectPaidInvoice(session.id, 80);
  });

  test('captured before its events arrive, in any order: the order is paid and invoiced', async () => {
    const stripe = stripeSide.emulator.client();
    const from = stripeSide.emulator.events.length;
    const session = await checkout(held('Canoe hire'));
    await stripe.paymentIntents.capture(String(session.payment_intent));
    await deliverAll(from);
    expect(await orderOf(session.id)).toMatchObject(paid(90));
    await expectPaidInvoice(session.id, 90);
  });

  test("the capture's events applied before the session's: the order's write makes the invoice", async () => {
    const stripe = stripeSide.emulator.client();
    const from = stripeSide.emulator.events.length;
    const session = await checkout(held('Raft hire'));
    await stripe.paymentIntents.capture(String(session.payment_intent), { amount_to_capture: 7000 });
    const events = (stripeSide.emulator.events as unknown as Stripe.Event[]).slice(from);
    const isCheckout = (e: Stripe.Event) => e.type.startsWith('checkout.session.');
    const sync = handlersOverStripeEmulator(stripeSide.emulator, dataverseSide.client);
    for (const event of [...events.filter((e) => !isCheckout(e)), ...events.filter(isCheckout)])
      await sync.deliver(event);
    expect(await orderOf(session.id)).toMatchObject(paid(70));
    await expectPaidInvoice(session.id, 70);
  });

  test("refunded a few seconds after the capture, the refund's events applied first: invoiced all the same", async () => {
    const stripe = stripeSide.emulator.client();
    const session = await heldOrder('Sled hire');
    const capture = stripeSide.emulator.events.length;
    await stripe.paymentIntents.capture(String(session.payment_intent));
    const refund = stripeSide.emulator.events.length;
    await stripe.refunds.create({ payment_intent: String(session.payment_intent), amount: 1000 });
    const events = stripeSide.emulator.events as unknown as Stripe.Event[];
    // The refund five seconds later: its events (charge.refunded is the payment's) supersede the capture's.
    const later = events.slice(refund).map((e) => ({ ...e, created: e.created + 5 }));
    const ordered = await OrderedDelivery.open(
      handlersOverStripeEmulator(stripeSide.emulator, dataverseSide.client),
    );
    const outcomes = [];
    for (const event of [...later, ...events.slice(capture, refund)])
      outcomes.push(await ordered.deliver(event));
    await ordered.close();
    expect(outcomes).toContain('superseded');
    expect(await orderOf(session.id)).toMatchObject({
      stc_paymentstatus: option('stc_documentpaymentstatus', 'partially_refunded'),
      stc_amountpaid: 90,
      stc_amountrefunded: 10,
    });
    expect(await invoiceOf(session.id)).toMatchObject({
      stc_paymentstatus: option('stc_documentpaymentstatus', 'partially_refunded'),
      stc_amountpaid: 90,
      statecode: 2,
    });
  });

  test('an invoice left open by a write that failed is finished when the events come again', async () => {
    const stripe = stripeSide.emulator.client();
    const session = await heldOrder('Bike hire');
    const capture = stripeSide.emulator.events.length;
    await stripe.paymentIntents.capture(String(session.payment_intent));
    // Marking the invoice paid fails once (Dataverse unavailable): the event fails, to be retried.
    let failures = 0;
    await whileWritesRefused(
      (row) =>
        row.statecode === 2 && failures++ === 0
          ? Object.assign(new Error('Service Unavailable'), { status: 503 })
          : undefined,
      async () => {
        await expect(deliverAll(capture)).rejects.toThrow('Service Unavailable');
        expect(await invoiceOf(session.id)).toMatchObject({ statecode: 0 });
        await deliverAll(capture);
      },
    );
    await expectPaidInvoice(session.id, 90);
  });

  test("an invoice that cannot be made does not keep a refund's row from being written", async () => {
    const stripe = stripeSide.emulator.client();
    const { client } = dataverseSide;
    const session = await heldOrder('Board hire');
    await stripe.paymentIntents.capture(String(session.payment_intent));
    const refunded = await stripe.refunds.create({
      payment_intent: String(session.payment_intent),
      amount: 1000,
    });
    const refundCreated = (stripeSide.emulator.events as unknown as Stripe.Event[]).find(
      (e) => e.type === 'refund.created' && (e.data.object as { id: string }).id === refunded.id,
    )!;
    // Making the invoice (its first write) is refused; showing the payment on documents is not.
    await whileWritesRefused(
      (_row, options) =>
        options?.mode === 'createOnly'
          ? Object.assign(new Error('Invoice refused'), { status: 400 })
          : undefined,
      async () => {
        const sync = handlersOverStripeEmulator(stripeSide.emulator, client);
        await expect(sync.deliver(refundCreated)).rejects.toThrow('Invoice refused');
      },
    );
    expect(await client.retrieveByKey('stc_refunds', { stc_stripeid: refunded.id })).toMatchObject({
      stc_amount: 10,
    });
  });

  test("an invoice a user cancelled is left cancelled by a later refund and by its session's events again", async () => {
    const stripe = stripeSide.emulator.client();
    const { client } = dataverseSide;
    const session = await heldOrder('Skate hire');
    const capture = stripeSide.emulator.events.length;
    await stripe.paymentIntents.capture(String(session.payment_intent));
    await deliverAll(capture);
    const invoice = (await invoiceOf(session.id))!;
    await client.update('invoices', String(invoice.invoiceid), { statecode: 3, statuscode: 3 });
    const refund = stripeSide.emulator.events.length;
    await stripe.refunds.create({ payment_intent: String(session.payment_intent), amount: 1000 });
    await deliverAll(refund);
    expect(await invoiceOf(session.id)).toMatchObject({ statecode: 3, statuscode: 3 });
    expect(await orderOf(session.id)).toMatchObject({
      stc_paymentstatus: option('stc_documentpaymentstatus', 'partially_refunded'),
      stc_amountrefunded: 10,
    });
    // The session's events again (a dead letter queued again, a replay): the order is written, not the invoice.
    const completed = (stripeSide.emulator.events as unknown as Stripe.Event[]).filter(
      (e) => e.type === 'checkout.session.completed' && (e.data.object as { id: string }).id === session.id,
    );
    const sync = handlersOverStripeEmulator(stripeSide.emulator, client);
    for (const event of completed) await sync.deliver(event);
    expect(await invoiceOf(session.id)).toMatchObject({ statecode: 3, statuscode: 3 });
  });

  test('released: the order stays unpaid and gets no invoice', async () => {
    const stripe = stripeSide.emulator.client();
    const session = await heldOrder('Kayak hire');
    const release = stripeSide.emulator.events.length;
    await stripe.paymentIntents.cancel(String(session.payment_intent));
    await deliverAll(release);
    expect(await orderOf(session.id)).toMatchObject({
      stc_paymentstatus: option('stc_documentpaymentstatus', 'unpaid'),
      stc_amountpaid: 0,
    });
    expect(await invoiceOf(session.id)).toBeNull();
  });
});

/** A card checkout of one line, paid, its events delivered: its order and paid invoice are written. */
async function paidCheckout(name: string, amount: number): Promise<Stripe.Checkout.Session> {
  const from = stripeSide.emulator.events.length;
  const session = await checkout({
    mode: 'payment',
    success_url: 'https://shop.example/done',
    line_items: [inline('usd', name, amount, 1)],
  });
  await deliverAll(from);
  return session;
}

/** A refund of `amount` (minor units) of the session's payment; returns where its events start. */
async function refundOf(session: Stripe.Checkout.Session, amount: number): Promise<number> {
  const from = stripeSide.emulator.events.length;
  await stripeSide.emulator
    .client()
    .refunds.create({ payment_intent: String(session.payment_intent), amount });
  return from;
}

const badRequest = (message: string) => () => Object.assign(new Error(message), { status: 400 });

test('a paid invoice that refuses edits, as a closed record may, keeps no refund from being applied', async () => {
  const session = await paidCheckout('Kettle', 3000);
  expect(await invoiceOf(session.id)).toMatchObject({ statecode: 2 });
  const refunded = await refundOf(session, 500);
  // Every edit of the paid invoice refused by a business rule (400), as Dynamics 365 may refuse a closed one.
  await whileWritesRefused(badRequest('The invoice is closed and cannot be edited'), () =>
    deliverAll(refunded),
  );
  expect(await orderOf(session.id)).toMatchObject({
    stc_paymentstatus: option('stc_documentpaymentstatus', 'partially_refunded'),
    stc_amountrefunded: 5,
  });
  expect(await invoiceOf(session.id)).toMatchObject({
    statecode: 2,
    stc_paymentstatus: option('stc_documentpaymentstatus', 'paid'),
  });
  expect(
    await dataverseSide.client.retrieveByKey('stc_payments', {
      stc_stripeid: String(session.payment_intent),
    }),
  ).toMatchObject({ stc_amountrefunded: 5 });
});

test("an open order's refusal of the same edit is not passed over: the refund's event fails, to be retried", async () => {
  const session = await paidCheckout('Toaster', 2000);
  expect(await orderOf(session.id)).toMatchObject({ statecode: 0 });
  const refunded = await refundOf(session, 500);
  await whileWritesRefused(
    badRequest('A business rule refused the edit'),
    () => expect(deliverAll(refunded)).rejects.toThrow('A business rule refused the edit'),
    'salesorders',
  );
});

test("a session's events delivered again after its order was canceled: the closed order's refusal fails nothing", async () => {
  const from = stripeSide.emulator.events.length;
  const session = await paidCheckout('Teapot', 2500);
  const order = await orderOf(session.id);
  await dataverseSide.client.update('salesorders', String(order!.salesorderid), {
    statecode: 2,
    statuscode: 4,
  });
  // Dynamics 365 refuses edits of a closed order (a business rule, 400).
  await whileWritesRefused(
    (row) => (row ? badRequest('Cannot perform the action because the record is read only')() : undefined),
    () => deliverAll(from),
    'salesorders',
  );
  expect(await orderOf(session.id)).toMatchObject({ statecode: 2, stc_amountpaid: 25 });
});

test('an abandoned session that expires makes no order', async () => {
  const stripe = stripeSide.emulator.client();
  const from = stripeSide.emulator.events.length;
  const abandoned = await stripe.checkout.sessions.create({
    mode: 'payment',
    success_url: 'https://shop.example/done',
    line_items: [inline('usd', 'Mug', 1200, 1)],
  });
  await stripe.checkout.sessions.expire(abandoned.id);
  await deliverAll(from);
  expect(await orderOf(abandoned.id)).toBeNull();
  expect(await dataverseSide.client.retrieveMultiple('salesorders')).toHaveLength(0);
});

test('refunds and a dispute of the payment show on its order and invoice', async () => {
  const stripe = stripeSide.emulator.client();
  const from = stripeSide.emulator.events.length;
  const session = await checkout({
    mode: 'payment',
    success_url: 'https://shop.example/done',
    line_items: [inline('kwd', 'Dates', 10005, 2)],
  });
  await deliverAll(from);
  const paymentIntent = String(session.payment_intent);
  const refunded = stripeSide.emulator.events.length;
  await stripe.refunds.create({ payment_intent: paymentIntent, amount: 5001 });
  await deliverAll(refunded);
  const shown = {
    stc_paymentstatus: option('stc_documentpaymentstatus', 'partially_refunded'),
    stc_amountrefunded: 5.001,
  };
  expect(await orderOf(session.id)).toMatchObject({ ...shown, totalamount: 20.01 });
  expect(await dataverseSide.client.retrieveByKey('invoices', { stc_stripeid: session.id })).toMatchObject(
    shown,
  );

  const rest = stripeSide.emulator.events.length;
  await stripe.refunds.create({ payment_intent: paymentIntent });
  await deliverAll(rest);
  expect(await orderOf(session.id)).toMatchObject({
    stc_paymentstatus: option('stc_documentpaymentstatus', 'refunded'),
    stc_amountrefunded: 20.01,
  });

  // Paid with Stripe's test card that is disputed after the payment.
  const disputedFrom = stripeSide.emulator.events.length;
  const disputed = await checkout(
    {
      mode: 'payment',
      success_url: 'https://shop.example/done',
      line_items: [inline('usd', 'Lamp', 4500, 1)],
    },
    '4000000000000259',
  );
  await deliverAll(disputedFrom);
  expect(await orderOf(disputed.id)).toMatchObject({
    stc_paymentstatus: option('stc_documentpaymentstatus', 'disputed'),
    stc_amountpaid: 45,
  });
});

describe('orders of payments made without a Checkout Session (ORDERS_FROM_PAYMENTS=true)', () => {
  /** The payments and orders handlers as the service builds them with the setting on. */
  async function deliverWithPaymentOrders(from: number): Promise<void> {
    const harness = handlersOverStripeEmulator(stripeSide.emulator, dataverseSide.client);
    const router = createHandlerRouter(
      createSyncHandlers({ mappings: defaultMappings, ordersFromPayments: true }),
    );
    const events = (stripeSide.emulator.events as unknown as Stripe.Event[]).slice(from);
    for (const event of [...events, ...events.slice(0, 3)]) {
      const handler = router.stripe(event.type);
      if (handler) await handler.handle(event, harness.context);
    }
  }

  test('a payment by API becomes an order of one written-in line; a checkout’s payment or an order’s makes none', async () => {
    const stripe = stripeSide.emulator.client();
    const { client } = dataverseSide;
    const from = stripeSide.emulator.events.length;
    const customer = await stripe.customers.create({ name: 'Wide World Importers' });
    const account = await client.create('accounts', {
      name: 'Wide World Importers',
      stc_stripecustomerid: customer.id,
    });
    const byPhone = await stripe.paymentIntents.create({
      amount: 4599,
      currency: 'usd',
      customer: customer.id,
      description: 'Phone order 7',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const forOrder = await stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      metadata: { order_number: 'ORD-77' },
    });
    const session = await checkout({
      mode: 'payment',
      success_url: 'https://shop.example/done',
      line_items: [inline('usd', 'Mug', 1200, 1)],
    });
    await deliverWithPaymentOrders(from);

    const order = await orderOf(byPhone.id);
    expect(order).toMatchObject({
      name: 'Phone order 7 · 45.99 USD',
      stc_paymentstatus: option('stc_documentpaymentstatus', 'paid'),
      totalamount: 45.99,
      _customerid_value: account,
    });
    const lines = await linesOf('salesorderdetails', 'salesorderid', String(order!.salesorderid));
    expect(lines).toMatchObject([
      { isproductoverridden: true, productdescription: 'Phone order 7', quantity: 1, extendedamount: 45.99 },
    ]);
    expect(await client.retrieveByKey('stc_payments', { stc_stripeid: byPhone.id })).toMatchObject({
      _stc_salesorderid_value: order!.salesorderid,
    });
    expect(await orderOf(forOrder.id)).toBeNull();
    expect(await orderOf(String(session.payment_intent))).toBeNull();
    expect(await orderOf(session.id)).toMatchObject({ totalamount: 12 });
    expect(await client.retrieveMultiple('salesorders')).toHaveLength(2);
  });

  test("refunded seconds later, the refund's events superseding the payment's: the order is made all the same", async () => {
    const stripe = stripeSide.emulator.client();
    const from = stripeSide.emulator.events.length;
    const paid = await stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      description: 'Phone order 9',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const refund = stripeSide.emulator.events.length;
    await stripe.refunds.create({ payment_intent: paid.id, amount: 500 });
    const events = stripeSide.emulator.events as unknown as Stripe.Event[];
    const later = events.slice(refund).map((e) => ({ ...e, created: e.created + 5 }));
    const ordered = await OrderedDelivery.open(
      new SyncHarness(
        Object.assign(new StripeStub(), { stripeFor: () => stripe }),
        dataverseSide.client,
        {},
        { ordersFromPayments: true },
      ),
    );
    const outcomes = [];
    for (const event of [...later, ...events.slice(from, refund)])
      outcomes.push(await ordered.deliver(event));
    await ordered.close();
    expect(outcomes).toContain('superseded');
    expect(await orderOf(paid.id)).toMatchObject({
      name: 'Phone order 9 · 30.00 USD',
      totalamount: 30,
      stc_paymentstatus: option('stc_documentpaymentstatus', 'partially_refunded'),
      stc_amountrefunded: 5,
    });
  });

  test("a subscription's invoice payment makes no order: the invoice's row is its document", async () => {
    const stripe = stripeSide.emulator.client();
    const product = await stripe.products.create({ name: 'Plan' });
    const plan = await stripe.prices.create({
      product: product.id,
      unit_amount: 3000,
      currency: 'usd',
      recurring: { interval: 'month' },
    });
    // The catalog's events are the catalog tests' matter.
    const from = stripeSide.emulator.events.length;
    const customer = await stripe.customers.create({
      name: 'Proseware',
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: plan.id }],
    });
    const invoice = await stripe.invoices.retrieve(String(subscription.latest_invoice), {
      expand: ['payments.data.payment.payment_intent'],
    });
    const paidBy = invoice.payments!.data[0].payment.payment_intent as Stripe.PaymentIntent;
    expect(paidBy.status).toBe('succeeded');
    await deliverWithPaymentOrders(from);

    expect(
      await dataverseSide.client.retrieveByKey('stc_stripeinvoices', { stc_stripeid: invoice.id }),
    ).not.toBeNull();
    expect(
      await dataverseSide.client.retrieveByKey('stc_payments', { stc_stripeid: paidBy.id }),
    ).not.toBeNull();
    expect(await orderOf(paidBy.id)).toBeNull();
  });

  test('without the setting, a payment by API makes no order', async () => {
    const stripe = stripeSide.emulator.client();
    const from = stripeSide.emulator.events.length;
    const paid = await stripe.paymentIntents.create({
      amount: 700,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    await deliverAll(from);
    expect(await orderOf(paid.id)).toBeNull();
  });
});
