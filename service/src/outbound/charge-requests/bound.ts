/**
 * A decision bound to the amount it was made on: what amount a change to the request saw, whether the row's
 * amount is still that one, and the note a request decided again on a changed amount shows.
 */
import { ChargeRequest, ChargeRequestStatus } from '@stc/solution/tables';
import type { DataverseChange } from '../../dataverse/change';
import { formatMinor, majorToMinor } from '../refund-requests/money';

const R = ChargeRequest.col;

/**
 * The amount a decision was made on, which a later decision of the same request is checked against: `after`
 * says what happened to it (an approval given, a decision the request in Sent carries).
 */
export interface BoundAmount {
  amount: unknown;
  after: 'approved' | 'decided';
}

/**
 * The amount a change saw: the one a Create set or an update set, else the row's amount after the change (the
 * post-image the update step registers); undefined when the change carries none. An update that itself set
 * the amount of a request already Sent saw no amount a decision was made on: the amount changed after it.
 */
export function amountSeenBy(change: DataverseChange): unknown {
  if (R.amount in change.attributes) {
    const sentBefore =
      change.message === 'Update' &&
      !(R.status in change.attributes) &&
      change.postImage?.[R.status] === ChargeRequestStatus.sent;
    return sentBefore ? undefined : change.attributes[R.amount];
  }
  return change.postImage?.[R.amount];
}

/** Whether the request's amount is other than `seen` (an amount not known counts as changed). */
export function changedSince(seen: unknown, amount: unknown): boolean {
  const before = Number(seen);
  return seen === undefined || seen === null || !Number.isFinite(before) || before !== Number(amount);
}

/** Why a request whose amount changed after its approval or decision waits, in the requester's words. */
export function amountChangedNote(bound: BoundAmount, amount: unknown, currency: string): string {
  const show = (value: unknown) => {
    try {
      return formatMinor(majorToMinor(value, currency), currency);
    } catch {
      return String(value);
    }
  };
  const now = show(amount);
  if (bound.amount === undefined || bound.amount === null)
    return `The amount was changed to ${now} after the request was decided: the request was decided again, and the new amount needs a finance approver.`;
  const what =
    bound.after === 'approved'
      ? 'after it was approved: the approval was for the old amount, and the new one needs its own'
      : 'after the request was decided: the new amount needs a finance approver';
  return `The amount was changed from ${show(bound.amount)} to ${now} ${what}.`;
}
