/**
 * Governed refunds: a user's `stc_refundrequest` row (created from the payment panel) becomes a Stripe refund
 * under policy. Each change to the row arrives as a Dataverse webhook; the handler re-reads the row and acts
 * from its current status only:
 *
 *   Pending ──policy──▶ Rejected | Awaiting approval | Processing ──Stripe──▶ Succeeded | Failed
 *   Approved (set by a user) ──policy, approver checked──▶ the same outcomes
 *   Processing (a crash or a transient failure mid-way) ──▶ resumed: the refund is looked up, else created
 *
 * Moving a request out of Pending/Approved is guarded by the row's etag (If-Match), so of two workers
 * holding deliveries of the same change only one goes on; the Stripe call carries `Idempotency-Key` = the
 * request id, so even a resumed request is refunded once. The service's own writes to the row come back as
 * update webhooks: they are recognised by their user and dropped (and would find no state to act from).
 */
import StripeSdk from 'stripe';
import type Stripe from 'stripe';
import {
  optionExternalValue,
  StcRefundRequestStatus,
  type StcPayment,
  type StcRefundRequest,
} from '@stc/solution';
import { sameId, type DataverseChange } from '../../dataverse/change';
import type { DataverseClient, Row } from '../../dataverse/types';
import { currencyExponent, MoneyError, type MappingSet } from '../../mapping';
import { classifyFailure, PermanentError } from '../../pipeline/failure';
import { REFUND_MAPPING } from '../../inbound/refunds';
import { lazyMappings } from '../../write/mappings';
import { mapIfApplies, type StripeObject } from '../../write/stripe-objects';
import { writeMappedRow } from '../../write/rows';
import type { DataverseChangeHandler, SyncContext } from '../../pipeline/handler';
import { approvalThresholdReader, rolesOf, serviceUserResolver } from './directory';
import { majorToMinor } from './money';
import { decideRefund, type PolicyRules, type PolicyUser, type RefundDecision } from './policy';
import { DEFAULT_OUTBOUND_SETTINGS, isGuid, type OutboundSettings } from '../../config/outbound';

export {
  decideRefund,
  approvalProblem,
  type RefundDecision,
  type RefundFacts,
  type PolicyRules,
  type PolicyUser,
} from './policy';
export { majorToMinor, formatMinor } from './money';
export {
  readOutboundSettings,
  OutboundSettingsError,
  DEFAULT_APPROVAL_THRESHOLD,
  DEFAULT_OUTBOUND_SETTINGS,
  type OutboundSettings,
} from '../../config/outbound';
export {
  rolesOf,
  approvalThresholdReader,
  serviceUserResolver,
  APPROVAL_THRESHOLD_VARIABLE,
  type ApprovalThreshold,
} from './directory';

const REQUESTS = 'stc_refundrequests';
const PAYMENTS = 'stc_payments';
const Status = StcRefundRequestStatus;
type RequestStatus = (typeof Status)[keyof typeof Status];

/** Statuses whose amount is held against the payment's balance by another request. */
const OPEN_STATUSES: RequestStatus[] = [Status.Pending, Status.Approved, Status.Processing];
/** Reasons Stripe takes on a refund create (`expired_uncaptured_charge` is Stripe's own). */
const STRIPE_REFUND_REASONS = new Set(['duplicate', 'fraudulent', 'requested_by_customer']);
/** Transitions lost to a concurrent writer are decided again on the fresh row, at most this often. */
const MAX_DECISION_ROUNDS = 3;
/** Refunds of one payment looked through when resuming a request (a payment rarely has more than a few). */
const MAX_REFUNDS_SEARCHED = 1000;

const REQUEST_COLUMNS = [
  'stc_refundrequestid',
  'stc_status',
  'stc_amount',
  'stc_currency',
  'stc_reason',
  'stc_striperefundid',
  '_stc_paymentid_value',
  '_createdby_value',
];
const PAYMENT_COLUMNS = [
  'stc_paymentid',
  'stc_stripeid',
  'stc_currency',
  'stc_amountcaptured',
  'stc_amountrefunded',
  'stc_livemode',
  'stc_stripeaccount',
];

type RequestRow = StcRefundRequest & { _createdby_value?: string | null; '@odata.etag'?: string };

