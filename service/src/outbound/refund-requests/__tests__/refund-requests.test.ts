/**
 * Governed refunds against the real Dataverse emulator (through the real client, with users, roles and
 * webhook steps) and the real Stripe emulator (through the official SDK): balance, threshold, roles,
 * approvals, repeated deliveries, concurrent workers, resuming after a crash, Stripe's refusals, loop guard.
 */
import {
  StcRefundReason,
  StcRefundRequestStatus as Status,
  StcRefundStatus,
  StcPaymentStatus,
} from '@stc/solution';
import {
  createRefundRequestsHandler,
  decideRefund,
  majorToMinor,
  thresholdIn,
  type OutboundSettings,
} from '..';
import Stripe from 'stripe';
import type { DataverseChangeHandler } from '../../../pipeline/handler';
import { createRefundsHandler } from '../../../inbound/refunds';
import { lazyMappings } from '../../../write/mappings';
import { afterAnotherAttempt, dataverseChange, deliver, startWorld, USERS, type World } from './world';

const settings = (extra: Partial<OutboundSettings> = {}): OutboundSettings => ({
  stripeMode: 'test',
  serviceUserId: USERS.service.systemuserid,
  approvalThresholds: { usd: 10_000 },
  requesterRoles: ['Stripe Refund Requester', 'Stripe Finance Approver'],
  approverRoles: ['Stripe Finance Approver'],
  allowSelfApproval: false,
  settingsCacheMs: 0,
  ...extra,
});

let world: World;
let handler: DataverseChangeHandler;

beforeEach(async () => {
  world = await startWorld({ tables: ['stc_refundrequest'] });
  handler = createRefundRequestsHandler({ settings: settings() });
});
afterEach(() => world.close());

/** A succeeded card payment in Stripe and its stc_payment row in Dataverse, as the Stripe sync writes it. */
async function payment(
  amountMinor = 20_000,
  currency = 'usd',
): Promise<{ paymentIntentId: string; rowId: string }> {
  const intent = await world.stripe.paymentIntents.create({
    amount: amountMinor,
    currency,
    payment_method: 'pm_card_visa',
    confirm: true,
  });
  const major = amountMinor / 10 ** (currency === 'jpy' ? 0 : 2);
  const rowId = world.dataverse.store.insert('stc_payments', {
    stc_name: intent.id,
    stc_stripeid: intent.id,
    stc_amount: major,
    stc_amountcaptured: major,
    stc_amountrefunded: 0,
    stc_currency: currency,
    stc_status: StcPaymentStatus.Succeeded,
    stc_livemode: false,
  });
  return { paymentIntentId: intent.id, rowId };
}

/** A refund request created by a user through the Web API (as the payment panel does). */
async function requestRefund(
  userId: string,
  paymentRowId: string,
  amount: number,
  currency = 'usd',
): Promise<string> {
  const { id } = await world.asUser(userId, 'POST', 'stc_refundrequests', {
    stc_name: `Refund ${amount}`,
    'stc_paymentid@odata.bind': `/stc_payments(${paymentRowId})`,
    stc_amount: amount,
    stc_currency: currency,
    stc_reason: StcRefundReason.RequestedByCustomer,
  });
  return id!;
}

const requestRow = (id: string) => world.dataverse.store.get('stc_refundrequests', id)!;
const refundsOf = async (paymentIntentId: string) =>
  (await world.stripe.refunds.list({ payment_intent: paymentIntentId })).data;

describe('refund within policy', () => {
  it('refunds through Stripe with the request id as idempotency key and writes the outcome and the refund row', async () => {
    const { paymentIntentId, rowId } = await payment(20_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 25.5);

    expect(await deliver(world, handler, id, 'Create')).toBe(1);

    const refunds = await refundsOf(paymentIntentId);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({
      amount: 2550,
      reason: 'requested_by_customer',
      metadata: { d365_refundrequestid: id },
    });
    const created = world.stripeEmulator.events.find((e) => e.type === 'refund.created');
    expect(created?.request).toMatchObject({ idempotency_key: id });

    const row = requestRow(id);
    expect(row).toMatchObject({
      stc_status: Status.Succeeded,
      stc_striperefundid: refunds[0].id,
      stc_failurereason: null,
      _stc_requestedby_value: USERS.requester.systemuserid,
    });
    const refundRow = world.dataverse.store.rows('stc_refunds').find((r) => r.stc_stripeid === refunds[0].id);
    expect(refundRow).toMatchObject({ stc_amount: 25.5, stc_currency: 'usd', _stc_paymentid_value: rowId });
    expect(row._stc_refundid_value).toBe(refundRow!.stc_refundid);
  });

  it("reads the payment's refunds from Stripe once: the policy's list also tells that none was made for the request", async () => {
    const { paymentIntentId, rowId } = await payment(20_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 12);
    const before = world.stripeEmulator.requests.length;

    expect(await deliver(world, handler, id, 'Create')).toBe(1);

    const refundRequests = world.stripeEmulator.requests
      .slice(before)
      .filter((r) => r.path === '/v1/refunds')
      .map((r) => r.method);
    expect(refundRequests).toEqual(['GET', 'POST']);
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);
    expect(requestRow(id).stc_status).toBe(Status.Succeeded);
  });

  it('converts by the currency exponent (zero-decimal JPY)', async () => {
    const { paymentIntentId, rowId } = await payment(5000, 'jpy');
    // Thresholds are in minor units of each currency: 10,000 JPY here.
    const yen = createRefundRequestsHandler({
      settings: settings({ approvalThresholds: { usd: 10_000, jpy: 10_000 } }),
    });
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 1200, 'jpy');
    await deliver(world, yen, id, 'Create');
    expect((await refundsOf(paymentIntentId))[0].amount).toBe(1200);
    expect(requestRow(id).stc_status).toBe(Status.Succeeded);
  });
});

