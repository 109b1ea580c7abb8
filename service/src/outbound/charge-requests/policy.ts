/**
 * The charge policy as one pure decision over facts already read: may this request charge the customer's
 * saved payment method now, must it wait for a finance approver, or is it refused (and why, in words the
 * requester reads on the request). Nothing reaches Stripe unless it passes: the requester holds a role
 * allowed to ask for charges (read from Dataverse), the amount is a positive amount of its currency, the
 * customer has a Stripe customer of the mode the service serves with a saved payment method, the order or
 * invoice named (if any) is there, unpaid, and the charge is for its total in its currency (the charge pays
 * it), and an amount above its currency's threshold is approved by someone else who holds an approver role.
 * The threshold weighs the request together with the customer's other charges made without an approver (see
 * `unapproved`), so that a charge split into requests each under the threshold still needs an approver once
 * together they pass it.
 */
import { approvalProblem, type PolicyUser } from '../refund-requests/policy';
import { formatMinor } from '../refund-requests/money';
import type { CustomerFacts, DocumentFacts, SavedPaymentMethod } from './facts';

export interface ChargeRules {
  requesterRoles: string[];
  approverRoles: string[];
  allowSelfApproval: boolean;
  /** Whether the service serves live mode; a customer of the other mode is refused. */
  livemode: boolean;
}

export interface ChargeFacts {
  requester: PolicyUser;
  /** The user whose change set the request to Approved, when this change did. */
  approver: PolicyUser | null;
  /** Minor units of `currency`, or why the request's amount is not one. */
  amount: number | { problem: string };
  currency: string;
  /** Charges above this (minor units) need an approver; null when none is set for the currency. */
  threshold: number | null;
  /**
   * Charged, or on their way to a charge, by the same customer's other requests in the currency without an
   * approver (minor units): their PaymentIntents of the last UNAPPROVED_WINDOW_HOURS whose metadata names no
   * approver (not canceled or failed), and those Pending, Approved or Sent that Stripe has no PaymentIntent of
   * yet. Weighed with this request's amount against the threshold. Requests waiting for an approver, refused or
   * failed are not counted, nor charges made in Stripe itself: they are not this policy's to govern.
   */
  unapproved: number;
  /** Null when the request names none, or the row is gone (`customerNamed`). */
  customer: CustomerFacts | null;
  customerNamed: boolean;
  /** Both an order and an invoice named. */
  bothDocuments: boolean;
  document: DocumentFacts | null;
  /** Read from Stripe only when everything before it passes; undefined when it was not read. */
  paymentMethod?: SavedPaymentMethod;
  /** The Stripe customer's own mode, as Stripe reports it. */
  stripeLivemode?: boolean | null;
}

/** What a request comes to on Stripe: the customer's saved payment method, off session. */
export interface ChargePlan {
  customer: string;
  paymentMethod: string;
  amount: number;
  currency: string;
  stripeAccount: string | null;
}

export type ChargeDecision =
  | { kind: 'refuse'; reason: string }
  /** `note` says why an approval that was given does not count, or that the currency has no threshold. */
  | { kind: 'awaitApproval'; note: string | null }
  | { kind: 'charge'; plan: ChargePlan; approvedBy: string | null };

const modeName = (live: boolean) => (live ? 'live' : 'test');

/**
 * How far back a customer's succeeded charges without an approver count against the threshold with a new
 * request: a rolling day, the span over which a charge split into several would be made. Requests still on
 * their way count whatever their age.
 */
export const UNAPPROVED_WINDOW_HOURS = 24;

/**
 * Whether the request can be charged at all, before the saved payment method is asked of Stripe. A request
 * `resuming` from Sent was decided with its document unpaid; the document may show this very charge now (a
 * crash after it was written), so its being paid is no reason to stop: the same key gives the same outcome.
 */
