/**
 * Scale-out: one, two and three service processes (the compiled service, each in a process of its own, as a
 * container runs it) on one PostgreSQL database, behind a round-robin load balancer that Stripe's
 * webhooks reach. A burst of BENCH_REPLICA_EVENTS (2,000) Stripe events (card payments: four events each)
 * goes through them into the Dataverse emulator. Reported per phase (median of BENCH_RUNS, 3): events applied
 * per second from the first delivery until the inbox is drained, and the ratio to one process (in each run,
 * then the median). A fourth phase
 * restarts the three processes one after the other (SIGTERM, start again) during the burst: a rolling
 * restart, its burst sent in slices so that webhooks flow through each restart. Every phase checks that
 * nothing is lost or applied twice: each payment's row is there once with Stripe's amount and status, no
 * event has two `applied` attempts, none is dead-lettered. The Stripe
 * emulator's limit is off and Dataverse's limits are off, so the figures are the pipeline's and this
 * machine's (2 cores shared by the processes, the emulators and PostgreSQL).
 *
 * Before its measured burst each phase sends every process BENCH_REPLICA_WARMUP (5000) events, not
 * measured and without the CPU limit: a process just started runs its first events in V8's unoptimised
 * tiers, a cost per start that a running deployment does not pay per event (the rolling restart's new
 * processes do pay it, within the measured burst). It takes thousands: one process without a limit spent
 * 1,380 µs of CPU an event after 600 warm-up events, 975 after 2,000, 725 after 5,000, 680 after 10,000 and
 * 705 after 20,000 (one run each). With too short a warm-up, more processes look costlier per event only
 * because each has run fewer events.
 *
 * The phases run in sets: each CPU limit per process of BENCH_REPLICA_CPU (`0,0.25`), with the Dataverse
 * emulator answering at once and with each Dataverse request taking BENCH_DATAVERSE_LATENCY_MS (60), as a
 * Dynamics 365 environment reached over the network does.
 * - No CPU limit: one process can use both cores, so on this machine more processes only share the same two
 *   cores (with the emulators and PostgreSQL): the figures show what they cost, not scaling.
 * - A limit per process, as a container's (main.bicep gives each replica 0.5 vCPU): one process is bound by
 *   its own CPU, as a replica in Azure is, and more processes add CPU until the machine's two cores are the
 *   limit. With the default, 0.25, three processes take the machine's two cores to 80-90 % busy with the
 *   emulators and PostgreSQL; 0.125 leaves them well inside it; at 0.5 three are machine-bound.
 *   The limit is a cgroup CPU quota per process (root and a cgroup `cpu` controller needed; the bench
 *   stops with the reason when there is none).
 *
 * Environment: BENCH_REPLICA_EVENTS (2000), BENCH_RUNS (3), STC_TEST_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test), BENCH_DELIVERY_CONCURRENCY (32), BENCH_DATAVERSE_LATENCY_MS (60;
 * 0 runs only the sets answering at once), BENCH_REPLICA_CPU (`0,0.25`: vCPU per process, 0 for none),
 * BENCH_REPLICA_WARMUP (5000), BENCH_REPLICA_PLAN (`1,2,3,3r`: process counts, `r` for a rolling restart;
 * ratios are to the first). For a look inside: BENCH_CPU_PROF (a V8 profile per process), BENCH_PERF_DIR
 * (Linux perf during each burst), BENCH_NODE_ARGS (more Node.js options per process), BENCH_KEEP (keep the
 * service logs; their folder is printed).
 *
 * Each phase also says what bounded it: the share of the burst the emulators' event loop was busy (at 100 %
 * the emulators are the limit, not the service), the balancer's and PostgreSQL's CPU, and the whole machine's;
 * when Stripe had the burst's last webhook acknowledged and how many events waited in the inbox on average
 * (the last delivery near the end and few waiting: the processes kept up with their own intake); and the
 * workers' claims (how many found nothing), what became of the events (applied, or superseded: coalesced
 * into a newer event of their payment) and the requests the processes sent to Stripe and to Dataverse.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { createPostgresStore } from '@stc/service';
import { model, StcPaymentStatus } from '@stc/solution';
import { startDataverseEmulator, startStripeEmulator } from '@stc/emulators';
import { commandCpuMs, cpuSince, machineCpuMs, procCpuMs } from './proc-cpu';
import { median, secs, serviceUser } from './support';

const EVENTS = Number(process.env.BENCH_REPLICA_EVENTS ?? 2000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DATABASE_URL = process.env.STC_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DELIVERY_CONCURRENCY = Number(process.env.BENCH_DELIVERY_CONCURRENCY ?? 32);
/** The phases: process counts, `r` for a rolling restart (BENCH_REPLICA_PLAN, default `1,2,3,3r`). */
const PLAN: Array<[number, boolean]> = (process.env.BENCH_REPLICA_PLAN ?? '1,2,3,3r')
  .split(',')
  .map((p) => [Number.parseInt(p, 10), p.trim().endsWith('r')]);
