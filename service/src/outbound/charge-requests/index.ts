/**
 * Off-session charges from Dynamics 365: a user's `stc_chargerequest` row (Charge saved card… on an account or
 * contact) becomes one Stripe PaymentIntent of the customer's saved payment method, confirmed off session,
 * under policy (policy.ts). Each change to the row arrives as a Dataverse webhook; the handler re-reads the row
 * and acts from its current status only, as the refund requests do:
 *
 *   Pending ──policy──▶ Refused | Awaiting approval | Sent ──Stripe──▶ Succeeded | Failed
 *   Approved (set by a user) ──policy, approver checked──▶ the same outcomes
 *   Sent (a crash, Stripe 5xx or no answer mid-way) ──▶ resumed: the PaymentIntent made is looked up, else the
 *   same one asked for under the same idempotency key
 *   Sent, Stripe holding the charge (`processing`: a bank debit) ──the payment's events──▶ Succeeded | Failed
 *
 * A decision is bound to the amount its change saw (the amount a Create set, the row's amount in an approval's
 * post-image): an approval counts only for the amount approved, and a request whose amount was changed while
 * its charge waited for a retry is decided again, never charged the new amount on the old decision. A request
 * Stripe already has a PaymentIntent of (the one its row names, or one whose metadata names it) is never
 * decided or charged again, whatever its status is set back to: its outcome is written again from that
 * PaymentIntent. It is looked up before every create, so a request charges once even past the 24 hours Stripe
 * keeps an idempotency key.
 *
 * A decline (`authentication_required` included: the customer is not there to authenticate) fails the request
 * with Stripe's code and message; nothing is retried blindly. A charge naming an order or invoice is for its
 * total and pays it: the document is marked paid (an invoice closed as Paid) as a paid payment link marks it.
 * The payment itself comes back through Stripe's events as every payment does (its metadata names the order or
 * invoice paid, so its row links to it); the request links to the payment row once it is there, and a charge
 * Stripe held is completed from those events (write/charge-outcome.ts). No card or bank account data is read
 * into or written to Dataverse.
 */
import type Stripe from 'stripe';
import { StcChargeRequestStatus } from '@stc/solution';
import { ChargeRequest, Payment } from '@stc/solution/tables';
import type { DataverseChange } from '../../dataverse/change';
import { minorToMajor, MoneyError } from '../../mapping';
import type { DataverseChangeHandler, SyncContext } from '../../pipeline/handler';
import { DEFAULT_OUTBOUND_SETTINGS, isGuid, type OutboundSettings } from '../../config/outbound';
import {
  chargeOutcomeOf,
  heldNote,
  markDocumentPaid,
  type PaymentOfRequest,
} from '../../write/charge-outcome';
import {
  advanceWithRetries,
  amountSeenBy,
  changedSince,
  keepFinished,
  reopenedFrom,
  requestChangeHandler,
  setByUser,
  type FinishedRequests,
  type SeenByChange,
} from '../governed-requests';
import { majorToMinor } from '../refund-requests/money';
import { userWithRoles } from '../refund-requests/requests';
import { approvalThresholdReader, thresholdIn, type ThresholdSource } from '../refund-requests/thresholds';
import { amountChangedNote, type BoundAmount } from './bound';
import {
  readCustomer,
  readDocument,
  savedPaymentMethod,
  type CustomerFacts,
  type DocumentFacts,
} from './facts';
import {
  decideCharge,
  preflight,
  UNAPPROVED_WINDOW_HOURS,
  type ChargeDecision,
  type ChargeFacts,
  type ChargePlan,
  type ChargeRules,
} from './policy';
import { finish, otherRequests, readRequest, Status, transition, type ChargeRequestRow } from './requests';
import { charge, findCharge, recentCharges, unapprovedCharges } from './stripe-charge';
import { retireOpenPages } from '../../inbound/orders/payment-links';

export {
  decideCharge,
  preflight,
  UNAPPROVED_WINDOW_HOURS,
  type ChargeDecision,
  type ChargeFacts,
  type ChargeRules,
} from './policy';
export { paymentIntentParams, REQUEST_METADATA_KEY } from './stripe-charge';
export { savedPaymentMethod, type SavedPaymentMethod } from './facts';

