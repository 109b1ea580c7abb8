/**
 * Payment links over both emulators: a user's request row on a Dataverse order or invoice (through the Web
 * API, delivered by the emulator's webhook step) becomes a Stripe Checkout Session of its lines; paying it on
 * the Stripe emulator's hosted page and delivering the events marks that same document paid and the request
 * Paid. Refusals (role, paid order, order-level discount) and repeated or resumed deliveries. A quote's page,
 * once paid, makes one order of the quote (whatever the deliveries) and wins the quote with WinQuote.
 */
import type Stripe from 'stripe';
import { webhookSteps } from '@stc/solution';
import {
  PaymentLinkRequestStatus as Status,
  PaymentStatus,
  QuoteStatecode,
  QuoteStatuscode,
  StripePaymentStatus,
} from '@stc/solution/tables';
import { dataverseEventType } from '../../../dataverse/change';
import { createSyncHandlers } from '../../../handlers';
import { createHandlerRouter } from '../../../pipeline';
import { createPaymentLinkRequestsHandler, createPaymentPageDocumentsHandler } from '..';
import type { DataverseChangeHandler } from '../../../pipeline/handler';
import { SyncHarness } from '../../../inbound/__tests__/harness';
import { StripeStub } from '../../../inbound/__tests__/stripe-stub';
import {
  afterAnotherAttempt,
  deliver,
  startWorld,
  testSettings,
  USERS,
  type World,
} from '../../refund-requests/__tests__/world';

const settings = testSettings();

let world: World;
let handler: DataverseChangeHandler;
const currencies: Record<string, string> = {};

beforeEach(async () => {
  world = await startWorld({ tables: ['stc_paymentlinkrequest'] });
  handler = createPaymentLinkRequestsHandler({ settings });
  for (const [code, precision] of [
    ['USD', 2],
    ['JPY', 0],
    ['KWD', 3],
  ] as const)
    currencies[code] = await world.client.create('transactioncurrencies', {
      currencyname: code,
      isocurrencycode: code,
      currencysymbol: code,
      currencyprecision: precision,
      exchangerate: 1,
    });
});
afterEach(() => world.close());

interface LineSpec {
  description: string;
  quantity: number;
  price: number;
  discount?: number;
  tax?: number;
  product?: string;
}

type Kind = 'quote' | 'salesorder' | 'invoice';

/** A quote, order or invoice made in Dynamics 365 (as a salesperson would), for an account, with its lines. */
async function document(
  kind: Kind,
  currency: string,
  lines: LineSpec[],
  extra: Record<string, unknown> = {},
): Promise<{ id: string; account: string; customer: Stripe.Customer }> {
  const { client } = world;
  const customer = await world.stripe.customers.create({ name: 'Fabrikam', email: 'ap@fabrikam.example' });
  const account = await client.create('accounts', { name: 'Fabrikam', stc_stripecustomerid: customer.id });
  const currencyBind = {
    'transactioncurrencyid@odata.bind': `/transactioncurrencies(${currencies[currency]})`,
  };
  const id = await client.create(`${kind}s`, {
    name: `Fabrikam spring ${kind}`,
    'customerid_account@odata.bind': `/accounts(${account})`,
    ...currencyBind,
    ...extra,
  });
  for (const [i, line] of lines.entries())
    await client.create(`${kind}details`, {
      [`${kind}id@odata.bind`]: `/${kind}s(${id})`,
      ...(line.product
        ? { 'productid@odata.bind': `/products(${line.product})`, isproductoverridden: false }
        : { isproductoverridden: true, productdescription: line.description }),
      quantity: line.quantity,
      priceperunit: line.price,
      manualdiscountamount: line.discount ?? 0,
      tax: line.tax ?? 0,
      lineitemnumber: i + 1,
      ...currencyBind,
    });
  return { id, account, customer };
}

/** A payment link request made by a user through the Web API, as the form's button does. */
async function requestLink(userId: string, kind: Kind, id: string): Promise<string> {
  const made = await world.asUser(userId, 'POST', 'stc_paymentlinkrequests', {
    stc_name: 'Payment page',
    [`stc_${kind}id@odata.bind`]: `/${kind}s(${id})`,
  });
  return made.id!;
}

const requestRow = (id: string) => world.dataverse.store.get('stc_paymentlinkrequests', id)!;

/** Pays on the hosted page as a payer would; without a success URL Stripe shows its own confirmation. */
async function pay(url: string): Promise<string> {
  const page = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ card_number: '4242424242424242' }),
    redirect: 'manual',
  });
  return page.text();
}

/**
 * Every Stripe event from `from` on, each delivered twice, through the Stripe → Dataverse handlers; `reordered`
 * delivers them newest first, then again in order.
 */
async function deliverStripeEvents(from: number, reordered = false): Promise<void> {
  const sync = new SyncHarness(
    Object.assign(new StripeStub(), { stripeFor: () => world.stripe }),
    world.client,
  );
  const events = (world.stripeEmulator.events as unknown as Stripe.Event[]).slice(from);
  const order = reordered ? [...events].reverse() : events;
  for (const event of [...order, ...events]) await sync.deliver(event);
}

