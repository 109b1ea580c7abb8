/**
 * Governed refunds: a user's `stc_refundrequest` row (created from the payment panel) becomes a Stripe refund
 * under policy. Each change to the row arrives as a Dataverse webhook; the handler re-reads the row and acts
 * from its current status only:
 *
 *   Pending ──policy──▶ Rejected | Awaiting approval | Processing ──Stripe──▶ Succeeded | Failed
 *   Approved (set by a user) ──policy, approver checked──▶ the same outcomes
 *   Processing (a crash or a transient failure mid-way) ──▶ resumed: the refund is looked up, else created
 *
 * A decision is bound to the amount its change saw (the amount a Create set, the row's amount in an approval's
 * post-image): an approval counts only for the amount approved, and a request whose amount was changed while
 * its refund waited for a retry is decided again, never refunded for the new amount on the old decision. A
 * request Stripe already refunded is never decided again, whatever its status is set back to.
 *
 * Moving a request out of Pending/Approved is guarded by the row's etag (If-Match), so of two workers
 * holding deliveries of the same change only one goes on; the Stripe call carries `Idempotency-Key` = the
 * request id, so even a resumed request is refunded once. The service's own writes to the row come back as
 * update webhooks: they are recognised by their user and dropped (and would find no state to act from).
 */
import type Stripe from 'stripe';
import {
  optionExternalValue,
  requireColumn,
  StcRefundRequestStatus,
  type ChoiceColumn,
  type StcPayment,
} from '@stc/solution';
import { Refund, RefundRequest } from '@stc/solution/tables';
import type { DataverseChange } from '../../dataverse/change';
import { minorToMajor, MoneyError, type MappingSet } from '../../mapping';
import { REFUND_MAPPING } from '../../inbound/refunds';
import { lazyMappings } from '../../write/mappings';
import { mapIfApplies, type StripeObject } from '../../write/stripe-objects';
import { writeMappedRow } from '../../write/rows';
import { followRefundOfRequest, refundFailureReason, requestStatusOf } from '../../write/refund-outcome';
import type { DataverseChangeHandler, SyncContext } from '../../pipeline/handler';
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
import { approvalThresholdReader, thresholdIn, type ApprovalThreshold } from './thresholds';
import { formatMinor, majorToMinor } from './money';
import { decideRefund, type PolicyRules, type RefundDecision, type RefundFacts } from './policy';
import { DEFAULT_OUTBOUND_SETTINGS, isGuid, type OutboundSettings } from '../../config/outbound';
import {
  finish,
  OPEN_STATUSES,
  ON_ITS_WAY_STATUSES,
  otherRequests,
  readPayment,
  readRequest,
  Status,
  transition,
  userWithRoles,
  type RequestRow,
  type RequestStatus,
} from './requests';
import { createRefund, findRefund, listRefunds, refundOfRequest, refundTarget } from './stripe-refund';

export {
  decideRefund,
  approvalProblem,
  unlistedNote,
  type RefundDecision,
  type RefundFacts,
  type PolicyRules,
  type PolicyUser,
} from './policy';
export { majorToMinor, formatMinor } from './money';
export {
  readOutboundSettings,
  OutboundSettingsError,
  DEFAULT_APPROVAL_THRESHOLDS,
  DEFAULT_OUTBOUND_SETTINGS,
  parseApprovalThresholds,
  type ApprovalThresholds,
  type OutboundSettings,
} from '../../config/outbound';
export { rolesOf, serviceUserResolver } from './directory';
export {
  approvalThresholdReader,
  thresholdIn,
  APPROVAL_THRESHOLDS_VARIABLE,
  DEPRECATED_THRESHOLD_VARIABLE,
  type ApprovalThreshold,
} from './thresholds';

export interface RefundRequestsHandlerOptions {
  /** Mappings for the stc_refund row written after the refund; default the files in `service/mappings/`. */
  mappings?: () => MappingSet;
  /** From the service configuration (`config.outbound`); default: the documented defaults. */
  settings?: OutboundSettings;
  now?: () => Date;
}

