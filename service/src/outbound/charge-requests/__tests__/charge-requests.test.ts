/**
 * Charge requests over both emulators: a user's request row on a Dataverse account (through the Web API, as
 * the Charge saved card… form saves it, delivered by the emulator's webhook step) becomes one off-session
 * PaymentIntent of the customer's saved card on the Stripe emulator; Stripe's events, delivered through the
 * payments handler, bring the payment row, which the request links to. Thresholds, approvals, refusals,
 * declines, retries, and what is written to Dataverse.
 */
import type Stripe from 'stripe';
import { ChargeRequestStatus as Status, StripePaymentStatus } from '@stc/solution/tables';
import { webhookSteps } from '@stc/solution';
import { createChargeRequestsHandler } from '..';
import { dataverseEventType } from '../../../dataverse/change';
import { createSyncHandlers } from '../../../handlers';
import { createHandlerRouter } from '../../../pipeline';
import type { DataverseChangeHandler } from '../../../pipeline/handler';
import { OrderedDelivery, SyncHarness } from '../../../inbound/__tests__/harness';
import { StripeStub } from '../../../inbound/__tests__/stripe-stub';
import { deliver, startWorld, testSettings, USERS, type World } from '../../refund-requests/__tests__/world';

const settings = testSettings({ chargeApprovalThresholds: { usd: 50_000, jpy: 75_000, kwd: 150_000 } });

let world: World;
let handler: DataverseChangeHandler;
let payments: OrderedDelivery;
let delivered = 0;

beforeEach(async () => {
  world = await startWorld({ tables: ['stc_chargerequest'] });
  handler = createChargeRequestsHandler({ settings });
  payments = await OrderedDelivery.open(
    new SyncHarness(Object.assign(new StripeStub(), { stripeFor: () => world.stripe }), world.client),
  );
  delivered = 0;
});
afterEach(() => world.close());

/** A Stripe customer with `card` saved as its default (none: no saved card), and its Dynamics 365 account. */
async function customer(card: string | null = 'pm_card_visa', name = 'Northwind') {
  const made = await world.stripe.customers.create({
    name,
    ...(card ? { payment_method: card, invoice_settings: { default_payment_method: card } } : {}),
  });
  const account = await world.client.create('accounts', { name, stc_stripecustomerid: made.id });
  return { stripeCustomer: made, account };
}

/** A charge request made by a user through the Web API, delivered to the handler. */
async function ask(userId: string, account: string, amount: number, currency = 'usd', extra = {}) {
  const made = await world.asUser(userId, 'POST', 'stc_chargerequests', {
    stc_name: 'Charge of the saved card of Northwind',
    'stc_customerid_account@odata.bind': `/accounts(${account})`,
    stc_amount: amount,
    stc_currency: currency,
    stc_description: 'Extra seats, March',
    ...extra,
  });
  await deliver(world, handler, made.id!, 'Create');
  return made.id!;
}

const requestRow = (id: string) => world.dataverse.store.get('stc_chargerequests', id)!;
const intentPosts = () =>
  world.stripeEmulator.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');

async function deliverStripeEvents(): Promise<void> {
  const events = (world.stripeEmulator.events as unknown as Stripe.Event[]).slice(delivered);
  delivered += events.length;
  for (const event of events) await payments.deliver(event);
}

/** The request's own columns as Dataverse holds them, for what must never be there. */
function assertNoCardData(id: string, cards: string[]) {
  const row = requestRow(id);
  const text = JSON.stringify(row);
  expect(
    Object.keys(row).filter((key) => /card|last4|fingerprint|exp_|expiry|brand|paymentmethod/i.test(key)),
  ).toEqual([]);
  for (const secret of [...cards, '4242', '3184', 'fingerprint', 'exp_month', 'pm_'])
    expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
}

