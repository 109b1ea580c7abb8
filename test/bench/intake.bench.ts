/**
 * Webhook intake: verify + durable insert + 2xx, over loopback, the load coming from a separate process.
 * Four servers in the same run: the ceiling (bare node:http that only verifies the signature and answers),
 * `web` (the service's app on a store that acknowledges without writing: the web layer alone), the service on
 * SQLite, the service on PostgreSQL (needs STC_TEST_DATABASE_URL or BENCH_DATABASE_URL).
 * Workers are off: this measures intake alone. Each store is measured with the ceiling up beside it: closed
 * loop with 32 in flight (events/s), the two in turns of BENCH_SLICE_SECONDS, so that a change in the
 * machine's speed during the run (on a shared virtual machine the same server measured 8,000 and 17,000
 * events/s a minute apart) weighs on both alike; then open loop at 500/s and 1,000/s (p50/p99 from each
 * request's scheduled time). Reports medians over the runs, each store's closed-loop ratio to the ceiling it
 * took turns with, and the CPU each server spent per event in the closed loop: the process, its main thread
 * alone (the one serving requests, which bounds its throughput) and, for the PostgreSQL store, the PostgreSQL
 * server's processes; the load generator's own CPU per request (it shares the machine with the servers); and
 * how busy the whole machine was during each server's turns. A server whose main thread is near a full core is
 * bound by it; a machine near 100 % bounds every process on it; below both, requests wait on the store. Then
 * the machine's CPU per event of each server (its process, PostgreSQL's and the load generator's) and the
 * share of the ceiling the machine's CPU alone would let it reach, with what a target allows: how far a
 * target is from what two cores can give, and how much of a server's cost is the web layer and how much the
 * durable write. Exits non-zero when an acknowledged event is missing from the store or a request failed.
 *
 * Environment: BENCH_RUNS (3), BENCH_SECONDS (5, per phase and server), BENCH_WARMUP_SECONDS (1),
 * BENCH_SLICE_SECONDS (1), BENCH_MODES (e.g. `web,postgres`: the ceiling always runs).
 */
