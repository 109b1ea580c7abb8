/**
 * Subscription requests over both emulators: a user's request row on a Dataverse account (through the Web
 * API, delivered by the emulator's webhook step) becomes a Stripe subscription or a change of one on the
 * Stripe emulator; the events that follow, delivered through the billing handler in the pipeline's order,
 * bring the stc_subscription row in line. Refusals (role, no Stripe customer, someone else's subscription, a
 * bad quantity) and repeated or resumed deliveries.
 */
import type Stripe from 'stripe';
import { webhookSteps } from '@stc/solution';
import {
  StripeInvoiceStatus,
  SubscriptionAction,
  SubscriptionRequestStatus as Status,
} from '@stc/solution/tables';
import { dataverseEventType } from '../../../dataverse/change';
import { createSyncHandlers } from '../../../handlers';
import { createHandlerRouter } from '../../../pipeline';
import { createSubscriptionRequestsHandler } from '..';
import type { DataverseChangeHandler } from '../../../pipeline/handler';
import { OrderedDelivery, SyncHarness } from '../../../inbound/__tests__/harness';
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
let billing: OrderedDelivery;
let delivered = 0;

beforeEach(async () => {
  world = await startWorld({ tables: ['stc_subscriptionrequest'] });
  handler = createSubscriptionRequestsHandler({ settings });
  billing = await OrderedDelivery.open(
    new SyncHarness(Object.assign(new StripeStub(), { stripeFor: () => world.stripe }), world.client),
  );
  delivered = 0;
  // What every organization has, so the Stripe catalog's events make products and price list items.
  await world.client.create('transactioncurrencies', {
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
afterEach(() => world.close());

/** A Stripe customer who can pay, and the Dynamics 365 account linked to it, with a monthly price. */
async function customerWithPrice(name = 'Northwind', amount = 1500) {
  const { stripe, client } = world;
  const customer = await stripe.customers.create({
    name,
    payment_method: 'pm_card_visa',
    invoice_settings: { default_payment_method: 'pm_card_visa' },
  });
  const account = await client.create('accounts', { name, stc_stripecustomerid: customer.id });
  const product = await stripe.products.create({ name: 'Seat' });
  const price = await stripe.prices.create({
    product: product.id,
    unit_amount: amount,
    currency: 'usd',
    recurring: { interval: 'month' },
  });
  return { customer, account, price };
}

/** A subscription request made by a user through the Web API, as the form's button does. */
async function ask(userId: string, action: keyof typeof SubscriptionAction, body: Record<string, unknown>) {
  const made = await world.asUser(userId, 'POST', 'stc_subscriptionrequests', {
    stc_name: `Subscription: ${action}`,
    stc_action: SubscriptionAction[action],
    ...body,
  });
  await deliver(world, handler, made.id!, 'Create');
  return made.id!;
}

const onAccount = (account: string) => ({ 'stc_customerid_account@odata.bind': `/accounts(${account})` });
const requestRow = (id: string) => world.dataverse.store.get('stc_subscriptionrequests', id)!;

/** The Stripe events not delivered yet, through the Stripe → Dataverse handlers in the pipeline's order. */
async function deliverStripeEvents(): Promise<void> {
  const events = (world.stripeEmulator.events as unknown as Stripe.Event[]).slice(delivered);
  delivered += events.length;
  for (const event of events) await billing.deliver(event);
}

const subscriptionRow = (stripeId: string) =>
  world.client.retrieveByKey('stc_subscriptions', { stc_stripeid: stripeId });

async function itemRows(subscriptionRowId: string) {
  return world.client.retrieveMultiple('stc_subscriptionitems', {
    filter: `_stc_subscriptionid_value eq ${subscriptionRowId}`,
  });
}

/** A subscription made from a request, its events delivered: the Stripe subscription and its Dataverse row. */
async function subscribed(quantity = 2) {
  const setup = await customerWithPrice();
  const id = await ask(USERS.requester.systemuserid, 'create', {
    ...onAccount(setup.account),
    stc_stripepriceid: setup.price.id,
    stc_quantity: quantity,
  });
  const subscription = await world.stripe.subscriptions.retrieve(
    String(requestRow(id).stc_stripesubscriptionid),
  );
  await deliverStripeEvents();
  const row = (await subscriptionRow(subscription.id))!;
  return { ...setup, requestId: id, subscription, row: String(row.stc_subscriptionid) };
}

describe('a subscription created from an account', () => {
  it('exists in Stripe with the price and quantity, the request Succeeded, and its row appears', async () => {
    const { account, customer, price, requestId, subscription, row } = await subscribed(3);
    expect(requestRow(requestId)).toMatchObject({
      stc_status: Status.succeeded,
      stc_failurereason: null,
      stc_livemode: false,
      stc_stripesubscriptionid: subscription.id,
      _stc_requestedby_value: USERS.requester.systemuserid,
    });
    expect(subscription).toMatchObject({
      customer: customer.id,
      status: 'active',
      metadata: { d365_subscriptionrequestid: requestId },
    });
    expect(subscription.items.data.map((i) => [i.price.id, i.quantity])).toEqual([[price.id, 3]]);

    expect(await world.client.retrieve('stc_subscriptions', row)).toMatchObject({
      _stc_customerid_value: account,
      stc_amount: 45,
      stc_monthlyrecurringrevenue: 45,
      stc_cancelatperiodend: false,
    });
    const items = await itemRows(row);
    expect(items.map((i) => [i.stc_stripepriceid, i.stc_quantity])).toEqual([[price.id, 3]]);
  });

  it('asks Stripe once for a request delivered twice, and a resumed request gets the same subscription', async () => {
    const { account, price } = await customerWithPrice();
    const id = await ask(USERS.requester.systemuserid, 'create', {
      ...onAccount(account),
      stc_stripepriceid: price.id,
    });
    // Every context the step posted (the create and the service's own updates), again.
    await deliver(world, handler, id);
    const first = requestRow(id).stc_stripesubscriptionid;
    // A worker that made the subscription and stopped before writing it leaves the request in Processing.
    await world.client.update('stc_subscriptionrequests', id, { stc_status: Status.processing });
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({ stc_status: Status.succeeded, stc_stripesubscriptionid: first });
    const all = await world.stripe.subscriptions.list({ status: 'all' });
    expect(all.data.map((s) => [s.id, s.items.data[0].quantity])).toEqual([[first, 1]]);
  });
});

describe('a subscription created from a contact', () => {
  it('is billed to the contact’s Stripe customer', async () => {
    const { price } = await customerWithPrice();
    const customer = await world.stripe.customers.create({
      name: 'Maria Campbell',
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const contact = await world.client.create('contacts', {
      firstname: 'Maria',
      lastname: 'Campbell',
      stc_stripecustomerid: customer.id,
    });
    const id = await ask(USERS.requester.systemuserid, 'create', {
      'stc_customerid_contact@odata.bind': `/contacts(${contact})`,
      stc_stripepriceid: price.id,
    });
    expect(requestRow(id).stc_status).toBe(Status.succeeded);
    const subscription = await world.stripe.subscriptions.retrieve(
      String(requestRow(id).stc_stripesubscriptionid),
    );
    expect(subscription.customer).toBe(customer.id);
    await deliverStripeEvents();
    expect(await subscriptionRow(subscription.id)).toMatchObject({ _stc_customerid_value: contact });
  });
});

describe('a subscription created from a product', () => {
  it('takes the Stripe price of the product’s recurring price list item', async () => {
    const { account, price, customer } = await customerWithPrice('Northwind', 2500);
    await deliverStripeEvents();
    const [product] = await world.client.retrieveMultiple('products', {
      filter: `stc_stripeproductid eq '${String(price.product)}'`,
    });
    const id = await ask(USERS.requester.systemuserid, 'create', {
      ...onAccount(account),
      'stc_productid@odata.bind': `/products(${String(product.productid)})`,
      stc_quantity: 4,
    });
    expect(requestRow(id).stc_status).toBe(Status.succeeded);
    const subscription = await world.stripe.subscriptions.retrieve(
      String(requestRow(id).stc_stripesubscriptionid),
    );
    expect(subscription.customer).toBe(customer.id);
    expect(subscription.items.data.map((i) => [i.price.id, i.quantity])).toEqual([[price.id, 4]]);
  });

  it('rejects a product with no recurring Stripe price', async () => {
    const { account } = await customerWithPrice();
    const product = await world.client.create('products', { name: 'Gift wrap', productnumber: 'GW-1' });
    const id = await ask(USERS.requester.systemuserid, 'create', {
      ...onAccount(account),
      'stc_productid@odata.bind': `/products(${product})`,
    });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: 'The product Gift wrap has no active recurring price list item with a Stripe price.',
    });
  });
});

describe('changes to a subscription', () => {
  it('cancels at period end: Stripe says so and the row shows it after the events', async () => {
    const { account, subscription, row } = await subscribed();
    const id = await ask(USERS.approver.systemuserid, 'cancel_at_period_end', {
      ...onAccount(account),
      'stc_subscriptionid@odata.bind': `/stc_subscriptions(${row})`,
    });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      stc_stripesubscriptionid: subscription.id,
    });
    const stripeSide = await world.stripe.subscriptions.retrieve(subscription.id);
    expect(stripeSide).toMatchObject({ status: 'active', cancel_at_period_end: true });
    await deliverStripeEvents();
    expect(await world.client.retrieve('stc_subscriptions', row)).toMatchObject({
      stc_cancelatperiodend: true,
    });
  });

  it('cancels now: the subscription ends in Stripe and its row says canceled', async () => {
    const { subscription, row } = await subscribed();
    const id = await ask(USERS.requester.systemuserid, 'cancel_now', {
      'stc_subscriptionid@odata.bind': `/stc_subscriptions(${row})`,
    });
    expect(requestRow(id).stc_status).toBe(Status.succeeded);
    expect((await world.stripe.subscriptions.retrieve(subscription.id)).status).toBe('canceled');
    await deliverStripeEvents();
    const canceled = await world.client.retrieve('stc_subscriptions', row);
    expect(canceled!.stc_endedat).toEqual(expect.any(String));
    expect(canceled!.stc_monthlyrecurringrevenue).toBe(0);
    // Nothing is left to do to an ended subscription.
    const again = await ask(USERS.requester.systemuserid, 'pause', {
      'stc_subscriptionid@odata.bind': `/stc_subscriptions(${row})`,
    });
    expect(requestRow(again)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: `The subscription ${subscription.id} has ended; there is nothing to pause.`,
    });
  });

  it('pauses collection (void) and resumes it, each shown on the row after the events', async () => {
    const { subscription, row } = await subscribed();
    const target = { 'stc_subscriptionid@odata.bind': `/stc_subscriptions(${row})` };
    const pause = await ask(USERS.requester.systemuserid, 'pause', target);
    expect(requestRow(pause).stc_status).toBe(Status.succeeded);
    expect((await world.stripe.subscriptions.retrieve(subscription.id)).pause_collection).toEqual({
      behavior: 'void',
      resumes_at: null,
    });
    await deliverStripeEvents();
    expect(await world.client.retrieve('stc_subscriptions', row)).toMatchObject({
      stc_pausecollection: 'void',
      stc_monthlyrecurringrevenue: 0,
    });
    // A renewal while paused makes its invoice and voids it: nothing is charged.
    world.stripeEmulator.testHelpers.renewSubscription(subscription.id);
    await deliverStripeEvents();
    const renewal = (await world.stripe.subscriptions.retrieve(subscription.id)).latest_invoice;
    expect(
      await world.client.retrieveByKey('stc_stripeinvoices', { stc_stripeid: String(renewal) }),
    ).toMatchObject({
      stc_status: StripeInvoiceStatus.void,
      stc_amountpaid: 0,
    });
    // Paused already: refused before Stripe is asked.
    const twice = await ask(USERS.requester.systemuserid, 'pause', target);
    expect(requestRow(twice).stc_failurereason).toBe(
      `Collection of the subscription ${subscription.id} is paused already (void).`,
    );

    const resume = await ask(USERS.requester.systemuserid, 'resume', target);
    expect(requestRow(resume).stc_status).toBe(Status.succeeded);
    expect((await world.stripe.subscriptions.retrieve(subscription.id)).pause_collection).toBeNull();
    await deliverStripeEvents();
    expect(await world.client.retrieve('stc_subscriptions', row)).toMatchObject({
      stc_pausecollection: null,
      stc_monthlyrecurringrevenue: 30,
    });
  });

  it('changes an item’s quantity with prorations, and the item row follows', async () => {
    const { subscription, row } = await subscribed(2);
    const [item] = await itemRows(row);
    const from = world.stripeEmulator.events.length;
    const id = await ask(USERS.requester.systemuserid, 'change_quantity', {
      'stc_subscriptionid@odata.bind': `/stc_subscriptions(${row})`,
      'stc_subscriptionitemid@odata.bind': `/stc_subscriptionitems(${String(item.stc_subscriptionitemid)})`,
      stc_quantity: 5,
    });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      stc_stripesubscriptionid: subscription.id,
    });
    const stripeItem = await world.stripe.subscriptionItems.retrieve(String(item.stc_stripeid));
    expect(stripeItem.quantity).toBe(5);
    const prorations = (world.stripeEmulator.events as unknown as Stripe.Event[])
      .slice(from)
      .filter((e) => e.type === 'invoiceitem.created')
      .map((e) => e.data.object as Stripe.InvoiceItem);
    expect(prorations.length).toBeGreaterThan(0);
    expect(prorations.every((p) => p.proration)).toBe(true);
    await deliverStripeEvents();
    expect((await itemRows(row)).map((i) => i.stc_quantity)).toEqual([5]);
    expect(await world.client.retrieve('stc_subscriptions', row)).toMatchObject({ stc_amount: 75 });
  });
});

