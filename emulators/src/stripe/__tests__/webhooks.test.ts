/** Event log, Events API, and signed webhook delivery (retries, shuffling, duplicates, thin events). */
import Stripe from 'stripe';
import type { StripeEmulator } from '..';
import { confirmedPayment, emulatorWithClient, WEBHOOK_SECRET, WebhookReceiver } from './harness';

let emulator: StripeEmulator;
let stripe: Stripe;
let receiver: WebhookReceiver;

beforeEach(async () => {
  receiver = await new WebhookReceiver().start();
});
afterEach(async () => {
  await emulator?.close();
  await receiver.close();
});

const fastRetry = { maxAttempts: 4, initialDelayMs: 20, factor: 2, maxDelayMs: 100 };

describe('signed delivery', () => {
  test('each event arrives signed so that constructEvent accepts the raw body', async () => {
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: { url: receiver.url, secret: WEBHOOK_SECRET },
    }));
    await confirmedPayment(stripe, 2000);
    await emulator.waitForDeliveries();
    expect(receiver.eventTypes()).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'charge.updated',
    ]);
    for (const hook of receiver.received) {
      expect(hook.contentType).toMatch(/^application\/json/);
      expect(hook.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      const event = stripe.webhooks.constructEvent(hook.body, hook.signature, WEBHOOK_SECRET);
      expect(event.id).toMatch(/^evt_/);
      expect(event.api_version).toBe(emulator.engine.apiVersion);
    }
    // A body changed in transit, or the wrong secret, does not verify.
    const [first] = receiver.received;
    expect(() =>
      stripe.webhooks.constructEvent(first.body.replace('2000', '2001'), first.signature, WEBHOOK_SECRET),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
    expect(() => stripe.webhooks.constructEvent(first.body, first.signature, 'whsec_other')).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    const delivered = await stripe.events.list({ delivery_success: true });
    expect(delivered.data).toHaveLength(4);
    expect(delivered.data.every((e) => e.pending_webhooks === 0)).toBe(true);
  });

  test('a failing endpoint is retried with backoff until it answers 2xx', async () => {
    receiver.respond = (_hook, index) => (index < 2 ? 500 : 200);
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: { url: receiver.url, secret: WEBHOOK_SECRET, retry: fastRetry },
    }));
    const customer = await stripe.customers.create({ email: 'retry@example.com' });
    await emulator.waitForDeliveries();
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => JSON.parse(r.body).id))).toEqual(
      new Set([emulator.events[0].id]),
    );
    const attempts = emulator.deliveries;
    expect(attempts.map((a) => [a.attempt, a.ok, a.status])).toEqual([
      [1, false, 500],
      [2, false, 500],
      [3, true, 200],
    ]);
    expect(attempts[2].at - attempts[1].at).toBeGreaterThanOrEqual(35); // the second wait doubles the first
    const event = await stripe.events.retrieve(emulator.events[0].id);
    expect(event.pending_webhooks).toBe(0);
    expect((event.data.object as Stripe.Customer).id).toBe(customer.id);
  });

  test('an endpoint that never answers 2xx leaves the event listed by delivery_success=false', async () => {
    receiver.respond = () => 503;
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: { url: receiver.url, secret: WEBHOOK_SECRET, retry: fastRetry },
    }));
    await stripe.customers.create({ name: 'Never delivered' });
    await emulator.waitForDeliveries();
    expect(receiver.received).toHaveLength(4);
    const failed = await stripe.events.list({ delivery_success: false });
    expect(failed.data.map((e) => e.type)).toEqual(['customer.created']);
    expect(failed.data[0].pending_webhooks).toBe(1);
  });

  test('connection errors count as failures and are retried', async () => {
    const closedPort = receiver.url;
    await receiver.close();
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: { url: closedPort, secret: WEBHOOK_SECRET, retry: { ...fastRetry, maxAttempts: 2 } },
    }));
    await stripe.customers.create({});
    await emulator.waitForDeliveries();
    expect(emulator.deliveries.map((d) => [d.ok, d.status])).toEqual([
      [false, null],
      [false, null],
    ]);
    expect(emulator.deliveries[0].error).toMatch(/ECONNREFUSED|fetch failed/);
    receiver = await new WebhookReceiver().start();
  });

  test('shuffled and duplicated delivery still delivers every event at least once', async () => {
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: {
        url: receiver.url,
        secret: WEBHOOK_SECRET,
        shuffle: true,
        duplicateRate: 0.5,
        seed: 7,
        autoDeliver: false,
      },
    }));
    for (let i = 0; i < 12; i++) await stripe.customers.create({ name: `Customer ${i}` });
    const created = emulator.events.map((e) => e.id);
    expect(receiver.received).toHaveLength(0); // nothing is sent until the test asks
    const summary = await emulator.deliverPending();
    expect(summary).toEqual({ attempted: 12, delivered: 12, failed: 0 });
    await emulator.deliverPending();
    await emulator.waitForDeliveries();
    const ids = receiver.received.map((r) => JSON.parse(r.body).id as string);
    expect(new Set(ids)).toEqual(new Set(created));
    expect(ids.length).toBeGreaterThan(created.length); // some came twice
    expect(ids.slice(0, 12)).not.toEqual(created); // and not in creation order
    expect(emulator.deliveries.filter((d) => d.duplicate).length).toBe(ids.length - 12);
  });

  test('deliverPending skips the backoff wait of a failed delivery', async () => {
    receiver.respond = (_hook, index) => (index === 0 ? 500 : 200);
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: {
        url: receiver.url,
        secret: WEBHOOK_SECRET,
        retry: { initialDelayMs: 60_000, maxAttempts: 5 },
      },
    }));
    await stripe.customers.create({});
    await waitFor(() => emulator.deliveries.length === 1);
    expect(await emulator.deliverPending()).toEqual({ attempted: 1, delivered: 1, failed: 0 });
    expect(receiver.received).toHaveLength(2);
  });

  test('while a secret is rolled, each delivery carries a signature for the old and the new one', async () => {
    const next = 'whsec_next_secret';
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: { url: receiver.url, secret: [WEBHOOK_SECRET, next] },
    }));
    await stripe.customers.create({});
    await emulator.waitForDeliveries();
    const [hook] = receiver.received;
    expect(hook.signature.match(/v1=/g)).toHaveLength(2);
    expect(stripe.webhooks.constructEvent(hook.body, hook.signature, WEBHOOK_SECRET).type).toBe(
      'customer.created',
    );
    expect(stripe.webhooks.constructEvent(hook.body, hook.signature, next).type).toBe('customer.created');
  });

  test('POST /_emulator/webhooks/deliver sends what is pending, for scenarios in another process', async () => {
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: { url: receiver.url, secret: WEBHOOK_SECRET, autoDeliver: false },
    }));
    await stripe.customers.create({});
    expect(receiver.received).toHaveLength(0);
    const response = await fetch(`${emulator.url}/_emulator/webhooks/deliver`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${emulator.apiKey}` },
    });
    expect(await response.json()).toEqual({ attempted: 1, delivered: 1, failed: 0 });
    expect(receiver.eventTypes()).toEqual(['customer.created']);
  });

  test('a Connect endpoint hears connected accounts only, an account endpoint the platform only', async () => {
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: { url: receiver.url, secret: WEBHOOK_SECRET, accounts: 'connected' },
    }));
    await stripe.customers.create({ name: 'platform' });
    await stripe.customers.create({ name: 'connected' }, { stripeAccount: 'acct_1Hook' });
    await emulator.waitForDeliveries();
    expect(receiver.received.map((r) => JSON.parse(r.body).account)).toEqual(['acct_1Hook']);
    emulator.setWebhook({ url: receiver.url, secret: WEBHOOK_SECRET, accounts: 'platform' });
    await stripe.customers.create({ name: 'platform again' });
    await stripe.customers.create({ name: 'connected again' }, { stripeAccount: 'acct_1Hook' });
    await emulator.waitForDeliveries();
    expect(receiver.received.map((r) => JSON.parse(r.body).account)).toEqual(['acct_1Hook', undefined]);
  });

  test('removing the endpoint drops what was waiting for it; those events stay undelivered', async () => {
    receiver.respond = () => 500;
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: { url: receiver.url, secret: WEBHOOK_SECRET, retry: { initialDelayMs: 60_000 } },
    }));
    await stripe.customers.create({});
    await waitFor(() => emulator.deliveries.length === 1);
    emulator.setWebhook(null);
    await emulator.waitForDeliveries(1000);
    expect(await emulator.deliverPending()).toEqual({ attempted: 0, delivered: 0, failed: 0 });
    expect((await stripe.events.list({ delivery_success: false })).data).toHaveLength(1);
  });

  test('setWebhook points delivery at an endpoint chosen after start, with enabled events', async () => {
    ({ emulator, stripe } = await emulatorWithClient());
    await stripe.customers.create({ name: 'before any endpoint' });
    emulator.setWebhook({ url: receiver.url, secret: WEBHOOK_SECRET, enabledEvents: ['payment_intent.*'] });
    await confirmedPayment(stripe, 1000);
    await emulator.waitForDeliveries();
    expect(receiver.eventTypes()).toEqual(['payment_intent.created', 'payment_intent.succeeded']);
  });
});

describe('Events API', () => {
  beforeEach(async () => {
    ({ emulator, stripe } = await emulatorWithClient());
  });

  test('filters by type, wildcard, types[] and created; updates carry previous_attributes', async () => {
    const customer = await stripe.customers.create({ email: 'old@example.com' });
    await stripe.customers.update(customer.id, { email: 'new@example.com', metadata: { crm: '42' } });
    await confirmedPayment(stripe, 1000);
    await stripe.customers.del(customer.id);

    const updated = await stripe.events.list({ type: 'customer.updated' });
    expect(updated.data).toHaveLength(1);
    expect(updated.data[0].data.previous_attributes).toEqual({
      email: 'old@example.com',
      metadata: { crm: null },
    });
    expect((updated.data[0].data.object as Stripe.Customer).email).toBe('new@example.com');

    const customerEvents = await stripe.events.list({ type: 'customer.*' });
    expect(customerEvents.data.map((e) => e.type)).toEqual([
      'customer.deleted',
      'customer.updated',
      'customer.created',
    ]);
    const some = await stripe.events.list({ types: ['charge.succeeded', 'customer.deleted'] });
    expect(some.data.map((e) => e.type)).toEqual(['customer.deleted', 'charge.succeeded']);
    const all = await stripe.events.list({ limit: 100 });
    const created = all.data[0].created;
    expect((await stripe.events.list({ created: { gt: created } })).data).toHaveLength(0);
    expect((await stripe.events.list({ created: { gte: created }, limit: 100 })).data.length).toBe(
      all.data.length,
    );
    const event = await stripe.events.retrieve(all.data[2].id);
    expect(event).toMatchObject({ object: 'event', livemode: false, type: all.data[2].type });
    await expect(stripe.events.retrieve('evt_missing')).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('thin (v2) event notifications', () => {
  test('parseEventNotification verifies the notification and fetches the event and the related object', async () => {
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: { url: receiver.url, secret: WEBHOOK_SECRET, payload: 'thin' },
    }));
    const customer = await stripe.customers.create({ email: 'thin@example.com' });
    await emulator.waitForDeliveries();
    const [hook] = receiver.received;
    const notification = stripe.parseEventNotification(hook.body, hook.signature, WEBHOOK_SECRET);
    expect(notification).toMatchObject({
      object: 'v2.core.event',
      type: 'customer.created',
      related_object: { id: customer.id, type: 'customer' },
    });
    // v1 event types are not in the SDK's typed union of v2 notifications: read it as the untyped kind.
    const untyped = notification as unknown as { fetchRelatedObject(): Promise<unknown> };
    const related = (await untyped.fetchRelatedObject()) as Stripe.Customer;
    expect(related.email).toBe('thin@example.com');
    const event = await notification.fetchEvent();
    expect(event.id).toBe(notification.id);
  });

  test('a connected account’s notification carries its context, and the fetch reads in that account', async () => {
    ({ emulator, stripe } = await emulatorWithClient({
      webhook: { url: receiver.url, secret: WEBHOOK_SECRET, payload: 'thin' },
    }));
    const customer = await stripe.customers.create(
      { email: 'connected-thin@example.com' },
      { stripeAccount: 'acct_1Thin' },
    );
    await emulator.waitForDeliveries();
    const [hook] = receiver.received;
    const notification = stripe.parseEventNotification(hook.body, hook.signature, WEBHOOK_SECRET);
    expect(String(notification.context)).toBe('acct_1Thin');
    const untyped = notification as unknown as { fetchRelatedObject(): Promise<unknown> };
    expect(((await untyped.fetchRelatedObject()) as Stripe.Customer).id).toBe(customer.id);
  });

  test('the v2 Events API lists an object’s events newest first, page by page', async () => {
    ({ emulator, stripe } = await emulatorWithClient());
    const customer = await stripe.customers.create({ name: 'v2' });
    for (let i = 0; i < 3; i++) await stripe.customers.update(customer.id, { metadata: { step: String(i) } });
    await stripe.customers.create({ name: 'someone else' });
    const types: string[] = [];
    for await (const event of stripe.v2.core.events.list({ object_id: customer.id, limit: 2 }))
      types.push(event.type);
    expect(types).toEqual(['customer.updated', 'customer.updated', 'customer.updated', 'customer.created']);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('Events API window', () => {
  test('lists events of the last 30 days only', async () => {
    let now = Date.UTC(2026, 0, 1);
    ({ emulator, stripe } = await emulatorWithClient({ clock: () => now }));
    await stripe.customers.create({ name: 'old' });
    now += 31 * 24 * 3600 * 1000;
    await stripe.customers.create({ name: 'recent' });
    const listed = await stripe.events.list();
    expect(listed.data.map((e) => (e.data.object as Stripe.Customer).name)).toEqual(['recent']);
  });
});