/** An Active quote (made as a Draft, then activated as a salesperson does) with its lines. */
async function activeQuote(currency: string, lines: LineSpec[], extra: Record<string, unknown> = {}) {
  const quote = await document('quote', currency, lines, extra);
  await world.client.update('quotes', quote.id, {
    statecode: QuoteStatecode.Active,
    statuscode: QuoteStatuscode.InProgress_2,
  });
  return quote;
}

describe('a payment page for a quote', () => {
  it('carries the exact lines; paid, it makes one order of the quote, marked paid, and wins the quote', async () => {
    const { client } = world;
    const product = await client.create('products', { name: 'Starter kit', productnumber: 'SK-1' });
    const quote = await activeQuote(
      'USD',
      [
        { description: 'ignored for a catalog product', quantity: 2, price: 19.99, product },
        { description: 'Setup hours', quantity: 3, price: 10, discount: 5, tax: 1.25 },
      ],
      { freightamount: 4.5 },
    );
    const offered = await client.retrieve('quotes', quote.id);
    expect(offered).toMatchObject({ totalamount: 70.73, statecode: QuoteStatecode.Active });

    const id = await requestLink(USERS.requester.systemuserid, 'quote', quote.id);
    expect(await deliver(world, handler, id, 'Create')).toBe(1);
    const request = requestRow(id);
    expect(request).toMatchObject({ stc_status: Status.created, stc_failurereason: null });
    const session = await world.stripe.checkout.sessions.retrieve(String(request.stc_stripesessionid));
    expect(session).toMatchObject({
      mode: 'payment',
      currency: 'usd',
      amount_total: 7073,
      customer: quote.customer.id,
      client_reference_id: offered!.quotenumber,
      metadata: { d365_quoteid: quote.id, d365_paymentlinkrequestid: id },
    });
    const items = await world.stripe.checkout.sessions.listLineItems(session.id);
    expect(items.data.map((i) => [i.description, i.quantity, i.price?.unit_amount])).toEqual([
      ['Starter kit', 2, 1999],
      ['3 × Setup hours', 1, 2625],
      ['Freight', 1, 450],
    ]);
    // The request id is the idempotency key of the session.
    const asked = world.stripeEmulator.requests.filter((r) => r.path === '/v1/checkout/sessions');
    expect(asked.map((r) => r.idempotencyKey)).toEqual([id]);
    // An Active quote is read-only: the page's URL is on the request, and the quote is not written.
    expect(request.stc_url).toBe(session.url);
    expect((await client.retrieve('quotes', quote.id))!.modifiedon).toBe(offered!.modifiedon);

    const from = world.stripeEmulator.events.length;
    expect(await pay(session.url!)).toContain('Payment complete.');
    // Newest first, then in order, each twice: the quote is won once and the rest find it won.
    await deliverStripeEvents(from, true);
    await deliverStripeEvents(from);

    expect(await client.retrieve('quotes', quote.id)).toMatchObject({
      statecode: QuoteStatecode.Won,
      statuscode: QuoteStatuscode.Won,
    });
    const orders = await client.retrieveMultiple('salesorders', {
      select: [
        'salesorderid',
        '_quoteid_value',
        '_customerid_value',
        'stc_stripeid',
        'stc_paymentstatus',
        'stc_amountpaid',
        'totalamount',
      ],
    });
    expect(orders).toEqual([
      expect.objectContaining({
        _quoteid_value: quote.id,
        _customerid_value: quote.account,
        stc_stripeid: session.id,
        stc_paymentstatus: StripePaymentStatus.paid,
        stc_amountpaid: 70.73,
        totalamount: 70.73,
      }),
    ]);
    expect(requestRow(id).stc_status).toBe(Status.paid);
    const intent = (await world.stripe.checkout.sessions.retrieve(session.id)).payment_intent;
    const payment = await client.retrieveByKey('stc_payments', { stc_stripeid: String(intent) });
    expect(payment).toMatchObject({ _stc_salesorderid_value: orders[0].salesorderid, stc_amount: 70.73 });
  });

  it.each([
    ['JPY', [{ description: 'Consulting day', quantity: 3, price: 1500 }], 4500, 'jpy', 4500],
    [
      'KWD',
      [
        { description: 'Licence', quantity: 2, price: 1.23 },
        { description: 'Support', quantity: 1, price: 0.5 },
      ],
      2960,
      'kwd',
      2.96,
    ],
  ])(
    'charges a %s quote exactly and its order has the same total',
    async (code, lines, minor, currency, major) => {
      const quote = await activeQuote(code, lines);
      const id = await requestLink(USERS.approver.systemuserid, 'quote', quote.id);
      await deliver(world, handler, id, 'Create');
      const session = await world.stripe.checkout.sessions.retrieve(
        String(requestRow(id).stc_stripesessionid),
      );
      expect([session.currency, session.amount_total]).toEqual([currency, minor]);
      const from = world.stripeEmulator.events.length;
      expect(await pay(session.url!)).toContain('Payment complete.');
      await deliverStripeEvents(from);
      const [order] = await world.client.retrieveMultiple('salesorders', {
        select: ['_quoteid_value', 'totalamount', 'stc_amountpaid'],
      });
      expect(order).toMatchObject({ _quoteid_value: quote.id, totalamount: major, stc_amountpaid: major });
      expect((await world.client.retrieve('quotes', quote.id))!.statecode).toBe(QuoteStatecode.Won);
    },
  );

  it("makes the order for the quote's customer when the customer has no Stripe customer of its own", async () => {
    const { client } = world;
    const quote = await document('quote', 'USD', [{ description: 'Widget', quantity: 2, price: 10 }]);
    await client.update('accounts', quote.account, { stc_stripecustomerid: null });
    await client.update('quotes', quote.id, {
      statecode: QuoteStatecode.Active,
      statuscode: QuoteStatuscode.InProgress_2,
    });
    const id = await requestLink(USERS.requester.systemuserid, 'quote', quote.id);
    await deliver(world, handler, id, 'Create');
    const session = await world.stripe.checkout.sessions.retrieve(String(requestRow(id).stc_stripesessionid));
    expect(session.customer).toBeNull();
    const from = world.stripeEmulator.events.length;
    expect(await pay(session.url!)).toContain('Payment complete.');
    await deliverStripeEvents(from);
    const [order] = await client.retrieveMultiple('salesorders', {
      select: ['_customerid_value', '_quoteid_value', 'totalamount'],
    });
    expect(order).toMatchObject({
      _customerid_value: quote.account,
      _quoteid_value: quote.id,
      totalamount: 20,
    });
    // No review item asks an operator for the customer: the quote named it.
    expect(await client.retrieveMultiple('stc_syncissues', { select: ['stc_syncissueid'] })).toHaveLength(0);
  });

  it('that expires leaves the quote Active, makes no order, and the request says Expired', async () => {
    const quote = await activeQuote('USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
    const id = await requestLink(USERS.requester.systemuserid, 'quote', quote.id);
    await deliver(world, handler, id, 'Create');
    const from = world.stripeEmulator.events.length;
    await world.stripe.checkout.sessions.expire(String(requestRow(id).stc_stripesessionid));
    await deliverStripeEvents(from);
    expect(requestRow(id).stc_status).toBe(Status.expired);
    expect((await world.client.retrieve('quotes', quote.id))!.statecode).toBe(QuoteStatecode.Active);
    expect(await world.client.retrieveMultiple('salesorders', { select: ['salesorderid'] })).toHaveLength(0);
  });

  it.each([
    ['a draft', null, 'is a draft: only an Active quote can be paid; activate it, then ask again.'],
    ['won', 'win', 'is won already.'],
    ['closed', 'close', 'is closed (lost, canceled or revised).'],
  ])(
    'is refused for a quote that is %s, with the reason, and Stripe is asked nothing',
    async (_, how, reason) => {
      const quote = await document('quote', 'USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
      if (how === 'win') {
        await world.client.update('quotes', quote.id, { statecode: QuoteStatecode.Active, statuscode: 2 });
        await world.client.executeAction('WinQuote', {
          QuoteClose: { subject: 'Signed', 'quoteid@odata.bind': `/quotes(${quote.id})` },
          Status: QuoteStatuscode.Won,
        });
      } else if (how === 'close')
        // Canceled before it was offered (an Active quote is closed with CloseQuote instead).
        await world.client.update('quotes', quote.id, { statecode: QuoteStatecode.Closed, statuscode: 6 });
      const number = (await world.client.retrieve('quotes', quote.id))!.quotenumber;
      const id = await requestLink(USERS.requester.systemuserid, 'quote', quote.id);
      await deliver(world, handler, id, 'Create');
      expect(requestRow(id)).toMatchObject({
        stc_status: Status.rejected,
        stc_failurereason: `The quote ${number} ${reason}`,
      });
      expect((await world.stripe.checkout.sessions.list()).data).toHaveLength(0);
    },
  );

  it('is refused for a request that names a quote and an order', async () => {
    const quote = await activeQuote('USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
    const made = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_paymentlinkrequests', {
      stc_name: 'Payment page',
      'stc_quoteid@odata.bind': `/quotes(${quote.id})`,
      'stc_salesorderid@odata.bind': `/salesorders(${order.id})`,
    });
    await deliver(world, handler, made.id!, 'Create');
    expect(requestRow(made.id!)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: 'The request names a quote and an order: ask for one of them.',
    });
  });
});