import { fork, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import type { LoadOptions, LoadPhase, LoadTarget, PhaseResult } from './intake/load';
import { median } from './support';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const SLICE = Number(process.env.BENCH_SLICE_SECONDS ?? 1);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.STC_TEST_DATABASE_URL;
const SECRETS = ['whsec_bench_previous_secret_0123456789', 'whsec_bench_current_secret_0123456789'];
type Mode = 'ceiling' | 'web' | 'sqlite' | 'postgres';
type StoreMode = 'sqlite' | 'postgres';
/** Share of the ceiling each store must reach. */
const TARGETS: Record<StoreMode, number> = { sqlite: 0.85, postgres: 0.5 };
const MODES: Mode[] = (
  DATABASE_URL
    ? (['ceiling', 'web', 'sqlite', 'postgres'] as Mode[])
    : (['ceiling', 'web', 'sqlite'] as Mode[])
).filter(
  (m) => m === 'ceiling' || !process.env.BENCH_MODES || process.env.BENCH_MODES.split(',').includes(m),
);
const PHASES: LoadPhase[] = [
  {
    name: 'closed32',
    kind: 'closed',
    concurrency: 32,
    seconds: SECONDS,
    warmupSeconds: WARMUP,
    sliceSeconds: SLICE,
  },
  { name: 'open500', kind: 'open', rate: 500, seconds: SECONDS, warmupSeconds: WARMUP },
  { name: 'open1000', kind: 'open', rate: 1000, seconds: SECONDS, warmupSeconds: WARMUP },
];
const tsx = ['--require', require.resolve('tsx/cjs')];
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-intake-bench-'));

function child(file: string, arg: unknown): ChildProcess {
  return fork(path.join(__dirname, 'intake', file), [JSON.stringify(arg)], {
    // BENCH_CPU_PROF=dir writes a V8 CPU profile of each child (server and load) into dir.
    execArgv: process.env.BENCH_CPU_PROF
      ? [...tsx, '--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
      : tsx,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function nextMessage<T>(proc: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`child exited (${code}) before answering`));
    proc.once('exit', onExit);
    proc.once('message', (m) => {
      proc.off('exit', onExit);
      resolve(m as T);
    });
  });
}

async function storedEventIds(
  mode: Mode,
  target: { sqlitePath?: string; schema?: string },
): Promise<Set<string>> {
  if (mode === 'sqlite') {
    const db = new Database(target.sqlitePath!, { readonly: true });
    const ids = new Set(
      (db.prepare('SELECT event_id FROM inbox').all() as Array<{ event_id: string }>).map((r) => r.event_id),
    );
    db.close();
    return ids;
  }
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT event_id FROM ${target.schema}.inbox`);
    return new Set(rows.map((r) => r.event_id as string));
  } finally {
    await client.end();
  }
}

async function dropSchema(schema: string): Promise<void> {
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}

interface Measured {
  results: PhaseResult[];
  missing: number;
  acked: number;
  /** CPU per event in the closed loop (user + system): the whole process, and its main thread. */
  cpu: CpuReading;
  /** The ceiling's closed loop and CPU, measured in turns with this server. */
  pairedCeiling: { closed: PhaseResult; cpu: CpuReading };
}

interface CpuReading {
  processUs: number;
  mainThreadUs?: number;
}

interface Started {
  mode: Mode;
  proc: ChildProcess;
  port: number;
  sqlitePath?: string;
  schema?: string;
}

async function startServer(mode: Mode, tag: string): Promise<Started> {
  const target = {
    sqlitePath: mode === 'sqlite' ? path.join(workDir, `${tag}.db`) : undefined,
    schema: mode === 'postgres' ? `stc_bench_${tag}` : undefined,
  };
  const proc = child('server.ts', { mode, secrets: SECRETS, databaseUrl: DATABASE_URL, ...target });
  const { port } = await nextMessage<{ port: number }>(proc);
  return { mode, proc, port, ...target };
}

function askCpu(server: Started): Promise<CpuReading> {
  server.proc.send({ cpu: true });
  return nextMessage<CpuReading>(server.proc);
}

/** One load child over `servers` with `phases`; results and acknowledged ids per server. */
async function runLoad(servers: Started[], phases: LoadPhase[], tag: string) {
  const targets: LoadTarget[] = servers.map((s) => ({
    name: s.mode,
    port: s.port,
    ackFile: path.join(workDir, `${tag}_${phases[0].name}_${s.mode}.acks`),
  }));
  // Sign with the second of two configured secrets, as after a rotation.
  const loadOptions: LoadOptions = { secret: SECRETS[1], tag: `${tag}_${phases[0].name}`, targets, phases };
  const { results } = await nextMessage<{ results: Record<Mode, PhaseResult[]> }>(
    child('load.ts', loadOptions),
  );
  const acked = Object.fromEntries(
    targets.map((t) => [t.name, fs.readFileSync(t.ackFile, 'utf8').split('\n').filter(Boolean)]),
  ) as Record<Mode, string[]>;
  return { results, acked };
}

/** CPU per closed-loop event of each server, from readings before and after. */
function cpuPerEvent(before: CpuReading, after: CpuReading, events: number): CpuReading {
  const per = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : (b - a) / events);
  return {
    processUs: per(before.processUs, after.processUs)!,
    mainThreadUs: per(before.mainThreadUs, after.mainThreadUs),
  };
}

/** The closed loop over `servers` in turns; each one's result and CPU per event (warm-up events included). */
async function closedInTurns(servers: Started[], tag: string) {
  const before = await Promise.all(servers.map(askCpu));
  const { results, acked } = await runLoad(servers, PHASES.slice(0, 1), tag);
  const after = await Promise.all(servers.map(askCpu));
  return servers.map((server, i) => ({
    result: results[server.mode][0],
    acked: acked[server.mode],
    cpu: cpuPerEvent(before[i], after[i], acked[server.mode].length),
  }));
}

async function stopServer(server: Started): Promise<void> {
  server.proc.send({ stop: true });
  await nextMessage(server.proc);
}

/**
 * One run: the ceiling's open-loop phases, then each store in turn with the ceiling: the closed loop of the
 * two in turns, the store's open-loop phases, the store stopped, checked and its data removed before the
 * next store starts (so one store's pages written back to disk do not slow the other's commits).
 */
async function measureRun(run: number): Promise<Record<Mode, Measured>> {
  const tag = `${run}_${crypto.randomBytes(3).toString('hex')}`;
  const ceiling = await startServer('ceiling', `ceiling_${tag}`);
  const ceilingOpen = await runLoad([ceiling], PHASES.slice(1), `${tag}_ceiling`);
  const measured = {} as Record<Mode, Measured>;
  const stores = MODES.filter((m) => m !== 'ceiling');
  for (const mode of stores.length > 0 ? stores : (['ceiling'] as Mode[])) {
    const store = mode === 'ceiling' ? undefined : await startServer(mode, `${mode}_${tag}`);
    const [inTurns, storeInTurns] = await closedInTurns(
      store ? [ceiling, store] : [ceiling],
      `${tag}_${mode}`,
    );
    const pairedCeiling = { closed: inTurns.result, cpu: inTurns.cpu };
    measured.ceiling ??= {
      results: [inTurns.result, ...ceilingOpen.results.ceiling],
      missing: 0,
      acked: inTurns.acked.length + ceilingOpen.acked.ceiling.length,
      cpu: inTurns.cpu,
      pairedCeiling,
    };
    if (!store) break;
    const open = await runLoad([store], PHASES.slice(1), `${tag}_${mode}`);
    await stopServer(store);
    const acked = [...storeInTurns.acked, ...open.acked[mode]];
    measured[mode] = {
      results: [storeInTurns.result, ...open.results[mode]],
      // The web layer's store writes nothing: there is nothing to find.
      missing: mode === 'web' ? 0 : await countMissing(store, acked),
      acked: acked.length,
      cpu: storeInTurns.cpu,
      pairedCeiling,
    };
  }
  await stopServer(ceiling);
  return measured;
}

async function countMissing(server: Started, acked: string[]): Promise<number> {
  const stored = await storedEventIds(server.mode, server);
  if (server.schema) await dropSchema(server.schema);
  // Removed now, not at the end: the kernel would otherwise still be writing this run's pages back to
  // disk during the next run's measurement.
  if (server.sqlitePath) {
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(server.sqlitePath + suffix, { force: true });
  }
  return acked.filter((id) => !stored.has(id)).length;
}

const us = (v?: number) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(0));

function runLine(run: number, mode: Mode, m: Measured): string {
  const phases = m.results
    .map(
      (r) =>
        `${r.name} ${r.eventsPerSecond.toFixed(0)}/s p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} ms`,
    )
    .join(' | ');
  const errors = m.results.reduce((n, r) => n + r.errors, 0);
  const stored =
    mode === 'ceiling'
      ? ''
      : mode === 'web'
        ? ` | ${m.acked} acked, none written`
        : ` | ${m.acked} acked, ${m.missing} missing`;
  const database = mode === 'postgres' ? `, PostgreSQL ${us(postgresUsPerEvent(m.results[0]))} us` : '';
  return `run ${run} ${mode.padEnd(8)} ${phases} | CPU/event ${us(m.cpu.processUs)} us (main thread ${us(m.cpu.mainThreadUs)}${database}) | load generator ${us(loadUsPerEvent(m.results[0]))} us/request | machine ${percent(m.results[0].machineBusy)} busy in its closed-loop turns${stored}${errors ? ` | ${errors} ERRORS` : ''}`;
}

/** The PostgreSQL server's CPU per closed-loop event (its processes, during this server's turns). */
const postgresUsPerEvent = (r: PhaseResult) => ((r.postgresMs ?? NaN) * 1000) / r.completed;
/** The load generator's own CPU per closed-loop request: on the same machine, it takes from every server. */
const loadUsPerEvent = (r: PhaseResult) => ((r.loadMs ?? NaN) * 1000) / r.completed;
const percent = (share?: number) =>
  share === undefined || Number.isNaN(share) ? '-' : `${(share * 100).toFixed(0)}%`;

function summary(byRun: Array<Record<Mode, Measured>>): string[] {
  console.log(
    `\nmedians of ${RUNS} runs (ratios: per-run ratio to the ceiling of the same run, then the median)`,
  );
  console.log(
    'server    closed32 ev/s  ratio   open500 p50/p99 ms   open1000 p50/p99 ms  achieved@1000  CPU us/event: process (ceiling/this), main thread, PostgreSQL  machine busy',
  );
  const targets: string[] = [];
  for (const mode of MODES) {
    const get = (phase: number, pick: (r: PhaseResult) => number) =>
      median(byRun.map((r) => pick(r[mode].results[phase])));
    const eps = get(0, (r) => r.eventsPerSecond);
    const closedRatio = (r: Record<Mode, Measured>) =>
      r[mode].results[0].eventsPerSecond / r[mode].pairedCeiling.closed.eventsPerSecond;
    const ratio = median(byRun.map(closedRatio));
    const p99at500 = get(1, (r) => r.p99Ms);
    const achieved = get(2, (r) => r.achievedRatio ?? 0);
    const cpu = median(byRun.map((r) => r[mode].cpu.processUs));
    const cpuRatio = median(byRun.map((r) => r[mode].pairedCeiling.cpu.processUs / r[mode].cpu.processUs));
    const mainThread = median(byRun.map((r) => r[mode].cpu.mainThreadUs ?? NaN));
    const busy = median(byRun.map((r) => r[mode].results[0].machineBusy ?? NaN));
    const database =
      mode === 'postgres' ? median(byRun.map((r) => postgresUsPerEvent(r[mode].results[0]))) : NaN;
    console.log(
      [
        mode.padEnd(9),
        eps.toFixed(0).padStart(13),
        ` ${(ratio * 100).toFixed(1).padStart(5)}% `,
        `${get(1, (r) => r.p50Ms)
          .toFixed(2)
          .padStart(8)} / ${p99at500.toFixed(2).padEnd(8)}`,
        `${get(2, (r) => r.p50Ms)
          .toFixed(2)
          .padStart(8)} / ${get(2, (r) => r.p99Ms)
          .toFixed(2)
          .padEnd(8)}`,
        `${(achieved * 100).toFixed(1).padStart(12)}% `,
        `${us(cpu).padStart(5)} (${(cpuRatio * 100).toFixed(1)}%), ${us(mainThread).padStart(11)}`,
        `${us(database).padStart(10)}`,
        `${percent(busy).padStart(13)}`,
      ].join(' '),
    );
    if (mode === 'ceiling' || mode === 'web') continue;
    const floor = TARGETS[mode];
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    targets.push(
      `${mode}: ${(ratio * 100).toFixed(1)}% of ceiling (target >= ${floor * 100}%) ${verdict(ratio >= floor)}`,
      `${mode}: p99 at 500/s ${p99at500.toFixed(2)} ms (target < 25 ms) ${verdict(p99at500 < 25)}`,
      `${mode}: at 1,000/s ${(achieved * 100).toFixed(1)}% of the rate delivered (not saturated: >= 98%) ${verdict(achieved >= 0.98)}`,
    );
  }
  return targets;
}

/** The machine's CPU per closed-loop event of a server: its process, PostgreSQL's and the load generator's. */
function machineUs(mode: Mode, m: Measured): number {
  const r = m.results[0];
  return m.cpu.processUs + (mode === 'postgres' ? postgresUsPerEvent(r) : 0) + loadUsPerEvent(r);
}

/** The same for the ceiling, in its turns with this server. */
const pairedCeilingUs = (m: Measured) =>
  m.pairedCeiling.cpu.processUs + loadUsPerEvent(m.pairedCeiling.closed);

/**
 * Were the machine's CPU the only bound, a server would reach the ceiling's rate times the ceiling's CPU per
 * event over its own; a target of share t allows it the ceiling's CPU per event over t. Medians of the runs.
 */
function cpuBudget(byRun: Array<Record<Mode, Measured>>): string[] {
  const lines = [
    'machine CPU per closed-loop event (the server, PostgreSQL and the load generator; medians, us), and the share',
    'of the ceiling the machine CPU alone would let each server reach',
  ];
  const web = MODES.includes('web') ? median(byRun.map((r) => machineUs('web', r.web))) : undefined;
  for (const mode of MODES) {
    if (mode === 'ceiling') continue;
    const total = median(byRun.map((r) => machineUs(mode, r[mode])));
    const ceiling = median(byRun.map((r) => pairedCeilingUs(r[mode])));
    const bound = median(byRun.map((r) => pairedCeilingUs(r[mode]) / machineUs(mode, r[mode])));
    let line = `  ${mode.padEnd(9)} ${us(total).padStart(5)} against the ceiling's ${us(ceiling)}: at most ${(bound * 100).toFixed(1)}%`;
    if (mode !== 'web') {
      const floor = TARGETS[mode];
      const allowed = median(byRun.map((r) => pairedCeilingUs(r[mode]) / floor));
      line += `; ${floor * 100}% allows ${us(allowed)}`;
      if (web !== undefined) line += `; the web layer ${us(web)}, the store's work ${us(total - web)}`;
    }
    lines.push(line);
  }
  return lines;
}

