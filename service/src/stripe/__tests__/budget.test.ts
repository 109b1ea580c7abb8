/**
 * The Stripe budget, counted where requests leave the service (the SDK's HTTP client): never more calls in
 * one second than the account's or an endpoint's budget, however many wait and however many processes share
 * the store; users' calls first; a 429 shrinks the budget and it grows back; over budget nothing fails.
 * On SQLite always, on PostgreSQL when STC_TEST_DATABASE_URL is set.
 */
import { startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import { Registry } from 'prom-client';
import Stripe from 'stripe';
import { createSqliteStore, type Store, type StripeBudgetLedger } from '../../store';
import { describeOnEachEngine, type TestDatabase } from '../../__tests__/support/engines';
import { stripeConfigFor } from '../../__tests__/support/stripe-config';
import {
  budgetedHttpClient,
  createBudgetedStripeClients,
  createStripeBudget,
  createStripeBudgetMetrics,
  createStripeClients,
  stripeEndpoint,
  withStripePriority,
  type StripeBudget,
  type StripeBudgetSettings,
  type StripePriority,
} from '..';

jest.setTimeout(60_000);

interface Sent {
  at: number;
  method: string;
  path: string;
  priority?: StripePriority;
}

/** An HTTP client that answers every request at once (with `status(n)` for the n-th) and records when it was sent. */
function recordingClient(status: (n: number) => number = () => 200) {
  const sent: Sent[] = [];
  const client: Stripe.HttpClient = {
    getClientName: () => 'recording',
    async makeRequest(_host, _port, path, method) {
      sent.push({ at: Date.now(), method, path });
      const code = status(sent.length);
      return {
        getStatusCode: () => code,
        getHeaders: () => ({}),
        getRawResponse: () => undefined,
        toStream: () => undefined,
        toJSON: async () => (code === 200 ? { id: 'ok' } : { error: { type: 'rate_limit' } }),
      };
    },
  };
  return { client, sent };
}

const get = (client: Stripe.HttpClient, path: string) =>
  client.makeRequest('api.stripe.com', '443', path, 'GET', {}, '', 'https', 30_000);

/** Requests per calendar second, in order. */
function perSecond(sent: { at: number }[]): number[] {
  const counts = new Map<number, number>();
  for (const s of sent) counts.set(Math.floor(s.at / 1000), (counts.get(Math.floor(s.at / 1000)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n);
}

/**
 * The store as a budget's ledger, counting what each second's window granted: what the budget bounds, where
 * the calls' send times can fall past the second that granted them on a loaded machine.
 */
function countingGrants(store: Store): { ledger: StripeBudgetLedger; perWindow: () => number[] } {
  const granted = new Map<number, number>();
  const ledger: StripeBudgetLedger = {
    async takeBudget(windows, want) {
      const grant = await store.takeBudget(windows, want);
      // Windows end on whole seconds: the one this grant came from ends msLeft after the store's now.
      const windowEnd = Math.round((Date.now() + grant.msLeft) / 1000);
      granted.set(windowEnd, (granted.get(windowEnd) ?? 0) + grant.granted);
      return grant;
    },
    shrinkBudget: (scope, policy, nowMs) => store.shrinkBudget(scope, policy, nowMs),
    readBudgetShrink: (scope) => store.readBudgetShrink(scope),
  };
  const perWindow = () =>
    [...granted.entries()]
      .filter(([, n]) => n > 0)
      .sort((a, b) => a[0] - b[0])
      .map(([, n]) => n);
  return { ledger, perWindow };
}

const budgetOn = (store: Store, settings: StripeBudgetSettings, registry?: Registry): StripeBudget => {
  const budget: StripeBudget = createStripeBudget({
    ledger: store,
    settings,
    observer: registry ? createStripeBudgetMetrics(registry, () => budget.waiting()) : {},
  });
  return budget;
};

describeOnEachEngine('Stripe budget', (engine) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await engine.open();
  });
  afterEach(async () => {
    await db.destroy();
  });

  test("many calls at once never exceed the account's or an endpoint's budget in a second, and none fails", async () => {
    const budget = budgetOn(db.store, { perSecond: 10, endpointPerSecond: 6 });
    const { client: inner, sent } = recordingClient();
    const client = budgetedHttpClient(inner, budget, { mode: 'test' });
    const calls = [
      ...Array.from({ length: 24 }, (_, i) =>
        get(client, `/v1/payment_intents/pi_${i}X?expand[]=latest_charge`),
      ),
      ...Array.from({ length: 12 }, (_, i) => get(client, `/v1/customers?limit=${i + 1}`)),
    ];
    const statuses = (await Promise.all(calls)).map((r) => r.getStatusCode());

    expect(statuses).toEqual(Array(36).fill(200));
    expect(sent).toHaveLength(36);
    expect(Math.max(...perSecond(sent))).toBeLessThanOrEqual(10);
    const intents = sent.filter((s) => s.path.startsWith('/v1/payment_intents/'));
    expect(Math.max(...perSecond(intents))).toBeLessThanOrEqual(6);
  });

  test('two processes on one store together stay under the budget', async () => {
    const other = await db.connect();
    const settings = { perSecond: 10, endpointPerSecond: 8 };
    const first = recordingClient();
    const second = recordingClient();
    const clients = [
      budgetedHttpClient(first.client, budgetOn(db.store, settings), { mode: 'live' }),
      budgetedHttpClient(second.client, budgetOn(other, settings), { mode: 'live' }),
    ];
    await Promise.all(
      clients.flatMap((client) => Array.from({ length: 16 }, (_, i) => get(client, `/v1/charges/ch_${i}Y`))),
    );

    const together = [...first.sent, ...second.sent];
    expect(together).toHaveLength(32);
    expect(Math.max(...perSecond(together))).toBeLessThanOrEqual(8);
    // Both processes sent in the same seconds: the budget was shared, not taken in turns.
    const seconds = (sent: Sent[]) => new Set(sent.map((s) => Math.floor(s.at / 1000)));
    const shared = [...seconds(first.sent)].filter((s) => seconds(second.sent).has(s));
    expect(shared.length).toBeGreaterThan(0);
  });

  test("a backfill in one process leaves room for a user's call in another: sent at once", async () => {
    const other = await db.connect();
    const settings = { perSecond: 20, endpointPerSecond: 20 };
    const cli = recordingClient();
    const service = recordingClient();
    const backfillClient = budgetedHttpClient(cli.client, budgetOn(other, settings), { mode: 'live' });
    // What the store answers the service's budget: how many calls each take of the ledger was granted.
    const grants: number[] = [];
    const serviceLedger: StripeBudgetLedger = {
      async takeBudget(windows, want) {
        const grant = await db.store.takeBudget(windows, want);
        grants.push(grant.granted);
        return grant;
      },
      shrinkBudget: (scope, policy, nowMs) => db.store.shrinkBudget(scope, policy, nowMs),
      readBudgetShrink: (scope) => db.store.readBudgetShrink(scope),
    };
    const serviceBudget = createStripeBudget({ ledger: serviceLedger, settings });
    const serviceClient = budgetedHttpClient(service.client, serviceBudget, { mode: 'live' });
    const backfill = withStripePriority('backfill', () =>
      Array.from({ length: 40 }, (_, i) => get(backfillClient, `/v1/charges?starting_after=ch_${i}Q`)),
    );
    await new Promise((resolve) => setTimeout(resolve, 1200)); // the backfill is under way
    await withStripePriority('user', () =>
      serviceClient.makeRequest(
        'api.stripe.com',
        '443',
        '/v1/refunds',
        'POST',
        {},
        'charge=ch_1',
        'https',
        30_000,
      ),
    );
    // Granted by its first take, whenever in the second that came: the backfill left half of every second
    // free. A full window grants 0, and the call waits for the next second.
    expect(grants[0]).toBeGreaterThan(0);
    expect(service.sent.map((s) => s.path)).toEqual(['/v1/refunds']);
    await Promise.all(backfill);
    expect(Math.max(...perSecond(cli.sent))).toBeLessThanOrEqual(10);
  });
});