export interface RefundRequestsHandlerOptions {
  /** Mappings for the stc_refund row written after the refund; default the files in `service/mappings/`. */
  mappings?: () => MappingSet;
  /** From the service configuration (`config.outbound`); default: the documented defaults. */
  settings?: OutboundSettings;
  now?: () => Date;
}

export function createRefundRequestsHandler(
  options: RefundRequestsHandlerOptions = {},
): DataverseChangeHandler {
  const settings = options.settings ?? DEFAULT_OUTBOUND_SETTINGS;
  const mappings = options.mappings ?? lazyMappings();
  const now = options.now ?? (() => new Date());
  const threshold = approvalThresholdReader(settings);
  const serviceUser = serviceUserResolver(settings);
  const rules: PolicyRules = {
    requesterRoles: settings.requesterRoles,
    approverRoles: settings.approverRoles,
    allowSelfApproval: settings.allowSelfApproval,
  };

  return {
    source: 'dataverse',
    resource: 'refund-requests',
    changes: [{ table: 'stc_refundrequest', messages: ['Create', 'Update'] }],
    async handle(change, context) {
      const requestId = change.rowId;
      const log = context.log;
      const self = await serviceUser(context.dataverse, log);
      if (self && sameId(change.userId, self)) {
        log.info(
          { requestId, message: change.message },
          "the service's own change to a refund request; nothing to do",
        );
        return;
      }
      const approverId = approverOf(change);

      for (let round = 1; ; round++) {
        const request = (await context.dataverse.retrieve(REQUESTS, requestId, {
          select: REQUEST_COLUMNS,
        })) as RequestRow | null;
        if (!request) {
          log.warn({ requestId }, 'the refund request no longer exists; nothing to do');
          return;
        }
        try {
          await advance(request, approverId, context);
          return;
        } catch (error) {
          if (!isConflict(error) || round >= MAX_DECISION_ROUNDS) throw error;
          log.info(
            { requestId, round },
            'the refund request changed while it was being decided; deciding again on the new row',
          );
        }
      }
    },
  };

  async function advance(
    request: RequestRow,
    approverId: string | null,
    context: SyncContext,
  ): Promise<void> {
    const status = request.stc_status;
    if (status === Status.Pending) {
      await decide(request, null, context);
    } else if (status === Status.Approved) {
      // Only the change that set Approved says who approved; any other change leaves the decision to it.
      if (approverId) await decide(request, approverId, context);
      else
        context.log.info(
          { requestId: request.stc_refundrequestid },
          'approved by another change; that change decides it',
        );
    } else if (status === Status.Processing) {
      await refund(request, context, true);
    } else {
      context.log.info(
        { requestId: request.stc_refundrequestid, status },
        'the refund request is already decided; nothing to do',
      );
    }
  }

  async function decide(request: RequestRow, approverId: string | null, context: SyncContext): Promise<void> {
    const { dataverse, log } = context;
    const requestId = request.stc_refundrequestid!;
    const paymentId = request._stc_paymentid_value;
    const payment = isGuid(paymentId)
      ? ((await dataverse.retrieve(PAYMENTS, paymentId, { select: PAYMENT_COLUMNS })) as StcPayment | null)
      : null;
    if (!payment || !payment.stc_stripeid) {
      await transition(
        dataverse,
        request,
        { kind: 'reject', reason: 'The request names no synced Stripe payment.' },
        now(),
      );
      return;
    }
    const currency = (payment.stc_currency ?? '').toLowerCase();
    if (request.stc_currency && request.stc_currency.toLowerCase() !== currency) {
      const reason = `The request is in ${request.stc_currency.toUpperCase()} but the payment is in ${currency.toUpperCase()}.`;
      await transition(dataverse, request, { kind: 'reject', reason }, now());
      return;
    }

    let decision: RefundDecision;
    try {
      const [requester, approver, others, limit] = await Promise.all([
        userWithRoles(dataverse, request._createdby_value),
        approverId ? userWithRoles(dataverse, approverId) : Promise.resolve(null),
        otherRequests(dataverse, paymentId!, requestId),
        threshold(dataverse, log),
      ]);
      const minor = (amount: unknown) =>
        amount === null || amount === undefined ? 0 : majorToMinor(amount, currency);
      const succeeded = sum(
        others.filter((r) => r.stc_status === Status.Succeeded).map((r) => minor(r.stc_amount)),
      );
      const inFlight = sum(
        others
          .filter((r) => OPEN_STATUSES.includes(r.stc_status as RequestStatus))
          .map((r) => minor(r.stc_amount)),
      );
      decision = decideRefund(
        {
          amount: majorToMinor(request.stc_amount, currency),
          currency,
          captured: minor(payment.stc_amountcaptured),
          // The payment row catches up with Stripe's events a moment after a refund; requests this service
          // completed already count even before it does.
          refunded: Math.max(minor(payment.stc_amountrefunded), succeeded),
          inFlight,
          // A threshold is a policy figure, not an amount to pay: finer than the currency's unit, it is rounded.
          threshold: Math.round(limit.value * 10 ** currencyExponent(currency)),
          requester,
          approver,
        },
        rules,
      );
      log.info(
        { requestId, decision: decision.kind, threshold: limit.value, thresholdSource: limit.source },
        'refund request decided',
      );
    } catch (error) {
      if (!(error instanceof MoneyError)) throw error;
      decision = { kind: 'reject', reason: `The amount cannot be refunded: ${error.message}.` };
    }

    await transition(dataverse, request, decision, now());
    if (decision.kind === 'refund') await refund(request, context, false, payment);
  }

  async function refund(
    request: RequestRow,
    context: SyncContext,
    resumed: boolean,
    known?: StcPayment,
  ): Promise<void> {
    const { dataverse, log } = context;
    const requestId = request.stc_refundrequestid!;
    const payment =
      known ??
      (isGuid(request._stc_paymentid_value)
        ? ((await dataverse.retrieve(PAYMENTS, request._stc_paymentid_value, {
            select: PAYMENT_COLUMNS,
          })) as StcPayment | null)
        : null);
    if (!payment?.stc_stripeid) {
      await finish(dataverse, requestId, {
        stc_status: Status.Failed,
        stc_failurereason: 'The payment row is gone.',
      });
      return;
    }
    const currency = (payment.stc_currency ?? '').toLowerCase();
    const stripe = context.stripeFor(payment.stc_stripeaccount || null);
    const target = payment.stc_stripeid.startsWith('pi_')
      ? { payment_intent: payment.stc_stripeid }
      : { charge: payment.stc_stripeid };

    let result: Stripe.Refund | undefined;
    if (resumed) result = await findRefund(stripe, target, requestId);
    if (!result) {
      const reason = optionExternalValue('stc_refundreason', request.stc_reason ?? -1);
      try {
        result = await stripe.refunds.create(
          {
            ...target,
            amount: majorToMinor(request.stc_amount, currency),
            ...(reason && STRIPE_REFUND_REASONS.has(reason)
              ? { reason: reason as Stripe.RefundCreateParams.Reason }
              : {}),
            metadata: { d365_refundrequestid: requestId },
          },
          { idempotencyKey: requestId },
        );
      } catch (error) {
        if (!isFinalStripeRefusal(error)) throw error;
        const e = error as Stripe.errors.StripeError;
        log.warn({ requestId, code: e.code ?? e.type }, 'Stripe refused the refund');
        await finish(dataverse, requestId, {
          stc_status: Status.Failed,
          stc_failurereason: `Stripe refused the refund: ${e.message}${e.code ? ` (${e.code})` : ''}`,
          stc_decidedon: now().toISOString(),
        });
        return;
      }
    }

    const refundRowId = await writeRefundRow(result, payment, requestId, context);
    const failed = result.status === 'failed' || result.status === 'canceled';
    await finish(dataverse, requestId, {
      stc_status: failed ? Status.Failed : Status.Succeeded,
      stc_striperefundid: result.id,
      stc_failurereason: failed
        ? `Stripe reports the refund ${result.status}: ${result.failure_reason ?? 'no reason given'}`
        : null,
      stc_decidedon: now().toISOString(),
      ...(refundRowId ? { 'stc_refundid@odata.bind': `/stc_refunds(${refundRowId})` } : {}),
    });
    log.info({ requestId, refund: result.id, status: result.status, resumed }, 'refund request completed');
  }

  /** The stc_refund row, by the same mapping the Stripe → Dataverse refunds handler uses, linked to the payment. */
  async function writeRefundRow(
    refund: Stripe.Refund,
    payment: StcPayment,
    requestId: string,
    context: SyncContext,
  ): Promise<string | null> {
    const mapped = await mapIfApplies(mappings().get(REFUND_MAPPING), refund as unknown as StripeObject, {
      id: `stc_refundrequest:${requestId}`,
      type: 'refund.created',
      created: refund.created,
      account: payment.stc_stripeaccount || null,
      livemode: payment.stc_livemode === true,
    });
    if (!mapped) return null;
    const written = await writeMappedRow(context.dataverse, context.log, mapped);
    return written.id;
  }
}

