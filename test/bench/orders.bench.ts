/**
 * Order-to-cash at volume: BENCH_SESSIONS (1,000) Checkout Sessions of five lines each, paid on the Stripe
 * emulator's hosted page, their events (sessions, payment intents, charges) delivered signed to the service,
 * into Dynamics 365 orders with their lines, paid invoices with theirs, and the payments: 13 rows per session.
 * The sessions are for 20 returning customers whose accounts Dynamics 365 has, each of four lines from a
 * catalog of 50 products Dynamics 365 has and one line written in. Each run has two phases on fresh emulators and a fresh store, in alternating order: baseline (Dataverse's
 * service protection limits off) and limited (limits on, the 5-minute window compressed by BENCH_TIME_FACTOR,
 * 30). Sessions are made and paid before the webhook endpoint starts sending, so the wall time is the service's
 * alone: from the first delivery until the inbox is drained. Reported (median of BENCH_RUNS, 3): wall time,
 * Dataverse requests per row (target ≤ 0.1), and for the limited phase the ratio to the least time its
 * requests need under the limits (target ≤ 1.2). Every run checks every order: five lines, its total equal to
 * the session's amount_total, one paid invoice; nothing dead-lettered. The Stripe emulator's limit is off.
 *
 * Environment: BENCH_SESSIONS (1000), BENCH_RUNS (3), BENCH_TIME_FACTOR (30), BENCH_DELIVERY_CONCURRENCY (16).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { model } from '@stc/solution';
import { startDataverseEmulator, startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import { createDataverseClient, createLogger, loadConfig, startService } from '@stc/service';
import { compressedLimits, drained, leastMs, median, secs, serviceUser } from './support';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FACTOR = Number(process.env.BENCH_TIME_FACTOR ?? 30);
const DELIVERY_CONCURRENCY = Number(process.env.BENCH_DELIVERY_CONCURRENCY ?? 16);
const LINES = 5;
const CUSTOMERS = 20;
const PRODUCTS = 50;
const ROWS_PER_SESSION = 2 * (1 + LINES) + 1;
const SECRET = 'whsec_orders_bench';
const SERVICE_USER = serviceUser('5a9d1f00-0000-4000-8000-0000000be0c2');
const LIMITS = compressedLimits(FACTOR);

interface PhaseResult {
  sessions: number;
  rows: number;
  requests: number;
  throttled: number;
  wallMs: number;
  failures: string[];
}

interface Shop {
  customers: string[];
  prices: Array<{ id: string; amount: number }>;
}

/**
 * What the organization has before the run: its currency and unit, the shop's catalog (products in Stripe with
 * one price each, and in Dynamics 365 numbered by their Stripe id, as the catalog sync leaves them) and the
 * accounts of its returning customers. Made in Stripe before the endpoint listens, so they send no events.
 */
async function seedShop(stripe: StripeEmulator, client: Client): Promise<Shop> {
  await client.create('transactioncurrencies', {
    isocurrencycode: 'USD',
    currencyname: 'US Dollar',
    currencysymbol: '$',
    currencyprecision: 2,
    exchangerate: 1,
  });
  const group = await client.create('uomschedules', { name: 'Default Unit', baseuomname: 'Primary Unit' });
  const unit = await client.create('uoms', {
    name: 'Primary Unit',
    quantity: 1,
    'uomscheduleid@odata.bind': `/uomschedules(${group})`,
  });
  const sdk = stripe.client();
  const shop: Shop = { customers: [], prices: [] };
  for (let i = 0; i < PRODUCTS; i++) {
    const product = await sdk.products.create({ name: `Product ${i}` });
    const amount = 100 + ((i * 397) % 9000);
    const price = await sdk.prices.create({ product: product.id, unit_amount: amount, currency: 'usd' });
    await client.create('products', {
      name: product.name,
      productnumber: product.id,
      'defaultuomscheduleid@odata.bind': `/uomschedules(${group})`,
      'defaultuomid@odata.bind': `/uoms(${unit})`,
    });
    shop.prices.push({ id: price.id, amount });
  }
  for (let i = 0; i < CUSTOMERS; i++) {
    const customer = await sdk.customers.create({ name: `Customer ${i}`, email: `c${i}@shop.example` });
    await client.create('accounts', { name: customer.name, stc_stripecustomerid: customer.id });
    shop.customers.push(customer.id);
  }
  return shop;
}

