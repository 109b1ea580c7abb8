/**
 * A refund request's outcome from its Stripe refund: the request's status for the refund's status, and the
 * request brought to the fate Stripe's refund events tell. Shared by the request handler (outbound) and the
 * refunds handler (inbound).
 */
import { StcRefundRequestStatus } from '@stc/solution';
import { RefundRequest } from '@stc/solution/tables';
import { isGuid } from '../config/outbound';
import type { DataverseClient } from '../dataverse/types';
import type { HandlerLogger } from '../pipeline/handler';

const Status = StcRefundRequestStatus;
type RequestStatus = (typeof Status)[keyof typeof Status];
const R = RefundRequest.col;

/** A refund as Stripe's events carry it, as far as its request needs it. */
export interface RefundOfRequest {
  id: string;
  status?: unknown;
  failure_reason?: unknown;
  metadata?: unknown;
}

/** The request's status for a refund Stripe holds with this status; null while Stripe has not settled it. */
export function requestStatusOf(refundStatus: unknown): RequestStatus | null {
  if (refundStatus === 'succeeded') return Status.Succeeded;
  if (refundStatus === 'failed' || refundStatus === 'canceled') return Status.Failed;
  return null;
}

/** The reason a failed request shows for its refund. */
export function refundFailureReason(refund: RefundOfRequest): string {
  return `Stripe reports the refund ${String(refund.status)}: ${typeof refund.failure_reason === 'string' ? refund.failure_reason : 'no reason given'}`;
}

/**
 * A refund made for a request (its metadata names the request), as Stripe's events tell its fate: the request
 * left in Processing while Stripe held the refund (pending, requires_action) is completed once the refund
 * succeeds or fails, and a Succeeded request is set to Failed when its refund fails later (the card network
 * returning it). A request still on its way to its refund (Processing without the refund's id: the worker that
 * makes it completes it), one about another refund, and one already showing the outcome are left.
 */
export async function followRefundOfRequest(
  dataverse: DataverseClient,
  refund: RefundOfRequest,
  log: HandlerLogger,
): Promise<void> {
  const requestId = (refund.metadata as { d365_refundrequestid?: unknown } | null | undefined)
    ?.d365_refundrequestid;
  const status = requestStatusOf(refund.status);
  if (!isGuid(requestId) || status === null) return;
  const request = await dataverse.retrieve(RefundRequest.entitySetName, requestId, {
    select: [R.status, R.stripeRefundId],
  });
  if (!request || request[R.stripeRefundId] !== refund.id || request[R.status] === status) return;
  if (request[R.status] !== Status.Processing && request[R.status] !== Status.Succeeded) return;
  await dataverse.update(RefundRequest.entitySetName, requestId, {
    [R.status]: status,
    [R.failureReason]: status === Status.Failed ? refundFailureReason(refund) : null,
  });
  log.info(
    { requestId, refund: refund.id, refundStatus: refund.status },
    "refund request brought to its refund's outcome",
  );
}
