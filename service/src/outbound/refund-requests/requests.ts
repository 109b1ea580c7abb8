/**
 * The Dataverse side of a refund request: reading the request, its payment and the other requests held
 * against that payment, and writing the request's transitions and outcome.
 */
import { StcRefundRequestStatus, type StcPayment, type StcRefundRequest } from '@stc/solution';
import { Payment, RefundRequest, SystemUser } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../../dataverse/types';
import { PermanentError } from '../../pipeline/failure';
import { isGuid } from '../../config/outbound';
import { rolesOf } from './directory';
import type { PolicyUser, RefundDecision } from './policy';

const REQUESTS = RefundRequest.entitySetName;
const PAYMENTS = Payment.entitySetName;
const R = RefundRequest.col;
const REQUESTED_BY = `${RefundRequest.lookup.requestedby.bind.systemuser}@odata.bind`;
const APPROVED_BY = `${RefundRequest.lookup.approvedby.bind.systemuser}@odata.bind`;
export const Status = StcRefundRequestStatus;
export type RequestStatus = (typeof Status)[keyof typeof Status];
export type RequestRow = StcRefundRequest & {
  _createdby_value?: string | null;
  _modifiedby_value?: string | null;
  '@odata.etag'?: string;
};

/**
 * Statuses whose amount is held against the payment's balance by another request: every request not yet
 * finished, one waiting for its approver included (as the payment panel counts them), so that money put up for
 * approval is not refunded to another request meanwhile.
 */
export const OPEN_STATUSES: RequestStatus[] = [
  Status.Pending,
  Status.AwaitingApproval,
  Status.Approved,
  Status.Processing,
];

/**
 * Statuses of a request on its way to a refund that the approval threshold weighs with a new request of the
 * same payment until Stripe has its refund (then the refund's metadata says whether it was approved): every
 * open one but those waiting for an approver. The request's own Approved By column is not taken for it, since
 * the users who write requests can write that column too.
 */
export const ON_ITS_WAY_STATUSES: RequestStatus[] = [Status.Pending, Status.Approved, Status.Processing];

const REQUEST_COLUMNS = [
  RefundRequest.primaryId,
  R.status,
  R.amount,
  R.currency,
  R.reason,
  R.stripeRefundId,
  R.liveMode,
  RefundRequest.lookup.paymentid.value,
  RefundRequest.lookup.approvedby.value,
  '_createdby_value',
  '_modifiedby_value',
];
const PAYMENT_COLUMNS = [
  Payment.primaryId,
  Payment.col.stripeId,
  Payment.col.currency,
  Payment.col.amountCaptured,
  Payment.col.amountRefunded,
  Payment.col.liveMode,
  Payment.col.stripeAccount,
];

export async function readRequest(dataverse: DataverseClient, requestId: string): Promise<RequestRow | null> {
  return (await dataverse.retrieve(REQUESTS, requestId, { select: REQUEST_COLUMNS })) as RequestRow | null;
}

/** The payment the request names, or null when it names none or the row is gone. */
export async function readPayment(
  dataverse: DataverseClient,
  request: RequestRow,
): Promise<StcPayment | null> {
  const paymentId = request._stc_paymentid_value;
  if (!isGuid(paymentId)) return null;
  return (await dataverse.retrieve(PAYMENTS, paymentId, { select: PAYMENT_COLUMNS })) as StcPayment | null;
}

/** The other open or succeeded requests of the same payment, whose amounts count against its balance. */
export async function otherRequests(
  dataverse: DataverseClient,
  paymentId: string,
  requestId: string,
): Promise<RequestRow[]> {
  const statuses = [...OPEN_STATUSES, Status.Succeeded].map((s) => `${R.status} eq ${s}`).join(' or ');
  const payment = RefundRequest.lookup.paymentid.value;
  return (await dataverse.retrieveMultiple(REQUESTS, {
    select: [RefundRequest.primaryId, R.amount, R.status],
    filter: `${payment} eq ${paymentId} and ${RefundRequest.primaryId} ne ${requestId} and (${statuses})`,
  })) as RequestRow[];
}

export async function userWithRoles(
  dataverse: DataverseClient,
  id: string | null | undefined,
): Promise<PolicyUser> {
  if (!isGuid(id)) return { id: String(id ?? 'unknown'), roles: [] };
  return { id: id.toLowerCase(), roles: await rolesOf(dataverse, id) };
}

/** Writes the decision, guarded by the etag read: a row changed meanwhile answers 412 and is decided again. */
export async function transition(
  dataverse: DataverseClient,
  request: RequestRow,
  decision: RefundDecision,
  at: Date,
): Promise<void> {
  const row: Row =
    decision.kind === 'reject'
      ? { [R.status]: Status.Rejected, [R.failureReason]: decision.reason, [R.decidedOn]: at.toISOString() }
      : decision.kind === 'awaitApproval'
        ? { [R.status]: Status.AwaitingApproval, [R.failureReason]: decision.note }
        : {
            [R.status]: Status.Processing,
            [R.failureReason]: null,
            // Who approved, as the service decided it: a requester's own Approved By on a request that needed
            // no approval is cleared, so that a resumed refund never carries it to Stripe's metadata.
            [APPROVED_BY]: decision.approvedBy
              ? `/${SystemUser.entitySetName}(${decision.approvedBy})`
              : null,
          };
  if (isGuid(request._createdby_value))
    row[REQUESTED_BY] = `/${SystemUser.entitySetName}(${request._createdby_value})`;
  const etag = request['@odata.etag'];
  if (!etag)
    throw new PermanentError(
      'Dataverse sent the refund request without an etag; its status cannot be moved safely',
    );
  await dataverse.update(REQUESTS, request.stc_refundrequestid!, row, { ifMatch: etag });
}

/** The outcome, written by the worker that moved the request to Processing (or resumed it). */
export async function finish(dataverse: DataverseClient, requestId: string, row: Row): Promise<void> {
  await dataverse.update(REQUESTS, requestId, row);
}
