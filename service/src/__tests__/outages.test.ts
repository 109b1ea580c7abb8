/**
 * Outages, end to end on the emulators: the service in-process, Stripe's webhooks and Dataverse's steps
 * pointed at it. Stripe failing (5xx before or after acting, answering past the client's timeout, refusing
 * connections) and Dataverse refusing for a while must never lose an event, dead-letter one that a later
 * try would apply, or make a refund twice; the dependency alert fires while it lasts and resolves after.
 * Every wait is for a condition (the inbox, a row, Stripe's request log), never a fixed time.
 */
import { StcPaymentStatus, StcRefundReason, StcRefundRequestStatus as Status } from '@stc/solution';
import type { FaultSpec } from '@stc/emulators';
import { postSignedEvent } from '@stc/testkit';
import { runBackfill } from '../history';
import { USERS } from '../outbound/refund-requests/__tests__/world';
import { OUTAGE_SECRET, startOutageWorld, until, type OutageWorld } from './support/outage-world';

jest.setTimeout(60_000);

let world: OutageWorld;

beforeAll(async () => {
  const users = Object.values(USERS).map((user) => ({ ...user, roles: [...user.roles] }));
  world = await startOutageWorld(users, {
    REFUND_APPROVAL_THRESHOLDS: JSON.stringify({ usd: 1_000_000 }),
  });
}, 60_000);
afterAll(() => world?.close());
beforeEach(() => world.alerts.take());
afterEach(async () => {
  world.stripeEmulator.clearFaults();
  world.dataverse.clearFaults();
  await world.stripeEmulator.goOnline();
});

const rows = (entitySet: string) => world.dataverse.store.rows(entitySet);
const paymentRow = (id: string) => rows('stc_payments').find((r) => r.stc_stripeid === id);
const accountOf = (customerId: string) => rows('accounts').find((r) => r.stc_stripecustomerid === customerId);
const requestRow = (id: string) => world.dataverse.store.get('stc_refundrequests', id)!;
const refundPosts = () =>
  world.stripeEmulator.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds');
const deadLetters = () => world.service.store.listDeadLetters();
const stripeEvent = (id: string) => world.service.store.findEvent('stripe', '', id);
const eventsOf = (objectId: string) =>
  world.stripeEmulator.events.filter((e) => (e.data.object as { id?: string }).id === objectId);

/** A card payment made in Stripe and written into Dataverse by the service. */
async function syncedPayment(amountMinor: number): Promise<{ paymentIntentId: string; rowId: string }> {
  const intent = await world.stripe.paymentIntents.create({
    amount: amountMinor,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    confirm: true,
  });
  const row = await until('the payment row', () => {
    const r = paymentRow(intent.id);
    return r?.stc_status === StcPaymentStatus.Succeeded && r.stc_amountcaptured === amountMinor / 100 && r;
  });
  return { paymentIntentId: intent.id, rowId: String(row.stc_paymentid) };
}

/** A refund asked for by a requester in Dynamics 365; the request's id. */
const requestRefund = (paymentRowId: string, amount: number) =>
  world.asUser(USERS.requester.systemuserid, 'POST', 'stc_refundrequests', {
    stc_name: `Refund of ${amount} USD`,
    'stc_paymentid@odata.bind': `/stc_payments(${paymentRowId})`,
    stc_amount: amount,
    stc_currency: 'usd',
    stc_reason: StcRefundReason.RequestedByCustomer,
  });

const settled = (id: string) => {
  const status = requestRow(id).stc_status as number;
  return [Status.Succeeded, Status.Failed, Status.Rejected].includes(status as never) ? status : undefined;
};

const refundsOf = async (paymentIntentId: string) =>
  (await world.stripe.refunds.list({ payment_intent: paymentIntentId })).data;

