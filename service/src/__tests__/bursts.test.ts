/**
 * Bursts within Stripe's limits, on both store engines: a payment's four events waiting together in the inbox
 * (payment_intent.created, charge.succeeded, payment_intent.succeeded, charge.updated, delivered while only an
 * intake process ran) are applied once: one Dataverse write per payment and no Stripe read (the burst's own
 * copies tell the newest state), the newest state written, the older events recorded superseded, none lost; fee
 * and net follow from one bulk list of balance transactions. Two worker processes share the work.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import { StcPaymentStatus } from '@stc/solution';
import { waitFor } from '@stc/testkit';
import { loadConfig } from '../config';
import { startService, type RunningService } from '../service';
import { databaseAndEmulator } from './support/database-and-emulator';
import { describeOnEachEngine } from './support/engines';
import { startStripeRequestLog, type StripeRequestLog } from './support/stripe-request-log';

const SECRET = 'whsec_bursts_test';
const PAYMENTS = 5;

jest.setTimeout(60_000);

describeOnEachEngine('bursts', (engine) => {
  const services: RunningService[] = [];
  const world = databaseAndEmulator(engine, 'test', async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
  });
  let stripe: StripeEmulator;
  let stripeLog: StripeRequestLog;
  let dir: string;
  beforeEach(async () => {
    stripe = await startStripeEmulator({ rateLimit: false });
    stripeLog = await startStripeRequestLog(stripe.url);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-bursts-'));
  });
  afterEach(async () => {
    await stripeLog.close();
    await stripe.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = async (workers: number) => {
    const config = loadConfig(
      {
        STRIPE_API_KEY: stripe.apiKey,
        STRIPE_MODE: 'test',
        STRIPE_API_BASE: stripeLog.url,
        STRIPE_WEBHOOK_SECRET: SECRET,
        DATAVERSE_URL: world.emulator.url,
        DATAVERSE_AUTH: 'none',
        DATAVERSE_WEBHOOK_KEY: 'bursts-dataverse-key-0123456789',
        ADMIN_API_KEY: 'bursts-admin-key-0123456789',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        WORKER_CONCURRENCY: String(workers),
        WORKER_POLL_MS: '50',
        PAYMENT_FEES_INTERVAL_SECONDS: '1',
        ...world.db.env,
      },
      dir,
    );
    const service = await startService(config);
    services.push(service);
    return service;
  };

  test('a payment’s four events waiting together: one write, no read, the newest state, then its fee', async () => {
    // Only intake runs while Stripe delivers: the events wait in the inbox, as in a burst or after an outage.
    const intake = await start(0);
    stripe.setWebhook({ url: `${intake.url}/webhooks/stripe`, secret: SECRET, concurrency: 8 });
    const intents = stripe.testHelpers.seedPayments({
      count: PAYMENTS,
      events: true,
      amount: (i) => 1000 + i,
    });
    await stripe.waitForDeliveries(30_000);
    const events = stripe.events;
    expect(events).toHaveLength(PAYMENTS * 4);
    expect(await world.db.store.queueDepth()).toMatchObject({ pending: PAYMENTS * 4 });

    // Two worker processes on the same store.
    await Promise.all([start(2), start(2)]);
    await waitFor(async () => {
      const depth = await world.db.store.queueDepth();
      return depth.pending === 0 && depth.processing === 0;
    }, 'the inbox to drain');
    await world.emulator.webhooksIdle();

    // No Stripe read for the payments: the burst's copies were enough.
    expect(stripeLog.requests.filter((r) => r.includes('/v1/payment_intents/'))).toEqual([]);

    // Fee and net from the bulk list of balance transactions, shortly after.
    await waitFor(
      () => world.emulator.store.rows('stc_payments').every((r) => typeof r.stc_fee === 'number'),
      'every payment to have its fee',
    );
    const rows = world.emulator.store.rows('stc_payments');
    expect(rows).toHaveLength(PAYMENTS);
    intents.forEach((id, i) => {
      const row = rows.find((r) => r.stc_stripeid === id);
      expect(row).toMatchObject({
        stc_amount: (1000 + i) / 100,
        stc_status: StcPaymentStatus.Succeeded,
        stc_fee: expect.any(Number),
        stc_net: expect.any(Number),
      });
    });
    // One write per payment (a Create each), and at most one Update each: its fee.
    await world.emulator.webhooksIdle();
    const writes = world.emulator.webhookDeliveries();
    expect(writes.filter((d) => d.message === 'Create')).toHaveLength(PAYMENTS);
    expect(writes.filter((d) => d.message === 'Update').length).toBeLessThanOrEqual(PAYMENTS);
    // And nothing else from Stripe than the bulk lists.
    expect(stripeLog.requests.length).toBeGreaterThan(0);
    for (const read of stripeLog.requests) expect(read).toBe('GET /v1/balance_transactions');
    // Nothing lost: each payment's newest event applied, its three others superseded by it.
    const statuses = await Promise.all(
      events.map(async (e) => (await world.db.store.findEvent('stripe', '', e.id))?.status),
    );
    expect(statuses.filter((s) => s === 'applied')).toHaveLength(PAYMENTS);
    expect(statuses.filter((s) => s === 'superseded')).toHaveLength(PAYMENTS * 3);
  });
});
