import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import type { WorkerSettings } from '../../config';
import { createLogger } from '../../observability/log';
import { createMetrics, type Metrics } from '../../observability/metrics';
import type { NewInboxEvent, Store } from '../../store';
import type { DataverseChange } from '../../dataverse/change';
import type { EventHandler } from '../handler';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { createMemoryDataverse, type MemoryDataverse } from '../../__tests__/support/memory-dataverse';
import { createPaymentTestHandler } from '../../__tests__/support/payment-handler';
import { loadEvent, waitFor } from '@stc/testkit';
import { testWorkerSettings } from '../../__tests__/support/worker-settings';
import { thinMeterEventPayload } from '../../__tests__/support/thin-event';
import { createWorkerPool, type WorkerPool } from '../pool';
import { HandlerStoppedError } from '../fence';

const logger = createLogger({ level: 'silent' });
const settings = testWorkerSettings();

/** A dataverse error as the client throws it: transient or not, with the platform's code. */
function dataverseError(
  status: number,
  code: string,
  message: string,
  transient: boolean,
  retryAfterMs?: number,
) {
  return Object.assign(new Error(message), { name: 'DataverseError', status, code, transient, retryAfterMs });
}

let seq = 0;
function chargeEvent(
  chargeId: string,
  createdSeconds: number,
  overrides: Partial<NewInboxEvent> = {},
): NewInboxEvent {
  const base = loadEvent('charge_succeeded');
  const id = `evt_pool_${++seq}`;
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
    ...overrides,
  };
}

