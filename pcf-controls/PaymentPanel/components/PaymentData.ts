/**
 * The panel's reads and writes over `context.webAPI`, and the mapping of Dataverse rows to what the panel
 * shows. Names come from the table model (@stc/solution/tables).
 */
import {
  Payment,
  PaymentStatus,
  RefundReason as ReasonValues,
  RefundRequest,
  RefundRequestStatus,
  StcCardBrandLabels,
  StcPaymentMethodTypeLabels,
  StcPaymentStatusLabels,
  StcRefundRequestStatusLabels,
} from '@stc/solution/tables';
import {
  labelOf,
  lookupFor,
  optionKey,
  readBoolean,
  readDate,
  readNumber,
  readString,
  WebApi,
} from '../../shared/rows';
import { roundMoney } from '../../shared/money';
import { isDuplicateRecord } from '../../shared/guid';
import type {
  PaymentSource,
  PaymentStatus as Status,
  PaymentView,
  RefundInput,
  RefundRequestView,
  RefundRequestStatus as RequestStatus,
} from './types';

const P = Payment.col;
const R = RefundRequest.col;

/**
 * Requests the service has not finished: their amounts are spoken for, one waiting for its approver included
 * (the service holds it against the payment's balance too).
 */
const OPEN_REQUEST_STATUSES: RequestStatus[] = ['pending', 'awaiting_approval', 'approved', 'processing'];
/**
 * Only money actually captured can go back (not a payment awaiting capture, canceled or failed, nor one
 * refunded in full); a disputed payment is settled through the dispute.
 */
const REFUNDABLE_STATUSES: Status[] = ['succeeded', 'partially_refunded'];

const PAYMENT_SELECT = [
  P.name,
  P.stripeId,
  P.amount,
  P.currency,
  P.status,
  P.amountCaptured,
  P.amountRefunded,
  P.fee,
  P.net,
  P.paymentMethodType,
  P.cardBrand,
  P.last4,
  P.disputed,
  P.stripeCreatedOn,
  P.liveMode,
  P.stripeAccount,
];
const REQUESTS = Payment.toMany.stc_refundrequest_stc_paymentid;

/** The single query behind the panel: payments linked to the record, with their refund requests. */
export function paymentsQuery(lookupValueColumn: string, recordId: string): string {
  return (
    `?$select=${PAYMENT_SELECT.join(',')}` +
    `&$filter=${lookupValueColumn} eq ${recordId}` +
    `&$orderby=${P.stripeCreatedOn} desc` +
    `&$expand=${REQUESTS}($select=${R.amount},${R.status})`
  );
}

/** The sum of the amounts of the requests in one of `statuses`, rounded to the currency. */
function requestAmounts(
  requests: Record<string, unknown>[],
  statuses: RequestStatus[],
  currency: string,
): number {
  const total = requests
    .filter((r) =>
      statuses.includes(optionKey(RefundRequestStatus, readNumber(r, R.status)) as RequestStatus),
    )
    .reduce((sum, r) => sum + (readNumber(r, R.amount) ?? 0), 0);
  return roundMoney(total, currency);
}

/**
 * A payment row as the panel shows it. What is refundable is worked out as the service decides a request
 * (outbound/refund-requests, refundFacts): captured, less refunded (the row's amount refunded, or its
 * Succeeded requests when they come to more), less its open requests.
 */
