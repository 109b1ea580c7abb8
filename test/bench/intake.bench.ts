/**
 * Webhook intake: verify + durable insert + 2xx, over loopback, the load coming from a separate process.
 * Three servers in the same run: the ceiling (bare node:http that only verifies the signature and answers),
 * the service on SQLite, the service on PostgreSQL (needs STC_TEST_DATABASE_URL or BENCH_DATABASE_URL).
 * Workers are off: this measures intake alone. Each server gets: closed loop with 32 in flight (events/s),
 * then open loop at 500/s and 1,000/s (p50/p99 from each request's scheduled time). Reports medians over the
 * runs and each figure's ratio to the ceiling of the same run. Exits non-zero when an acknowledged event is
 * missing from the store or a request failed.
 *
 * Environment: BENCH_RUNS (3), BENCH_SECONDS (5, per phase), BENCH_WARMUP_SECONDS (1), BENCH_MODES (e.g.
 * `postgres`: the ceiling always runs).
 */
import { fork, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import type { LoadOptions, LoadPhase, PhaseResult } from './intake/load';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.STC_TEST_DATABASE_URL;
const SECRETS = ['whsec_bench_previous_secret_0123456789', 'whsec_bench_current_secret_0123456789'];
type Mode = 'ceiling' | 'sqlite' | 'postgres';
const MODES: Mode[] = (
  DATABASE_URL ? (['ceiling', 'sqlite', 'postgres'] as Mode[]) : (['ceiling', 'sqlite'] as Mode[])
).filter(
  (m) => m === 'ceiling' || !process.env.BENCH_MODES || process.env.BENCH_MODES.split(',').includes(m),
);
const PHASES: LoadPhase[] = [
  { name: 'closed32', kind: 'closed', concurrency: 32, seconds: SECONDS, warmupSeconds: WARMUP },
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
  /** Server process CPU time per request (user + system): robust to other load on the machine. */
  cpuUsPerRequest: number;
}

async function measure(mode: Mode, run: number): Promise<Measured> {
  const tag = `${mode}_${run}_${crypto.randomBytes(3).toString('hex')}`;
  const target = {
    sqlitePath: mode === 'sqlite' ? path.join(workDir, `${tag}.db`) : undefined,
    schema: mode === 'postgres' ? `stc_bench_${tag}` : undefined,
  };
  const server = child('server.ts', { mode, secrets: SECRETS, databaseUrl: DATABASE_URL, ...target });
  const { port } = await nextMessage<{ port: number }>(server);
  const ackFile = path.join(workDir, `${tag}.acks`);
  // Sign with the second of two configured secrets, as after a rotation.
  const loadOptions: LoadOptions = { port, secret: SECRETS[1], tag, ackFile, phases: PHASES };
  const load = child('load.ts', loadOptions);
  const { results } = await nextMessage<{ results: PhaseResult[] }>(load);
  server.send({ stop: true });
  const { requests, cpuUs } = await nextMessage<{ requests: number; cpuUs: number }>(server);
  const acked = fs.readFileSync(ackFile, 'utf8').split('\n').filter(Boolean);
  let missing = 0;
  if (mode !== 'ceiling') {
    const stored = await storedEventIds(mode, target);
    missing = acked.filter((id) => !stored.has(id)).length;
    if (target.schema) await dropSchema(target.schema);
    // Removed now, not at the end: the kernel would otherwise still be writing this run's pages back to
    // disk during the next server's measurement.
    if (target.sqlitePath) {
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(target.sqlitePath + suffix, { force: true });
    }
  }
  return { results, missing, acked: acked.length, cpuUsPerRequest: cpuUs / requests };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  console.log(
    `intake bench: ${RUNS} runs x ${MODES.join(', ')}; phases ${PHASES.map((p) => p.name).join(', ')} of ${SECONDS} s (+${WARMUP} s warm-up); workers off; ${os.cpus().length} cores`,
  );
  if (!DATABASE_URL) console.log('PostgreSQL skipped: set STC_TEST_DATABASE_URL or BENCH_DATABASE_URL');
  const byRun: Array<Record<Mode, PhaseResult[]>> = [];
  const cpuByRun: Array<Record<Mode, number>> = [];
  let failures = 0;
  for (let run = 1; run <= RUNS; run++) {
    const row = {} as Record<Mode, PhaseResult[]>;
    const cpuRow = {} as Record<Mode, number>;
    for (const mode of MODES) {
      const { results, missing, acked, cpuUsPerRequest } = await measure(mode, run);
      row[mode] = results;
      cpuRow[mode] = cpuUsPerRequest;
      const errors = results.reduce((n, r) => n + r.errors, 0);
      const line = results
        .map(
          (r) =>
            `${r.name} ${r.eventsPerSecond.toFixed(0)}/s p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} ms`,
        )
        .join(' | ');
      console.log(
        `run ${run} ${mode.padEnd(8)} ${line} | server CPU ${cpuUsPerRequest.toFixed(0)} us/event${mode === 'ceiling' ? '' : ` | ${acked} acked, ${missing} missing`}${errors ? ` | ${errors} ERRORS` : ''}`,
      );
      if (missing > 0 || errors > 0) failures++;
    }
    byRun.push(row);
    cpuByRun.push(cpuRow);
  }

  console.log(
    `\nmedians of ${RUNS} runs (ratios: per-run ratio to the ceiling of the same run, then the median)`,
  );
  console.log(
    'server    closed32 ev/s  ratio   open500 p50/p99 ms   open1000 p50/p99 ms  achieved@1000  CPU us/event (ceiling/this)',
  );
  const targets: string[] = [];
  for (const mode of MODES) {
    const get = (phase: number, pick: (r: PhaseResult) => number) =>
      median(byRun.map((r) => pick(r[mode][phase])));
    const eps = get(0, (r) => r.eventsPerSecond);
    const ratio = median(byRun.map((r) => r[mode][0].eventsPerSecond / r.ceiling[0].eventsPerSecond));
    const p99at500 = get(1, (r) => r.p99Ms);
    const achieved = get(2, (r) => r.achievedRatio ?? 0);
    console.log(
      `${mode.padEnd(9)} ${eps.toFixed(0).padStart(13)}  ${(ratio * 100).toFixed(1).padStart(5)}%  ${get(
        1,
        (r) => r.p50Ms,
      )
        .toFixed(2)
        .padStart(8)} / ${p99at500.toFixed(2).padEnd(8)}  ${get(2, (r) => r.p50Ms)
        .toFixed(2)
        .padStart(8)} / ${get(2, (r) => r.p99Ms)
        .toFixed(2)
        .padEnd(8)}  ${(achieved * 100).toFixed(1).padStart(12)}%  ${median(cpuByRun.map((r) => r[mode]))
        .toFixed(0)
        .padStart(5)} (${(median(cpuByRun.map((r) => r.ceiling / r[mode])) * 100).toFixed(1)}%)`,
    );
    if (mode !== 'ceiling') {
      const floor = mode === 'sqlite' ? 0.85 : 0.5;
      targets.push(
        `${mode}: ${(ratio * 100).toFixed(1)}% of ceiling (target >= ${floor * 100}%) ${ratio >= floor ? 'met' : 'MISSED'}`,
      );
      targets.push(
        `${mode}: p99 at 500/s ${p99at500.toFixed(2)} ms (target < 25 ms) ${p99at500 < 25 ? 'met' : 'MISSED'}`,
      );
      targets.push(
        `${mode}: at 1,000/s ${(achieved * 100).toFixed(1)}% of the rate delivered (not saturated: >= 98%) ${achieved >= 0.98 ? 'met' : 'MISSED'}`,
      );
    }
  }
  console.log(`\ntargets\n  ${targets.join('\n  ')}`);
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