describe('a payment page for an order', () => {
  it('is made with the exact lines, and paying it marks the same order paid and the request Paid', async () => {
    const { client } = world;
    const product = await client.create('products', { name: 'Starter kit', productnumber: 'SK-1' });
    const order = await document('salesorder', 'USD', [
      { description: 'ignored for a catalog product', quantity: 2, price: 19.99, product },
      { description: 'Gift wrap', quantity: 1, price: 3.5 },
      { description: 'Setup hours', quantity: 3, price: 10, discount: 5, tax: 1.25 },
    ]);
    const placed = await client.retrieve('salesorders', order.id);
    expect(placed).toMatchObject({ totalamount: 69.73 });

    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    expect(await deliver(world, handler, id, 'Create')).toBe(1);

    const request = requestRow(id);
    expect(request).toMatchObject({
      stc_status: Status.created,
      stc_failurereason: null,
      stc_livemode: false,
      _stc_requestedby_value: USERS.requester.systemuserid,
    });
    const session = await world.stripe.checkout.sessions.retrieve(String(request.stc_stripesessionid));
    expect(request.stc_url).toBe(session.url);
    expect(new Date(String(request.stc_expiresat)).getTime()).toBe(session.expires_at * 1000);
    expect(session).toMatchObject({
      mode: 'payment',
      currency: 'usd',
      amount_total: 6973,
      customer: order.customer.id,
      client_reference_id: placed!.ordernumber,
      metadata: { d365_salesorderid: order.id, d365_paymentlinkrequestid: id },
    });
    const items = await world.stripe.checkout.sessions.listLineItems(session.id);
    expect(items.data.map((i) => [i.description, i.quantity, i.price?.unit_amount, i.amount_total])).toEqual([
      ['Starter kit', 2, 1999, 3998],
      ['Gift wrap', 1, 350, 350],
      // A discount and tax on the line: one unit at the line's extended amount (30 − 5 + 1.25).
      ['3 × Setup hours', 1, 2625, 2625],
    ]);
    expect((await client.retrieve('salesorders', order.id))!.stc_paymenturl).toBe(session.url);

    const from = world.stripeEmulator.events.length;
    expect(await pay(session.url!)).toContain('Payment complete.');
    await deliverStripeEvents(from);

    const paid = await client.retrieve('salesorders', order.id);
    const intent = (await world.stripe.checkout.sessions.retrieve(session.id)).payment_intent;
    expect(paid).toMatchObject({
      stc_stripeid: session.id,
      stc_stripepaymentid: intent,
      stc_paymentstatus: StripePaymentStatus.paid,
      stc_amountpaid: 69.73,
      stc_paymenturl: null,
      totalamount: 69.73,
    });
    expect(await client.retrieveMultiple('salesorders', { select: ['salesorderid'] })).toHaveLength(1);
    expect(await client.retrieveMultiple('invoices', { select: ['invoiceid'] })).toHaveLength(0);
    expect(requestRow(id).stc_status).toBe(Status.paid);
    const payment = await client.retrieveByKey('stc_payments', { stc_stripeid: String(intent) });
    expect(payment).toMatchObject({ _stc_salesorderid_value: order.id, stc_amount: 69.73 });
  });

  it('asks Stripe once for a request delivered twice, and a resumed request gets the same session', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 4, price: 12.5 }]);
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    // Every context the step posted (the create and the service's own updates), twice.
    await deliver(world, handler, id);
    await deliver(world, handler, id);
    const first = requestRow(id).stc_stripesessionid;
    // A worker that made the session and stopped before writing it leaves the request in Processing.
    await world.client.update('stc_paymentlinkrequests', id, { stc_status: Status.processing });
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({ stc_status: Status.created, stc_stripesessionid: first });
    expect((await world.stripe.checkout.sessions.list()).data).toHaveLength(1);
  });
});

