/**
 * The request row of a payment link: reading it, moving it out of Pending under its etag (of two workers
 * holding deliveries of the same change only one goes on), and writing its outcome.
 */
import { PaymentLinkRequest, PaymentLinkRequestStatus } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../../dataverse/types';
import { isGuid } from '../../config/outbound';
import { finishRequest, moveFromPending, type PendingOutcome, type RequestTable } from '../governed-requests';
import type { DocumentKind } from './documents';

const REQUESTS = PaymentLinkRequest.entitySetName;
const R = PaymentLinkRequest.col;
const L = PaymentLinkRequest.lookup;
export const Status = PaymentLinkRequestStatus;

export interface PaymentLinkRequestRow {
  id: string;
  status: number | null;
  quoteId: string | null;
  salesOrderId: string | null;
  invoiceId: string | null;
  sessionId: string | null;
  url: string | null;
  createdBy: string | null;
  /** When the row was created (ISO), by Dataverse's clock; null when Dataverse did not say. */
  createdOn: string | null;
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
      L.quoteid.value,
      L.salesorderid.value,
      L.invoiceid.value,
      '_createdby_value',
      'createdon',
    ],
  });
  if (!row) return null;
  const guid = (value: unknown) => (isGuid(value) ? value.toLowerCase() : null);
  const text = (value: unknown) => (typeof value === 'string' && value ? value : null);
  return {
    id: requestId,
    status: typeof row[R.status] === 'number' ? Number(row[R.status]) : null,
    quoteId: guid(row[L.quoteid.value]),
    salesOrderId: guid(row[L.salesorderid.value]),
    invoiceId: guid(row[L.invoiceid.value]),
    sessionId: text(row[R.stripeSessionId]),
    url: text(row[R.url]),
    createdBy: guid(row._createdby_value),
    createdOn: text(row.createdon),
    etag: text(row['@odata.etag']),
  };
}

const NAMES: Record<DocumentKind, string> = {
  quote: 'a quote',
  salesorder: 'an order',
  invoice: 'an invoice',
};

/** The one document the request names, or why it names none it can be about. */
export function documentOf(
  request: PaymentLinkRequestRow,
): { kind: DocumentKind; id: string } | { problem: string } {
  const named = [
    ['quote', request.quoteId],
    ['salesorder', request.salesOrderId],
    ['invoice', request.invoiceId],
  ].filter((entry): entry is [DocumentKind, string] => entry[1] !== null);
  if (named.length > 1)
    return {
      problem: `The request names ${named.length === 3 ? 'a quote, an order and an invoice' : named.map(([kind]) => NAMES[kind]).join(' and ')}: ask for one of them.`,
    };
  if (named.length === 1) return { kind: named[0][0], id: named[0][1] };
  return { problem: 'The request names no quote, order or invoice.' };
}

/** The payment link request table as the shared request steps (../governed-requests.ts) move it. */
export const PAYMENT_LINK_REQUESTS: RequestTable = {
  logicalName: PaymentLinkRequest.logicalName,
  entitySetName: REQUESTS,
  noun: 'payment link request',
  status: Status,
  col: R,
  requestedBy: L.requestedby.bind.systemuser,
};

/** Moves a Pending request to Processing or Rejected under its etag (a 412 is decided again). */
export function transition(
  dataverse: DataverseClient,
  request: PaymentLinkRequestRow,
  outcome: PendingOutcome,
): Promise<void> {
  return moveFromPending(dataverse, PAYMENT_LINK_REQUESTS, request, outcome);
}

/** The outcome, written by the worker that moved the request to Processing (or resumed it). */
export function finish(dataverse: DataverseClient, requestId: string, row: Row): Promise<void> {
  return finishRequest(dataverse, PAYMENT_LINK_REQUESTS, requestId, row);
}