/** Dataverse's environment variable of the charge thresholds; CHARGE_APPROVAL_THRESHOLDS when it has none. */
export const CHARGE_THRESHOLDS: ThresholdSource = {
  variable: 'stc_ChargeApprovalThresholds',
  configName: 'CHARGE_APPROVAL_THRESHOLDS',
};

const R = ChargeRequest.col;

export interface ChargeRequestsHandlerOptions {
  /** From the service configuration (`config.outbound`); default: the documented defaults. */
  settings?: OutboundSettings;
  now?: () => Date;
}

interface Governance {
  rules: ChargeRules;
  threshold: ReturnType<typeof approvalThresholdReader>;
  now: () => Date;
}

export function createChargeRequestsHandler(
  options: ChargeRequestsHandlerOptions = {},
): DataverseChangeHandler {
  const settings = options.settings ?? DEFAULT_OUTBOUND_SETTINGS;
  const defaults = DEFAULT_OUTBOUND_SETTINGS;
  const g: Governance = {
    rules: {
      requesterRoles: settings.chargeRequesterRoles ?? defaults.chargeRequesterRoles ?? [],
      approverRoles: settings.chargeApproverRoles ?? defaults.chargeApproverRoles ?? [],
      allowSelfApproval: settings.allowSelfApproval,
      livemode: settings.stripeMode === 'live',
    },
    threshold: approvalThresholdReader(
      {
        approvalThresholds: settings.chargeApprovalThresholds ?? defaults.chargeApprovalThresholds ?? {},
        settingsCacheMs: settings.settingsCacheMs,
      },
      Date.now,
      CHARGE_THRESHOLDS,
    ),
    now: options.now ?? (() => new Date()),
  };
  return requestChangeHandler(
    {
      resource: 'charge-requests',
      table: { logicalName: ChargeRequest.logicalName, noun: 'charge request' },
      settings,
      stuck: {
        entitySetName: ChargeRequest.entitySetName,
        statusColumn: R.status,
        failureReasonColumn: R.failureReason,
        open: [Status.pending, Status.approved, Status.sent],
      },
    },
    async (change, context) => {
      const userSetSent = setByUser(change, R.status, Status.sent);
      const seen: SeenByChange = {
        approverId: approverOf(change),
        // A request in Sent is past its decision.
        amount: amountSeenBy(change, R, StcChargeRequestStatus.Sent),
        reopened: reopenedFrom(change, FINISHED_REQUESTS),
      };
      const sentBy = userSetSent ? userOf(change) : null;
      await advanceWithRetries(change.rowId, context, {
        noun: 'charge request',
        read: readRequest,
        advance: (request) => advance(g, request, seen, sentBy, context),
      });
    },
  );
}

/** A Succeeded one set back is completed from its PaymentIntent, which the lookup before every decision finds. */
const FINISHED_REQUESTS: FinishedRequests = {
  entitySetName: ChargeRequest.entitySetName,
  statusColumn: R.status,
  failureReasonColumn: R.failureReason,
  finished: [Status.refused, Status.failed],
  reopening: [Status.pending, Status.approved],
  noun: 'charge request',
};

/**
 * Acts on the request's current row. `sentBy`: the user whose change set the request to Sent, when this change
 * did (`unknown` when Dataverse did not say who).
 */
async function advance(
  g: Governance,
  request: ChargeRequestRow,
  seen: SeenByChange,
  sentBy: string | null,
  context: SyncContext,
): Promise<void> {
  const reopenable = request.status === Status.pending || request.status === Status.approved;
  if (reopenable && seen.reopened) await keepFinished(FINISHED_REQUESTS, request.id, seen.reopened, context);
  else if (request.status === Status.pending) await decide(g, request, null, context);
  else if (request.status === Status.approved) {
    // Only the change that set Approved says who approved; any other change leaves the decision to it.
    if (seen.approverId)
      await decide(g, request, seen.approverId, context, { amount: seen.amount, after: 'approved' });
    else context.log.info({ requestId: request.id }, 'approved by another change; that change decides it');
  } else if (request.status === Status.sent && sentBy) await sentByUser(g, request, sentBy, context);
  else if (request.status === Status.sent) await resume(g, request, seen, context);
  else
    context.log.info(
      { requestId: request.id, status: request.status },
      'the charge request is already decided; nothing to do',
    );
}

