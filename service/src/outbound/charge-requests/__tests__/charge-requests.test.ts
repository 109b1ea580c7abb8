/**
 * Charge requests over both emulators: a user's request row on a Dataverse account (through the Web API, as
 * the Charge saved card… form saves it, delivered by the emulator's webhook step) becomes one off-session
 * PaymentIntent of the customer's saved card on the Stripe emulator; Stripe's events, delivered through the
 * payments handler, bring the payment row, which the request links to. Thresholds, approvals, refusals,
 * declines, retries, and what is written to Dataverse.
 */
import type Stripe from 'stripe';
import {
  ChargeRequestStatus as Status,
  PaymentLinkRequestStatus,
  StripePaymentStatus,
} from '@stc/solution/tables';
import { webhookSteps } from '@stc/solution';
import { createChargeRequestsHandler } from '..';
import { dataverseEventType } from '../../../dataverse/change';
import { createSyncHandlers } from '../../../handlers';
import { createHandlerRouter } from '../../../pipeline';
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
/** A charge request a user created through the Web API (as the request form does), not worked yet. */
async function created(
  userId: string,
  account: string,
  amount: number,
  fields: Record<string, unknown> = {},
) {
  const made = await world.asUser(userId, 'POST', 'stc_chargerequests', {
    stc_name: 'Charge',
    'stc_customerid_account@odata.bind': `/accounts(${account})`,
    stc_amount: amount,
    stc_currency: 'usd',
    ...fields,
  });
  return made.id!;
}

/** A request created and worked once (its Create webhook delivered). */
async function ask(userId: string, account: string, amount: number, currency = 'usd', extra = {}) {
  const id = await created(userId, account, amount, {
    stc_name: 'Charge of the saved card of Northwind',
    stc_currency: currency,
    stc_description: 'Extra seats, March',
    ...extra,
  });
  await deliver(world, handler, id, 'Create');
  return id;
}

/** The PaymentIntent the service makes for a request, made in Stripe without it (as by a worker gone since). */
function chargedInStripe(stripeCustomer: Stripe.Customer, id: string, amountMinor: number) {
  return world.stripe.paymentIntents.create({
    amount: amountMinor,
    currency: 'usd',
    customer: stripeCustomer.id,
    payment_method: String(stripeCustomer.invoice_settings.default_payment_method),
    confirm: true,
    off_session: true,
    metadata: { d365_chargerequestid: id },
  });
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
    const id = await created(USERS.requester.systemuserid, account, 20);
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

describe("a customer's charges without an approver, weighed together", () => {
  const patch = (userId: string, id: string, body: Record<string, unknown>) =>
    world.asUser(userId, 'PATCH', `stc_chargerequests(${id})`, body);

  it("holds a request under the threshold once the customer's charges without an approver pass it together", async () => {
    const { account } = await customer();
    const first = await ask(USERS.requester.systemuserid, account, 300);
    expect(requestRow(first).stc_status).toBe(Status.succeeded);
    // The requester records an approver on the first themselves: its PaymentIntent's metadata, which no
    // Dataverse user writes, still says it was made without one.
    await patch(USERS.requester.systemuserid, first, {
      'stc_approvedby@odata.bind': `/systemusers(${USERS.approver.systemuserid})`,
    });
    expect(requestRow(first)._stc_approvedby_value).toBe(USERS.approver.systemuserid);

    // 300 more for the same customer: under the 500 USD threshold alone, 600 with the first.
    const second = await ask(USERS.requester.systemuserid, account, 300);
    expect(requestRow(second)).toMatchObject({
      stc_status: Status.awaiting_approval,
      stc_failurereason:
        'Charges of this customer without an approver (those on their way, and those made in the last 24 hours) would come to 600.00 USD with this request, more than the approval threshold of 500.00 USD: a finance approver has to approve it.',
    });
    expect(intentPosts()).toHaveLength(1);

    await world.forgetContexts();
    await patch(USERS.approver.systemuserid, second, { stc_status: Status.approved });
    await deliver(world, handler, second);
    expect(requestRow(second)).toMatchObject({
      stc_status: Status.succeeded,
      _stc_approvedby_value: USERS.approver.systemuserid,
    });

    // The approved one does not count: 300 + 150 is under the threshold, charged without an approver.
    const third = await ask(USERS.requester.systemuserid, account, 150);
    expect(requestRow(third).stc_status).toBe(Status.succeeded);
    // Another currency and another customer are weighed on their own.
    const yen = await ask(USERS.requester.systemuserid, account, 70_000, 'jpy');
    expect(requestRow(yen).stc_status).toBe(Status.succeeded);
    const other = await customer('pm_card_visa', 'Contoso');
    const elsewhere = await ask(USERS.requester.systemuserid, other.account, 400);
    expect(requestRow(elsewhere).stc_status).toBe(Status.succeeded);
    expect(intentPosts()).toHaveLength(5);
  });

  it('counts a request still on its way, and no longer a charge that succeeded more than a day ago', async () => {
    const { account } = await customer();
    const first = await ask(USERS.requester.systemuserid, account, 300);
    expect(requestRow(first).stc_status).toBe(Status.succeeded);
    // Charged two days ago: its PaymentIntent, which the threshold reads, was made then.
    const intent = world.stripeEmulator.engine
      .scope(null)
      .find(String(requestRow(first).stc_stripepaymentintentid))!;
    intent.created = Number(intent.created) - 48 * 3600;

    // Two undecided requests: the one decided first counts the other (300 + 300) and waits; the other then
    // does not count a request waiting for its approver and is charged.
    const id = await created(USERS.requester.systemuserid, account, 300);
    await world.dataverse.webhooksIdle();
    const later = await ask(USERS.requester.systemuserid, account, 300);
    expect(requestRow(later).stc_status).toBe(Status.awaiting_approval);
    expect(requestRow(later).stc_failurereason).toMatch(/would come to 600\.00 USD with this request/);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id).stc_status).toBe(Status.succeeded);
  });
});

