/**
 * Chaos harness, shared by the chaos test and `npm run bench -- chaos`: the whole connector under trouble, and
 * the proof that it loses nothing and does nothing twice.
 *
 * - The Stripe emulator makes card payments in bursts (some disputed, some closed won or lost), refunds a
 *   share of them, and delivers its events signed to the service with 10 % duplicates, the order of some
 *   bursts shuffled, and Stripe's retries (with backoff) while the service is down.
 * - Users in the Dataverse emulator ask for refunds (stc_refundrequest above the approval threshold) and a
 *   finance approver approves them: the service makes Stripe refunds with the request as idempotency key.
 * - The service runs as its own process (`service/src/main.ts`, configured from the environment, the real
 *   handlers and mappings) on a store that outlives it, and is killed with SIGKILL and restarted: during an
 *   intake burst, when Dataverse has committed a write but before the service has its answer, when Stripe
 *   has made a refund but before the service has its answer, and at random moments. Proxies between the
 *   service and both emulators hold those answers (intercepting-proxy.ts).
 * - For periods, Dataverse throttles (service protection limits, compressed window) or fails writes with 5xx,
 *   and Stripe answers 5xx or too late.
 * - Live-mode payments are made on purpose: their events reach this test-mode service and must be
 *   dead-lettered (stripe_mode_mismatch), the only dead letters allowed.
 *
 * At the end every Stripe payment, refund and dispute has exactly one row in Dataverse equal to Stripe's final
 * state, every approved request has exactly one Stripe refund, every test-mode event is finished in the inbox.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type Stripe from 'stripe';
import {
  findOptionValue,
  model,
  StcPaymentStatus,
  StcRefundReason,
  StcRefundRequestStatus,
  webhookSteps,
} from '@stc/solution';
import { startDataverseEmulator, startStripeEmulator } from '@stc/emulators';
import type { DataverseEmulator, StripeEmulator } from '@stc/emulators';
import type { Store } from '../../store';
import { startInterceptingProxy, type InterceptingProxy } from './intercepting-proxy';

const MAIN = path.resolve(__dirname, '../../main.ts');
const WEBHOOK_SECRET = 'whsec_chaos_0123456789';
const DATAVERSE_KEY = 'chaos-dataverse-webhook-key-0123';
const KEY_HEADER = 'x-stc-webhook-key';
/** Above this (5.00 USD) a refund request waits for a finance approver. */
const APPROVAL_THRESHOLD_MINOR = 500;
const STRIPE_TIMEOUT_MS = 2000;

export const CHAOS_USERS = {
  service: {
    systemuserid: '5e0c7a11-0000-4000-8000-00000000c4a1',
    fullname: 'Stripe Connector Service',
    roles: ['Stripe Connector Service'],
  },
  requester: {
    systemuserid: '5e0c7a11-0000-4000-8000-00000000c4b1',
    fullname: 'Rita Requester',
    roles: ['Stripe Refund Requester'],
  },
  approver: {
    systemuserid: '5e0c7a11-0000-4000-8000-00000000c4c1',
    fullname: 'Frank Finance',
    roles: ['Stripe Finance Approver'],
  },
};

export interface ChaosOptions {
  /** Environment variables that point the service at its store (SQLITE_PATH, or DATABASE_URL and schema). */
  database: Record<string, string>;
  /** A connection to the same store, to read the inbox and the dead letters. */
  store: Store;
  /** Test-mode Stripe events to produce (at least; the last burst may overshoot a little). */
  events: number;
  /** SIGKILLs, at least 3: an intake burst, a Dataverse write, an outbound refund; more are mid-write or random. */
  kills: number;
  /** Refund requests approved in Dataverse. */
  refundRequests?: number;
  /** Live-mode payments made on purpose (each gives several events, all to be dead-lettered). */
  livePayments?: number;
  seed?: number;
  /** How long the system may take to settle at the end (and each wait in between), in ms. */
  settleMs?: number;
  /** Progress lines (default none). */
  log?: (line: string) => void;
}

export interface ChaosReport {
  events: number;
  deliveries: number;
  duplicatesDelivered: number;
  /** Events first delivered after a newer event, of any object / of their own object. */
  reordered: number;
  reorderedOfObject: number;
  kills: string[];
  restarts: number;
  faults: {
    dataverseThrottled: number;
    dataverse5xx: number;
    stripeFaulted: number;
    periods: string[];
    /** Every answer Dataverse gave the service, by status. */
    dataverseAnswers: Record<number, number>;
  };
  rowsChecked: number;
  refundRequests: number;
  outboundRefunds: number;
  lost: string[];
  doubled: string[];
  deadLetters: number;
  /** Dead letters of the live-mode events sent on purpose. */
  deadLettersInjected: number;
  /** Live-mode payments made on purpose, and their events by inbox status. */
  livePayments: number;
  liveEvents: Record<string, number>;
  /** Problems other than lost or doubled: unexpected dead letters, a run that did not settle. */
  problems: string[];
  serviceLog: string;
}

