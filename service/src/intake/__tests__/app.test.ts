import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger } from '../../observability/log';
import type { EventHandler } from '../../pipeline/handler';
import { createHandlerRouter } from '../../pipeline/routing';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { thinMeterEventPayload } from '../../__tests__/support/thin-event';
import { eventPayload, signatureHeader } from '@stc/testkit';
import { createApp, type AppDeps } from '../app';

const SECRET = 'whsec_current_0123456789abcdef';
const OLD_SECRET = 'whsec_previous_0123456789abcdef';
const DATAVERSE_KEY = 'dataverse-webhook-key-0123456789';
const ADMIN_KEY = 'admin-api-key-0123456789abcdef';

const handlers: EventHandler[] = [
  {
    resource: 'payments',
    eventTypes: ['charge.*', 'v1.billing.meter.error_report_triggered'],
    handle: async () => undefined,
  },
  {
    source: 'dataverse',
    resource: 'refund-requests',
    changes: [{ table: 'stc_refundrequest', messages: ['Create'] }],
    handle: async () => undefined,
  },
];
const router = createHandlerRouter(handlers);

function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

function refundRequestContext(overrides: Record<string, unknown> = {}) {
  return {
    MessageName: 'Create',
    PrimaryEntityName: 'stc_refundrequest',
    PrimaryEntityId: '6f1b2c3d-0000-4000-8000-000000000001',
    CorrelationId: '9a8b7c6d-0000-4000-8000-000000000002',
    OperationCreatedOn: '/Date(1700000000000)/',
    Depth: 1,
    Stage: 40,
    Mode: 1,
    InputParameters: [{ key: 'Target', value: { LogicalName: 'stc_refundrequest', Attributes: [] } }],
    ...overrides,
  };
}

