/**
 * Off-session charges from Dynamics 365: a user's `stc_chargerequest` row (Charge saved card… on an account or
 * contact) becomes one Stripe PaymentIntent of the customer's saved payment method, confirmed off session,
 * under policy (policy.ts). Each change to the row arrives as a Dataverse webhook; the handler re-reads the row
 * and acts from its current status only, as the refund requests do:
 *
 *   Pending ──policy──▶ Refused | Awaiting approval | Sent ──Stripe──▶ Succeeded | Failed
 *   Approved (set by a user) ──policy, approver checked──▶ the same outcomes
 *   Sent (a crash, Stripe 5xx or no answer mid-way) ──▶ resumed: the same PaymentIntent asked for again under
 *   the same idempotency key, which Stripe answers with the first outcome
 *
 * A decline (`authentication_required` included: the customer is not there to authenticate) fails the request
 * with Stripe's code and message; nothing is retried blindly. A charge naming an order or invoice is for its
 * total and pays it: the document is marked paid (an invoice closed as Paid) as a paid payment link marks it.
 * The payment itself comes back through Stripe's events as every payment does (its metadata names the order or
 * invoice paid, so its row links to it); the request links to the payment row once it is there. No card data
 * is read into or written to Dataverse.
 */
import type Stripe from 'stripe';
import { StcChargeRequestStatus } from '@stc/solution';
import { ChargeRequest, Payment } from '@stc/solution/tables';
import type { DataverseChange } from '../../dataverse/change';
import { MoneyError } from '../../mapping';
import type { DataverseChangeHandler, SyncContext } from '../../pipeline/handler';
import { DEFAULT_OUTBOUND_SETTINGS, isGuid, type OutboundSettings } from '../../config/outbound';
import { advanceWithRetries, requestChangeHandler, setByUser } from '../governed-requests';
import { majorToMinor } from '../refund-requests/money';
import { userWithRoles } from '../refund-requests/requests';
import { approvalThresholdReader, thresholdIn, type ThresholdSource } from '../refund-requests/thresholds';
import { readCustomer, readDocument, savedPaymentMethod, type DocumentFacts } from './facts';
import { decideCharge, preflight, type ChargeFacts, type ChargePlan, type ChargeRules } from './policy';
import { finish, readRequest, Status, transition, type ChargeRequestRow } from './requests';
import { charge, declineOf, findCharge } from './stripe-charge';
import { markDocumentPaid } from './documents';

export { decideCharge, preflight, type ChargeDecision, type ChargeFacts, type ChargeRules } from './policy';
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
    },
    async (change, context) => {
      const userSetSent = setByUser(change, R.status, Status.sent);
      const approverId = approverOf(change);
      const sentBy = userSetSent ? userOf(change) : null;
      await advanceWithRetries(change.rowId, context, {
        noun: 'charge request',
        read: readRequest,
        advance: (request) => advance(g, request, approverId, sentBy, context),
      });
    },
  );
}

/**
 * Acts on the request's current row. `sentBy`: the user whose change set the request to Sent, when this change
 * did (`unknown` when Dataverse did not say who).
 */
async function advance(
  g: Governance,
  request: ChargeRequestRow,
  approverId: string | null,
  sentBy: string | null,
  context: SyncContext,
): Promise<void> {
  if (request.status === Status.pending) await decide(g, request, null, context);
  else if (request.status === Status.approved) {
    // Only the change that set Approved says who approved; any other change leaves the decision to it.
    if (approverId) await decide(g, request, approverId, context);
    else context.log.info({ requestId: request.id }, 'approved by another change; that change decides it');
  } else if (request.status === Status.sent && sentBy) await sentByUser(g, request, sentBy, context);
  else if (request.status === Status.sent) await resume(g, request, context);
  else
    context.log.info(
      { requestId: request.id, status: request.status },
      'the charge request is already decided; nothing to do',
    );
}