export function chaosFailures(report: ChaosReport): string[] {
  return [...report.lost, ...report.doubled, ...report.problems];
}

export function formatChaosReport(r: ChaosReport): string {
  const show = (list: string[]) => (list.length ? `${list.length}: ${list.slice(0, 10).join('; ')}` : '0');
  return [
    `events: ${r.events} test-mode Stripe events; ${r.livePayments} live-mode payments on purpose, their events: ${JSON.stringify(r.liveEvents)}`,
    `deliveries: ${r.deliveries} webhook attempts, ${r.duplicatesDelivered} duplicates delivered, ${r.reordered} events first delivered after a newer one (${pct(r.reordered, r.events)}), ${r.reorderedOfObject} after a newer one of the same object (${pct(r.reorderedOfObject, r.events)})`,
    `kills: ${r.kills.length} SIGKILL (${r.kills.join(', ')}), restarts: ${r.restarts}`,
    `faults: ${r.faults.periods.length} periods (${r.faults.periods.join(', ')}); Dataverse 429: ${r.faults.dataverseThrottled}, Dataverse 5xx: ${r.faults.dataverse5xx}, Stripe requests faulted: ${r.faults.stripeFaulted}; Dataverse answers ${JSON.stringify(r.faults.dataverseAnswers)}`,
    `refund requests approved: ${r.refundRequests}, Stripe refunds made for them: ${r.outboundRefunds}`,
    `rows checked: ${r.rowsChecked}`,
    `lost: ${show(r.lost)}`,
    `doubled: ${show(r.doubled)}`,
    `dead letters: ${r.deadLetters} = injected ${r.deadLettersInjected}${r.deadLetters === r.deadLettersInjected ? '' : ' (MISMATCH)'}, covering every live-mode payment`,
    ...(r.problems.length ? [`problems: ${show(r.problems)}`] : []),
  ].join('\n');
}

const pct = (part: number, whole: number) => `${whole ? ((100 * part) / whole).toFixed(1) : '0'} %`;

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it answers truthy, or fails naming `what` after `timeoutMs`. */
async function until<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs: number,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The service as a child process on a fixed port, its log appended to one file across restarts. */
class ServiceUnderTest {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  starts = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly url: string,
    readonly logPath: string,
    private readonly startMs: number,
  ) {}

  async start(): Promise<void> {
    const offset = fs.existsSync(this.logPath) ? fs.statSync(this.logPath).size : 0;
    const log = fs.openSync(this.logPath, 'a');
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), MAIN], {
      env: this.env,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.child = child;
    let gone: string | undefined;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        gone = `exited with ${signal ?? code}`;
        resolve();
      }),
    );
    this.starts += 1;
    await until(
      'the service to listen',
      () => {
        if (gone) throw new Error(`the service ${gone} before listening:\n${this.tail(offset)}`);
        return this.tail(offset).includes('"msg":"service listening"');
      },
      this.startMs,
    );
  }

  private tail(offset: number): string {
    const text = fs.readFileSync(this.logPath, 'utf8');
    return text.slice(offset);
  }

  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
    this.child = null;
  }
}

type KillKind = 'intake burst' | 'Dataverse write' | 'outbound refund' | 'random';
type StormKind = 'Dataverse throttling' | 'Dataverse 5xx storm' | 'Stripe 5xx and timeouts';

/** A write Dataverse carried out (a fault's 5xx or a 429 did nothing). */
const isDataverseWrite = (method: string, url: string, status: number) =>
  ((method === 'POST' && url.includes('$batch')) || method === 'PATCH') && status < 300;
/** A refund Stripe made. */
const isRefundCreate = (method: string, url: string, status: number) =>
  method === 'POST' && url.startsWith('/v1/refunds') && status === 200;