describe('a decision is bound to its amount', () => {
  const patch = (userId: string, id: string, body: Record<string, unknown>) =>
    world.asUser(userId, 'PATCH', `stc_chargerequests(${id})`, body);

  it('keeps a refused request refused when it is approved afterwards, and charges nothing', async () => {
    const { account } = await customer();
    const id = await ask(USERS.requester.systemuserid, account, 600);
    expect(requestRow(id).stc_status).toBe(Status.awaiting_approval);
    // One approver refuses it; another, whose form still showed it waiting, approves it.
    await world.forgetContexts();
    await patch(USERS.approver.systemuserid, id, {
      stc_status: Status.refused,
      stc_failurereason: 'The customer disputes the seats.',
    });
    await deliver(world, handler, id);
    await world.forgetContexts();
    await patch(USERS.approver.systemuserid, id, { stc_status: Status.approved });
    await deliver(world, handler, id);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.refused,
      stc_failurereason:
        'The customer disputes the seats. This request is finished and cannot be approved or asked again: make a new request.',
    });
    expect(intentPosts()).toHaveLength(0);
  });

  it('counts an approval only for the amount approved: an amount raised before the approval is worked waits again', async () => {
    const { account } = await customer();
    const id = await ask(USERS.requester.systemuserid, account, 600);
    expect(requestRow(id).stc_status).toBe(Status.awaiting_approval);

    // Approved at 600; the requester raises the amount before the service works the approval's change.
    await world.forgetContexts();
    await patch(USERS.approver.systemuserid, id, { stc_status: Status.approved });
    await patch(USERS.requester.systemuserid, id, { stc_amount: 60_000 });
    await deliver(world, handler, id);
    expect(intentPosts()).toHaveLength(0);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.awaiting_approval,
      stc_amount: 60_000,
      _stc_approvedby_value: null,
      stc_failurereason:
        'The amount was changed from 600.00 USD to 60000.00 USD after it was approved: the approval was for the old amount, and the new one needs its own.',
    });

    // Approved at 60,000: charged 60,000, with the approver recorded.
    await world.forgetContexts();
    await patch(USERS.approver.systemuserid, id, { stc_status: Status.approved });
    await deliver(world, handler, id);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      _stc_approvedby_value: USERS.approver.systemuserid,
    });
    const intent = await world.stripe.paymentIntents.retrieve(
      String(requestRow(id).stc_stripepaymentintentid),
    );
    expect(intent.amount).toBe(6_000_000);
    expect(intentPosts()).toHaveLength(1);
  });

  it('charges an approved request whose amount a change made with the approval itself', async () => {
    const { account } = await customer();
    const id = await ask(USERS.requester.systemuserid, account, 600);
    await world.forgetContexts();
    await patch(USERS.approver.systemuserid, id, { stc_status: Status.approved, stc_amount: 650 });
    await deliver(world, handler, id);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      _stc_approvedby_value: USERS.approver.systemuserid,
    });
    const intent = await world.stripe.paymentIntents.retrieve(
      String(requestRow(id).stc_stripepaymentintentid),
    );
    expect(intent.amount).toBe(65_000);
  });

  /** A request of 20 USD the service sent, Stripe answering 503 before acting: left Sent, nothing charged. */
  async function sentAndUnanswered(): Promise<string> {
    const { account } = await customer();
    world.stripeEmulator.injectFault({
      status: 503,
      match: { method: 'POST', pathIncludes: '/v1/payment_intents' },
    });
    const requestId = await created(USERS.requester.systemuserid, account, 20);
    await expect(deliver(world, handler, requestId, 'Create')).rejects.toThrow();
    expect(requestRow(requestId).stc_status).toBe(Status.sent);
    return requestId;
  }

  it('decides again, and charges nothing without approval, a request whose amount was raised while its charge waited for a retry', async () => {
    const id = await sentAndUnanswered();
    await patch(USERS.requester.systemuserid, id, { stc_amount: 9_000 });
    // The retry of its Create, then the amount's own change.
    await deliver(world, handler, id, 'Create');
    expect(intentPosts().filter((r) => r.outcome !== 503)).toHaveLength(0);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.awaiting_approval,
      stc_amount: 9_000,
      stc_failurereason:
        'The amount was changed from 20.00 USD to 9000.00 USD after the request was decided: the new amount needs a finance approver.',
    });
    await deliver(world, handler, id, 'Update');
    expect(requestRow(id).stc_status).toBe(Status.awaiting_approval);
    expect(await world.stripe.paymentIntents.list({ limit: 100 })).toMatchObject({ data: [] });
  });

  it("decides again a Sent request from the change that raised its amount, whatever that change's image shows", async () => {
    const id = await sentAndUnanswered();
    await world.forgetContexts();
    await patch(USERS.requester.systemuserid, id, { stc_amount: 9_000 });
    // Only the amount's change is delivered: its post-image shows the new amount and the request Sent.
    await deliver(world, handler, id, 'Update');
    expect(requestRow(id)).toMatchObject({ stc_status: Status.awaiting_approval, stc_amount: 9_000 });
    expect(requestRow(id).stc_failurereason).toBe(
      'The amount was changed to 9000.00 USD after the request was decided: the request was decided again, and the new amount needs a finance approver.',
    );
    expect(await world.stripe.paymentIntents.list({ limit: 100 })).toMatchObject({ data: [] });
  });

  it('charges the new amount of a request decided again under the threshold, with no approver', async () => {
    const id = await sentAndUnanswered();
    await patch(USERS.requester.systemuserid, id, { stc_amount: 30 });
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({ stc_status: Status.succeeded, _stc_approvedby_value: null });
    const intents = await world.stripe.paymentIntents.list({ limit: 100 });
    expect(intents.data.map((pi) => [pi.amount, pi.status])).toEqual([[3_000, 'succeeded']]);
  });
});

