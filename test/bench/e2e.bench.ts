/**
 * End to end, Stripe → service → Dataverse, with both platforms' limits on: a burst of BENCH_EVENTS (5,000)
 * Stripe events (card payments made in the Stripe emulator: payment_intent.created, charge.succeeded,
 * payment_intent.succeeded and charge.updated for each, so 1,250 payments) delivered signed to the service's
 * /webhooks/stripe, through its inbox and workers (the real handlers and mappings, SQLite store), into
 * stc_payment rows in the Dataverse emulator. The Stripe emulator enforces BENCH_STRIPE_RATE_LIMIT (25
 * requests a second, Stripe's test mode; `off` to lift it) and the service's Stripe budget keeps its default
 * (half of Stripe's limit). Each run has these phases on fresh emulators and a fresh store, in rotating order:
 * - baseline: Dataverse's service protection limits off (what this machine does when only Stripe limits);
 * - limited: Dataverse's limits on with the 5-minute window compressed by BENCH_TIME_FACTOR (30: 10 s window,
 *   6,000 requests, 1,200 s / 30 = 40 s of execution, 52 concurrent);
 * - merchant: as limited, with a simulated merchant checkout beside the burst: PaymentIntents created and
 *   confirmed on the same Stripe account at half of Stripe's limit, counting the 429s the checkout meets (its
 *   payments are synced too and checked like the burst's);
 * - per-event: the design the service had before payload first, for comparison, on BENCH_PER_EVENT_EVENTS
 *   (400) events: every payment mapping re-reads its object from Stripe on every event (`refresh: when:
 *   always`, from a copy of the mapping files) and events are claimed as they come (WORKER_GATHER_MS=0).
 * Reported per phase and as medians of BENCH_RUNS runs: wall time from the first delivery until every event
 * is applied; Stripe requests per event and per payment, Stripe 429s, the most Stripe requests in any one
 * second (from a counting proxy in front of the emulator); Dataverse Web API requests per row and 429s; wall
 * time against the least time either platform's limits allow (Dataverse: its admitted requests under the
 * compressed window; Stripe: the service's requests at Stripe's rate); event → row latency p50 / p95 / p99,
 * from the delivery's 2xx to the first Dataverse write of the event's payment that carries that event's state
 * or a newer one (read from the ordering stamp each write carries). Every run checks that nothing is lost:
 * each payment's row is there once with Stripe's amount, currency and status, no event is dead-lettered.
 *
 * Environment: BENCH_EVENTS (5000), BENCH_RUNS (3), BENCH_TIME_FACTOR (30), BENCH_DELIVERY_CONCURRENCY (16:
 * webhook deliveries in flight, Stripe sends in parallel), BENCH_STRIPE_RATE_LIMIT (25 or `off`),
 * BENCH_PER_EVENT_EVENTS (400; 0 leaves the phase out); the service's own WORKER_CONCURRENCY and
 * DATAVERSE_BATCH_SIZE / _DELAY_MS / DATAVERSE_BATCHES_IN_FLIGHT are passed on when set (else its defaults).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Stripe from 'stripe';
import { model, StcPaymentStatus } from '@stc/solution';
import { startDataverseEmulator, startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import { createDataverseClient, createLogger, loadConfig, startService } from '@stc/service';
import { compressedLimits, drained, leastMs, median, percentile, secs, serviceUser } from './support';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 5000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FACTOR = Number(process.env.BENCH_TIME_FACTOR ?? 30);
const PER_EVENT_EVENTS = Number(process.env.BENCH_PER_EVENT_EVENTS ?? 400);
const MERCHANT_SECONDS = Number(process.env.BENCH_MERCHANT_SECONDS ?? 15);
const TUNING = [
  'WORKER_CONCURRENCY',
  'DATAVERSE_BATCH_SIZE',
  'DATAVERSE_BATCH_DELAY_MS',
  'DATAVERSE_BATCHES_IN_FLIGHT',
] as const;
const tuning = Object.fromEntries(
  TUNING.filter((name) => process.env[name]).map((name) => [name, process.env[name]!]),
);
const DELIVERY_CONCURRENCY = Number(process.env.BENCH_DELIVERY_CONCURRENCY ?? 16);
const STRIPE_LIMIT =
  (process.env.BENCH_STRIPE_RATE_LIMIT ?? '25') === 'off'
    ? false
    : Number(process.env.BENCH_STRIPE_RATE_LIMIT ?? '25');
const EVENTS_PER_PAYMENT = 4;
const PAYMENTS = Math.ceil(EVENTS / EVENTS_PER_PAYMENT);
const SECRET = 'whsec_e2e_bench';
const SERVICE_USER = serviceUser('5a9d1f00-0000-4000-8000-0000000be0c1');
const LIMITS = compressedLimits(FACTOR);
const MAPPINGS = path.join(__dirname, '..', '..', 'service', 'mappings');

type PhaseName = 'baseline' | 'limited' | 'merchant' | 'per-event';

interface PhaseOptions {
  name: PhaseName;
  dataverseLimited: boolean;
  merchant: boolean;
  /** Every payment mapping re-reads its object on every event, and events are claimed as they come. */
  perEvent: boolean;
  payments: number;
}