const LATENCY_MS = Number(process.env.BENCH_DATAVERSE_LATENCY_MS ?? 60);
/** Events each process applies before the measured burst (BENCH_REPLICA_WARMUP, 5000). */
const WARMUP_EVENTS = Number(process.env.BENCH_REPLICA_WARMUP ?? 5000);
/**
 * CPU limits per process, one set of phases each (BENCH_REPLICA_CPU, `0,0.25`): none, and a quarter of a core,
 * which leaves room on two cores for three processes beside the emulators and PostgreSQL (main.bicep's 0.5
 * does not: three processes at 0.5 are bound by this machine, not by their limits).
 */
const CPU_LIMITS = (process.env.BENCH_REPLICA_CPU ?? '0,0.25').split(',').map(Number);
const PAYMENTS = Math.ceil(EVENTS / 4);
const SECRET = 'whsec_replicas_bench';
const ADMIN_KEY = 'replicas-bench-admin-key-0123456789';
const SERVICE_USER = serviceUser('5a9d1f00-0000-4000-8000-0000000be0c3');
const REPO = path.join(__dirname, '..', '..');
/**
 * The service as the image runs it: compiled by its build (esbuild bundle) into a scratch folder under
 * service/dist (ignored by git; npm packages resolve from the repository's node_modules), started with
 * `node --enable-source-maps main.js`. A process then starts in about a second instead of compiling
 * TypeScript at start, which matters most to the rolling restart under a CPU limit.
 */
const BUILT = path.join(REPO, 'service', 'dist', `replicas-bench-${process.pid}`);
const MAIN = path.join(BUILT, 'main.js');
const MAPPINGS = path.join(REPO, 'service', 'mappings');

function buildService(): void {
  execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(REPO, 'service', 'scripts', 'build.ts'), '--outdir', BUILT],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

interface Replica {
  url: string;
  child: ChildProcess;
  limit: CpuLimit | null;
}

/**
 * A CPU limit for one service process, as a container has (main.bicep gives each replica 0.5 vCPU): a cgroup
 * of its own with a CFS quota of `cores` per period. Uses the cgroup v1 `cpu` controller or cgroup v2's
 * `cpu.max`, whichever this machine lets us write (root); null when neither (the limit is then not applied,
 * and the bench says so).
 */
interface CpuLimit {
  /** Moves the process (all its threads, and those it starts later) into the group. */
  add(pid: number): void;
  /** Lets the group use any CPU (`false`) or holds it to its quota again (`true`). */
  enforce(on: boolean): void;
  /** Removes the group once its processes have exited. */
  remove(): void;
}

