/**
 * A decision bound to the amount it was made on, and the note a request decided again on a changed amount
 * shows (what amount a change saw, and whether it changed since, are governed-requests' amountSeenBy and
 * changedSince, shared with refund requests).
 */
import { formatMinor, majorToMinor } from '../refund-requests/money';

/**
 * The amount a decision was made on, which a later decision of the same request is checked against: `after`
 * says what happened to it (an approval given, a decision the request in Sent carries).
 */
export interface BoundAmount {
  amount: unknown;
  after: 'approved' | 'decided';
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