export function paymentFromRow(row: Record<string, unknown>): PaymentView {
  const status = (optionKey(PaymentStatus, readNumber(row, P.status)) ?? 'unknown') as Status;
  const currency = readString(row, P.currency) ?? '';
  const amount = readNumber(row, P.amount) ?? 0;
  const amountCaptured = readNumber(row, P.amountCaptured) ?? 0;
  const disputed = readBoolean(row, P.disputed) || status === 'disputed';
  const requests = Array.isArray(row[REQUESTS]) ? (row[REQUESTS] as Record<string, unknown>[]) : [];
  const amountRefunded = Math.max(
    readNumber(row, P.amountRefunded) ?? 0,
    requestAmounts(requests, ['succeeded'], currency),
  );
  const pendingRequestAmount = requestAmounts(requests, OPEN_REQUEST_STATUSES, currency);
  const refundable =
    REFUNDABLE_STATUSES.includes(status) && !disputed
      ? Math.max(0, roundMoney(amountCaptured - amountRefunded - pendingRequestAmount, currency))
      : 0;
  return {
    id: readString(row, Payment.primaryId) ?? '',
    stripeId: readString(row, P.stripeId) ?? '',
    status,
    statusLabel: labelOf(row, P.status, StcPaymentStatusLabels),
    currency,
    amount,
    amountCaptured,
    amountRefunded,
    fee: readNumber(row, P.fee),
    net: readNumber(row, P.net),
    method: methodOf(row),
    created: readDate(row, P.stripeCreatedOn),
    disputed,
    livemode: readBoolean(row, P.liveMode),
    stripeAccount: readString(row, P.stripeAccount) || undefined,
    refundable,
    pendingRequestAmount,
  };
}

/** "Visa •••• 4242" for a card; the method type's label otherwise. */
function methodOf(row: Record<string, unknown>): string {
  const last4 = readString(row, P.last4);
  const brand =
    readNumber(row, P.cardBrand) !== undefined ? labelOf(row, P.cardBrand, StcCardBrandLabels) : '';
  if (last4)
    return `${brand || labelOf(row, P.paymentMethodType, StcPaymentMethodTypeLabels)} •••• ${last4}`.trim();
  if (brand) return brand;
  return readNumber(row, P.paymentMethodType) !== undefined
    ? labelOf(row, P.paymentMethodType, StcPaymentMethodTypeLabels)
    : '';
}

export function refundRequestPayload(input: RefundInput, name: string): Record<string, unknown> {
  return {
    [RefundRequest.primaryId]: input.requestId,
    [R.name]: name.slice(0, 200),
    [`${RefundRequest.lookup.paymentid.bind.stc_payment}@odata.bind`]: `/${Payment.entitySetName}(${input.payment.id})`,
    [R.amount]: input.amount,
    [R.currency]: input.payment.currency,
    [R.reason]: ReasonValues[input.reason],
    [R.note]: input.note || null,
    [R.status]: RefundRequestStatus.pending,
    [R.liveMode]: input.payment.livemode,
  };
}

export function refundRequestFromRow(id: string, row: Record<string, unknown>): RefundRequestView {
  const status = (optionKey(RefundRequestStatus, readNumber(row, R.status)) ?? 'unknown') as RequestStatus;
  return {
    id,
    status,
    statusLabel: labelOf(row, R.status, StcRefundRequestStatusLabels),
    message: readString(row, R.failureReason) || undefined,
  };
}

/** The data source over the platform's Web API. `requestName` names a new request row for the user. */
export function webApiPaymentSource(
  webAPI: WebApi,
  requestName: (input: RefundInput) => string,
): PaymentSource {
  return {
    async listPayments(recordType, recordId) {
      const lookup = lookupFor(Payment.lookup, recordType);
      if (!lookup) throw new Error(`Payments are not linked to ${recordType} records.`);
      const response = await webAPI.retrieveMultipleRecords(
        Payment.logicalName,
        paymentsQuery(lookup.value, recordId),
      );
      return response.entities.map(paymentFromRow);
    },
    async requestRefund(input) {
      try {
        await webAPI.createRecord(RefundRequest.logicalName, refundRequestPayload(input, requestName(input)));
      } catch (error) {
        if (!isDuplicateRecord(error)) throw error;
        // An earlier attempt under this id was saved, though its answer did not arrive: that row is this
        // request. Reading it back confirms it (and fails, saying why, if the id is taken by nothing readable).
        await webAPI.retrieveRecord(RefundRequest.logicalName, input.requestId, `?$select=${R.status}`);
      }
      return input.requestId;
    },
    async refundRequest(id) {
      const row = await webAPI.retrieveRecord(
        RefundRequest.logicalName,
        id,
        `?$select=${R.status},${R.failureReason}`,
      );
      return refundRequestFromRow(id, row);
    },
  };
}
