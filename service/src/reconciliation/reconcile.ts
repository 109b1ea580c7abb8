/**
 * Payout reconciliation: the payout's balance transactions are listed from Stripe page by page
 * (one page read ahead, 429s backed off, never all in memory), written as stc_balancetransaction rows in `$batch` requests of
 * up to 1,000, and summed per group into a journal entry whose lines must equal the payout exactly.
 * Re-running a payout writes the same rows and lines by key and removes lines it no longer has, except a
 * reversal's reversing pair: once written it stays, and a reversal that then fails or is canceled gets two
 * more lines that undo it.
 */
import type Stripe from 'stripe';
import { JournalEntry, JournalLine, JournalStatus, Payout } from '@stc/solution/tables';
import { errorFromInfo } from '../dataverse/errors';
import type { BatchOperation, DataverseClient, Row } from '../dataverse/types';
import { applyMapping, eventEnvelope, type EventEnvelope, type MappedRow, type MappingSet } from '../mapping';
import { balanceTransactionPages } from '../stripe/balance-transactions';
import type { RateLimitPolicy } from '../stripe/paging';
import { mapIfApplies, type StripeObject } from '../write/stripe-objects';
import { odataString, writeMappedRow } from '../write/rows';
import type { HandlerLogger } from '../pipeline/handler';
import { loadReconciliationConfig, type ReconciliationConfig } from './config';
import {
  PayoutJournalBuilder,
  returnLineKeys,
  toMajor,
  type BalanceTransactionLike,
  type PayoutJournal,
  type PayoutReturn,
  type ReversalUndone,
} from './journal';

export const PAYOUT_MAPPING = 'payout';
export const BALANCE_TRANSACTION_MAPPING = 'balance_transaction';

/** Dataverse takes at most 1,000 operations in one `$batch`. */
const MAX_BATCH = 1000;