/** The request's account or contact, read once a round, and the PaymentIntent Stripe already has of it. */
interface LookedUp {
  customer: CustomerFacts | null;
  made?: Stripe.PaymentIntent;
}

/** Reads the customer and looks up the request's PaymentIntent in Stripe (findCharge). */
async function lookUp(request: ChargeRequestRow, context: SyncContext): Promise<LookedUp> {
  const customer = request.customerId ? await readCustomer(context.dataverse, request.customerId) : null;
  if (!customer?.stripeCustomerId && !request.paymentIntentId) return { customer };
  const stripe = context.stripeFor(customer?.stripeAccount ?? null);
  return { customer, made: await findCharge(stripe, customer?.stripeCustomerId ?? null, request) };
}

/** What the policy decides on, read from Dataverse; the saved payment method from Stripe once the rest passes. */
async function chargeFacts(
  g: Governance,
  request: ChargeRequestRow,
  customer: CustomerFacts | null,
  approverId: string | null,
  context: SyncContext,
): Promise<ChargeFacts> {
  const { dataverse, log } = context;
  const currency = request.currency ?? '';
  const since = new Date(g.now().getTime() - UNAPPROVED_WINDOW_HOURS * 3600_000);
  const stripeCustomer = customer?.stripeCustomerId ?? null;
  const [requester, approver, document, limit, others, intents] = await Promise.all([
    userWithRoles(dataverse, request.createdBy),
    approverId ? userWithRoles(dataverse, approverId) : Promise.resolve(null),
    readDocument(dataverse, request),
    g.threshold(dataverse, log),
    otherRequests(dataverse, request),
    stripeCustomer
      ? recentCharges(context.stripeFor(customer!.stripeAccount), stripeCustomer, since)
      : Promise.resolve([]),
  ]);
  const minorOthers = others.flatMap((other) => {
    const minor = minorOf(other.amount, currency);
    return typeof minor === 'number' && minor > 0 ? [{ id: other.id, minor }] : [];
  });
  const facts: ChargeFacts = {
    requester,
    approver,
    amount: minorOf(request.amount, currency),
    currency,
    threshold: currency ? thresholdIn(limit, currency) : null,
    unapproved: unapprovedCharges(intents, minorOthers, request.id, currency),
    customer,
    customerNamed: request.customerId !== null,
    bothDocuments: request.salesOrderId !== null && request.invoiceId !== null,
    document,
  };
  if (preflight(facts, g.rules, { resuming: request.status === Status.sent })) return facts;
  const stripe = context.stripeFor(customer!.stripeAccount);
  const saved = await savedPaymentMethod(stripe, customer!.stripeCustomerId!);
  return { ...facts, paymentMethod: saved.method, stripeLivemode: saved.livemode };
}

function minorOf(amount: unknown, currency: string): number | { problem: string } {
  if (!/^[a-z]{3}$/.test(currency))
    return { problem: `${JSON.stringify(currency)} is not a 3-letter ISO currency code.` };
  if (amount === null || amount === undefined) return { problem: 'The request names no amount.' };
  try {
    return majorToMinor(amount, currency);
  } catch (error) {
    if (error instanceof MoneyError) return { problem: `The amount cannot be charged: ${error.message}.` };
    throw error;
  }
}

/**
 * Decides the request on its row as read and acts on the decision. A request Stripe already has a PaymentIntent
 * of is not decided: its outcome is written from it. With `bound`, an amount changed since the bound one is
 * decided as a new request: an approval given for another amount does not count. `looked`: the look-up this
 * round already made.
 */
