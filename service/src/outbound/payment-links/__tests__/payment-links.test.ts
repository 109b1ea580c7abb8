/**
 * Payment links over both emulators: a user's request row on a Dataverse order or invoice (through the Web
 * API, delivered by the emulator's webhook step) becomes a Stripe Checkout Session of its lines; paying it on
 * the Stripe emulator's hosted page and delivering the events marks that same document paid and the request
 * Paid. Refusals (role, paid order, order-level discount) and repeated or resumed deliveries.
 */
import type Stripe from 'stripe';
import { webhookSteps } from '@stc/solution';
import { PaymentLinkRequestStatus as Status, StripePaymentStatus } from '@stc/solution/tables';
import { dataverseEventType } from '../../../dataverse/change';
import { createSyncHandlers } from '../../../handlers';
import { createHandlerRouter } from '../../../pipeline';
import { createPaymentLinkRequestsHandler } from '..';
import type { DataverseChangeHandler } from '../../../pipeline/handler';
import { SyncHarness } from '../../../inbound/__tests__/harness';
import { StripeStub } from '../../../inbound/__tests__/stripe-stub';
import { deliver, startWorld, testSettings, USERS, type World } from '../../refund-requests/__tests__/world';

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

/** An order or invoice made in Dynamics 365 (as a salesperson would), for an account, with its lines. */
async function document(
  kind: 'salesorder' | 'invoice',
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
async function requestLink(userId: string, kind: 'salesorder' | 'invoice', id: string): Promise<string> {
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

/** Every Stripe event from `from` on, each delivered twice, through the Stripe → Dataverse handlers. */
async function deliverStripeEvents(from: number): Promise<void> {
  const sync = new SyncHarness(
    Object.assign(new StripeStub(), { stripeFor: () => world.stripe }),
    world.client,
  );
  const events = (world.stripeEmulator.events as unknown as Stripe.Event[]).slice(from);
  for (const event of [...events, ...events]) await sync.deliver(event);
}

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
