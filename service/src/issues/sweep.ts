/**
 * Keeps the stc_syncissue table in step with the service, one pass at a time:
 *
 * 1. requests first: a finance user who set an issue to "Retry requested" or "Discard requested" gets the
 *    event queued again or dropped from the dead-letter queue (or the payout reconciled again);
 * 2. every dead letter becomes, or updates, the issue of its event; an event retried and applied since is
 *    resolved, one dropped is discarded;
 * 3. every payout journal that does not balance is an open issue; one that balances again is resolved.
 *
 * The pass reads everything it decides from (the store, the journals, the issues' own status), so it can stop
 * at any point and the next pass finishes the work; a row is written only when what it says changed.
 */
import { JournalEntry, JournalStatus, SyncIssue, SyncIssueKind, SyncIssueStatus } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../dataverse/types';
import type { HandlerLogger } from '../pipeline/handler';
import { startSchedule, type Schedule } from '../pipeline/schedule';
import type { DeadLetter, EventStatus, Store } from '../store/types';
import {
  deadLetterIssue,
  deadLetterKey,
  deadLetterStatus,
  latestPerEvent,
  mismatchIssue,
  payoutKey,
  type IssueRow,
  type IssueStatus,
  type Mismatch,
} from './rows';

export interface IssueSweepOptions {
  store: Store;
  dataverse: DataverseClient;
  log: HandlerLogger;
  /** The mode the service runs in: the issues it writes carry it. */
  liveMode: boolean;
  /** Reconciles one payout again (a retry asked on a mismatch); absent, such a request is answered as not possible. */
  reconcilePayout?: (payoutId: string, account: string | null) => Promise<void>;
  now?: () => number;
}

export interface IssueSweepResult {
  written: number;
  retried: number;
  discarded: number;
  open: number;
}

/** What was last written per issue key, so an unchanged issue costs no request. */
export type WrittenIssues = Map<string, string>;

const PAGE = 500;
const c = SyncIssue.col;

async function allDeadLetters(store: Store): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.listDeadLetters({ includeResolved: true, limit: PAGE, offset });
    letters.push(...page);
    if (page.length < PAGE) return letters;
  }
}

/**
 * The issues a user or the service may still act on, by key: those not finished, and the payouts a user
 * discarded (they stay discarded while their journal stays as it was).
 */
async function trackedIssues(dataverse: DataverseClient): Promise<Map<string, Row>> {
  const live = [SyncIssueStatus.open, SyncIssueStatus.retry_requested, SyncIssueStatus.discard_requested];
  const discardedPayouts = `(${c.kind} eq ${SyncIssueKind.reconciliation_mismatch} and ${c.status} eq ${SyncIssueStatus.discarded})`;
  const rows = await dataverse.retrieveMultiple(SyncIssue.entitySetName, {
    select: [SyncIssue.primaryId, c.issueKey, c.kind, c.status, c.stripeObjectId, c.stripeAccount],
    filter: [...live.map((status) => `${c.status} eq ${status}`), discardedPayouts].join(' or '),
  });
  return new Map(rows.map((row) => [String(row[c.issueKey]), row]));
}

interface Pass {
  options: IssueSweepOptions;
  written: WrittenIssues;
  result: IssueSweepResult;
  nowMs: number;
}

async function write(pass: Pass, issue: IssueRow): Promise<void> {
  const fingerprint = JSON.stringify(issue.row);
  if (pass.written.get(issue.key) === fingerprint) return;
  await pass.options.dataverse.upsertByKey(
    SyncIssue.entitySetName,
    { [c.issueKey]: issue.key },
    { [c.issueKey]: issue.key, ...issue.row },
  );
  pass.written.set(issue.key, fingerprint);
  pass.result.written += 1;
}

/** Carries out what users asked on open issues; a payout's issue in `tracked` takes its new status. */
async function answerRequests(pass: Pass, tracked: Map<string, Row>, letters: DeadLetter[]): Promise<void> {
  const { store, reconcilePayout, log } = pass.options;
  const openLetters = new Map(
    letters.filter((letter) => letter.resolution === null).map((letter) => [deadLetterKey(letter), letter]),
  );
  for (const [key, issue] of tracked) {
    const status = issue[c.status];
    if (status !== SyncIssueStatus.retry_requested && status !== SyncIssueStatus.discard_requested) continue;
    const retry = status === SyncIssueStatus.retry_requested;
    if (issue[c.kind] === SyncIssueKind.dead_letter) {
      const letter = openLetters.get(key);
      // Already acted on (by an operator, or an earlier pass): the dead letter pass below says the outcome.
      if (!letter) continue;
      const done = retry
        ? await store.retryDeadLetter(letter.id, pass.nowMs)
        : await store.discardDeadLetter(letter.id, pass.nowMs);
      if (done) pass.result[retry ? 'retried' : 'discarded'] += 1;
      log.info({ issue: key, deadLetter: letter.id, retry, done }, 'sync issue request carried out');
      continue;
    }
    // A payout: the journal pass below writes the issue with the status taken here.
    tracked.set(key, { ...issue, [c.status]: retry ? SyncIssueStatus.open : SyncIssueStatus.discarded });
    if (!retry) {
      pass.result.discarded += 1;
      continue;
    }
    if (!reconcilePayout) {
      log.warn({ issue: key }, 'this service cannot reconcile a payout again; the issue stays open');
      continue;
    }
    try {
      await reconcilePayout(
        String(issue[c.stripeObjectId] ?? ''),
        (issue[c.stripeAccount] as string | null) || null,
      );
      pass.result.retried += 1;
    } catch (error) {
      log.warn({ issue: key, err: error }, 'payout could not be reconciled again; the issue stays open');
    }
  }
}