describe('thresholds per currency', () => {
  it('holds a JPY request above its threshold while a USD one of the same number is refunded', async () => {
    const perCurrency = createRefundRequestsHandler({
      settings: settings({ approvalThresholds: { usd: 100_000, jpy: 500 } }),
    });
    const dollars = await payment(100_000, 'usd');
    const yen = await payment(100_000, 'jpy');
    const inDollars = await requestRefund(USERS.requester.systemuserid, dollars.rowId, 600, 'usd');
    const inYen = await requestRefund(USERS.requester.systemuserid, yen.rowId, 600, 'jpy');
    await deliver(world, perCurrency, inDollars, 'Create');
    await deliver(world, perCurrency, inYen, 'Create');
    // 600 USD is 60,000 cents, within 100,000; 600 JPY is above 500 JPY.
    expect(requestRow(inDollars).stc_status).toBe(Status.Succeeded);
    expect((await refundsOf(dollars.paymentIntentId))[0].amount).toBe(60_000);
    expect(requestRow(inYen)).toMatchObject({ stc_status: Status.AwaitingApproval, stc_failurereason: null });
    expect(await refundsOf(yen.paymentIntentId)).toHaveLength(0);
  });

  it('holds every request in a currency without a threshold, saying so on the row', async () => {
    const { paymentIntentId, rowId } = await payment(10_000, 'eur');
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 1, 'eur');
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.AwaitingApproval,
      stc_failurereason: 'No approval threshold is set for EUR: every refund in it needs a finance approver.',
    });
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
  });
});

describe('Stripe mode', () => {
  it('rejects, in a test-mode service, a request about a live-mode payment without calling Stripe', async () => {
    const { paymentIntentId, rowId } = await payment(10_000);
    await world.client.update('stc_payments', rowId, { stc_livemode: true });
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 10);
    const stripeFor = jest.spyOn(world.context, 'stripeFor');
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.Rejected,
      stc_failurereason:
        'The payment is a live-mode Stripe payment, but this connector serves test mode only: it cannot refund it.',
    });
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
    expect(stripeFor).not.toHaveBeenCalled();
    expect([...world.dataverse.store.rows('stc_refunds')]).toEqual([]);
  });

  it('rejects a request marked live mode even when its payment is a test one', async () => {
    const { paymentIntentId, rowId } = await payment(10_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 10);
    await world.client.update('stc_refundrequests', id, { stc_livemode: true });
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.Rejected,
      stc_failurereason: 'The request is marked live mode, but this connector serves test mode only.',
    });
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
  });

  it('rejects a test-mode request in a live-mode service', async () => {
    const { paymentIntentId, rowId } = await payment(10_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 10);
    const live = createRefundRequestsHandler({ settings: settings({ stripeMode: 'live' }) });
    await deliver(world, live, id, 'Create');
    expect(requestRow(id).stc_failurereason).toBe(
      'The payment is a test-mode Stripe payment, but this connector serves live mode only: it cannot refund it.',
    );
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
  });
});

