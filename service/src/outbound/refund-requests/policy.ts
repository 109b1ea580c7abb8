/**
 * The refund policy as one pure decision over facts already read: may this request be refunded now, must it
 * wait for a finance approver, or is it rejected (and why, in words the requester reads on the form).
 * All amounts are integers in the currency's minor units.
 */
import { formatMinor } from './money';

export interface PolicyUser {
  id: string;
  /** Role names as read from Dataverse. */
  roles: string[];
}

export interface RefundFacts {
  amount: number;
  currency: string;
  /** Captured on the payment. */
  captured: number;
  /** Already refunded on the payment. */
  refunded: number;
  /** Held by the payment's other requests still open (Pending, Awaiting approval, Approved, Processing). */
  inFlight: number;
  /**
   * Refunded, or on its way to a refund, by the payment's other requests without a finance approver: their
   * Stripe refunds whose metadata names none, and those Pending, Approved or Processing that Stripe has no
   * refund of yet (not those waiting for an approver). The threshold weighs it with this request's amount, so
   * that a refund split into requests each under the threshold still needs an approver once together they
   * pass it. Refunds made in Stripe itself are not counted: they are not this policy's to govern.
   */
  unapproved: number;
  /**
   * Requests above this (minor units) need a finance approver; null when no threshold is set for the
   * currency, so that every request in it does.
   */
  threshold: number | null;
  requester: PolicyUser;
  /** The user whose change set the request to Approved, when this change did. */
  approver: PolicyUser | null;
}

export interface PolicyRules {
  requesterRoles: string[];
  approverRoles: string[];
  allowSelfApproval: boolean;
}

export type RefundDecision =
  | { kind: 'reject'; reason: string }
  /** `note` says why an approval that was given does not count, when one was. */
  | { kind: 'awaitApproval'; note: string | null }
  | { kind: 'refund'; approvedBy: string | null };

const holdsAny = (user: PolicyUser, roles: string[]) => user.roles.some((r) => roles.includes(r));

/** Why this approval does not count, or null when it does. */
export function approvalProblem(
  approver: PolicyUser,
  requester: PolicyUser,
  rules: PolicyRules,
): string | null {
  if (!holdsAny(approver, rules.approverRoles)) {
    return `The approval by user ${approver.id} was not accepted: the user holds none of the roles ${rules.approverRoles.join(', ')}.`;
  }
  if (!rules.allowSelfApproval && approver.id.toLowerCase() === requester.id.toLowerCase()) {
    return 'The approval was not accepted: a request cannot be approved by the user who asked for it.';
  }
  return null;
}

export function decideRefund(facts: RefundFacts, rules: PolicyRules): RefundDecision {
  const { currency } = facts;
  if (!holdsAny(facts.requester, rules.requesterRoles)) {
    return {
      kind: 'reject',
      reason: `The requester (user ${facts.requester.id}) holds none of the roles allowed to request refunds: ${rules.requesterRoles.join(', ')}.`,
    };
  }
  if (facts.amount <= 0) return { kind: 'reject', reason: 'The amount to refund must be more than zero.' };
  const balance = facts.captured - facts.refunded - facts.inFlight;
  if (facts.amount > balance) {
    return {
      kind: 'reject',
      reason:
        `The amount ${formatMinor(facts.amount, currency)} is more than the refundable balance of ${formatMinor(Math.max(0, balance), currency)} ` +
        `(captured ${formatMinor(facts.captured, currency)}, refunded ${formatMinor(facts.refunded, currency)}, ` +
        `in other open requests ${formatMinor(facts.inFlight, currency)}).`,
    };
  }
  const problem = facts.approver ? approvalProblem(facts.approver, facts.requester, rules) : null;
  const approvedBy = facts.approver && !problem ? facts.approver.id : null;
  const withoutApprover = facts.amount + facts.unapproved;
  if (withoutApprover > (facts.threshold ?? 0) && !approvedBy) {
    let note = problem;
    if (note === null && facts.threshold === null) note = unlistedNote(currency);
    else if (note === null && facts.amount <= facts.threshold!)
      note = cumulativeNote(withoutApprover, facts.threshold!, currency);
    return { kind: 'awaitApproval', note };
  }
  return { kind: 'refund', approvedBy };
}

/** Why a request in a currency without a threshold waits, in the requester's words. */
export function unlistedNote(currency: string): string {
  return `No approval threshold is set for ${currency.toUpperCase()}: every refund in it needs a finance approver.`;
}

/** Why a request under the threshold on its own waits: with the payment's other unapproved refunds it is over. */
function cumulativeNote(total: number, threshold: number, currency: string): string {
  return (
    `Refunds of this payment without an approver would come to ${formatMinor(total, currency)} with this request, ` +
    `more than the approval threshold of ${formatMinor(threshold, currency)}: a finance approver must approve it.`
  );
}