async function decide(
  g: Governance,
  request: ChargeRequestRow,
  approverId: string | null,
  context: SyncContext,
  bound?: BoundAmount,
  looked?: LookedUp,
): Promise<void> {
  const { customer, made } = looked ?? (await lookUp(request, context));
  if (made) {
    await keepChargedOutcome(g, request, made, context);
    return;
  }
  const changed = bound !== undefined && changedSince(bound.amount, request.amount);
  const facts = await chargeFacts(g, request, customer, changed ? null : approverId, context);
  let decision = decideCharge(facts, g.rules);
  if (changed) {
    context.log.warn(
      { requestId: request.id, decision: decision.kind, after: bound.after },
      `the amount was changed after the request was ${bound.after}; decided again on the new amount`,
    );
    if (decision.kind === 'awaitApproval')
      decision = { kind: 'awaitApproval', note: amountChangedNote(bound, request.amount, facts.currency) };
  }
  context.log.info(
    {
      requestId: request.id,
      decision: decision.kind,
      currency: facts.currency,
      threshold: facts.threshold,
      unapproved: facts.unapproved,
    },
    'charge request decided',
  );
  await act(g, request, decision, facts.document, context);
}

/** Writes the decision and, for a charge, charges. */
async function act(
  g: Governance,
  request: ChargeRequestRow,
  decision: ChargeDecision,
  document: DocumentFacts | null,
  context: SyncContext,
): Promise<void> {
  const at = g.now();
  if (decision.kind === 'refuse') {
    await transition(context.dataverse, request, { to: 'refused', reason: decision.reason }, at);
    return;
  }
  if (decision.kind === 'awaitApproval') {
    await transition(context.dataverse, request, { to: 'awaitingApproval', note: decision.note }, at);
    return;
  }
  await transition(
    context.dataverse,
    request,
    { to: 'sent', approvedBy: decision.approvedBy, livemode: g.rules.livemode },
    at,
  );
  // Looked up this round, before the move to Sent: a worker that made a charge of it since moved it first, and
  // this move answered 412.
  await send(g, request, decision.plan, document, context, decision.approvedBy);
}

/**
 * A request Stripe already has a PaymentIntent of, set back to Pending or Approved (an Approve on a form left
 * open, a bulk edit) or found so as it is decided: never decided again, and never charged twice. Its outcome
 * is written again from the PaymentIntent as Stripe has it now.
 */
async function keepChargedOutcome(
  g: Governance,
  request: ChargeRequestRow,
  made: Stripe.PaymentIntent,
  context: SyncContext,
): Promise<void> {
  context.log.warn(
    { requestId: request.id, paymentIntent: made.id, status: request.status },
    'a charge request Stripe already has a PaymentIntent of was set to be decided; not charged again',
  );
  await settle(g, request, made, await readDocument(context.dataverse, request), context);
}

/**
 * A request a user (not the service, whose own changes never get here) created as Sent or set to Sent: only
 * the service moves a request there, after policy, so nothing is charged for it. Unless a charge of it exists
 * already: the service had sent it and this change came after, so the charge found finishes it.
 */
async function sentByUser(
  g: Governance,
  request: ChargeRequestRow,
  user: string,
  context: SyncContext,
): Promise<void> {
  const { made } = await lookUp(request, context);
  if (made) {
    await settle(g, request, made, await readDocument(context.dataverse, request), context);
    return;
  }
  context.log.warn({ requestId: request.id, user }, 'a charge request set to Sent by a user; refused');
  await finish(context.dataverse, request.id, {
    [R.status]: Status.refused,
    [R.failureReason]: `The request was set to Sent by user ${user}, not by the connector after its policy check: nothing is charged. Ask again with a new request.`,
    [R.decidedOn]: g.now().toISOString(),
  });
}

/**
 * A request left in Sent, worked again by a retry of its change or a later change: the PaymentIntent Stripe
 * already made of it is completed. Otherwise its amount is charged only when this change saw that amount, the
 * one the decision was made on (its facts read again, the same PaymentIntent asked for under the same key; the
 * approval it was sent with is not asked for again); an amount changed since (or not known to this change) is
 * decided again, without the approval of the old one.
 */