describe('repeated deliveries and concurrent workers', () => {
  it('a second delivery of the same webhook, and the service’s own update webhooks, refund nothing more', async () => {
    const { paymentIntentId, rowId } = await payment();
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 10);
    await deliver(world, handler, id, 'Create');
    await deliver(world, handler, id, 'Create');
    // Every context so far: the create (twice over now) and the updates the service made itself.
    const all = await deliver(world, handler, id);
    expect(all).toBeGreaterThanOrEqual(3);
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);
    expect(requestRow(id).stc_status).toBe(Status.Succeeded);
  });

  it('two workers holding the same delivery at once make one refund (etag on the status move, idempotency key on Stripe)', async () => {
    const { paymentIntentId, rowId } = await payment();
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 10);
    await world.dataverse.webhooksIdle();
    const [context] = world.receiver.about(id, 'Create');
    const other = createRefundRequestsHandler({ settings: settings() });
    await Promise.all([
      handler.handle(dataverseChange(context), world.context),
      other.handle(dataverseChange(context), world.context),
    ]);
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);
    expect(requestRow(id).stc_status).toBe(Status.Succeeded);
  });

  it('a request left Processing by a crash after Stripe refunded is completed with that refund, not a second one', async () => {
    const { paymentIntentId, rowId } = await payment();
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 12);
    // What the crashed worker got done: the status move and the Stripe refund, nothing written back.
    await world.client.update('stc_refundrequests', id, { stc_status: Status.Processing });
    const made = await world.stripe.refunds.create(
      {
        payment_intent: paymentIntentId,
        amount: 1200,
        reason: 'requested_by_customer',
        metadata: { d365_refundrequestid: id },
      },
      { idempotencyKey: id },
    );
    await deliver(world, handler, id, 'Create');
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);
    expect(requestRow(id)).toMatchObject({ stc_status: Status.Succeeded, stc_striperefundid: made.id });
  });

  it('refunds no amount the requester set while the request was Processing: it is decided again', async () => {
    const { paymentIntentId, rowId } = await payment();
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 5);
    // Decided on 5.00 and moved to Processing; the refund's call to Stripe then failed (nothing refunded).
    await world.client.update('stc_refundrequests', id, { stc_status: Status.Processing });
    await world.forgetContexts();
    // The requester raises the amount past the threshold (100.00), naming an approver in the same edit.
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `stc_refundrequests(${id})`, {
      stc_amount: 150,
      'stc_approvedby@odata.bind': `/systemusers(${USERS.approver.systemuserid})`,
    });
    await deliver(world, handler, id, 'Update');
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.AwaitingApproval,
      stc_failurereason:
        'The request was decided again on its amount of 150.00 USD; it needs a finance approver.',
    });
  });

  it('carries no approver a requester named on a request that needed none into Stripe, after a failed call too', async () => {
    const { paymentIntentId, rowId } = await payment();
    // Below the threshold (100.00), with a finance approver named by the requester.
    const { id } = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_refundrequests', {
      stc_name: 'Refund 90',
      'stc_paymentid@odata.bind': `/stc_payments(${rowId})`,
      stc_amount: 90,
      stc_currency: 'usd',
      stc_reason: StcRefundReason.RequestedByCustomer,
      'stc_approvedby@odata.bind': `/systemusers(${USERS.approver.systemuserid})`,
    });
    // Stripe's first refund call fails after the request moved to Processing; the retry resumes it.
    const stripe = world.stripeEmulator.client();
    const create = stripe.refunds.create.bind(stripe.refunds);
    let calls = 0;
    stripe.refunds.create = ((...args: Parameters<typeof create>) => {
      calls += 1;
      if (calls === 1) throw new Stripe.errors.StripeConnectionError({ message: 'socket hang up' });
      return create(...args);
    }) as typeof stripe.refunds.create;
    const context = { ...world.context, stripeFor: () => stripe };
    await expect(deliver(world, handler, id!, 'Create', context)).rejects.toThrow('socket hang up');
    expect(requestRow(id!)).toMatchObject({ stc_status: Status.Processing, _stc_approvedby_value: null });
    await deliver(world, handler, id!, 'Create', context);

    const [refund] = await refundsOf(paymentIntentId);
    expect(refund.metadata?.d365_approvedby).toBeUndefined();
    expect(requestRow(id!).stc_status).toBe(Status.Succeeded);
  });

  it("a refund another attempt made under the request's key with other parameters completes the request", async () => {
    const { paymentIntentId, rowId } = await payment();
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 12);
    // Between this worker's look for a refund and its create, another attempt of the request (which saw the
    // amount before an edit) makes its refund under the same key: Stripe answers this create with an
    // idempotency error.
    const stripe = world.stripeEmulator.client();
    const other = afterAnotherAttempt<Stripe.RefundCreateParams, Stripe.Refund>(
      stripe.refunds.create.bind(stripe.refunds),
      (params) => ({ ...params, amount: 1100 }),
    );
    stripe.refunds.create = other.create as typeof stripe.refunds.create;
    await deliver(world, handler, id, 'Create', { ...world.context, stripeFor: () => stripe });
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.Succeeded,
      stc_striperefundid: other.made().id,
    });
  });

  it('refunds nothing for a request a user set to Processing themselves, past the policy check', async () => {
    const { paymentIntentId, rowId } = await payment(20_000);
    // Above every threshold: the policy would hold it for an approver. The requester skips ahead instead.
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 150);
    await world.forgetContexts();
    const set = await world.asUser(USERS.requester.systemuserid, 'PATCH', `stc_refundrequests(${id})`, {
      stc_status: Status.Processing,
    });
    expect(set.status).toBeLessThan(300);
    expect(await deliver(world, handler, id, 'Update')).toBe(1);

    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
    expect(requestRow(id)).toMatchObject({ stc_status: Status.Rejected });
    expect(requestRow(id).stc_failurereason).toMatch(
      /set to Processing by user .*not by the connector after its policy check: nothing is refunded/,
    );
  });

  it('ignores changes made by the service’s own user (loop guard)', async () => {
    const { paymentIntentId, rowId } = await payment();
    const id = await requestRefund(USERS.service.systemuserid, rowId, 10);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id).stc_status).toBe(Status.Pending);
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
  });
});

