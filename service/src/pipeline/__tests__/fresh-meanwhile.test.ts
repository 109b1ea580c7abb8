/**
 * An object written from an event's own copies while another handler wrote it from Stripe: a dispute's event
 * re-syncs its payment from Stripe (it counts the write as begun before it writes, and the payment's stamp
 * moves when the dispute's event is applied) while the payment's own event is being written from its payload.
 * The copies may then have overwritten the newer state, so the payment's event is written again, told its
 * payload may be stale, whether or not the dispute's event has completed by then, and also when it had read
 * Stripe itself (its read may be older than the dispute's). A payment event that starts while the dispute's
 * write is under way reads Stripe at once. A dispute whose event fails after it began its write moves no
 * stamp: the payment's older events are still applied. Without the other write, the payment is written once.
 */
import Stripe from 'stripe';
import { waitFor } from '@stc/testkit';
import { createLogger } from '../../observability/log';
import type { Store } from '../../store';
import type { StripeEventHandler } from '../handler';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { createMemoryDataverse } from '../../__tests__/support/memory-dataverse';
import { testWorkerSettings } from '../../__tests__/support/worker-settings';
import { assertHandlerMayGoOn } from '../fence';
import { createWorkerPool, type WorkerPool } from '../pool';
import { inboxEvent } from './emulated-pool';

// Its waits allow 10 s (waitFor): a loaded machine fails them with their own message, not Jest's 5 s.
jest.setTimeout(30_000);

const SECOND = 1_700_000_000;

/** A pending Stripe event of `objectId` (a `payment_intent` or a `dispute`), as intake stores it. */
const event = (eventId: string, type: string, objectId: string, object: string, createdSeconds: number) =>
  inboxEvent({ id: eventId, type, created: createdSeconds, data: { object: { id: objectId, object } } });

const paymentEvent = (eventId = 'evt_payment') =>
  event(eventId, 'payment_intent.succeeded', 'pi_tie', 'payment_intent', SECOND);
const disputeEvent = () => event('evt_dispute', 'charge.dispute.created', 'du_tie', 'dispute', SECOND + 1);

/** What each test makes the two handlers wait for. */
interface Plan {
  /** The payment's first run waits for the dispute to be applied. */
  paymentWaitsForDisputeApplied?: boolean;
  /** The payment's first run waits for the dispute's write to begin. */
  paymentWaitsForDisputeWrite?: boolean;
  /** The dispute's event completes only once the payment's is applied. */
  disputeWaitsForPayment?: boolean;
  /** The dispute's handler fails (for good) once it began its write. */
  disputeFails?: boolean;
  /** Once it began its write, another process takes the dispute's event over (its lease lapsed). */
  disputeLosesLease?: boolean;
}

