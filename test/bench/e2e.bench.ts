/**
 * End to end, Stripe → service → Dataverse: a burst of BENCH_EVENTS (5,000) Stripe events (card payments
 * made in the Stripe emulator: payment_intent.created, charge.succeeded, payment_intent.succeeded and
 * charge.updated for each, so 1,250 payments) delivered signed to the service's /webhooks/stripe, through its
 * inbox and workers (the real handlers and mappings, SQLite store), into stc_payment rows in the Dataverse
 * emulator. Each run has two phases on fresh emulators and a fresh store, in alternating order:
 * - baseline: Dataverse's service protection limits off;
 * - limited: Dataverse's limits on with the 5-minute window compressed by BENCH_TIME_FACTOR (30: 10 s window,
 *   6,000 requests, 1,200 s / 30 = 40 s of execution, 52 concurrent).
 * Reported per phase (median of BENCH_RUNS runs): wall time from the first delivery until every event is
 * applied, Dataverse Web API requests per row and per event, 429s, and for the limited phase the ratio to the
 * least time its requests need under the limits. Every run checks that nothing is lost: each payment's row is
 * there once with Stripe's amount, currency and status, no event is dead-lettered. Stripe requests the service
 * sends are counted (per event, and the 429s among them) through a counting proxy in front of the emulator.
 * BENCH_STRIPE_RATE_LIMIT sets the Stripe emulator's limit: `off` (the default; the service's Stripe budget is
 * then set past what the run needs, so the bench measures Dataverse) or requests per second (25: Stripe's test
 * mode; the service's budget then keeps its defaults, half of Stripe's limit).
 *
 * Environment: BENCH_EVENTS (5000), BENCH_RUNS (3), BENCH_TIME_FACTOR (30), BENCH_DELIVERY_CONCURRENCY (16:
 * webhook deliveries in flight, Stripe sends in parallel), BENCH_STRIPE_RATE_LIMIT; the service's own WORKER_CONCURRENCY and
 * DATAVERSE_BATCH_SIZE / _DELAY_MS / DATAVERSE_BATCHES_IN_FLIGHT are passed on when set (else its defaults).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { model, StcPaymentStatus } from '@stc/solution';
import { startDataverseEmulator, startStripeEmulator } from '@stc/emulators';
import { createDataverseClient, createLogger, loadConfig, startService } from '@stc/service';
import { compressedLimits, drained, leastMs, median, secs, serviceUser } from './support';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 5000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FACTOR = Number(process.env.BENCH_TIME_FACTOR ?? 30);
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
  (process.env.BENCH_STRIPE_RATE_LIMIT ?? 'off') === 'off'
    ? false
    : Number(process.env.BENCH_STRIPE_RATE_LIMIT);
const EVENTS_PER_PAYMENT = 4;
const PAYMENTS = Math.ceil(EVENTS / EVENTS_PER_PAYMENT);
const SECRET = 'whsec_e2e_bench';
const SERVICE_USER = serviceUser('5a9d1f00-0000-4000-8000-0000000be0c1');
const LIMITS = compressedLimits(FACTOR);

interface PhaseResult {
  events: number;
  rows: number;
  requests: number;
  batches: number;
  throttled: number;
  /** Requests by method (`PATCH` upserts, `GET` reads, `POST` creates and `$batch`). */
  byMethod: Record<string, number>;
  wallMs: number;
  /** Requests the service sent to Stripe, and how many of them were answered 429. */
  stripeRequests: number;
  stripeThrottled: number;
  failures: string[];
}

/** A proxy in front of the Stripe emulator that counts the requests sent through it and their 429s. */
async function countingStripeProxy(target: string) {
  const counts = { requests: 0, throttled: 0 };
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    counts.requests += 1;
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
  return { url, counts, close };
}

const amountOf = (i: number) => 1000 + ((i * 37) % 9000);