describe("a page another attempt made under the request's key with other parameters", () => {
  it('is the request\u2019s page: recorded, no second one made', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 4, price: 12.5 }]);
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    // Between this worker's look for a page and its create, another attempt of the request (which saw the
    // order before an edit) makes its page under the same key: Stripe answers this create with an
    // idempotency error.
    const stripe = world.stripeEmulator.client();
    const other = afterAnotherAttempt<Stripe.Checkout.SessionCreateParams, Stripe.Checkout.Session>(
      stripe.checkout.sessions.create.bind(stripe.checkout.sessions),
      (params) => ({ ...params, success_url: 'https://shop.example/earlier' }),
    );
    stripe.checkout.sessions.create = other.create as typeof stripe.checkout.sessions.create;
    await deliver(world, handler, id, 'Create', { ...world.context, stripeFor: () => stripe });

    const made = other.made();
    expect((await world.stripe.checkout.sessions.list()).data.map((s) => s.id)).toEqual([made.id]);
    expect(requestRow(id)).toMatchObject({ stc_status: Status.created, stc_stripesessionid: made.id });
  });
});

describe('a request resumed after Stripe made its page', () => {
  it('records the page made even when the order changed since, so that a newer request expires it', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 4, price: 12.5 }]);
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    // Stripe makes the session and its answer is lost.
    world.stripeEmulator.injectFault({
      status: 500,
      after: true,
      match: { method: 'POST', pathIncludes: '/v1/checkout/sessions' },
    });
    await expect(deliver(world, handler, id, 'Create')).rejects.toThrow();
    expect(requestRow(id).stc_status).toBe(Status.processing);
    const [made] = (await world.stripe.checkout.sessions.list()).data;
    expect(made.status).toBe('open');

    // The order's line changes before the retry: the same key now asks for another page.
    const [line] = await world.client.retrieveMultiple('salesorderdetails', {
      select: ['salesorderdetailid'],
      filter: `_salesorderid_value eq ${order.id}`,
    });
    await world.client.update('salesorderdetails', String(line.salesorderdetailid), { quantity: 5 });
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({ stc_status: Status.created, stc_stripesessionid: made.id });
    expect((await world.client.retrieve('salesorders', order.id))!.stc_paymenturl).toBe(made.url);

    // A new request for the order at its new total expires that page: one page can be paid.
    const newer = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, newer, 'Create');
    expect(requestRow(newer).stc_status).toBe(Status.created);
    expect(requestRow(id).stc_status).toBe(Status.expired);
    const open = (await world.stripe.checkout.sessions.list()).data.filter((s) => s.status === 'open');
    expect(open.map((s) => [s.id, s.amount_total])).toEqual([[requestRow(newer).stc_stripesessionid, 6250]]);
  });
});

