/**
 * A payment's burst and a write of the payment from Stripe by another object's event (a dispute re-syncing it).
 * When the write begins (or is under way at the claim) and ends before the payment event's stamp check, the
 * dispute's event being of the burst's second and losing the stamp to the burst's by id, the stamp does not
 * move, yet its read of Stripe may be newer than every copy in the burst: the payment's handler is given no
 * burst, and reads. Writes begun and ended before the claim go with the burst, which is then given, as it is
 * without any write.
 */
import Stripe from 'stripe';
import { waitFor } from '@stc/testkit';
import { createLogger } from '../../observability/log';
import type { InboxEvent, Store } from '../../store';
import type { StripeEventHandler } from '../handler';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { createMemoryDataverse } from '../../__tests__/support/memory-dataverse';
import { testWorkerSettings } from '../../__tests__/support/worker-settings';
import { createWorkerPool, type WorkerPool } from '../pool';
import { inboxEvent } from './emulated-pool';

// Its waits allow 10 s (waitFor): a loaded machine fails them with their own message, not Jest's 5 s.
jest.setTimeout(30_000);

const SECOND = 1_700_000_000;

const event = (eventId: string, type: string, objectId: string, object: string, created = SECOND) =>
  inboxEvent({ id: eventId, type, created, data: { object: { id: objectId, object } } });

/**
 * A dispute's event claimed by another process. Of the burst's second by default, its id before theirs: its
 * stamp then loses to the burst's. Claimed before the pool starts, whose idle workers would otherwise take it
 * between its delivery and this claim.
 */
async function claimDispute(other: Store, created = SECOND): Promise<InboxEvent> {
  await other.insertEvent(event('evt_0_dispute', 'charge.dispute.created', 'du_burst', 'dispute', created));
  const [dispute] = await other.claimEvents({ owner: 'other-process', limit: 1, leaseMs: 60_000 });
  expect(dispute?.eventId).toBe('evt_0_dispute');
  return dispute;
}

/** The dispute's write of the payment from Stripe begun. */
async function beginDisputeWrite(other: Store, dispute: InboxEvent, beganAtMs?: number): Promise<void> {
  await other.beginFreshWrite(dispute, 'pi_burst', beganAtMs);
}

/** The dispute's event applied: its write ends, and its stamp moves to the payment where it is newer. */
async function endDisputeWrite(other: Store, dispute: InboxEvent): Promise<void> {
  const recorded = await other.completeEvent({
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
  expect(recorded).toBe(true);
}

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

  /** Runs `work` as the first thing the payment's stamp check reads: after the claim gave the burst. */
  function beforeStampCheck(store: Store, work: () => Promise<void>): void {
    const getObjectState = store.getObjectState.bind(store);
    let done = false;
    store.getObjectState = async (source, account, objectId) => {
      if (!done && objectId === 'pi_burst') {
        done = true;
        await work();
      }
      return getObjectState(source, account, objectId);
    };
  }

  beforeEach(async () => {
    given = [];
    db = await engine.open();
  });
  /** The payment's burst: two events of one second, delivered before the pool starts. */
  const deliverBurst = async () => {
    await db.store.insertEvent(
      event('evt_p1_created', 'payment_intent.created', 'pi_burst', 'payment_intent'),
    );
    await db.store.insertEvent(
      event('evt_p2_succeeded', 'payment_intent.succeeded', 'pi_burst', 'payment_intent'),
    );
  };
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
    const other = await db.connect();
    const dispute = await claimDispute(other);
    beforeStampCheck(db.store, async () => {
      await beginDisputeWrite(other, dispute);
      await endDisputeWrite(other, dispute);
    });
    await deliverBurst();
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

  test('the payment is read when the write was under way at the claim and ended before the stamp check', async () => {
    const other = await db.connect();
    const dispute = await claimDispute(other);
    await beginDisputeWrite(other, dispute);
    beforeStampCheck(db.store, () => endDisputeWrite(other, dispute));
    await deliverBurst();
    startPool();
    await waitFor(applied, 'the payment burst');
    expect(given).toEqual([{ burst: false, payloadMayBeStale: true }]);
    expect(await db.store.getObjectState('stripe', '', 'pi_burst')).toMatchObject({
      stamp: { eventId: 'evt_p2_succeeded' },
      freshWritesBegun: 1,
      freshWritesEnded: 1,
    });
  });

  test('writes from Stripe begun and ended before the claim go with the burst, which is given', async () => {
    const other = await db.connect();
    // Ten seconds before the burst: its stamp is older than the burst's events.
    const dispute = await claimDispute(other, SECOND - 10);
    await beginDisputeWrite(other, dispute);
    await endDisputeWrite(other, dispute);
    await deliverBurst();
    startPool();
    await waitFor(applied, 'the payment burst');
    expect(given).toEqual([{ burst: true, payloadMayBeStale: true }]);
  });

  test.each([
    ['14 minutes ago is still under way: the payment is read', 14, false],
    ['16 minutes ago counts as ended: the burst is given', 16, true],
  ])('a write its killed attempt left under way, begun %s', async (_, minutesAgo, burst) => {
    const other = await db.connect();
    // Never ended: the process that began it was killed.
    await beginDisputeWrite(other, await claimDispute(other, SECOND - 10), Date.now() - minutesAgo * 60_000);
    await deliverBurst();
    startPool();
    await waitFor(applied, 'the payment burst');
    expect(given).toEqual([{ burst, payloadMayBeStale: true }]);
  });

  test('without it, the payment is written from the burst', async () => {
    await deliverBurst();
    startPool();
    await waitFor(applied, 'the payment burst');
    expect(given).toEqual([{ burst: true, payloadMayBeStale: true }]);
  });
});
