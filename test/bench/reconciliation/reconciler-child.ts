/**
 * The reconciling process the bench measures: the service's payout reconciler (real `stripe` SDK, real
 * Dataverse client, default mappings and GL accounts) run once on one payout. Reports wall time and the
 * process's peak RSS to the parent. BENCH_MODE=list only streams the payout's balance transactions from
 * Stripe (the baseline: what listing alone costs).
 */
import { model } from '@stc/solution';
import { createDataverseClient, DEFAULT_MAPPINGS_DIR, loadMappings } from '@stc/service';
import Stripe from 'stripe';
import { listPages, type Page } from '../../../service/src/stripe/paging';
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
    // The same paging as the reconciler (one page ahead, 429s backed off), with no writes.
    let listed = 0;
    const pages = listPages(
      (startingAfter) =>
        stripe.balanceTransactions.list({
          payout: payoutId,
          limit: 100,
          ...(startingAfter ? { starting_after: startingAfter } : {}),
        }) as unknown as Promise<Page>,
    );
    for await (const page of pages) listed += page.data.length;
    process.send!({
      wallMs: performance.now() - started,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      rows: listed,
    });
    return;
  }
  const dataverse = createDataverseClient({ baseUrl: env.BENCH_DATAVERSE_URL! });
  const mappings = loadMappings(DEFAULT_MAPPINGS_DIR, { model });
  const reconciler = createPayoutReconciler({
    mappings: () => mappings,
    batchSize: env.BENCH_BATCH_SIZE ? Number(env.BENCH_BATCH_SIZE) : undefined,
    batchesInFlight: env.BENCH_IN_FLIGHT ? Number(env.BENCH_IN_FLIGHT) : undefined,
  });
  const errors: string[] = [];
  const log = {
    info: () => undefined,
    warn: () => undefined,
    error: (obj: object, msg?: string) => errors.push(`${msg} ${JSON.stringify(obj)}`),
  };
  const samples: string[] = [];
  const sampler = env.BENCH_MEMORY_TRACE
    ? setInterval(() => {
        const m = process.memoryUsage();
        samples.push(
          [m.rss, m.heapTotal, m.heapUsed, m.external, m.arrayBuffers]
            .map((v) => Math.round(v / 1e6))
            .join('/'),
        );
      }, 500)
    : undefined;
  const outcome = await reconciler.reconcile({ stripe, dataverse, log, payout: payoutId });
  if (sampler) {
    clearInterval(sampler);
    process.stderr.write(`memory rss/heapTotal/heapUsed/external/arrayBuffers MB: ${samples.join(' ')}\n`);
  }
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
