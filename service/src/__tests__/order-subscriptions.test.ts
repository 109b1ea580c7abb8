/**
 * A Stripe subscription from a Dynamics 365 sales order through the running service on each store: the service
 * started from its configuration on the Dataverse and Stripe emulators, the solution's webhook steps of
 * stc_subscriptionrequest posting to it, Stripe's events delivered to it. The Stripe catalog arrives as
 * products and price list items; a user's request naming an order of two monthly lines and a one-off line
 * becomes one subscription of two items with the one-off on its first invoice (the request id its
 * idempotency key), and the subscription's row comes back linked to the order. The same context posted again
 * is taken once; a request resumed from Processing gets the same subscription under the same key. Mixed
 * intervals and a user without the role are refused with the reason, and Stripe is asked nothing.
 */
import crypto from 'node:crypto';
import type Stripe from 'stripe';
import { webhookSteps } from '@stc/solution';
import { SubscriptionAction, SubscriptionRequestStatus as Status } from '@stc/solution/tables';
import { waitFor } from '@stc/testkit';
import { describeOnEachEngine } from './support/engines';
import { runningServiceOnEngine } from './support/service-on-emulators';
import { ContextReceiver, USERS } from '../outbound/refund-requests/__tests__/world';

jest.setTimeout(90_000);

