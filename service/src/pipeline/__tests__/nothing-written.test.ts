/**
 * An event whose handler writes nothing is recorded `skipped` with the reason, counted so in the metrics and
 * never as applied, and leaves its object's ordering stamp where it was; on each store engine.
 */
import Stripe from 'stripe';
import { waitFor } from '@stc/testkit';
import { createSyncHandlers } from '../../handlers';
import { createLogger } from '../../observability/log';
import { createMetrics, type Metrics } from '../../observability/metrics';
import type { NewInboxEvent, Store } from '../../store';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { testWorkerSettings } from '../../__tests__/support/worker-settings';
import { defaultMappings } from '../../inbound/__tests__/harness';
import { MemoryDataverse } from '../../inbound/__tests__/memory-dataverse';
import { customerObject } from '../../inbound/__tests__/world';
import { createWorkerPool, type WorkerPool } from '../pool';

const CREATED_SECONDS = 1_700_000_000;

/** A `customer.deleted` event as Stripe sends it: the customer as it was, without `deleted: true`. */
function customerDeleted(customerId: string, eventId: string): NewInboxEvent {
  const event = {
    id: eventId,
    object: 'event',
    type: 'customer.deleted',
    created: CREATED_SECONDS,
    livemode: false,
    api_version: '2024-06-20',
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object: customerObject({ id: customerId, name: 'Babbage & Co' }) },
  };
  return {
    source: 'stripe',
    account: '',
    eventId,
    type: event.type,
    objectId: customerId,
    eventCreatedMs: CREATED_SECONDS * 1000,
    payload: JSON.stringify(event),
    status: 'pending',
    receivedAtMs: Date.now(),
  };
}

/** The value of `stc_events_processed_total` for this type and outcome, 0 when never counted. */
async function processed(metrics: Metrics, type: string, outcome: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric('stc_events_processed_total')!.get();
  return metric.values.find((v) => v.labels.type === type && v.labels.outcome === outcome)?.value ?? 0;
}

describeOnEachEngine('an event whose handler writes nothing', (engine) => {
  let db: TestDatabase;
  let store: Store;
  let pool: WorkerPool | undefined;

  beforeEach(async () => {
    db = await engine.open();
    store = db.store;
  });
  afterEach(async () => {
    await pool?.stop({ graceMs: 100 });
    pool = undefined;
    await db.destroy();
  });

  test('is recorded skipped with its reason and counted so, never as applied', async () => {
    const dataverse = new MemoryDataverse();
    const accountId = dataverse.seed('accounts', {
      name: 'Babbage & Co',
      stc_stripecustomerid: 'cus_Synced',
      statecode: 0,
      statuscode: 1,
    });
    const metrics = createMetrics({ store });
    const neverSynced = customerDeleted('cus_NeverSynced', 'evt_deleted_unknown');
    const synced = customerDeleted('cus_Synced', 'evt_deleted_known');
    await store.insertEvent(neverSynced);
    await store.insertEvent(synced);

    pool = createWorkerPool({
      store,
      handlers: createSyncHandlers({ mappings: defaultMappings }),
      dataverse,
      stripeFor: () => new Stripe('sk_test_unused', { telemetry: false }),
      logger: createLogger({ level: 'silent' }),
      settings: testWorkerSettings(),
      metrics,
    });
    pool.start();
    const statusOf = async (eventId: string) => (await store.findEvent('stripe', '', eventId))?.status;
    await waitFor(
      async () =>
        (await statusOf(neverSynced.eventId)) === 'skipped' && (await statusOf(synced.eventId)) === 'applied',
      'the unknown customer’s event skipped and the known one’s applied',
    );

    expect(await store.findEvent('stripe', '', neverSynced.eventId)).toMatchObject({
      status: 'skipped',
      lastError: 'no account or contact of this deleted customer',
      lastErrorCode: 'nothing_written',
    });
    expect(await processed(metrics, 'customer.deleted', 'skipped')).toBe(1);
    expect(await processed(metrics, 'customer.deleted', 'applied')).toBe(1);
    // Nothing written for the unknown customer; the known one's account is deactivated.
    expect(dataverse.rows('accounts')).toEqual([
      expect.objectContaining({ accountid: accountId, statecode: 1, statuscode: 2 }),
    ]);
    expect(dataverse.rows('contacts')).toEqual([]);
    // Only the applied event moves its object's ordering stamp.
    expect(await store.getObjectStamp('stripe', '', 'cus_NeverSynced')).toBeNull();
    expect(await store.getObjectStamp('stripe', '', 'cus_Synced')).toMatchObject({
      eventId: synced.eventId,
    });
  });
});