function cpuLimit(cores: number): CpuLimit | null {
  const name = `stc-replicas-bench-${process.pid}-${randomBytes(3).toString('hex')}`;
  const period = 100_000;
  const quota = String(Math.round(cores * period));
  const tries: Array<{ dir: string; limit: (dir: string) => boolean; lift: (dir: string) => void }> = [
    {
      dir: path.join('/sys/fs/cgroup/cpu', name),
      limit(dir) {
        fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(period));
        fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), quota);
        return fs.readFileSync(path.join(dir, 'cpu.cfs_quota_us'), 'utf8').trim() === quota;
      },
      lift: (dir) => fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), '-1'),
    },
    {
      dir: path.join('/sys/fs/cgroup', name),
      limit(dir) {
        fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${period}`);
        return fs.readFileSync(path.join(dir, 'cpu.max'), 'utf8').startsWith(quota);
      },
      lift: (dir) => fs.writeFileSync(path.join(dir, 'cpu.max'), `max ${period}`),
    },
  ];
  for (const { dir, limit, lift } of tries) {
    try {
      fs.mkdirSync(dir);
    } catch {
      continue;
    }
    try {
      if (limit(dir))
        return {
          add: (pid) => fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid)),
          enforce(on) {
            if (!on) lift(dir);
            else if (!limit(dir)) throw new Error(`the CPU limit of ${dir} could not be set again`);
          },
          remove: () => {
            try {
              fs.rmdirSync(dir);
            } catch {
              // a process still exiting: the group is left behind, empty soon (the kernel needs no clean-up)
            }
          },
        };
    } catch {
      // not a controller we may use: try the next
    }
    fs.rmdirSync(dir);
  }
  return null;
}

/**
 * Starts one service process, limited to `cores` of CPU when given (in a group of its own, before it has
 * loaded anything), and waits for its "service listening" log line.
 */
async function startReplica(env: NodeJS.ProcessEnv, logPath: string, cores: number): Promise<Replica> {
  const log = fs.openSync(logPath, 'a');
  // BENCH_CPU_PROF=dir: each service process writes a V8 CPU profile there when it exits. BENCH_NODE_ARGS:
  // more Node.js options for each (space-separated, e.g. `--trace-deopt`).
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const extra = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [];
  const child = spawn(process.execPath, [...profile, ...extra, '--enable-source-maps', MAIN], {
    cwd: REPO,
    env,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const limit = cores > 0 ? cpuLimit(cores) : null;
  if (cores > 0 && !limit) throw new Error(`no cgroup CPU controller to limit a process to ${cores} cores`);
  if (limit && child.pid) limit.add(child.pid);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '';
    const line = text.split('\n').find((l) => l.includes('"service listening"'));
    if (line) return { url: (JSON.parse(line) as { url: string }).url, child, limit };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      limit?.remove();
      throw new Error(`a service process did not start; its log ${logPath} ends:\n${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * BENCH_PERF_DIR: Linux perf samples the service processes' CPU (cpu-clock, with call graphs) during the
 * measured burst into perf-<processes>.data there. Unlike a V8 profile it samples only while a process runs,
 * so a process held back by its CPU limit is not sampled; with BENCH_NODE_ARGS=--perf-basic-prof it names
 * JavaScript functions.
 */
function perfRecord(running: Replica[], replicas: number) {
  const output = path.join(process.env.BENCH_PERF_DIR!, `perf-${replicas}.data`);
  const pids = running.map((r) => r.child.pid).join(',');
  const perf = spawn(
    'perf',
    ['record', '-q', '-e', 'cpu-clock', '-F', '997', '-g', '-p', pids, '-o', output],
    {
      stdio: 'inherit',
    },
  );
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        perf.once('exit', () => resolve());
        perf.kill('SIGINT');
      }),
  };
}

/** CPU time (user + system, ms) a running process has used so far, from /proc (Linux); 0 elsewhere. */
function cpuMsOf(child: ChildProcess): number {
  return procCpuMs(`/proc/${child.pid}/stat`) ?? 0;
}

async function stopReplica({ child, limit }: Replica): Promise<void> {
  if (child.exitCode === null && child.signalCode === null)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  limit?.remove();
}

/**
 * The round-robin load balancer in front of the replicas (replicas/balancer.ts), in a child process of its
 * own: forwarding every webhook in this process would load the emulators' event loop with the platform's
 * ingress work. `setTargets` resolves once the balancer uses the new list (before a replica leaves it stops).
 */
async function loadBalancer() {
  const child = fork(path.join(__dirname, 'replicas', 'balancer.ts'), [], {
    execArgv: ['--require', require.resolve('tsx/cjs')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reply = <T>(key: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: Record<string, unknown>) => {
        if (!(key in m)) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m[key] as T);
      };
      const onExit = (code: number | null) => reject(new Error(`the balancer exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const port = await reply<number>('port');
  return {
    url: `http://127.0.0.1:${port}`,
    async setTargets(urls: string[]) {
      const set = reply<number>('targetsSet');
      child.send({ targets: urls });
      await set;
    },
    /** CPU (ms) the balancer's process has used so far. */
    cpuMs: () => cpuMsOf(child),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ stop: true });
      }),
  };
}