describeOnEachEngine('subscriptions from sales orders through the running service', (engine) => {
  const world = runningServiceOnEngine(engine, 'order-subscriptions', { table: 'stc_subscriptionrequest' });
  let stripe: Stripe;
  let receiver: ContextReceiver;

  beforeEach(async () => {
    stripe = world.stripeEmulator.client();
    receiver = await new ContextReceiver().start();
    // A copy of what the solution's steps post, to post it again as Dataverse would on a retry.
    for (const step of webhookSteps.filter((s) => s.table === 'stc_subscriptionrequest'))
      world.dataverse.registerWebhook({ table: step.table, message: step.message, url: receiver.url });
    // What every organization has, so the catalog's events make products and price list items.
    const unitGroup = await world.client.create('uomschedules', {
      name: 'Default Unit',
      baseuomname: 'Primary Unit',
    });
    await world.client.create('uoms', {
      name: 'Primary Unit',
      quantity: 1,
      'uomscheduleid@odata.bind': `/uomschedules(${unitGroup})`,
    });
  });
  afterEach(() => receiver.close());

  /** Seat 15.00 and Support 99.50 a month, Setup 250.00 once, Hosting 1,200.00 a year: in Stripe, then synced. */
  async function catalog() {
    const usd = await world.client.create('transactioncurrencies', {
      currencyname: 'US Dollar',
      isocurrencycode: 'USD',
      currencysymbol: '$',
      currencyprecision: 2,
      exchangerate: 1,
    });
    const prices: Record<string, Stripe.Price> = {};
    for (const [name, amount, interval] of [
      ['Seat', 1500, 'month'],
      ['Support', 9950, 'month'],
      ['Setup', 25000, null],
      ['Hosting', 120000, 'year'],
    ] as const) {
      const product = await stripe.products.create({ name });
      prices[name] = await stripe.prices.create({
        product: product.id,
        unit_amount: amount,
        currency: 'usd',
        ...(interval ? { recurring: { interval } } : {}),
      });
    }
    await waitFor(
      () => world.dataverse.store.rows('productpricelevels').length === 4,
      'the catalog synced',
      30_000,
    );
    const products: Record<string, string> = {};
    for (const row of world.dataverse.store.rows('products'))
      products[String(row.name)] = String(row.productid);
    return { usd, prices, products };
  }

  async function orderFor(
    usd: string,
    lines: Array<{ product: string; quantity: number; price: number }>,
  ): Promise<{ order: string; account: string; customer: Stripe.Customer }> {
    const customer = await stripe.customers.create({
      name: 'Northwind',
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const account = await world.client.create('accounts', {
      name: 'Northwind',
      stc_stripecustomerid: customer.id,
    });
    const currency = { 'transactioncurrencyid@odata.bind': `/transactioncurrencies(${usd})` };
    const order = await world.client.create('salesorders', {
      name: 'Northwind plan',
      ordernumber: 'ORD-3001',
      'customerid_account@odata.bind': `/accounts(${account})`,
      ...currency,
    });
    for (const [i, line] of lines.entries())
      await world.client.create('salesorderdetails', {
        'salesorderid@odata.bind': `/salesorders(${order})`,
        'productid@odata.bind': `/products(${line.product})`,
        isproductoverridden: false,
        quantity: line.quantity,
        priceperunit: line.price,
        lineitemnumber: i + 1,
        ...currency,
      });
    return { order, account, customer };
  }

  const startSubscription = (userId: string, order: string) =>
    world.asUser(userId, 'POST', 'stc_subscriptionrequests', {
      stc_name: 'Stripe subscription from ORD-3001',
      stc_action: SubscriptionAction.create,
      'stc_salesorderid@odata.bind': `/salesorders(${order})`,
    });
  const request = (id: string) => world.dataverse.store.get('stc_subscriptionrequests', id)!;
  const subscriptionPosts = () =>
    world.stripeEmulator.requests.filter((r) => r.method === 'POST' && r.path === '/v1/subscriptions');
  const postContext = (context: unknown) =>
    fetch(`${world.service.url}/webhooks/dataverse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-stc-webhook-key': world.webhookKey },
      body: JSON.stringify(context),
    });

  test('one subscription of the recurring lines with the one-off on its first invoice, its row linked to the order; posted again or resumed, nothing twice', async () => {
    const { usd, prices, products } = await catalog();
    const { order, account, customer } = await orderFor(usd, [
      { product: products.Seat, quantity: 3, price: 15 },
      { product: products.Support, quantity: 1, price: 99.5 },
      { product: products.Setup, quantity: 1, price: 250 },
    ]);
    const id = await startSubscription(USERS.requester.systemuserid, order);
    await waitFor(() => request(id).stc_status === Status.succeeded, 'the request succeeded', 30_000);
    const subscription = await stripe.subscriptions.retrieve(String(request(id).stc_stripesubscriptionid), {
      expand: ['latest_invoice'],
    });
    expect(subscription).toMatchObject({
      customer: customer.id,
      status: 'active',
      metadata: { d365_salesorderid: order, d365_subscriptionrequestid: id },
    });
    expect(subscription.items.data.map((i) => [i.price.id, i.quantity])).toEqual([
      [prices.Seat.id, 3],
      [prices.Support.id, 1],
    ]);
    expect((subscription.latest_invoice as Stripe.Invoice).amount_paid).toBe(4500 + 9950 + 25000);
    expect(subscriptionPosts().map((r) => r.idempotencyKey)).toEqual([id]);

    const linked = () =>
      world.dataverse.store.rows('stc_subscriptions').filter((row) => row._stc_salesorderid_value === order);
    await waitFor(() => linked().length === 1, 'the subscription row linked to the order', 30_000);
    expect(linked()[0]).toMatchObject({
      stc_stripeid: subscription.id,
      _stc_customerid_value: account,
      stc_amount: 144.5,
    });

    // The step's context posted again: taken, and nothing asked of Stripe.
    await world.dataverse.webhooksIdle();
    const [context] = receiver.about(id, 'Create');
    expect((await postContext(context)).status).toBeLessThan(300);
    // A worker that made the subscription and stopped before writing it leaves the request in Processing;
    // the change delivered as a new operation resumes it: the subscription is found by the request's id and
    // recorded, nothing is posted again.
    await world.client.update('stc_subscriptionrequests', id, { stc_status: Status.processing });
    const again = { ...context, OperationId: crypto.randomUUID() };
    expect((await postContext(again)).status).toBeLessThan(300);
    await waitFor(() => request(id).stc_status === Status.succeeded, 'the resumed request succeeded', 30_000);
    expect(request(id).stc_stripesubscriptionid).toBe(subscription.id);
    expect(subscriptionPosts().map((r) => r.idempotencyKey)).toEqual([id]);
    expect((await stripe.subscriptions.list({ status: 'all' })).data.map((s) => s.id)).toEqual([
      subscription.id,
    ]);
    expect(await world.service.store.listDeadLetters()).toEqual([]);
  });

  test('mixed intervals and a user without the role are refused with the reason, and Stripe is asked nothing', async () => {
    const { usd, products } = await catalog();
    const { order } = await orderFor(usd, [
      { product: products.Seat, quantity: 3, price: 15 },
      { product: products.Hosting, quantity: 1, price: 1200 },
    ]);
    const mixed = await startSubscription(USERS.requester.systemuserid, order);
    await waitFor(() => request(mixed).stc_status === Status.rejected, 'the request rejected', 30_000);
    expect(request(mixed).stc_failurereason).toBe(
      'The order ORD-3001 has lines billed at different intervals (line 1 (Seat) monthly, line 2 (Hosting) yearly): a Stripe subscription bills all its items at one interval. Split the order by interval, then ask for each.',
    );
    const outsider = await startSubscription(USERS.outsider.systemuserid, order);
    await waitFor(() => request(outsider).stc_status === Status.rejected, 'the request rejected', 30_000);
    expect(request(outsider).stc_failurereason).toMatch(
      /^The requester \(user [0-9a-f-]+\) holds none of the roles allowed to request Stripe subscription changes/,
    );
    expect(subscriptionPosts()).toHaveLength(0);
  });
});