describe('a payment page that expires', () => {
  it('marks the request Expired and takes the URL off the order, which stays unpaid', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, id, 'Create');
    const sessionId = String(requestRow(id).stc_stripesessionid);
    expect((await world.client.retrieve('salesorders', order.id))!.stc_paymenturl).toBe(
      requestRow(id).stc_url,
    );

    const from = world.stripeEmulator.events.length;
    await world.stripe.checkout.sessions.expire(sessionId);
    await deliverStripeEvents(from);

    expect(requestRow(id).stc_status).toBe(Status.expired);
    expect(await world.client.retrieve('salesorders', order.id)).toMatchObject({
      stc_paymenturl: null,
      stc_paymentstatus: null,
      stc_stripeid: null,
    });
    expect(await world.client.retrieveMultiple('salesorders', { select: ['salesorderid'] })).toHaveLength(1);
  });
});

describe('a payment page whose order was deleted', () => {
  it('makes no order when it is paid, and its request still says Paid', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, id, 'Create');
    await world.client.delete('salesorders', order.id);

    const from = world.stripeEmulator.events.length;
    expect(await pay(String(requestRow(id).stc_url))).toContain('Payment complete.');
    await deliverStripeEvents(from);

    expect(await world.client.retrieveMultiple('salesorders', { select: ['salesorderid'] })).toHaveLength(0);
    expect(requestRow(id).stc_status).toBe(Status.paid);
  });
});

describe('a payment page whose document changed after it was made', () => {
  it('paid for less than the order now totals, leaves the order Partially paid with what was paid', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 1, price: 100 }]);
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, id, 'Create');
    await world.client.create('salesorderdetails', {
      'salesorderid@odata.bind': `/salesorders(${order.id})`,
      isproductoverridden: true,
      productdescription: 'Second widget',
      quantity: 1,
      priceperunit: 50,
      lineitemnumber: 2,
    });

    const from = world.stripeEmulator.events.length;
    expect(await pay(String(requestRow(id).stc_url))).toContain('Payment complete.');
    await deliverStripeEvents(from);

    expect(await world.client.retrieve('salesorders', order.id)).toMatchObject({
      totalamount: 150,
      stc_amountpaid: 100,
      stc_paymentstatus: StripePaymentStatus.partially_paid,
    });
    expect(requestRow(id).stc_status).toBe(Status.paid);
    // A new page would charge the whole 150 again.
    const again = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, again, 'Create');
    expect(requestRow(again)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: expect.stringMatching(/is partly paid already/),
    });
  });

  it('paid for less than the invoice now totals, leaves the invoice open', async () => {
    const invoice = await document('invoice', 'USD', [{ description: 'Widget', quantity: 2, price: 50 }]);
    const id = await requestLink(USERS.requester.systemuserid, 'invoice', invoice.id);
    await deliver(world, handler, id, 'Create');
    await world.client.create('invoicedetails', {
      'invoiceid@odata.bind': `/invoices(${invoice.id})`,
      isproductoverridden: true,
      productdescription: 'Freight',
      quantity: 1,
      priceperunit: 100,
      lineitemnumber: 2,
    });
    const from = world.stripeEmulator.events.length;
    await pay(String(requestRow(id).stc_url));
    await deliverStripeEvents(from);
    expect(await world.client.retrieve('invoices', invoice.id)).toMatchObject({
      statecode: 0,
      totalamount: 200,
      stc_amountpaid: 100,
      stc_paymentstatus: StripePaymentStatus.partially_paid,
    });
  });

  it('paid after the order was canceled, leaves the order as it is and its request says Paid', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, id, 'Create');
    // Canceled: Dynamics 365 takes no more edits of it.
    await world.client.update('salesorders', order.id, { statecode: 2, statuscode: 4 });

    const from = world.stripeEmulator.events.length;
    expect(await pay(String(requestRow(id).stc_url))).toContain('Payment complete.');
    await deliverStripeEvents(from);

    expect(await world.client.retrieve('salesorders', order.id)).toMatchObject({
      statecode: 2,
      stc_paymentstatus: null,
      stc_amountpaid: null,
    });
    expect(requestRow(id).stc_status).toBe(Status.paid);
  });
});

