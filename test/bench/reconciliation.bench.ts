/**
 * Payout reconciliation: one payout of BENCH_TRANSACTIONS (50,000) balance transactions in the Stripe
 * emulator, reconciled into the Dataverse emulator by the service's reconciler in a child process of its
 * own, so its peak RSS is the reconciler's alone. Three processes: this one (the Dataverse emulator and the
 * checks), the Stripe emulator's (seeded in-process, rate-limited to Stripe's 100 reads a second), the
 * reconciler's. Each run starts from an empty Dataverse.
 *
 * Reports the median and spread of BENCH_RUNS (3) runs: wall time (target < 15 s), peak RSS (target
 * < 300 MB), Dataverse requests per row; and, measured in the same run, the baseline of only streaming the
 * payout's transactions from Stripe, with the ratio. Fails when a row is missing or duplicated, the journal
 * does not balance, or a target is missed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { model } from '@stc/solution';
import { startDataverseEmulator } from '@stc/emulators';
import { createDataverseClient } from '@stc/service';

const TRANSACTIONS = Number(process.env.BENCH_TRANSACTIONS ?? 50_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TARGET_MS = 15_000;
const TARGET_RSS_MB = 300;
const here = join(__dirname, 'reconciliation');

interface StripeReady {
  url: string;
  apiKey: string;
  payoutId: string;
  amount: number;
  transactions: number;
  seedMs: number;
}

interface ChildResult {
  wallMs: number;
  peakRssMb: number;
  rows: number;
  batches?: number;
  balanced?: boolean;
  requests?: number;
  throttled?: number;
  errors?: string[];
}

const tsx = ['--import', 'tsx'];
// BENCH_PROFILE=<dir>: CPU profiles of the reconciler processes, for finding where the time goes.
const profile = process.env.BENCH_PROFILE
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
  : [];

function message<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} before reporting`)));
  });
}

async function runChild(env: Record<string, string>): Promise<ChildResult> {
  const child = fork(join(here, 'reconciler-child.ts'), [], {
    execArgv: [...tsx, ...(env.BENCH_MODE === 'list' ? [] : profile)],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const result = await message<ChildResult>(child, 'the reconciler');
  await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
  return result;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (values: number[], digits = 0) =>
  `median ${median(values).toFixed(digits)} (min ${Math.min(...values).toFixed(digits)}, max ${Math.max(...values).toFixed(digits)})`;

async function main(): Promise<void> {
  const dataverse = await startDataverseEmulator({ model });
  const stripeChild = fork(join(here, 'stripe-child.ts'), [], {
    execArgv: tsx,
    env: { ...process.env, BENCH_TRANSACTIONS: String(TRANSACTIONS) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const failures: string[] = [];
  try {
    const stripe = await message<StripeReady>(stripeChild, 'the Stripe emulator');
    console.log(
      `payout ${stripe.payoutId}: ${stripe.transactions} balance transactions (incl. its own), ` +
        `${(stripe.amount / 100).toFixed(2)} USD, seeded in ${(stripe.seedMs / 1000).toFixed(1)} s`,
    );
    const env = {
      BENCH_STRIPE_URL: stripe.url,
      BENCH_STRIPE_KEY: stripe.apiKey,
      BENCH_PAYOUT: stripe.payoutId,
      BENCH_DATAVERSE_URL: dataverse.url,
    };
    const client = createDataverseClient({ baseUrl: dataverse.url });
    const listing: ChildResult[] = [];
    const runs: ChildResult[] = [];
    for (let run = 1; run <= RUNS; run++) {
      listing.push(await runChild({ ...env, BENCH_MODE: 'list' }));
      dataverse.store.clear();
      const result = await runChild({ ...env, BENCH_MODE: 'reconcile' });
      runs.push(result);

      // What a finance user would look at: every transaction once, linked to the payout; a balanced entry.
      const written = dataverse.store.count('stc_balancetransactions');
      const entry = await client.retrieveByKey('stc_journalentries', { stc_stripepayoutid: stripe.payoutId });
      const lines = await client.retrieveMultiple('stc_journallines', {
        select: ['stc_debit', 'stc_credit'],
        filter: `_stc_journalentryid_value eq ${String(entry?.stc_journalentryid)}`,
      });
      const cents = (field: string) => lines.reduce((s, l) => s + Math.round(Number(l[field]) * 100), 0);
      const balanced =
        entry?.stc_difference === 0 &&
        cents('stc_debit') === cents('stc_credit') &&
        Math.round(Number(entry?.stc_total) * 100) === stripe.amount;
      console.log(
        `run ${run}: ${(result.wallMs / 1000).toFixed(2)} s, peak RSS ${result.peakRssMb.toFixed(0)} MB, ` +
          `${written} rows, ${result.requests} requests (${result.batches} batches, ${result.throttled} throttled), ` +
          `journal ${balanced ? 'balanced' : 'NOT balanced'} (${lines.length} lines); ` +
          `listing alone ${(listing.at(-1)!.wallMs / 1000).toFixed(2)} s`,
      );
      if (written !== stripe.transactions || result.rows !== stripe.transactions)
        failures.push(
          `run ${run}: ${written} rows in Dataverse, ${result.rows} written, ${stripe.transactions} expected`,
        );
      if (!balanced || !result.balanced) failures.push(`run ${run}: journal not balanced`);
      if (result.errors?.length) failures.push(`run ${run}: ${result.errors.join('; ')}`);
    }
    const wall = runs.map((r) => r.wallMs / 1000);
    const rss = runs.map((r) => r.peakRssMb);
    const baseline = listing.map((r) => r.wallMs / 1000);
    const requestsPerRow = runs.map((r) => (r.requests ?? 0) / stripe.transactions);
    console.log(`\nreconciliation of ${stripe.transactions} balance transactions, ${RUNS} runs`);
    console.log(`  wall time           ${fmt(wall, 2)} s   target < ${TARGET_MS / 1000} s`);
    console.log(`  peak RSS            ${fmt(rss)} MB   target < ${TARGET_RSS_MB} MB`);
    console.log(`  requests per row    ${fmt(requestsPerRow, 4)}`);
    console.log(
      `  baseline (listing)  ${fmt(baseline, 2)} s; reconcile / listing ${(median(wall) / median(baseline)).toFixed(2)}x`,
    );
    console.log(`  baseline peak RSS   ${fmt(listing.map((r) => r.peakRssMb))} MB`);
    if (median(wall) * 1000 >= TARGET_MS)
      failures.push(`median wall time ${median(wall).toFixed(2)} s over target`);
    if (median(rss) >= TARGET_RSS_MB)
      failures.push(`median peak RSS ${median(rss).toFixed(0)} MB over target`);
  } finally {
    stripeChild.disconnect();
    await dataverse.close();
  }
  if (failures.length) {
    console.error(`FAIL\n- ${failures.join('\n- ')}`);
    process.exit(1);
  }
  console.log('ok');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