interface PhaseResult {
  replicas: number;
  rolling: boolean;
  events: number;
  wallMs: number;
  /** CPU the service processes used from the start of the burst until it drained (ms). */
  serviceCpuMs: number;
  /** CPU this process (the two emulators, one event loop) used meanwhile (ms). */
  emulatorCpuMs: number;
  /** CPU the balancer's process used meanwhile (ms). */
  balancerCpuMs: number;
  /** The share of the burst this process's event loop was busy (Node's event loop utilisation, 0 to 1). */
  emulatorLoop: number;
  /** CPU PostgreSQL's processes used meanwhile (ms). */
  postgresCpuMs: number;
  /** The share of the machine's CPU (all cores) busy meanwhile, 0 to 1; undefined without /proc/stat. */
  machineBusy?: number;
  /** Delivery attempts that failed and that Stripe retried. */
  retried: number;
  /** The workers' claims during the burst (stc_claims_total), by result; none with a rolling restart. */
  claims?: Record<string, number>;
  /**
   * What became of the burst's events (stc_events_processed_total, by outcome: applied, superseded: coalesced
   * into a newer event of their object, skipped); none with a rolling restart.
   */
  outcomes?: Record<string, number>;
  /** Requests the processes sent to Stripe and to Dataverse during the burst; none with a rolling restart. */
  requests?: Record<string, number>;
  /** When Stripe had the burst's last delivery acknowledged, ms after the burst began. */
  acknowledgedMs: number;
  /** Events waiting in the inbox (pending or processing) during the burst: mean of samples every 25 ms. */
  meanWaiting: number;
  failures: string[];
}

interface WorkerCounts {
  claims: Record<string, number>;
  outcomes: Record<string, number>;
  requests: Record<string, number>;
}

/**
 * The claims the running processes have made so far, by result (their `stc_claims_total` summed), and the
 * events they finished, by outcome (`stc_events_processed_total` summed over types), and the requests they
 * sent, by dependency (`stc_dependency_request_duration_seconds_count` summed over outcomes).
 */