/** A request made by a user through the Web API, its Create not delivered yet. */
async function post(userId: string, action: keyof typeof SubscriptionAction, body: Record<string, unknown>) {
  const made = await world.asUser(userId, 'POST', 'stc_subscriptionrequests', {
    stc_name: `Subscription: ${action}`,
    stc_action: SubscriptionAction[action],
    ...body,
  });
  return made.id!;
}

/** Stripe carries out the next matching request and its answer is lost (a 500 after the change was made). */
function loseNextAnswer(method: 'POST' | 'DELETE', pathIncludes: string) {
  world.stripeEmulator.injectFault({ status: 500, after: true, match: { method, pathIncludes } });
}

describe('a request resumed after Stripe made its change', () => {
  it.each([
    ['cancel_now', 'DELETE'],
    ['pause', 'POST'],
    ['resume', 'POST'],
  ] as const)(
    '%s: its answer was lost and the billing events arrived before the retry; the retry says Succeeded',
    async (action, method) => {
      const { subscription, row } = await subscribed();
      const target = { 'stc_subscriptionid@odata.bind': `/stc_subscriptions(${row})` };
      if (action === 'resume') {
        expect(requestRow(await ask(USERS.requester.systemuserid, 'pause', target)).stc_status).toBe(
          Status.succeeded,
        );
        await deliverStripeEvents();
      }
      const id = await post(USERS.requester.systemuserid, action, target);
      loseNextAnswer(method, `/v1/subscriptions/${subscription.id}`);
      await expect(deliver(world, handler, id, 'Create')).rejects.toThrow(/fault injected/);
      expect(requestRow(id).stc_status).toBe(Status.processing);
      // The change is made in Stripe, and its events bring the row in line before the request is retried.
      await deliverStripeEvents();
      const shown = await world.client.retrieve('stc_subscriptions', row);
      if (action === 'cancel_now') expect(shown!.stc_endedat).toEqual(expect.any(String));
      else expect(shown!.stc_pausecollection).toBe(action === 'pause' ? 'void' : null);

      await deliver(world, handler, id, 'Create');
      expect(requestRow(id)).toMatchObject({
        stc_status: Status.succeeded,
        stc_stripesubscriptionid: subscription.id,
        stc_failurereason: null,
      });
      // Stripe was asked once: the retry read the subscription and found the change made.
      const keyed = world.stripeEmulator.requests.filter((r) => r.idempotencyKey === id);
      expect(keyed).toHaveLength(1);
    },
  );

  it('cancel at period end: the period ended before the retry; the retry says Succeeded', async () => {
    const { subscription, row } = await subscribed();
    const id = await post(USERS.requester.systemuserid, 'cancel_at_period_end', {
      'stc_subscriptionid@odata.bind': `/stc_subscriptions(${row})`,
    });
    loseNextAnswer('POST', `/v1/subscriptions/${subscription.id}`);
    await expect(deliver(world, handler, id, 'Create')).rejects.toThrow(/fault injected/);
    expect((await world.stripe.subscriptions.retrieve(subscription.id)).cancel_at_period_end).toBe(true);
    // The period ends: Stripe cancels the subscription, and its row says so.
    world.stripeEmulator.testHelpers.renewSubscription(subscription.id);
    expect((await world.stripe.subscriptions.retrieve(subscription.id)).status).toBe('canceled');
    await deliverStripeEvents();

    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      stc_stripesubscriptionid: subscription.id,
      stc_failurereason: null,
    });
  });
});

