/**
 * An object written from an event's own copies while another handler wrote it from Stripe: a dispute's event
 * re-syncs its payment from Stripe (and moves the payment's stamp before it writes) while the payment's own
 * event is being written from its payload. The copies may then have overwritten the newer state, so the
 * payment's event is written again, told its payload may be stale, whether or not the dispute's event has
 * completed by then, and also when it had read Stripe itself (its read may be older than the dispute's);
 * without the other write, it is written once.
 */
import Stripe from 'stripe';
import { waitFor } from '@stc/testkit';
import { createLogger } from '../../observability/log';
import type { Store } from '../../store';
import type { StripeEventHandler } from '../handler';
import { sqliteEngine, type TestDatabase } from '../../__tests__/support/engines';
import { createMemoryDataverse } from '../../__tests__/support/memory-dataverse';
import { testWorkerSettings } from '../../__tests__/support/worker-settings';
import { createWorkerPool, type WorkerPool } from '../pool';
import { inboxEvent } from './emulated-pool';

const SECOND = 1_700_000_000;

/** A pending Stripe event of `objectId` (a `payment_intent` or a `dispute`), as intake stores it. */
const event = (eventId: string, type: string, objectId: string, object: string, createdSeconds: number) =>
  inboxEvent({ id: eventId, type, created: createdSeconds, data: { object: { id: objectId, object } } });

describe('an object written from Stripe by another event while its own event ran', () => {
  let db: TestDatabase;
  let store: Store;
  let pool: WorkerPool | undefined;
  /** How each run of the payment's handler was told its payload: stale or not. */
  let paymentRuns: boolean[];
  /** Set by a test: the payment's first run waits for the dispute to be applied. */
  let holdPaymentUntilDispute: boolean;
  /**
   * Set by a test: the payment's first run waits for the dispute's write to begin, and the dispute's event
   * completes only once the payment's has.
   */
  let overlapDisputeWrite: boolean;
  /** The dispute's handler has moved the payment's stamp and is writing it. */
  let disputeWriting: boolean;
  const statusOf = async (eventId: string) => (await store.findEvent('stripe', '', eventId))?.status;

  const payments: StripeEventHandler = {
    resource: 'payments',
    eventTypes: ['payment_intent.*'],
    async handle(_event, context) {
      paymentRuns.push(context.payloadMayBeStale === true);
      if (holdPaymentUntilDispute && paymentRuns.length === 1)
        await waitFor(async () => (await statusOf('evt_dispute')) === 'applied', 'the dispute');
      if (overlapDisputeWrite && paymentRuns.length === 1)
        await waitFor(() => disputeWriting, "the dispute's write");
    },
  };
  const disputes: StripeEventHandler = {
    resource: 'disputes',
    eventTypes: ['charge.dispute.*'],
    // Re-syncs the payment from Stripe, as the disputes handler does.
    async handle(_event, context) {
      await context.writingFreshStateOf?.('pi_tie');
      disputeWriting = true;
      if (overlapDisputeWrite)
        await waitFor(async () => (await statusOf('evt_payment')) === 'applied', 'the payment');
    },
  };

  beforeEach(async () => {
    paymentRuns = [];
    holdPaymentUntilDispute = false;
    overlapDisputeWrite = false;
    disputeWriting = false;
    db = await sqliteEngine.open();
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
    holdPaymentUntilDispute = true;
    await store.insertEvent(
      event('evt_payment', 'payment_intent.succeeded', 'pi_tie', 'payment_intent', SECOND),
    );
    await store.insertEvent(event('evt_dispute', 'charge.dispute.created', 'du_tie', 'dispute', SECOND + 1));
    pool!.start();
    await waitFor(async () => (await statusOf('evt_payment')) === 'applied', 'the payment');
    expect(await statusOf('evt_dispute')).toBe('applied');
    expect(paymentRuns).toEqual([false, true]);
  });

  test('writes the payment again when the dispute began its write before the payment wrote, and completes after', async () => {
    overlapDisputeWrite = true;
    await store.insertEvent(
      event('evt_payment', 'payment_intent.succeeded', 'pi_tie', 'payment_intent', SECOND),
    );
    await store.insertEvent(event('evt_dispute', 'charge.dispute.created', 'du_tie', 'dispute', SECOND + 1));
    pool!.start();
    await waitFor(async () => (await statusOf('evt_dispute')) === 'applied', 'the dispute');
    expect(await statusOf('evt_payment')).toBe('applied');
    expect(paymentRuns).toEqual([false, true]);
    expect(await store.getObjectStamp('stripe', '', 'pi_tie')).toMatchObject({ eventId: 'evt_dispute' });
  });

  test('writes the payment again when it read Stripe itself (its payload may be stale) before the dispute wrote', async () => {
    overlapDisputeWrite = true;
    // An event of the payment's second was applied: the payment's event reads Stripe rather than its copy.
    await store.stampObject(
      { source: 'stripe', account: '', eventId: 'evt_same_second', eventCreatedMs: SECOND * 1000 },
      'pi_tie',
    );
    await store.insertEvent(
      event('evt_payment', 'payment_intent.succeeded', 'pi_tie', 'payment_intent', SECOND),
    );
    await store.insertEvent(event('evt_dispute', 'charge.dispute.created', 'du_tie', 'dispute', SECOND + 1));
    pool!.start();
    await waitFor(async () => (await statusOf('evt_dispute')) === 'applied', 'the dispute');
    expect(paymentRuns).toEqual([true, true]);
  });

  test('writes the payment once when nothing else wrote it meanwhile', async () => {
    await store.insertEvent(
      event('evt_payment', 'payment_intent.succeeded', 'pi_tie', 'payment_intent', SECOND),
    );
    pool!.start();
    await waitFor(async () => (await statusOf('evt_payment')) === 'applied', 'the payment');
    await store.insertEvent(event('evt_dispute', 'charge.dispute.created', 'du_tie', 'dispute', SECOND + 1));
    pool!.notify();
    await waitFor(async () => (await statusOf('evt_dispute')) === 'applied', 'the dispute');
    expect(paymentRuns).toEqual([false]);
  });
});