/** What the request handler decides and acts with, made once from its options. */
interface Governance {
  mappings: () => MappingSet;
  now: () => Date;
  threshold: ReturnType<typeof approvalThresholdReader>;
  rules: PolicyRules;
  /** Whether the service serves live mode; requests about the other mode are rejected. */
  livemode: boolean;
}

export function createRefundRequestsHandler(
  options: RefundRequestsHandlerOptions = {},
): DataverseChangeHandler {
  const settings = options.settings ?? DEFAULT_OUTBOUND_SETTINGS;
  const governance: Governance = {
    mappings: options.mappings ?? lazyMappings(),
    now: options.now ?? (() => new Date()),
    threshold: approvalThresholdReader(settings),
    rules: {
      requesterRoles: settings.requesterRoles,
      approverRoles: settings.approverRoles,
      allowSelfApproval: settings.allowSelfApproval,
    },
    livemode: settings.stripeMode === 'live',
  };

  return requestChangeHandler(
    {
      resource: 'refund-requests',
      table: { logicalName: RefundRequest.logicalName, noun: 'refund request' },
      settings,
      stuck: {
        entitySetName: RefundRequest.entitySetName,
        statusColumn: R.status,
        failureReasonColumn: R.failureReason,
        open: [Status.Pending, Status.Approved, Status.Processing],
      },
    },
    async (change, context) => {
      const seen: SeenByChange = {
        approverId: approverOf(change),
        // A request in Processing is past its decision: a requester's edit made while Stripe was failing is
        // not refunded under the decision on the earlier amount.
        amount: amountSeenBy(change, R, Status.Processing),
        reopened: reopenedFrom(change, FINISHED_REQUESTS),
      };
      const userSetProcessing = setByUser(change, R.status, Status.Processing);
      await advanceWithRetries(change.rowId, context, {
        noun: 'refund request',
        read: readRequest,
        advance: (request) => advance(governance, request, seen, context, userSetProcessing),
      });
    },
  );
}

/** A Succeeded request set back keeps its refund instead (keepRefundedOutcome). */
const FINISHED_REQUESTS: FinishedRequests = {
  entitySetName: RefundRequest.entitySetName,
  statusColumn: RefundRequest.col.status,
  failureReasonColumn: RefundRequest.col.failureReason,
  finished: [Status.Rejected, Status.Failed],
  reopening: [Status.Pending, Status.Approved],
  noun: 'refund request',
};

/** Acts on the request's current row. */
async function advance(
  g: Governance,
  request: RequestRow,
  seen: SeenByChange,
  context: SyncContext,
  userSetProcessing: boolean,
): Promise<void> {
  const status = request.stc_status;
  if ((status === Status.Pending || status === Status.Approved) && request.stc_striperefundid) {
    await keepRefundedOutcome(g, request, context);
  } else if ((status === Status.Pending || status === Status.Approved) && seen.reopened) {
    await keepFinished(FINISHED_REQUESTS, request.stc_refundrequestid!, seen.reopened, context);
  } else if (status === Status.Pending) {
    await decide(g, request, null, context);
  } else if (status === Status.Approved) {
    // Only the change that set Approved says who approved; any other change leaves the decision to it.
    if (seen.approverId)
      await decide(g, request, seen.approverId, context, { amount: seen.amount, after: 'approved' });
    else
      context.log.info(
        { requestId: request.stc_refundrequestid },
        'approved by another change; that change decides it',
      );
  } else if (status === Status.Processing && userSetProcessing) {
    await setToProcessingByUser(g, request, context);
  } else if (status === Status.Processing) {
    await resume(g, request, seen, context);
  } else {
    context.log.info(
      { requestId: request.stc_refundrequestid, status },
      'the refund request is already decided; nothing to do',
    );
  }
}

/**
 * The amount a decision was made on, which a later decision of the same request is checked against: `after`
 * says what happened to it (an approval given, a decision the resumed request carries).
 */
interface BoundAmount {
  amount: unknown;
  after: 'approved' | 'decided';
}

/**
 * Decides the request on its row as read and acts on the decision. With `bound`, an amount changed since the
 * bound one is decided as a new request: an approval given for another amount does not count.
 */