interface World {
  dataverse: DataverseEmulator;
  stripeEmulator: StripeEmulator;
  stripe: Stripe;
  dataverseProxy: InterceptingProxy;
  stripeProxy: InterceptingProxy;
  service: ServiceUnderTest;
  dir: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const random = seededRandom(options.seed ?? 20_261_205);
  const settleMs = options.settleMs ?? 180_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-chaos-'));
  const dataverse = await startDataverseEmulator({ model, systemUsers: Object.values(CHAOS_USERS) });
  const stripeEmulator = await startStripeEmulator({ rateLimit: false });
  const dataverseProxy = await startInterceptingProxy(dataverse.url);
  const stripeProxy = await startInterceptingProxy(stripeEmulator.url);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.database,
    STRIPE_API_KEY: stripeEmulator.apiKey,
    STRIPE_MODE: 'test',
    STRIPE_API_BASE: stripeProxy.origin,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_MAX_NETWORK_RETRIES: '0',
    STRIPE_TIMEOUT_MS: String(STRIPE_TIMEOUT_MS),
    STRIPE_RATE_LIMIT: '100',
    DATAVERSE_URL: `${dataverseProxy.origin}/api/data/v9.2/`,
    DATAVERSE_AUTH: 'none',
    DATAVERSE_WEBHOOK_KEY: DATAVERSE_KEY,
    DATAVERSE_WEBHOOK_HEADER: KEY_HEADER,
    DATAVERSE_SERVICE_USER_ID: CHAOS_USERS.service.systemuserid,
    REFUND_APPROVAL_THRESHOLDS: JSON.stringify({ usd: APPROVAL_THRESHOLD_MINOR }),
    ADMIN_API_KEY: 'chaos-admin-api-key-0123456789',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    WORKER_POLL_MS: '50',
    // A killed process's claims are taken over this long after its last renewal.
    WORKER_LEASE_MS: '2000',
    RETRY_MAX_ATTEMPTS: '10',
    RETRY_BASE_MS: '200',
    RETRY_MAX_MS: '4000',
    SHUTDOWN_GRACE_MS: '3000',
  };
  delete env.SQLITE_PATH;
  delete env.DATABASE_URL;
  delete env.DATABASE_SCHEMA;
  Object.assign(env, options.database);
  const service = new ServiceUnderTest(env, url, path.join(dir, 'service.log'), Math.min(settleMs, 120_000));
  const world: World = {
    dataverse,
    stripeEmulator,
    stripe: stripeEmulator.client(),
    dataverseProxy,
    stripeProxy,
    service,
    dir,
  };
  try {
    return await play(world, options, random, settleMs, log);
  } finally {
    await service.stop().catch(() => undefined);
    await stripeProxy.close();
    await dataverseProxy.close();
    await stripeEmulator.close();
    await dataverse.close();
    if (!process.env.STC_CHAOS_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else log(`chaos run folder kept: ${dir}`);
  }
}

/** What the run made: payments, those still free to refund, the refund requests made in Dataverse. */
interface Ledger {
  payments: string[];
  refundable: string[];
  requests: string[];
}

