/**
 * Payout reconciliation: the payout's balance transactions are listed from Stripe page by page
 * (one page read ahead, 429s backed off, never all in memory), written as stc_balancetransaction rows in `$batch` requests of
 * up to 1,000, and summed per group into a journal entry whose lines must equal the payout exactly.
 * Re-running a payout writes the same rows and lines by key and removes lines it no longer has.
 */
import type Stripe from 'stripe';
import { model } from '@stc/solution';
import { errorFromInfo } from '../dataverse/errors';
import type { BatchOperation, DataverseClient, Row } from '../dataverse/types';
import { applyMapping, eventEnvelope, type EventEnvelope, type MappedRow, type MappingSet } from '../mapping';
import { listPages, type Page, type RateLimitPolicy } from '../stripe/paging';
import { mapIfApplies, type StripeObject } from '../write/stripe-objects';
import { odataString, writeMappedRow } from '../write/rows';
import type { HandlerLogger } from '../pipeline/handler';
import { loadReconciliationConfig, type ReconciliationConfig } from './config';
import { PayoutJournalBuilder, toMajor, type BalanceTransactionLike, type PayoutJournal } from './journal';

export const PAYOUT_MAPPING = 'payout';
export const BALANCE_TRANSACTION_MAPPING = 'balance_transaction';

/** Dataverse takes at most 1,000 operations in one `$batch`. */
const MAX_BATCH = 1000;

export interface ReconciliationMetrics {
  /** A journal entry did not balance (its lines do not sum to the payout). */
  mismatch(payoutId: string): void;
  reconciled(outcome: 'balanced' | 'mismatch'): void;
}

export interface PayoutReconcilerOptions {
  mappings: () => MappingSet;
  /** GL accounts; default the shipped `gl-accounts.yaml`. */
  config?: ReconciliationConfig;
  /** Rows per `$batch` (at most 1,000). Default 1,000. */
  batchSize?: number;
  /**
   * `$batch` requests in flight while the next rows are read and mapped. Default 1: with two, peak RSS on
   * a 50,000-transaction payout came to ~292 MB, too near the 300 MB target.
   */
  batchesInFlight?: number;
  metrics?: ReconciliationMetrics;
  /** Backoff when Stripe answers 429 while the transactions are listed. */
  rateLimit?: RateLimitPolicy;
  now?: () => number;
  /** How a backoff waits (tests count them). */
  sleep?: (ms: number) => Promise<void>;
}

export interface ReconcileRequest {
  stripe: Stripe;
  dataverse: DataverseClient;
  log: HandlerLogger;
  /** The payout id, or the payout as listed; it is read fresh from Stripe when an id is given. */
  payout: string | StripeObject;
  /** The event being handled; the sweep passes none. */
  event?: Pick<Stripe.Event, 'id' | 'type' | 'created' | 'livemode'> & { account?: string | null };
  /** Connected account the payout belongs to. */
  account?: string | null;
}

export type ReconcileOutcome =
  | { kind: 'journal'; payoutId: string; journal: PayoutJournal; rowsWritten: number; batches: number }
  /** Not paid (yet): only the payout row was written. */
  | { kind: 'payout-only'; payoutId: string; status: string };

export interface PayoutReconciler {
  reconcile(request: ReconcileRequest): Promise<ReconcileOutcome>;
}

function tableOf(logicalName: string) {
  const table = model.tables.find((t) => t.logicalName === logicalName);
  if (!table) throw new Error(`the table model has no table ${logicalName}`);
  return table;
}

function navigationOf(tableName: string, column: string, target: string): string {
  const found = tableOf(tableName).columns.find((c) => c.logicalName === column);
  const navigation =
    found && (found.type === 'lookup' || found.type === 'customer') ? found.navigation[target] : undefined;
  if (!navigation) throw new Error(`${tableName}.${column} is not a lookup to ${target}`);
  return navigation;
}

const JOURNAL_ENTRY = tableOf('stc_journalentry');
const JOURNAL_LINE = tableOf('stc_journalline');
const ENTRY_TO_PAYOUT = navigationOf('stc_journalentry', 'stc_payoutid', 'stc_payout');
const LINE_TO_ENTRY = navigationOf('stc_journalline', 'stc_journalentryid', 'stc_journalentry');

const journalStatus = (label: 'balanced' | 'mismatch'): number => {
  const set = model.optionSets.find((s) => s.name === 'stc_journalstatus');
  const option = set?.options.find((o) => o.externalValue === label);
  if (!option) throw new Error(`option set stc_journalstatus has no ${label}`);
  return option.value;
};
export const JOURNAL_BALANCED = journalStatus('balanced');
export const JOURNAL_MISMATCH = journalStatus('mismatch');

