/** Test support for the console API: an app over a store, with a worker's processor writing to memory. */
import crypto from 'node:crypto';
import request from 'supertest';
import type Stripe from 'stripe';
import { eventPayload, signatureHeader } from '@stc/testkit';
import { createMemoryDataverse } from '../../__tests__/support/memory-dataverse';
import { testWorkerSettings } from '../../__tests__/support/worker-settings';
import { createApp, type AppDeps } from '../../intake/app';
import { createLogger } from '../../observability/log';
import type { EventHandler } from '../../pipeline/handler';
import { createEventProcessor } from '../../pipeline/process';
import { createHandlerRouter } from '../../pipeline/routing';
import type { Store } from '../../store';

export const ADMIN_KEY = 'admin-api-key-0123456789abcdef';
export const WEBHOOK_SECRET = 'whsec_console_0123456789abcdef';
export const DATAVERSE_URL = 'https://contoso.crm.dynamics.com';

/** Writes a charge's payment row (row ids are GUIDs, as Dataverse's); a charge id with `fail` is refused. */
export function paymentWriter(): EventHandler {
  return {
    resource: 'payments',
    eventTypes: ['charge.*'],
    async handle(event: Stripe.Event, context) {
      const charge = event.data.object as Stripe.Charge;
      if (charge.id.includes('fail')) throw Object.assign(new Error('refused'), { status: 400 });
      await context.dataverse.upsertByKey('stc_payments', { stc_stripeid: charge.id }, { stc_amount: 1 });
    },
  };
}

export interface ConsoleHarness {
  server: ReturnType<ReturnType<typeof createApp>['callback']>;
  /** Sends a signed charge event for this charge through the webhook; its inbox id. */
  deliver(chargeId: string, overrides?: Record<string, unknown>): Promise<{ eventId: string }>;
  /** Claims and works every due event. */
  work(): Promise<void>;
  /** The row id written for a charge. */
  rowId(chargeId: string): string;
  get(path: string): request.Test;
  post(path: string, body?: unknown): request.Test;
}

export function consoleHarness(store: Store, extra: Partial<AppDeps> = {}): ConsoleHarness {
  const memory = createMemoryDataverse();
  const rowIds = new Map<string, string>();
  const upsert = memory.upsertByKey.bind(memory);
  // Dataverse answers a row's GUID.
  memory.upsertByKey = async (entitySet, key, row) => {
    const { created } = await upsert(entitySet, key, row);
    const name = String(Object.values(key)[0]);
    if (!rowIds.has(name)) rowIds.set(name, crypto.randomUUID());
    return { id: rowIds.get(name)!, created };
  };
  const router = createHandlerRouter([paymentWriter()]);
  const logger = createLogger({ level: 'silent' });
  const processEvent = createEventProcessor({
    store,
    logger,
    settings: testWorkerSettings({ retry: { ...testWorkerSettings().retry, maxAttempts: 1 } }),
    owner: 'console-test',
    now: Date.now,
    random: () => 0.5,
    router,
    dataverse: memory,
    stripeFor: () => {
      throw new Error('no Stripe in these tests');
    },
  });
  const server = createApp({
    store,
    logger,
    takes: (type, source) => router.route(type, source) !== null,
    stripeWebhookSecrets: [WEBHOOK_SECRET],
    dataverseWebhook: { key: 'dataverse-webhook-key-0123456789' },
    adminApiKey: ADMIN_KEY,
    console: { dataverseUrl: DATAVERSE_URL },
    ...extra,
  }).callback();
  const bearer = `Bearer ${ADMIN_KEY}`;
  return {
    server,
    async deliver(chargeId, overrides = {}) {
      const base = eventPayload('charge_succeeded');
      const { event, payload } = eventPayload('charge_succeeded', {
        // A charge of its own (no payment intent), so each is its own object in the inbox.
        data: { object: { ...(base.event.data.object as object), id: chargeId, payment_intent: null } },
        ...overrides,
      });
      const res = await request(server)
        .post('/webhooks/stripe')
        .set('content-type', 'application/json')
        .set('stripe-signature', signatureHeader(payload, WEBHOOK_SECRET))
        .send(payload);
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${res.text}`);
      return { eventId: event.id };
    },
    async work() {
      for (;;) {
        const claimed = await store.claimEvents({ owner: 'console-test', limit: 10, leaseMs: 30_000 });
        if (claimed.length === 0) return;
        for (const event of claimed) await processEvent(event);
      }
    },
    rowId(chargeId) {
      const id = rowIds.get(chargeId);
      if (!id) throw new Error(`no row written for ${chargeId}`);
      return id;
    },
    get: (path) => request(server).get(path).set('Authorization', bearer),
    post: (path, body) =>
      request(server)
        .post(path)
        .set('Authorization', bearer)
        .send(body ?? {}),
  };
}