export interface ReconciliationMetrics {
  /** A journal entry did not balance (its lines do not sum to the payout). */
  mismatch(payoutId: string): void;
  reconciled(outcome: 'balanced' | 'mismatch' | 'not_reconcilable'): void;
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
  | { kind: 'payout-only'; payoutId: string; status: string }
  /** A manual payout: Stripe does not list its transactions; its entry says so, with `reason`. */
  | { kind: 'not-reconcilable'; payoutId: string; reason: string };

export interface PayoutReconciler {
  reconcile(request: ReconcileRequest): Promise<ReconcileOutcome>;
}

const E = JournalEntry.col;
const L = JournalLine.col;
const ENTRY_TO_PAYOUT = JournalEntry.lookup.payoutid.bind.stc_payout;
const LINE_TO_ENTRY = JournalLine.lookup.journalentryid.bind.stc_journalentry;

export const JOURNAL_BALANCED: number = JournalStatus.balanced;
export const JOURNAL_MISMATCH: number = JournalStatus.mismatch;
export const JOURNAL_FAILED: number = JournalStatus.failed;
export const JOURNAL_REVERSED: number = JournalStatus.reversed;
export const JOURNAL_NOT_RECONCILABLE: number = JournalStatus.not_reconcilable;

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

/** What every reconciliation shares: the options with their defaults filled in. */
interface ReconcilerSettings {
  options: PayoutReconcilerOptions;
  config: ReconciliationConfig;
  batchSize: number;
  inFlightLimit: number;
  now: () => number;
  /** The run of each payout under way (by account and id), which the next run of it waits for. */
  running: Map<string, Promise<unknown>>;
}

export function createPayoutReconciler(options: PayoutReconcilerOptions): PayoutReconciler {
  const settings: ReconcilerSettings = {
    options,
    config: options.config ?? loadReconciliationConfig(),
    batchSize: Math.min(MAX_BATCH, Math.max(1, options.batchSize ?? MAX_BATCH)),
    inFlightLimit: Math.max(1, options.batchesInFlight ?? 1),
    now: options.now ?? Date.now,
    running: new Map(),
  };
  return { reconcile: (request) => reconcileInTurn(settings, request) };
}

/**
 * One run of a payout at a time in this process: a payout event, the sweep, the report's retry and a
 * reversal's run of its original may ask for the same payout at once. Two runs side by side could each read
 * Stripe, and the one that read first would write last, putting back lines and totals the other had
 * corrected (a failure's reversing pair taken out again). A run that waited reads the payout from Stripe
 * afresh: the copy it was given (the sweep's list) may be older than what the run before it wrote.
 */
async function reconcileInTurn(
  settings: ReconcilerSettings,
  request: ReconcileRequest,
): Promise<ReconcileOutcome> {
  const payoutId = typeof request.payout === 'string' ? request.payout : request.payout.id;
  const key = `${request.account ?? request.event?.account ?? ''}|${payoutId}`;
  const before = settings.running.get(key);
  const run = before
    ? before.then(() => reconcilePayout(settings, { ...request, payout: payoutId }))
    : reconcilePayout(settings, request);
  const done = run.then(
    () => undefined,
    () => undefined,
  );
  settings.running.set(key, done);
  try {
    return await run;
  } finally {
    if (settings.running.get(key) === done) settings.running.delete(key);
  }
}

async function reconcilePayout(
  settings: ReconcilerSettings,
  request: ReconcileRequest,
): Promise<ReconcileOutcome> {
  const { options, now } = settings;
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
  const scoped = { ...request, account };
  if (payout.automatic !== true) return notReconcilable(settings, scoped, payout, envelope);

  const status = String(payout.status);
  const history = await readPayoutHistory(request.stripe, account, payout);
  const listable = (status === 'paid' || history.failed) && transactionsListed(payout);
  if (!listable) {
    if (status === 'failed')
      request.log.warn(
        { payout: payout.id, failureCode: payout.failure_code },
        'payout failed: the bank returned it; its payout row is marked Failed',
      );
    return { kind: 'payout-only', payoutId: payout.id, status };
  }

  const builder = new PayoutJournalBuilder(
    settings.config,
    payout.id,
    String(payout.currency),
    Number(payout.amount),
    arrivalDate(payout, now),
  );
  const existing = await readEntryLines(request.dataverse, payout.id);
  await markReturns(scoped, payout, history, existing, builder, stripeOptions, now);
  const written = await writeTransactions(settings, scoped, payout, envelope, builder);
  const journal = builder.build();
  await writeJournal(request, payout, journal, existing, envelope, now);
  if (payoutRow && journal.balanced) {
    await request.dataverse.upsertByKey(
      payoutRow.entitySet,
      payoutRow.key,
      { [Payout.col.reconciledOn]: new Date(now()).toISOString() },
      { mode: 'updateOnly' },
    );
  }
  reportJournal(options.metrics, request.log, payout.id, journal, written.batches);
  return {
    kind: 'journal',
    payoutId: payout.id,
    journal,
    rowsWritten: written.rows,
    batches: written.batches,
  };
}

/**
 * Whether Stripe lists the payout's balance transactions: an automatic payout, once Stripe has finished
 * reconciling it (`reconciliation_status` no longer `in_progress`). A payout that was paid and then failed
 * stays listable; one that failed before Stripe reconciled it never is.
 */
export function transactionsListed(payout: StripeObject): boolean {
  return payout.automatic === true && payout.reconciliation_status !== 'in_progress';
}

/** What Stripe says now of the payout's coming back to the balance. */
interface PayoutHistory {
  /** The bank returned the payout (`status: failed`). */
  failed: boolean;
  /** The reversal of the payout (`reversed_by`), read fresh from Stripe; null when it was never reversed. */
  reversal: Stripe.Payout | null;
  /** The reversal came to nothing: the bank refused its debit (`failed`) or it was canceled while pending. */
  reversalUndone: ReversalUndone | null;
}

/**
 * Whether the payout came back to the balance, as Stripe says now: it failed (the bank returned it), or a
 * reversal of it (`reversed_by`, read fresh) is under way or done; a reversal that failed or was canceled
 * took nothing back.
 */
export async function payoutReturn(
  stripe: Stripe,
  account: string | null | undefined,
  payout: StripeObject,
): Promise<PayoutReturn | null> {
  if (payout.status === 'failed') return 'failed';
  const history = await readPayoutHistory(stripe, account, payout);
  return history.reversal && !history.reversalUndone ? 'reversed' : null;
}

async function readPayoutHistory(
  stripe: Stripe,
  account: string | null | undefined,
  payout: StripeObject,
): Promise<PayoutHistory> {
  const failed = payout.status === 'failed';
  const reversedBy = idOf(payout.reversed_by);
  if (!reversedBy) return { failed, reversal: null, reversalUndone: null };
  const reversal = await stripe.payouts.retrieve(
    reversedBy,
    {},
    account ? { stripeAccount: account } : undefined,
  );
  const reversalUndone =
    reversal.status === 'failed' ? 'failed' : reversal.status === 'canceled' ? 'canceled' : null;
  return { failed, reversal, reversalUndone };
}

/**
 * Marks on the journal the line sets the payout's history calls for, each with the date it posts on:
 * - the reversal's reversing pair while the reversal stands, and for good once it has been written (it is
 *   among the entry's lines): an exported period must not change, so it is never taken back;
 * - when that reversal then failed or was canceled, the two lines undoing its pair, posted on the day it came
 *   to nothing. A reversal that came to nothing before its pair was written leaves no lines at all;
 * - the failure's pair when the bank returned the payout.
 */
async function markReturns(
  request: ReconcileRequest,
  payout: StripeObject,
  history: PayoutHistory,
  existing: Row[],
  builder: PayoutJournalBuilder,
  stripeOptions: Stripe.RequestOptions | undefined,
  now: () => number,
): Promise<void> {
  const { reversal, reversalUndone, failed } = history;
  if (reversal) {
    const keys = new Set(existing.map((row) => String(row[L.lineKey])));
    const pairWritten = returnLineKeys(payout.id, 'reversed').some((key) => keys.has(key));
    if (pairWritten || (!reversalUndone && !failed))
      builder.markReturned('reversed', utcDate(reversal.created));
    if (pairWritten && reversalUndone)
      builder.markReversalUndone(
        reversalUndone,
        await backInBalanceDate(request, reversal as unknown as StripeObject, false, stripeOptions, now),
      );
  }
  if (failed)
    builder.markReturned('failed', await backInBalanceDate(request, payout, true, stripeOptions, now));
}

/** Unix seconds as a UTC date, `YYYY-MM-DD` (the entry's date is one too). */
const utcDate = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);

