/**
 * The reconciling process the bench measures: the service's payout reconciler (real `stripe` SDK, real
 * Dataverse client, default mappings and GL accounts) run once on one payout. Reports wall time and the
 * process's peak RSS to the parent. BENCH_MODE=list only streams the payout's balance transactions from
 * Stripe (the baseline: what listing alone costs).
 */
import { model } from '@stc/solution';
import { createDataverseClient, DEFAULT_MAPPINGS_DIR, loadMappings } from '@stc/service';
import Stripe from 'stripe';
import { createPayoutReconciler } from '../../../service/src/reconciliation';

async function main(): Promise<void> {
  const env = process.env;
  const url = new URL(env.BENCH_STRIPE_URL!);
  const stripe = new Stripe(env.BENCH_STRIPE_KEY!, {
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    telemetry: false,
    maxNetworkRetries: 5,
  });
  const payoutId = env.BENCH_PAYOUT!;
  const started = performance.now();
  if (env.BENCH_MODE === 'list') {
    let listed = 0;
    for await (const transaction of stripe.balanceTransactions.list({ payout: payoutId, limit: 100 }))
      if (transaction.id) listed += 1;
    process.send!({
      wallMs: performance.now() - started,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      rows: listed,
    });
    return;
  }
  const dataverse = createDataverseClient({ baseUrl: env.BENCH_DATAVERSE_URL! });
  const mappings = loadMappings(DEFAULT_MAPPINGS_DIR, { model });
  const reconciler = createPayoutReconciler({ mappings: () => mappings });
  const errors: string[] = [];
  const log = {
    info: () => undefined,
    warn: () => undefined,
    error: (obj: object, msg?: string) => errors.push(`${msg} ${JSON.stringify(obj)}`),
  };
  const outcome = await reconciler.reconcile({ stripe, dataverse, log, payout: payoutId });
  const wallMs = performance.now() - started;
  process.send!({
    wallMs,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    rows: outcome.kind === 'journal' ? outcome.rowsWritten : 0,
    batches: outcome.kind === 'journal' ? outcome.batches : 0,
    balanced: outcome.kind === 'journal' && outcome.journal.balanced,
    requests: dataverse.stats().requests,
    throttled: dataverse.stats().throttled,
    errors,
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