interface PhaseResult {
  events: number;
  payments: number;
  rows: number;
  requests: number;
  batches: number;
  throttled: number;
  /** Requests by method (`PATCH` upserts, `GET` reads, `POST` creates and `$batch`). */
  byMethod: Record<string, number>;
  wallMs: number;
  /** Least time the requests made need under Dataverse's limits and under Stripe's. */
  dataverseLeastMs: number;
  stripeLeastMs: number;
  /** Requests the service sent to Stripe, how many were answered 429, and the most in any one second. */
  stripeRequests: number;
  stripeThrottled: number;
  stripePeakPerSecond: number;
  stripeByEndpoint: Record<string, number>;
  /** The simulated merchant checkout's requests and the 429s it met. */
  merchantRequests: number;
  merchantThrottled: number;
  /** Event → row latencies (ms), one per delivered event. */
  latencies: number[];
  failures: string[];
}

/** A proxy in front of the Stripe emulator that counts the requests sent through it, their 429s and times. */
async function countingStripeProxy(target: string) {
  const counts = { requests: 0, throttled: 0 };
  const byEndpoint: Record<string, number> = {};
  const times: number[] = [];
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    counts.requests += 1;
    times.push(performance.now());
    // `GET /v1/payment_intents/{id}`: ids and query left out, as Stripe's per-endpoint limit counts them.
    const endpoint = `${req.method} ${(req.url ?? '').split('?')[0].replace(/\/(?:[a-z]+_)+(?=[A-Za-z0-9]*[A-Z0-9])[A-Za-z0-9]+$/, '/{id}')}`;
    byEndpoint[endpoint] = (byEndpoint[endpoint] ?? 0) + 1;
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        if (answer.statusCode === 429) counts.throttled += 1;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { url, counts, byEndpoint, peakPerSecond: () => peakInWindow(times, 1000), close };
}

/** The most times (sorted ascending) that fall in any one window of `windowMs`. */
function peakInWindow(times: number[], windowMs: number): number {
  let peak = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while (times[last] - times[first] >= windowMs) first += 1;
    peak = Math.max(peak, last - first + 1);
  }
  return peak;
}

const amountOf = (i: number) => 1000 + ((i * 37) % 9000);

/** A copy of the mapping files in which every `refresh: when: missing` reads on every event instead. */
function perEventMappings(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-e2e-per-event-'));
  fs.cpSync(MAPPINGS, dir, { recursive: true });
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    fs.writeFileSync(path.join(dir, file), text.replace(/when: missing/g, 'when: always'));
  }
  return dir;
}

/**
 * When each event's state reached Dataverse: every write the service sends carries its ordering stamp
 * (`stc_lasteventid`), so a request's answer time is when the events it names (and every older event of
 * their payments) were written.
 */
function writeTimes() {
  const writes: Array<{ eventIds: string[]; at: number }> = [];
  const bodyText = (body: unknown): string =>
    typeof body === 'string' ? body : body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : '';
  const observe = (init: RequestInit | undefined, at: number) => {
    const text = bodyText(init?.body);
    const eventIds = [...text.matchAll(/"stc_lasteventid"\s*:\s*"([^"]+)"/g)].map((m) => m[1]);
    if (eventIds.length > 0) writes.push({ eventIds, at });
  };
  return { writes, observe };
}

interface StripeEventLike {
  id: string;
  type: string;
  data: { object: { id: string; object: string; payment_intent?: unknown } };
}

