/**
 * Chaos at volume: BENCH_EVENTS (5,000) Stripe events (card payments, some refunded, some disputed and closed,
 * refund requests approved in Dataverse), delivered with 10 % duplicates and shuffled bursts, while the
 * service, its own process on a store that survives it, is killed with SIGKILL BENCH_KILLS (10) times (an
 * intake burst, Dataverse writes committed but unanswered, a Stripe refund made but unanswered, random
 * moments) and restarted, and Dataverse throttles and fails and Stripe fails and answers late by turns; a
 * live-mode payment is sent on purpose, to be dead-lettered. Prints the counts; exits non-zero when anything
 * was lost or done twice, or a dead letter is not one of the live-mode events. See
 * service/src/__tests__/support/chaos.ts for the harness and what it checks.
 *
 * Environment: BENCH_EVENTS (5000), BENCH_KILLS (10), BENCH_REFUND_REQUESTS (8), BENCH_SEED,
 * BENCH_STORE (`sqlite`, or `postgres` on STC_TEST_DATABASE_URL).
 */
import { postgresEngine, sqliteEngine } from '../../service/src/__tests__/support/engines';
import { chaosFailures, formatChaosReport, runChaos } from '../../service/src/__tests__/support/chaos';

const events = Number(process.env.BENCH_EVENTS ?? 5000);
const kills = Number(process.env.BENCH_KILLS ?? 10);
const refundRequests = Number(process.env.BENCH_REFUND_REQUESTS ?? 8);
const seed = Number(process.env.BENCH_SEED ?? Date.now() % 1_000_000);

async function main(): Promise<void> {
  const engine = process.env.BENCH_STORE === 'postgres' ? postgresEngine : sqliteEngine;
  if (engine.skipReason) throw new Error(`BENCH_STORE=postgres: ${engine.skipReason}`);
  const db = await engine.open();
  const started = Date.now();
  console.log(`chaos: ${events} events, ${kills} kills, ${engine.name} store, seed ${seed}`);
  try {
    const report = await runChaos({
      database: db.env,
      store: db.store,
      events,
      kills,
      refundRequests,
      livePayments: 2,
      seed,
      settleMs: 600_000,
      log: (line) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${line}`),
    });
    console.log(formatChaosReport(report));
    console.log(`wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const failures = chaosFailures(report);
    if (failures.length > 0) {
      console.error(`FAIL: ${failures.length} problems (service log: ${report.serviceLog})`);
      process.exitCode = 1;
    }
  } finally {
    await db.destroy();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
