/**
 * A refund asked for in Dynamics 365, end to end on one machine: the Stripe and Dataverse emulators, the
 * service (HTTP intake and workers, in-process from its own factories), a Dataverse webhook step on
 * stc_refundrequest posting to the service, and Stripe's events flowing back to it. Users act through the
 * Web API impersonated with MSCRMCallerID, as the payment panel would act for them.
 */
import type Stripe from 'stripe';
import { StcPaymentStatus, StcRefundReason, StcRefundRequestStatus as Status } from '@stc/solution';
import type { DataverseEmulator, StripeEmulator } from '@stc/emulators';
import type { RunningService } from '@stc/service';
import {
  DATAVERSE_KEY,
  KEY_HEADER,
  REFUND_USERS,
  startRoundTrip,
  waitFor,
  type RoundTrip,
} from './roundtrip';

const USERS = REFUND_USERS;
/** The approval threshold of USD, in dollars (set in cents below). */
const THRESHOLD = 100;
const NEW_OPERATION_ID = '7d1e5a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b';

let world: RoundTrip;
let dataverse: DataverseEmulator;
let stripeEmulator: StripeEmulator;
let stripe: Stripe;
let service: RunningService;
/** Every RemoteExecutionContext Dataverse posted for a created request, as posted. */
const posted: string[] = [];
let copyServer: { close(): Promise<void> } | undefined;

beforeAll(async () => {
  world = await startRoundTrip(Object.values(USERS), {
    REFUND_APPROVAL_THRESHOLDS: JSON.stringify({ usd: THRESHOLD * 100 }),
  });
  ({ dataverse, stripeEmulator, stripe, service } = world);
  // The solution's steps: requests created, and their status changed.
  world.registerSolutionSteps('stc_refundrequest');
  // A second endpoint on the create message keeps a copy of what Dataverse sent, to deliver it again by hand.
  await startCopyEndpoint();
}, 60_000);

afterAll(async () => {
  await copyServer?.close();
  await world?.close();
});

async function startCopyEndpoint(): Promise<void> {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posted.push(Buffer.concat(chunks).toString('utf8'));
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  dataverse.registerWebhook({
    table: 'stc_refundrequest',
    message: 'Create',
    url: `http://127.0.0.1:${port}/copy`,
  });
  copyServer = {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const paymentRow = (paymentIntentId: string) =>
  dataverse.store.rows('stc_payments').find((r) => r.stc_stripeid === paymentIntentId);
const requestRow = (id: string) => dataverse.store.get('stc_refundrequests', id)!;
const refundsOf = async (paymentIntentId: string) =>
  (await stripe.refunds.list({ payment_intent: paymentIntentId })).data;

/** A card payment in Stripe, synced into Dataverse by the service from Stripe's events. */
async function syncedPayment(amountMinor: number): Promise<{ paymentIntentId: string; rowId: string }> {
  const intent = await stripe.paymentIntents.create({
    amount: amountMinor,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    confirm: true,
  });
  const row = await waitFor('the payment row', () => {
    const r = paymentRow(intent.id);
    return r && r.stc_status === StcPaymentStatus.Succeeded && r.stc_amountcaptured === amountMinor / 100
      ? r
      : undefined;
  });
  return { paymentIntentId: intent.id, rowId: String(row.stc_paymentid) };
}

const asUser = (userId: string, method: 'POST' | 'PATCH', pathAndQuery: string, body: unknown) =>
  world.asUser(userId, method, pathAndQuery, body);

const requestRefund = async (paymentRowId: string, amount: number) =>
  (await asUser(USERS.requester.systemuserid, 'POST', 'stc_refundrequests', {
    stc_name: `Refund of ${amount} USD`,
    'stc_paymentid@odata.bind': `/stc_payments(${paymentRowId})`,
    stc_amount: amount,
    stc_currency: 'usd',
    stc_reason: StcRefundReason.RequestedByCustomer,
  }))!;

const settledStatus = (id: string) => {
  const status = requestRow(id).stc_status as number;
  return [Status.Succeeded, Status.Failed, Status.Rejected, Status.AwaitingApproval].includes(status as never)
    ? status
    : undefined;
};

describe('a refund requested in Dynamics 365', () => {
  it('is refunded in Stripe once, with the outcome, the refund row and the payment’s refunded amount in Dataverse', async () => {
    const { paymentIntentId, rowId } = await syncedPayment(20_000);
    const id = await requestRefund(rowId, 25);

    expect(await waitFor('the request to settle', () => settledStatus(id))).toBe(Status.Succeeded);
    const refunds = await refundsOf(paymentIntentId);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ amount: 2500, metadata: { d365_refundrequestid: id } });
    const created = stripeEmulator.events.find(
      (e) => e.type === 'refund.created' && (e.data.object as { id: string }).id === refunds[0].id,
    );
    expect(created?.request).toMatchObject({ idempotency_key: id });
    expect(requestRow(id)).toMatchObject({
      stc_striperefundid: refunds[0].id,
      _stc_requestedby_value: USERS.requester.systemuserid,
    });

    const refundRow = dataverse.store.rows('stc_refunds').find((r) => r.stc_stripeid === refunds[0].id);
    expect(refundRow).toMatchObject({ stc_amount: 25, _stc_paymentid_value: rowId });
    expect(dataverse.store.rows('stc_refunds').filter((r) => r.stc_stripeid === refunds[0].id)).toHaveLength(
      1,
    );
    // Stripe's refund events come back through /webhooks/stripe and bring the payment up to date.
    await waitFor(
      'the payment’s refunded amount',
      () => paymentRow(paymentIntentId)?.stc_amountrefunded === 25,
    );
  }, 30_000);

  it('is not refunded twice when Dataverse delivers the same webhook again, or a new delivery of it', async () => {
    const { paymentIntentId, rowId } = await syncedPayment(10_000);
    const id = await requestRefund(rowId, 10);
    await waitFor('the request to settle', () => settledStatus(id) === Status.Succeeded);
    await dataverse.webhooksIdle();
    const settled = requestRow(id)['@odata.etag'];
    const original = posted.find((body) => JSON.parse(body).PrimaryEntityId === id)!;
    const again = JSON.stringify({ ...JSON.parse(original), OperationId: NEW_OPERATION_ID });
    for (const body of [original, again]) {
      const res = await fetch(`${service.url}/webhooks/dataverse`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [KEY_HEADER]: DATAVERSE_KEY },
        body,
      });
      expect(res.status).toBeLessThan(300);
    }
    // The new delivery is a new inbox event: wait until a worker has taken it, then look at Stripe.
    const processed = await waitFor('the new delivery to be processed', async () => {
      const event = await service.store.findEvent('dataverse', '', NEW_OPERATION_ID);
      return event && event.status !== 'pending' && event.status !== 'processing' ? event : undefined;
    });
    expect(processed.status).toBe('applied');
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);
    // Acted from the request's state, not only saved by Stripe's idempotency: the row was not written again.
    expect(requestRow(id)).toMatchObject({ stc_status: Status.Succeeded, '@odata.etag': settled });
  }, 30_000);

  it('is rejected, with the reason on the row, when it exceeds the refundable balance', async () => {
    const { paymentIntentId, rowId } = await syncedPayment(5_000);
    const id = await requestRefund(rowId, 60);
    expect(await waitFor('the request to settle', () => settledStatus(id))).toBe(Status.Rejected);
    expect(requestRow(id).stc_failurereason).toMatch(/more than the refundable balance of 50\.00 USD/);
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);
  }, 30_000);

  it('waits above the threshold until a finance approver approves it, then refunds', async () => {
    const { paymentIntentId, rowId } = await syncedPayment(100_000);
    const id = await requestRefund(rowId, THRESHOLD + 50);
    expect(await waitFor('the request to settle', () => settledStatus(id))).toBe(Status.AwaitingApproval);
    expect(await refundsOf(paymentIntentId)).toHaveLength(0);

    await asUser(USERS.approver.systemuserid, 'PATCH', `stc_refundrequests(${id})`, {
      stc_status: Status.Approved,
    });
    await waitFor('the approved request to succeed', () => requestRow(id).stc_status === Status.Succeeded);
    expect(requestRow(id)._stc_approvedby_value).toBe(USERS.approver.systemuserid);
    const refunds = await refundsOf(paymentIntentId);
    expect(refunds).toHaveLength(1);
    expect(refunds[0].amount).toBe((THRESHOLD + 50) * 100);
  }, 30_000);
});

