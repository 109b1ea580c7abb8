/**
 * The request row of a subscription change: reading it as the policy needs it, and the table as the shared
 * request steps (../governed-requests.ts) move it out of Pending and write its outcome.
 */
import { SubscriptionAction, SubscriptionRequest, SubscriptionRequestStatus } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../../dataverse/types';
import { isGuid } from '../../config/outbound';
import { finishRequest, moveFromPending, type PendingOutcome, type RequestTable } from '../governed-requests';

const R = SubscriptionRequest.col;
const L = SubscriptionRequest.lookup;
export const Status = SubscriptionRequestStatus;

export type Action = keyof typeof SubscriptionAction;
const ACTIONS = new Map<number, Action>(
  Object.entries(SubscriptionAction).map(([name, value]) => [value, name as Action]),
);

export interface SubscriptionRequestRow {
  id: string;
  status: number | null;
  /** Null when the row has none, or a value this version does not know. */
  action: Action | null;
  /** The account or contact named; which of the two is found when it is read. */
  customerId: string | null;
  priceId: string | null;
  productId: string | null;
  /** Create from an order: the order whose recurring lines become the subscription. */
  orderId: string | null;
  /** As written; the policy says whether it is a quantity Stripe takes. */
  quantity: unknown;
  subscriptionId: string | null;
  subscriptionItemId: string | null;
  createdBy: string | null;
  etag: string | null;
}

export const SUBSCRIPTION_REQUESTS: RequestTable = {
  logicalName: SubscriptionRequest.logicalName,
  entitySetName: SubscriptionRequest.entitySetName,
  noun: 'subscription request',
  status: Status,
  col: R,
  requestedBy: L.requestedby.bind.systemuser,
};

export async function readRequest(
  dataverse: DataverseClient,
  requestId: string,
): Promise<SubscriptionRequestRow | null> {
  const row = await dataverse.retrieve(SubscriptionRequest.entitySetName, requestId, {
    select: [
      SubscriptionRequest.primaryId,
      R.status,
      R.action,
      R.stripePriceId,
      R.quantity,
      L.customerid.value,
      L.productid.value,
      L.salesorderid.value,
      L.subscriptionid.value,
      L.subscriptionitemid.value,
      '_createdby_value',
    ],
  });
  if (!row) return null;
  const guid = (value: unknown) => (isGuid(value) ? value.toLowerCase() : null);
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : null);
  return {
    id: requestId,
    status: typeof row[R.status] === 'number' ? Number(row[R.status]) : null,
    action: ACTIONS.get(Number(row[R.action])) ?? null,
    customerId: guid(row[L.customerid.value]),
    priceId: text(row[R.stripePriceId]),
    productId: guid(row[L.productid.value]),
    orderId: guid(row[L.salesorderid.value]),
    quantity: row[R.quantity] ?? null,
    subscriptionId: guid(row[L.subscriptionid.value]),
    subscriptionItemId: guid(row[L.subscriptionitemid.value]),
    createdBy: guid(row._createdby_value),
    etag: text(row['@odata.etag']),
  };
}

export function transition(
  dataverse: DataverseClient,
  request: SubscriptionRequestRow,
  outcome: PendingOutcome,
): Promise<void> {
  return moveFromPending(dataverse, SUBSCRIPTION_REQUESTS, request, outcome);
}

export function finish(dataverse: DataverseClient, requestId: string, row: Row): Promise<void> {
  return finishRequest(dataverse, SUBSCRIPTION_REQUESTS, requestId, row);
}