describe('a charge under the threshold', () => {
  it('charges the saved card once, off session, and the request shows Succeeded with its payment', async () => {
    const { stripeCustomer, account } = await customer();
    const id = await ask(USERS.requester.systemuserid, account, 199.99);
    const row = requestRow(id);
    expect(row).toMatchObject({
      stc_status: Status.succeeded,
      stc_failurereason: null,
      stc_livemode: false,
      _stc_requestedby_value: USERS.requester.systemuserid,
    });
    const intent = await world.stripe.paymentIntents.retrieve(String(row.stc_stripepaymentintentid));
    expect(intent).toMatchObject({
      status: 'succeeded',
      amount: 19999,
      currency: 'usd',
      customer: stripeCustomer.id,
      payment_method: stripeCustomer.invoice_settings.default_payment_method,
      description: 'Extra seats, March',
      metadata: { d365_chargerequestid: id },
    });
    expect(intentPosts().map((r) => r.idempotencyKey)).toEqual([id]);

    // Delivered again (the create and the service's own updates): nothing more is asked of Stripe.
    await deliver(world, handler, id);
    expect(intentPosts()).toHaveLength(1);

    // The payment row comes through Stripe's events and the request links to it.
    await deliverStripeEvents();
    const payment = await world.client.retrieveByKey('stc_payments', { stc_stripeid: intent.id });
    expect(payment).toMatchObject({
      stc_amount: 199.99,
      stc_currency: 'usd',
      _stc_customerid_value: account,
    });
    expect(requestRow(id)._stc_paymentid_value).toBe(payment!.stc_paymentid);
    assertNoCardData(id, []);
  });

  it("charges a contact's saved card", async () => {
    const made = await world.stripe.customers.create({
      name: 'Maria Campbell',
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const contact = await world.client.create('contacts', {
      firstname: 'Maria',
      lastname: 'Campbell',
      stc_stripecustomerid: made.id,
    });
    const request = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_chargerequests', {
      stc_name: 'Charge of the saved card of Maria Campbell',
      'stc_customerid_contact@odata.bind': `/contacts(${contact})`,
      stc_amount: 45,
      stc_currency: 'usd',
    });
    await deliver(world, handler, request.id!, 'Create');
    expect(requestRow(request.id!).stc_status).toBe(Status.succeeded);
    const intent = await world.stripe.paymentIntents.retrieve(
      String(requestRow(request.id!).stc_stripepaymentintentid),
    );
    expect([intent.customer, intent.amount, intent.currency]).toEqual([made.id, 4500, 'usd']);
  });

  it.each([
    ['jpy', 1500, 1500],
    ['kwd', 12.345, 12345],
  ])('charges exactly in %s: %d is %d minor units', async (currency, amount, minor) => {
    const { account } = await customer();
    const id = await ask(USERS.requester.systemuserid, account, amount, currency);
    expect(requestRow(id).stc_status).toBe(Status.succeeded);
    const intent = await world.stripe.paymentIntents.retrieve(
      String(requestRow(id).stc_stripepaymentintentid),
    );
    expect([intent.amount, intent.currency]).toEqual([minor, currency]);
  });

  it.each([
    ['answered 503 before acting: asked again under the same key', false, 2],
    ['made the charge but its answer was lost: found again, not asked again', true, 1],
  ])('is charged once when Stripe %s', async (_what, after, posts) => {
    const { account } = await customer();
    world.stripeEmulator.injectFault({
      status: 503,
      after,
      match: { method: 'POST', pathIncludes: '/v1/payment_intents' },
    });
    const made = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_chargerequests', {
      stc_name: 'Charge',
      'stc_customerid_account@odata.bind': `/accounts(${account})`,
      stc_amount: 20,
      stc_currency: 'usd',
    });
    const id = made.id!;
    await expect(deliver(world, handler, id, 'Create')).rejects.toThrow();
    expect(requestRow(id).stc_status).toBe(Status.sent);
    // The pipeline's retry: the request is resumed from Sent.
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id).stc_status).toBe(Status.succeeded);
    expect(intentPosts().map((r) => r.idempotencyKey)).toEqual(Array(posts).fill(id));
    const intents = await world.stripe.paymentIntents.list({ limit: 100 });
    expect(intents.data.map((pi) => [pi.id, pi.status])).toEqual([
      [requestRow(id).stc_stripepaymentintentid, 'succeeded'],
    ]);
  });
});