describe('Stripe failing during a refund', () => {
  test('500s before Stripe acts, a restart, then a 500 after it acted: one refund, one idempotency key', async () => {
    const { paymentIntentId, rowId } = await syncedPayment(20_000);
    // Every refund create fails before Stripe acts, until the service has tried twice…
    world.stripeEmulator.injectFault({
      status: 500,
      count: 1_000,
      match: { method: 'POST', pathIncludes: '/v1/refunds' },
    });
    const id = await requestRefund(rowId, 25);
    await until('two refused tries', () => refundPosts().length >= 2);
    expect(await refundsOf(paymentIntentId)).toEqual([]);

    // …then the service restarts, and Stripe makes the refund but its answer is lost.
    await world.stopService();
    world.stripeEmulator.clearFaults();
    world.stripeEmulator.injectFault({
      status: 500,
      after: true,
      match: { method: 'POST', pathIncludes: '/v1/refunds' },
    });
    await world.startService();

    expect(await until('the request to settle', () => settled(id))).toBe(Status.Succeeded);
    const refunds = await refundsOf(paymentIntentId);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ amount: 2500, metadata: { d365_refundrequestid: id } });
    expect(requestRow(id)).toMatchObject({ stc_striperefundid: refunds[0].id });
    // Every try, before and after the restart, carried the request's id as its idempotency key.
    const tries = refundPosts();
    expect(tries.length).toBeGreaterThanOrEqual(3);
    expect(new Set(tries.map((t) => t.idempotencyKey))).toEqual(new Set([id]));
    expect(tries.filter((t) => t.fault?.after)).toHaveLength(1);
    expect(await deadLetters()).toEqual([]);
  });

  test('Stripe answering past the client’s timeout: the refund it made is found, not made again', async () => {
    const { paymentIntentId, rowId } = await syncedPayment(10_000);
    const before = refundPosts().length;
    // STRIPE_TIMEOUT_MS is 1000: Stripe acts, then answers after 1.5 s.
    world.stripeEmulator.injectFault({
      latencyMs: 1_500,
      after: true,
      count: 1,
      match: { method: 'POST', pathIncludes: '/v1/refunds' },
    });
    const id = await requestRefund(rowId, 10);
    expect(await until('the request to settle', () => settled(id))).toBe(Status.Succeeded);
    const refunds = await refundsOf(paymentIntentId);
    expect(refunds).toHaveLength(1);
    expect(requestRow(id)).toMatchObject({ stc_striperefundid: refunds[0].id });
    expect(
      new Set(
        refundPosts()
          .slice(before)
          .map((t) => t.idempotencyKey),
      ),
    ).toEqual(new Set([id]));
    expect(await deadLetters()).toEqual([]);
  });
});

describe('a refund request whose change is dead-lettered', () => {
  test('says so on the row, stays Processing, and a retry of the dead letter completes it', async () => {
    const { paymentIntentId, rowId } = await syncedPayment(10_000);
    // Stripe refuses the service's key: not the request's fault, and no later try of this event succeeds.
    world.stripeEmulator.injectFault({
      status: 401,
      count: 1_000,
      match: { method: 'POST', pathIncludes: '/v1/refunds' },
    });
    const id = await requestRefund(rowId, 12);
    const letter = await until('the dead letter', async () =>
      (await deadLetters()).find((d) => d.objectId === `stc_refundrequest(${id})`),
    );
    expect(
      await until('the note on the row', () =>
        requestRow(id).stc_failurereason ? requestRow(id) : undefined,
      ),
    ).toMatchObject({ stc_status: Status.Processing });
    expect(requestRow(id).stc_failurereason).toMatch(
      /^The service could not finish this refund request \(.*\)\. It is held in the service's dead-letter queue: an administrator can retry it from the operator console/,
    );
    expect(await refundsOf(paymentIntentId)).toEqual([]);

    // The key is fixed; the operator retries the dead letter.
    world.stripeEmulator.clearFaults();
    expect(await world.service.store.retryDeadLetter(letter.id)).toBe(true);
    expect(await until('the request to settle', () => settled(id))).toBe(Status.Succeeded);
    expect(requestRow(id).stc_failurereason).toBeNull();
    expect(await refundsOf(paymentIntentId)).toHaveLength(1);
  });
});

describe('Stripe unreachable', () => {
  test('a customer event waits while its re-read is refused, applies once Stripe is back; the alert comes and goes', async () => {
    world.stripeEmulator.setWebhook(null);
    const customer = await world.stripe.customers.create({
      name: 'Patient Traders',
      email: 'ap@patient.example',
    });
    world.stripeEmulator.setWebhook({ url: `${world.service.url}/webhooks/stripe`, secret: OUTAGE_SECRET });
    const [created] = eventsOf(customer.id);
    await world.stripeEmulator.goOffline();

    expect(await postSignedEvent(world.service.url, JSON.stringify(created), OUTAGE_SECRET)).toBe(200);
    const waiting = await until('the event to be tried again', async () => {
      const event = await stripeEvent(created.id);
      return event?.status === 'pending' && event.attempts >= 2 && event;
    });
    expect(waiting.lastError).toMatch(/connect|ECONNREFUSED/i);
    expect(accountOf(customer.id)).toBeUndefined();
    await until('the Stripe alert', () => world.alertLog().includes('stripe_unavailable firing'));

    await world.stripeEmulator.goOnline();
    await until('the event to be applied', async () => (await stripeEvent(created.id))?.status === 'applied');
    expect(accountOf(customer.id)).toMatchObject({ name: 'Patient Traders', stc_lasteventid: created.id });
    await until('the Stripe alert to resolve', () =>
      world.alertLog().includes('stripe_unavailable resolved'),
    );
    expect(await deadLetters()).toEqual([]);
  });
});