describeOnEachEngine('worker pool', (engine) => {
  let db: TestDatabase;
  let store: Store;
  let dataverse: MemoryDataverse;
  const pools: WorkerPool[] = [];
  const stripe = new Stripe('sk_test_unused', { telemetry: false });

  const startPool = (
    handlers: EventHandler[],
    overrides: Partial<WorkerSettings> = {},
    s: Store = store,
    metrics?: Metrics,
  ) => {
    const pool = createWorkerPool({
      store: s,
      handlers,
      dataverse,
      stripeFor: () => stripe,
      logger,
      metrics,
      settings: { ...settings, ...overrides },
    });
    pools.push(pool);
    pool.start();
    return pool;
  };
  const statusOf = async (eventId: string) => (await store.findEvent('stripe', '', eventId))?.status;
  /** Inserts a charge event of `chargeId`, starts a pool on `handler` and waits until the event is `status`. */
  const runUntil = async (
    handler: EventHandler,
    chargeId: string,
    status: string,
    what: string,
    overrides: Partial<WorkerSettings> = {},
  ) => {
    const event = chargeEvent(chargeId, 1_700_000_000);
    await store.insertEvent(event);
    startPool([handler], overrides);
    await waitFor(async () => (await statusOf(event.eventId)) === status, what);
    return event;
  };

  beforeEach(async () => {
    db = await engine.open();
    store = db.store;
    dataverse = createMemoryDataverse();
  });
  afterEach(async () => {
    for (const pool of pools.splice(0)) await pool.stop({ graceMs: 100 });
    await db.destroy();
  });

  test('applies an event: the row is written, the outcome and the object stamp recorded', async () => {
    const handler = createPaymentTestHandler();
    const event = await runUntil(handler, 'ch_apply', 'applied', 'the event to be applied');
    expect(dataverse.rows('stc_payments').size).toBe(1);
    expect([...dataverse.rows('stc_payments').values()][0]).toMatchObject({
      stc_stripeid: 'ch_apply',
      stc_amount: 30,
      stc_lasteventid: event.eventId,
    });
    expect(await store.getObjectStamp('stripe', '', 'ch_apply')).toEqual({
      eventCreatedMs: event.eventCreatedMs,
      eventId: event.eventId,
    });
    expect((await store.findEvent('stripe', '', event.eventId))?.attempts).toBe(1);
  });

  test('an event older than the last applied one of its object is superseded, not applied', async () => {
    const handler = createPaymentTestHandler();
    const newer = chargeEvent('ch_order', 1_700_000_100);
    const older = chargeEvent('ch_order', 1_700_000_000);
    await store.insertEvent(newer);
    const pool = startPool([handler]);
    await waitFor(async () => (await statusOf(newer.eventId)) === 'applied', 'the newer event');
    await store.insertEvent(older);
    pool.notify();
    await waitFor(
      async () => (await statusOf(older.eventId)) === 'superseded',
      'the older event to be superseded',
    );
    expect(handler.calls.map((c) => c.eventId)).toEqual([newer.eventId]);
    expect(
      dataverse.rows('stc_payments').get(JSON.stringify([['stc_stripeid', 'ch_order']]))?.stc_lasteventid,
    ).toBe(newer.eventId);
    expect(await store.getObjectStamp('stripe', '', 'ch_order')).toEqual({
      eventCreatedMs: newer.eventCreatedMs,
      eventId: newer.eventId,
    });
  });

  test('events of one object never run at once, and in creation order when queued together', async () => {
    const handler = createPaymentTestHandler(() => new Promise((r) => setTimeout(r, 5)));
    const events = [3, 1, 2, 5, 4].map((n) => chargeEvent('ch_serial', 1_700_000_000 + n));
    const others = [1, 2, 3].map((n) => chargeEvent(`ch_other_${n}`, 1_700_000_000));
    for (const e of [...events, ...others]) await store.insertEvent(e);
    startPool([handler], { concurrency: 8 });
    await waitFor(
      async () => (await store.queueDepth()).pending + (await store.queueDepth()).processing === 0,
      'the queue to drain',
    );
    expect(handler.maxConcurrentPerObject).toBe(1);
    const serialCalls = handler.calls.filter((c) => c.objectId === 'ch_serial').map((c) => c.eventId);
    // Oldest first among those due together; none older than an applied one is ever applied after it.
    const createdOf = new Map(events.map((e) => [e.eventId, e.eventCreatedMs]));
    const created = serialCalls.map((id) => createdOf.get(id)!);
    expect(created).toEqual([...created].sort((a, b) => a - b));
    expect(await store.getObjectStamp('stripe', '', 'ch_serial')).toMatchObject({
      eventCreatedMs: (1_700_000_000 + 5) * 1000,
    });
  });

  test('a transient failure is retried with backoff until it succeeds', async () => {
    const handler = createPaymentTestHandler((_event, attempt) => {
      if (attempt < 3)
        throw dataverseError(503, '0x80040216', 'Dataverse answered 503 Service Unavailable', true);
    });
    const event = await runUntil(handler, 'ch_retry', 'applied', 'the event to be applied after retries');
    expect(handler.calls).toHaveLength(3);
    expect(await store.findEvent('stripe', '', event.eventId)).toMatchObject({
      attempts: 3,
      status: 'applied',
    });
    expect(dataverse.writes).toBe(1);
    expect(await store.listDeadLetters()).toEqual([]);
  });

  test('Retry-After from the platform is honoured', async () => {
    const handler = createPaymentTestHandler((_event, attempt) => {
      if (attempt === 1)
        throw dataverseError(429, '0x80072322', 'Number of requests exceeded the limit', true, 400);
    });
    await runUntil(handler, 'ch_throttled', 'applied', 'the throttled event to be applied');
    expect(handler.calls[1].startedAt - handler.calls[0].startedAt).toBeGreaterThanOrEqual(400);
  });

  test('a permanent failure goes to the dead-letter queue with the message and platform code', async () => {
    const handler = createPaymentTestHandler(() => {
      throw dataverseError(
        400,
        '0x80044331',
        'A validation error occurred. The length of the stc_name attribute exceeded the maximum',
        false,
      );
    });
    const event = await runUntil(handler, 'ch_dead', 'dead', 'the event to be dead-lettered');
    expect(handler.calls).toHaveLength(1);
    const [letter] = await store.listDeadLetters();
    expect(letter).toMatchObject({
      eventId: event.eventId,
      errorCode: '0x80044331',
      error: 'A validation error occurred. The length of the stc_name attribute exceeded the maximum',
      attempts: 1,
    });
    expect(await store.getObjectStamp('stripe', '', 'ch_dead')).toBeNull();
  });

  test('a Stripe API error is classified by the SDK error: 400 permanent with its code', async () => {
    const handler = createPaymentTestHandler(() => {
      throw Stripe.errors.StripeError.generate({
        type: 'invalid_request_error',
        code: 'resource_missing',
        message: 'No such charge',
        statusCode: 404,
      } as never);
    });
    await runUntil(handler, 'ch_missing', 'dead', 'the event to be dead-lettered');
    expect((await store.listDeadLetters())[0]).toMatchObject({
      errorCode: 'resource_missing',
      error: 'No such charge',
    });
  });

  test('a transient failure that never clears is dead-lettered after the maximum attempts', async () => {
    const handler = createPaymentTestHandler(() => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    });
    await runUntil(handler, 'ch_down', 'dead', 'the event to be dead-lettered');
    expect(handler.calls).toHaveLength(3);
    expect((await store.listDeadLetters())[0]).toMatchObject({
      errorCode: 'ECONNREFUSED',
      error: 'connect ECONNREFUSED 127.0.0.1:1 (gave up after 3 attempts)',
      attempts: 3,
    });
  });

  test('an outage outlasting the attempts: within retry.outageMs the event keeps waiting, then applies', async () => {
    const handler = createPaymentTestHandler((_event, attempt) => {
      if (attempt <= 5)
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    });
    const retry = { ...settings.retry, maxAttempts: 3, outageMs: 60_000 };
    const event = await runUntil(
      handler,
      'ch_outage',
      'applied',
      'the event to be applied after the outage',
      {
        retry,
      },
    );
    expect(handler.calls).toHaveLength(6);
    expect(await store.findEvent('stripe', '', event.eventId)).toMatchObject({ attempts: 6 });
    expect(await store.listDeadLetters()).toEqual([]);
  });

  test('within retry.outageMs an event whose workers died on it is still abandoned after the attempts', async () => {
    const handler = createPaymentTestHandler();
    const event = chargeEvent('ch_poison', 1_700_000_000);
    await store.insertEvent(event);
    // Three claims that never recorded an outcome: the worker died each time.
    const start = Date.now();
    for (let claim = 0; claim < 3; claim++) {
      const nowMs = start + claim * 1_000;
      expect(
        await store.claimEvents({ owner: 'crashed-process', limit: 1, leaseMs: 500, nowMs }),
      ).toHaveLength(1);
    }
    startPool([handler], { retry: { ...settings.retry, maxAttempts: 3, outageMs: 3_600_000 } });
    await waitFor(async () => (await statusOf(event.eventId)) === 'dead', 'the poison event to be abandoned');
    expect(handler.calls).toHaveLength(0);
    expect((await store.listDeadLetters())[0]).toMatchObject({ errorCode: 'abandoned' });
  });

  test('a handler that runs past its time budget is retried', async () => {
    const handler = createPaymentTestHandler((_event, attempt) =>
      attempt === 1 ? new Promise(() => undefined) : undefined,
    );
    await runUntil(handler, 'ch_slow', 'applied', 'the event to be applied on the second attempt', {
      handlerTimeoutMs: 2000,
    });
    expect(handler.calls).toHaveLength(2);
  }, 30_000);

  test('an event claimed by a worker that died is taken back after its lease expires', async () => {
    const handler = createPaymentTestHandler();
    const event = chargeEvent('ch_orphan', 1_700_000_000);
    await store.insertEvent(event);
    const [claimed] = await store.claimEvents({ owner: 'crashed-process', limit: 1, leaseMs: 300 });
    expect(claimed.eventId).toBe(event.eventId);
    startPool([handler]);
    await waitFor(
      async () => (await statusOf(event.eventId)) === 'applied',
      'the orphaned event to be applied',
    );
    expect(await store.findEvent('stripe', '', event.eventId)).toMatchObject({ attempts: 2 });
    expect(handler.calls).toHaveLength(1);
  });

  test('a long handler keeps its lease: no second worker takes the event meanwhile', async () => {
    const { handler, open, calls } = gatedHandler();
    const event = await runUntil(handler, 'ch_long', 'processing', 'the claim', {
      leaseMs: 3000,
      handlerTimeoutMs: 60_000,
    });
    const leaseOf = async () => (await store.findEvent('stripe', '', event.eventId))?.leaseExpiresAtMs ?? 0;
    const claimed = await leaseOf();
    // The running handler's lease is renewed...
    await waitFor(async () => (await leaseOf()) >= claimed + 2, 'the lease to be renewed');
    // ...so a second process, looking once the lease as claimed has run out, finds the event held.
    const other = await db.connect();
    expect(await other.claimEvents({ owner: 'other', limit: 5, leaseMs: 1000, nowMs: claimed + 1 })).toEqual(
      [],
    );
    open();
    await waitFor(async () => (await statusOf(event.eventId)) === 'applied', 'the event to be applied');
    expect(calls).toHaveLength(1);
  });

  test('graceful stop: claiming stops, running handlers finish', async () => {
    const handler = createPaymentTestHandler(() => new Promise((r) => setTimeout(r, 200)));
    const first = chargeEvent('ch_stop_1', 1_700_000_000);
    await store.insertEvent(first);
    const pool = startPool([handler]);
    await waitFor(async () => (await statusOf(first.eventId)) === 'processing', 'the claim');
    await pool.stop({ graceMs: 5000 });
    expect(await statusOf(first.eventId)).toBe('applied');
    const later = chargeEvent('ch_stop_2', 1_700_000_000);
    await store.insertEvent(later);
    pool.notify();
    await new Promise((r) => setTimeout(r, settings.pollMs * 5));
    expect(await statusOf(later.eventId)).toBe('pending');
  });

  /** The store with its claims counted: when each began. */
  const countingClaims = () => {
    const claims: number[] = [];
    const counting: Store = {
      ...store,
      claimEvents: (request) => {
        claims.push(Date.now());
        return store.claimEvents(request);
      },
    };
    return { claims, counting };
  };

  test('a webhook wakes the workers once its Stripe event has gathered, not at each webhook', async () => {
    const gatherMs = 300;
    // Polling is an hour apart, so only a wake-up makes a claim.
    const { claims, counting } = countingClaims();
    const pool = startPool([createPaymentTestHandler()], { gatherMs, pollMs: 3_600_000 }, counting);
    await waitFor(() => claims.length >= 1, 'the first claim at start');
    await new Promise((r) => setTimeout(r, 20));
    const claimsBefore = claims.length;
    // Two groups of webhooks 100 ms apart: each group waits for its own gathering.
    const receive = async (charge: string) => {
      const receivedAtMs = Date.now();
      const events = Array.from({ length: 10 }, (_, n) =>
        chargeEvent(`${charge}_${n}`, 1_700_000_000, { receivedAtMs }),
      );
      for (const event of events) {
        await store.insertEvent(event);
        pool.notify({ source: 'stripe', receivedAtMs });
      }
      return { events, receivedAtMs };
    };
    const first = await receive('ch_gather_a');
    await new Promise((r) => setTimeout(r, 100));
    const second = await receive('ch_gather_b');
    for (const { eventId } of [...first.events, ...second.events])
      await waitFor(async () => (await statusOf(eventId)) === 'applied', `${eventId} applied`);
    // Twenty webhooks, and no claim before the first group had gathered.
    const early = claims.slice(claimsBefore).filter((at) => at < first.receivedAtMs + gatherMs);
    expect(early).toEqual([]);
    expect(claims.length - claimsBefore).toBeLessThan(20);
  });

  test('a wake-up for anything but a gathering Stripe event (a Dataverse change, a replay) claims at once', async () => {
    const { claims, counting } = countingClaims();
    const pool = startPool([createPaymentTestHandler()], { gatherMs: 300, pollMs: 3_600_000 }, counting);
    await waitFor(() => claims.length >= 1, 'the first claim at start');
    const event = chargeEvent('ch_woken', 1_700_000_000, { receivedAtMs: Date.now() - 1000 });
    await store.insertEvent(event);
    pool.notify();
    await waitFor(async () => (await statusOf(event.eventId)) === 'applied', 'the event applied');
    expect(claims.length).toBeGreaterThanOrEqual(2);
  });

  /** A payment handler whose first run waits for `open()` before writing; `firstRun` settles with how it ended. */
  const gatedHandler = () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const base = createPaymentTestHandler((_e, attempt) => (attempt === 1 ? gate : undefined));
    let firstRun: Promise<unknown> | undefined;
    const handler: EventHandler = {
      ...base,
      handle(event: Stripe.Event, context) {
        const run = base.handle(event, context);
        firstRun ??= run.then(
          () => 'written',
          (error: unknown) => error,
        );
        return run;
      },
    };
    return { handler, open, firstRun: () => firstRun, calls: base.calls };
  };

  test('graceful stop: a handler still running after the grace is given back, not lost, and its late write refused', async () => {
    const { handler, open, firstRun } = gatedHandler();
    const event = chargeEvent('ch_fenced', 1_700_000_000);
    await store.insertEvent(event);
    const pool = startPool([handler], { handlerTimeoutMs: 60_000 });
    await waitFor(async () => (await statusOf(event.eventId)) === 'processing', 'the claim');
    await pool.stop({ graceMs: 50 });
    expect(await store.findEvent('stripe', '', event.eventId)).toMatchObject({
      status: 'pending',
      attempts: 0,
      leaseOwner: null,
    });

    open();
    const late = await firstRun();
    expect(late).toBeInstanceOf(HandlerStoppedError);
    expect((late as Error).message).toMatch(/shutting down: the event was given back/);
    expect(dataverse.rows('stc_payments').size).toBe(0);

    startPool([handler]);
    await waitFor(async () => (await statusOf(event.eventId)) === 'applied', 'the next pool to apply it');
    expect(dataverse.rows('stc_payments').size).toBe(1);
    const attempts = await store.eventAttempts((await store.findEvent('stripe', '', event.eventId))!.id);
    expect(attempts.map((a) => a.outcome)).toEqual(['applied']);
  });

  test('a handler past its time: the timeout is recorded, the retry writes, the late write is refused', async () => {
    const { handler, open, firstRun } = gatedHandler();
    const event = chargeEvent('ch_late', 1_700_000_000);
    await store.insertEvent(event);
    startPool([handler], { handlerTimeoutMs: 2000 });
    await waitFor(async () => (await statusOf(event.eventId)) === 'applied', 'the retry to apply it');
    const row = () => [...dataverse.rows('stc_payments').values()][0];
    const written = { ...row() };

    open();
    const late = await firstRun();
    expect(late).toBeInstanceOf(HandlerStoppedError);
    expect((late as HandlerStoppedError).code).toBe('handler_timeout');
    expect(dataverse.rows('stc_payments').size).toBe(1);
    expect(row()).toEqual(written);
    const attempts = await store.eventAttempts((await store.findEvent('stripe', '', event.eventId))!.id);
    expect(attempts.map((a) => [a.outcome, a.errorCode])).toEqual([
      ['retry', 'handler_timeout'],
      ['applied', null],
    ]);
  }, 30_000);

  test('an event whose type lost its handler is recorded as ignored', async () => {
    const event = chargeEvent('ch_nohandler', 1_700_000_000, { type: 'charge.captured' });
    await store.insertEvent(event);
    startPool([{ resource: 'customers', eventTypes: ['customer.*'], handle: async () => undefined }]);
    await waitFor(async () => (await statusOf(event.eventId)) === 'ignored', 'the event to be ignored');
  });

  test('a Dataverse event reaches its change handler as a DataverseChange read from its context', async () => {
    const seen: DataverseChange[] = [];
    const context = {
      MessageName: 'Update',
      PrimaryEntityName: 'stc_refundrequest',
      PrimaryEntityId: 'A1',
      CorrelationId: 'c1',
      UserId: 'u1',
      InputParameters: [
        {
          key: 'Target',
          value: {
            Attributes: [
              { key: 'stc_status', value: { Value: 2 } },
              { key: 'stc_reason', value: 'x' },
            ],
          },
        },
      ],
    };
    await store.insertEvent({
      source: 'dataverse',
      account: '',
      eventId: 'c1:A1:Update',
      type: 'dataverse.stc_refundrequest.update',
      objectId: 'stc_refundrequest(A1)',
      eventCreatedMs: 1_700_000_000_000,
      payload: JSON.stringify(context),
      status: 'pending',
      receivedAtMs: Date.now(),
    });
    startPool([
      // A Stripe handler taking every type never gets a Dataverse change.
      {
        resource: 'everything',
        eventTypes: ['*'],
        handle: async () => void seen.push({} as DataverseChange),
      },
      {
        source: 'dataverse',
        resource: 'refund-requests',
        changes: [{ table: 'stc_refundrequest', messages: ['Create', 'Update'] }],
        handle: async (change) => void seen.push(change),
      },
    ]);
    await waitFor(() => seen.length === 1, 'the handler call');
    expect(seen[0]).toEqual({
      id: 'c1:A1:Update',
      message: 'Update',
      table: 'stc_refundrequest',
      rowId: 'a1',
      attributes: { stc_status: 2, stc_reason: 'x' },
      preImage: undefined,
      userId: 'u1',
      initiatingUserId: undefined,
      correlationId: 'c1',
      depth: undefined,
      occurredAtMs: 1_700_000_000_000,
    });
    await waitFor(
      async () => (await store.findEvent('dataverse', '', 'c1:A1:Update'))?.status === 'applied',
      'the outcome',
    );
  });

  test('a thin event: the worker fetches the related object from Stripe for the handler', async () => {
    const requests: Array<{ url?: string; account?: string | string[] }> = [];
    const fakeStripe = http.createServer((req, res) => {
      requests.push({
        url: req.url,
        account: req.headers['stripe-context'] ?? req.headers['stripe-account'],
      });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 'mtr_123', object: 'billing.meter', status: 'active' }));
    });
    await new Promise<void>((r) => fakeStripe.listen(0, '127.0.0.1', r));
    try {
      const port = (fakeStripe.address() as AddressInfo).port;
      const client = new Stripe('sk_test_123', {
        host: '127.0.0.1',
        port,
        protocol: 'http',
        telemetry: false,
        maxNetworkRetries: 0,
      });
      const seen: Stripe.Event[] = [];
      const payload = thinMeterEventPayload('evt_thin_1');
      await store.insertEvent({
        source: 'stripe',
        account: 'acct_123',
        eventId: 'evt_thin_1',
        type: 'v1.billing.meter.error_report_triggered',
        objectId: 'mtr_123',
        eventCreatedMs: Date.parse('2026-11-27T10:00:00.000Z'),
        payload,
        status: 'pending',
        receivedAtMs: Date.now(),
      });
      const pool = createWorkerPool({
        store,
        handlers: [
          {
            resource: 'billing',
            eventTypes: ['v1.billing.meter.*'],
            handle: async (e) => void seen.push(e),
          },
        ],
        dataverse,
        stripeFor: () => client,
        logger,
        settings,
      });
      pools.push(pool);
      pool.start();
      await waitFor(() => seen.length === 1, 'the handler call');
      expect(seen[0]).toMatchObject({
        id: 'evt_thin_1',
        account: 'acct_123',
        data: { object: { id: 'mtr_123', status: 'active' } },
      });
      expect(requests[0]).toEqual({ url: '/v1/billing/meters/mtr_123', account: 'acct_123' });
    } finally {
      await new Promise((r) => fakeStripe.close(r));
    }
  });

  test('two pools with separate connections share the work without processing an event twice', async () => {
    const handler = createPaymentTestHandler(() => new Promise((r) => setTimeout(r, 1)));
    const events = Array.from({ length: 120 }, (_, i) =>
      chargeEvent(`ch_shared_${i % 12}`, 1_700_000_000 + i),
    );
    for (const e of events) await store.insertEvent(e);
    const second = await db.connect();
    const a = startPool([handler], { concurrency: 4 }, store);
    const b = startPool([handler], { concurrency: 4 }, second);
    expect(a.owner).not.toBe(b.owner);
    await waitFor(
      async () => {
        const depth = await store.queueDepth();
        return depth.pending + depth.processing === 0;
      },
      'the queue to drain',
      30_000,
    );
    const ids = handler.calls.map((c) => c.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(handler.maxConcurrentPerObject).toBe(1);
    // Every event ends applied or (an older one overtaken on its object) superseded; none is lost.
    const statuses = await Promise.all(events.map((e) => statusOf(e.eventId)));
    expect(statuses.every((s) => s === 'applied' || s === 'superseded')).toBe(true);
    expect(ids.length).toBe(statuses.filter((s) => s === 'applied').length);
  });

  test('claims are counted by result on /metrics: with events, empty, failed', async () => {
    const metrics = createMetrics({ store });
    const claims = async (result: string) =>
      (await metrics.registry.getSingleMetric('stc_claims_total')!.get()).values.find(
        (v) => v.labels.result === result,
      )?.value ?? 0;
    // The store refuses the first claim (a database restarting), then answers.
    let refusals = 1;
    const flaky: Store = Object.assign(Object.create(store) as Store, {
      claimEvents: (request: Parameters<Store['claimEvents']>[0]) =>
        refusals-- > 0
          ? Promise.reject(new Error('the database system is starting up'))
          : store.claimEvents(request),
    });
    const event = chargeEvent('ch_counted', 1_700_000_000);
    await store.insertEvent(event);
    startPool([createPaymentTestHandler()], { pollMs: 20 }, flaky, metrics);
    await waitFor(async () => (await statusOf(event.eventId)) === 'applied', 'the event to be applied');
    // Nothing left: the next polls find nothing.
    await waitFor(async () => (await claims('empty')) >= 2, 'empty claims to be counted');
    expect(await claims('failed')).toBe(1);
    expect(await claims('events')).toBe(1);
  });
});