/** Sessions of five lines in USD, paid by card. */
async function makePaidSessions(
  stripe: StripeEmulator,
  shop: Shop,
  count: number,
): Promise<Map<string, number>> {
  const sdk = stripe.client();
  const totals = new Map<string, number>();
  const make = async (i: number) => {
    const session = await sdk.checkout.sessions.create({
      mode: 'payment',
      customer: shop.customers[i % shop.customers.length],
      success_url: 'https://shop.example/done',
      // Four catalog products and one line made up at checkout (written in).
      line_items: [
        ...Array.from({ length: LINES - 1 }, (_, line) => ({
          price: shop.prices[(i * 7 + line * 13) % shop.prices.length].id,
          quantity: 1 + ((i + line) % 3),
        })),
        {
          price_data: { currency: 'usd', unit_amount: 250 + (i % 50), product_data: { name: 'Gift wrap' } },
          quantity: 1,
        },
      ],
    });
    const paid = await fetch(session.url!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ card_number: '4242424242424242' }),
      redirect: 'manual',
    });
    if (paid.status !== 303) throw new Error(`session ${session.id} was not paid (${paid.status})`);
    totals.set(session.id, session.amount_total!);
  };
  for (let i = 0; i < count; i += 16)
    await Promise.all(Array.from({ length: Math.min(16, count - i) }, (_, k) => make(i + k)));
  return totals;
}