describe('Stripe failing and slow', () => {
  test('a re-read met by a 5xx storm, then an answer past the timeout, is tried again until it applies', async () => {
    world.stripeEmulator.setWebhook(null);
    const customer = await world.stripe.customers.create({ name: 'Storm Shelters' });
    world.stripeEmulator.setWebhook({ url: `${world.service.url}/webhooks/stripe`, secret: OUTAGE_SECRET });
    const [created] = eventsOf(customer.id);
    const read = { method: 'GET', pathIncludes: `/v1/customers/${customer.id}` };
    for (const status of [500, 502, 503, 500]) world.stripeEmulator.injectFault({ status, match: read });
    world.stripeEmulator.injectFault({ latencyMs: 1_500, count: 1, match: read });

    expect(await postSignedEvent(world.service.url, JSON.stringify(created), OUTAGE_SECRET)).toBe(200);
    await until('the event to be applied', async () => (await stripeEvent(created.id))?.status === 'applied');
    const reads = world.stripeEmulator.requests.filter((r) => r.path === `/v1/customers/${customer.id}`);
    // Four refused, one too late for the client (STRIPE_TIMEOUT_MS 1000), then the read that applied.
    expect(reads.map((r) => r.fault?.status ?? r.fault?.latencyMs ?? r.outcome)).toEqual([
      500, 502, 503, 500, 1_500, 200,
    ]);
    expect(await stripeEvent(created.id)).toMatchObject({ attempts: 6 });
    expect(accountOf(customer.id)).toMatchObject({ name: 'Storm Shelters', stc_lasteventid: created.id });
    expect(await deadLetters()).toEqual([]);
  });
});

describe('Stripe unreachable during a backfill', () => {
  test('the listing waits for Stripe; its events, refused their re-reads, wait too and apply once it is back', async () => {
    world.stripeEmulator.setWebhook(null);
    const made: string[] = [];
    for (const name of ['Alpine Ski House', 'Blue Yonder Airlines']) {
      made.push((await world.stripe.customers.create({ name })).id);
    }
    world.stripeEmulator.setWebhook({ url: `${world.service.url}/webhooks/stripe`, secret: OUTAGE_SECRET });
    await world.stripeEmulator.goOffline();

    const since = new Date(Math.floor((Date.now() - 86_400_000) / 1000) * 1000);
    let backoffs = 0;
    const summary = await runBackfill({
      store: world.service.store,
      stripe: world.stripeEmulator.client(),
      since,
      resources: ['customers'],
      rateLimit: { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 8 },
      // The backfill's own backoff: Stripe comes back after the second.
      sleep: async () => {
        backoffs += 1;
        if (backoffs === 2) await world.stripeEmulator.goOnline();
      },
      // Once the page is in the inbox, Stripe goes away again: the workers' re-reads are refused.
      onProgress: () => void world.stripeEmulator.goOffline(),
    });
    expect(backoffs).toBe(2);
    expect(summary.complete).toBe(true);
    const eventIds = made.map((id) => `evt_bf_${since.getTime() / 1000}_${id}`);
    await until('the backfilled events to be tried again', async () => {
      const events = await Promise.all(eventIds.map(stripeEvent));
      return events.every((e) => (e?.status === 'pending' || e?.status === 'processing') && e.attempts >= 2);
    });
    expect(made.map(accountOf)).toEqual([undefined, undefined]);

    await world.stripeEmulator.goOnline();
    await until('the backfilled events to apply', async () =>
      (await Promise.all(eventIds.map(stripeEvent))).every((e) => e?.status === 'applied'),
    );
    expect(made.map((id) => accountOf(id)?.name)).toEqual(['Alpine Ski House', 'Blue Yonder Airlines']);
    expect(await deadLetters()).toEqual([]);
  });
});

const DATAVERSE_OUTAGES: Array<[string, FaultSpec, string[]]> = [
  ['503 to every request', { status: 503, fraction: 1 }, ['Contoso', 'Fabrikam', 'Northwind']],
  ['every connection reset', { drop: true, fraction: 1 }, ['Litware', 'Proseware', 'Wingtip']],
];

