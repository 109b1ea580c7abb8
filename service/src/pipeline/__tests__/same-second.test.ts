/**
 * Two events of one Stripe object created in the same second: Stripe gives no order within a second (its ids
 * are random), so neither may be dropped as "older". Both are applied; the later-processed one is told its
 * payload may be stale, and a handler that maps its payload (billing) then maps Stripe's current object.
 */
import { model } from '@stc/solution';
import { startDataverseEmulator, type DataverseEmulator } from '@stc/emulators';
import Stripe from 'stripe';
import { createDataverseClient } from '../../dataverse';
import { createLogger } from '../../observability/log';
import { recordedEvent, type StripeJson } from '../../mapping/__tests__/fixtures';
import type { NewInboxEvent, Store } from '../../store';
import { createBillingHandler } from '../../inbound/billing';
import { defaultMappings, SyncHarness } from '../../inbound/__tests__/harness';
import { StripeStub } from '../../inbound/__tests__/stripe-stub';
import type { StripeEventHandler } from '../handler';
import { sqliteEngine, type TestDatabase } from '../../__tests__/support/engines';
import { createMemoryDataverse } from '../../__tests__/support/memory-dataverse';
import { waitFor } from '@stc/testkit';
import { testWorkerSettings } from '../../__tests__/support/worker-settings';
import { createWorkerPool, type WorkerPool } from '../pool';
import { inboxEvent } from './emulated-pool';

const settings = testWorkerSettings();
const SECOND = 1_700_000_000;

function disputeEvent(eventId: string, type: string, createdSeconds: number): NewInboxEvent {
  return inboxEvent({
    id: eventId,
    object: 'event',
    type,
    created: createdSeconds,
    livemode: false,
    data: {
      object: { id: 'du_tie', object: 'dispute', status: type.endsWith('closed') ? 'won' : 'needs_response' },
    },
  });
}

describe('worker pool: events of one object in the same second', () => {
  let db: TestDatabase;
  let store: Store;
  let pool: WorkerPool | undefined;
  const calls: Array<{ eventId: string; payloadMayBeStale: boolean | undefined }> = [];
  const recorder: StripeEventHandler = {
    resource: 'disputes',
    eventTypes: ['charge.dispute.*'],
    async handle(event, context) {
      calls.push({ eventId: event.id, payloadMayBeStale: context.payloadMayBeStale });
    },
  };
  const statusOf = async (eventId: string) => (await store.findEvent('stripe', '', eventId))?.status;

  beforeEach(async () => {
    calls.length = 0;
    db = await sqliteEngine.open();
    store = db.store;
    pool = createWorkerPool({
      store,
      handlers: [recorder],
      dataverse: createMemoryDataverse(),
      stripeFor: () => new Stripe('sk_test_unused', { telemetry: false }),
      logger: createLogger({ level: 'silent' }),
      settings,
    });
    pool.start();
  });
  afterEach(async () => {
    await pool?.stop({ graceMs: 100 });
    await db.destroy();
  });

  // Ids chosen so that one order has the later event with the smaller id, which the old rule superseded.
  test.each([
    ['the later event has the smaller id', 'evt_z_withdrawn', 'evt_a_closed'],
    ['the later event has the larger id', 'evt_a_withdrawn', 'evt_z_closed'],
  ])('both are applied whatever their ids (%s)', async (_, firstId, secondId) => {
    const first = disputeEvent(firstId, 'charge.dispute.funds_withdrawn', SECOND);
    const second = disputeEvent(secondId, 'charge.dispute.closed', SECOND);
    await store.insertEvent(first);
    pool!.notify();
    await waitFor(async () => (await statusOf(firstId)) === 'applied', 'the first event to be applied');
    await store.insertEvent(second);
    pool!.notify();
    await waitFor(async () => (await statusOf(secondId)) === 'applied', 'the second event to be applied');
    expect(calls).toEqual([
      { eventId: firstId, payloadMayBeStale: false },
      { eventId: secondId, payloadMayBeStale: true },
    ]);
  });

  test('an event of an earlier second is still superseded', async () => {
    const newer = disputeEvent('evt_a_newer', 'charge.dispute.closed', SECOND + 1);
    const older = disputeEvent('evt_z_older', 'charge.dispute.funds_withdrawn', SECOND);
    await store.insertEvent(newer);
    pool!.notify();
    await waitFor(async () => (await statusOf(newer.eventId)) === 'applied', 'the newer event');
    await store.insertEvent(older);
    pool!.notify();
    await waitFor(async () => (await statusOf(older.eventId)) === 'superseded', 'the older superseded');
    expect(calls.map((c) => c.eventId)).toEqual([newer.eventId]);
  });
});

describe('billing on a same-second tie: the stale payload cannot regress the row', () => {
  let emulator: DataverseEmulator;
  let stripe: StripeStub;
  beforeAll(async () => {
    emulator = await startDataverseEmulator({ model });
    stripe = new StripeStub();
    await stripe.start();
  });
  afterAll(async () => {
    await stripe?.stop();
    await emulator?.close();
  });

  const status = (value: string) =>
    model.optionSets
      .find((s) => s.name === 'stc_subscriptionstatus')!
      .options.find((o) => o.externalValue === value)!.value;

  test.each([
    [true, 'canceled'],
    [false, 'active'],
  ])('payloadMayBeStale=%s writes the %s subscription', async (payloadMayBeStale, expected) => {
    emulator.store.clear();
    const created = recordedEvent('subscription_created');
    const payload = created.data.object as StripeJson;
    expect(payload.status).toBe('active');
    // Stripe now: the subscription was canceled by an event of the same second, already applied.
    stripe.put({ ...payload, status: 'canceled', canceled_at: created.created });
    const client = createDataverseClient({ baseUrl: emulator.url });
    const context = { ...new SyncHarness(stripe, client).context, payloadMayBeStale };
    await createBillingHandler(defaultMappings).handle(created, context);
    const row = await client.retrieveByKey('stc_subscriptions', { stc_stripeid: payload.id });
    expect(row?.stc_status).toBe(status(expected));
  });
});