async function phase(limited: boolean, sessions = SESSIONS): Promise<PhaseResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-orders-bench-'));
  const dataverse = await startDataverseEmulator({
    model,
    systemUsers: [SERVICE_USER],
    limits: { enabled: false },
  });
  const stripe = await startStripeEmulator({ rateLimit: false });
  let throttled = 0;
  const byKind: Record<string, number> = {};
  const countingFetch: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const kind = `${init?.method ?? 'GET'} ${url.pathname.split('/').pop()!.replace(/\(.*$/, '')}`;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    const res = await fetch(input, init);
    if (res.status === 429) throttled += 1;
    return res;
  };
  const client = createDataverseClient({ baseUrl: dataverse.url, fetch: countingFetch });
  const config = loadConfig(
    {
      STRIPE_API_KEY: stripe.apiKey,
      STRIPE_MODE: 'test',
      STRIPE_API_BASE: stripe.url,
      STRIPE_WEBHOOK_SECRET: SECRET,
      DATAVERSE_URL: dataverse.url,
      DATAVERSE_AUTH: 'none',
      DATAVERSE_WEBHOOK_KEY: 'orders-bench-dataverse-key-0123456789',
      ADMIN_API_KEY: 'orders-bench-admin-key-0123456789',
      SQLITE_PATH: path.join(dir, 'connector.db'),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      WORKER_POLL_MS: '50',
      STRIPE_RATE_LIMIT: '100000',
      STRIPE_ENDPOINT_RATE_LIMIT: '100000',
    },
    dir,
  );
  const service = await startService(config, {
    dataverse: client,
    logger: createLogger({ level: 'silent' }),
  });
  try {
    const webhook = {
      url: `${service.url}/webhooks/stripe`,
      secret: SECRET,
      concurrency: DELIVERY_CONCURRENCY,
    };
    // Events queue while the sessions are made and paid; the endpoint starts sending once they all are.
    const shop = await seedShop(stripe, client);
    stripe.setWebhook({ ...webhook, autoDeliver: false });
    const totals = await makePaidSessions(stripe, shop, sessions);
    if (limited) dataverse.setLimits(LIMITS);
    const before = client.stats().requests;
    const started = performance.now();
    stripe.setWebhook(webhook);
    const failures = await drained(stripe, service.store, 20);
    const wallMs = performance.now() - started;
    const requests = client.stats().requests - before;
    if (process.env.BENCH_VERBOSE) console.log(JSON.stringify(byKind));
    dataverse.setLimits({ enabled: false });
    const rows = await checkRows(client, totals, failures);
    return { sessions, rows, requests, throttled, wallMs, failures };
  } finally {
    await service.stop();
    await stripe.close();
    await dataverse.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

type Client = ReturnType<typeof createDataverseClient>;

/** Every order once, with five lines and Stripe's total, and its invoice paid; answers the rows counted. */
async function checkRows(client: Client, totals: Map<string, number>, failures: string[]): Promise<number> {
  const all = (set: string, select: string[]) => client.retrieveMultiple(set, { select, pageSize: 5000 });
  const orders = await all('salesorders', ['salesorderid', 'stc_stripeid', 'totalamount']);
  const invoices = await all('invoices', ['stc_stripeid', 'totalamount', 'statecode']);
  const orderLines = await all('salesorderdetails', ['_salesorderid_value']);
  const invoiceLines = await all('invoicedetails', ['_invoiceid_value']);
  const payments = await all('stc_payments', ['stc_stripeid']);
  const linesPerOrder = new Map<string, number>();
  for (const line of orderLines) {
    const id = String(line._salesorderid_value);
    linesPerOrder.set(id, (linesPerOrder.get(id) ?? 0) + 1);
  }
  const invoiceBySession = new Map(invoices.map((row) => [String(row.stc_stripeid), row]));
  if (orders.length !== totals.size) failures.push(`${orders.length} orders for ${totals.size} sessions`);
  for (const order of orders) {
    const session = String(order.stc_stripeid);
    const expected = (totals.get(session) ?? NaN) / 100;
    if (order.totalamount !== expected)
      failures.push(`${session}: order total ${order.totalamount}, not ${expected}`);
    if (linesPerOrder.get(String(order.salesorderid)) !== LINES)
      failures.push(`${session}: ${linesPerOrder.get(String(order.salesorderid)) ?? 0} lines`);
    const invoice = invoiceBySession.get(session);
    if (!invoice || invoice.statecode !== 2 || invoice.totalamount !== expected)
      failures.push(`${session}: invoice ${JSON.stringify(invoice ?? null)}`);
  }
  return orders.length + orderLines.length + invoices.length + invoiceLines.length + payments.length;
}

function report(run: number, name: string, r: PhaseResult): void {
  console.log(
    `run ${run} ${name.padEnd(8)}: ${r.sessions} sessions → ${r.rows} rows (expected ${r.sessions * ROWS_PER_SESSION}) ` +
      `in ${secs(r.wallMs)} (${Math.round(r.sessions / (r.wallMs / 1000))} orders/s), ${r.requests} Dataverse requests ` +
      `(${(r.requests / r.rows).toFixed(2)} per row), ${r.throttled} × 429`,
  );
  for (const failure of r.failures.slice(0, 10)) console.log(`  LOST/WRONG: ${failure}`);
}

async function main(): Promise<void> {
  console.log(
    `orders: ${SESSIONS} Checkout Sessions × ${LINES} lines → orders, lines, paid invoices and payments; ${RUNS} runs; ` +
      `limited phase: ${LIMITS.requests} requests per ${LIMITS.windowMs / 1000} s window (Dataverse's 5 minutes / ${FACTOR})`,
  );
  await phase(false, Math.min(SESSIONS, 50)); // warm-up
  const figures: Array<{ base: PhaseResult; lim: PhaseResult }> = [];
  for (let run = 1; run <= RUNS; run++) {
    const limitedFirst = run % 2 === 0;
    const first = await phase(limitedFirst);
    const second = await phase(!limitedFirst);
    const [base, lim] = limitedFirst ? [second, first] : [first, second];
    figures.push({ base, lim });
    report(run, 'baseline', base);
    report(run, 'limited', lim);
  }
  const m = (pick: (f: { base: PhaseResult; lim: PhaseResult }) => number) => median(figures.map(pick));
  const baseWall = m((f) => f.base.wallMs);
  const limWall = m((f) => f.lim.wallMs);
  const least = m((f) => Math.max(f.base.wallMs, leastMs(LIMITS, f.lim.requests - f.lim.throttled)));
  console.log(`\nmedian of ${RUNS} runs:`);
  console.log(
    `  baseline (limits off): ${secs(baseWall)}, ${m((f) => f.base.requests / f.base.rows).toFixed(2)} requests per row`,
  );
  console.log(
    `  limited (window / ${FACTOR}): ${secs(limWall)}; ${m((f) => f.lim.requests / f.lim.rows).toFixed(2)} requests per row ` +
      `(target ≤ 0.10), ${m((f) => f.lim.throttled)} × 429; least time the limits allow ${secs(least)}, ` +
      `ratio ${(limWall / least).toFixed(2)} (target ≤ 1.2)`,
  );
  const wrong = figures.reduce((n, f) => n + f.base.failures.length + f.lim.failures.length, 0);
  console.log(`  orders lost or wrong: ${wrong}`);
  process.exit(wrong > 0 ? 1 : 0);
}

void main();