async function play(
  world: World,
  options: ChaosOptions,
  random: () => number,
  settleMs: number,
  log: (line: string) => void,
): Promise<ChaosReport> {
  const { dataverse, stripeEmulator, stripe, service } = world;
  const kills: string[] = [];
  const periods: string[] = [];
  const problems: string[] = [];
  let restarts = 0;

  const webhook = (shuffle: boolean) =>
    stripeEmulator.setWebhook({
      url: `${service.url}/webhooks/stripe`,
      secret: WEBHOOK_SECRET,
      duplicateRate: 0.1,
      shuffle,
      concurrency: shuffle ? 4 : 1,
      seed: Math.floor(random() * 1e9),
      // Stripe retries for days; here every few hundred ms, and as often as it takes.
      retry: { maxAttempts: 100_000, initialDelayMs: 200, factor: 2, maxDelayMs: 2000 },
    });
  webhook(false);
  for (const step of webhookSteps.filter((s) => s.table === 'stc_refundrequest')) {
    dataverse.registerWebhook({
      table: step.table,
      message: step.message,
      name: step.name,
      filteringAttributes: step.filteringAttributes,
      ...(step.postImage ? { postImage: {} } : {}),
      url: `${service.url}/webhooks/dataverse`,
      auth: { type: 'HttpHeader', headers: { [KEY_HEADER]: DATAVERSE_KEY } },
    });
  }
  await service.start();
  log(`service started (${service.url}), store ${Object.keys(options.database).join(', ')}`);

  /** SIGKILL now, then a restart after a short random downtime (Stripe's deliveries meanwhile fail). */
  const killAndRestart = async (kind: KillKind, detail = '') => {
    await service.kill();
    kills.push(kind);
    log(`SIGKILL #${kills.length}: ${kind}${detail ? ` (${detail})` : ''}`);
    await sleep(Math.floor(random() * 1000));
    await service.start();
    restarts += 1;
  };
  /** Kills when the proxy holds a matching answer (the emulator acted, the service waits), then drops it. */
  const killOnHeld = async (proxy: InterceptingProxy, match: typeof isDataverseWrite, kind: KillKind) => {
    const wish = proxy.holdNext(match);
    let timer: NodeJS.Timeout | undefined;
    const held = await Promise.race([
      wish.held,
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), settleMs / 2))),
    ]);
    clearTimeout(timer);
    if (!held) {
      wish.cancel();
      problems.push(`no ${kind} to kill during within ${settleMs / 2} ms`);
      return killAndRestart('random');
    }
    await service.kill();
    held.drop();
    kills.push(kind);
    log(
      `SIGKILL #${kills.length}: ${kind} (${held.method} ${held.path.slice(0, 60)} answered ${held.status})`,
    );
    await sleep(Math.floor(random() * 1000));
    await service.start();
    restarts += 1;
  };

  const testEvents = () => stripeEmulator.eventsFor().length;
  const ledger: Ledger = { payments: [], refundable: [], requests: [] };
  const target = options.events;
  const killCount = Math.max(3, options.kills);
  const rounds = Math.max(4, killCount - 1);
  const perRound = Math.max(4, Math.ceil(target / rounds / 4.6));
  const shuffledRounds = new Set<number>();
  while (shuffledRounds.size < Math.max(1, Math.round(rounds * 0.2)))
    shuffledRounds.add(Math.floor(random() * rounds));
  // Kinds of kill by round: an intake burst, a Dataverse write, then random moments and writes in turn.
  // The outbound refund's kill comes with the refund requests, once.
  const killPlan: KillKind[] = ['intake burst', 'Dataverse write'];
  for (let k = 3; k < killCount; k++) killPlan.push(k % 2 ? 'random' : 'Dataverse write');
  const storms: StormKind[] = ['Dataverse throttling', 'Dataverse 5xx storm', 'Stripe 5xx and timeouts'];
  const requestsWanted = options.refundRequests ?? 4;
  let requestsRound = false;

  for (let round = 0; round < rounds || testEvents() < target; round++) {
    webhook(shuffledRounds.has(round));
    // Refunds of the last round's payments (full or partial), and open disputes closed, won or lost: done
    // before the storm, which may fault any Stripe request.
    for (const id of ledger.refundable.splice(0)) {
      if (random() < 0.25) {
        const intent = await stripe.paymentIntents.retrieve(id);
        const partial = random() < 0.5;
        await stripe.refunds.create({
          payment_intent: id,
          ...(partial ? { amount: Math.floor(intent.amount / 3) } : {}),
        });
      }
    }
    const open = await listAll((after) => stripe.disputes.list({ limit: 100, starting_after: after }));
    for (const dispute of open.filter((d) => d.status === 'needs_response')) {
      if (random() < 0.5)
        stripeEmulator.testHelpers.closeDispute(dispute.id, random() < 0.5 ? 'won' : 'lost');
    }

    // A storm in turn, under which the round's burst of payments is worked (a few disputed at once).
    const storm = storms[round % storms.length];
    const stormEnds = startStorm(world, options.store, storm, periods);
    const remaining = Math.max(perRound, Math.ceil((target - testEvents()) / 4.6));
    const count = round < rounds - 1 ? perRound : remaining;
    const disputes = Math.max(1, Math.round(count * 0.06));
    const burstStart = stripeEmulator.deliveries.length;
    const before = testEvents();
    const made = stripeEmulator.testHelpers.seedPayments({
      count: count - disputes,
      amount: () => 1000 + Math.floor(random() * 9000),
      events: true,
    });
    const disputedNow = stripeEmulator.testHelpers.seedPayments({
      count: disputes,
      amount: () => 2000 + Math.floor(random() * 3000),
      paymentMethod: 'pm_card_createDispute',
      events: true,
    });
    ledger.payments.push(...made, ...disputedNow);
    ledger.refundable.push(...made);
    const burst = testEvents() - before;

    const killKind = killPlan[round];
    const kill =
      killKind === 'intake burst'
        ? until(
            'a third of the burst delivered',
            () => stripeEmulator.deliveries.length - burstStart >= burst / 3,
            settleMs,
            5,
          ).then(() =>
            killAndRestart(
              'intake burst',
              `${stripeEmulator.deliveries.length - burstStart} of ${burst} delivered`,
            ),
          )
        : killKind === 'Dataverse write'
          ? killOnHeld(world.dataverseProxy, isDataverseWrite, 'Dataverse write')
          : killKind === 'random'
            ? sleep(300 + Math.floor(random() * 2500)).then(() => killAndRestart('random'))
            : Promise.resolve();
    const stormMs = await stormEnds;
    await kill;

    // Once, after the first payments are in Dataverse: refund requests approved, killed during a refund.
    if (!requestsRound && round >= 1 && requestsWanted > 0) {
      requestsRound = true;
      await refundRequests(world, ledger, requestsWanted, settleMs, (kind) =>
        killOnHeld(world.stripeProxy, isRefundCreate, kind),
      );
    }
    log(
      `round ${round + 1}: ${burst} events (${testEvents()} in all)${shuffledRounds.has(round) ? ', shuffled' : ''}, ${storm} for ${stormMs} ms`,
    );
  }

  // Permanently bad on purpose: live-mode payments sent to this test-mode service.
  const live = stripeEmulator.client({ apiKey: 'sk_live_chaos_on_purpose' });
  for (let i = 0; i < (options.livePayments ?? 2); i++) {
    await live.paymentIntents.create({
      amount: 4242,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
  }
  webhook(false);

  log('settling');
  try {
    await settle(world, options.store, settleMs);
  } catch (error) {
    problems.push((error as Error).message);
  }
  await service.stop();
  return check(world, options.store, ledger, { kills, restarts, periods, problems });
}

/**
 * Turns a storm on, and off again once it has lasted 2 s and bitten (the service met enough of its faults),
 * or lasted 6 s with the service idle (a killed service is not), or 60 s at most; resolves with how long it lasted.
 */
async function startStorm(world: World, store: Store, storm: StormKind, periods: string[]): Promise<number> {
  const { dataverse, stripeEmulator, dataverseProxy } = world;
  periods.push(storm);
  const started = Date.now();
  const answered = (test: (status: number) => boolean) =>
    [...dataverseProxy.statuses].filter(([s]) => test(s)).reduce((sum, [, n]) => sum + n, 0);
  const stripeFaulted = () => stripeEmulator.requests.filter((r) => r.fault).length;
  let bitten: () => boolean;
  if (storm === 'Dataverse throttling') {
    // Dataverse's limits with the 5-minute window compressed to 1 s: 4 requests and 1 s of execution.
    dataverse.setLimits({ enabled: true, requests: 4, windowMs: 1000, executionMs: 1000 });
    const before = answered((s) => s === 429);
    bitten = () => answered((s) => s === 429) - before >= 3;
  } else if (storm === 'Dataverse 5xx storm') {
    dataverse.injectFault({ status: 500, count: 5 });
    dataverse.injectFault({ status: 503, fraction: 0.5 });
    const before = answered((s) => s >= 500);
    bitten = () => answered((s) => s >= 500) - before >= 6;
  } else {
    stripeEmulator.injectFault({ status: 500, count: 3 });
    stripeEmulator.injectFault({ status: 503, count: 2 });
    // Answers later than the service waits: Stripe acted and its answer comes too late, or it had not acted.
    stripeEmulator.injectFault({ latencyMs: STRIPE_TIMEOUT_MS + 1000, after: true, count: 1 });
    stripeEmulator.injectFault({ latencyMs: STRIPE_TIMEOUT_MS + 1000, count: 1 });
    const before = stripeFaulted();
    bitten = () => stripeFaulted() - before >= 7;
  }
  // Long enough to bite, unless the service has nothing left to do (then more time would prove nothing).
  const idle = async () => !(await deliveriesPending(world)) && (await store.queueDepth()).pending === 0;
  await until(
    'the storm',
    async () =>
      Date.now() - started >= 2000 && (bitten() || (Date.now() - started >= 6000 && (await idle()))),
    60_000,
  ).catch(() => undefined);
  await sleep(Math.max(0, 2000 - (Date.now() - started)));
  dataverse.setLimits({ enabled: false });
  dataverse.clearFaults();
  stripeEmulator.clearFaults();
  return Date.now() - started;
}

const paymentRow = (dataverse: DataverseEmulator, id: string) =>
  dataverse.store.rows('stc_payments').find((r) => r.stc_stripeid === id);

async function asUser(
  dataverse: DataverseEmulator,
  userId: string,
  method: 'POST' | 'PATCH',
  pathAndQuery: string,
  body: unknown,
): Promise<string | undefined> {
  const res = await fetch(`${dataverse.url}${pathAndQuery}`, {
    method,
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      MSCRMCallerID: userId,
      ...(method === 'PATCH' ? { 'If-Match': '*' } : {}),
    },
    body: JSON.stringify(body),
  });
  if (res.status >= 400) throw new Error(`${method} ${pathAndQuery}: ${res.status} ${await res.text()}`);
  return /\(([0-9a-f-]{36})\)$/i.exec(res.headers.get('odata-entityid') ?? '')?.[1];
}