async function syncDeadLetters(pass: Pass, letters: DeadLetter[]): Promise<void> {
  const firstSeen = new Map<string, number>();
  for (const letter of letters) {
    const key = deadLetterKey(letter);
    firstSeen.set(key, Math.min(firstSeen.get(key) ?? letter.createdAtMs, letter.createdAtMs));
  }
  for (const letter of latestPerEvent(letters)) {
    let eventStatus: EventStatus | null = null;
    if (letter.resolution === 'retried')
      eventStatus = (await pass.options.store.getEvent(letter.inboxId))?.status ?? null;
    const status = deadLetterStatus(letter, eventStatus);
    if (status === SyncIssueStatus.open) pass.result.open += 1;
    const context = { liveMode: pass.options.liveMode, firstSeenMs: firstSeen.get(deadLetterKey(letter))! };
    await write(pass, deadLetterIssue(letter, status, context, pass.nowMs));
  }
}

function mismatchOf(row: Row): Mismatch {
  return {
    payoutId: String(row[JournalEntry.col.stripePayoutId]),
    payoutRowId: (row[JournalEntry.lookup.payoutid.value] as string | null) ?? null,
    difference: Number(row[JournalEntry.col.difference] ?? 0),
    currency: String(row[JournalEntry.col.currency] ?? ''),
    liveMode: Boolean(row[JournalEntry.col.liveMode]),
    account: (row[JournalEntry.col.stripeAccount] as string | null) || null,
    seenMs: Date.parse(String(row[JournalEntry.col.modifiedOn] ?? '')) || 0,
  };
}

async function syncMismatches(pass: Pass, tracked: Map<string, Row>): Promise<void> {
  const journals = await pass.options.dataverse.retrieveMultiple(JournalEntry.entitySetName, {
    select: [
      JournalEntry.col.stripePayoutId,
      JournalEntry.lookup.payoutid.value,
      JournalEntry.col.difference,
      JournalEntry.col.currency,
      JournalEntry.col.liveMode,
      JournalEntry.col.stripeAccount,
      JournalEntry.col.modifiedOn,
    ],
    filter: `${JournalEntry.col.status} eq ${JournalStatus.mismatch}`,
  });
  const mismatched = new Set<string>();
  for (const journal of journals) {
    const mismatch = mismatchOf(journal);
    mismatched.add(payoutKey(mismatch.payoutId));
    const current = tracked.get(payoutKey(mismatch.payoutId));
    // A user's discard stands while the journal stays as it was; a pending request is answered first.
    const status = (current?.[c.status] as IssueStatus | undefined) ?? SyncIssueStatus.open;
    if (status === SyncIssueStatus.open) pass.result.open += 1;
    await write(pass, mismatchIssue(mismatch, status, pass.nowMs));
  }
  // A payout whose journal balances now (reconciled again, or corrected) is resolved, discarded or not.
  for (const [key, issue] of tracked) {
    if (issue[c.kind] !== SyncIssueKind.reconciliation_mismatch || mismatched.has(key)) continue;
    await write(pass, {
      key,
      row: { [c.status]: SyncIssueStatus.resolved, [c.resolvedOn]: new Date(pass.nowMs).toISOString() },
    });
  }
}

/** One pass over requests, dead letters and journals. `written` carries over between passes. */
export async function syncIssues(
  options: IssueSweepOptions,
  written: WrittenIssues = new Map(),
): Promise<IssueSweepResult> {
  const pass: Pass = {
    options,
    written,
    result: { written: 0, retried: 0, discarded: 0, open: 0 },
    nowMs: (options.now ?? Date.now)(),
  };
  const tracked = await trackedIssues(options.dataverse);
  // A request is a user's edit: what was last written no longer stands for the row.
  for (const [key, issue] of tracked) {
    const status = issue[c.status];
    if (status === SyncIssueStatus.retry_requested || status === SyncIssueStatus.discard_requested)
      written.delete(key);
  }
  const letters = await allDeadLetters(options.store);
  await answerRequests(pass, tracked, letters);
  // Read the queue again only when a request just changed it.
  const changed = pass.result.retried + pass.result.discarded > 0;
  await syncDeadLetters(pass, changed ? await allDeadLetters(options.store) : letters);
  await syncMismatches(pass, tracked);
  return pass.result;
}

/** Passes every `intervalMs`; the written issues carry over from pass to pass. */
export function startIssueSweep(
  options: IssueSweepOptions & { intervalMs: number; onSweep?: (result: IssueSweepResult) => void },
): Schedule {
  const written: WrittenIssues = new Map();
  return startSchedule({
    what: 'sync issue sweep',
    intervalMs: options.intervalMs,
    log: options.log,
    run: () => syncIssues(options, written),
    onRun: options.onSweep,
  });
}