/** The payout's arrival date (`arrival_date`, else today): the entry's date and its own lines' posting date. */
function arrivalDate(payout: StripeObject, now: () => number): string {
  return utcDate(typeof payout.arrival_date === 'number' ? payout.arrival_date : Math.floor(now() / 1000));
}

/**
 * The date a payout that failed or was canceled came back to the balance: the date its pair (a failed
 * payout's reversing pair, or the lines undoing a reversal's) posts on. Stripe gives no failure or cancel date
 * on the payout itself, but records the money coming back as a balance transaction, which it names as the
 * payout's `failure_balance_transaction` when the payout fails or is canceled: a `payout_failure` for a
 * failure, a `payout_cancel` for a cancel. Its `created` is when that reached the books (the payout's
 * `arrival_date` is when it was expected at the bank, before it failed).
 * A reversal's own pair posts on the reversal payout's `created` instead: Stripe makes the reversal's balance
 * transaction (the amount back in the balance) with it, so both carry that time; the reversal's
 * `arrival_date` is when the bank account is debited, which is the bank's side.
 * A payout without its failure transaction (not seen from Stripe) posts on the date of the `payout.failed`
 * event being handled when `ownEvent` (the event is the reconciled payout's own), else on the day it is
 * reconciled.
 */
async function backInBalanceDate(
  request: ReconcileRequest,
  payout: StripeObject,
  ownEvent: boolean,
  stripeOptions: Stripe.RequestOptions | undefined,
  now: () => number,
): Promise<string> {
  const failure = payout.failure_balance_transaction;
  if (
    failure &&
    typeof failure === 'object' &&
    typeof (failure as { created?: unknown }).created === 'number'
  )
    return utcDate((failure as { created: number }).created);
  const failureId = idOf(failure);
  if (failureId) {
    const transaction = await request.stripe.balanceTransactions.retrieve(failureId, {}, stripeOptions);
    return utcDate(transaction.created);
  }
  if (ownEvent && request.event?.type === 'payout.failed') return utcDate(request.event.created);
  return utcDate(Math.floor(now() / 1000));
}

