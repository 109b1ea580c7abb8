/**
 * Benchmark child: the load generator, in its own process. Sends signed, realistic Stripe events (a real
 * recorded `charge.succeeded` with a fresh id each) over keep-alive connections, closed loop (N in flight)
 * or open loop (a fixed rate, latency measured from each request's scheduled time, so a slow server cannot
 * hide its queueing). A closed loop over several servers takes turns: short slices, one server at a time, the
 * first server of each round rotating, so that a change in the machine's speed during the run (on a shared
 * virtual machine, the same code measured 8,000 and 17,000 events/s a minute apart) weighs on every server
 * alike. Writes every acknowledged event id to its server's `ackFile`; reports over IPC.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { commandCpuMs, cpuSince, machineCpuMs } from '../proc-cpu';

export interface LoadPhase {
  name: string;
  kind: 'closed' | 'open';
  /** closed: requests in flight. */
  concurrency?: number;
  /** open: requests per second. */
  rate?: number;
  /** Measured seconds per server (closed: the sum of its slices). */
  seconds: number;
  /** Per server, before its first measured second. */
  warmupSeconds: number;
  /** closed, over several servers: the length of one server's turn (default 1 s). */
  sliceSeconds?: number;
}

export interface LoadTarget {
  name: string;
  port: number;
  ackFile: string;
}

export interface LoadOptions {
  secret: string;
  tag: string;
  targets: LoadTarget[];
  /** Each phase runs against every target: a closed phase in turns, an open phase one target after another. */
  phases: LoadPhase[];
}

export interface PhaseResult {
  name: string;
  completed: number;
  errors: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** open loop: achieved rate / target. */
  achievedRatio?: number;
  /** closed loop: the share of the machine's CPU (all cores) busy during this server's measured turns. */
  machineBusy?: number;
  /** closed loop: CPU (ms) the machine's PostgreSQL processes used during this server's measured turns. */
  postgresMs?: number;
  /** closed loop: CPU (ms) this load generator used during this server's measured turns. */
  loadMs?: number;
}

const options: LoadOptions = JSON.parse(process.argv[2]);
const fixture = fs.readFileSync(require.resolve('@stc/testkit/src/fixtures/charge_succeeded.json'), 'utf8');
const ORIGINAL_ID = 'evt_3KtQThJDPojXS6LN0E06aNxq';
const at = fixture.indexOf(ORIGINAL_ID);
const prefix = fixture.slice(0, at);
const suffix = fixture.slice(at + ORIGINAL_ID.length);
const acked = new Map<string, string[]>(options.targets.map((t) => [t.name, []]));
let sequence = 0;