describe('a request Stripe already charged', () => {
  const patch = (userId: string, id: string, body: Record<string, unknown>) =>
    world.asUser(userId, 'PATCH', `stc_chargerequests(${id})`, body);

  it('is never charged again when set back to Approved with another amount: its outcome is written again', async () => {
    const { account } = await customer();
    const id = await ask(USERS.requester.systemuserid, account, 25);
    const paymentIntent = requestRow(id).stc_stripepaymentintentid;
    expect(requestRow(id).stc_status).toBe(Status.succeeded);

    await world.forgetContexts();
    const before = world.stripeEmulator.requests.length;
    await patch(USERS.approver.systemuserid, id, { stc_amount: 30, stc_status: Status.approved });
    await deliver(world, handler, id);
    expect(world.stripeEmulator.requests.slice(before).filter((r) => r.method === 'POST')).toEqual([]);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      stc_stripepaymentintentid: paymentIntent,
      stc_amount: 25,
      stc_failurereason: null,
      stc_declinecode: null,
    });

    // Set back to Pending: the same.
    await world.forgetContexts();
    await patch(USERS.requester.systemuserid, id, { stc_status: Status.pending });
    await deliver(world, handler, id);
    expect(world.stripeEmulator.requests.slice(before).filter((r) => r.method === 'POST')).toEqual([]);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      stc_stripepaymentintentid: paymentIntent,
    });
  });

  it('finds the PaymentIntent it made before making one, even when Stripe no longer knows the idempotency key', async () => {
    const { stripeCustomer, account } = await customer();
    const id = await created(USERS.requester.systemuserid, account, 12);
    // A worker moved it to Sent and Stripe charged it (its key long expired); nothing was written back. Then
    // the requester, seeing it stuck, sets it back to Pending.
    await world.client.update('stc_chargerequests', id, { stc_status: Status.sent });
    const charged = await chargedInStripe(stripeCustomer, id, 1200);
    await world.forgetContexts();
    await patch(USERS.requester.systemuserid, id, { stc_status: Status.pending });
    await deliver(world, handler, id);

    expect(intentPosts()).toHaveLength(1);
    expect(intentPosts().map((r) => r.idempotencyKey)).not.toContain(id);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      stc_stripepaymentintentid: charged.id,
    });
  });

  it("a PaymentIntent another attempt made under the request's key with other parameters completes the request", async () => {
    const { stripeCustomer, account } = await customer();
    const id = await created(USERS.requester.systemuserid, account, 12);
    // Between this worker's look for a PaymentIntent and its create, another attempt of the request (which saw
    // the amount before an edit) charges under the same key: Stripe answers this create with an idempotency
    // error.
    const stripe = world.stripeEmulator.client();
    const other = afterAnotherAttempt<Stripe.PaymentIntentCreateParams, Stripe.PaymentIntent>(
      stripe.paymentIntents.create.bind(stripe.paymentIntents),
      (params) => ({ ...params, amount: 1100 }),
    );
    stripe.paymentIntents.create = other.create as typeof stripe.paymentIntents.create;
    await deliver(world, handler, id, 'Create', { ...world.context, stripeFor: () => stripe });

    const charged = await world.stripe.paymentIntents.list({ customer: stripeCustomer.id });
    expect(charged.data.map((pi) => pi.id)).toEqual([other.made().id]);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      stc_stripepaymentintentid: other.made().id,
    });
  });

  it('keeps a declined request Failed when it is set back to Pending, asking Stripe for nothing', async () => {
    const { account } = await customer('pm_card_chargeCustomerFail');
    const id = await ask(USERS.requester.systemuserid, account, 20);
    expect(requestRow(id).stc_status).toBe(Status.failed);
    await world.forgetContexts();
    await patch(USERS.requester.systemuserid, id, { stc_status: Status.pending });
    await deliver(world, handler, id);
    expect(intentPosts()).toHaveLength(1);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.failed,
      stc_declinecode: 'generic_decline',
      stc_failurereason:
        'Stripe refused the charge: Your card was declined. (generic_decline) This request is finished and cannot be approved or asked again: make a new request.',
    });
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

  /** An open payment page of the invoice, as a payment link request leaves it: its session and Created row. */
  async function openPage(invoice: string) {
    const session = await world.stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [
        {
          price_data: { currency: 'usd', unit_amount: 12050, product_data: { name: 'Support hours' } },
          quantity: 1,
        },
      ],
      metadata: { d365_invoiceid: invoice },
    });
    const request = await world.client.create('stc_paymentlinkrequests', {
      stc_name: 'Payment page',
      'stc_invoiceid@odata.bind': `/invoices(${invoice})`,
      stc_status: PaymentLinkRequestStatus.created,
      stc_stripesessionid: session.id,
      stc_url: session.url,
    });
    return { session, request };
  }

  it('expires the invoice\u2019s open payment page before charging it, so that it cannot be paid twice', async () => {
    const { account } = await customer();
    const invoice = await invoiceFor(account);
    const page = await openPage(invoice);
    const id = await ask(USERS.requester.systemuserid, account, 120.5, 'usd', {
      'stc_invoiceid@odata.bind': `/invoices(${invoice})`,
    });
    expect(requestRow(id).stc_status).toBe(Status.succeeded);
    expect((await world.stripe.checkout.sessions.retrieve(page.session.id)).status).toBe('expired');
    expect(world.dataverse.store.get('stc_paymentlinkrequests', page.request)).toMatchObject({
      stc_status: PaymentLinkRequestStatus.expired,
      stc_failurereason: `The invoice is being charged to the customer's saved payment method (charge request ${id}); this page was expired so that it cannot be paid twice.`,
    });
  });

  it('charges nothing when the invoice was paid on its payment page, its events not arrived yet', async () => {
    const { account } = await customer();
    const invoice = await invoiceFor(account);
    const page = await openPage(invoice);
    const paid = await fetch(page.session.url!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ card_number: '4242424242424242' }),
    });
    expect(paid.status).toBe(200);
    const id = await ask(USERS.requester.systemuserid, account, 120.5, 'usd', {
      'stc_invoiceid@odata.bind': `/invoices(${invoice})`,
    });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.failed,
      stc_failurereason: `The invoice was paid on the payment page of request ${page.request} already: nothing was charged.`,
    });
    expect(intentPosts()).toHaveLength(0);
  });

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

  it("marks the invoice paid only once a bank debit of it succeeds, from the payment's events", async () => {
    const { account } = await customer('pm_usBankAccount_success');
    const invoice = await invoiceFor(account);
    const id = await ask(USERS.requester.systemuserid, account, 120.5, 'usd', {
      'stc_invoiceid@odata.bind': `/invoices(${invoice})`,
    });
    expect(requestRow(id).stc_status).toBe(Status.sent);
    await deliverStripeEvents();
    expect(await world.client.retrieve('invoices', invoice)).toMatchObject({ statecode: 0 });

    const paymentIntent = String(requestRow(id).stc_stripepaymentintentid);
    world.stripeEmulator.testHelpers.settleBankDebit(paymentIntent);
    await deliverStripeEvents();
    expect(requestRow(id).stc_status).toBe(Status.succeeded);
    expect(await world.client.retrieve('invoices', invoice)).toMatchObject({
      statecode: 2,
      stc_paymentstatus: StripePaymentStatus.paid,
      stc_amountpaid: 120.5,
      stc_stripepaymentid: paymentIntent,
    });
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

describe('a bank debit Stripe holds as processing', () => {
  it("leaves the request Sent, charges nothing more when it is worked again, and completes it from the payment's events", async () => {
    const { account } = await customer('pm_usBankAccount_success');
    const id = await ask(USERS.requester.systemuserid, account, 120);
    const paymentIntent = String(requestRow(id).stc_stripepaymentintentid);
    expect(paymentIntent).toMatch(/^pi_/);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.sent,
      stc_failurereason:
        'Stripe holds the charge as processing (a bank debit takes days to settle); the request is completed when Stripe settles it.',
    });
    expect((await world.stripe.paymentIntents.retrieve(paymentIntent)).status).toBe('processing');

    // Worked again (a redelivery, a user's edit): nothing more is asked of Stripe, the request stays Sent.
    await deliver(world, handler, id);
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `stc_chargerequests(${id})`, {
      stc_description: 'Extra seats, April',
    });
    await deliver(world, handler, id, 'Update');
    expect(intentPosts()).toHaveLength(1);
    await deliverStripeEvents();
    expect(requestRow(id).stc_status).toBe(Status.sent);

    world.stripeEmulator.testHelpers.settleBankDebit(paymentIntent);
    await deliverStripeEvents();
    const payment = await world.client.retrieveByKey('stc_payments', { stc_stripeid: paymentIntent });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      stc_failurereason: null,
      stc_declinecode: null,
      _stc_paymentid_value: payment!.stc_paymentid,
    });
    assertNoCardData(id, []);
    expect(JSON.stringify(requestRow(id))).not.toContain('6789');
  });

  it("completes the request from a refund's events when they supersede the settlement's", async () => {
    const { account } = await customer('pm_usBankAccount_success');
    const id = await ask(USERS.requester.systemuserid, account, 120);
    const paymentIntent = String(requestRow(id).stc_stripepaymentintentid);
    await deliverStripeEvents();
    world.stripeEmulator.testHelpers.settleBankDebit(paymentIntent);
    const settled = world.stripeEmulator.events.length;
    await world.stripe.refunds.create({ payment_intent: paymentIntent, amount: 2000 });
    // The refund five seconds after the settlement, its events first: charge.refunded (the payment's own)
    // supersedes the settlement's events.
    const events = world.stripeEmulator.events as unknown as Stripe.Event[];
    const later = events.slice(settled).map((e) => ({ ...e, created: e.created + 5 }));
    const outcomes = [];
    for (const event of [...later, ...events.slice(delivered, settled)])
      outcomes.push(await payments.deliver(event));
    delivered = events.length;
    expect(outcomes).toContain('superseded');
    const payment = await world.client.retrieveByKey('stc_payments', { stc_stripeid: paymentIntent });
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.succeeded,
      _stc_paymentid_value: payment!.stc_paymentid,
    });
  });

  it("fails the request with the bank's code and reason when the debit is returned", async () => {
    const { account } = await customer('pm_usBankAccount_insufficientFunds');
    const id = await ask(USERS.requester.systemuserid, account, 80);
    expect(requestRow(id).stc_status).toBe(Status.sent);
    world.stripeEmulator.testHelpers.settleBankDebit(String(requestRow(id).stc_stripepaymentintentid));
    await deliverStripeEvents();
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.failed,
      stc_declinecode: 'insufficient_funds',
      stc_failurereason:
        "Stripe reports the charge failed: The customer's account has insufficient funds to cover this payment. (insufficient_funds)",
    });
    // Worked again afterwards: it stays Failed, nothing asked again.
    await deliver(world, handler, id);
    expect(requestRow(id).stc_status).toBe(Status.failed);
    expect(intentPosts()).toHaveLength(1);
  });

  it('leaves a request whose payment event names another PaymentIntent, or that is still on its way to its charge', async () => {
    const { stripeCustomer, account } = await customer('pm_usBankAccount_success');
    const id = await created(USERS.requester.systemuserid, account, 30);
    await world.client.update('stc_chargerequests', id, { stc_status: Status.sent });
    const paymentIntent = await chargedInStripe(stripeCustomer, id, 3000);
    world.stripeEmulator.testHelpers.settleBankDebit(paymentIntent.id);
    await deliverStripeEvents();
    expect(requestRow(id)).toMatchObject({ stc_status: Status.sent, stc_stripepaymentintentid: null });
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
    const requestId = await created(USERS.requester.systemuserid, account, 20);
    await expect(deliver(world, handler, requestId, 'Create')).rejects.toThrow();
    expect(requestRow(requestId).stc_status).toBe(Status.sent);
    return requestId;
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