/** What the policy decides on, read from Dataverse; the saved payment method from Stripe once the rest passes. */
async function chargeFacts(
  g: Governance,
  request: ChargeRequestRow,
  approverId: string | null,
  context: SyncContext,
): Promise<ChargeFacts> {
  const { dataverse, log } = context;
  const currency = request.currency ?? '';
  const [requester, approver, customer, document, limit] = await Promise.all([
    userWithRoles(dataverse, request.createdBy),
    approverId ? userWithRoles(dataverse, approverId) : Promise.resolve(null),
    request.customerId ? readCustomer(dataverse, request.customerId) : Promise.resolve(null),
    readDocument(dataverse, request),
    g.threshold(dataverse, log),
  ]);
  const facts: ChargeFacts = {
    requester,
    approver,
    amount: minorOf(request.amount, currency),
    currency,
    threshold: currency ? thresholdIn(limit, currency) : null,
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

async function decide(
  g: Governance,
  request: ChargeRequestRow,
  approverId: string | null,
  context: SyncContext,
): Promise<void> {
  const facts = await chargeFacts(g, request, approverId, context);
  const decision = decideCharge(facts, g.rules);
  context.log.info(
    { requestId: request.id, decision: decision.kind, currency: facts.currency, threshold: facts.threshold },
    'charge request decided',
  );
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
  await send(g, request, decision.plan, facts.document, context);
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
  const customer = request.customerId ? await readCustomer(context.dataverse, request.customerId) : null;
  if (customer?.stripeCustomerId) {
    const stripe = context.stripeFor(customer.stripeAccount);
    const made = await findCharge(stripe, customer.stripeCustomerId, request.id);
    if (made) {
      await settle(g, request, made, await readDocument(context.dataverse, request), context);
      return;
    }
  }
  context.log.warn({ requestId: request.id, user }, 'a charge request set to Sent by a user; refused');
  await finish(context.dataverse, request.id, {
    [R.status]: Status.refused,
    [R.failureReason]: `The request was set to Sent by user ${user}, not by the connector after its policy check: nothing is charged. Ask again with a new request.`,
    [R.decidedOn]: g.now().toISOString(),
  });
}

/**
 * A request left in Sent: its facts are read again and the same PaymentIntent asked for under the same key
 * (the approval it was sent with is not asked for again: it was checked when the request moved to Sent).
 */
async function resume(g: Governance, request: ChargeRequestRow, context: SyncContext): Promise<void> {
  const facts = await chargeFacts(g, request, null, context);
  const customerId = facts.customer?.stripeCustomerId;
  if (customerId) {
    const stripe = context.stripeFor(facts.customer!.stripeAccount);
    const made = await findCharge(stripe, customerId, request.id);
    if (made) {
      await settle(g, request, made, facts.document, context);
      return;
    }
  }
  const early = preflight(facts, g.rules, { resuming: true });
  const method = facts.paymentMethod;
  const problem = early?.problem ?? (method && 'problem' in method ? method.problem : undefined);
  if (problem || !method || 'problem' in method) {
    await fail(g, request.id, { code: null, reason: problem ?? 'No saved payment method.' }, context);
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
  );
}

async function send(
  g: Governance,
  request: ChargeRequestRow,
  plan: ChargePlan,
  document: DocumentFacts | null,
  context: SyncContext,
): Promise<void> {
  const stripe = context.stripeFor(plan.stripeAccount);
  const outcome = await charge(stripe, {
    requestId: request.id,
    plan,
    description: request.description,
    document: document && !document.missing ? document : null,
  });
  if ('refusal' in outcome) {
    const { code, message, paymentIntentId } = outcome.refusal;
    const reason = `Stripe refused the charge: ${message} (${code})`;
    await fail(g, request.id, { code, reason, paymentIntentId }, context);
    return;
  }
  await settle(g, request, outcome.paymentIntent, document, context);
}

/** The request's outcome from its PaymentIntent, as Stripe answered the charge or as it is found later. */
async function settle(
  g: Governance,
  request: ChargeRequestRow,
  paymentIntent: Stripe.PaymentIntent,
  document: DocumentFacts | null,
  context: SyncContext,
): Promise<void> {
  const { dataverse, log } = context;
  const declined = paymentIntent.status === 'requires_payment_method' ? declineOf(paymentIntent) : null;
  if (declined) {
    const reason = `Stripe refused the charge: ${declined.message} (${declined.code})`;
    await fail(g, request.id, { ...declined, reason }, context);
    return;
  }
  if (paymentIntent.status !== 'succeeded') {
    // Not a card's answer (cards succeed or are declined off session): the request stays Sent with the
    // PaymentIntent's id, and a later delivery asks again under the same key.
    await finish(dataverse, request.id, { [R.stripePaymentIntentId]: paymentIntent.id });
    log.warn(
      { requestId: request.id, paymentIntent: paymentIntent.id, status: paymentIntent.status },
      'the off-session charge is not final yet; the request stays Sent',
    );
    return;
  }
  // The document first: a crash before the request is finished resumes it, and the document is written again.
  const pays = document && !document.missing ? document : null;
  if (pays && !(await markDocumentPaid(dataverse, pays, paymentIntent)))
    log.warn({ requestId: request.id, document: pays.id }, 'the order or invoice the charge paid is gone');
  const paymentRow = await paymentRowOf(context, paymentIntent.id);
  await finish(dataverse, request.id, {
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

async function fail(
  g: Governance,
  requestId: string,
  refusal: { code: string | null; reason: string; paymentIntentId?: string | null },
  context: SyncContext,
): Promise<void> {
  context.log.warn({ requestId, code: refusal.code }, 'charge request failed');
  await finish(context.dataverse, requestId, {
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