describe('balance', () => {
  it('rejects a request above captured − refunded − other open requests, with the reason on the row', async () => {
    const { paymentIntentId, rowId } = await payment(10_000);
    const first = await requestRefund(USERS.requester.systemuserid, rowId, 60);
    await world.dataverse.webhooksIdle();
    // The first is still open (Pending) when the second is decided: its 60 are held.
    const second = await requestRefund(USERS.requester.systemuserid, rowId, 50);
    await deliver(world, handler, second, 'Create');
    expect(requestRow(second)).toMatchObject({ stc_status: Status.Rejected });
    expect(requestRow(second).stc_failurereason).toBe(
      'The amount 50.00 USD is more than the refundable balance of 40.00 USD (captured 100.00 USD, refunded 0.00 USD, in other open requests 60.00 USD).',
    );
    await deliver(world, handler, first, 'Create');
    expect(requestRow(first).stc_status).toBe(Status.Succeeded);
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);
  });

  it('holds the amount of a request waiting for its approver against the balance', async () => {
    const { paymentIntentId, rowId } = await payment(20_000);
    // 150 is above the 100 USD threshold: it waits for an approver, its 150 spoken for.
    const waiting = await requestRefund(USERS.requester.systemuserid, rowId, 150);
    await deliver(world, handler, waiting, 'Create');
    expect(requestRow(waiting).stc_status).toBe(Status.AwaitingApproval);

    const other = await requestRefund(USERS.requester.systemuserid, rowId, 80);
    await deliver(world, handler, other, 'Create');
    expect(requestRow(other).stc_status).toBe(Status.Rejected);
    expect(requestRow(other).stc_failurereason).toBe(
      'The amount 80.00 USD is more than the refundable balance of 50.00 USD (captured 200.00 USD, refunded 0.00 USD, in other open requests 150.00 USD).',
    );
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);

    // Approved, the waiting request is refunded in full.
    await world.forgetContexts();
    await world.asUser(USERS.approver.systemuserid, 'PATCH', `stc_refundrequests(${waiting})`, {
      stc_status: Status.Approved,
    });
    await deliver(world, handler, waiting);
    expect(requestRow(waiting).stc_status).toBe(Status.Succeeded);
    expect((await refundsOf(paymentIntentId)).map((r) => r.amount)).toEqual([15_000]);
  });

  it('counts refunds completed by earlier requests even before the payment row catches up', async () => {
    const { paymentIntentId, rowId } = await payment(10_000);
    const first = await requestRefund(USERS.requester.systemuserid, rowId, 80);
    await deliver(world, handler, first, 'Create');
    const second = await requestRefund(USERS.requester.systemuserid, rowId, 30);
    await deliver(world, handler, second, 'Create');
    expect(requestRow(second).stc_status).toBe(Status.Rejected);
    expect(requestRow(second).stc_failurereason).toMatch(/refundable balance of 20\.00 USD/);
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);
  });

  it('writes Failed with Stripe’s reason when Stripe refuses (the payment row was out of date)', async () => {
    const { paymentIntentId, rowId } = await payment(10_000);
    await world.stripe.refunds.create({ payment_intent: paymentIntentId, amount: 9_000 });
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 50);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id).stc_status).toBe(Status.Failed);
    expect(requestRow(id).stc_failurereason).toMatch(
      /^Stripe refused the refund: Refund amount \(5000\) is greater than unrefunded amount on charge \(1000\) \(amount_too_large\)$/,
    );
  });

  it('rejects an amount with more decimals than the currency has', async () => {
    const { rowId } = await payment(10_000, 'jpy');
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 10.5, 'jpy');
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id)).toMatchObject({ stc_status: Status.Rejected });
    expect(requestRow(id).stc_failurereason).toMatch(/more decimals than the currency's 0/);
  });
});

