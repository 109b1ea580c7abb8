/**
 * The payment link policy as one pure decision over facts already read: may this user have a Stripe payment
 * page made for this quote, order or invoice, and if not, why (in words the requester reads on the request).
 */
import { QuoteStatecode, StripePaymentStatus } from '@stc/solution/tables';
import type { PolicyUser } from '../refund-requests/policy';
import type { PayableDocument, PaymentInProgress } from './documents';
import { checkoutPlan, label, type CheckoutLine } from './lines';

export interface PaymentLinkFacts {
  requester: PolicyUser;
  /** The document the request names; null when it names none, both, or one that is gone. */
  document: PayableDocument | null;
  /** Why the request names no document it can be about, when it does not. */
  documentProblem?: string;
  /** The other requests for the document still Processing: a page being made for it now. */
  pagesBeingMade?: number;
}

export interface PaymentLinkRules {
  requesterRoles: string[];
}

export type PaymentLinkDecision =
  { kind: 'reject'; reason: string } | { kind: 'create'; lines: CheckoutLine[]; total: number };

/** A document's payment status that says it has been paid already (refunds and disputes came after a payment). */
const PAID = new Set<number>([
  StripePaymentStatus.paid,
  StripePaymentStatus.partially_refunded,
  StripePaymentStatus.refunded,
  StripePaymentStatus.disputed,
]);
/**
 * statecode of an order canceled (2), fulfilled (3) or invoiced (4), which Dynamics 365 no longer lets anyone
 * edit, and of a paid (2) or canceled (3) invoice; a quote is payable only while Active (1): a draft (0) is not
 * yet offered, a won (2) or closed (3) one is done with.
 */
const CLOSED: Record<PayableDocument['kind'], Record<number, string>> = {
  quote: {
    [QuoteStatecode.Draft]: 'a draft: only an Active quote can be paid; activate it, then ask again',
    [QuoteStatecode.Won]: 'won already',
    [QuoteStatecode.Closed]: 'closed (lost, canceled or revised)',
  },
  salesorder: {
    2: 'canceled',
    3: 'fulfilled',
    4: 'invoiced: ask for a payment page on its invoice',
  },
  invoice: { 2: 'paid', 3: 'canceled' },
};

const IN_PROGRESS_WORDS: Record<PaymentInProgress, string> = {
  requires_capture: 'held for capture',
  processing: 'processing',
  requires_action: 'waiting for the customer',
  requires_confirmation: 'waiting for the customer',
  pending: 'pending',
};

export function decidePaymentLink(facts: PaymentLinkFacts, rules: PaymentLinkRules): PaymentLinkDecision {
  if (!facts.requester.roles.some((role) => rules.requesterRoles.includes(role))) {
    return {
      kind: 'reject',
      reason: `The requester (user ${facts.requester.id}) holds none of the roles allowed to request payment links: ${rules.requesterRoles.join(', ')}.`,
    };
  }
  const document = facts.document;
  if (!document)
    return {
      kind: 'reject',
      reason: facts.documentProblem ?? 'The request names no quote, order or invoice.',
    };
  const what = `The ${label(document)}${document.number ? ` ${document.number}` : ''}`;
  if (document.paymentStatus !== null && PAID.has(document.paymentStatus))
    return { kind: 'reject', reason: `${what} is paid already.` };
  if (document.paymentInProgress)
    return {
      kind: 'reject',
      reason: `${what} has a Stripe payment ${IN_PROGRESS_WORDS[document.paymentInProgress]}, which may still pay it: see it through (capture or cancel a hold), then ask again.`,
    };
  if (document.paymentStatus === StripePaymentStatus.partially_paid)
    return {
      kind: 'reject',
      reason: `${what} is partly paid already (its lines changed after its page was paid): a new page would charge its whole total again. Collect the rest another way.`,
    };
  const closed = document.statecode === null ? undefined : CLOSED[document.kind][document.statecode];
  if (closed) return { kind: 'reject', reason: `${what} is ${closed}.` };
  // A page being made now would be made after this one's check for open pages: the two could both be paid.
  if (facts.pagesBeingMade)
    return {
      kind: 'reject',
      reason: `${what} has a payment page being made by another request, still Processing: see its outcome, then ask again (a new request replaces the page it made).`,
    };
  const plan = checkoutPlan(document);
  if ('problem' in plan) return { kind: 'reject', reason: plan.problem };
  return { kind: 'create', lines: plan.lines, total: plan.total };
}