/**
 * Refund requests above the threshold on payments already in Dataverse (and not refunded otherwise), each
 * approved by a finance approver; the service is killed when Stripe has made the first refund and before the
 * service has its answer. The approvals' webhooks are all accepted before the kill (Dataverse does not keep
 * retrying a webhook to a service that is down; that is outside the connector).
 */
async function refundRequests(
  world: World,
  ledger: Ledger,
  wanted: number,
  settleMs: number,
  killDuringRefund: (kind: KillKind) => Promise<void>,
): Promise<void> {
  const { dataverse } = world;
  const chosen = ledger.refundable.splice(0, wanted);
  const ids = ledger.requests;
  for (const paymentId of chosen) {
    const row = await until(
      `the payment row of ${paymentId} for a refund request`,
      () => {
        const r = paymentRow(dataverse, paymentId);
        return r && r.stc_status === StcPaymentStatus.Succeeded ? r : undefined;
      },
      settleMs,
    );
    const id = await asUser(dataverse, CHAOS_USERS.requester.systemuserid, 'POST', 'stc_refundrequests', {
      stc_name: `Refund of 6.00 USD on ${paymentId}`,
      'stc_paymentid@odata.bind': `/stc_payments(${String(row.stc_paymentid)})`,
      stc_amount: 6,
      stc_currency: 'usd',
      stc_reason: StcRefundReason.RequestedByCustomer,
    });
    ids.push(id!);
  }
  for (const id of ids) {
    await until(
      `refund request ${id} to await approval`,
      () =>
        dataverse.store.get('stc_refundrequests', id)?.stc_status === StcRefundRequestStatus.AwaitingApproval,
      settleMs,
    );
  }
  const kill = killDuringRefund('outbound refund');
  const approvedAt = dataverse.webhookDeliveries().length;
  for (const id of ids) {
    await asUser(dataverse, CHAOS_USERS.approver.systemuserid, 'PATCH', `stc_refundrequests(${id})`, {
      stc_status: StcRefundRequestStatus.Approved,
    });
  }
  // Every approval's webhook has reached the service's inbox before the kill can take it down.
  await until(
    'the approvals to reach the service',
    () =>
      ids.every((id) =>
        dataverse
          .webhookDeliveries()
          .slice(approvedAt)
          .some((d) => sameGuid(d.recordId, id) && d.delivered),
      ),
    settleMs,
  );
  await kill;
}