async function workerCountsOf(running: Replica[]): Promise<WorkerCounts> {
  const counts: WorkerCounts = { claims: {}, outcomes: {}, requests: {} };
  const add = (into: Record<string, number>, key: string, n: string) =>
    (into[key] = (into[key] ?? 0) + Number(n));
  for (const r of running) {
    const response = await fetch(`${r.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const text = await response.text();
    for (const m of text.matchAll(/^stc_claims_total\{result="(\w+)"\} (\d+)$/gm))
      add(counts.claims, m[1], m[2]);
    for (const m of text.matchAll(/^stc_events_processed_total\{[^}]*outcome="(\w+)"[^}]*\} (\d+)$/gm))
      add(counts.outcomes, m[1], m[2]);
    const requests =
      /^stc_dependency_request_duration_seconds_count\{[^}]*dependency="(\w+)"[^}]*\} (\d+)$/gm;
    for (const m of text.matchAll(requests)) add(counts.requests, m[1], m[2]);
  }
  return counts;
}

/** `after` less `before`, key by key. */
function countsSince(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([key, n]) => [key, n - (before[key] ?? 0)]));
}

/**
 * The workers' part of a phase's line, as printed: claims per 100 events and the share that found nothing,
 * and the shares of the events applied and superseded.
 */
function workersLine(r: PhaseResult): string {
  if (!r.claims) return '';
  const total = Object.values(r.claims).reduce((a, b) => a + b, 0);
  const empty = r.claims.empty ?? 0;
  // Events a claim coalesced into a newer one of their object are not counted by the workers' metric.
  const outcomes = r.outcomes ?? {};
  const handled = Object.values(outcomes).reduce((a, b) => a + b, 0);
  const share = (n: number) => `${Math.round((n / r.events) * 100)}%`;
  const per100 = (n = 0) => ((n / r.events) * 100).toFixed(1);
  return (
    `, ${((total / r.events) * 100).toFixed(1)} claims per 100 events (${Math.round((empty / Math.max(total, 1)) * 100)}% empty)` +
    `, events ${share(outcomes.applied ?? 0)} applied, ${share((outcomes.superseded ?? 0) + r.events - handled)} superseded` +
    `, per 100 events ${per100(r.requests?.stripe)} Stripe and ${per100(r.requests?.dataverse)} Dataverse requests`
  );
}

const amountOf = (i: number) => 1000 + ((i * 53) % 9000);

async function phase(
  replicas: number,
  rolling: boolean,
  latencyMs: number,
  cores: number,
): Promise<PhaseResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-replicas-bench-'));
  const schema = `stc_bench_${randomBytes(4).toString('hex')}`;
  const dataverse = await startDataverseEmulator({
    model,
    systemUsers: [SERVICE_USER],
    limits: { enabled: false },
  });
  if (latencyMs > 0) dataverse.injectFault({ latencyMs });
  const stripe = await startStripeEmulator({ rateLimit: false });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    MAPPINGS_DIR: MAPPINGS,
    STRIPE_API_KEY: stripe.apiKey,
    STRIPE_MODE: 'test',
    STRIPE_API_BASE: stripe.url,
    STRIPE_WEBHOOK_SECRET: SECRET,
    STRIPE_RATE_LIMIT: '100000',
    STRIPE_ENDPOINT_RATE_LIMIT: '100000',
    DATAVERSE_URL: dataverse.url,
    DATAVERSE_AUTH: 'none',
    AZURE_CLIENT_ID: SERVICE_USER.systemuserid,
    DATAVERSE_WEBHOOK_KEY: 'replicas-bench-dataverse-key-0123456789',
    ADMIN_API_KEY: ADMIN_KEY,
    DATABASE_URL,
    DATABASE_SCHEMA: schema,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  };
  const running: Replica[] = [];
  let keep = Boolean(process.env.BENCH_KEEP);
  let sampler: NodeJS.Timeout | undefined;
  const logOf = (n: number | string) => path.join(dir, `service-${n}.log`);
  const db = new Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` });
  await db.connect();
  // Events still to be worked, asked as the service's metrics ask: the store's queue depth, which reads the
  // inbox's partial indexes (a count of `status IN (...)` reads every event kept: 40 a second during the burst
  // took a quarter of a core). Its pool lets the burst's sampler run beside the drain.
  const store = createPostgresStore({ connectionString: DATABASE_URL, schema });
  const balancer = await loadBalancer();
  const balance = () => balancer.setTargets(running.map((r) => r.url));
  try {
    // The first process makes the schema (migrations); the others then start beside it.
    running.push(await startReplica(env, logOf(0), cores));
    for (let n = 1; n < replicas; n++) running.push(await startReplica(env, logOf(n), cores));
    await balance();
    stripe.setWebhook({
      url: `${balancer.url}/webhooks/stripe`,
      secret: SECRET,
      concurrency: DELIVERY_CONCURRENCY,
    });
    const failures: string[] = [];
    /** Waits until Stripe has delivered every event and the inbox has none waiting; notes what went wrong. */
    const drain = async (into: string[], what: string) => {
      await stripe.waitForDeliveries(10 * 60_000);
      // Stripe retries a delivery that failed (a process stopping mid-request): an event is lost to the
      // service only when none of its attempts was acknowledged.
      const acknowledged = new Set(stripe.deliveries.filter((d) => d.ok).map((d) => d.eventId));
      const undelivered = new Set(
        stripe.deliveries.map((d) => d.eventId).filter((id) => !acknowledged.has(id)),
      );
      if (undelivered.size > 0) into.push(`${what}: ${undelivered.size} events never acknowledged`);
      const deadline = Date.now() + 10 * 60_000;
      for (;;) {
        const depth = await store.queueDepth();
        if (depth.pending + depth.processing === 0) {
          if (depth.dead > 0) into.push(`${what}: ${depth.dead} events dead-lettered`);
          return;
        }
        if (Date.now() > deadline) {
          into.push(`${what}: not drained in 10 minutes: ${depth.pending + depth.processing} waiting`);
          return;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    // Every payment seeded, with its amount: the warm-up's and the burst's rows are all checked.
    const seeded: Array<[string, number]> = [];
    const seed = (count: number) =>
      stripe.testHelpers
        .seedPayments({ count, events: true, amount: amountOf })
        .map((id, i) => seeded.push([id, amountOf(i)]));
    // Warm-up: each process applies thousands of events first, as a process that has been running has (a new
    // one runs them unoptimised at first: a cost per process start, not per event). Not measured, and without
    // the CPU limit, which would only make it last longer: the limit is back before the burst.
    if (WARMUP_EVENTS > 0) {
      for (const r of running) r.limit?.enforce(false);
      seed(Math.ceil((WARMUP_EVENTS * replicas) / 4));
      await drain(failures, 'warm-up');
      for (const r of running) r.limit?.enforce(true);
    }
    const countsBefore = rolling ? undefined : await workerCountsOf(running);
    const eventsBefore = stripe.events.length;
    // A rolling restart gets the burst in slices, one as each process restarts and the last after them, so that
    // every restart happens while webhooks flow (the whole burst at once was applied before the second restart).
    const slices = rolling ? running.length + 1 : 1;
    let seededPayments = 0;
    const seedSlice = (slice: number) => {
      const upTo = Math.round((PAYMENTS * slice) / slices);
      if (upTo > seededPayments) seed(upTo - seededPayments);
      seededPayments = upTo;
    };
    seedSlice(1);
    const started = performance.now();
    const startedAt = Date.now();
    // The inbox's waiting events, sampled through the whole burst (a rolling restart's included).
    const waiting: number[] = [];
    let sampling = false;
    sampler = setInterval(() => {
      if (sampling) return;
      sampling = true;
      store
        .queueDepth()
        .then((depth) => waiting.push(depth.pending + depth.processing))
        .catch(() => undefined)
        .finally(() => (sampling = false));
    }, 25);
    const emulatorCpuAtStart = process.cpuUsage();
    const balancerCpuAtStart = balancer.cpuMs();
    const loopAtStart = performance.eventLoopUtilization();
    const perf = process.env.BENCH_PERF_DIR ? perfRecord(running, replicas) : undefined;
    const machineAtStart = machineCpuMs();
    const postgresCpuAtStart = commandCpuMs('postgres');
    // CPU of processes stopped during the phase, plus each running one's use since the burst began.
    let cpuOfStopped = 0;
    const cpuAtStart = new Map(running.map((r) => [r, cpuMsOf(r.child)]));
    const cpuSinceStart = (r: Replica) => cpuMsOf(r.child) - (cpuAtStart.get(r) ?? 0);

    if (rolling) {
      // One after the other, once the burst is under way: out of the balancer, stopped gracefully, started again.
      for (let n = 0; n < running.length; n++) {
        if (n > 0) seedSlice(n + 1);
        await new Promise((r) => setTimeout(r, 1500));
        const [old] = running.splice(n, 1);
        await balance();
        cpuOfStopped += cpuSinceStart(old);
        await stopReplica(old);
        running.splice(n, 0, await startReplica(env, logOf(`${n}-restarted`), cores));
        await balance();
      }
    }
    seedSlice(slices);
    const events = stripe.events.length - eventsBefore;
    await drain(failures, 'burst');
    clearInterval(sampler);
    const wallMs = performance.now() - started;
    const burstIds = new Set(stripe.events.slice(eventsBefore).map((e) => e.id));
    const acknowledgedMs =
      Math.max(...stripe.deliveries.filter((d) => d.ok && burstIds.has(d.eventId)).map((d) => d.at)) -
      startedAt;
    const emulatorCpu = process.cpuUsage(emulatorCpuAtStart);
    const balancerCpuMs = balancer.cpuMs() - balancerCpuAtStart;
    const emulatorLoop = performance.eventLoopUtilization(loopAtStart).utilization;
    if (perf) await perf.stop();
    const machineAtEnd = machineCpuMs();
    const postgresCpuMs = cpuSince(postgresCpuAtStart, commandCpuMs('postgres'));
    const countsAfter = countsBefore ? await workerCountsOf(running) : undefined;
    const emulatorCpuMs = (emulatorCpu.user + emulatorCpu.system) / 1000;
    const serviceCpuMs = cpuOfStopped + running.reduce((sum, r) => sum + cpuSinceStart(r), 0);

    // Nothing applied twice: no event has two applied attempts.
    const twice = await db.query(
      `SELECT inbox_id FROM attempts WHERE outcome = 'applied' GROUP BY inbox_id HAVING count(*) > 1`,
    );
    if (twice.rows.length > 0) failures.push(`${twice.rows.length} events applied twice`);
    // Nothing lost: every payment once, with Stripe's values.
    const byId = new Map<string, Record<string, unknown>>();
    for (const row of dataverse.store.rows('stc_payment')) {
      const id = String(row.stc_stripeid);
      if (byId.has(id)) failures.push(`${id} is there twice`);
      byId.set(id, row);
    }
    for (const [id, amount] of seeded) {
      const row = byId.get(id);
      if (!row) failures.push(`${id}: no row`);
      else if (row.stc_amount !== amount / 100 || row.stc_status !== StcPaymentStatus.Succeeded)
        failures.push(`${id}: ${JSON.stringify({ amount: row.stc_amount, status: row.stc_status })}`);
    }
    if (failures.length > 0) {
      // Kept for a look: the service logs, and the inbox and attempts of the objects found wrong.
      keep = true;
      const wrong = seeded.map(([id]) => id).filter((id) => failures.some((f) => f.startsWith(id)));
      const inbox = await db.query(
        `SELECT i.*, (SELECT json_agg(a ORDER BY a.id) FROM attempts a WHERE a.inbox_id = i.id) AS attempts
         FROM inbox i WHERE i.object_id = ANY($1) ORDER BY i.id`,
        [wrong],
      );
      fs.writeFileSync(path.join(dir, 'wrong-objects.json'), JSON.stringify(inbox.rows, null, 2));
      console.log(`  kept for a look: ${dir}`);
    }
    return {
      replicas,
      rolling,
      events,
      wallMs,
      serviceCpuMs,
      emulatorCpuMs,
      balancerCpuMs,
      emulatorLoop,
      postgresCpuMs,
      machineBusy:
        machineAtStart && machineAtEnd
          ? (machineAtEnd.busy - machineAtStart.busy) / (machineAtEnd.all - machineAtStart.all)
          : undefined,
      retried: stripe.deliveries.filter((d) => !d.ok).length,
      acknowledgedMs,
      meanWaiting: waiting.reduce((a, b) => a + b, 0) / Math.max(waiting.length, 1),
      claims: countsBefore && countsAfter ? countsSince(countsBefore.claims, countsAfter.claims) : undefined,
      outcomes:
        countsBefore && countsAfter ? countsSince(countsBefore.outcomes, countsAfter.outcomes) : undefined,
      requests:
        countsBefore && countsAfter ? countsSince(countsBefore.requests, countsAfter.requests) : undefined,
      failures,
    };
  } finally {
    clearInterval(sampler);
    stripe.setWebhook(null);
    await Promise.all(running.map(stopReplica));
    await balancer.close();
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db.end();
    await store.close();
    await stripe.close();
    await dataverse.close();
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    else if (process.env.BENCH_KEEP) console.log(`  service logs kept: ${dir}`);
  }
}

async function main(): Promise<void> {
  console.log(
    `replicas: ${EVENTS} Stripe events (${PAYMENTS} payments × 4) → 1, 2, 3 service processes on one PostgreSQL ` +
      `(${DATABASE_URL.replace(/\/\/[^@]*@/, '//')}) behind a round-robin balancer → stc_payment rows; ${RUNS} runs; ` +
      `Stripe and Dataverse limits off; Dataverse answering at once` +
      (LATENCY_MS > 0 ? ` and after ${LATENCY_MS} ms` : '') +
      `; CPU per process: ${CPU_LIMITS.map((c) => (c > 0 ? `${c} vCPU` : 'no limit')).join(', ')}` +
      `; ${WARMUP_EVENTS} warm-up events per process; ${os.cpus().length} cores`,
  );
  buildService();
  process.on('exit', () => fs.rmSync(BUILT, { recursive: true, force: true }));
  await phase(1, false, 0, 0); // warm-up: PostgreSQL's caches, the page cache
  const plan = PLAN;
  let broken = false;
  let lostOrDoubled = 0;
  const summaries: string[] = [];
  const sets = CPU_LIMITS.flatMap((cores) =>
    (LATENCY_MS > 0 ? [0, LATENCY_MS] : [0]).map((latencyMs) => ({ cores, latencyMs })),
  );
  for (const { cores, latencyMs } of sets) {
    const figures: PhaseResult[][] = [];
    const setName =
      (cores > 0 ? `${cores} vCPU per process, ` : 'no CPU limit, ') +
      (latencyMs > 0 ? `Dataverse answering after ${latencyMs} ms` : 'Dataverse answering at once');
    for (let run = 1; run <= RUNS; run++) {
      const results: PhaseResult[] = [];
      const order = plan.map((_, i) => plan[(i + run - 1) % plan.length]);
      for (const [replicas, rolling] of order) results.push(await phase(replicas, rolling, latencyMs, cores));
      results.sort((a, b) => a.replicas - b.replicas || Number(a.rolling) - Number(b.rolling));
      figures.push(results);
      for (const r of results) {
        console.log(
          `${setName}, run ${run}, ${r.replicas} process${r.replicas > 1 ? 'es' : ''}` +
            `${r.rolling ? ', rolling restart' : ''}: ` +
            `${r.events} events in ${secs(r.wallMs)} (${Math.round(r.events / (r.wallMs / 1000))} events/s, ` +
            `service CPU ${Math.round((r.serviceCpuMs * 1000) / r.events)} µs/event, ` +
            `emulators busy ${Math.round((r.emulatorCpuMs / r.wallMs) * 100)}% of a core ` +
            `(their event loop ${Math.round(r.emulatorLoop * 100)}% of the time), ` +
            `balancer ${Math.round((r.balancerCpuMs / r.wallMs) * 100)}%, ` +
            `PostgreSQL ${Math.round((r.postgresCpuMs / r.wallMs) * 100)}% of a core` +
            (r.machineBusy === undefined ? '' : `, machine ${Math.round(r.machineBusy * 100)}% busy`) +
            workersLine(r) +
            `, all delivered by ${secs(r.acknowledgedMs)}, ${Math.round(r.meanWaiting)} events waiting on average` +
            `${r.retried ? `, ${r.retried} deliveries retried by Stripe` : ''})` +
            (r.failures.length
              ? `; LOST/WRONG: ${r.failures.slice(0, 5).join('; ')}`
              : '; nothing lost or doubled'),
        );
        if (r.failures.length) broken = true;
        lostOrDoubled += r.failures.length;
      }
    }
    const rateOf = (f: PhaseResult) => f.events / (f.wallMs / 1000);
    const cpuOf = (f: PhaseResult) => (f.serviceCpuMs * 1000) / f.events;
    // Ratios within each run, then their median: the first phase of a run was measured minutes, not an hour,
    // from the others, and the machine's speed changes between runs.
    const ratios = (i: number, of: (f: PhaseResult) => number) => figures.map((f) => of(f[i]) / of(f[0]));
    const ratioText = (values: number[]) =>
      `${median(values).toFixed(2)}× one process` +
      (values.length > 1 && values.some((v) => v !== 1)
        ? ` (runs ${values.map((v) => v.toFixed(2)).join(', ')})`
        : '');
    summaries.push(
      `${setName}, median of ${RUNS} runs (ratios: to one process in the same run, then the median):`,
    );
    plan.forEach(([replicas, rolling], i) =>
      summaries.push(
        `  ${replicas} process${replicas > 1 ? 'es' : ''}${rolling ? ', rolling restart' : ''}: ` +
          `${Math.round(median(figures.map((f) => rateOf(f[i]))))} events/s, ${ratioText(ratios(i, rateOf))}; ` +
          `service CPU ${Math.round(median(figures.map((f) => cpuOf(f[i]))))} µs/event, ${ratioText(ratios(i, cpuOf))}`,
      ),
    );
  }
  console.log(`\n${summaries.join('\n')}\n  lost or doubled, all phases: ${lostOrDoubled}`);
  process.exit(broken ? 1 : 0);
}

void main();