/** A mapped row's links as `@odata.bind`, only those that need no read (a GUID, or bind by key). */
function bindWithoutRead(mapped: MappedRow): Row {
  const row: Row = { ...mapped.row };
  for (const link of mapped.links) {
    const target = link.targets[0];
    if (link.id) row[`${target.navigation}@odata.bind`] = `/${target.entitySet}(${link.id})`;
    else if (link.byKey && link.match)
      row[`${target.navigation}@odata.bind`] =
        `/${target.entitySet}(${link.match.column}=${odataString(link.match.value)})`;
  }
  return row;
}

function syntheticEnvelope(payout: StripeObject, account: string | null, nowMs: number): EventEnvelope {
  return {
    id: `reconciliation:${payout.id}`,
    type: 'payout.reconciliation',
    created: Math.floor(nowMs / 1000),
    account,
    livemode: payout.livemode === true,
  };
}

/** Throws the first failed operation of a batch as a DataverseError (transient ones retry the event). */
function checkBatch(
  results: { status: number; error?: Parameters<typeof errorFromInfo>[0] }[],
  what: string,
) {
  const failed = results.find((r) => r.status >= 400);
  if (!failed) return;
  const failures = results.filter((r) => r.status >= 400).length;
  throw errorFromInfo(
    failed.error ?? { status: failed.status, code: '', message: 'batch operation failed', transient: false },
    `${what}: ${failures} of ${results.length} operations failed`,
  );
}