async function resume(
  g: Governance,
  request: ChargeRequestRow,
  seen: SeenByChange,
  context: SyncContext,
): Promise<void> {
  const looked = await lookUp(request, context);
  if (looked.made) {
    await settle(g, request, looked.made, await readDocument(context.dataverse, request), context);
    return;
  }
  if (changedSince(seen.amount, request.amount)) {
    await decide(g, request, null, context, { amount: seen.amount, after: 'decided' }, looked);
    return;
  }
  const facts = await chargeFacts(g, request, looked.customer, null, context);
  const early = preflight(facts, g.rules, { resuming: true });
  const method = facts.paymentMethod;
  const problem = early?.problem ?? (method && 'problem' in method ? method.problem : undefined);
  if (problem || !method || 'problem' in method) {
    await fail(g, request, { code: null, reason: problem ?? 'No saved payment method.' }, context);
    return;
  }
  const customer = facts.customer!;
  await send(
    g,
    request,
    {
      customer: customer.stripeCustomerId!,
      paymentMethod: method.id,
      amount: facts.amount as number,
      currency: facts.currency,
      stripeAccount: customer.stripeAccount,
    },
    facts.document,
    context,
    // The approver the service recorded when it sent the request (a Sent request is past its decision).
    request.approvedBy,
  );
}

/** Charges; every caller has looked the request's PaymentIntent up first in the same round. */
async function send(
  g: Governance,
  request: ChargeRequestRow,
  plan: ChargePlan,
  document: DocumentFacts | null,
  context: SyncContext,
  approvedBy: string | null,
): Promise<void> {
  const stripe = context.stripeFor(plan.stripeAccount);
  const pays = document && !document.missing ? document : null;
  if (pays) {
    // The document's open payment pages first: paid on one already, it is not charged again.
    const noun = pays.kind === 'salesorder' ? 'order' : 'invoice';
    const paidOn = await retireOpenPages(
      pays,
      `The ${noun} is being charged to the customer's saved payment method (charge request ${request.id}); this page was expired so that it cannot be paid twice.`,
      context,
    );
    if (paidOn) {
      await fail(
        g,
        request,
        {
          code: null,
          reason: `The ${noun} was paid on the payment page of request ${paidOn} already: nothing was charged.`,
        },
        context,
      );
      return;
    }
  }
  const outcome = await charge(stripe, {
    requestId: request.id,
    approvedBy,
    plan,
    description: request.description,
    document: document && !document.missing ? document : null,
  });
  if ('paymentIntent' in outcome) {
    await settle(g, request, outcome.paymentIntent, document, context);
    return;
  }
  const { code, message, paymentIntentId, type } = outcome.refusal;
  if (type === 'idempotency_error') {
    // Stripe has a request under this request's id with other parameters: a charge may have been made.
    const made = await findCharge(stripe, plan.customer, request);
    if (made) {
      await settle(g, request, made, document, context);
      return;
    }
    const reason = `Stripe refused the charge: it has answered another charge under this request's id (${message}). The customer may have been charged: look for a PaymentIntent whose metadata d365_chargerequestid is ${request.id} in Stripe before asking again with a new request.`;
    await fail(g, request, { code, reason }, context);
    return;
  }
  await fail(
    g,
    request,
    { code, reason: `Stripe refused the charge: ${message} (${code})`, paymentIntentId },
    context,
  );
}

/**
 * The request's outcome from its PaymentIntent, as Stripe answered the charge or as it is found later. A
 * charge Stripe still holds (`processing`: a bank debit) leaves the request Sent with the PaymentIntent's id,
 * completed by the payment's later events (write/charge-outcome.ts). The row's amount is set back to the one
 * charged when it was changed after the charge was made.
 */
async function settle(
  g: Governance,
  request: ChargeRequestRow,
  paymentIntent: Stripe.PaymentIntent,
  document: DocumentFacts | null,
  context: SyncContext,
): Promise<void> {
  const { dataverse, log } = context;
  const outcome = chargeOutcomeOf(paymentIntent as unknown as PaymentOfRequest);
  const charged = chargedAmount(request, paymentIntent);
  if (outcome.kind === 'failed') {
    const reason = `Stripe refused the charge: ${outcome.message} (${outcome.code})`;
    const failure = { code: outcome.code, reason, paymentIntentId: paymentIntent.id };
    await fail(g, request, failure, context, charged);
    return;
  }
  if (outcome.kind === 'pending') {
    await finish(dataverse, request.id, {
      ...charged,
      [R.status]: Status.sent,
      [R.stripePaymentIntentId]: paymentIntent.id,
      [R.failureReason]: heldNote(outcome.status),
      [R.declineCode]: null,
      [R.decidedOn]: g.now().toISOString(),
      [R.liveMode]: paymentIntent.livemode,
    });
    log.info(
      { requestId: request.id, paymentIntent: paymentIntent.id, status: paymentIntent.status },
      "Stripe holds the charge; the request stays Sent until the payment's events settle it",
    );
    return;
  }
  await succeed(g, request, paymentIntent, document, context, charged);
}