describe('roles and approval', () => {
  it('rejects a request by a user who holds no requester role (roles read from Dataverse)', async () => {
    const { paymentIntentId, rowId } = await payment();
    const id = await requestRefund(USERS.outsider.systemuserid, rowId, 10);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id).stc_status).toBe(Status.Rejected);
    expect(requestRow(id).stc_failurereason).toMatch(
      /holds none of the roles allowed to request refunds: Stripe Refund Requester, Stripe Finance Approver/,
    );
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
  });

  it('holds a request above the threshold until a finance approver (not the requester, not an outsider) approves it', async () => {
    const { paymentIntentId, rowId } = await payment(100_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 150);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id).stc_status).toBe(Status.AwaitingApproval);
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);

    // An outsider sets it to Approved: not accepted, back to waiting with the reason.
    await world.forgetContexts();
    await world.asUser(USERS.outsider.systemuserid, 'PATCH', `stc_refundrequests(${id})`, {
      stc_status: Status.Approved,
    });
    await deliver(world, handler, id);
    expect(requestRow(id).stc_status).toBe(Status.AwaitingApproval);
    expect(requestRow(id).stc_failurereason).toMatch(
      /approval by user .* was not accepted: the user holds none of the roles Stripe Finance Approver/,
    );
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);

    await world.forgetContexts();
    await world.asUser(USERS.approver.systemuserid, 'PATCH', `stc_refundrequests(${id})`, {
      stc_status: Status.Approved,
    });
    await deliver(world, handler, id);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.Succeeded,
      _stc_approvedby_value: USERS.approver.systemuserid,
    });
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);
  });

  it('holds a request under the threshold once the payment\u2019s refunds without an approver pass it together', async () => {
    const { paymentIntentId, rowId } = await payment(30_000);
    const first = await requestRefund(USERS.requester.systemuserid, rowId, 60);
    await deliver(world, handler, first, 'Create');
    expect(requestRow(first).stc_status).toBe(Status.Succeeded);

    // The requester records an approver on the first themselves: the refund's metadata, which no Dataverse
    // user writes, still says it was made without one.
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `stc_refundrequests(${first})`, {
      'stc_approvedby@odata.bind': `/systemusers(${USERS.approver.systemuserid})`,
    });
    expect(requestRow(first)._stc_approvedby_value).toBe(USERS.approver.systemuserid);

    // 60 more on the same payment: under the 100 USD threshold alone, 120 with the first.
    const second = await requestRefund(USERS.requester.systemuserid, rowId, 60);
    await deliver(world, handler, second, 'Create');
    expect(requestRow(second)).toMatchObject({
      stc_status: Status.AwaitingApproval,
      stc_failurereason:
        'Refunds of this payment without an approver would come to 120.00 USD with this request, more than the approval threshold of 100.00 USD: a finance approver must approve it.',
    });
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);

    await world.forgetContexts();
    await world.asUser(USERS.approver.systemuserid, 'PATCH', `stc_refundrequests(${second})`, {
      stc_status: Status.Approved,
    });
    await deliver(world, handler, second);
    expect(requestRow(second)).toMatchObject({
      stc_status: Status.Succeeded,
      _stc_approvedby_value: USERS.approver.systemuserid,
    });

    // The approved one no longer counts: 60 + 30 is under the threshold, refunded without an approver.
    const third = await requestRefund(USERS.requester.systemuserid, rowId, 30);
    await deliver(world, handler, third, 'Create');
    expect(requestRow(third).stc_status).toBe(Status.Succeeded);
    // Two undecided requests of 6: the one decided first counts the other's (96 + 6) and waits; the other
    // then does not count a request waiting for its approver (90 + 6) and is refunded.
    const fourth = await requestRefund(USERS.requester.systemuserid, rowId, 6);
    await world.dataverse.webhooksIdle();
    const fifth = await requestRefund(USERS.requester.systemuserid, rowId, 6);
    await deliver(world, handler, fifth, 'Create');
    expect(requestRow(fifth).stc_status).toBe(Status.AwaitingApproval);
    expect(requestRow(fifth).stc_failurereason).toMatch(/would come to 102\.00 USD with this request/);
    await deliver(world, handler, fourth, 'Create');
    expect(requestRow(fourth).stc_status).toBe(Status.Succeeded);
    expect((await refundsOf(paymentIntentId)).map((r) => r.amount).sort((a, b) => a - b)).toEqual([
      600, 3_000, 6_000, 6_000,
    ]);
  });

  it('keeps a rejected request rejected when it is approved afterwards, and refunds nothing', async () => {
    const { paymentIntentId, rowId } = await payment(100_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 150);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id).stc_status).toBe(Status.AwaitingApproval);
    // One approver rejects it; another, whose form still showed it waiting, approves it.
    await world.forgetContexts();
    await world.asUser(USERS.approver.systemuserid, 'PATCH', `stc_refundrequests(${id})`, {
      stc_status: Status.Rejected,
      stc_failurereason: 'Refunded by cheque instead.',
    });
    await deliver(world, handler, id);
    await world.forgetContexts();
    await world.asUser(USERS.approver.systemuserid, 'PATCH', `stc_refundrequests(${id})`, {
      stc_status: Status.Approved,
    });
    await deliver(world, handler, id);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.Rejected,
      stc_failurereason:
        'Refunded by cheque instead. This request is finished and cannot be approved or asked again: make a new request.',
    });
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
  });

  it('does not let a finance approver approve their own request unless configured', async () => {
    const { paymentIntentId, rowId } = await payment(100_000);
    const id = await requestRefund(USERS.approver.systemuserid, rowId, 150);
    await deliver(world, handler, id, 'Create');
    await world.forgetContexts();
    await world.asUser(USERS.approver.systemuserid, 'PATCH', `stc_refundrequests(${id})`, {
      stc_status: Status.Approved,
    });
    await deliver(world, handler, id);
    expect(requestRow(id).stc_status).toBe(Status.AwaitingApproval);
    expect(requestRow(id).stc_failurereason).toMatch(/cannot be approved by the user who asked for it/);

    const lenient = createRefundRequestsHandler({ settings: settings({ allowSelfApproval: true }) });
    await world.forgetContexts();
    await world.asUser(USERS.approver.systemuserid, 'PATCH', `stc_refundrequests(${id})`, {
      stc_status: Status.Approved,
    });
    await deliver(world, lenient, id);
    expect(requestRow(id).stc_status).toBe(Status.Succeeded);
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);
  });
});