describe('Stripe budget priorities and 429s (SQLite)', () => {
  let store: Store;
  beforeEach(async () => {
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  test("a user's call queued behind 200 backfill calls is sent first, within a second", async () => {
    const budget = budgetOn(store, { perSecond: 100, endpointPerSecond: 100 });
    const { client: inner, sent } = recordingClient();
    const client = budgetedHttpClient(inner, budget, { mode: 'live' });
    const backfill = withStripePriority('backfill', () =>
      Array.from({ length: 200 }, (_, i) => get(client, `/v1/charges?starting_after=ch_${i}Z`)),
    );
    const queuedAt = Date.now();
    const refund = withStripePriority('user', () =>
      client.makeRequest('api.stripe.com', '443', '/v1/refunds', 'POST', {}, 'charge=ch_1', 'https', 30_000),
    );
    await refund;
    const refundSent = sent.findIndex((s) => s.path === '/v1/refunds');
    expect(Date.now() - queuedAt).toBeLessThan(1000);
    // Sent with the first slice the process claimed, before all but a handful of the backfill calls.
    expect(refundSent).toBeLessThan(10);
    await Promise.all(backfill);
    expect(sent).toHaveLength(201);
    // Backfill fills at most half of any second (PRIORITY_SHARE), leaving the rest to other work.
    expect(Math.max(...perSecond(sent))).toBeLessThanOrEqual(50);
  });

  test('a 429 shrinks the budget, counted in the metrics; the request is sent again and the budget grows back', async () => {
    const registry = new Registry();
    const grants = countingGrants(store);
    const budget: StripeBudget = createStripeBudget({
      ledger: grants.ledger,
      settings: { perSecond: 20, endpointPerSecond: 20, shrink: { recoveryPerSecond: 0.25 } },
      observer: createStripeBudgetMetrics(registry, () => budget.waiting()),
    });
    const { client: inner, sent } = recordingClient((n) => (n === 3 ? 429 : 200));
    const client = budgetedHttpClient(inner, budget, { mode: 'test' });
    // Users' calls may fill the whole budget.
    const responses = await withStripePriority('user', () =>
      Promise.all(Array.from({ length: 90 }, (_, i) => get(client, `/v1/balance_transactions?page=${i}`))),
    );

    expect(responses.map((r) => r.getStatusCode())).toEqual(Array(90).fill(200));
    expect(sent).toHaveLength(91);
    const limited = await registry.getSingleMetric('stc_stripe_rate_limited_total')!.get();
    expect(limited.values.map((v) => v.value)).toEqual([1]);
    expect(await store.readBudgetShrink('stripe:test:platform')).toMatchObject({ factor: 0.5 });
    const counts = grants.perWindow();
    // The second after the 429 runs at the shrunk budget; later seconds at the whole one again.
    expect(counts[1]).toBeLessThanOrEqual(16);
    expect(Math.max(...counts.slice(2))).toBe(20);
    expect(Math.max(...counts)).toBeLessThanOrEqual(20);
  });
});

describe('Stripe endpoints', () => {
  test.each([
    ['GET', '/v1/payment_intents/pi_3NxAbc?expand[]=latest_charge', 'GET /v1/payment_intents/{id}'],
    ['get', '/v1/payment_intents/pi_9Zz', 'GET /v1/payment_intents/{id}'],
    ['POST', '/v1/payment_intents/pi_3NxAbc/capture', 'POST /v1/payment_intents/{id}/capture'],
    ['GET', '/v1/checkout/sessions/cs_test_a1B2c3', 'GET /v1/checkout/sessions/{id}'],
    ['GET', '/v1/balance_transactions?payout=po_1Abc&limit=100', 'GET /v1/balance_transactions'],
    ['POST', '/v1/refunds', 'POST /v1/refunds'],
  ])('%s %s counts against %s', (method, path, endpoint) => {
    expect(stripeEndpoint(method, path)).toBe(endpoint);
  });
});

describe('Stripe clients of the service, against the Stripe emulator limited as test mode (25/s)', () => {
  let emulator: StripeEmulator;
  let store: Store;
  beforeEach(async () => {
    emulator = await startStripeEmulator({ rateLimit: 25 });
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    await emulator.close();
  });

  const config = () => stripeConfigFor(emulator, { perSecond: 12, endpointPerSecond: 12 });
  const burst = async (stripe: Stripe) =>
    Promise.allSettled(
      Array.from({ length: 40 }, () =>
        withStripePriority('reconcile', () => stripe.customers.list({ limit: 1 })),
      ),
    );

  test('without a budget a burst of 40 reads meets 429s; with it every read succeeds', async () => {
    const unbudgeted = await burst(createStripeClients(config())(null));
    const refused = unbudgeted.filter(
      (r) => r.status === 'rejected' && (r.reason as Stripe.errors.StripeError).statusCode === 429,
    );
    expect(refused.length).toBeGreaterThan(0);

    await new Promise((resolve) => setTimeout(resolve, 1100)); // the emulator's bucket fills again
    const registry = new Registry();
    const { stripeFor } = createBudgetedStripeClients(config(), store, { registry });
    const budgeted = await burst(stripeFor(null));
    expect(budgeted.filter((r) => r.status === 'rejected')).toEqual([]);
    const waits = await registry.getSingleMetric('stc_stripe_budget_wait_seconds')!.get();
    const counted = waits.values.filter(
      (v) => (v as { metricName?: string }).metricName === 'stc_stripe_budget_wait_seconds_count',
    );
    expect(counted).toEqual([expect.objectContaining({ labels: { priority: 'reconcile' }, value: 40 })]);
  });
});