export function preflight(
  facts: ChargeFacts,
  rules: ChargeRules,
  options: { resuming?: boolean } = {},
): { problem: string } | null {
  const { requester } = facts;
  if (!requester.roles.some((role) => rules.requesterRoles.includes(role)))
    return {
      problem: `The requester (user ${requester.id}) holds none of the roles allowed to request charges of a saved payment method: ${rules.requesterRoles.join(', ')}.`,
    };
  if (typeof facts.amount !== 'number') return { problem: facts.amount.problem };
  if (facts.amount <= 0) return { problem: 'The amount to charge must be more than zero.' };
  if (facts.customerNamed && !facts.customer) return { problem: 'The account or contact no longer exists.' };
  const customer = facts.customer;
  if (!customer) return { problem: 'The request names no account or contact to charge.' };
  const who = `The ${customer.kind}${customer.name ? ` ${customer.name}` : ''}`;
  if (!customer.stripeCustomerId)
    return { problem: `${who} has no Stripe customer: sync the customer to Stripe first, then ask again.` };
  if (customer.livemode !== null && customer.livemode !== rules.livemode)
    return {
      problem: `${who} is a Stripe ${modeName(customer.livemode)}-mode customer, and this service serves ${modeName(rules.livemode)} mode only.`,
    };
  if (facts.bothDocuments)
    return { problem: 'The request names both an order and an invoice: name the one the charge pays.' };
  const document = facts.document;
  if (document) {
    const what = `The ${document.kind === 'salesorder' ? 'order' : 'invoice'}${document.number ? ` ${document.number}` : ''}`;
    if (document.missing) return { problem: `${what} no longer exists.` };
    if (document.settled && !options.resuming) return { problem: `${what} is paid or closed already.` };
    // A charge that names a document pays it: in its currency, for its total.
    if (document.currency !== facts.currency)
      return {
        problem: `${what} is in ${document.currency?.toUpperCase() ?? 'no currency'}, and the charge in ${facts.currency.toUpperCase()}: a charge that pays it is in its currency.`,
      };
    if (document.totalMinor !== facts.amount)
      return {
        problem: `${what} totals ${document.totalMinor === null ? 'no amount that can be charged' : formatMinor(document.totalMinor, facts.currency)}, and the charge is for ${formatMinor(facts.amount, facts.currency)}: a charge that pays it is for its total.`,
      };
  }
  return null;
}

export function decideCharge(facts: ChargeFacts, rules: ChargeRules): ChargeDecision {
  const early = preflight(facts, rules);
  if (early) return { kind: 'refuse', reason: early.problem };
  const customer = facts.customer!;
  const amount = facts.amount as number;
  if (
    facts.stripeLivemode !== undefined &&
    facts.stripeLivemode !== null &&
    facts.stripeLivemode !== rules.livemode
  )
    return {
      kind: 'refuse',
      reason: `The Stripe customer ${customer.stripeCustomerId} is in ${modeName(facts.stripeLivemode)} mode, and this service serves ${modeName(rules.livemode)} mode only.`,
    };
  const method = facts.paymentMethod;
  if (!method) return { kind: 'refuse', reason: 'The saved payment method could not be read.' };
  if ('problem' in method) return { kind: 'refuse', reason: method.problem };
  const problem = facts.approver
    ? approvalProblem(facts.approver, facts.requester, {
        requesterRoles: rules.requesterRoles,
        approverRoles: rules.approverRoles,
        allowSelfApproval: rules.allowSelfApproval,
      })
    : null;
  const approvedBy = facts.approver && !problem ? facts.approver.id : null;
  const withoutApprover = amount + facts.unapproved;
  if (withoutApprover > (facts.threshold ?? 0) && !approvedBy)
    return { kind: 'awaitApproval', note: problem ?? thresholdNote(facts, amount, withoutApprover) };
  return {
    kind: 'charge',
    approvedBy,
    plan: {
      customer: customer.stripeCustomerId!,
      paymentMethod: method.id,
      amount,
      currency: facts.currency,
      stripeAccount: customer.stripeAccount,
    },
  };
}

/** Why a request without an approval that counts waits, in the requester's words. */
function thresholdNote(facts: ChargeFacts, amount: number, withoutApprover: number): string {
  const { currency, threshold } = facts;
  if (threshold === null)
    return `No approval threshold is set for ${currency.toUpperCase()}: every charge in it needs a finance approver.`;
  if (amount > threshold)
    return `${formatMinor(amount, currency)} is above the approval threshold of ${formatMinor(threshold, currency)}: a finance approver has to approve it.`;
  return (
    `Charges of this customer without an approver (those on their way, and those made in the last ${UNAPPROVED_WINDOW_HOURS} hours) ` +
    `would come to ${formatMinor(withoutApprover, currency)} with this request, more than the approval threshold of ` +
    `${formatMinor(threshold, currency)}: a finance approver has to approve it.`
  );
}
