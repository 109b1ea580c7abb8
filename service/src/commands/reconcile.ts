/**
 * `cli reconcile`: reconcile one payout now, or run the sweep once, on the service's configuration.
 *   cli reconcile --payout po_…            [--account acct_…] [--accounts gl-accounts.yaml]
 *   cli reconcile --sweep [--days 7]       [--account acct_…] [--accounts gl-accounts.yaml]
 */
import type Stripe from 'stripe';
import { ConfigError, loadConfig } from '../config';
import type { DataverseClient } from '../dataverse/types';
import { createLogger } from '../observability/log';
import { openStore, type Store } from '../store';
import { createBudgetedStripeClients, withStripePriority } from '../stripe';
import { lazyMappings } from '../write/mappings';
import type { HandlerLogger } from '../pipeline/handler';
import { loadReconciliationConfig, ReconciliationConfigError } from '../reconciliation/config';
import { createPayoutReconciler, type PayoutReconciler } from '../reconciliation/reconcile';
import { sweepPayouts } from '../reconciliation/sweep';
import { FLAG, parseCommandLine, TEXT, USAGE_EXIT } from '../config/command-line';

export const RECONCILE_USAGE = `cli reconcile --payout po_… | --sweep [--days 7]   [--account acct_…] [--accounts gl-accounts.yaml]`;

export interface ReconcileCliIo {
  env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
  /** For tests: clients already made. */
  stripe?: Stripe;
  dataverse?: DataverseClient;
  log?: HandlerLogger;
}

const DAY_MS = 24 * 60 * 60 * 1000;

const RECONCILE_OPTIONS = { payout: TEXT, sweep: FLAG, days: TEXT, account: TEXT, accounts: TEXT } as const;

export async function runReconcileCommand(argv: string[], io: ReconcileCliIo): Promise<number> {
  const parsed = parseCommandLine(argv, RECONCILE_OPTIONS, RECONCILE_USAGE, io);
  if (!parsed) return USAGE_EXIT;
  const { payout, sweep, account } = parsed.values;
  const days = Number(parsed.values.days ?? 7);
  if (!payout === !sweep || !(days > 0)) {
    io.err(`Give either --payout po_… or --sweep (with --days a positive number)\n${RECONCILE_USAGE}`);
    return USAGE_EXIT;
  }
  const setup = await openReconciliation(io, parsed.values.accounts);
  if (!setup) return 1;
  const { stripe, dataverse, config, store } = setup;
  const log: HandlerLogger = io.log ?? {
    info: () => undefined,
    warn: (obj, msg) => io.err(`${msg ?? ''} ${JSON.stringify(obj)}`),
    error: (obj, msg) => io.err(`${msg ?? ''} ${JSON.stringify(obj)}`),
  };
  const reconciler = createPayoutReconciler({ mappings: lazyMappings(), config });
  const target = { reconciler, stripe, dataverse, log, account: account ?? null };
  try {
    return await withStripePriority('reconcile', () =>
      payout ? reconcileOne(io, target, payout) : sweepOnce(io, target, days),
    );
  } catch (error) {
    io.err(`reconcile failed: ${(error as Error).message}`);
    return 1;
  } finally {
    await store?.close();
  }
}

/** The GL accounts and the clients (the ones given, else made from the service's configuration). */
async function openReconciliation(io: ReconcileCliIo, accounts: string | undefined) {
  let stripe = io.stripe;
  let dataverse = io.dataverse;
  let store: Store | undefined;
  try {
    const config = loadReconciliationConfig(accounts);
    if (!stripe || !dataverse) {
      const service = loadConfig(io.env);
      if (!stripe) {
        // In the Stripe budget the service's processes share through the store.
        store = await openStore(service.store);
        stripe = createBudgetedStripeClients(service.stripe, store).stripeFor(null);
      }
      // Loaded here: the service module pulls in the HTTP layer, which this command does not need otherwise.
      const { dataverseClientFor } = await import('../service');
      dataverse ??= dataverseClientFor(service.dataverse, createLogger({ level: 'warn' }));
    }
    return { stripe, dataverse, config, store };
  } catch (error) {
    await store?.close();
    io.err(
      error instanceof ConfigError || error instanceof ReconciliationConfigError
        ? error.message
        : `Cannot start: ${(error as Error).message}`,
    );
    return null;
  }
}

interface ReconcileTarget {
  reconciler: PayoutReconciler;
  stripe: Stripe;
  dataverse: DataverseClient;
  log: HandlerLogger;
  account: string | null;
}

/** One payout: exit 0 when its journal balances (or it is not paid yet), 4 on a mismatch. */
async function reconcileOne(io: ReconcileCliIo, target: ReconcileTarget, payout: string): Promise<number> {
  const { reconciler, ...request } = target;
  const outcome = await reconciler.reconcile({ ...request, payout });
  if (outcome.kind === 'payout-only') {
    io.out(`${payout} is ${outcome.status}: payout row written, ${awaitingJournal(outcome.status)}`);
    return 0;
  }
  if (outcome.kind === 'not-reconcilable') {
    io.out(`${payout}: not reconcilable: ${outcome.reason}`);
    return 0;
  }
  const j = outcome.journal;
  io.out(
    `${payout}: ${outcome.rowsWritten} balance transactions, ${j.lines.length} journal lines, ` +
      (j.balanced ? 'balanced' : `MISMATCH by ${j.difference} minor units of ${j.currency}`) +
      (j.returned ? `, ${j.returned}: reversed back to the Stripe balance` : ''),
  );
  return j.balanced ? 0 : 4;
}

/** Why a payout has no journal yet, or will have none, by its status. */
function awaitingJournal(status: string): string {
  if (status === 'paid')
    return 'no journal until Stripe has reconciled its transactions (the sweep runs it again)';
  if (status === 'failed') return 'nothing to journal: it failed before Stripe reconciled its transactions';
  return 'no journal until it is paid';
}

/**
 * One sweep over the paid and failed payouts of the last `days`: exit 1 when any could not be reconciled, else 4
 * when any journal does not balance (as for one payout).
 */
async function sweepOnce(io: ReconcileCliIo, target: ReconcileTarget, days: number): Promise<number> {
  const result = await sweepPayouts({ ...target, lookbackMs: days * DAY_MS });
  const listed = (ids: string[]) => (ids.length ? ` (${ids.join(', ')})` : '');
  io.out(
    `sweep: ${result.checked} paid or failed payouts checked, ${result.reconciled.length} reconciled` +
      listed(result.reconciled) +
      (result.mismatched.length
        ? `, ${result.mismatched.length} MISMATCH${listed(result.mismatched)}: see reconcile --payout`
        : '') +
      (result.failed.length ? `, ${result.failed.length} failed` : ''),
  );
  return result.failed.length ? 1 : result.mismatched.length ? 4 : 0;
}