describe('Dataverse refusing for a while', () => {
  test.each(DATAVERSE_OUTAGES)(
    '%s: Stripe events wait and are tried again, then all apply, newest last; the alert comes and goes',
    async (_outage, fault, names) => {
      // Every Dataverse request fails until the outage ends.
      world.dataverse.injectFault(fault);
      const customers: string[] = [];
      for (const name of names) {
        const customer = await world.stripe.customers.create({
          name,
          email: `ap@${name.toLowerCase()}.example`,
        });
        await world.stripe.customers.update(customer.id, { name: `${name} Ltd` });
        await world.stripe.customers.update(customer.id, { name: `${name} Group` });
        customers.push(customer.id);
      }
      const inbox = (id: string) => Promise.all(eventsOf(id).map((e) => stripeEvent(e.id)));
      // Each customer's events wait: none applied, and the one to apply (the others superseded by it) failed at
      // least once and is tried again (waiting for its next try, or in it).
      await until('every customer’s event to be tried again', async () => {
        const inboxes = await Promise.all(customers.map(inbox));
        return inboxes.every(
          (events) =>
            events.every((e) => e && e.status !== 'applied' && e.status !== 'dead') &&
            events.some((e) => (e?.status === 'pending' || e?.status === 'processing') && e.attempts >= 2),
        );
      });
      expect(rows('accounts').filter((r) => customers.includes(String(r.stc_stripecustomerid)))).toEqual([]);
      await until('the Dataverse alert', () => world.alertLog().includes('dataverse_unavailable firing'));

      world.dataverse.clearFaults();
      await until('every customer’s events to be finished', async () => {
        const inboxes = await Promise.all(customers.map(inbox));
        return inboxes.flat().every((e) => e && ['applied', 'superseded', 'dead'].includes(e.status));
      });
      for (const [index, id] of customers.entries()) {
        const events = await inbox(id);
        // Nothing lost: each event applied, or superseded by a newer one of the same customer (Stripe's state,
        // read again, is the newest).
        expect(events.filter((e) => e!.status !== 'applied' && e!.status !== 'superseded')).toEqual([]);
        const applied = events.filter((e) => e!.status === 'applied').map((e) => e!.eventId);
        expect(accountOf(id)).toMatchObject({ name: `${names[index]} Group` });
        expect(applied).toContain(accountOf(id)!.stc_lasteventid);
      }
      expect(rows('accounts').filter((r) => customers.includes(String(r.stc_stripecustomerid)))).toHaveLength(
        3,
      );
      await until('the Dataverse alert to resolve', () =>
        world.alertLog().includes('dataverse_unavailable resolved'),
      );
      expect(await deadLetters()).toEqual([]);
    },
  );
});

describe('an outage longer than the attempt budget', () => {
  /** The inbox events of a customer's Stripe events, once all arrived. */
  const inboxOf = async (customerId: string) => {
    const events = await Promise.all(eventsOf(customerId).map((e) => stripeEvent(e.id)));
    return events.every(Boolean) ? events.map((e) => e!) : undefined;
  };

  afterEach(async () => {
    await world.stopService();
    await world.startService();
  });

  test('events keep waiting for Dataverse past RETRY_MAX_ATTEMPTS, within RETRY_OUTAGE_HOURS, then apply', async () => {
    await world.stopService();
    await world.startService({ RETRY_MAX_ATTEMPTS: '3' });
    world.dataverse.injectFault({ status: 503, fraction: 1 });
    const customer = await world.stripe.customers.create({ name: 'Long Wait Ltd' });
    await until(
      'an event tried twice as often as the attempts allow',
      async () => (await inboxOf(customer.id))?.some((e) => e.attempts >= 6 && e.status !== 'dead'),
      40_000,
    );
    expect(await deadLetters()).toEqual([]);

    world.dataverse.clearFaults();
    await until('the account', () => accountOf(customer.id));
    await until('every event finished', async () =>
      (await inboxOf(customer.id))?.every((e) => e.status === 'applied' || e.status === 'superseded'),
    );
    expect(accountOf(customer.id)).toMatchObject({ name: 'Long Wait Ltd' });
    expect(await deadLetters()).toEqual([]);
  });

  // Last in the file: it leaves a dead letter.
  test('with RETRY_OUTAGE_HOURS=0 the same outage dead-letters the event after its attempts', async () => {
    await world.stopService();
    await world.startService({ RETRY_MAX_ATTEMPTS: '3', RETRY_OUTAGE_HOURS: '0' });
    world.dataverse.injectFault({ status: 503, fraction: 1 });
    const customer = await world.stripe.customers.create({ name: 'No Patience Ltd' });
    const [letter] = await until('a dead letter', async () => {
      const ids = new Set(eventsOf(customer.id).map((e) => e.id));
      const letters = (await deadLetters()).filter((d) => ids.has(d.eventId));
      return letters.length > 0 && letters;
    });
    expect(letter).toMatchObject({ attempts: 3 });
    expect(letter.error).toMatch(/HTTP 503.*\(gave up after 3 attempts\)/);
    expect(accountOf(customer.id)).toBeUndefined();
  });
});