async function succeed(
  g: Governance,
  request: ChargeRequestRow,
  paymentIntent: Stripe.PaymentIntent,
  document: DocumentFacts | null,
  context: SyncContext,
  charged: Record<string, unknown>,
): Promise<void> {
  const { dataverse, log } = context;
  // The document first: a crash before the request is finished resumes it, and the document is written again.
  const pays = document && !document.missing ? document : null;
  const payment = {
    paymentIntentId: paymentIntent.id,
    amount: paymentIntent.amount,
    currency: paymentIntent.currency,
    customer:
      typeof paymentIntent.customer === 'string'
        ? paymentIntent.customer
        : (paymentIntent.customer?.id ?? null),
    livemode: paymentIntent.livemode,
  };
  if (pays && !(await markDocumentPaid(dataverse, pays, payment)))
    log.warn({ requestId: request.id, document: pays.id }, 'the order or invoice the charge paid is gone');
  const paymentRow = await paymentRowOf(context, paymentIntent.id);
  await finish(dataverse, request.id, {
    ...charged,
    [R.status]: Status.succeeded,
    [R.stripePaymentIntentId]: paymentIntent.id,
    [R.failureReason]: null,
    [R.declineCode]: null,
    [R.decidedOn]: g.now().toISOString(),
    [R.liveMode]: paymentIntent.livemode,
    ...(paymentRow ? { [PAYMENT_LINK]: `/${Payment.entitySetName}(${paymentRow})` } : {}),
  });
  log.info(
    { requestId: request.id, paymentIntent: paymentIntent.id, amount: paymentIntent.amount },
    'saved payment method charged off session',
  );
}

/** The row's amount set back to the PaymentIntent's, when it was changed after the charge was made. */
function chargedAmount(
  request: ChargeRequestRow,
  paymentIntent: Stripe.PaymentIntent,
): Record<string, unknown> {
  const amount = minorToMajor(paymentIntent.amount, paymentIntent.currency);
  return changedSince(amount, request.amount) ? { [R.amount]: amount } : {};
}

async function fail(
  g: Governance,
  request: ChargeRequestRow,
  refusal: { code: string | null; reason: string; paymentIntentId?: string | null },
  context: SyncContext,
  extra: Record<string, unknown> = {},
): Promise<void> {
  context.log.warn({ requestId: request.id, code: refusal.code }, 'charge request failed');
  await finish(context.dataverse, request.id, {
    ...extra,
    [R.status]: Status.failed,
    [R.declineCode]: refusal.code?.slice(0, 100) ?? null,
    [R.failureReason]: refusal.reason.slice(0, 2000),
    [R.decidedOn]: g.now().toISOString(),
    ...(refusal.paymentIntentId ? { [R.stripePaymentIntentId]: refusal.paymentIntentId } : {}),
  });
}

/** The payment row of the PaymentIntent when Stripe's events have written it already, else null. */
async function paymentRowOf(context: SyncContext, paymentIntentId: string): Promise<string | null> {
  const row = await context.dataverse.retrieveByKey(
    Payment.entitySetName,
    { [Payment.col.stripeId]: paymentIntentId },
    { select: [Payment.primaryId] },
  );
  const id = row?.[Payment.primaryId];
  return isGuid(id) ? id.toLowerCase() : null;
}

/** The user whose change set the request to Approved, when this change did. */
function approverOf(change: DataverseChange): string | null {
  return change.attributes[R.status] === StcChargeRequestStatus.Approved && isGuid(change.userId)
    ? change.userId.toLowerCase()
    : null;
}

/** The user the change ran as, for the reason written on the row. */
function userOf(change: DataverseChange): string {
  return isGuid(change.userId) ? change.userId.toLowerCase() : 'unknown';
}

const PAYMENT_LINK = `${ChargeRequest.lookup.paymentid.bind.stc_payment}@odata.bind`;