/**
 * Event → row latency per delivered event: from its first 2xx delivery to the first write of its payment
 * carrying its own state or a later one (a later event of the payment, in Stripe's order), not before the 2xx.
 */
function latencies(
  events: StripeEventLike[],
  deliveries: ReadonlyArray<{ eventId: string; ok: boolean; at: number }>,
  writes: Array<{ eventIds: string[]; at: number }>,
  clockOffset: number,
): number[] {
  const paymentOf = (e: StripeEventLike) =>
    e.data.object.object === 'payment_intent'
      ? e.data.object.id
      : typeof e.data.object.payment_intent === 'string'
        ? e.data.object.payment_intent
        : e.data.object.id;
  // Each event's place among its payment's events (Stripe's order of creation).
  const place = new Map<string, { payment: string; index: number }>();
  const seen = new Map<string, number>();
  for (const e of events) {
    const payment = paymentOf(e);
    const index = seen.get(payment) ?? 0;
    seen.set(payment, index + 1);
    place.set(e.id, { payment, index });
  }
  const writesOf = new Map<string, Array<{ index: number; at: number }>>();
  for (const w of writes)
    for (const id of w.eventIds) {
      const p = place.get(id);
      if (!p) continue;
      const list = writesOf.get(p.payment) ?? [];
      list.push({ index: p.index, at: w.at });
      writesOf.set(p.payment, list);
    }
  const delivered = new Map<string, number>();
  for (const d of deliveries)
    if (d.ok && !delivered.has(d.eventId)) delivered.set(d.eventId, d.at + clockOffset);
  const out: number[] = [];
  for (const [eventId, at] of delivered) {
    const p = place.get(eventId);
    if (!p) continue;
    const written = (writesOf.get(p.payment) ?? [])
      .filter((w) => w.index >= p.index)
      .map((w) => w.at)
      .sort((a, b) => a - b);
    if (written.length === 0) continue;
    const first = written.find((t) => t >= at) ?? written[written.length - 1];
    out.push(Math.max(0, first - at));
  }
  return out;
}

/**
 * A merchant's own checkout on the same Stripe account: `perSecond` API calls a second, without the SDK's
 * retries, counting the 429s they meet. Its paid PaymentIntents are returned so the run checks their rows too
 * (one created but left unconfirmed at the end has a row of its own status: not checked).
 */
function merchantCheckout(stripe: StripeEmulator, perSecond: number) {
  const client = new Stripe(stripe.apiKey, {
    host: '127.0.0.1',
    port: stripe.port,
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
  });
  const counts = { requests: 0, throttled: 0, failed: 0 };
  const made: Array<{ id: string; amount: number }> = [];
  let stopped = false;
  const started = performance.now();
  const call = async <T>(request: () => Promise<T>): Promise<T | null> => {
    counts.requests += 1;
    try {
      return await request();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 429) counts.throttled += 1;
      else counts.failed += 1;
      return null;
    }
  };
  // One checkout every three ticks: the server creates the PaymentIntent, the page confirms it, the server
  // reads it back for the order's status. A call that meets a 429 ends its checkout.
  const open: Array<{ id: string; amount: number }> = [];
  const checkout = async (n: number) => {
    if (n % 3 === 0) {
      const amount = 500 + (n % 700);
      const intent = await call(() => client.paymentIntents.create({ amount, currency: 'usd' }));
      if (intent) open.push({ id: intent.id, amount });
    } else if (n % 3 === 1) {
      const next = open.shift();
      if (!next) return;
      const confirmed = await call(() =>
        client.paymentIntents.confirm(next.id, { payment_method: 'pm_card_visa' }),
      );
      if (confirmed) made.push(next);
    } else {
      const last = made[made.length - 1];
      if (last) await call(() => client.paymentIntents.retrieve(last.id));
    }
  };
  const running = (async () => {
    for (let n = 0; !stopped; n++) {
      const due = started + (n * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (stopped) break;
      void checkout(n);
    }
  })();
  const stop = async () => {
    stopped = true;
    await running;
    // Let the last requests settle.
    await new Promise((r) => setTimeout(r, 1000));
  };
  return { counts, made, open, stop };
}