async function decide(
  g: Governance,
  request: RequestRow,
  approverId: string | null,
  context: SyncContext,
  bound?: BoundAmount,
): Promise<void> {
  const { dataverse, log } = context;
  const payment = await readPayment(dataverse, request);
  const problem = paymentProblem(request, payment) ?? modeProblem(request, payment!, g.livemode);
  if (problem) {
    await transition(dataverse, request, { kind: 'reject', reason: problem }, g.now());
    return;
  }
  const changed = bound !== undefined && changedSince(bound.amount, request.stc_amount);
  let decision: RefundDecision;
  // The payment's refunds in Stripe, as the policy read them: the refund then looks there for one already
  // made under the request's id instead of listing them again (only an attempt of this request makes one).
  let listed: Stripe.Refund[] | undefined;
  try {
    const limit = await g.threshold(dataverse, log);
    const { facts, refunds } = await refundFacts(
      request,
      payment!,
      changed ? null : approverId,
      limit,
      context,
    );
    listed = refunds;
    decision = decideRefund(facts, g.rules);
    if (changed) {
      log.warn(
        { requestId: request.stc_refundrequestid, decision: decision.kind, after: bound.after },
        `the amount was changed after the request was ${bound.after}; decided again on the new amount`,
      );
      if (decision.kind === 'awaitApproval')
        decision = { kind: 'awaitApproval', note: amountChangedNote(bound, request, facts.currency) };
    }
    log.info(
      {
        requestId: request.stc_refundrequestid,
        decision: decision.kind,
        currency: facts.currency,
        threshold: facts.threshold,
        thresholdSource: limit.source,
      },
      facts.threshold === null
        ? `refund request decided; no approval threshold is set for ${facts.currency.toUpperCase()}, so it needs an approver`
        : 'refund request decided',
    );
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error;
    decision = { kind: 'reject', reason: `The amount cannot be refunded: ${error.message}.` };
  }
  await transition(dataverse, request, decision, g.now());
  if (decision.kind === 'refund')
    await refund(g, request, context, false, payment!, decision.approvedBy, listed);
}

/**
 * A request left in Processing (a crash, or Stripe or Dataverse failing mid-way) worked again, by a retry of
 * its change or a later change: the refund Stripe already made under its id is completed. Otherwise its
 * amount is refunded only when this change saw that amount, the one the decision was made on; an amount
 * changed since (or not known to this change) is decided again, without the approval of the old one.
 */
async function resume(
  g: Governance,
  request: RequestRow,
  seen: SeenByChange,
  context: SyncContext,
): Promise<void> {
  const payment = await readPayment(context.dataverse, request);
  if (seen.amount !== undefined && !changedSince(seen.amount, request.stc_amount)) {
    // The approver the service recorded when it decided (a request in Processing is past its decision).
    await refund(g, request, context, true, payment, request._stc_approvedby_value ?? null);
    return;
  }
  if (payment?.stc_stripeid) {
    const stripe = context.stripeFor(payment.stc_stripeaccount || null);
    const made = await findRefund(stripe, refundTarget(payment.stc_stripeid), request.stc_refundrequestid!);
    if (made) {
      await complete(g, request, payment, made, context);
      return;
    }
  }
  await decide(g, request, null, context, { amount: seen.amount, after: 'decided' });
}

/**
 * A request Stripe already refunded, set back to Pending or Approved (an Approve on a form left open, a bulk
 * edit): never decided again, and never refunded twice. Its outcome is written again from the refund as Stripe
 * has it now.
 */
async function keepRefundedOutcome(g: Governance, request: RequestRow, context: SyncContext): Promise<void> {
  const { dataverse, log } = context;
  const requestId = request.stc_refundrequestid!;
  const refundId = request.stc_striperefundid!;
  log.warn(
    { requestId, refund: refundId, status: request.stc_status },
    'a refund request Stripe already refunded was set back to be decided; not refunded again',
  );
  const payment = await readPayment(dataverse, request);
  if (!payment?.stc_stripeid) return;
  const made = await context.stripeFor(payment.stc_stripeaccount || null).refunds.retrieve(refundId);
  await complete(g, request, payment, made, context);
}