describe('a service that serves test mode', () => {
  it('does not apply a live-mode Stripe event: it is dead-lettered with the reason and writes no row', async () => {
    const live = stripeEmulator.client({ apiKey: 'sk_live_roundtrip' });
    const intent = await live.paymentIntents.create({
      amount: 4_200,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const liveEvents = new Set(stripeEmulator.events.filter((e) => e.livemode).map((e) => e.id));
    expect(liveEvents.size).toBeGreaterThan(0);
    await world.settle();
    const dead = (await service.store.listDeadLetters()).filter((d) => liveEvents.has(d.eventId));
    // The payment's events arrive as one burst: the newest is dead-lettered, the older ones are superseded by
    // it (coalesced); none is applied.
    expect(dead.length).toBeGreaterThan(0);
    for (const id of liveEvents)
      expect(['dead', 'superseded']).toContain((await service.store.findEvent('stripe', '', id))?.status);
    for (const letter of dead) {
      expect(letter).toMatchObject({ errorCode: 'stripe_mode_mismatch', attempts: 1 });
      expect(letter.error).toMatch(/is a live-mode event but this service serves test mode \(STRIPE_MODE\)/);
    }
    expect(paymentRow(intent.id)).toBeUndefined();
    expect([...dataverse.store.rows('stc_payments')].filter((r) => r.stc_livemode === true)).toEqual([]);
  }, 30_000);

  it('rejects a refund request about a live-mode payment row, with the reason, and calls no Stripe', async () => {
    const rowId = dataverse.store.insert('stc_payments', {
      stc_name: 'pi_live_elsewhere',
      stc_stripeid: 'pi_live_elsewhere',
      stc_amount: 100,
      stc_amountcaptured: 100,
      stc_currency: 'usd',
      stc_status: StcPaymentStatus.Succeeded,
      stc_livemode: true,
    });
    const refundsBefore = stripeEmulator.events.filter((e) => e.type === 'refund.created').length;
    const id = await requestRefund(rowId, 10);
    expect(await waitFor('the request to settle', () => settledStatus(id))).toBe(Status.Rejected);
    expect(requestRow(id).stc_failurereason).toBe(
      'The payment is a live-mode Stripe payment, but this connector serves test mode only: it cannot refund it.',
    );
    expect(stripeEmulator.events.filter((e) => e.type === 'refund.created')).toHaveLength(refundsBefore);
  }, 30_000);
});