describeOnEachEngine('an object written from Stripe by another event while its own event ran', (engine) => {
  let db: TestDatabase;
  let store: Store;
  let pool: WorkerPool | undefined;
  /** How each run of the payment's handler was told its payload: stale or not. */
  let paymentRuns: boolean[];
  let plan: Plan;
  /** The dispute's handler has begun to write the payment. */
  let disputeWriting: boolean;
  const statusOf = async (eventId: string) => (await store.findEvent('stripe', '', eventId))?.status;

  const payments: StripeEventHandler = {
    resource: 'payments',
    eventTypes: ['payment_intent.*'],
    async handle(_event, context) {
      paymentRuns.push(context.payloadMayBeStale === true);
      if (paymentRuns.length > 1) return;
      if (plan.paymentWaitsForDisputeApplied)
        await waitFor(async () => (await statusOf('evt_dispute')) === 'applied', 'the dispute');
      if (plan.paymentWaitsForDisputeWrite) await waitFor(() => disputeWriting, "the dispute's write");
    },
  };
  const disputes: StripeEventHandler = {
    resource: 'disputes',
    eventTypes: ['charge.dispute.*'],
    // Re-syncs the payment from Stripe, as the disputes handler does.
    async handle(_event, context) {
      await context.writingFreshStateOf?.('pi_tie');
      disputeWriting = true;
      if (plan.disputeFails) throw new TypeError('the dispute could not be mapped');
      if (plan.disputeLosesLease) {
        const [taken] = await (
          await db.connect()
        ).claimEvents({
          owner: 'other-process',
          limit: 1,
          leaseMs: 60_000,
          nowMs: Date.now() + testWorkerSettings().leaseMs + 1000,
        });
        expect(taken?.eventId).toBe('evt_dispute');
      }
      // Stopped (given back at shutdown), it goes no further, as its next request to Dataverse would not.
      if (plan.disputeWaitsForPayment)
        await waitFor(async () => {
          assertHandlerMayGoOn();
          return (await statusOf('evt_payment')) === 'applied';
        }, 'the payment');
    },
  };

  beforeEach(async () => {
    paymentRuns = [];
    plan = {};
    disputeWriting = false;
    db = await engine.open();
    store = db.store;
    pool = createWorkerPool({
      store,
      handlers: [payments, disputes],
      dataverse: createMemoryDataverse(),
      stripeFor: () => new Stripe('sk_test_unused', { telemetry: false }),
      logger: createLogger({ level: 'silent' }),
      settings: testWorkerSettings(),
    });
  });
  afterEach(async () => {
    await pool?.stop({ graceMs: 100 });
    await db.destroy();
  });

  test('writes the payment again, as Stripe has it, when a dispute re-synced it meanwhile', async () => {
    plan = { paymentWaitsForDisputeApplied: true };
    await store.insertEvent(paymentEvent());
    await store.insertEvent(disputeEvent());
    pool!.start();
    await waitFor(async () => (await statusOf('evt_payment')) === 'applied', 'the payment');
    expect(await statusOf('evt_dispute')).toBe('applied');
    expect(paymentRuns).toEqual([false, true]);
    expect(await store.getObjectState('stripe', '', 'pi_tie')).toEqual({
      stamp: { eventCreatedMs: (SECOND + 1) * 1000, eventId: 'evt_dispute' },
      freshWritesBegun: 1,
      freshWritesEnded: 1,
    });
  });

  test('writes the payment again when the dispute began its write before the payment wrote, and completes after', async () => {
    plan = { paymentWaitsForDisputeWrite: true, disputeWaitsForPayment: true };
    await store.insertEvent(paymentEvent());
    await store.insertEvent(disputeEvent());
    pool!.start();
    await waitFor(async () => (await statusOf('evt_dispute')) === 'applied', 'the dispute');
    expect(await statusOf('evt_payment')).toBe('applied');
    expect(paymentRuns).toEqual([false, true]);
    expect((await store.getObjectState('stripe', '', 'pi_tie')).stamp?.eventId).toBe('evt_dispute');
  });

  test('writes the payment again when it read Stripe itself (its payload may be stale) before the dispute wrote', async () => {
    plan = { paymentWaitsForDisputeWrite: true, disputeWaitsForPayment: true };
    // An event of the payment's second was applied: the payment's event reads Stripe rather than its copy.
    await store.insertEvent(paymentEvent('evt_same_second'));
    const [earlier] = await store.claimEvents({ owner: 'setup', limit: 1, leaseMs: 60_000 });
    await store.completeEvent({
      event: earlier,
      owner: 'setup',
      outcome: { kind: 'applied' },
      startedAtMs: 0,
      finishedAtMs: 0,
      stampObject: true,
    });
    await store.insertEvent(paymentEvent());
    await store.insertEvent(disputeEvent());
    pool!.start();
    await waitFor(async () => (await statusOf('evt_dispute')) === 'applied', 'the dispute');
    expect(paymentRuns).toEqual([true, true]);
  });

  test("reads Stripe at once when it starts while the dispute's write is under way", async () => {
    plan = { disputeWaitsForPayment: true };
    await store.insertEvent(disputeEvent());
    pool!.start();
    await waitFor(() => disputeWriting, "the dispute's write");
    await store.insertEvent(paymentEvent());
    pool!.notify();
    await waitFor(async () => (await statusOf('evt_dispute')) === 'applied', 'the dispute');
    expect(paymentRuns).toEqual([true]);
  });

  test("a dispute that failed after it began its write moves no stamp: the payment's older event is applied", async () => {
    plan = { disputeFails: true };
    await store.insertEvent(disputeEvent());
    pool!.start();
    await waitFor(async () => (await statusOf('evt_dispute')) === 'dead', 'the dead dispute');
    expect(await store.getObjectState('stripe', '', 'pi_tie')).toEqual({
      stamp: null,
      freshWritesBegun: 1,
      freshWritesEnded: 1,
    });
    await store.insertEvent(paymentEvent());
    pool!.notify();
    await waitFor(async () => (await statusOf('evt_payment')) === 'applied', 'the payment');
    expect(paymentRuns).toEqual([false]);
  });

  test('a dispute given back at shutdown during its write ends it', async () => {
    plan = { disputeWaitsForPayment: true };
    await store.insertEvent(disputeEvent());
    pool!.start();
    await waitFor(() => disputeWriting, "the dispute's write");
    await pool!.stop({ graceMs: 50 });
    expect(await statusOf('evt_dispute')).toBe('pending');
    expect(await store.getObjectState('stripe', '', 'pi_tie')).toEqual({
      stamp: null,
      freshWritesBegun: 1,
      freshWritesEnded: 1,
    });
  });

  test('a dispute whose lease was lost during its write ends it, and records nothing', async () => {
    plan = { disputeLosesLease: true };
    await store.insertEvent(disputeEvent());
    pool!.start();
    await waitFor(
      async () => (await store.getObjectState('stripe', '', 'pi_tie')).freshWritesEnded === 1,
      'the write ended',
      3000,
    );
    expect(await store.getObjectState('stripe', '', 'pi_tie')).toEqual({
      stamp: null,
      freshWritesBegun: 1,
      freshWritesEnded: 1,
    });
    // The other process owns the event; this attempt recorded no outcome.
    const dispute = await store.findEvent('stripe', '', 'evt_dispute');
    expect(dispute).toMatchObject({ status: 'processing', leaseOwner: 'other-process' });
    expect(await store.eventAttempts(dispute!.id)).toEqual([]);
  });

  test('writes the payment once when nothing else wrote it meanwhile', async () => {
    await store.insertEvent(paymentEvent());
    pool!.start();
    await waitFor(async () => (await statusOf('evt_payment')) === 'applied', 'the payment');
    await store.insertEvent(disputeEvent());
    pool!.notify();
    await waitFor(async () => (await statusOf('evt_dispute')) === 'applied', 'the dispute');
    expect(paymentRuns).toEqual([false]);
  });
});