/** The user whose change set the request to Approved, when this change did. */
function approverOf(change: DataverseChange): string | null {
  return change.attributes.stc_status === StcRefundRequestStatus.Approved && isGuid(change.userId)
    ? change.userId.toLowerCase()
    : null;
}

async function userWithRoles(dataverse: DataverseClient, id: string | null | undefined): Promise<PolicyUser> {
  if (!isGuid(id)) return { id: String(id ?? 'unknown'), roles: [] };
  return { id: id.toLowerCase(), roles: await rolesOf(dataverse, id) };
}

async function otherRequests(
  dataverse: DataverseClient,
  paymentId: string,
  requestId: string,
): Promise<RequestRow[]> {
  const statuses = [...OPEN_STATUSES, Status.Succeeded].map((s) => `stc_status eq ${s}`).join(' or ');
  return (await dataverse.retrieveMultiple(REQUESTS, {
    select: ['stc_refundrequestid', 'stc_amount', 'stc_status'],
    filter: `_stc_paymentid_value eq ${paymentId} and stc_refundrequestid ne ${requestId} and (${statuses})`,
  })) as RequestRow[];
}

/** Writes the decision, guarded by the etag read: a row changed meanwhile answers 412 and is decided again. */
async function transition(
  dataverse: DataverseClient,
  request: RequestRow,
  decision: RefundDecision,
  at: Date,
): Promise<void> {
  const row: Row =
    decision.kind === 'reject'
      ? { stc_status: Status.Rejected, stc_failurereason: decision.reason, stc_decidedon: at.toISOString() }
      : decision.kind === 'awaitApproval'
        ? { stc_status: Status.AwaitingApproval, stc_failurereason: decision.note }
        : {
            stc_status: Status.Processing,
            stc_failurereason: null,
            ...(decision.approvedBy
              ? { 'stc_approvedby@odata.bind': `/systemusers(${decision.approvedBy})` }
              : {}),
          };
  if (isGuid(request._createdby_value))
    row['stc_requestedby@odata.bind'] = `/systemusers(${request._createdby_value})`;
  const etag = request['@odata.etag'];
  if (!etag)
    throw new PermanentError(
      'Dataverse sent the refund request without an etag; its status cannot be moved safely',
    );
  await dataverse.update(REQUESTS, request.stc_refundrequestid!, row, { ifMatch: etag });
}