describe('a payment page follows its document', () => {
  let documents: DataverseChangeHandler;
  beforeEach(() => {
    documents = createPaymentPageDocumentsHandler({ settings });
    for (const table of ['salesorder', 'invoice'])
      world.dataverse.registerWebhook({ table, message: 'Update', url: world.receiver.url });
  });

  it('a user canceling the order expires its open page, and the request says why', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, id, 'Create');
    const { stc_url: url, stc_stripesessionid: sessionId } = requestRow(id);
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `salesorders(${order.id})`, {
      statecode: 2,
      statuscode: 4,
    });
    expect(await deliver(world, documents, order.id, 'Update')).toBeGreaterThan(0);

    expect(await world.stripe.checkout.sessions.retrieve(String(sessionId))).toMatchObject({
      status: 'expired',
    });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.expired,
      stc_failurereason:
        'The order was closed after its payment page was made: the page was expired so that it cannot be paid.',
    });
    expect(await pay(String(url))).not.toContain('Payment complete.');
  });

  it("a user changing the invoice's total expires its page and takes its URL off; the service's own edits do not", async () => {
    const invoice = await document('invoice', 'USD', [{ description: 'Widget', quantity: 2, price: 50 }]);
    const id = await requestLink(USERS.requester.systemuserid, 'invoice', invoice.id);
    await deliver(world, handler, id, 'Create');
    const sessionId = String(requestRow(id).stc_stripesessionid);
    // The service wrote the page's URL on the invoice: its own change, passed over.
    await deliver(world, documents, invoice.id, 'Update');
    expect(requestRow(id).stc_status).toBe(Status.created);

    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `invoices(${invoice.id})`, {
      freightamount: 15,
    });
    expect((await world.client.retrieve('invoices', invoice.id))!.totalamount).toBe(115);
    await deliver(world, documents, invoice.id, 'Update');

    expect(await world.stripe.checkout.sessions.retrieve(sessionId)).toMatchObject({ status: 'expired' });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.expired,
      stc_failurereason:
        "The invoice's total changed after its payment page was made (100 on the page, 115 now): the page was expired. Ask again for a page of the invoice as it is.",
    });
    expect((await world.client.retrieve('invoices', invoice.id))!.stc_paymenturl).toBeNull();
  });
});

describe('a payment page for an invoice in JPY', () => {
  it('charges whole yen and closes the invoice as paid, making no order', async () => {
    const invoice = await document('invoice', 'JPY', [
      { description: 'Consulting day', quantity: 3, price: 1500 },
      { description: 'Travel', quantity: 1, price: 2480 },
    ]);
    const id = await requestLink(USERS.approver.systemuserid, 'invoice', invoice.id);
    await deliver(world, handler, id, 'Create');
    const session = await world.stripe.checkout.sessions.retrieve(String(requestRow(id).stc_stripesessionid));
    expect(session).toMatchObject({
      currency: 'jpy',
      amount_total: 6980,
      metadata: { d365_invoiceid: invoice.id, d365_paymentlinkrequestid: id },
    });
    const items = await world.stripe.checkout.sessions.listLineItems(session.id);
    expect(items.data.map((i) => [i.quantity, i.price?.unit_amount])).toEqual([
      [3, 1500],
      [1, 2480],
    ]);

    const from = world.stripeEmulator.events.length;
    expect(await pay(session.url!)).toContain('Payment complete.');
    await deliverStripeEvents(from);

    expect(await world.client.retrieve('invoices', invoice.id)).toMatchObject({
      statecode: 2,
      statuscode: 100001,
      stc_stripeid: session.id,
      stc_paymentstatus: StripePaymentStatus.paid,
      stc_amountpaid: 6980,
    });
    expect(await world.client.retrieveMultiple('salesorders', { select: ['salesorderid'] })).toHaveLength(0);
    expect(await world.client.retrieveMultiple('invoices', { select: ['invoiceid'] })).toHaveLength(1);
    expect(requestRow(id).stc_status).toBe(Status.paid);
  });
});