describe('a decision is bound to its amount', () => {
  const patch = (userId: string, id: string, body: Record<string, unknown>) =>
    world.asUser(userId, 'PATCH', `stc_refundrequests(${id})`, body);

  it('counts an approval only for the amount approved: an amount changed before the approval is worked waits again', async () => {
    const { paymentIntentId, rowId } = await payment(100_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 150);
    await deliver(world, handler, id, 'Create');
    expect(requestRow(id).stc_status).toBe(Status.AwaitingApproval);

    // Approved at 150; the amount is raised before the service works the approval's webhook.
    await world.forgetContexts();
    await patch(USERS.approver.systemuserid, id, { stc_status: Status.Approved });
    await patch(USERS.approver.systemuserid, id, { stc_amount: 199 });
    await deliver(world, handler, id);
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
    expect(requestRow(id).stc_status).toBe(Status.AwaitingApproval);
    expect(requestRow(id).stc_failurereason).toBe(
      'The amount was changed from 150.00 USD to 199.00 USD after it was approved: the approval was for the old amount, and the new one needs its own.',
    );

    // Approved at 199: refunded 199.
    await world.forgetContexts();
    await patch(USERS.approver.systemuserid, id, { stc_status: Status.Approved });
    await deliver(world, handler, id);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.Succeeded,
      stc_amount: 199,
      _stc_approvedby_value: USERS.approver.systemuserid,
    });
    expect((await refundsOf(paymentIntentId)).map((r) => r.amount)).toEqual([19_900]);
  });

  it('decides again, and refunds nothing without approval, a request whose amount was raised while its refund waited for a retry', async () => {
    const { paymentIntentId, rowId } = await payment(100_000);
    const id = await requestRefund(USERS.approver.systemuserid, rowId, 50);
    world.stripeEmulator.injectFault({ status: 500, match: { method: 'POST', pathIncludes: '/v1/refunds' } });
    await expect(deliver(world, handler, id, 'Create')).rejects.toThrow();
    expect(requestRow(id).stc_status).toBe(Status.Processing);

    // Raised past the threshold (100 USD) while the request waits; then its change is retried.
    await patch(USERS.approver.systemuserid, id, { stc_amount: 190 });
    await deliver(world, handler, id, 'Create');
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
    expect(requestRow(id)).toMatchObject({ stc_status: Status.AwaitingApproval, stc_amount: 190 });
    expect(requestRow(id).stc_failurereason).toBe(
      'The amount was changed from 50.00 USD to 190.00 USD after the request was decided: the new amount needs a finance approver.',
    );
  });

  it('refunds on the retry of its change a request whose amount did not change', async () => {
    const { paymentIntentId, rowId } = await payment(100_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 50);
    world.stripeEmulator.injectFault({ status: 500, match: { method: 'POST', pathIncludes: '/v1/refunds' } });
    await expect(deliver(world, handler, id, 'Create')).rejects.toThrow();
    expect(requestRow(id).stc_status).toBe(Status.Processing);

    await deliver(world, handler, id, 'Create');
    expect(requestRow(id).stc_status).toBe(Status.Succeeded);
    expect((await refundsOf(paymentIntentId)).map((r) => r.amount)).toEqual([5_000]);
  });

  it('never decides again a request Stripe already refunded: set back to Approved with another amount, it keeps its refund', async () => {
    const { paymentIntentId, rowId } = await payment(100_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 25);
    await deliver(world, handler, id, 'Create');
    const { stc_striperefundid: refundId } = requestRow(id);
    expect(requestRow(id).stc_status).toBe(Status.Succeeded);

    await world.forgetContexts();
    const before = world.stripeEmulator.requests.length;
    await patch(USERS.approver.systemuserid, id, { stc_amount: 30, stc_status: Status.Approved });
    await deliver(world, handler, id);

    expect(world.stripeEmulator.requests.slice(before).filter((r) => r.method === 'POST')).toEqual([]);
    expect((await refundsOf(paymentIntentId)).map((r) => r.amount)).toEqual([2_500]);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.Succeeded,
      stc_striperefundid: refundId,
      stc_amount: 25,
      stc_failurereason: null,
    });
  });

  it('finds the refund it made before making one, even when Stripe no longer knows the idempotency key', async () => {
    const { paymentIntentId, rowId } = await payment(100_000);
    const id = await requestRefund(USERS.approver.systemuserid, rowId, 12);
    // A worker moved it to Processing and Stripe refunded it (its key long expired); nothing was written back.
    // Then an approver, seeing it stuck, sets it to Approved.
    await world.client.update('stc_refundrequests', id, { stc_status: Status.Processing });
    const made = await world.stripe.refunds.create({
      payment_intent: paymentIntentId,
      amount: 1200,
      metadata: { d365_refundrequestid: id },
    });
    await world.forgetContexts();
    await patch(USERS.requester.systemuserid, id, { stc_status: Status.Approved });
    await deliver(world, handler, id);

    expect((await refundsOf(paymentIntentId)).map((r) => r.id)).toEqual([made.id]);
    expect(requestRow(id)).toMatchObject({ stc_status: Status.Succeeded, stc_striperefundid: made.id });
  });
});

