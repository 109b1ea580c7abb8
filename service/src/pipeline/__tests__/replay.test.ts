/**
 * A replay (the store's requeueEvents, as `cli mappings replay` and the console run it) on both engines: the
 * object's newest event is applied again and its older ones are superseded, so the newest state stays.
 */
import Stripe from 'stripe';
import { loadEvent, waitFor } from '@stc/testkit';
import { createLogger } from '../../observability/log';
import type { NewInboxEvent } from '../../store';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { createMemoryDataverse, type MemoryDataverse } from '../../__tests__/support/memory-dataverse';
import { createPaymentTestHandler } from '../../__tests__/support/payment-handler';
import { testWorkerSettings } from '../../__tests__/support/worker-settings';
import { createWorkerPool, type WorkerPool } from '../pool';

function chargeEvent(id: string, chargeId: string, createdSeconds: number): NewInboxEvent {
  const base = loadEvent('charge_succeeded');
  const event = {
    ...base,
    id,
    created: createdSeconds,
    data: { object: { ...base.data.object, id: chargeId, description: id } },
  };
  return {
    source: 'stripe',
    account: '',
    eventId: id,
    type: 'charge.succeeded',
    objectId: chargeId,
    eventCreatedMs: createdSeconds * 1000,
    payload: JSON.stringify(event),
    status: 'pending',
    receivedAtMs: Date.now(),
  };
}

describeOnEachEngine('replay', (engine) => {
  let db: TestDatabase;
  let dataverse: MemoryDataverse;
  let pool: WorkerPool | undefined;
  beforeEach(async () => {
    db = await engine.open();
    dataverse = createMemoryDataverse();
  });
  afterEach(async () => {
    await pool?.stop({ graceMs: 100 });
    await db.destroy();
  });

  test('the newest event of an object is applied again and the older one superseded, never applied over it', async () => {
    const handler = createPaymentTestHandler();
    pool = createWorkerPool({
      store: db.store,
      handlers: [handler],
      dataverse,
      stripeFor: () => new Stripe('sk_test_unused', { telemetry: false }),
      logger: createLogger({ level: 'silent' }),
      settings: testWorkerSettings(),
    });
    pool.start();
    const status = async (eventId: string) => (await db.store.findEvent('stripe', '', eventId))?.status;
    const older = chargeEvent('evt_replay_older', 'ch_replay', 1_700_000_000);
    const newer = chargeEvent('evt_replay_newer', 'ch_replay', 1_700_000_100);
    await db.store.insertEvent(older);
    pool.notify();
    await waitFor(async () => (await status(older.eventId)) === 'applied', 'the older event applied');
    await db.store.insertEvent(newer);
    pool.notify();
    await waitFor(async () => (await status(newer.eventId)) === 'applied', 'the newer event applied');
    const row = () => [...dataverse.rows('stc_payments').values()][0];
    expect(row().stc_lasteventid).toBe(newer.eventId);
    handler.calls.length = 0;

    const queued = await db.store.requeueEvents({ type: 'charge.succeeded' });
    expect(queued).toHaveLength(2);
    pool.notify();
    await waitFor(
      async () =>
        (await status(older.eventId)) === 'superseded' && (await status(newer.eventId)) === 'applied',
      'the replay worked off',
    );
    expect(handler.calls.map((c) => c.eventId)).toEqual([newer.eventId]);
    expect(row().stc_lasteventid).toBe(newer.eventId);
    expect(await db.store.getObjectStamp('stripe', '', 'ch_replay')).toMatchObject({
      eventId: newer.eventId,
    });
  });
});