function sendOne(agent: http.Agent, target: LoadTarget): Promise<{ ok: boolean; id: string }> {
  const id = `evt_bench_${options.tag}_${++sequence}`;
  const body = prefix + id + suffix;
  const t = Math.floor(Date.now() / 1000);
  const signature = crypto.createHmac('sha256', options.secret).update(`${t}.${body}`).digest('hex');
  return new Promise((resolve) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port: target.port,
        method: 'POST',
        path: '/webhooks/stripe',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'stripe-signature': `t=${t},v1=${signature}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const ok = res.statusCode === 200;
          if (ok) acked.get(target.name)!.push(id);
          resolve({ ok, id });
        });
      },
    );
    req.on('error', () => resolve({ ok: false, id }));
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summarise(
  name: string,
  latencies: number[],
  errors: number,
  seconds: number,
  target?: number,
): PhaseResult {
  const sorted = latencies.sort((a, b) => a - b);
  const eventsPerSecond = latencies.length / seconds;
  return {
    name,
    completed: latencies.length,
    errors,
    eventsPerSecond,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? NaN,
    ...(target ? { achievedRatio: eventsPerSecond / target } : {}),
  };
}

/** Runs `concurrency` senders against one target from now until `end`; counts what completes after `from`. */
async function closedSlice(target: LoadTarget, concurrency: number, from: number, end: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const sent = performance.now();
      const { ok } = await sendOne(agent, target);
      const done = performance.now();
      if (sent >= from && done <= end) {
        if (ok) latencies.push(done - sent);
        else errors++;
      } else if (!ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return { latencies, errors };
}

async function closedLoop(phase: LoadPhase): Promise<Record<string, PhaseResult>> {
  const concurrency = phase.concurrency!;
  const targets = options.targets;
  for (const target of targets) {
    const start = performance.now();
    await closedSlice(target, concurrency, Infinity, start + phase.warmupSeconds * 1000);
  }
  const sliceMs = (targets.length > 1 ? (phase.sliceSeconds ?? 1) : phase.seconds) * 1000;
  const rounds = Math.max(1, Math.round((phase.seconds * 1000) / sliceMs));
  const measured = new Map(
    targets.map((t) => [
      t.name,
      { latencies: [] as number[], errors: 0, busyMs: 0, allMs: 0, postgresMs: 0, loadMs: 0 },
    ]),
  );
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < targets.length; k++) {
      const target = targets[(round + k) % targets.length];
      const loadBefore = process.cpuUsage();
      const machineBefore = machineCpuMs();
      const postgresBefore = commandCpuMs('postgres');
      const from = performance.now();
      const slice = await closedSlice(target, concurrency, from, from + sliceMs);
      const machineAfter = machineCpuMs();
      const load = process.cpuUsage(loadBefore);
      const sum = measured.get(target.name)!;
      sum.loadMs += (load.user + load.system) / 1000;
      for (const latency of slice.latencies) sum.latencies.push(latency);
      sum.errors += slice.errors;
      sum.postgresMs += cpuSince(postgresBefore, commandCpuMs('postgres'));
      if (machineBefore && machineAfter) {
        sum.busyMs += machineAfter.busy - machineBefore.busy;
        sum.allMs += machineAfter.all - machineBefore.all;
      }
    }
  }
  return Object.fromEntries(
    targets.map((t) => {
      const { latencies, errors, busyMs, allMs, postgresMs, loadMs } = measured.get(t.name)!;
      return [
        t.name,
        {
          ...summarise(phase.name, latencies, errors, (rounds * sliceMs) / 1000),
          machineBusy: allMs > 0 ? busyMs / allMs : undefined,
          postgresMs,
          loadMs,
        },
      ];
    }),
  );
}

async function openLoop(phase: LoadPhase, target: LoadTarget): Promise<PhaseResult> {
  const rate = phase.rate!;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const interval = 1000 / rate;
  const total = Math.round(rate * (phase.warmupSeconds + phase.seconds));
  const warmup = Math.round(rate * phase.warmupSeconds);
  const latencies: number[] = [];
  let errors = 0;
  const inFlight = new Set<Promise<void>>();
  const start = performance.now() + 5;
  let measuredEnd = 0;
  for (let i = 0; i < total; i++) {
    const scheduled = start + i * interval;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // Timers fire in whole milliseconds: a send up to 1 ms early is timed from when it really left.
    const from = Math.max(scheduled, performance.now());
    const p = sendOne(agent, target).then(({ ok }) => {
      const done = performance.now();
      if (i >= warmup) {
        measuredEnd = Math.max(measuredEnd, done);
        if (ok) latencies.push(done - from);
        else errors++;
      } else if (!ok) errors++;
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
  agent.destroy();
  // Rate achieved over the measured window, from the first measured send to the last answer.
  const windowSeconds = (measuredEnd - (start + warmup * interval)) / 1000;
  const result = summarise(phase.name, latencies, errors, Math.max(windowSeconds, phase.seconds));
  return { ...result, achievedRatio: latencies.length / windowSeconds / rate };
}

async function main(): Promise<void> {
  const results: Record<string, PhaseResult[]> = Object.fromEntries(options.targets.map((t) => [t.name, []]));
  for (const phase of options.phases) {
    if (phase.kind === 'closed') {
      const byTarget = await closedLoop(phase);
      for (const t of options.targets) results[t.name].push(byTarget[t.name]);
    } else {
      for (const t of options.targets) results[t.name].push(await openLoop(phase, t));
    }
  }
  for (const t of options.targets) fs.writeFileSync(t.ackFile, acked.get(t.name)!.join('\n'));
  process.send!({ results }, () => process.exit(0));
}

void main();