const sameGuid = (a: string, b: string) => a.replace(/[{}]/g, '').toLowerCase() === b.toLowerCase();

/** Until Stripe has nothing left to deliver and the inbox is empty, twice in a row a moment apart. */
async function settle(world: World, store: Store, settleMs: number): Promise<void> {
  const quiet = async () => {
    if (await deliveriesPending(world)) return false;
    await world.dataverse.webhooksIdle();
    const depth = await store.queueDepth();
    return depth.pending === 0 && depth.processing === 0;
  };
  await until(
    'Stripe to deliver everything and the inbox to empty',
    async () => (await quiet()) && (await sleep(1000), await quiet()),
    settleMs,
    250,
  );
}

/** Whether Stripe still has deliveries to make (or retry). */
async function deliveriesPending(world: World): Promise<boolean> {
  try {
    await world.stripeEmulator.waitForDeliveries(1);
    return false;
  } catch {
    return true;
  }
}

async function listAll<T extends { id: string }>(
  page: (startingAfter?: string) => Promise<Stripe.ApiList<T>>,
): Promise<T[]> {
  const all: T[] = [];
  for (;;) {
    const list = await page(all.at(-1)?.id);
    all.push(...list.data);
    if (!list.has_more) return all;
  }
}

const major = (minor: number) => minor / 100;