async function main(): Promise<void> {
  console.log(
    `intake bench: ${RUNS} runs x ${MODES.join(', ')}; phases ${PHASES.map((p) => p.name).join(', ')} of ${SECONDS} s per server (+${WARMUP} s warm-up; closed loop in turns of ${SLICE} s); workers off; ${os.cpus().length} cores`,
  );
  if (!DATABASE_URL) console.log('PostgreSQL skipped: set STC_TEST_DATABASE_URL or BENCH_DATABASE_URL');
  const byRun: Array<Record<Mode, Measured>> = [];
  let failures = 0;
  for (let run = 1; run <= RUNS; run++) {
    const measured = await measureRun(run);
    for (const mode of MODES) {
      const m = measured[mode];
      console.log(runLine(run, mode, m));
      if (m.missing > 0 || m.results.some((r) => r.errors > 0)) failures++;
    }
    byRun.push(measured);
  }
  const targets = summary(byRun);
  console.log(`\n${cpuBudget(byRun).join('\n')}`);
  if (targets.length > 0) console.log(`\ntargets\n  ${targets.join('\n  ')}`);
  fs.rmSync(workDir, { recursive: true, force: true });
  if (failures > 0) {
    console.error(`\nFAILED: ${failures} server runs lost acknowledged events or had failed requests`);
    process.exit(1);
  }
  console.log('\nevery acknowledged event was in the store');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