/** The outcome, written by the worker that moved the request to Processing (or resumed it). */
async function finish(dataverse: DataverseClient, requestId: string, row: Row): Promise<void> {
  await dataverse.update(REQUESTS, requestId, row);
}

async function findRefund(
  stripe: Stripe,
  target: { payment_intent: string } | { charge: string },
  requestId: string,
): Promise<Stripe.Refund | undefined> {
  const refunds = await stripe.refunds
    .list({ ...target, limit: 100 })
    .autoPagingToArray({ limit: MAX_REFUNDS_SEARCHED });
  return refunds.find((r) => r.metadata?.d365_refundrequestid === requestId);
}

/** Stripe said no for good (card or request errors); connection, rate-limit, conflict and 5xx are retried. */
function isFinalStripeRefusal(error: unknown): boolean {
  if (!(error instanceof StripeSdk.errors.StripeError)) return false;
  // A bad key or missing permission is the operator's to fix: retried, then dead-lettered, never "Failed".
  if (
    error instanceof StripeSdk.errors.StripeAuthenticationError ||
    error instanceof StripeSdk.errors.StripePermissionError
  )
    return false;
  return !classifyFailure(error).transient;
}

function isConflict(error: unknown): boolean {
  return (error as { status?: number } | null)?.status === 412;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
