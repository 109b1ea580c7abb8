/**
 * The Dataverse side of a charge request: reading the row as the policy needs it, moving it out of Pending or
 * Approved under the etag it was read with (of two workers holding deliveries of the same change only one
 * goes on; a 412 is decided again on the fresh row), writing its outcome, and reading the customer's other
 * requests the approval threshold weighs with it. Nothing written here is card data: the columns are the
 * status, Stripe's code and message of a failure, the PaymentIntent id and the payment row's lookup.
 */
import { ChargeRequest, ChargeRequestStatus, SystemUser } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../../dataverse/types';
import { PermanentError } from '../../pipeline/failure';
import { isGuid } from '../../config/outbound';

const REQUESTS = ChargeRequest.entitySetName;
const R = ChargeRequest.col;
const L = ChargeRequest.lookup;
export const Status = ChargeRequestStatus;

export interface ChargeRequestRow {
  id: string;
  status: number | null;
  /** The account or contact named; which of the two is found when it is read. */
  customerId: string | null;
  /** As written, in major units; the policy says whether it is an amount of the currency. */
  amount: unknown;
  currency: string | null;
  description: string | null;
  salesOrderId: string | null;
  invoiceId: string | null;
  paymentIntentId: string | null;
  createdBy: string | null;
  /** The approver the service recorded when it sent the request on an approval. */
  approvedBy: string | null;
  /** When the row was created (ISO), by Dataverse's clock; null when Dataverse did not say. */
  createdOn: string | null;
  etag: string | null;
}

export async function readRequest(
  dataverse: DataverseClient,
  requestId: string,
): Promise<ChargeRequestRow | null> {
  const row = await dataverse.retrieve(REQUESTS, requestId, {
    select: [
      ChargeRequest.primaryId,
      R.status,
      R.amount,
      R.currency,
      R.description,
      R.stripePaymentIntentId,
      L.customerid.value,
      L.salesorderid.value,
      L.invoiceid.value,
      L.approvedby.value,
      '_createdby_value',
      'createdon',
    ],
  });
  if (!row) return null;
  const guid = (value: unknown) => (isGuid(value) ? value.toLowerCase() : null);
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : null);
  return {
    id: requestId,
    status: typeof row[R.status] === 'number' ? Number(row[R.status]) : null,
    customerId: guid(row[L.customerid.value]),
    amount: row[R.amount] ?? null,
    currency: text(row[R.currency])?.toLowerCase() ?? null,
    description: text(row[R.description]),
    salesOrderId: guid(row[L.salesorderid.value]),
    invoiceId: guid(row[L.invoiceid.value]),
    paymentIntentId: text(row[R.stripePaymentIntentId]),
    createdBy: guid(row._createdby_value),
    approvedBy: guid(row[L.approvedby.value]),
    createdOn: text(row.createdon),
    etag: text(row['@odata.etag']),
  };
}

/** Where a Pending or Approved request goes. */
export type Transition =
  | { to: 'refused'; reason: string }
  | { to: 'awaitingApproval'; note: string | null }
  | { to: 'sent'; approvedBy: string | null; livemode: boolean };

/**
 * Writes the decision under the etag read; the requester is recorded from the row's creator. The approver is
 * recorded by a move to Sent that an approval allowed, and cleared by any other decision: an approval given
 * for an amount since changed is no longer one.
 */
export async function transition(
  dataverse: DataverseClient,
  request: ChargeRequestRow,
  next: Transition,
  at: Date,
): Promise<void> {
  const bindUser = (id: string) => `/${SystemUser.entitySetName}(${id})`;
  const approvedBy = `${L.approvedby.bind.systemuser}@odata.bind`;
  const row: Row =
    next.to === 'refused'
      ? {
          [R.status]: Status.refused,
          [R.failureReason]: next.reason,
          [R.decidedOn]: at.toISOString(),
        }
      : next.to === 'awaitingApproval'
        ? { [R.status]: Status.awaiting_approval, [R.failureReason]: next.note, [approvedBy]: null }
        : {
            [R.status]: Status.sent,
            [R.failureReason]: null,
            [R.liveMode]: next.livemode,
            [approvedBy]: next.approvedBy ? bindUser(next.approvedBy) : null,
          };
  if (request.createdBy) row[`${L.requestedby.bind.systemuser}@odata.bind`] = bindUser(request.createdBy);
  if (!request.etag)
    throw new PermanentError(
      'Dataverse sent the charge request without an etag; its status cannot be moved safely',
    );
  await dataverse.update(REQUESTS, request.id, row, { ifMatch: request.etag });
}

/** The outcome, written by the worker that moved the request to Sent (or resumed it). */
export async function finish(dataverse: DataverseClient, requestId: string, row: Row): Promise<void> {
  await dataverse.update(REQUESTS, requestId, row);
}

/**
 * Statuses of a request on its way to a charge that the approval threshold weighs with a new request of the
 * same customer until Stripe has its PaymentIntent (whose metadata then says whether it was approved):
 * Pending, Approved and Sent. Those waiting for an approver, refused or failed do not count. The request's
 * own Approved By column is not taken for an approval: the users who write requests can write it too.
 */
export const ON_ITS_WAY_STATUSES: number[] = [Status.pending, Status.approved, Status.sent];

/** Another request of the customer on its way to a charge, as the threshold weighs it. */
export interface OtherRequest {
  id: string;
  amount: unknown;
}

/** The customer's other requests in the currency that are on their way to a charge. */
export async function otherRequests(
  dataverse: DataverseClient,
  request: Pick<ChargeRequestRow, 'id' | 'customerId' | 'currency'>,
): Promise<OtherRequest[]> {
  if (!request.customerId || !request.currency) return [];
  const open = ON_ITS_WAY_STATUSES.map((s) => `${R.status} eq ${s}`).join(' or ');
  const rows = await dataverse.retrieveMultiple(REQUESTS, {
    select: [ChargeRequest.primaryId, R.amount],
    filter:
      `${L.customerid.value} eq ${request.customerId} and ${ChargeRequest.primaryId} ne ${request.id}` +
      ` and ${R.currency} eq '${request.currency.replace(/'/g, "''")}' and (${open})`,
  });
  return rows.map((row) => ({
    id: String(row[ChargeRequest.primaryId]).toLowerCase(),
    amount: row[R.amount] ?? null,
  }));
}