async function refund(
  g: Governance,
  request: RequestRow,
  context: SyncContext,
  resumed: boolean,
  known: StcPayment | null | undefined,
  approvedBy: string | null,
  listed?: Stripe.Refund[],
): Promise<void> {
  const { dataverse, log } = context;
  const requestId = request.stc_refundrequestid!;
  const payment = known ?? (await readPayment(dataverse, request));
  if (!payment?.stc_stripeid) {
    await finish(dataverse, requestId, {
      [R.status]: Status.Failed,
      [R.failureReason]: 'The payment row is gone.',
    });
    return;
  }
  const stripe = context.stripeFor(payment.stc_stripeaccount || null);
  const target = refundTarget(payment.stc_stripeid);
  // Looked up first on every path: a request refunds once even past the 24 hours Stripe keeps its key.
  let result = listed ? refundOfRequest(listed, requestId) : await findRefund(stripe, target, requestId);
  if (!result) {
    const created = await createRefund(stripe, {
      target,
      amount: majorToMinor(request.stc_amount, (payment.stc_currency ?? '').toLowerCase()),
      reason: optionExternalValue(REASONS, request.stc_reason ?? -1) ?? null,
      requestId,
      approvedBy,
    });
    if ('refusal' in created) {
      const { message, code, type } = created.refusal;
      log.warn({ requestId, code: code ?? type }, 'Stripe refused the refund');
      await finish(dataverse, requestId, {
        [R.status]: Status.Failed,
        [R.failureReason]: `Stripe refused the refund: ${message}${code ? ` (${code})` : ''}`,
        [R.decidedOn]: g.now().toISOString(),
      });
      return;
    }
    result = created.refund;
  }
  await complete(g, request, payment, result, context);
  log.info({ requestId, refund: result.id, status: result.status, resumed }, 'refund request completed');
}

/**
 * A request a user (not the service, whose own changes never get here) set to Processing: only the service
 * moves a request there, after its policy check, so nothing is refunded for it. Its refund is completed only
 * when Stripe already has one under the request's id (the service had made it and this change came after).
 */
async function setToProcessingByUser(
  g: Governance,
  request: RequestRow,
  context: SyncContext,
): Promise<void> {
  const { dataverse, log } = context;
  const requestId = request.stc_refundrequestid!;
  const payment = await readPayment(dataverse, request);
  if (payment?.stc_stripeid) {
    const stripe = context.stripeFor(payment.stc_stripeaccount || null);
    const made = await findRefund(stripe, refundTarget(payment.stc_stripeid), requestId);
    if (made) {
      await complete(g, request, payment, made, context);
      return;
    }
  }
  const user = request._modifiedby_value ?? 'unknown';
  log.warn({ requestId, modifiedBy: user }, 'a refund request set to Processing by a user; refused');
  await finish(dataverse, requestId, {
    [R.status]: Status.Rejected,
    [R.failureReason]: `The request was set to Processing by user ${user}, not by the connector after its policy check: nothing is refunded. Ask again with a new request.`,
    [R.decidedOn]: g.now().toISOString(),
  });
}

/** Writes the refund row and the request's outcome, linked to each other. */
async function complete(
  g: Governance,
  request: RequestRow,
  payment: StcPayment,
  result: Stripe.Refund,
  context: SyncContext,
): Promise<void> {
  const requestId = request.stc_refundrequestid!;
  const refundRowId = await writeRefundRow(g, result, payment, requestId, context);
  // Stripe may hold a refund (pending, requires_action): the request stays Processing, with its refund, until
  // the refund's events settle it (followRefundOfRequest).
  const status = requestStatusOf(result.status);
  // The row says what was refunded: an amount changed after the refund was made is set back to it.
  const refunded = minorToMajor(result.amount, result.currency);
  const amount = changedSince(refunded, request.stc_amount) ? { [R.amount]: refunded } : {};
  await finish(context.dataverse, requestId, {
    ...amount,
    [R.status]: status ?? Status.Processing,
    [R.stripeRefundId]: result.id,
    [R.failureReason]:
      status === Status.Failed
        ? refundFailureReason(result)
        : status === null
          ? `Stripe holds the refund as ${result.status}; the request is completed when Stripe settles it.`
          : null,
    [R.decidedOn]: g.now().toISOString(),
    ...(refundRowId ? { [REFUND_LINK]: `/${Refund.entitySetName}(${refundRowId})` } : {}),
  });
  if (status === null) await settledMeanwhile(g, request, payment, result, context);
}

