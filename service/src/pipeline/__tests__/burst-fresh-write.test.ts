/**
 * A payment's burst and a write of the payment from Stripe by another object's event (a dispute re-syncing it)
 * that begins and ends between the claim that gave the burst and the payment event's stamp check. The
 * dispute's event is of the burst's second and loses the stamp to the burst's by id, so the stamp does not
 * move; its read of Stripe may still be newer than every copy in the burst. The payment's handler is then given
 * no burst, and reads. Without that write, it is given the burst.
 */
import Stripe from 'stripe';
import { waitFor } from '@stc/testkit';
import { createLogger } from '../../observability/log';
import type { Store } from '../../store';
import type { StripeEventHandler } from '../handler';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { createMemoryDataverse } from '../../__tests__/support/memory-dataverse';
import { testWorkerSettings } from '../../__tests__/support/worker-settings';
import { createWorkerPool, type WorkerPool } from '../pool';
import { inboxEvent } from './emulated-pool';

const SECOND = 1_700_000_000;

const event = (eventId: string, type: string, objectId: string, object: string) =>
  inboxEvent({ id: eventId, type, created: SECOND, data: { object: { id: objectId, object } } });

describeOnEachEngine('a burst and a write from Stripe begun after its claim', (engine) => {
  let db: TestDatabase;
  let pool: WorkerPool | undefined;
  /** What the payment's handler was given: a burst or not, and whether its payload may be stale. */
  let given: Array<{ burst: boolean; payloadMayBeStale: boolean }>;

  const payments: StripeEventHandler = {
    resource: 'payments',
    eventTypes: ['payment_intent.*'],
    async handle(_event, context) {
      given.push({
        burst: context.burst !== undefined,
        payloadMayBeStale: context.payloadMayBeStale === true,
      });
    },
  };

  /**
   * The dispute's event applied by another process, its write of the payment begun and ended, as the first
   * thing the payment's stamp check reads: after the claim gave the burst.
   */
  async function disputeWritesBeforeStampCheck(store: Store, other: Store): Promise<void> {
    const getObjectState = store.getObjectState.bind(store);
    let done = false;
    store.getObjectState = async (source, account, objectId) => {
      if (!done && objectId === 'pi_burst') {
        done = true;
        // Of the burst's second, its id before theirs: its stamp loses to the burst's.
        await other.insertEvent(event('evt_0_dispute', 'charge.dispute.created', 'du_burst', 'dispute'));
        const [dispute] = await other.claimEvents({ owner: 'other-process', limit: 1, leaseMs: 60_000 });
        expect(dispute.eventId).toBe('evt_0_dispute');
        await other.beginFreshWrite(dispute, 'pi_burst');
        await other.completeEvent({
          event: dispute,
          owner: 'other-process',
          outcome: { kind: 'applied' },
          startedAtMs: Date.now(),
          finishedAtMs: Date.now(),
          stampObject: true,
          freshWrites: ['pi_burst'],
          writes: [],
          mappingVersion: null,
        });
      }
      return getObjectState(source, account, objectId);
    };
  }

  beforeEach(async () => {
    given = [];
    db = await engine.open();
    await db.store.insertEvent(
      event('evt_p1_created', 'payment_intent.created', 'pi_burst', 'payment_intent'),
    );
    await db.store.insertEvent(
      event('evt_p2_succeeded', 'payment_intent.succeeded', 'pi_burst', 'payment_intent'),
    );
  });
  afterEach(async () => {
    await pool?.stop({ graceMs: 100 });
    pool = undefined;
    await db.destroy();
  });

  const startPool = () => {
    pool = createWorkerPool({
      store: db.store,
      handlers: [payments],
      dataverse: createMemoryDataverse(),
      stripeFor: () => new Stripe('sk_test_unused', { telemetry: false }),
      logger: createLogger({ level: 'silent' }),
      settings: testWorkerSettings(),
    });
    pool.start();
  };
  const applied = async () => {
    const statuses = await Promise.all(
      ['evt_p1_created', 'evt_p2_succeeded'].map(
        async (id) => (await db.store.findEvent('stripe', '', id))?.status,
      ),
    );
    return statuses.includes('applied') && !statuses.includes('pending') && !statuses.includes('processing');
  };

  test('the payment is read, not written from the burst, when the write from Stripe began after the claim', async () => {
    await disputeWritesBeforeStampCheck(db.store, await db.connect());
    startPool();
    await waitFor(applied, 'the payment burst');
    expect(given).toEqual([{ burst: false, payloadMayBeStale: true }]);
    // The dispute's stamp lost by id: only the count of writes from Stripe told of it.
    expect(await db.store.getObjectState('stripe', '', 'pi_burst')).toEqual({
      stamp: { eventCreatedMs: SECOND * 1000, eventId: 'evt_p2_succeeded' },
      freshWritesBegun: 1,
      freshWritesEnded: 1,
    });
  });

  test('without it, the payment is written from the burst', async () => {
    startPool();
    await waitFor(applied, 'the payment burst');
    expect(given).toEqual([{ burst: true, payloadMayBeStale: true }]);
  });
});
