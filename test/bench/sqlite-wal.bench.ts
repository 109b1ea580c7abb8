/**
 * The SQLite store's WAL under a steady stream of webhooks: how large the WAL file gets and how long an insert
 * waits, with the checkpoint worker making the WAL start over past its limit (as shipped), against PASSIVE
 * checkpoints only (the baseline, run in the same process). Each phase inserts one real recorded
 * `charge.succeeded` at a time, at a fixed rate, into a fresh database file.
 *
 * Environment: BENCH_RUNS (3), BENCH_SECONDS (20, per phase), BENCH_WAL_RATES (events/s, `200,1000`).
 * Exits non-zero when an event is missing from the store afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore, type NewInboxEvent } from '@stc/service';
import { median } from './support';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const RATES = (process.env.BENCH_WAL_RATES ?? '200,1000').split(',').map(Number);
const LIMIT = 64 * 1024 * 1024;
const payload = fs.readFileSync(require.resolve('@stc/testkit/src/fixtures/charge_succeeded.json'), 'utf8');
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-wal-bench-'));
const MIB = 1024 * 1024;

interface Phase {
  largestWalMiB: number;
  finalWalMiB: number;
  restarts: number;
  p99Ms: number;
  maxMs: number;
  missing: number;
}

let sequence = 0;
const event = (): NewInboxEvent => {
  const now = Date.now();
  sequence += 1;
  return {
    source: 'stripe',
    account: '',
    eventId: `evt_wal_bench_${sequence}`,
    type: 'charge.succeeded',
    objectId: `ch_wal_bench_${sequence}`,
    eventCreatedMs: now,
    payload,
    status: 'pending',
    receivedAtMs: now,
  };
};

async function phase(rate: number, restarting: boolean, tag: string): Promise<Phase> {
  const file = path.join(workDir, `${tag}.db`);
  let restarts = 0;
  const store = createSqliteStore({
    path: file,
    // The baseline never reaches its restart size: PASSIVE checkpoints only.
    checkpoints: {
      restartAboveBytes: restarting ? LIMIT : Number.MAX_SAFE_INTEGER,
      onRestart: () => (restarts += 1),
    },
  });
  await store.migrate();
  const waits: number[] = [];
  let largest = 0;
  const started = performance.now();
  let inserted = 0;
  // Open loop: each insert is due at its scheduled time, whatever the previous one took.
  while (performance.now() - started < SECONDS * 1000) {
    const due = started + (inserted * 1000) / rate;
    const now = performance.now();
    if (due > now) await new Promise((resolve) => setTimeout(resolve, due - now));
    const before = performance.now();
    await store.insertEvent(event());
    waits.push(performance.now() - before);
    inserted += 1;
    if (inserted % 50 === 0) largest = Math.max(largest, fs.statSync(`${file}-wal`).size);
  }
  const finalWal = fs.statSync(`${file}-wal`).size;
  largest = Math.max(largest, finalWal);
  const missing = inserted - (await store.queueDepth()).pending;
  await store.close();
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  waits.sort((a, b) => a - b);
  return {
    largestWalMiB: largest / MIB,
    finalWalMiB: finalWal / MIB,
    restarts,
    p99Ms: waits[Math.floor(waits.length * 0.99)],
    maxMs: waits[waits.length - 1],
    missing,
  };
}

async function main(): Promise<void> {
  console.log(
    `sqlite WAL bench: ${RUNS} runs; ${SECONDS} s per phase at ${RATES.join(', ')} events/s; restart past ${LIMIT / MIB} MiB vs PASSIVE only`,
  );
  let missing = 0;
  for (const rate of RATES) {
    const results: Record<'restart' | 'passive', Phase[]> = { restart: [], passive: [] };
    for (let run = 1; run <= RUNS; run++) {
      for (const mode of ['restart', 'passive'] as const) {
        const r = await phase(rate, mode === 'restart', `${mode}_${rate}_${run}`);
        results[mode].push(r);
        missing += r.missing;
        console.log(
          `run ${run} ${String(rate).padStart(5)}/s ${mode.padEnd(7)} WAL largest ${r.largestWalMiB.toFixed(1)} MiB, at the end ${r.finalWalMiB.toFixed(1)} MiB | ${r.restarts} restarts | insert p99 ${r.p99Ms.toFixed(2)} ms, max ${r.maxMs.toFixed(2)} ms${r.missing ? ` | ${r.missing} MISSING` : ''}`,
        );
      }
    }
    const m = (mode: 'restart' | 'passive', pick: (p: Phase) => number) => median(results[mode].map(pick));
    console.log(
      `median at ${rate}/s: largest WAL ${m('restart', (p) => p.largestWalMiB).toFixed(1)} MiB vs ${m('passive', (p) => p.largestWalMiB).toFixed(1)} MiB (ratio ${median(results.restart.map((p, i) => p.largestWalMiB / results.passive[i].largestWalMiB)).toFixed(2)}); insert p99 ${m('restart', (p) => p.p99Ms).toFixed(2)} vs ${m('passive', (p) => p.p99Ms).toFixed(2)} ms, max ${m('restart', (p) => p.maxMs).toFixed(2)} vs ${m('passive', (p) => p.maxMs).toFixed(2)} ms\n`,
    );
  }
  fs.rmSync(workDir, { recursive: true, force: true });
  if (missing > 0) {
    console.error(`FAILED: ${missing} inserted events missing from the store`);
    process.exit(1);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