/**
 * A refund Stripe held when it answered may have settled, and its events been passed over, before the request
 * had the refund's id: read once more, a settled refund completes the request and its row now, as no later
 * event of the refund would.
 */
async function settledMeanwhile(
  g: Governance,
  request: RequestRow,
  payment: StcPayment,
  held: Stripe.Refund,
  context: SyncContext,
): Promise<void> {
  const stripe = context.stripeFor(payment.stc_stripeaccount || null);
  const now = await stripe.refunds.retrieve(held.id);
  if (requestStatusOf(now.status) === null) return;
  await writeRefundRow(g, now, payment, request.stc_refundrequestid!, context);
  await followRefundOfRequest(context.dataverse, now, context.log);
}

/** The stc_refund row, by the same mapping the Stripe → Dataverse refunds handler uses, linked to the payment. */
async function writeRefundRow(
  g: Governance,
  refund: Stripe.Refund,
  payment: StcPayment,
  requestId: string,
  context: SyncContext,
): Promise<string | null> {
  const mapped = await mapIfApplies(g.mappings().get(REFUND_MAPPING), refund as unknown as StripeObject, {
    id: `${RefundRequest.logicalName}:${requestId}`,
    type: 'refund.created',
    created: refund.created,
    account: payment.stc_stripeaccount || null,
    livemode: payment.stc_livemode === true,
  });
  if (!mapped) return null;
  const written = await writeMappedRow(context.dataverse, context.log, mapped);
  return written.id;
}

/** Why the request cannot be decided against its payment, or null when it can. */
function paymentProblem(request: RequestRow, payment: StcPayment | null): string | null {
  if (!payment || !payment.stc_stripeid) return 'The request names no synced Stripe payment.';
  const currency = (payment.stc_currency ?? '').toLowerCase();
  if (request.stc_currency && request.stc_currency.toLowerCase() !== currency)
    return `The request is in ${request.stc_currency.toUpperCase()} but the payment is in ${currency.toUpperCase()}.`;
  return null;
}

/**
 * Why a request of the other Stripe mode than the service's is refused, or null: the request's own mode and
 * its payment's (a column left empty counts as test mode, as Dataverse shows it) must both be the service's.
 */
function modeProblem(request: RequestRow, payment: StcPayment, livemode: boolean): string | null {
  const modeOf = (value: boolean | null | undefined) => (value === true ? 'live' : 'test');
  const served = modeOf(livemode);
  if (modeOf(payment.stc_livemode) !== served)
    return `The payment is a ${modeOf(payment.stc_livemode)}-mode Stripe payment, but this connector serves ${served} mode only: it cannot refund it.`;
  if (modeOf(request.stc_livemode) !== served)
    return `The request is marked ${modeOf(request.stc_livemode)} mode, but this connector serves ${served} mode only.`;
  return null;
}

/**
 * What the policy decides on, in minor units of the payment's currency, read from Dataverse, and the
 * payment's refunds in Stripe it was read from.
 */