describe('a charge over the threshold', () => {
  it('waits for an approver with nothing sent, then is charged once the approver approves', async () => {
    const { account } = await customer();
    const id = await ask(USERS.requester.systemuserid, account, 600);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.awaiting_approval,
      stc_stripepaymentintentid: null,
    });
    expect(String(requestRow(id).stc_failurereason)).toContain('above the approval threshold of 500.00 USD');
    expect(intentPosts()).toHaveLength(0);

    // The requester cannot approve their own request.
    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `stc_chargerequests(${id})`, {
      stc_status: Status.approved,
    });
    await deliver(world, handler, id, 'Update');
    expect(requestRow(id).stc_status).toBe(Status.awaiting_approval);
    expect(String(requestRow(id).stc_failurereason)).toContain('holds none of the roles');
    expect(intentPosts()).toHaveLength(0);

    await world.forgetContexts();
    await world.asUser(USERS.approver.systemuserid, 'PATCH', `stc_chargerequests(${id})`, {
      stc_status: Status.approved,
    });
    await deliver(world, handler, id, 'Update');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      _stc_approvedby_value: USERS.approver.systemuserid,
    });
    expect(intentPosts().map((r) => r.idempotencyKey)).toEqual([id]);
  });
});

describe('a charge that pays an invoice', () => {
  /** An invoice of 120.50 USD for the account, with one line, as a salesperson makes it. */
  async function invoiceFor(account: string) {
    const usd = await world.client.create('transactioncurrencies', {
      currencyname: 'USD',
      isocurrencycode: 'USD',
      currencysymbol: '$',
      currencyprecision: 2,
      exchangerate: 1,
    });
    const currency = { 'transactioncurrencyid@odata.bind': `/transactioncurrencies(${usd})` };
    const id = await world.client.create('invoices', {
      name: 'Northwind support, March',
      'customerid_account@odata.bind': `/accounts(${account})`,
      ...currency,
    });
    await world.client.create('invoicedetails', {
      'invoiceid@odata.bind': `/invoices(${id})`,
      isproductoverridden: true,
      productdescription: 'Support hours',
      quantity: 1,
      priceperunit: 120.5,
      lineitemnumber: 1,
      ...currency,
    });
    return id;
  }

  it('charges its total, marks it paid and closed, and its payment row links to it', async () => {
    const { account } = await customer();
    const invoice = await invoiceFor(account);
    const id = await ask(USERS.requester.systemuserid, account, 120.5, 'usd', {
      'stc_invoiceid@odata.bind': `/invoices(${invoice})`,
    });
    expect(requestRow(id).stc_status).toBe(Status.succeeded);
    const paymentIntent = String(requestRow(id).stc_stripepaymentintentid);
    expect((await world.stripe.paymentIntents.retrieve(paymentIntent)).metadata).toEqual({
      d365_chargerequestid: id,
      d365_invoiceid: invoice,
    });
    expect(await world.client.retrieve('invoices', invoice)).toMatchObject({
      statecode: 2,
      stc_paymentstatus: StripePaymentStatus.paid,
      stc_amountpaid: 120.5,
      stc_stripepaymentid: paymentIntent,
    });
    await deliverStripeEvents();
    const payment = await world.client.retrieveByKey('stc_payments', { stc_stripeid: paymentIntent });
    expect(payment).toMatchObject({ _stc_invoiceid_value: invoice, stc_amount: 120.5 });

    // A second charge of the same invoice is refused: it is paid.
    const again = await ask(USERS.requester.systemuserid, account, 120.5, 'usd', {
      'stc_invoiceid@odata.bind': `/invoices(${invoice})`,
    });
    expect(requestRow(again)).toMatchObject({
      stc_status: Status.refused,
      stc_failurereason: expect.stringMatching(/^The invoice INV-\S+ is paid or closed already\.$/),
    });
    expect(intentPosts()).toHaveLength(1);
  });

  it('refuses a charge for another amount than the invoice total, charging nothing', async () => {
    const { account } = await customer();
    const invoice = await invoiceFor(account);
    const id = await ask(USERS.requester.systemuserid, account, 100, 'usd', {
      'stc_invoiceid@odata.bind': `/invoices(${invoice})`,
    });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.refused,
      stc_failurereason: expect.stringMatching(
        /^The invoice INV-\S+ totals 120\.50 USD, and the charge is for 100\.00 USD: a charge that pays it is for its total\.$/,
      ),
    });
    expect(intentPosts()).toHaveLength(0);
  });
});

