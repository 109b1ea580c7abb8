/**
 * A Stripe subscription started from a Dynamics 365 sales order, over both emulators and each store engine:
 * the catalog's products and prices arrive as Stripe events (products and price list items), a salesperson's
 * order of two monthly lines and a one-off line becomes, through a user's subscription request, one Stripe
 * subscription of two items with the one-off charge on its first invoice; the events that follow (in the
 * pipeline's order over the engine's store) write the stc_subscription row linked to the order. A request
 * delivered again or resumed makes nothing twice; mixed intervals and a user without the role are refused.
 */
import type Stripe from 'stripe';
import { SubscriptionAction, SubscriptionRequestStatus as Status } from '@stc/solution/tables';
import { describeOnEachEngine, type TestDatabase } from '../../../__tests__/support/engines';
import { createSubscriptionRequestsHandler } from '..';
import type { DataverseChangeHandler } from '../../../pipeline/handler';
import { OrderedDelivery, SyncHarness } from '../../../inbound/__tests__/harness';
import { StripeStub } from '../../../inbound/__tests__/stripe-stub';
import { deliver, startWorld, testSettings, USERS, type World } from '../../refund-requests/__tests__/world';

describeOnEachEngine('subscriptions from a sales order', (engine) => {
  let world: World;
  let db: TestDatabase;
  let handler: DataverseChangeHandler;
  let billing: OrderedDelivery;
  let delivered = 0;
  let usd = '';

  beforeEach(async () => {
    world = await startWorld({ tables: ['stc_subscriptionrequest'] });
    db = await engine.open();
    handler = createSubscriptionRequestsHandler({ settings: testSettings() });
    billing = await OrderedDelivery.open(
      new SyncHarness(Object.assign(new StripeStub(), { stripeFor: () => world.stripe }), world.client),
      db.store,
    );
    delivered = 0;
    usd = await world.client.create('transactioncurrencies', {
      currencyname: 'USD',
      isocurrencycode: 'USD',
      currencysymbol: '$',
      currencyprecision: 2,
      exchangerate: 1,
    });
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
  afterEach(async () => {
    await world.close();
    await db.destroy();
  });

  /** The Stripe events not delivered yet, through the Stripe → Dataverse handlers in the pipeline's order. */
  async function deliverStripeEvents(): Promise<void> {
    const events = (world.stripeEmulator.events as unknown as Stripe.Event[]).slice(delivered);
    delivered += events.length;
    for (const event of events) await billing.deliver(event);
  }

  /** The Stripe catalog, synced to Dynamics 365: each product's row id and Stripe price by name. */
  async function catalog() {
    const { stripe, client } = world;
    const specs = [
      { name: 'Seat', amount: 1500, recurring: { interval: 'month' as const } },
      { name: 'Support', amount: 9950, recurring: { interval: 'month' as const } },
      { name: 'Setup', amount: 25000 },
      { name: 'Hosting', amount: 120000, recurring: { interval: 'year' as const } },
    ];
    const prices: Record<string, Stripe.Price> = {};
    for (const spec of specs) {
      const product = await stripe.products.create({ name: spec.name });
      prices[spec.name] = await stripe.prices.create({
        product: product.id,
        unit_amount: spec.amount,
        currency: 'usd',
        ...(spec.recurring ? { recurring: spec.recurring } : {}),
      });
    }
    await deliverStripeEvents();
    const products: Record<string, string> = {};
    for (const row of await client.retrieveMultiple('products', { select: ['productid', 'name'] }))
      products[String(row.name)] = String(row.productid);
    return { prices, products };
  }

  /** An account with a Stripe customer who pays by card. */
  async function payingAccount(name = 'Northwind') {
    const customer = await world.stripe.customers.create({
      name,
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const account = await world.client.create('accounts', { name, stc_stripecustomerid: customer.id });
    return { customer, account };
  }

  /** An order in USD as a salesperson makes it: existing products, their list prices, whole quantities. */
  async function order(account: string, lines: Array<{ product: string; quantity: number; price: number }>) {
    const { client } = world;
    const currency = { 'transactioncurrencyid@odata.bind': `/transactioncurrencies(${usd})` };
    const id = await client.create('salesorders', {
      name: 'Northwind annual plan',
      ordernumber: 'ORD-2001',
      'customerid_account@odata.bind': `/accounts(${account})`,
      ...currency,
    });
    for (const [i, line] of lines.entries())
      await client.create('salesorderdetails', {
        'salesorderid@odata.bind': `/salesorders(${id})`,
        'productid@odata.bind': `/products(${line.product})`,
        isproductoverridden: false,
        quantity: line.quantity,
        priceperunit: line.price,
        lineitemnumber: i + 1,
        ...currency,
      });
    return id;
  }

  /** "Start subscription" on the order: a Create request naming it, made by the user through the Web API. */
  async function startSubscription(userId: string, orderId: string): Promise<string> {
    const made = await world.asUser(userId, 'POST', 'stc_subscriptionrequests', {
      stc_name: 'Subscription from ORD-2001',
      stc_action: SubscriptionAction.create,
      'stc_salesorderid@odata.bind': `/salesorders(${orderId})`,
    });
    await deliver(world, handler, made.id!, 'Create');
    return made.id!;
  }

  const requestRow = (id: string) => world.dataverse.store.get('stc_subscriptionrequests', id)!;
  const allSubscriptions = async () => (await world.stripe.subscriptions.list({ status: 'all' })).data;

  it('makes one subscription of the two monthly lines, the one-off on its first invoice, its row linked to the order', async () => {
    const { prices, products } = await catalog();
    const { customer, account } = await payingAccount();
    const orderId = await order(account, [
      { product: products.Seat, quantity: 3, price: 15 },
      { product: products.Support, quantity: 1, price: 99.5 },
      { product: products.Setup, quantity: 1, price: 250 },
    ]);
    const id = await startSubscription(USERS.requester.systemuserid, orderId);

    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      stc_failurereason: null,
      stc_stripesubscriptionid: expect.stringMatching(/^sub_/),
    });
    const subscription = await world.stripe.subscriptions.retrieve(
      String(requestRow(id).stc_stripesubscriptionid),
      {
        expand: ['latest_invoice'],
      },
    );
    expect(subscription).toMatchObject({
      customer: customer.id,
      status: 'active',
      metadata: { d365_subscriptionrequestid: id, d365_salesorderid: orderId },
    });
    expect(subscription.items.data.map((i) => [i.price.id, i.quantity])).toEqual([
      [prices.Seat.id, 3],
      [prices.Support.id, 1],
    ]);
    // The first invoice: both items for the first month and the setup fee once, at its one-time Stripe price.
    const first = subscription.latest_invoice as Stripe.Invoice;
    expect(first.amount_paid).toBe(4500 + 9950 + 25000);
    expect(first.lines.data.map((l) => [l.pricing?.price_details?.price, l.amount, l.parent?.type])).toEqual([
      [prices.Setup.id, 25000, 'invoice_item_details'],
      [prices.Seat.id, 4500, 'subscription_item_details'],
      [prices.Support.id, 9950, 'subscription_item_details'],
    ]);

    await deliverStripeEvents();
    const rows = await world.client.retrieveMultiple('stc_subscriptions', {
      filter: `_stc_salesorderid_value eq ${orderId}`,
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      stc_stripeid: subscription.id,
      _stc_customerid_value: account,
      stc_amount: 144.5,
      stc_monthlyrecurringrevenue: 144.5,
    });
    const items = await world.client.retrieveMultiple('stc_subscriptionitems', {
      filter: `_stc_subscriptionid_value eq ${String(rows[0].stc_subscriptionid)}`,
    });
    expect(items.map((i) => [i.stc_stripepriceid, i.stc_quantity]).sort()).toEqual(
      [
        [prices.Seat.id, 3],
        [prices.Support.id, 1],
      ].sort(),
    );
    // A renewal bills the items alone: the one-off was billed once.
    world.stripeEmulator.testHelpers.renewSubscription(subscription.id);
    const [renewal] = (await world.stripe.invoices.list({ subscription: subscription.id })).data;
    expect(renewal.amount_due).toBe(4500 + 9950);
  });

  it('makes no second subscription for a request delivered again or resumed, and refuses a second request for the order, before and after its row arrives', async () => {
    const { products } = await catalog();
    const { account } = await payingAccount();
    const orderId = await order(account, [{ product: products.Seat, quantity: 2, price: 15 }]);
    const id = await startSubscription(USERS.requester.systemuserid, orderId);
    const first = requestRow(id).stc_stripesubscriptionid;
    const refusal = `The order ORD-2001 has the Stripe subscription ${String(first)} already: cancel it first to start another.`;
    // Another request before Stripe's events have made the subscription's row: its request tells.
    const early = await startSubscription(USERS.approver.systemuserid, orderId);
    expect(requestRow(early)).toMatchObject({ stc_status: Status.rejected, stc_failurereason: refusal });
    // Every context the step posted (the create and the service's own updates), again.
    await deliver(world, handler, id);
    // A worker that made the subscription and stopped before writing it leaves the request in Processing;
    // its events may have linked the row to the order meanwhile.
    await deliverStripeEvents();
    await world.client.update('stc_subscriptionrequests', id, { stc_status: Status.processing });
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({ stc_status: Status.succeeded, stc_stripesubscriptionid: first });
    expect((await allSubscriptions()).map((s) => s.id)).toEqual([first]);

    const again = await startSubscription(USERS.requester.systemuserid, orderId);
    expect(requestRow(again)).toMatchObject({ stc_status: Status.rejected, stc_failurereason: refusal });
    expect(await allSubscriptions()).toHaveLength(1);
  });

  it("completes a request from the subscription it made when the order's lines changed before its retry", async () => {
    const { prices, products } = await catalog();
    const { account, customer } = await payingAccount();
    const orderId = await order(account, [{ product: products.Seat, quantity: 2, price: 15 }]);
    const made = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_subscriptionrequests', {
      stc_name: 'Subscription from ORD-2001',
      stc_action: SubscriptionAction.create,
      'stc_salesorderid@odata.bind': `/salesorders(${orderId})`,
    });
    const id = made.id!;
    // Stripe makes the subscription and its answer is lost: the request stays Processing.
    world.stripeEmulator.injectFault({
      status: 500,
      after: true,
      match: { method: 'POST', pathIncludes: '/v1/subscriptions' },
    });
    await expect(deliver(world, handler, id, 'Create')).rejects.toThrow(/fault injected/);
    expect(requestRow(id).stc_status).toBe(Status.processing);
    const [subscription] = await allSubscriptions();
    expect(subscription).toMatchObject({
      customer: customer.id,
      metadata: { d365_subscriptionrequestid: id, d365_salesorderid: orderId },
    });
    // The salesperson changes the order before the retry: the same key would now carry other items.
    const [line] = await world.client.retrieveMultiple('salesorderdetails', {
      select: ['salesorderdetailid'],
      filter: `_salesorderid_value eq ${orderId}`,
    });
    await world.client.update('salesorderdetails', String(line.salesorderdetailid), { quantity: 5 });

    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      stc_stripesubscriptionid: subscription.id,
      stc_failurereason: null,
    });
    const all = await allSubscriptions();
    expect(all.map((s) => [s.id, s.items.data.map((i) => [i.price.id, i.quantity])])).toEqual([
      [subscription.id, [[prices.Seat.id, 2]]],
    ]);
  });

  it('refuses lines of different intervals, with the reason on the request, and asks Stripe nothing', async () => {
    const { products } = await catalog();
    const { account } = await payingAccount();
    const orderId = await order(account, [
      { product: products.Seat, quantity: 3, price: 15 },
      { product: products.Hosting, quantity: 1, price: 1200 },
    ]);
    const id = await startSubscription(USERS.requester.systemuserid, orderId);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason:
        'The order ORD-2001 has lines billed at different intervals (line 1 (Seat) monthly, line 2 (Hosting) yearly): a Stripe subscription bills all its items at one interval. Split the order by interval, then ask for each.',
      stc_stripesubscriptionid: null,
    });
    expect(await allSubscriptions()).toHaveLength(0);
  });

  it('refuses a user without a requester role', async () => {
    const { products } = await catalog();
    const { account } = await payingAccount();
    const orderId = await order(account, [{ product: products.Seat, quantity: 1, price: 15 }]);
    const id = await startSubscription(USERS.outsider.systemuserid, orderId);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: `The requester (user ${USERS.outsider.systemuserid}) holds none of the roles allowed to request Stripe subscription changes: Stripe Refund Requester, Stripe Finance Approver.`,
    });
    expect(await allSubscriptions()).toHaveLength(0);
  });

  it('makes the Stripe customer of an account marked Create in Stripe first, as the customer sync does', async () => {
    const { products } = await catalog();
    const account = await world.client.create('accounts', { name: 'Contoso', stc_createinstripe: true });
    const orderId = await order(account, [{ product: products.Seat, quantity: 1, price: 15 }]);
    const id = await startSubscription(USERS.requester.systemuserid, orderId);
    const made = (await world.client.retrieve('accounts', account))!.stc_stripecustomerid;
    expect(made).toEqual(expect.stringMatching(/^cus_/));
    const customer = (await world.stripe.customers.retrieve(String(made))) as Stripe.Customer;
    expect(customer).toMatchObject({ name: 'Contoso', metadata: { d365_accountid: account } });
    // A customer made just now has no card: Stripe refuses to charge the first invoice, in its own words.
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.failed,
      stc_failurereason: expect.stringMatching(
        /^Stripe refused the change: This customer has no attached payment source/,
      ),
    });
  });

  it('fails the request in Stripe’s words when Stripe refuses to make the customer, and notes it on the account', async () => {
    const { products } = await catalog();
    const account = await world.client.create('accounts', {
      name: 'Contoso',
      emailaddress1: 'billing at contoso',
      stc_createinstripe: true,
    });
    const orderId = await order(account, [{ product: products.Seat, quantity: 1, price: 15 }]);
    const id = await startSubscription(USERS.requester.systemuserid, orderId);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.failed,
      stc_failurereason:
        'Stripe refused to make the account’s customer: Invalid email address: billing at contoso. Correct the account, then ask again.',
    });
    expect(await world.client.retrieve('accounts', account)).toMatchObject({
      stc_stripecustomerid: null,
      stc_stripesyncerror: 'Stripe refused the change: Invalid email address: billing at contoso',
    });
    expect(await allSubscriptions()).toHaveLength(0);
  });
});