export function createPayoutReconciler(options: PayoutReconcilerOptions): PayoutReconciler {
  const config = options.config ?? loadReconciliationConfig();
  const batchSize = Math.min(MAX_BATCH, Math.max(1, options.batchSize ?? MAX_BATCH));
  const inFlightLimit = Math.max(1, options.batchesInFlight ?? 1);
  const now = options.now ?? Date.now;

  async function writeTransactions(
    request: ReconcileRequest,
    payout: StripeObject,
    envelope: EventEnvelope,
    builder: PayoutJournalBuilder,
  ): Promise<{ rows: number; batches: number }> {
    const mapping = options.mappings().get(BALANCE_TRANSACTION_MAPPING);
    // `$event.payout` names the payout the transactions are listed under (balance-transactions.yaml).
    const scope = { ...envelope, payout: payout.id } as EventEnvelope;
    const inFlight: Promise<void>[] = [];
    let buffer: BatchOperation[] = [];
    let rows = 0;
    let batches = 0;
    // A full batch waits for the oldest in flight to finish, then goes: the pages after it are read and
    // mapped while it is written.
    const send = async () => {
      const operations = buffer;
      buffer = [];
      if (inFlight.length >= inFlightLimit) await inFlight.shift();
      batches += 1;
      const sent = request.dataverse
        .executeBatch(operations, { continueOnError: true })
        .then((results) => checkBatch(results, `balance transactions of ${payout.id}`));
      // A rejection is awaited below; this keeps it from being reported as unhandled meanwhile.
      sent.catch(() => undefined);
      inFlight.push(sent);
    };
    const requestOptions = request.account ? { stripeAccount: request.account } : undefined;
    const pages = listPages(
      (startingAfter) =>
        request.stripe.balanceTransactions.list(
          { payout: payout.id, limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) },
          requestOptions,
        ) as unknown as Promise<Page>,
      { rateLimit: options.rateLimit, sleep: options.sleep },
    );
    for await (const page of pages) {
      for (const item of page.data) {
        const object = item as unknown as StripeObject & BalanceTransactionLike;
        builder.add(object);
        const mapped = await applyMapping(mapping, object, scope);
        buffer.push({
          kind: 'upsert',
          entitySet: mapped.entitySet,
          key: mapped.key,
          row: bindWithoutRead(mapped),
        });
        rows += 1;
        if (buffer.length >= batchSize) await send();
      }
    }
    if (buffer.length) await send();
    for (const pending of inFlight) await pending;
    return { rows, batches };
  }

  async function writeJournal(
    request: ReconcileRequest,
    payout: StripeObject,
    journal: PayoutJournal,
    envelope: EventEnvelope,
  ): Promise<void> {
    const { dataverse } = request;
    const currency = journal.currency;
    const status = journal.balanced ? JOURNAL_BALANCED : JOURNAL_MISMATCH;
    const arrival = typeof payout.arrival_date === 'number' ? payout.arrival_date : Math.floor(now() / 1000);
    const entry = await dataverse.upsertByKey(
      JOURNAL_ENTRY.entitySetName,
      { stc_stripepayoutid: payout.id },
      {
        stc_name: `Payout ${payout.id} · ${toMajor(journal.total, currency)} ${currency.toUpperCase()}`,
        stc_stripepayoutid: payout.id,
        [`${ENTRY_TO_PAYOUT}@odata.bind`]: `/stc_payouts(stc_stripeid=${odataString(payout.id)})`,
        stc_date: new Date(arrival * 1000).toISOString().slice(0, 10),
        stc_currency: currency,
        stc_total: toMajor(journal.total, currency),
        stc_totaldebit: toMajor(journal.totalDebit, currency),
        stc_totalcredit: toMajor(journal.totalCredit, currency),
        stc_difference: toMajor(journal.difference, currency),
        stc_status: status,
        stc_livemode: envelope.livemode,
        stc_stripeaccount: envelope.account,
      },
    );
    // The lines are replaced as one change set: this run's lines by key, and any line an earlier run
    // wrote that this one no longer has (a category that dropped out) removed.
    const existing = await dataverse.retrieveMultiple(JOURNAL_LINE.entitySetName, {
      select: [JOURNAL_LINE.primaryIdColumn, 'stc_linekey'],
      filter: `_stc_journalentryid_value eq ${entry.id}`,
    });
    const keep = new Set(journal.lines.map((line) => line.key));
    const operations: BatchOperation[] = journal.lines.map((line) => ({
      kind: 'upsert',
      entitySet: JOURNAL_LINE.entitySetName,
      key: { stc_linekey: line.key },
      changeSet: 'lines',
      row: {
        stc_name: `${line.number}. ${line.description}`,
        stc_linekey: line.key,
        [`${LINE_TO_ENTRY}@odata.bind`]: `/${JOURNAL_ENTRY.entitySetName}(${entry.id})`,
        stc_linenumber: line.number,
        stc_glaccount: line.account,
        stc_debit: toMajor(line.debit, currency),
        stc_credit: toMajor(line.credit, currency),
        stc_category: line.group,
        stc_description: line.description,
        stc_currency: currency,
      },
    }));
    for (const row of existing) {
      if (keep.has(String(row.stc_linekey))) continue;
      operations.push({
        kind: 'delete',
        entitySet: JOURNAL_LINE.entitySetName,
        id: String(row[JOURNAL_LINE.primaryIdColumn]),
        changeSet: 'lines',
      });
    }
    if (operations.length)
      checkBatch(await dataverse.executeBatch(operations), `journal lines of ${payout.id}`);
  }

  return {
    async reconcile(request) {
      const account = request.account ?? request.event?.account ?? null;
      const stripeOptions = account ? { stripeAccount: account } : undefined;
      const payout =
        typeof request.payout === 'string'
          ? ((await request.stripe.payouts.retrieve(
              request.payout,
              {},
              stripeOptions,
            )) as unknown as StripeObject)
          : request.payout;
      const envelope = request.event
        ? eventEnvelope({ ...request.event, account })
        : syntheticEnvelope(payout, account, now());
      const payoutRow = await mapIfApplies(options.mappings().get(PAYOUT_MAPPING), payout, envelope);
      if (payoutRow) await writeMappedRow(request.dataverse, request.log, payoutRow);

      const status = String(payout.status);
      // Automatic payouts list their transactions once Stripe has finished reconciling them.
      const listable =
        status === 'paid' && !(payout.automatic === true && payout.reconciliation_status === 'in_progress');
      if (!listable) {
        if (status === 'failed')
          request.log.warn(
            { payout: payout.id, failureCode: payout.failure_code },
            'payout failed: the bank returned it; its payout row is marked Failed',
          );
        return { kind: 'payout-only', payoutId: payout.id, status };
      }

      const builder = new PayoutJournalBuilder(
        config,
        payout.id,
        String(payout.currency),
        Number(payout.amount),
      );
      const written = await writeTransactions({ ...request, account }, payout, envelope, builder);
      const journal = builder.build();
      await writeJournal(request, payout, journal, envelope);
      if (payoutRow && journal.balanced) {
        await request.dataverse.upsertByKey(
          payoutRow.entitySet,
          payoutRow.key,
          { stc_reconciledon: new Date(now()).toISOString() },
          { mode: 'updateOnly' },
        );
      }
      options.metrics?.reconciled(journal.balanced ? 'balanced' : 'mismatch');
      if (!journal.balanced) {
        options.metrics?.mismatch(payout.id);
        request.log.error(
          {
            payout: payout.id,
            currency: journal.currency,
            payoutAmount: journal.total.toString(),
            difference: journal.difference.toString(),
            transactions: journal.transactions,
          },
          'payout journal does not balance: its balance transactions do not sum to the payout amount; the entry is marked Mismatch',
        );
      } else {
        request.log.info(
          { payout: payout.id, transactions: journal.transactions, batches: written.batches },
          'payout reconciled',
        );
      }
      return {
        kind: 'journal',
        payoutId: payout.id,
        journal,
        rowsWritten: written.rows,
        batches: written.batches,
      };
    },
  };
}
