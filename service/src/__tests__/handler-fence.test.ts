/**
 * A handler the pipeline has let go of sends nothing more: the service's Stripe clients ask the handler's fence
 * before each request, and the Dataverse client before each attempt of a call (see pipeline/fence.ts). A refund
 * handler that ran past its time is retried; when the first run wakes up afterwards, its refund request is
 * refused before it leaves the process. A write that was waiting to be sent again after a 503 when its handler
 * ran past its time is not sent once the retry has written the object.
 */
import { model } from '@stc/solution';
import { startDataverseEmulator, startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import { waitFor } from '@stc/testkit';
import type Stripe from 'stripe';
import { createDataverseClient } from '../dataverse';
import { createLogger } from '../observability/log';
import { assertHandlerMayGoOn, createWorkerPool, HandlerStoppedError, type WorkerPool } from '../pipeline';
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

test("a write waiting out a 503 when its handler ran past its time is not sent after the retry's", async () => {
  const dataverse = await startDataverseEmulator({ model });
  try {
    // After a 503 the write waits 2 to 4 s to be sent again: longer than the handler may run.
    const client = createDataverseClient({
      baseUrl: dataverse.url,
      retry: { baseDelayMs: 4000, maxDelayMs: 4000 },
    });
    dataverse.injectFault({ status: 503, count: 1, match: { method: 'PATCH' } });
    const runs: Array<Promise<unknown>> = [];
    // Each run writes what it knows; the first run's state is older than the second's.
    const handler: StripeEventHandler = {
      resource: 'payments',
      eventTypes: ['payment_intent.succeeded'],
      handle(_event, context) {
        const run = runs.length + 1;
        const write = context.dataverse.upsertByKey(
          'stc_payments',
          { stc_stripeid: 'pi_fenced' },
          { stc_amount: run, stc_description: `run ${run}` },
        );
        runs.push(
          write.then(
            () => 'written',
            (error: unknown) => error,
          ),
        );
        return write.then(() => undefined);
      },
    };
    await store.insertEvent({
      source: 'stripe',
      account: '',
      eventId: 'evt_pi_fenced',
      type: 'payment_intent.succeeded',
      objectId: 'pi_fenced',
      eventCreatedMs: Date.now(),
      payload: JSON.stringify({
        id: 'evt_pi_fenced',
        type: 'payment_intent.succeeded',
        data: { object: { id: 'pi_fenced' } },
      }),
      status: 'pending',
      receivedAtMs: Date.now() - 1000,
    });
    pool = createWorkerPool({
      store,
      handlers: [handler],
      dataverse: client,
      stripeFor: createBudgetedStripeClients(stripeConfig(), store).stripeFor,
      logger: createLogger({ level: 'silent' }),
      settings: testWorkerSettings({ handlerTimeoutMs: 1000 }),
    });
    pool.start();
    await waitFor(
      async () => (await store.findEvent('stripe', '', 'evt_pi_fenced'))?.status === 'applied',
      'the retry to write the payment',
    );
    const attempts = await store.eventAttempts((await store.findEvent('stripe', '', 'evt_pi_fenced'))!.id);
    expect(attempts.map((a) => [a.outcome, a.errorCode])).toEqual([
      ['retry', 'handler_timeout'],
      ['applied', null],
    ]);

    // The first run's write, which met the 503, has ended: it was not sent again over the second's.
    const first = await runs[0];
    expect(dataverse.store.rows('stc_payments')).toEqual([
      expect.objectContaining({ stc_stripeid: 'pi_fenced', stc_amount: 2, stc_description: 'run 2' }),
    ]);
    expect(first).toBeInstanceOf(HandlerStoppedError);
    expect((first as HandlerStoppedError).code).toBe('handler_timeout');
  } finally {
    await pool?.stop({ graceMs: 100 });
    pool = undefined;
    await dataverse.close();
  }
});