describe("a refund's later fate", () => {
  const refundsHandler = createRefundsHandler(lazyMappings());
  // The emulator's event, as Stripe sends it to the service.
  const applyStripeEvent = (event: unknown) => refundsHandler.handle(event as Stripe.Event, world.context);
  /** Stripe answering the refund's create with this status, as it does before the refund's later events. */
  /** Stripe answering the refund's create (and, unless `createOnly`, its reads) with `status`. */
  const answering = (status: Stripe.Refund['status'], createOnly = false) => ({
    ...world.context,
    stripeFor: () =>
      new Proxy(world.stripe, {
        get(target, key, receiver) {
          if (key !== 'refunds') return Reflect.get(target, key, receiver);
          return new Proxy(target.refunds, {
            get(refunds, name, r) {
              if (name === 'retrieve' && !createOnly)
                return async (...args: Parameters<typeof refunds.retrieve>) => ({
                  ...(await refunds.retrieve(...args)),
                  status,
                });
              if (name !== 'create') return Reflect.get(refunds, name, r);
              return async (...args: Parameters<typeof refunds.create>) => ({
                ...(await refunds.create(...args)),
                status,
              });
            },
          });
        },
      }),
  });
  const deliverCreate = async (id: string, context: ReturnType<typeof answering>) => {
    await world.dataverse.webhooksIdle();
    for (const change of world.receiver.about(id, 'Create'))
      await handler.handle(dataverseChange(change), context);
  };

  it('sets a Succeeded request to Failed when its refund fails afterwards, from the refund.failed event', async () => {
    const intent = await world.stripe.paymentIntents.create({
      amount: 20_000,
      currency: 'usd',
      payment_method: 'pm_card_refundFail',
      confirm: true,
    });
    const rowId = world.dataverse.store.insert('stc_payments', {
      stc_name: intent.id,
      stc_stripeid: intent.id,
      stc_amount: 200,
      stc_amountcaptured: 200,
      stc_amountrefunded: 0,
      stc_currency: 'usd',
      stc_status: StcPaymentStatus.Succeeded,
      stc_livemode: false,
    });
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 40);
    await deliverCreate(id, answering('succeeded'));
    expect(requestRow(id).stc_status).toBe(Status.Succeeded);

    const failed = world.stripeEmulator.events.find((e) => e.type === 'refund.failed');
    expect(failed).toBeDefined();
    await applyStripeEvent(failed!);
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.Failed,
      stc_striperefundid: (failed!.data.object as Stripe.Refund).id,
    });
    expect(requestRow(id).stc_failurereason).toMatch(/^Stripe reports the refund failed: \w+/);
  });

  it('keeps a request Processing while Stripe holds its refund as pending, and completes it when the refund succeeds', async () => {
    const { paymentIntentId, rowId } = await payment(100_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 30);
    await deliverCreate(id, answering('pending'));

    const [made] = await refundsOf(paymentIntentId);
    expect(requestRow(id)).toMatchObject({ stc_status: Status.Processing, stc_striperefundid: made.id });
    expect(requestRow(id).stc_failurereason).toBe(
      'Stripe holds the refund as pending; the request is completed when Stripe settles it.',
    );

    // Worked again meanwhile: no second refund.
    await deliverCreate(id, answering('pending'));
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);

    const created = world.stripeEmulator.events.find(
      (e) => e.type === 'refund.created' && (e.data.object as Stripe.Refund).id === made.id,
    );
    await applyStripeEvent(created!);
    expect(requestRow(id)).toMatchObject({ stc_status: Status.Succeeded, stc_failurereason: null });
  });

  it("counts a pending refund once against the balance: in Stripe's refunded amount, not also as an open request", async () => {
    const { paymentIntentId, rowId } = await payment(10_000);
    const first = await requestRefund(USERS.requester.systemuserid, rowId, 60);
    await deliverCreate(first, answering('pending'));
    expect(requestRow(first).stc_status).toBe(Status.Processing);
    // Stripe counts the pending refund in the charge's amount_refunded, which the payment row copies.
    await world.client.update('stc_payments', rowId, { stc_amountrefunded: 60 });

    const second = await requestRefund(USERS.requester.systemuserid, rowId, 40);
    await deliver(world, handler, second, 'Create');
    expect(requestRow(second)).toMatchObject({ stc_status: Status.Succeeded, stc_failurereason: null });
    expect((await refundsOf(paymentIntentId)).map((refund) => refund.amount).sort()).toEqual([4000, 6000]);

    // The balance is spent: one cent more is refused.
    const third = await requestRefund(USERS.requester.systemuserid, rowId, 0.01);
    await deliver(world, handler, third, 'Create');
    expect(requestRow(third).stc_status).toBe(Status.Rejected);
  });

  it('completes a request whose refund Stripe answered as pending and settled before the request had its id', async () => {
    const { paymentIntentId, rowId } = await payment(100_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 30);
    // Answered pending; settled since, its events passed over while the request had no refund id.
    await deliverCreate(id, answering('pending', true));
    const [made] = await refundsOf(paymentIntentId);
    expect(made.status).toBe('succeeded');
    expect(requestRow(id)).toMatchObject({
      stc_status: Status.Succeeded,
      stc_striperefundid: made.id,
      stc_failurereason: null,
    });
    const row = await world.client.retrieveByKey('stc_refunds', { stc_stripeid: made.id });
    expect(row).toMatchObject({ stc_status: StcRefundStatus.Succeeded });
  });

  it('leaves a request whose refund event is about another refund, or that is still on its way to its refund', async () => {
    const { paymentIntentId, rowId } = await payment(100_000);
    const id = await requestRefund(USERS.requester.systemuserid, rowId, 30);
    await world.client.update('stc_refundrequests', id, { stc_status: Status.Processing });
    const made = await world.stripe.refunds.create({
      payment_intent: paymentIntentId,
      amount: 3000,
      metadata: { d365_refundrequestid: id },
    });
    const created = world.stripeEmulator.events.find(
      (e) => e.type === 'refund.created' && (e.data.object as Stripe.Refund).id === made.id,
    );
    await applyStripeEvent(created!);
    expect(requestRow(id)).toMatchObject({ stc_status: Status.Processing, stc_striperefundid: null });
  });
});