function idOf(value: unknown): string | null {
  if (typeof value === 'string') return value || null;
  if (value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string')
    return (value as { id: string }).id;
  return null;
}

/**
 * A manual payout (one made with POST /v1/payouts, or a reversal): Stripe answers a listing of its balance
 * transactions with a 400, since it cannot know which transactions the payout paid out. Its entry says so
 * and has no lines. A reversal's original payout is reconciled again: its entry carries the reversing lines.
 */
async function notReconcilable(
  settings: ReconcilerSettings,
  request: ReconcileRequest,
  payout: StripeObject,
  envelope: EventEnvelope,
): Promise<ReconcileOutcome> {
  const original = idOf(payout.original_payout);
  const reason = original
    ? `Reversal of payout ${original}: the reversing lines are on that payout's journal entry.`
    : 'Manual payout: Stripe lists balance transactions by payout for automatic payouts only, so which ' +
      'transactions this payout paid out is not known. Reconcile it against the Stripe balance instead.';
  const currency = String(payout.currency);
  const existing = await readEntryLines(request.dataverse, payout.id);
  const entry = entryUpsert(payout, envelope, settings.now, {
    [E.total]: toMajor(BigInt(Number(payout.amount)), currency),
    [E.totalDebit]: null,
    [E.totalCredit]: null,
    [E.difference]: null,
    [E.status]: JOURNAL_NOT_RECONCILABLE,
    [E.statusNote]: reason,
  });
  await writeEntryWithLines(request.dataverse, payout.id, entry, { currency, lines: [] }, existing);
  settings.options.metrics?.reconciled('not_reconcilable');
  request.log.info({ payout: payout.id, original }, 'manual payout: journal entry marked Not reconcilable');
  if (original) await reconcileInTurn(settings, { ...request, event: undefined, payout: original });
  return { kind: 'not-reconcilable', payoutId: payout.id, reason };
}

/** Counts the outcome and logs it: an error for a journal that does not balance. */
function reportJournal(
  metrics: ReconciliationMetrics | undefined,
  log: HandlerLogger,
  payoutId: string,
  journal: PayoutJournal,
  batches: number,
): void {
  metrics?.reconciled(journal.balanced ? 'balanced' : 'mismatch');
  if (!journal.balanced) {
    metrics?.mismatch(payoutId);
    log.error(
      {
        payout: payoutId,
        currency: journal.currency,
        payoutAmount: journal.total.toString(),
        difference: journal.difference.toString(),
        transactions: journal.transactions,
      },
      'payout journal does not balance: its balance transactions do not sum to the payout amount; the entry is marked Mismatch',
    );
  } else {
    log.info({ payout: payoutId, transactions: journal.transactions, batches }, 'payout reconciled');
  }
}

/**
 * Upserts in `$batch` requests of `batchSize`, at most `inFlightLimit` in flight. A full batch waits for the
 * oldest in flight to finish, then goes: the pages after it are read and mapped while it is written.
 */
function createBatchWriter(settings: ReconcilerSettings, dataverse: DataverseClient, payoutId: string) {
  const inFlight: Promise<void>[] = [];
  let buffer: BatchOperation[] = [];
  let batches = 0;
  const send = async () => {
    const operations = buffer;
    buffer = [];
    if (inFlight.length >= settings.inFlightLimit) await inFlight.shift();
    batches += 1;
    const sent = dataverse
      .executeBatch(operations, { continueOnError: true })
      .then((results) => checkBatch(results, `balance transactions of ${payoutId}`));
    // A rejection is awaited below; this keeps it from being reported as unhandled meanwhile.
    sent.catch(() => undefined);
    inFlight.push(sent);
  };
  return {
    async add(operation: BatchOperation): Promise<void> {
      buffer.push(operation);
      if (buffer.length >= settings.batchSize) await send();
    },
    /** Sends the last batch and waits for all; resolves to the number of batches sent. */
    async finish(): Promise<number> {
      if (buffer.length) await send();
      for (const pending of inFlight) await pending;
      return batches;
    },
  };
}

async function writeTransactions(
  settings: ReconcilerSettings,
  request: ReconcileRequest,
  payout: StripeObject,
  envelope: EventEnvelope,
  builder: PayoutJournalBuilder,
): Promise<{ rows: number; batches: number }> {
  const { options } = settings;
  const mapping = options.mappings().get(BALANCE_TRANSACTION_MAPPING);
  // `$event.payout` names the payout the transactions are listed under (balance-transactions.yaml).
  const scope = { ...envelope, payout: payout.id } as EventEnvelope;
  const writer = createBatchWriter(settings, request.dataverse, payout.id);
  let rows = 0;
  const pages = balanceTransactionPages(
    request.stripe,
    { payout: payout.id },
    { account: request.account ?? null, rateLimit: options.rateLimit, sleep: options.sleep },
  );
  for await (const page of pages) {
    for (const item of page.data) {
      const object = item as unknown as StripeObject & BalanceTransactionLike;
      builder.add(object);
      const mapped = await applyMapping(mapping, object, scope);
      rows += 1;
      await writer.add({
        kind: 'upsert',
        entitySet: mapped.entitySet,
        key: mapped.key,
        row: bindWithoutRead(mapped),
      });
    }
  }
  return { rows, batches: await writer.finish() };
}

/**
 * The entry's status and, for anything but a plain balanced payout, why, in words. A payout whose reversal
 * came to nothing after its reversing pair was written is Balanced again (it stayed out, and its lines net
 * as a plain payout's do), with a note saying why it has the two pairs.
 */
function entryStatus(payout: StripeObject, journal: PayoutJournal): { status: number; note: string | null } {
  if (!journal.balanced)
    return {
      status: JOURNAL_MISMATCH,
      note: "The payout's balance transactions do not sum to its amount; see Difference.",
    };
  const undone = journal.reversalUndone;
  const reversalNote = undone
    ? `Reversed by payout ${idOf(payout.reversed_by)}, which ` +
      `${undone.how === 'failed' ? 'failed' : 'was canceled'} on ${undone.date}: the reversing lines stay ` +
      `and the two lines posted on ${undone.date} undo them.`
    : null;
  if (journal.returned === 'failed') {
    const bank = [payout.failure_code, payout.failure_message].filter(Boolean).join(': ');
    const failed =
      `The bank returned the payout${bank ? ` (${bank})` : ''}; ` +
      'its amount is back in the Stripe balance.';
    return { status: JOURNAL_FAILED, note: reversalNote ? `${failed} ${reversalNote}` : failed };
  }
  if (journal.returned === 'reversed')
    return {
      status: JOURNAL_REVERSED,
      note: `Reversed by payout ${idOf(payout.reversed_by)}; its amount is back in the Stripe balance.`,
    };
  if (reversalNote) return { status: JOURNAL_BALANCED, note: `${reversalNote} The payout stayed out.` };
  return { status: JOURNAL_BALANCED, note: null };
}

/** Writes the payout's entry by its key with what every entry has plus `fields`; resolves to its id. */
/** The upsert of the payout's entry by its key, with `fields`: the first operation of its change set. */
function entryUpsert(
  payout: StripeObject,
  envelope: EventEnvelope,
  now: () => number,
  fields: Row,
): BatchOperation {
  const currency = String(payout.currency);
  const amount = toMajor(BigInt(Number(payout.amount)), currency);
  return {
    kind: 'upsert',
    entitySet: JournalEntry.entitySetName,
    key: { [E.stripePayoutId]: payout.id },
    changeSet: 'journal',
    row: {
      [E.name]: `Payout ${payout.id} · ${amount} ${currency.toUpperCase()}`,
      [E.stripePayoutId]: payout.id,
      [`${ENTRY_TO_PAYOUT}@odata.bind`]: `/${Payout.entitySetName}(${Payout.col.stripeId}=${odataString(payout.id)})`,
      [E.date]: arrivalDate(payout, now),
      [E.currency]: currency,
      [E.liveMode]: envelope.livemode,
      [E.stripeAccount]: envelope.account,
      ...fields,
    },
  };
}

async function writeJournal(
  request: ReconcileRequest,
  payout: StripeObject,
  journal: PayoutJournal,
  existing: Row[],
  envelope: EventEnvelope,
  now: () => number,
): Promise<void> {
  const currency = journal.currency;
  const { status, note } = entryStatus(payout, journal);
  const entry = entryUpsert(payout, envelope, now, {
    [E.total]: toMajor(journal.total, currency),
    [E.totalDebit]: toMajor(journal.totalDebit, currency),
    [E.totalCredit]: toMajor(journal.totalCredit, currency),
    [E.difference]: toMajor(journal.difference, currency),
    [E.status]: status,
    [E.statusNote]: note,
  });
  await writeEntryWithLines(request.dataverse, payout.id, entry, journal, existing);
}

/**
 * The lines the payout's entry has in Dataverse (id and key), read before anything is written: which of them
 * this run no longer has, and whether a reversal's reversing pair has been written (it then stays).
 */
async function readEntryLines(dataverse: DataverseClient, payoutId: string): Promise<Row[]> {
  const entry = await dataverse.retrieveByKey(
    JournalEntry.entitySetName,
    { [E.stripePayoutId]: payoutId },
    { select: [JournalEntry.primaryId] },
  );
  if (!entry) return [];
  return dataverse.retrieveMultiple(JournalLine.entitySetName, {
    select: [JournalLine.primaryId, L.lineKey],
    filter: `${JournalLine.lookup.journalentryid.value} eq ${String(entry[JournalEntry.primaryId])}`,
  });
}

/**
 * The entry and its lines are written as one change set, so that Dataverse never holds an entry whose status
 * says settled without the lines that status stands for (the sweep does not run a settled entry again): the
 * entry (`entry`, from `entryUpsert`), this run's lines by key, and any line an earlier run wrote (`existing`,
 * from `readEntryLines`) that this one no longer has (a category that dropped out) removed. A reversing pair
 * once written is always among this run's lines (`markReturns`), so it is never removed.
 */
async function writeEntryWithLines(
  dataverse: DataverseClient,
  payoutId: string,
  entry: BatchOperation,
  journal: Pick<PayoutJournal, 'currency' | 'lines'>,
  existing: Row[],
): Promise<void> {
  const currency = journal.currency;
  const keep = new Set(journal.lines.map((line) => line.key));
  const entryPath = `/${JournalEntry.entitySetName}(${E.stripePayoutId}=${odataString(payoutId)})`;
  const operations: BatchOperation[] = [entry];
  for (const line of journal.lines)
    operations.push({
      kind: 'upsert',
      entitySet: JournalLine.entitySetName,
      key: { [L.lineKey]: line.key },
      changeSet: 'journal',
      row: {
        [L.name]: `${line.number}. ${line.description}`,
        [L.lineKey]: line.key,
        [`${LINE_TO_ENTRY}@odata.bind`]: entryPath,
        [L.lineNumber]: line.number,
        [L.gLAccount]: line.account,
        [L.debit]: toMajor(line.debit, currency),
        [L.credit]: toMajor(line.credit, currency),
        [L.category]: line.group,
        [L.description]: line.description,
        [L.currency]: currency,
        [L.postingDate]: line.postingDate,
      },
    });
  for (const row of existing) {
    if (keep.has(String(row[L.lineKey]))) continue;
    operations.push({
      kind: 'delete',
      entitySet: JournalLine.entitySetName,
      id: String(row[JournalLine.primaryId]),
      changeSet: 'journal',
    });
  }
  checkBatch(await dataverse.executeBatch(operations), `journal entry of ${payoutId}`);
}