describe('a created subscription looked up by its request before every create', () => {
  it('is found when the request changed before its retry: Succeeded with it, not Failed, and none made twice', async () => {
    const { account, price, customer } = await customerWithPrice();
    const id = await post(USERS.requester.systemuserid, 'create', {
      ...onAccount(account),
      stc_stripepriceid: price.id,
      stc_quantity: 2,
    });
    loseNextAnswer('POST', '/v1/subscriptions');
    await expect(deliver(world, handler, id, 'Create')).rejects.toThrow(/fault injected/);
    const [made] = (await world.stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data;
    expect(made.metadata).toEqual({ d365_subscriptionrequestid: id });
    // A user changes the quantity on the row before the retry: the same key with other parameters.
    await world.client.update('stc_subscriptionrequests', id, { stc_quantity: 3 });

    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      stc_stripesubscriptionid: made.id,
      stc_failurereason: null,
    });
    const all = await world.stripe.subscriptions.list({ status: 'all' });
    expect(all.data.map((s) => [s.id, s.items.data[0].quantity])).toEqual([[made.id, 2]]);
  });

  it("is found when another attempt made it under the request's key with other parameters after this one looked", async () => {
    const { account, price, customer } = await customerWithPrice();
    const id = await post(USERS.requester.systemuserid, 'create', {
      ...onAccount(account),
      stc_stripepriceid: price.id,
      stc_quantity: 2,
    });
    const stripe = world.stripeEmulator.client();
    const other = afterAnotherAttempt<Stripe.SubscriptionCreateParams, Stripe.Subscription>(
      stripe.subscriptions.create.bind(stripe.subscriptions),
      (params) => ({ ...params, items: params.items?.map((item) => ({ ...item, quantity: 1 })) }),
    );
    stripe.subscriptions.create = other.create as typeof stripe.subscriptions.create;
    await deliver(world, handler, id, 'Create', { ...world.context, stripeFor: () => stripe });

    const made = other.made();
    expect(requestRow(id)).toMatchObject({ stc_status: Status.succeeded, stc_stripesubscriptionid: made.id });
    const all = await world.stripe.subscriptions.list({ customer: customer.id, status: 'all' });
    expect(all.data.map((s) => s.id)).toEqual([made.id]);
  });

  it('is found after Stripe has forgotten the idempotency key: no second subscription', async () => {
    const { account, price, customer } = await customerWithPrice();
    const id = await post(USERS.requester.systemuserid, 'create', {
      ...onAccount(account),
      stc_stripepriceid: price.id,
    });
    // A worker moved it to Processing and Stripe made the subscription (its key long expired); nothing was
    // written back.
    await world.client.update('stc_subscriptionrequests', id, { stc_status: Status.processing });
    const made = await world.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 1 }],
      metadata: { d365_subscriptionrequestid: id },
    });

    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({ stc_status: Status.succeeded, stc_stripesubscriptionid: made.id });
    expect((await world.stripe.subscriptions.list({ status: 'all' })).data.map((s) => s.id)).toEqual([
      made.id,
    ]);
  });
});

