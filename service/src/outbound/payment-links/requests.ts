/**
 * The request row of a payment link: reading it, moving it out of Pending under its etag (of two workers
 * holding deliveries of the same change only one goes on), and writing its outcome.
 */
import { PaymentLinkRequest, PaymentLinkRequestStatus, SystemUser } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../../dataverse/types';
import { PermanentError } from '../../pipeline/failure';
import { isGuid } from '../../config/outbound';
import type { DocumentKind } from './documents';

const REQUESTS = PaymentLinkRequest.entitySetName;
const R = PaymentLinkRequest.col;
const L = PaymentLinkRequest.lookup;
const REQUESTED_BY = `${L.requestedby.bind.systemuser}@odata.bind`;
export const Status = PaymentLinkRequestStatus;

export interface PaymentLinkRequestRow {
  id: string;
  status: number | null;
  salesOrderId: string | null;
  invoiceId: string | null;
  sessionId: string | null;
  url: string | null;
  createdBy: string | null;
  etag: string | null;
}

export async function readRequest(
  dataverse: DataverseClient,
  requestId: string,
): Promise<PaymentLinkRequestRow | null> {
  const row = await dataverse.retrieve(REQUESTS, requestId, {
    select: [
      PaymentLinkRequest.primaryId,
      R.status,
      R.stripeSessionId,
      R.url,
      L.salesorderid.value,
      L.invoiceid.value,
      '_createdby_value',
    ],
  });
  if (!row) return null;
  const guid = (value: unknown) => (isGuid(value) ? value.toLowerCase() : null);
  const text = (value: unknown) => (typeof value === 'string' && value ? value : null);
  return {
    id: requestId,
    status: typeof row[R.status] === 'number' ? Number(row[R.status]) : null,
    salesOrderId: guid(row[L.salesorderid.value]),
    invoiceId: guid(row[L.invoiceid.value]),
    sessionId: text(row[R.stripeSessionId]),
    url: text(row[R.url]),
    createdBy: guid(row._createdby_value),
    etag: text(row['@odata.etag']),
  };
}

/** The one document the request names, or why it names none it can be about. */
export function documentOf(
  request: PaymentLinkRequestRow,
): { kind: DocumentKind; id: string } | { problem: string } {
  if (request.salesOrderId && request.invoiceId)
    return { problem: 'The request names both an order and an invoice: ask for one of them.' };
  if (request.salesOrderId) return { kind: 'salesorder', id: request.salesOrderId };
  if (request.invoiceId) return { kind: 'invoice', id: request.invoiceId };
  return { problem: 'The request names no order or invoice.' };
}

/**
 * Moves a Pending request to Processing or Rejected, guarded by the etag read: a row changed meanwhile answers
 * 412 and is decided again.
 */
export async function transition(
  dataverse: DataverseClient,
  request: PaymentLinkRequestRow,
  outcome: { status: 'processing'; livemode: boolean } | { status: 'rejected'; reason: string; at: Date },
): Promise<void> {
  const row: Row =
    outcome.status === 'rejected'
      ? {
          [R.status]: Status.rejected,
          [R.failureReason]: outcome.reason,
          [R.decidedOn]: outcome.at.toISOString(),
        }
      : { [R.status]: Status.processing, [R.failureReason]: null, [R.liveMode]: outcome.livemode };
  if (request.createdBy) row[REQUESTED_BY] = `/${SystemUser.entitySetName}(${request.createdBy})`;
  if (!request.etag)
    throw new PermanentError(
      'Dataverse sent the payment link request without an etag; its status cannot be moved safely',
    );
  await dataverse.update(REQUESTS, request.id, row, { ifMatch: request.etag });
}

/** The outcome, written by the worker that moved the request to Processing (or resumed it). */
export async function finish(dataverse: DataverseClient, requestId: string, row: Row): Promise<void> {
  await dataverse.update(REQUESTS, requestId, row);
}

export function isConflict(error: unknown): boolean {
  return (error as { status?: number } | null)?.status === 412;
}