async function phase(options: PhaseOptions): Promise<PhaseResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-e2e-bench-'));
  const mappingsDir = options.perEvent ? perEventMappings() : undefined;
  const dataverse = await startDataverseEmulator({
    model,
    systemUsers: [SERVICE_USER],
    limits: options.dataverseLimited ? LIMITS : { enabled: false },
  });
  const stripe = await startStripeEmulator({ rateLimit: STRIPE_LIMIT });
  const stripeProxy = await countingStripeProxy(stripe.url);
  let throttled = 0;
  const byMethod: Record<string, number> = {};
  const written = writeTimes();
  const countingFetch: typeof fetch = async (input, init) => {
    const method = init?.method ?? 'GET';
    byMethod[method] = (byMethod[method] ?? 0) + 1;
    const res = await fetch(input, init);
    if (res.status === 429) throttled += 1;
    else if (res.ok) written.observe(init, performance.now());
    return res;
  };
  // The service's own client, handed in so that its request count can be read.
  const client = createDataverseClient({ baseUrl: dataverse.url, fetch: countingFetch });
  const config = loadConfig(
    {
      STRIPE_API_KEY: stripe.apiKey,
      STRIPE_MODE: 'test',
      STRIPE_API_BASE: stripeProxy.url,
      STRIPE_WEBHOOK_SECRET: SECRET,
      DATAVERSE_URL: dataverse.url,
      DATAVERSE_AUTH: 'none',
      DATAVERSE_WEBHOOK_KEY: 'e2e-bench-dataverse-key-0123456789',
      ADMIN_API_KEY: 'e2e-bench-admin-key-0123456789',
      SQLITE_PATH: path.join(dir, 'connector.db'),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      WORKER_POLL_MS: '50',
      // With the Stripe emulator's limit off, the service's Stripe budget is set past anything the run needs.
      ...(STRIPE_LIMIT === false
        ? { STRIPE_RATE_LIMIT: '100000', STRIPE_ENDPOINT_RATE_LIMIT: '100000' }
        : {}),
      ...(mappingsDir ? { MAPPINGS_DIR: mappingsDir, WORKER_GATHER_MS: '0' } : {}),
      ...tuning,
    },
    dir,
  );
  const service = await startService(config, {
    dataverse: client,
    logger: createLogger({ level: 'silent' }),
  });
  // The emulator stamps deliveries with Date.now(); latencies are measured on performance.now().
  const clockOffset = performance.now() - Date.now();
  const merchantRate = STRIPE_LIMIT === false ? 50 : STRIPE_LIMIT / 2;
  let merchant: ReturnType<typeof merchantCheckout> | null = null;
  try {
    stripe.setWebhook({
      url: `${service.url}/webhooks/stripe`,
      secret: SECRET,
      concurrency: DELIVERY_CONCURRENCY,
    });
    // Made in-process (no HTTP), each with its events, which Stripe then delivers as they happen.
    const intents = stripe.testHelpers.seedPayments({
      count: options.payments,
      events: true,
      amount: amountOf,
    });

    // Seeding is synchronous: the first delivery leaves after this point.
    const started = performance.now();
    if (options.merchant) merchant = merchantCheckout(stripe, merchantRate);
    // The checkout runs beside the burst for MERCHANT_SECONDS (its payments' events join the burst), then
    // everything is drained.
    if (merchant) {
      await new Promise((r) => setTimeout(r, MERCHANT_SECONDS * 1000));
      await merchant.stop();
    }
    const failures = await drained(stripe, service.store, 10);
    const wallMs = performance.now() - started;
    const events = stripe.events.length;
    const { requests, batches } = client.stats();
    const counted = { ...byMethod };
    const stripeCounts = { ...stripeProxy.counts };
    const stripePeakPerSecond = stripeProxy.peakPerSecond();

    // Nothing lost: every payment once, with Stripe's values (read back through the Web API, limits off).
    dataverse.setLimits({ enabled: false });
    const rows = await client.retrieveMultiple('stc_payments', {
      select: ['stc_stripeid', 'stc_amount', 'stc_currency', 'stc_status'],
      pageSize: 5000,
    });
    const byId = new Map<string, Record<string, unknown>>();
    for (const row of rows) {
      const id = String(row.stc_stripeid);
      if (byId.has(id)) failures.push(`${id} is there twice`);
      byId.set(id, row);
    }
    const expected = [...intents.map((id, i) => ({ id, amount: amountOf(i) })), ...(merchant?.made ?? [])];
    for (const { id, amount } of expected) {
      const row = byId.get(id);
      if (!row) failures.push(`${id}: no row`);
      else if (
        row.stc_amount !== amount / 100 ||
        row.stc_currency !== 'usd' ||
        row.stc_status !== StcPaymentStatus.Succeeded
      )
        failures.push(`${id}: ${JSON.stringify(row)}`);
    }
    const unconfirmed = merchant?.open.length ?? 0;
    if (byId.size !== expected.length + unconfirmed)
      failures.push(`${byId.size} rows for ${expected.length + unconfirmed} payments`);
    if (merchant && merchant.counts.failed > 0)
      failures.push(`${merchant.counts.failed} merchant checkout requests failed other than by 429`);
    const serviceStripeRequests = stripeCounts.requests;
    return {
      events,
      payments: expected.length,
      rows: byId.size,
      requests,
      batches,
      throttled,
      byMethod: counted,
      wallMs,
      dataverseLeastMs: options.dataverseLimited ? leastMs(LIMITS, requests - throttled) : 0,
      stripeLeastMs:
        STRIPE_LIMIT === false
          ? 0
          : (Math.max(0, serviceStripeRequests - STRIPE_LIMIT) / STRIPE_LIMIT) * 1000,
      stripeRequests: serviceStripeRequests,
      stripeThrottled: stripeCounts.throttled,
      stripePeakPerSecond,
      stripeByEndpoint: { ...stripeProxy.byEndpoint },
      merchantRequests: merchant?.counts.requests ?? 0,
      merchantThrottled: merchant?.counts.throttled ?? 0,
      latencies: latencies(
        stripe.events as unknown as StripeEventLike[],
        stripe.deliveries,
        written.writes,
        clockOffset,
      ),
      failures,
    };
  } finally {
    await merchant?.stop();
    await service.stop();
    await stripeProxy.close();
    await stripe.close();
    await dataverse.close();
    fs.rmSync(dir, { recursive: true, force: true });
    if (mappingsDir) fs.rmSync(mappingsDir, { recursive: true, force: true });
  }
}