async function refundFacts(
  request: RequestRow,
  payment: StcPayment,
  approverId: string | null,
  limit: ApprovalThreshold,
  { dataverse, stripeFor }: SyncContext,
): Promise<{ facts: RefundFacts; refunds: Stripe.Refund[] }> {
  const currency = (payment.stc_currency ?? '').toLowerCase();
  const stripe = stripeFor(payment.stc_stripeaccount || null);
  const [requester, approver, others, refunds] = await Promise.all([
    userWithRoles(dataverse, request._createdby_value),
    approverId ? userWithRoles(dataverse, approverId) : Promise.resolve(null),
    otherRequests(dataverse, request._stc_paymentid_value!, request.stc_refundrequestid!),
    listRefunds(stripe, refundTarget(payment.stc_stripeid!)),
  ]);
  const minor = (amount: unknown) =>
    amount === null || amount === undefined ? 0 : majorToMinor(amount, currency);
  // Open requests whose refund Stripe has already (pending, say): Stripe counts it as refunded.
  const madeInStripe = new Set(
    refunds
      .filter((refund) => refund.status !== 'failed' && refund.status !== 'canceled')
      .map((refund) => refund.metadata?.d365_refundrequestid)
      .filter(Boolean),
  );
  const amountsWith = (statuses: RequestStatus[], made?: boolean) =>
    sum(
      others
        .filter((r) => statuses.includes(r.stc_status as RequestStatus))
        .filter((r) => made === undefined || madeInStripe.has(r.stc_refundrequestid!) === made)
        .map((r) => minor(r.stc_amount)),
    );
  const facts: RefundFacts = {
    amount: majorToMinor(request.stc_amount, currency),
    currency,
    captured: minor(payment.stc_amountcaptured),
    // The payment row catches up with Stripe's events a moment after a refund; requests this service
    // completed, or whose refund Stripe holds, already count even before it does.
    refunded: Math.max(
      minor(payment.stc_amountrefunded),
      amountsWith([Status.Succeeded]) + amountsWith(OPEN_STATUSES, true),
    ),
    // Counted once: an open request whose refund Stripe has is in what Stripe counts as refunded.
    inFlight: amountsWith(OPEN_STATUSES, false),
    unapproved: unapprovedRefunds(refunds, others, request.stc_refundrequestid!, minor),
    threshold: thresholdIn(limit, currency),
    requester,
    approver,
  };
  return { facts, refunds };
}

/**
 * What the payment's other requests refund without a finance approver, in minor units: their refunds in
 * Stripe (made, pending or awaiting action) whose metadata names no approver (`d365_approvedby`, which the
 * service sets when it refunds on an approval and no Dataverse user can write), and the amounts of those on
 * their way to a refund that Stripe does not have yet. Refunds made in Stripe itself (no request in their
 * metadata) are not this policy's.
 */
function unapprovedRefunds(
  refunds: Stripe.Refund[],
  others: RequestRow[],
  requestId: string,
  minor: (amount: unknown) => number,
): number {
  const inStripe = new Set<string>();
  let total = 0;
  for (const refund of refunds) {
    const of = refund.metadata?.d365_refundrequestid;
    if (!of) continue;
    inStripe.add(of);
    if (of === requestId || refund.status === 'failed' || refund.status === 'canceled') continue;
    if (!refund.metadata?.d365_approvedby) total += refund.amount;
  }
  for (const other of others)
    if (
      ON_ITS_WAY_STATUSES.includes(other.stc_status as RequestStatus) &&
      !inStripe.has(other.stc_refundrequestid!)
    )
      total += minor(other.stc_amount);
  return total;
}

/** Why a request whose amount changed after its approval or decision waits, in the requester's words. */
function amountChangedNote(bound: BoundAmount, request: RequestRow, currency: string): string {
  const show = (amount: unknown) => {
    try {
      return formatMinor(majorToMinor(amount, currency), currency);
    } catch {
      return String(amount);
    }
  };
  const now = show(request.stc_amount);
  if (bound.amount === undefined || bound.amount === null)
    return `The request was decided again on its amount of ${now}; it needs a finance approver.`;
  const what =
    bound.after === 'approved'
      ? 'after it was approved: the approval was for the old amount, and the new one needs its own'
      : 'after the request was decided: the new amount needs a finance approver';
  return `The amount was changed from ${show(bound.amount)} to ${now} ${what}.`;
}

/** The user whose change set the request to Approved, when this change did. */
function approverOf(change: DataverseChange): string | null {
  return change.attributes.stc_status === StcRefundRequestStatus.Approved && isGuid(change.userId)
    ? change.userId.toLowerCase()
    : null;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

const R = RefundRequest.col;
const REFUND_LINK = `${RefundRequest.lookup.refundid.bind.stc_refund}@odata.bind`;
/** The option set of the request's reason, whose external values are Stripe's refund reasons. */
const REASONS = (requireColumn(RefundRequest.logicalName, R.reason) as ChoiceColumn).optionSet;