describeOnEachEngine('HTTP app', (engine) => {
  let db: TestDatabase;
  let deps: AppDeps;
  let lines: string[];
  let queued: number;
  let server: ReturnType<ReturnType<typeof createApp>['callback']>;

  beforeEach(async () => {
    db = await engine.open();
    const captured = capturedLogger();
    lines = captured.lines;
    queued = 0;
    deps = {
      store: db.store,
      logger: captured.logger,
      takes: (type, source) => router.route(type, source) !== null,
      stripeWebhookSecrets: [SECRET],
      dataverseWebhook: { key: DATAVERSE_KEY },
      adminApiKey: ADMIN_KEY,
      maxBodyBytes: 64 * 1024,
      onEventQueued: () => queued++,
    };
    server = createApp(deps).callback();
  });
  afterEach(async () => {
    await db.destroy();
  });

  const postStripe = (payload: string, header?: string) => {
    const req = request(server).post('/webhooks/stripe').set('content-type', 'application/json');
    if (header !== undefined) req.set('stripe-signature', header);
    return req.send(payload);
  };
  const pending = async () => (await db.store.queueDepth()).pending;

  describe('POST /webhooks/stripe', () => {
    test('a verified event is stored as received, queued, and acknowledged', async () => {
      const { event, payload } = eventPayload('charge_succeeded');
      const res = await postStripe(payload, signatureHeader(payload, SECRET));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ received: true });
      const stored = await db.store.findEvent('stripe', '', event.id);
      expect(stored).toMatchObject({
        type: 'charge.succeeded',
        // A charge of a PaymentIntent is ordered (and coalesced) with the PaymentIntent: one payment row.
        objectId: 'pi_3KtQThJDPojXS6LN0H9EfsjV',
        eventCreatedMs: 1619701111000,
        status: 'pending',
      });
      expect(stored?.payload).toBe(payload);
      expect(queued).toBe(1);
    });

    test('a charge made without a PaymentIntent is ordered by its own id', async () => {
      const base = eventPayload('charge_succeeded').event;
      const { event, payload } = eventPayload('charge_succeeded', {
        data: { object: { ...base.data.object, payment_intent: null } },
      });
      expect((await postStripe(payload, signatureHeader(payload, SECRET))).status).toBe(200);
      expect(await db.store.findEvent('stripe', '', event.id)).toMatchObject({
        objectId: 'ch_3KtQThJDPojXS6LN0YmgbxGj',
      });
    });

    test.each([
      ['no Stripe-Signature header', undefined, 'missing_signature'],
      ['a header without a timestamp', 'v1=abc', 'malformed_signature'],
      ['a header without a v1 signature', `t=${Math.floor(Date.now() / 1000)},v0=abc`, 'malformed_signature'],
    ])('refuses %s with 400 and stores nothing', async (_name, header, reason) => {
      const { payload } = eventPayload('charge_succeeded');
      const res = await postStripe(payload, header);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe(reason);
      expect(await pending()).toBe(0);
    });

    test('refuses a signature made with another secret', async () => {
      const { payload } = eventPayload('charge_succeeded');
      const res = await postStripe(payload, signatureHeader(payload, 'whsec_someone_else'));
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({
        code: 'bad_signature',
        message: 'No signature matches the payload for any configured secret',
      });
      expect(await pending()).toBe(0);
    });

    test('refuses a body changed after signing (re-serialised JSON does not verify)', async () => {
      const { event, payload } = eventPayload('charge_succeeded');
      const res = await postStripe(JSON.stringify(event), signatureHeader(payload, SECRET));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('bad_signature');
      expect(await db.store.findEvent('stripe', '', event.id)).toBeNull();
    });

    test.each([
      ['more than 300 s old', -301, 400, 'stale_timestamp'],
      ['more than 300 s in the future', 301, 400, 'future_timestamp'],
      ['299 s old', -299, 200, undefined],
      ['299 s ahead (clock skew)', 299, 200, undefined],
    ])('a timestamp %s', async (_name, offset, status, reason) => {
      const { payload } = eventPayload('charge_succeeded');
      const res = await postStripe(
        payload,
        signatureHeader(payload, SECRET, Math.floor(Date.now() / 1000) + offset),
      );
      expect(res.status).toBe(status);
      if (reason) {
        expect(res.body.error.code).toBe(reason);
        expect(await pending()).toBe(0);
      } else {
        expect(await pending()).toBe(1);
      }
    });

    test('refuses malformed JSON even when signed', async () => {
      const payload = '{"id": "evt_1", "object": "event",';
      const res = await postStripe(payload, signatureHeader(payload, SECRET));
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({ code: 'malformed_json', message: 'Body is not valid JSON' });
      expect(await pending()).toBe(0);
    });

    test('refuses signed JSON that is not an event', async () => {
      const payload = '{"hello":"world"}';
      const res = await postStripe(payload, signatureHeader(payload, SECRET));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('not_an_event');
    });

    test('refuses a body over the size limit with 413', async () => {
      const { event } = eventPayload('charge_succeeded');
      const payload = JSON.stringify({ ...event, padding: 'x'.repeat(70 * 1024) });
      const res = await postStripe(payload, signatureHeader(payload, SECRET));
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('too_large');
      expect(await pending()).toBe(0);
    });

    test('during rotation either secret is accepted', async () => {
      server = createApp({ ...deps, stripeWebhookSecrets: [OLD_SECRET, SECRET] }).callback();
      const a = eventPayload('charge_succeeded');
      const b = eventPayload('charge_refunded');
      expect((await postStripe(a.payload, signatureHeader(a.payload, OLD_SECRET))).status).toBe(200);
      expect((await postStripe(b.payload, signatureHeader(b.payload, SECRET))).status).toBe(200);
      // Stripe sends one v1 per active secret in one header during a roll.
      const c = eventPayload('charge_succeeded');
      const both = `${signatureHeader(c.payload, 'whsec_unknown')},v1=${signatureHeader(c.payload, SECRET).split('v1=')[1]}`;
      expect((await postStripe(c.payload, both)).status).toBe(200);
      // The old secret still works after the new one matched (the verifier only reorders its tries).
      const d = eventPayload('charge_refunded');
      expect((await postStripe(d.payload, signatureHeader(d.payload, OLD_SECRET))).status).toBe(200);
      expect(await pending()).toBe(4);
    });

    test('a duplicate is acknowledged and not queued again', async () => {
      const { event, payload } = eventPayload('charge_succeeded');
      expect((await postStripe(payload, signatureHeader(payload, SECRET))).body).toEqual({
        received: true,
      });
      const again = await postStripe(payload, signatureHeader(payload, SECRET));
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ received: true, duplicate: true });
      expect(await pending()).toBe(1);
      expect(queued).toBe(1);
      expect((await db.store.findEvent('stripe', '', event.id))?.attempts).toBe(0);
    });

    test('the same event id from two connected accounts is two events', async () => {
      const { payload: p1, event } = eventPayload('charge_succeeded', { account: 'acct_1' });
      const p2 = JSON.stringify({ ...event, account: 'acct_2' });
      await postStripe(p1, signatureHeader(p1, SECRET));
      await postStripe(p2, signatureHeader(p2, SECRET));
      expect((await db.store.findEvent('stripe', 'acct_1', event.id))?.account).toBe('acct_1');
      expect((await db.store.findEvent('stripe', 'acct_2', event.id))?.account).toBe('acct_2');
    });

    test('an event type no handler takes is acknowledged and recorded as ignored', async () => {
      const { event, payload } = eventPayload('customer_updated');
      const res = await postStripe(payload, signatureHeader(payload, SECRET));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ received: true, ignored: true });
      expect((await db.store.findEvent('stripe', '', event.id))?.status).toBe('ignored');
      expect(await pending()).toBe(0);
      expect(queued).toBe(0);
    });

    test('a thin (v2) event notification is stored for the worker to fetch its object', async () => {
      const payload = thinMeterEventPayload('evt_test_65R9Ijk6ThinEvent');
      const res = await postStripe(payload, signatureHeader(payload, SECRET));
      expect(res.status).toBe(200);
      expect(await db.store.findEvent('stripe', 'acct_123', 'evt_test_65R9Ijk6ThinEvent')).toMatchObject({
        objectId: 'mtr_123',
        status: 'pending',
        eventCreatedMs: Date.parse('2026-11-27T10:00:00.000Z'),
      });
    });

    test('a store failure answers 500 so Stripe delivers again', async () => {
      const failing = { ...db.store, insertEvent: async () => Promise.reject(new Error('disk I/O error')) };
      server = createApp({ ...deps, store: failing }).callback();
      const { payload } = eventPayload('charge_succeeded');
      const res = await postStripe(payload, signatureHeader(payload, SECRET));
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('internal_error');
      const line = JSON.parse(lines.find((l) => l.includes('disk I/O error'))!);
      expect(line).toMatchObject({
        level: 'error',
        msg: 'request failed',
        eventId: JSON.parse(payload).id,
      });
    });

    test('no secret or signature reaches the log', async () => {
      const { payload } = eventPayload('charge_succeeded');
      const header = signatureHeader(payload, SECRET);
      await postStripe(payload, header);
      await postStripe(payload, header);
      await postStripe(payload, signatureHeader(payload, 'whsec_wrong'));
      await request(server).get('/metrics').set('authorization', `Bearer ${ADMIN_KEY}`);
      await new Promise((r) => setImmediate(r));
      const log = lines.join('');
      expect(log).toContain('duplicate event acknowledged');
      for (const secret of [SECRET, ADMIN_KEY, DATAVERSE_KEY, header.split('v1=')[1]])
        expect(log).not.toContain(secret);
    });
  });

  describe('POST /webhooks/dataverse', () => {
    const post = (body: string, key?: string, header = 'x-stc-webhook-key') => {
      const req = request(server).post('/webhooks/dataverse').set('content-type', 'application/json');
      if (key !== undefined) req.set(header, key);
      return req.send(body);
    };

    test('refuses a missing or wrong key with 401 and stores nothing', async () => {
      const body = JSON.stringify(refundRequestContext());
      expect((await post(body)).body.error.code).toBe('missing_key');
      const wrong = await post(body, 'not-the-key');
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.code).toBe('bad_key');
      expect(await pending()).toBe(0);
    });

    test('stores a RemoteExecutionContext once, under its own ids', async () => {
      const body = JSON.stringify(refundRequestContext());
      const res = await post(body, DATAVERSE_KEY);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ received: true });
      const id = '9a8b7c6d-0000-4000-8000-000000000002:6f1b2c3d-0000-4000-8000-000000000001:Create';
      expect(await db.store.findEvent('dataverse', '', id)).toMatchObject({
        type: 'dataverse.stc_refundrequest.create',
        objectId: 'stc_refundrequest(6f1b2c3d-0000-4000-8000-000000000001)',
        eventCreatedMs: 1700000000000,
        status: 'pending',
        payload: body,
      });
      expect((await post(body, DATAVERSE_KEY)).body).toEqual({ received: true, duplicate: true });
      expect(await pending()).toBe(1);
    });

    test('the key header name is configurable', async () => {
      server = createApp({
        ...deps,
        dataverseWebhook: { key: DATAVERSE_KEY, header: 'X-Custom-Key' },
      }).callback();
      const res = await post(JSON.stringify(refundRequestContext()), DATAVERSE_KEY, 'x-custom-key');
      expect(res.status).toBe(200);
    });

    test('refuses malformed JSON and bodies that are not a context', async () => {
      expect((await post('{"MessageName":', DATAVERSE_KEY)).body.error.code).toBe('malformed_json');
      const res = await post(JSON.stringify({ MessageName: 'Create' }), DATAVERSE_KEY);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe(
        'Body is not a RemoteExecutionContext: missing PrimaryEntityName, PrimaryEntityId, CorrelationId',
      );
    });

    test('a message no handler takes is recorded as ignored', async () => {
      const body = JSON.stringify(refundRequestContext({ MessageName: 'Delete' }));
      expect((await post(body, DATAVERSE_KEY)).body).toEqual({ received: true, ignored: true });
      expect(await pending()).toBe(0);
    });
  });

  describe('health, metrics and admin', () => {
    test('healthz answers without a key, and 503 when the store is gone', async () => {
      expect((await request(server).get('/healthz')).body).toEqual({ status: 'ok', store: engine.name });
      const broken = { ...db.store, ping: async () => Promise.reject(new Error('connection refused')) };
      const res = await request(createApp({ ...deps, store: broken }).callback()).get('/healthz');
      expect(res.status).toBe(503);
    });

    test('metrics need the admin key and count rejections by reason', async () => {
      const { payload } = eventPayload('charge_succeeded');
      await postStripe(payload, signatureHeader(payload, 'whsec_wrong'));
      await postStripe(payload, signatureHeader(payload, SECRET));
      expect((await request(server).get('/metrics')).status).toBe(401);
      expect(
        (await request(server).get('/metrics').set('authorization', 'Bearer wrong-key-0123456789')).status,
      ).toBe(401);
      const res = await request(server).get('/metrics').set('x-api-key', ADMIN_KEY);
      expect(res.status).toBe(200);
      expect(res.text).toContain('stc_events_rejected_total{source="stripe",reason="bad_signature"} 1');
      expect(res.text).toContain('stc_events_verified_total{source="stripe"} 1');
      expect(res.text).toContain('stc_events_received_total{source="stripe"} 2');
      expect(res.text).toContain('stc_queue_depth{state="pending"} 1');
    });

    test('dead letters: list, show, retry, discard, all behind the admin key', async () => {
      for (const name of ['charge_succeeded', 'charge_refunded'] as const) {
        const { payload } = eventPayload(name, { data: { object: { id: `ch_${name}` } } });
        await postStripe(payload, signatureHeader(payload, SECRET));
      }
      const claimed = await db.store.claimEvents({ owner: 'w', limit: 10, leaseMs: 60_000 });
      for (const event of claimed) {
        await db.store.completeEvent({
          event,
          owner: 'w',
          outcome: {
            kind: 'dead',
            error: 'Dataverse refused the row: stc_amount is not valid',
            code: '0x80044331',
          },
          startedAtMs: Date.now(),
          finishedAtMs: Date.now(),
          stampObject: true,
        });
      }
      const auth = { authorization: `Bearer ${ADMIN_KEY}` };
      expect((await request(server).get('/admin/dead-letters')).status).toBe(401);
      const list = await request(server).get('/admin/dead-letters').set(auth);
      expect(list.body.deadLetters.map((d: { errorCode: string }) => d.errorCode)).toEqual([
        '0x80044331',
        '0x80044331',
      ]);
      const [first, second] = list.body.deadLetters;
      const show = await request(server).get(`/admin/dead-letters/${first.id}`).set(auth);
      expect(show.body.payload.type).toBe('charge.succeeded');
      expect(show.body.history).toHaveLength(1);
      expect((await request(server).post(`/admin/dead-letters/${first.id}/retry`)).status).toBe(401);
      expect((await request(server).post(`/admin/dead-letters/${first.id}/retry`).set(auth)).body).toEqual({
        id: first.id,
        resolution: 'retried',
      });
      expect((await request(server).post(`/admin/dead-letters/${first.id}/retry`).set(auth)).status).toBe(
        404,
      );
      expect((await request(server).delete(`/admin/dead-letters/${second.id}`).set(auth)).body).toEqual({
        id: second.id,
        resolution: 'discarded',
      });
      expect((await request(server).get('/admin/dead-letters').set(auth)).body.deadLetters).toEqual([]);
      expect((await request(server).get('/admin/dead-letters/abc').set(auth)).status).toBe(400);
      expect(await pending()).toBe(1);
    });
  });
});