describe('refused and failed charges', () => {
  it('refuses a customer with no saved payment method, saying so, and asks Stripe for no charge', async () => {
    const { stripeCustomer, account } = await customer(null);
    const id = await ask(USERS.requester.systemuserid, account, 20);
    expect(requestRow(id).stc_status).toBe(Status.refused);
    expect(requestRow(id).stc_failurereason).toBe(
      `The Stripe customer ${stripeCustomer.id} has no saved payment method: the customer has to save a card first (a Checkout Session or invoice payment with the card saved for later use).`,
    );
    expect(intentPosts()).toHaveLength(0);
  });

  it('charges the only saved card of a customer with no default, and refuses to choose between two', async () => {
    const one = await world.stripe.customers.create({
      name: 'One card',
      payment_method: 'pm_card_mastercard',
    });
    const oneAccount = await world.client.create('accounts', {
      name: 'One card',
      stc_stripecustomerid: one.id,
    });
    const charged = await ask(USERS.requester.systemuserid, oneAccount, 20);
    expect(requestRow(charged).stc_status).toBe(Status.succeeded);
    const [card] = (await world.stripe.customers.listPaymentMethods(one.id)).data;
    const intent = await world.stripe.paymentIntents.retrieve(
      String(requestRow(charged).stc_stripepaymentintentid),
    );
    expect(intent.payment_method).toBe(card.id);

    const two = await world.stripe.customers.create({ name: 'Two cards', payment_method: 'pm_card_visa' });
    await world.stripe.paymentMethods.attach('pm_card_mastercard', { customer: two.id });
    const twoAccount = await world.client.create('accounts', {
      name: 'Two cards',
      stc_stripecustomerid: two.id,
    });
    const refused = await ask(USERS.requester.systemuserid, twoAccount, 20);
    expect(requestRow(refused)).toMatchObject({
      stc_status: Status.refused,
      stc_failurereason: `The Stripe customer ${two.id} has several saved cards and no default payment method: set the default (invoice settings) in Stripe, then ask again.`,
    });
    expect(intentPosts()).toHaveLength(1);
  });

  it('charges nothing for a request a user created as Sent, skipping the policy, and refuses it', async () => {
    const { account } = await customer();
    const id = await ask(USERS.requester.systemuserid, account, 9_000, 'usd', { stc_status: Status.sent });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.refused,
      stc_failurereason: `The request was set to Sent by user ${USERS.requester.systemuserid}, not by the connector after its policy check: nothing is charged. Ask again with a new request.`,
    });
    expect(intentPosts()).toHaveLength(0);
  });

  it('charges nothing for a request a user set to Sent while it awaited approval, and refuses it', async () => {
    const { account } = await customer();
    const id = await ask(USERS.requester.systemuserid, account, 600);
    expect(requestRow(id).stc_status).toBe(Status.awaiting_approval);
    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `stc_chargerequests(${id})`, {
      stc_status: Status.sent,
    });
    await deliver(world, handler, id, 'Update');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.refused,
      stc_failurereason: `The request was set to Sent by user ${USERS.requester.systemuserid}, not by the connector after its policy check: nothing is charged. Ask again with a new request.`,
    });
    expect(intentPosts()).toHaveLength(0);
  });

  /**
   * A requester's request for 20 USD, sent to Stripe, which answers 503 before acting (`after: false`: nothing
   * charged) or after (`after: true`: charged, the answer lost): its delivery fails with the request Sent.
   */
  async function sentWhenStripeFails(after: boolean): Promise<string> {
    const { account } = await customer();
    world.stripeEmulator.injectFault({
      status: 503,
      after,
      match: { method: 'POST', pathIncludes: '/v1/payment_intents' },
    });
    const made = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_chargerequests', {
      stc_name: 'Charge',
      'stc_customerid_account@odata.bind': `/accounts(${account})`,
      stc_amount: 20,
      stc_currency: 'usd',
    });
    await expect(deliver(world, handler, made.id!, 'Create')).rejects.toThrow();
    expect(requestRow(made.id!).stc_status).toBe(Status.sent);
    return made.id!;
  }

  it('resumes a request the service sent when a user only edited another column of it, charging once', async () => {
    const id = await sentWhenStripeFails(false);
    // A user edits the description while the request is Sent: the row is theirs last, but their change does
    // not set Sent, so its delivery resumes the request under the same key.
    await world.forgetContexts();
    await world.asUser(USERS.approver.systemuserid, 'PATCH', `stc_chargerequests(${id})`, {
      stc_description: 'Extra seats',
    });
    await deliver(world, handler, id, 'Update');
    expect(requestRow(id).stc_status).toBe(Status.succeeded);
    expect(intentPosts().map((r) => r.idempotencyKey)).toEqual([id, id]);
    const intents = await world.stripe.paymentIntents.list({ limit: 100 });
    expect(intents.data.map((pi) => pi.id)).toEqual([requestRow(id).stc_stripepaymentintentid]);
  });

  it('finishes a sent charge whose row a user changed before its outcome was written, once', async () => {
    const id = await sentWhenStripeFails(true);
    // An approver edits the description while the request is Sent: the row is theirs last.
    await world.asUser(USERS.approver.systemuserid, 'PATCH', `stc_chargerequests(${id})`, {
      stc_description: 'Extra seats',
    });
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id).stc_status).toBe(Status.succeeded);
    const intents = await world.stripe.paymentIntents.list({ limit: 100 });
    expect(intents.data.map((pi) => pi.id)).toEqual([requestRow(id).stc_stripepaymentintentid]);
  });

  it('refuses a requester without a role allowed to charge', async () => {
    const { account } = await customer();
    const id = await ask(USERS.outsider.systemuserid, account, 20);
    expect(requestRow(id).stc_status).toBe(Status.refused);
    expect(requestRow(id).stc_failurereason).toBe(
      `The requester (user ${USERS.outsider.systemuserid}) holds none of the roles allowed to request charges of a saved payment method: Stripe Refund Requester, Stripe Finance Approver.`,
    );
    expect(intentPosts()).toHaveLength(0);
  });

  it('refuses an account without a Stripe customer', async () => {
    const account = await world.client.create('accounts', { name: 'Contoso' });
    const id = await ask(USERS.requester.systemuserid, account, 20);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.refused,
      stc_failurereason:
        'The account Contoso has no Stripe customer: sync the customer to Stripe first, then ask again.',
    });
  });

  it('fails with authentication_required when the card needs the customer there, and never asks again', async () => {
    const { account } = await customer('pm_card_authenticationRequired');
    const id = await ask(USERS.requester.systemuserid, account, 20);
    const row = requestRow(id);
    expect(row).toMatchObject({ stc_status: Status.failed, stc_declinecode: 'authentication_required' });
    expect(row.stc_failurereason).toBe(
      'Stripe refused the charge: Your card was declined. This transaction requires authentication. (authentication_required)',
    );
    const intent = await world.stripe.paymentIntents.retrieve(String(row.stc_stripepaymentintentid));
    expect(intent).toMatchObject({
      status: 'requires_payment_method',
      metadata: { d365_chargerequestid: id },
    });
    await deliver(world, handler, id);
    expect(intentPosts()).toHaveLength(1);
    assertNoCardData(id, [String(intent.last_payment_error?.payment_method?.id ?? 'pm_')]);
  });

  it('fails with the decline code of a saved card that is declined', async () => {
    // Stripe's card that can be saved but whose charges are declined (4000 0000 0000 0341).
    const { account } = await customer('pm_card_chargeCustomerFail');
    const id = await ask(USERS.requester.systemuserid, account, 20);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.failed,
      stc_declinecode: 'generic_decline',
      stc_failurereason: 'Stripe refused the charge: Your card was declined. (generic_decline)',
    });
    assertNoCardData(id, []);
  });
});

test("the solution's steps for new and approved requests reach this handler in the service's registry", () => {
  const router = createHandlerRouter(createSyncHandlers());
  const steps = webhookSteps.filter((step) => step.table === 'stc_chargerequest');
  expect(steps.map((step) => [step.message, step.filteringAttributes ?? null])).toEqual([
    ['Create', null],
    ['Update', ['stc_status', 'stc_approvedby']],
  ]);
  for (const step of steps)
    expect(router.dataverse(dataverseEventType(step.table, step.message))?.resource).toBe('charge-requests');
});