async function check(
  world: World,
  store: Store,
  ledger: Ledger,
  run: { kills: string[]; restarts: number; periods: string[]; problems: string[] },
): Promise<ChaosReport> {
  const { dataverse, stripeEmulator, stripe } = world;
  const lost: string[] = [];
  const doubled: string[] = [];
  const problems = [...run.problems];
  let rowsChecked = 0;

  const intents = await listAll((after) =>
    stripe.paymentIntents.list({ limit: 100, starting_after: after, expand: ['data.latest_charge'] }),
  );
  const refunds = await listAll((after) => stripe.refunds.list({ limit: 100, starting_after: after }));
  const disputes = await listAll((after) => stripe.disputes.list({ limit: 100, starting_after: after }));

  /** The rows of a table by Stripe id; an id with two rows is doubled. */
  const rowsById = (table: string) => {
    const byId = new Map<string, Record<string, unknown>[]>();
    for (const row of dataverse.store.rows(table)) {
      const id = String(row.stc_stripeid);
      byId.set(id, [...(byId.get(id) ?? []), row]);
    }
    for (const [id, rows] of byId)
      if (rows.length > 1) doubled.push(`${rows.length} ${table} rows for ${id}`);
    return byId;
  };
  const compare = (
    what: string,
    row: Record<string, unknown> | undefined,
    expected: Record<string, unknown>,
  ) => {
    rowsChecked += 1;
    if (!row) return lost.push(`no row for ${what}`);
    const wrong = Object.entries(expected).filter(([column, value]) => row[column] !== value);
    if (wrong.length)
      lost.push(
        `${what}: ${wrong.map(([c, v]) => `${c} ${String(row[c])} ≠ Stripe's ${String(v)}`).join(', ')}`,
      );
  };

  const payments = rowsById('stc_payments');
  const disputesByCharge = new Map<string, Stripe.Dispute[]>();
  for (const d of disputes) {
    const charge = typeof d.charge === 'string' ? d.charge : d.charge.id;
    disputesByCharge.set(charge, [...(disputesByCharge.get(charge) ?? []), d]);
  }
  for (const intent of intents) {
    const charge = intent.latest_charge as Stripe.Charge | null;
    const refunded = charge?.amount_refunded ?? 0;
    const captured = charge?.amount_captured ?? 0;
    const open = (disputesByCharge.get(charge?.id ?? '') ?? []).some(
      (d) => !['won', 'warning_closed'].includes(d.status),
    );
    const status =
      refunded > 0 && refunded >= captured
        ? 'refunded'
        : refunded > 0
          ? 'partially_refunded'
          : charge?.disputed && open
            ? 'disputed'
            : intent.status;
    compare(`payment ${intent.id}`, payments.get(intent.id)?.[0], {
      stc_amount: major(intent.amount),
      stc_amountcaptured: major(intent.amount_received),
      stc_amountrefunded: major(refunded),
      stc_status: findOptionValue('stc_paymentstatus', status),
    });
  }
  const refundRows = rowsById('stc_refunds');
  for (const refund of refunds) {
    compare(`refund ${refund.id}`, refundRows.get(refund.id)?.[0], {
      stc_amount: major(refund.amount),
      stc_status: findOptionValue('stc_refundstatus', refund.status ?? ''),
    });
  }
  const disputeRows = rowsById('stc_disputes');
  for (const dispute of disputes) {
    compare(`dispute ${dispute.id}`, disputeRows.get(dispute.id)?.[0], {
      stc_amount: major(dispute.amount),
      stc_status: findOptionValue('stc_disputestatus', dispute.status),
    });
  }
  const known = new Set([...intents, ...refunds, ...disputes].map((o) => o.id));
  for (const table of ['stc_payments', 'stc_refunds', 'stc_disputes'])
    for (const row of dataverse.store.rows(table))
      if (!known.has(String(row.stc_stripeid)))
        problems.push(`${table} row for ${String(row.stc_stripeid)}, not a test-mode object`);

  // Refund requests: one Stripe refund each, and the request says so.
  const ids = ledger.requests;
  let outboundRefunds = 0;
  for (const id of ids) {
    const made = refunds.filter((r) => r.metadata?.d365_refundrequestid === id);
    outboundRefunds += made.length;
    if (made.length > 1) doubled.push(`${made.length} Stripe refunds for refund request ${id}`);
    const row = dataverse.store.get('stc_refundrequests', id);
    compare(`refund request ${id}`, made.length ? row : undefined, {
      stc_status: StcRefundRequestStatus.Succeeded,
      stc_striperefundid: made[0]?.id,
    });
  }

  // Every test-mode event finished in the inbox; the dead letters are the live-mode events, no more.
  const testEvents = stripeEmulator.eventsFor();
  const liveEvents = stripeEmulator.eventsFor({ livemode: true });
  const finished = new Set(['applied', 'skipped', 'superseded', 'ignored']);
  for (const event of testEvents) {
    const inbox = await store.findEvent('stripe', '', event.id);
    if (!inbox) lost.push(`event ${event.id} (${event.type}) never reached the inbox`);
    else if (!finished.has(inbox.status)) lost.push(`event ${event.id} (${event.type}) is ${inbox.status}`);
  }
  // A live-mode payment's events all fail as permanent; the newest of its object is dead-lettered, older ones
  // of the same object may be superseded by it first, and types no handler takes are ignored. None applied.
  const letters = await store.listDeadLetters({ includeResolved: true, limit: 10_000 });
  const liveObjects = new Map<string, string>();
  const liveStatuses = new Map<string, number>();
  for (const event of liveEvents) {
    const object = event.data.object as { id: string; object: string; payment_intent?: string | null };
    liveObjects.set(
      event.id,
      object.object === 'payment_intent' ? object.id : (object.payment_intent ?? object.id),
    );
    const status = (await store.findEvent('stripe', '', event.id))?.status ?? 'missing';
    liveStatuses.set(status, (liveStatuses.get(status) ?? 0) + 1);
    if (!['dead', 'superseded', 'ignored'].includes(status))
      problems.push(`live-mode event ${event.id} (${event.type}) is ${status}`);
  }
  for (const letter of letters) {
    if (!liveObjects.has(letter.eventId))
      problems.push(
        `dead letter ${letter.eventId} (${letter.type}, ${letter.attempts} attempts): ${letter.errorCode} ${letter.error}`,
      );
    else if (letter.errorCode !== 'stripe_mode_mismatch')
      problems.push(`live event ${letter.eventId} dead-lettered with ${letter.errorCode}`);
  }
  const letteredPayments = new Set(letters.map((l) => liveObjects.get(l.eventId)));
  const livePayments = new Set(liveObjects.values());
  for (const id of livePayments)
    if (!letteredPayments.has(id)) problems.push(`live-mode payment ${id} has no dead letter`);
  const byEvent = new Map<string, number>();
  for (const l of letters) byEvent.set(l.eventId, (byEvent.get(l.eventId) ?? 0) + 1);
  for (const [id, n] of byEvent) if (n > 1) doubled.push(`${n} dead letters for ${id}`);

  // Delivery figures: duplicates Stripe sent, and events first delivered after a newer one.
  const deliveries = stripeEmulator.deliveries;
  const order = new Map(testEvents.map((e, i) => [e.id, i]));
  const objectOf = new Map(testEvents.map((e) => [e.id, (e.data.object as { id: string }).id]));
  let newest = -1;
  let reordered = 0;
  let reorderedOfObject = 0;
  const newestOfObject = new Map<string, number>();
  const seen = new Set<string>();
  for (const d of deliveries) {
    if (!d.ok || d.duplicate || seen.has(d.eventId) || !order.has(d.eventId)) continue;
    seen.add(d.eventId);
    const index = order.get(d.eventId)!;
    if (index < newest) reordered += 1;
    else newest = index;
    const object = objectOf.get(d.eventId)!;
    if (index < (newestOfObject.get(object) ?? -1)) reorderedOfObject += 1;
    else newestOfObject.set(object, index);
  }
  const statuses = (proxy: InterceptingProxy, test: (s: number) => boolean) =>
    [...proxy.statuses].filter(([s]) => test(s)).reduce((sum, [, n]) => sum + n, 0);

  return {
    events: testEvents.length,
    deliveries: deliveries.length,
    duplicatesDelivered: deliveries.filter((d) => d.duplicate && d.ok).length,
    reordered,
    reorderedOfObject,
    kills: run.kills,
    restarts: run.restarts,
    faults: {
      dataverseThrottled: statuses(world.dataverseProxy, (s) => s === 429),
      dataverse5xx: statuses(world.dataverseProxy, (s) => s >= 500),
      stripeFaulted: stripeEmulator.requests.filter((r) => r.fault).length,
      periods: run.periods,
      dataverseAnswers: Object.fromEntries(world.dataverseProxy.statuses),
    },
    rowsChecked,
    refundRequests: ids.length,
    outboundRefunds,
    lost,
    doubled,
    deadLetters: letters.length,
    deadLettersInjected: letters.filter((l) => liveObjects.has(l.eventId)).length,
    livePayments: livePayments.size,
    liveEvents: Object.fromEntries(liveStatuses),
    problems,
    serviceLog: world.service.logPath,
  };
}
