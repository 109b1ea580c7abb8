/**
 * The pipeline under Dataverse trouble, end to end: signed webhooks in over HTTP, the real Dataverse client,
 * the emulator throttling (service protection limits, 429 + Retry-After) and failing a share of writes with
 * 5xx. Nothing may be lost, nothing applied twice, and the newest event of each charge must win.
 *
 * Nothing here depends on how fast the machine is: the events are taken in first by a service without workers,
 * then a service with workers on the same store finds them all due at once, so its first writes come together
 * whatever the load (and meet the limits); every wait is on a condition, with a deadline generous enough for
 * a busy two-core machine.
 */
import { loadConfig } from '../config';
import type { DataverseWebApiClient } from '../dataverse';
import { createLogger } from '../observability/log';
import { dataverseClientFor, startService, type RunningService } from '../service';
import { engineRequirement, testEngines } from './support/engines';
import { databaseAndEmulator } from './support/database-and-emulator';
import { createPaymentTestHandler } from './support/payment-handler';
import { describeWhen, eventPayload, postSignedEvent, waitForEmptyQueue } from '@stc/testkit';

const SECRET = 'whsec_fault_test_0123456789';
const CHARGES = 30;
/** How long the storm may take to drain on a loaded machine; it takes well under a minute on an idle one. */
const DRAIN_MS = 300_000;

jest.setTimeout(DRAIN_MS + 120_000);

for (const engine of testEngines) {
  describeWhen(engineRequirement(engine), `Dataverse throttling and 5xx storms on ${engine.name}`, () => {
    let service: RunningService | undefined;
    const world = databaseAndEmulator(engine, 'test', async () => {
      await service?.stop();
      service = undefined;
    });

    test('nothing lost, nothing applied twice, newest event wins', async () => {
      const env = (workers: string) =>
        loadConfig({
          ...world.db.env,
          STRIPE_API_KEY: 'sk_test_faults',
          STRIPE_MODE: 'test',
          STRIPE_WEBHOOK_SECRET: SECRET,
          DATAVERSE_URL: world.emulator.url,
          DATAVERSE_AUTH: 'none',
          DATAVERSE_WEBHOOK_KEY: 'fault-test-dataverse-key',
          ADMIN_API_KEY: 'fault-test-admin-key-0123',
          PORT: '0',
          HOST: '127.0.0.1',
          WORKER_CONCURRENCY: workers,
          // One write a request, so the workers' first writes are several requests at once.
          DATAVERSE_BATCH_SIZE: '1',
          WORKER_POLL_MS: '20',
          RETRY_BASE_MS: '50',
          RETRY_MAX_MS: '1000',
          RETRY_MAX_ATTEMPTS: '30',
        });
      const logger = createLogger({ level: 'silent' });
      const handler = createPaymentTestHandler();
      // Intake only: every event is in the inbox before any worker runs.
      service = await startService(env('0'), { handlers: [handler], logger, store: world.db.store });

      const sent: Array<{ id: string; charge: string; created: number; payload: string }> = [];
      for (let i = 0; i < CHARGES; i++) {
        for (const created of [1_700_000_000, 1_700_000_100]) {
          const base = eventPayload('charge_succeeded').event;
          const charge = `ch_storm_${i}`;
          const { event, payload } = eventPayload('charge_succeeded', {
            created,
            // Each charge its own payment: the charges of one PaymentIntent are one object, coalesced.
            data: {
              object: { ...base.data.object, id: charge, payment_intent: `pi_storm_${i}`, amount: 1000 + i },
            },
          });
          sent.push({ id: event.id, charge, created, payload });
        }
      }
      // Newer before older for half of them: delivery order is not guaranteed.
      const order = sent
        .map((_, i) => i)
        .sort((a, b) => ((a * 7919) % sent.length) - ((b * 7919) % sent.length));
      for (const i of order) {
        expect(await postSignedEvent(service.url, sent[i].payload, SECRET)).toBe(200);
      }
      expect((await world.db.store.queueDepth()).pending).toBe(sent.length);
      await service.stop();

      // Tight limits (2 requests a second) and a storm: a quarter of requests 503, then a run of 500s.
      world.emulator.setLimits({ enabled: true, requests: 2, windowMs: 1000, executionMs: 1_000_000 });
      // Every kind of request (single PATCH upserts or $batch POSTs alike) may fail.
      world.emulator.injectFault({ status: 503, fraction: 0.25 });
      world.emulator.injectFault({ status: 500, count: 5 });
      const config = env('8');
      const dataverse = dataverseClientFor(config.dataverse, logger) as DataverseWebApiClient;
      service = await startService(config, { handlers: [handler], dataverse, logger, store: world.db.store });

      await waitForEmptyQueue(world.db.store, 'every event to be finished', DRAIN_MS, 100);
      await world.emulator.webhooksIdle();

      const statuses = await Promise.all(
        sent.map(async (s) => (await world.db.store.findEvent('stripe', '', s.id))?.status),
      );
      expect(statuses.filter((s) => s !== 'applied' && s !== 'superseded')).toEqual([]);
      expect(await world.db.store.listDeadLetters()).toEqual([]);

      const rows = world.emulator.store.rows('stc_payments');
      expect(rows).toHaveLength(CHARGES);
      for (const row of rows) {
        const newest = sent.find((s) => s.charge === row.stc_stripeid && s.created === 1_700_000_100)!;
        expect(row.stc_lasteventid).toBe(newest.id);
      }
      // Each applied event wrote once: one Create per charge, one Update per event applied after another.
      const deliveries = world.emulator.webhookDeliveries();
      const creates = deliveries.filter((d) => d.message === 'Create').length;
      const updates = deliveries.filter((d) => d.message === 'Update').length;
      expect(creates).toBe(CHARGES);
      expect(creates + updates).toBe(statuses.filter((s) => s === 'applied').length);
      // The storm really happened.
      const stats = dataverse.stats();
      expect(stats.throttled).toBeGreaterThan(0);
      expect(stats.retries).toBeGreaterThan(0);
    });
  });
}