describe('refused requests', () => {
  it('rejects a user without a requester role, with the reason, and asks Stripe nothing', async () => {
    const { account, price } = await customerWithPrice();
    const id = await ask(USERS.outsider.systemuserid, 'create', {
      ...onAccount(account),
      stc_stripepriceid: price.id,
    });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: `The requester (user ${USERS.outsider.systemuserid}) holds none of the roles allowed to request Stripe subscription changes: Stripe Refund Requester, Stripe Finance Approver.`,
      stc_stripesubscriptionid: null,
    });
    expect((await world.stripe.subscriptions.list({ status: 'all' })).data).toHaveLength(0);
  });

  it('asks Stripe nothing for a request a user created already in Processing, past the role check', async () => {
    const { account, price } = await customerWithPrice();
    const id = await ask(USERS.outsider.systemuserid, 'create', {
      ...onAccount(account),
      stc_stripepriceid: price.id,
      stc_status: Status.processing,
    });
    expect(requestRow(id)).toMatchObject({ stc_status: Status.rejected, stc_stripesubscriptionid: null });
    expect(requestRow(id).stc_failurereason).toMatch(
      /set to Processing by a user, not by the connector after its role and policy checks: nothing is asked of Stripe/,
    );
    expect((await world.stripe.subscriptions.list({ status: 'all' })).data).toHaveLength(0);
  });

  it('rejects an account without a Stripe customer, telling the user to sync it first', async () => {
    const { price } = await customerWithPrice();
    const account = await world.client.create('accounts', { name: 'Contoso' });
    const id = await ask(USERS.requester.systemuserid, 'create', {
      ...onAccount(account),
      stc_stripepriceid: price.id,
    });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason:
        'The account Contoso has no Stripe customer: sync the customer to Stripe first, then ask again.',
    });
    expect((await world.stripe.subscriptions.list({ status: 'all' })).data).toHaveLength(0);
  });

  it('rejects a change to a subscription of another customer', async () => {
    const { subscription, row } = await subscribed();
    const other = await world.client.create('accounts', {
      name: 'Fabrikam',
      stc_stripecustomerid: 'cus_other',
    });
    const id = await ask(USERS.requester.systemuserid, 'cancel_now', {
      ...onAccount(other),
      'stc_subscriptionid@odata.bind': `/stc_subscriptions(${row})`,
    });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.rejected,
      stc_failurereason: `The subscription ${subscription.id} does not belong to the account Fabrikam.`,
    });
    expect((await world.stripe.subscriptions.retrieve(subscription.id)).status).toBe('active');
  });

  it('rejects an account of the other Stripe mode', async () => {
    const { account, price } = await customerWithPrice();
    await world.client.update('accounts', account, { stc_livemode: true });
    const id = await ask(USERS.requester.systemuserid, 'create', {
      ...onAccount(account),
      stc_stripepriceid: price.id,
    });
    expect(requestRow(id).stc_failurereason).toBe(
      'The account Northwind is in Stripe live mode, and this service serves test mode.',
    );
  });

  it('fails with Stripe’s words when Stripe refuses, e.g. a price it does not have', async () => {
    const { account } = await customerWithPrice();
    const id = await ask(USERS.requester.systemuserid, 'create', {
      ...onAccount(account),
      stc_stripepriceid: 'price_missing',
    });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.failed,
      stc_failurereason: expect.stringMatching(/^Stripe refused the change: .*price_missing/),
    });
  });
});

test("the solution's step for new requests reaches this handler in the service's registry", () => {
  const router = createHandlerRouter(createSyncHandlers());
  const steps = webhookSteps.filter((step) => step.table === 'stc_subscriptionrequest');
  expect(steps.map((step) => step.message)).toEqual(['Create']);
  expect(router.dataverse(dataverseEventType(steps[0].table, steps[0].message))?.resource).toBe(
    'subscription-requests',
  );
});