const ms = (value: number) => `${Math.round(value)} ms`;

function describe(name: string, r: PhaseResult): string {
  const least = Math.max(r.dataverseLeastMs, r.stripeLeastMs);
  return (
    `${name.padEnd(9)}: ${r.events} events of ${r.payments} payments, ${r.rows} rows in ${secs(r.wallMs)} ` +
    `(${Math.round(r.events / (r.wallMs / 1000))} events/s); ` +
    `Stripe: ${r.stripeRequests} requests (${(r.stripeRequests / r.events).toFixed(3)} per event, ` +
    `${(r.stripeRequests / r.payments).toFixed(2)} per payment), ${r.stripeThrottled} × 429, ` +
    `peak ${r.stripePeakPerSecond}/s (${Object.entries(r.stripeByEndpoint)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}); ` +
    `Dataverse: ${r.requests} requests (${(r.requests / r.rows).toFixed(2)} per row; ` +
    `${Object.entries(r.byMethod)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}; ${r.batches} $batch), ${r.throttled} × 429; ` +
    `least time ${secs(least)} (Dataverse ${secs(r.dataverseLeastMs)}, Stripe ${secs(r.stripeLeastMs)}); ` +
    `event → row p50 ${ms(percentile(r.latencies, 50))}, p95 ${ms(percentile(r.latencies, 95))}, ` +
    `p99 ${ms(percentile(r.latencies, 99))}` +
    (r.merchantRequests > 0
      ? `; merchant checkout: ${r.merchantRequests} requests, ${r.merchantThrottled} × 429`
      : '')
  );
}

