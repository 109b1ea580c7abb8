/**
 * `cli backfill` and `cli replay`: the history commands of the operator CLI (service/src/cli.ts), on the
 * service's own configuration (the same environment variables): Stripe from STRIPE_API_KEY /
 * STRIPE_API_BASE, events into the store's inbox, where a running service's workers pick them up.
 */
import type Stripe from 'stripe';
import { ConfigError, loadConfig } from '../config';
import { openStore, type Store } from '../store';
import { createBudgetedStripeClients } from '../stripe';
import { createHandlerRouter } from '../pipeline/routing';
import { BACKFILL_RESOURCES, BackfillError, runBackfill, runReplay, type BackfillProgress } from '../history';
import { HELP_OPTION, parseCommandLine, TEXT, USAGE_EXIT } from '../config/command-line';

export const HISTORY_USAGE = `cli backfill --since YYYY-MM-DD [--resources ${Object.keys(BACKFILL_RESOURCES).join(',')}] [--account acct_…]
cli replay --since YYYY-MM-DD [--types charge.succeeded,…] [--account acct_…]   (events of the last 30 days)
A second run of the same command continues where the first stopped.`;

export interface HistoryCliIo {
  env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
  /** For tests: an already open store and a Stripe client. */
  store?: Store;
  stripe?: Stripe;
  signal?: AbortSignal;
}

function parseSince(text: string | undefined): Date | string {
  if (!text) return '--since is required, e.g. --since 2026-01-01';
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(date.getTime())) return `--since ${text} is not a date (use YYYY-MM-DD or an ISO time)`;
  return date;
}

const list = (text: string | undefined) =>
  text
    ? text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

function describe(p: BackfillProgress): string {
  const state = p.done ? 'done' : 'in progress';
  return `${p.phase} ${p.resource}: ${p.listed} listed, ${p.inserted} queued, ${p.duplicates} already in the inbox (${state})`;
}

const HISTORY_OPTIONS = { since: TEXT, resources: TEXT, types: TEXT, account: TEXT, ...HELP_OPTION } as const;

export async function runHistoryCommand(argv: string[], io: HistoryCliIo): Promise<number> {
  const parsed = parseCommandLine(argv, HISTORY_OPTIONS, HISTORY_USAGE, io);
  if (!parsed) return USAGE_EXIT;
  const command = parsed.positionals[0];
  if (parsed.values.help) {
    io.out(HISTORY_USAGE);
    return 0;
  }
  const since = parseSince(parsed.values.since);
  if (typeof since === 'string') {
    io.err(`${since}\n${HISTORY_USAGE}`);
    return USAGE_EXIT;
  }
  const resources = list(parsed.values.resources);
  const unknown = (resources ?? []).filter((r) => !BACKFILL_RESOURCES[r]);
  if (unknown.length) {
    io.err(
      `Unknown resource ${unknown.join(', ')}; choose from ${Object.keys(BACKFILL_RESOURCES).join(', ')}`,
    );
    return USAGE_EXIT;
  }
  const account = parsed.values.account ?? null;

  let store = io.store;
  let stripe = io.stripe;
  try {
    if (!stripe || !store) {
      const config = loadConfig(io.env);
      store ??= await openStore(config.store);
      // In the budget the service's processes share through the store: a backfill never crowds them out.
      stripe ??= createBudgetedStripeClients({ ...config.stripe, maxNetworkRetries: 0 }, store).stripeFor(
        null,
      );
    }
  } catch (error) {
    io.err(error instanceof ConfigError ? error.message : `Cannot start: ${(error as Error).message}`);
    return 1;
  }
  try {
    // Built here, not at import: the handlers read their settings when they are made.
    const router = createHandlerRouter((await import('../handlers')).createSyncHandlers());
    const common = {
      store,
      stripe,
      since,
      account,
      handles: (type: string) => router.route(type) !== null,
      signal: io.signal,
      onProgress: (p: BackfillProgress) => io.out(describe(p)),
    };
    const summary =
      command === 'replay'
        ? await runReplay({ ...common, types: list(parsed.values.types) })
        : await runBackfill({ ...common, resources });
    const queued = summary.progress.reduce((n, p) => n + p.inserted, 0);
    io.out(
      summary.complete
        ? `${command} complete: ${queued} events queued for the workers`
        : `${command} stopped: ${queued} events queued; run the same command again to continue`,
    );
    return summary.complete ? 0 : 3;
  } catch (error) {
    io.err(error instanceof BackfillError ? error.message : `${command} failed: ${(error as Error).message}`);
    return 1;
  } finally {
    if (!io.store) await store.close();
  }
}
