/**
 * What a sync issue row says, worked out from the service's own records: one row per Stripe or Dataverse
 * event that ended in the dead-letter queue (the latest of its dead letters speaks for it), one per payout
 * whose journal does not balance. Pure: the sweep reads the facts and writes the rows.
 */
import { Payout, SyncIssue, SyncIssueKind, SyncIssueStatus } from '@stc/solution/tables';
import type { DeadLetter, EventStatus } from '../store/types';

export type IssueStatus = (typeof SyncIssueStatus)[keyof typeof SyncIssueStatus];

/** A sync issue as the service wants it in Dataverse, by column. */
export interface IssueRow {
  key: string;
  row: Record<string, unknown>;
}

export const deadLetterKey = (letter: Pick<DeadLetter, 'source' | 'eventId'>) =>
  `event:${letter.source}:${letter.eventId}`;
export const payoutKey = (payoutId: string) => `payout:${payoutId}`;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** `payment_intent.succeeded` is about a payment_intent; a Dataverse message names its table. */
function objectType(letter: DeadLetter): string {
  if (letter.source === 'stripe') return letter.type.split('.').slice(0, -1).join('.') || letter.type;
  return letter.type;
}

/** The latest dead letter of each event: a retried event that failed again has a newer one. */
export function latestPerEvent(letters: DeadLetter[]): DeadLetter[] {
  const latest = new Map<string, DeadLetter>();
  for (const letter of letters) {
    const seen = latest.get(deadLetterKey(letter));
    if (!seen || letter.id > seen.id) latest.set(deadLetterKey(letter), letter);
  }
  return [...latest.values()];
}

/**
 * The issue's status: open while the event sits in the queue; once an operator or a user retried it, in
 * progress until the event is applied (resolved) or fails again (a newer dead letter, open again);
 * discarded when it was dropped.
 */
export function deadLetterStatus(letter: DeadLetter, eventStatus: EventStatus | null): IssueStatus {
  if (letter.resolution === null) return SyncIssueStatus.open;
  if (letter.resolution === 'discarded') return SyncIssueStatus.discarded;
  if (eventStatus === 'pending' || eventStatus === 'processing') return SyncIssueStatus.retry_requested;
  if (eventStatus === 'discarded') return SyncIssueStatus.discarded;
  if (eventStatus === 'dead') return SyncIssueStatus.open;
  return SyncIssueStatus.resolved;
}

export interface IssueContext {
  liveMode: boolean;
  /** First time the issue was seen: the oldest dead letter of the event. */
  firstSeenMs: number;
}

export function deadLetterIssue(
  letter: DeadLetter,
  status: IssueStatus,
  context: IssueContext,
  nowMs: number,
): IssueRow {
  const c = SyncIssue.col;
  const key = deadLetterKey(letter);
  const finished = status === SyncIssueStatus.resolved || status === SyncIssueStatus.discarded;
  return {
    key,
    row: {
      [c.name]: `${letter.type} ${letter.eventId}`.slice(0, 400),
      [c.kind]: SyncIssueKind.dead_letter,
      [c.status]: status,
      [c.eventId]: letter.eventId,
      [c.eventType]: letter.type.slice(0, 100),
      [c.stripeObjectId]: letter.objectId || null,
      [c.stripeObjectType]: objectType(letter).slice(0, 100),
      [c.errorCode]: letter.errorCode?.slice(0, 100) ?? null,
      [c.errorMessage]: letter.error.slice(0, 4000),
      [c.attempts]: letter.attempts,
      [c.firstSeen]: iso(context.firstSeenMs),
      [c.lastSeen]: iso(letter.createdAtMs),
      [c.resolvedOn]: finished ? iso(letter.resolvedAtMs ?? nowMs) : null,
      [c.liveMode]: context.liveMode,
      [c.stripeAccount]: letter.account || null,
    },
  };
}

export interface Mismatch {
  payoutId: string;
  /** The payout row in Dataverse, when the journal links one. */
  payoutRowId: string | null;
  difference: number;
  currency: string;
  liveMode: boolean;
  account: string | null;
  /** When the journal was last written (the mismatch last seen). */
  seenMs: number;
}

export function mismatchIssue(mismatch: Mismatch, status: IssueStatus, nowMs: number): IssueRow {
  const c = SyncIssue.col;
  const difference = `${mismatch.difference} ${mismatch.currency.toUpperCase()}`;
  const finished = status === SyncIssueStatus.resolved || status === SyncIssueStatus.discarded;
  return {
    key: payoutKey(mismatch.payoutId),
    row: {
      [c.name]: `Payout ${mismatch.payoutId} does not reconcile`,
      [c.kind]: SyncIssueKind.reconciliation_mismatch,
      [c.status]: status,
      [c.stripeObjectId]: mismatch.payoutId,
      [c.stripeObjectType]: 'payout',
      [c.errorCode]: 'journal_mismatch',
      [c.errorMessage]: `The payout's balance transactions differ from its amount by ${difference}.`,
      [c.lastSeen]: iso(mismatch.seenMs),
      [c.resolvedOn]: finished ? new Date(nowMs).toISOString() : null,
      [c.liveMode]: mismatch.liveMode,
      [c.stripeAccount]: mismatch.account,
      ...(mismatch.payoutRowId
        ? {
            [`${SyncIssue.lookup.payoutid.bind.stc_payout}@odata.bind`]: `/${Payout.entitySetName}(${mismatch.payoutRowId})`,
          }
        : {}),
    },
  };
}