describe('one payable page per document', () => {
  const sessionOf = (id: string) =>
    world.stripe.checkout.sessions.retrieve(String(requestRow(id).stc_stripesessionid));
  const eventsAfter = (from: number) =>
    (world.stripeEmulator.events as unknown as Stripe.Event[])
      .slice(from)
      .map((e) => [e.type, (e.data.object as { id: string }).id]);

  it('a new request expires the open page of an earlier one first; only the new page can be paid', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 2, price: 10 }]);
    const number = (await world.client.retrieve('salesorders', order.id))!.ordernumber;
    const first = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, first, 'Create');
    const old = await sessionOf(first);
    expect(old.status).toBe('open');

    const from = world.stripeEmulator.events.length;
    const second = await requestLink(USERS.approver.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, second, 'Create');
    const now = await sessionOf(second);
    expect(now.id).not.toBe(old.id);
    expect(now.status).toBe('open');
    // The older session is expired in Stripe, before the new one is made.
    expect((await world.stripe.checkout.sessions.retrieve(old.id)).status).toBe('expired');
    expect(eventsAfter(from)).toEqual([['checkout.session.expired', old.id]]);
    expect(requestRow(first)).toMatchObject({
      stc_status: Status.expired,
      stc_failurereason: `Replaced by a newer payment page for the order ${String(number)} (request ${second}): this page was expired so that only one can be paid.`,
    });
    expect(requestRow(second)).toMatchObject({ stc_status: Status.created, stc_url: now.url });
    expect((await world.client.retrieve('salesorders', order.id))!.stc_paymenturl).toBe(now.url);

    // The old page takes no payment; its expiry, delivered, leaves the order's new URL and the old request as
    // they are.
    expect(await pay(old.url!)).toContain('This Checkout Session has expired.');
    await deliverStripeEvents(from);
    expect(requestRow(first).stc_status).toBe(Status.expired);
    expect((await world.client.retrieve('salesorders', order.id))!.stc_paymenturl).toBe(now.url);

    const paying = world.stripeEmulator.events.length;
    expect(await pay(now.url!)).toContain('Payment complete.');
    await deliverStripeEvents(paying);
    expect(await world.client.retrieve('salesorders', order.id)).toMatchObject({
      stc_stripeid: now.id,
      stc_paymentstatus: StripePaymentStatus.paid,
      stc_amountpaid: 20,
    });
    expect([requestRow(first).stc_status, requestRow(second).stc_status]).toEqual([
      Status.expired,
      Status.paid,
    ]);
  });

  it('refuses a request while another for the same invoice is still Processing, and asks Stripe nothing', async () => {
    const invoice = await document('invoice', 'USD', [
      { description: 'Consulting', quantity: 1, price: 100 },
    ]);
    const number = (await world.client.retrieve('invoices', invoice.id))!.invoicenumber;
    const first = await requestLink(USERS.requester.systemuserid, 'invoice', invoice.id);
    // A worker moved the first to Processing and is making its page.
    await world.client.update('stc_paymentlinkrequests', first, { stc_status: Status.processing });
    const second = await requestLink(USERS.requester.systemuserid, 'invoice', invoice.id);
    await deliver(world, handler, second, 'Create');
    expect(requestRow(second)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: `The invoice ${String(number)} has a payment page being made by another request, still Processing: see its outcome, then ask again (a new request replaces the page it made).`,
    });
    expect((await world.stripe.checkout.sessions.list()).data).toHaveLength(0);
  });

  it('refuses a new request when the open page was paid and its events have not arrived yet: no second page', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
    const number = (await world.client.retrieve('salesorders', order.id))!.ordernumber;
    const first = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, first, 'Create');
    expect(await pay(String(requestRow(first).stc_url))).toContain('Payment complete.');

    const second = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, second, 'Create');
    expect(requestRow(second)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: `The order ${String(number)} was paid on the payment page of request ${first} already.`,
      stc_stripesessionid: null,
    });
    expect((await world.stripe.checkout.sessions.list()).data).toHaveLength(1);
  });

  it.each(['salesorder', 'quote'] as const)(
    'paying one of two open pages of a %s expires the other, and its request says why',
    async (kind) => {
      const made =
        kind === 'quote'
          ? await activeQuote('USD', [{ description: 'Widget', quantity: 1, price: 10 }])
          : await document(kind, 'USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
      const first = await requestLink(USERS.requester.systemuserid, kind, made.id);
      await deliver(world, handler, first, 'Create');
      // A second page of the same document, as an earlier version of the connector left them: open, and its
      // request Created.
      const second = await requestLink(USERS.requester.systemuserid, kind, made.id);
      const other = await world.stripe.checkout.sessions.create({
        mode: 'payment',
        line_items: [
          {
            price_data: { currency: 'usd', unit_amount: 1000, product_data: { name: 'Widget' } },
            quantity: 1,
          },
        ],
        metadata: { [`d365_${kind}id`]: made.id, d365_paymentlinkrequestid: second },
      });
      await world.client.update('stc_paymentlinkrequests', second, {
        stc_status: Status.created,
        stc_stripesessionid: other.id,
        stc_url: other.url,
      });

      const from = world.stripeEmulator.events.length;
      expect(await pay(String(requestRow(first).stc_url))).toContain('Payment complete.');
      await deliverStripeEvents(from);

      expect((await world.stripe.checkout.sessions.retrieve(other.id)).status).toBe('expired');
      expect(requestRow(first).stc_status).toBe(Status.paid);
      expect(requestRow(second)).toMatchObject({
        stc_status: Status.expired,
        stc_failurereason: `The ${kind === 'quote' ? 'quote' : 'order'} was paid on the payment page of request ${first}; this page was expired so that it cannot be paid twice.`,
      });
      expect(await pay(other.url!)).toContain('This Checkout Session has expired.');
      // The expiry's own event, delivered, changes nothing more.
      await deliverStripeEvents(from);
      expect(requestRow(second).stc_status).toBe(Status.expired);
    },
  );

  it('two requests for one order worked at the same moment leave one open page, the one the order shows', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 3, price: 10 }]);
    const ids = [
      await requestLink(USERS.requester.systemuserid, 'salesorder', order.id),
      await requestLink(USERS.approver.systemuserid, 'salesorder', order.id),
    ];
    await world.dataverse.webhooksIdle();
    await Promise.all(ids.map((id) => deliver(world, handler, id, 'Create')));

    const sessions = (await world.stripe.checkout.sessions.list()).data;
    const open = sessions.filter((session) => session.status === 'open');
    expect(open).toHaveLength(1);
    const kept = ids.find((id) => requestRow(id).stc_stripesessionid === open[0].id)!;
    expect(requestRow(kept).stc_status).toBe(Status.created);
    for (const id of ids.filter((other) => other !== kept))
      expect([Status.expired, Status.rejected]).toContain(requestRow(id).stc_status);
    expect((await world.client.retrieve('salesorders', order.id))!.stc_paymenturl).toBe(open[0].url);
  });
});