async function main(): Promise<void> {
  console.log(
    `e2e: ${EVENTS} Stripe events (${PAYMENTS} payments × ${EVENTS_PER_PAYMENT}) → service (SQLite, ${JSON.stringify(tuning)}) → stc_payment rows; ` +
      `${RUNS} runs; Stripe limit ${STRIPE_LIMIT === false ? 'off' : `${STRIPE_LIMIT}/s`}; ` +
      `Dataverse limits (limited and merchant phases): ${LIMITS.requests} requests, ${LIMITS.concurrent} concurrent, ` +
      `${LIMITS.executionMs / 1000} s execution per ${LIMITS.windowMs / 1000} s window (Dataverse's 5 minutes / ${FACTOR})`,
  );
  const phases: PhaseOptions[] = [
    { name: 'baseline', dataverseLimited: false, merchant: false, perEvent: false, payments: PAYMENTS },
    { name: 'limited', dataverseLimited: true, merchant: false, perEvent: false, payments: PAYMENTS },
    { name: 'merchant', dataverseLimited: true, merchant: true, perEvent: false, payments: PAYMENTS },
    ...(PER_EVENT_EVENTS > 0
      ? [
          {
            name: 'per-event' as const,
            dataverseLimited: true,
            merchant: false,
            perEvent: true,
            payments: Math.ceil(PER_EVENT_EVENTS / EVENTS_PER_PAYMENT),
          },
        ]
      : []),
  ];
  // Warm-up: JIT, module caches, mapping load.
  await phase({ ...phases[0], payments: Math.min(PAYMENTS, 100) });
  const figures: Array<Map<PhaseName, PhaseResult>> = [];
  let broken = false;
  for (let run = 1; run <= RUNS; run++) {
    const results = new Map<PhaseName, PhaseResult>();
    // Rotated, so no phase always runs first (on a cold machine) or last.
    const order = phases.map((_, i) => phases[(i + run - 1) % phases.length]);
    for (const options of order) results.set(options.name, await phase(options));
    figures.push(results);
    for (const { name } of phases) {
      const r = results.get(name)!;
      console.log(`run ${run} ${describe(name, r)}`);
      for (const f of r.failures.slice(0, 10)) console.log(`  LOST/WRONG: ${f}`);
      if (r.failures.length > 0) broken = true;
    }
  }
  const m = (name: PhaseName, pick: (r: PhaseResult) => number) =>
    median(figures.map((f) => pick(f.get(name)!)));
  console.log(`\nmedian of ${RUNS} runs:`);
  for (const { name } of phases) {
    const least = m(name, (r) => Math.max(r.dataverseLeastMs, r.stripeLeastMs));
    const wall = m(name, (r) => r.wallMs);
    console.log(
      `  ${name.padEnd(9)}: ${secs(wall)}, ${Math.round(m(name, (r) => r.events / (r.wallMs / 1000)))} events/s; ` +
        `Stripe ${m(name, (r) => r.stripeRequests / r.events).toFixed(3)} requests per event (target ≤ 0.05), ` +
        `${m(name, (r) => r.stripeRequests / r.payments).toFixed(2)} per payment, ` +
        `${m(name, (r) => r.stripeThrottled)} × 429 (target 0), peak ${m(name, (r) => r.stripePeakPerSecond)}/s; ` +
        `Dataverse ${m(name, (r) => r.requests / r.rows).toFixed(2)} requests per row, ${m(name, (r) => r.throttled)} × 429; ` +
        `least time the limits allow ${secs(least)}${least >= 1000 ? `, ratio ${(wall / least).toFixed(2)}` : ''}; ` +
        `event → row p50 ${ms(m(name, (r) => percentile(r.latencies, 50)))}, ` +
        `p95 ${ms(m(name, (r) => percentile(r.latencies, 95)))} (target < 2 s), ` +
        `p99 ${ms(m(name, (r) => percentile(r.latencies, 99)))}` +
        (name === 'merchant'
          ? `; merchant checkout ${m(name, (r) => r.merchantRequests)} requests, ${m(name, (r) => r.merchantThrottled)} × 429 (target 0)`
          : ''),
    );
  }
  // The least time of a limited phase: what either platform's limits allow, and never less than this machine
  // needs with Dataverse's limits off (the baseline), so a run the limits do not bind compares to the baseline.
  const limited = m('limited', (r) => r.wallMs);
  const baseline = m('baseline', (r) => r.wallMs);
  const floor = m('limited', (r) => Math.max(r.dataverseLeastMs, r.stripeLeastMs, baseline));
  console.log(
    `  limited: ${secs(limited)} against ${secs(floor)}, the least time the limits allow or the baseline's if more, ` +
      `ratio ${(limited / floor).toFixed(2)} (target ≤ 1.2); Dataverse's own least time ${secs(m('limited', (r) => r.dataverseLeastMs))}, ` +
      `Stripe's ${secs(m('limited', (r) => r.stripeLeastMs))}`,
  );
  console.log(
    `  rows lost or wrong: ${figures.reduce((n, f) => n + [...f.values()].reduce((k, r) => k + r.failures.length, 0), 0)}`,
  );
  // Only lost or wrong rows fail the bench; the figures against targets are reported.
  process.exit(broken ? 1 : 0);
}

void main();