async function phase(limited: boolean, payments = PAYMENTS): Promise<PhaseResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-e2e-bench-'));
  const dataverse = await startDataverseEmulator({
    model,
    systemUsers: [SERVICE_USER],
    limits: limited ? LIMITS : { enabled: false },
  });
  const stripe = await startStripeEmulator({ rateLimit: STRIPE_LIMIT });
  const stripeProxy = await countingStripeProxy(stripe.url);
  let throttled = 0;
  const byMethod: Record<string, number> = {};
  const countingFetch: typeof fetch = async (input, init) => {
    const method = init?.method ?? 'GET';
    byMethod[method] = (byMethod[method] ?? 0) + 1;
    const res = await fetch(input, init);
    if (res.status === 429) throttled += 1;
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
      ...tuning,
    },
    dir,
  );
  const service = await startService(config, {
    dataverse: client,
    logger: createLogger({ level: 'silent' }),
  });
  try {
    stripe.setWebhook({
      url: `${service.url}/webhooks/stripe`,
      secret: SECRET,
      concurrency: DELIVERY_CONCURRENCY,
    });
    // Made in-process (no HTTP), each with its events, which Stripe then delivers as they happen.
    const intents = stripe.testHelpers.seedPayments({ count: payments, events: true, amount: amountOf });
    const events = stripe.events.length;

    // Seeding is synchronous: the first delivery leaves after this point.
    const started = performance.now();
    const failures = await drained(stripe, service.store, 10);
    const wallMs = performance.now() - started;
    const { requests, batches } = client.stats();
    const counted = { ...byMethod };

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
    intents.forEach((id, i) => {
      const row = byId.get(id);
      if (!row) failures.push(`${id}: no row`);
      else if (
        row.stc_amount !== amountOf(i) / 100 ||
        row.stc_currency !== 'usd' ||
        row.stc_status !== StcPaymentStatus.Succeeded
      )
        failures.push(`${id}: ${JSON.stringify(row)}`);
    });
    if (byId.size !== intents.length) failures.push(`${byId.size} rows for ${intents.length} payments`);
    const { requests: stripeRequests, throttled: stripeThrottled } = { ...stripeProxy.counts };
    return {
      events,
      rows: byId.size,
      requests,
      batches,
      throttled,
      byMethod: counted,
      wallMs,
      stripeRequests,
      stripeThrottled,
      failures,
    };
  } finally {
    await service.stop();
    await stripeProxy.close();
    await stripe.close();
    await dataverse.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(
    `e2e: ${EVENTS} Stripe events (${PAYMENTS} payments × ${EVENTS_PER_PAYMENT}) → service (SQLite, ${JSON.stringify(tuning)}) → stc_payment rows; ` +
      `${RUNS} runs; limited phase: ${LIMITS.requests} requests, ${LIMITS.concurrent} concurrent, ` +
      `${LIMITS.executionMs / 1000} s execution per ${LIMITS.windowMs / 1000} s window (Dataverse's 5 minutes / ${FACTOR})`,
  );
  await phase(false, Math.min(PAYMENTS, 200)); // warm-up: JIT, module caches, mapping load
  const figures: { base: PhaseResult; lim: PhaseResult }[] = [];
  let broken = false;
  for (let run = 1; run <= RUNS; run++) {
    const limitedFirst = run % 2 === 0;
    const first = await phase(limitedFirst);
    const second = await phase(!limitedFirst);
    const [base, lim] = limitedFirst ? [second, first] : [first, second];
    figures.push({ base, lim });
    for (const [name, r] of [
      ['baseline', base],
      ['limited', lim],
    ] as const) {
      console.log(
        `run ${run} ${name.padEnd(8)}: ${r.events} events, ${r.rows} rows in ${secs(r.wallMs)} ` +
          `(${Math.round(r.events / (r.wallMs / 1000))} events/s), ${r.requests} Dataverse requests ` +
          `(${(r.requests / r.rows).toFixed(2)} per row, ${(r.requests / r.events).toFixed(2)} per event; ` +
          `${Object.entries(r.byMethod)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}; ${r.batches} $batch), ` +
          `${r.throttled} × 429; Stripe: ${r.stripeRequests} requests ` +
          `(${(r.stripeRequests / r.events).toFixed(2)} per event), ${r.stripeThrottled} × 429`,
      );
      for (const f of r.failures.slice(0, 10)) console.log(`  LOST/WRONG: ${f}`);
      if (r.failures.length > 0) broken = true;
    }
  }
  const m = (pick: (f: { base: PhaseResult; lim: PhaseResult }) => number) => median(figures.map(pick));
  const limWall = m((f) => f.lim.wallMs);
  const baseWall = m((f) => f.base.wallMs);
  const least = m((f) => Math.max(f.base.wallMs, leastMs(LIMITS, f.lim.requests - f.lim.throttled)));
  const perRow = m((f) => f.lim.requests / f.lim.rows);
  console.log(`\nmedian of ${RUNS} runs:`);
  console.log(
    `  baseline (Dataverse limits off): ${secs(baseWall)}, ${Math.round(m((f) => f.base.events / (f.base.wallMs / 1000)))} events/s, ` +
      `${m((f) => f.base.requests / f.base.rows).toFixed(2)} Dataverse requests per row, ` +
      `${m((f) => f.base.stripeRequests / f.base.events).toFixed(2)} Stripe requests per event, ` +
      `${m((f) => f.base.stripeThrottled)} Stripe 429s (Stripe limit ${STRIPE_LIMIT === false ? 'off' : `${STRIPE_LIMIT}/s`})`,
  );
  console.log(
    `  limited (window / ${FACTOR}): ${secs(limWall)} = ${(limWall / baseWall).toFixed(2)}× baseline; ` +
      `${Math.round(m((f) => f.lim.events / (f.lim.wallMs / 1000)))} events/s, ` +
      `${perRow.toFixed(2)} requests per row (target ≤ 0.10), ${m((f) => f.lim.throttled)} × 429, ` +
      `${m((f) => f.lim.stripeRequests / f.lim.events).toFixed(2)} Stripe requests per event; ` +
      `least time the limits allow ${secs(least)}, ratio ${(limWall / least).toFixed(2)} (target ≤ 1.2)`,
  );
  console.log(
    `  rows lost or wrong: ${figures.reduce((n, f) => n + f.base.failures.length + f.lim.failures.length, 0)}`,
  );
  // Only lost or wrong rows fail the bench; the figures against targets are reported.
  process.exit(broken ? 1 : 0);
}

void main();
