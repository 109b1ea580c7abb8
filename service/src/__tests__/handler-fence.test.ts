/**
 * A handler the pipeline has let go of sends nothing more to Stripe: the service's Stripe clients ask the
 * handler's fence before each request (see pipeline/fence.ts). A refund handler that ran past its time is
 * retried; when the first run wakes up afterwards, its refund request is refused before it leaves the process.
 */
import { startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import { waitFor } from '@stc/testkit';
import type Stripe from 'stripe';
import { createLogger } from '../observability/log';
import { assertHandlerMayGoOn, createWorkerPool, type WorkerPool } from '../pipeline';
import type { StripeEventHandler } from '../pipeline/handler';
import { createSqliteStore, type Store } from '../store';
import { createBudgetedStripeClients } from '../stripe';
import { createMemoryDataverse } from './support/memory-dataverse';
import { stripeConfigFor } from './support/stripe-config';
import { testWorkerSettings } from './support/worker-settings';

jest.setTimeout(60_000);

let emulator: StripeEmulator;
let store: Store;
let pool: WorkerPool | undefined;

beforeEach(async () => {
  emulator = await startStripeEmulator({ rateLimit: false });
  store = createSqliteStore({ path: ':memory:' });
  await store.migrate();
});
afterEach(async () => {
  await pool?.stop({ graceMs: 100 });
  await store.close();
  await emulator.close();
});

const stripeConfig = () => stripeConfigFor(emulator, { perSecond: 100, endpointPerSecond: 100 });

test('a refund handler past its time is retried, and its first run, waking late, sends no refund', async () => {
  const [paymentIntent] = emulator.testHelpers.seedPayments({ count: 1, amount: 5000 });
  const { stripeFor } = createBudgetedStripeClients(stripeConfig(), store, {
    beforeRequest: assertHandlerMayGoOn,
  });
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const runs: Array<Promise<unknown>> = [];
  // Each run refunds 10.00 with its own key, as a handler that does not yet know a refund was made would.
  const handler: StripeEventHandler = {
    resource: 'refunds',
    eventTypes: ['charge.refund.requested'],
    handle(_event, context) {
      const run = (async () => {
        if (runs.length === 0) await gate;
        return context.stripeFor(null).refunds.create({ payment_intent: paymentIntent, amount: 1000 });
      })();
      runs.push(
        run.then(
          () => 'sent',
          (error: unknown) => error,
        ),
      );
      return run.then(() => undefined);
    },
  };
  await store.insertEvent({
    source: 'stripe',
    account: '',
    eventId: 'evt_refund_late',
    type: 'charge.refund.requested',
    objectId: paymentIntent,
    eventCreatedMs: Date.now(),
    payload: JSON.stringify({ id: 'evt_refund_late', type: 'charge.refund.requested', data: { object: {} } }),
    status: 'pending',
    receivedAtMs: Date.now() - 1000,
  });
  pool = createWorkerPool({
    store,
    handlers: [handler],
    dataverse: createMemoryDataverse(),
    stripeFor,
    logger: createLogger({ level: 'silent' }),
    settings: testWorkerSettings({ handlerTimeoutMs: 2000 }),
  });
  pool.start();
  await waitFor(
    async () => (await store.findEvent('stripe', '', 'evt_refund_late'))?.status === 'applied',
    'the retry to refund',
  );
  const refundRequests = () =>
    emulator.requests.filter((r) => r.method === 'POST' && r.path === '/v1/refunds');
  expect(refundRequests()).toHaveLength(1);

  open();
  const late = (await runs[0]) as Stripe.errors.StripeError;
  expect(late).toBeInstanceOf(Error);
  // The SDK reports the refused request as a connection error whose cause is the handler's stop.
  expect(String((late as { detail?: unknown }).detail ?? late.message)).toMatch(
    /did not finish within 2000 ms/,
  );
  expect(refundRequests()).toHaveLength(1);
  const refunds = await stripeFor(null).refunds.list({ payment_intent: paymentIntent });
  expect(refunds.data.map((r) => r.amount)).toEqual([1000]);
});