describe('policy and money (pure)', () => {
  const rules = { requesterRoles: ['R'], approverRoles: ['A'], allowSelfApproval: false };
  const facts = {
    amount: 100,
    currency: 'usd',
    captured: 1000,
    refunded: 0,
    inFlight: 0,
    unapproved: 0,
    threshold: 500,
    requester: { id: 'u1', roles: ['R'] },
    approver: null,
  };
  it('decides at the edges of the balance and the threshold', () => {
    expect(decideRefund({ ...facts, amount: 1000 }, rules)).toEqual({ kind: 'awaitApproval', note: null });
    expect(decideRefund({ ...facts, amount: 500 }, rules)).toEqual({ kind: 'refund', approvedBy: null });
    expect(decideRefund({ ...facts, amount: 1001, threshold: 5000 }, rules).kind).toBe('reject');
    expect(decideRefund({ ...facts, amount: 1000, approver: { id: 'u2', roles: ['A'] } }, rules)).toEqual({
      kind: 'refund',
      approvedBy: 'u2',
    });
    expect(decideRefund({ ...facts, amount: 0 }, rules).kind).toBe('reject');
  });
  it('weighs the payment\u2019s refunds without an approver with the request against the threshold', () => {
    expect(decideRefund({ ...facts, amount: 200, unapproved: 300 }, rules)).toEqual({
      kind: 'refund',
      approvedBy: null,
    });
    expect(decideRefund({ ...facts, amount: 200, unapproved: 301 }, rules)).toEqual({
      kind: 'awaitApproval',
      note: 'Refunds of this payment without an approver would come to 5.01 USD with this request, more than the approval threshold of 5.00 USD: a finance approver must approve it.',
    });
    expect(
      decideRefund({ ...facts, amount: 200, unapproved: 301, approver: { id: 'u2', roles: ['A'] } }, rules),
    ).toEqual({ kind: 'refund', approvedBy: 'u2' });
  });
  it('holds every request in a currency without a threshold unless approved', () => {
    const unlisted = { ...facts, currency: 'chf', threshold: null };
    expect(decideRefund({ ...unlisted, amount: 1 }, rules)).toEqual({
      kind: 'awaitApproval',
      note: 'No approval threshold is set for CHF: every refund in it needs a finance approver.',
    });
    expect(decideRefund({ ...unlisted, approver: { id: 'u2', roles: ['A'] } }, rules)).toEqual({
      kind: 'refund',
      approvedBy: 'u2',
    });
  });
  it('compares minor units of zero-decimal and three-decimal currencies with their own thresholds', () => {
    const limits = {
      kind: 'perCurrency' as const,
      minor: { jpy: 75_000, kwd: 150_000 },
      source: 'config' as const,
    };
    const decide = (amount: number, currency: string) =>
      decideRefund(
        {
          ...facts,
          currency,
          captured: 10_000_000,
          amount: majorToMinor(amount, currency),
          threshold: thresholdIn(limits, currency),
        },
        rules,
      ).kind;
    expect(decide(75_000, 'jpy')).toBe('refund');
    expect(decide(75_001, 'jpy')).toBe('awaitApproval');
    expect(decide(150, 'kwd')).toBe('refund');
    expect(decide(150.001, 'kwd')).toBe('awaitApproval');
    expect(decide(1, 'usd')).toBe('awaitApproval');
    expect(thresholdIn(limits, 'KWD')).toBe(150_000);
    expect(thresholdIn(limits, 'usd')).toBeNull();
  });
  it('reads the deprecated single threshold in major units of each currency', () => {
    const legacy = { kind: 'major' as const, major: 500, source: 'dataverse (deprecated)' as const };
    expect(thresholdIn(legacy, 'usd')).toBe(50_000);
    expect(thresholdIn(legacy, 'jpy')).toBe(500);
    expect(thresholdIn(legacy, 'kwd')).toBe(500_000);
  });
  it('converts major to minor units exactly', () => {
    expect(majorToMinor(19.99, 'usd')).toBe(1999);
    expect(majorToMinor(0.29, 'usd')).toBe(29);
    expect(majorToMinor(19.995, 'kwd')).toBe(19995);
    expect(majorToMinor(1999, 'jpy')).toBe(1999);
    expect(() => majorToMinor(19.999, 'usd')).toThrow(/more decimals/);
  });
});