describe('refused requests', () => {
  it('rejects a user without a requester role, with the reason, and asks Stripe nothing', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
    const id = await requestLink(USERS.outsider.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: `The requester (user ${USERS.outsider.systemuserid}) holds none of the roles allowed to request payment links: Stripe Refund Requester, Stripe Finance Approver.`,
      stc_url: null,
    });
    expect((await world.stripe.checkout.sessions.list()).data).toHaveLength(0);
  });

  it('rejects an order that is paid already', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 1, price: 10 }], {
      stc_paymentstatus: StripePaymentStatus.paid,
    });
    const number = (await world.client.retrieve('salesorders', order.id))!.ordernumber;
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: `The order ${String(number)} is paid already.`,
    });
    expect((await world.stripe.checkout.sessions.list()).data).toHaveLength(0);
  });

  it.each([
    [3, 'fulfilled'],
    [4, 'invoiced: ask for a payment page on its invoice'],
  ])('rejects an order whose statecode is %i, which Dynamics 365 no longer edits', async (statecode, why) => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 1, price: 10 }]);
    await world.client.update('salesorders', order.id, { statecode });
    const number = (await world.client.retrieve('salesorders', order.id))!.ordernumber;
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: `The order ${String(number)} is ${why}.`,
    });
    expect((await world.stripe.checkout.sessions.list()).data).toHaveLength(0);
  });

  it('rejects an order whose Stripe payment is held for capture: paying a page as well would charge twice', async () => {
    // A shop checkout paid by a hold: the order is unpaid until the hold is captured.
    await world.client.create('stc_payments', {
      stc_name: 'pi_held',
      stc_stripeid: 'pi_held',
      stc_status: PaymentStatus.requires_capture,
    });
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 1, price: 10 }], {
      stc_stripepaymentid: 'pi_held',
      stc_paymentstatus: StripePaymentStatus.unpaid,
    });
    const number = (await world.client.retrieve('salesorders', order.id))!.ordernumber;
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: `The order ${String(number)} has a Stripe payment held for capture, which may still pay it: see it through (capture or cancel a hold), then ask again.`,
    });
    expect((await world.stripe.checkout.sessions.list()).data).toHaveLength(0);
    // Once the hold is canceled, a page may be made.
    await world.client.upsertByKey(
      'stc_payments',
      { stc_stripeid: 'pi_held' },
      { stc_status: PaymentStatus.canceled },
    );
    const again = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, again, 'Create');
    expect(requestRow(again).stc_status).toBe(Status.created);
  });

  it('rejects an order whose discount on the whole order a payment page cannot carry', async () => {
    const order = await document('salesorder', 'USD', [{ description: 'Widget', quantity: 2, price: 10 }], {
      discountamount: 1.5,
    });
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason:
        'The order total 18.50 USD is not the sum of its lines and freight (20.00 USD): a discount on the whole order cannot go on a Stripe payment page. Put the discount on the lines, then ask again.',
    });
  });

  it('rejects an order without lines', async () => {
    const order = await document('salesorder', 'USD', []);
    const id = await requestLink(USERS.requester.systemuserid, 'salesorder', order.id);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: 'The order has no lines to pay.',
    });
  });
});

test("the solution's step for new requests reaches this handler in the service's registry", () => {
  const router = createHandlerRouter(createSyncHandlers());
  const steps = webhookSteps.filter((step) => step.table === 'stc_paymentlinkrequest');
  expect(steps.map((step) => step.message)).toEqual(['Create']);
  expect(router.dataverse(dataverseEventType(steps[0].table, steps[0].message))?.resource).toBe(
    'payment-link-requests',
  );
});
