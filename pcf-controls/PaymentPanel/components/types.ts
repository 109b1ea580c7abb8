/** What the panel shows, independent of how Dataverse names it (the mapping lives in PaymentData.ts). */

export type PaymentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded'
  | 'failed'
  | 'partially_refunded'
  | 'refunded'
  | 'pending'
  | 'disputed'
  | 'unknown';

export interface PaymentView {
  /** Dataverse row id. */
  id: string;
  stripeId: string;
  status: PaymentStatus;
  /** The platform's label for the status (formatted value), in the user's language. */
  statusLabel: string;
  currency: string;
  amount: number;
  /** What Stripe captured of the amount: all of it, less for a partial capture, 0 before capture. */
  amountCaptured: number;
  /**
   * What is refunded: the payment row's amount refunded, or the sum of its Succeeded refund requests when that
   * is more (the row catches up with Stripe's events a moment after a refund).
   */
  amountRefunded: number;
  fee?: number;
  net?: number;
  /** e.g. "Visa •••• 4242", or the method type when it is not a card. */
  method: string;
  created?: Date;
  disputed: boolean;
  livemode: boolean;
  stripeAccount?: string;
  /**
   * What may still be refunded, in major units, as the service decides it: captured, less refunded, less the
   * payment's open refund requests; 0 when the payment cannot be refunded (not captured, canceled, failed,
   * fully refunded or disputed).
   */
  refundable: number;
  /** Refund requests not yet final, awaiting approval included (a second request would ask for the same money twice). */
  pendingRequestAmount: number;
}

export type RefundReason = 'requested_by_customer' | 'duplicate' | 'fraudulent';

export interface RefundInput {
  /**
   * The new request's row id (`stc_refundrequestid`), chosen before the first attempt to save it, so that
   * saving again after an answer that was lost cannot make a second request.
   */
  requestId: string;
  payment: PaymentView;
  amount: number;
  reason: RefundReason;
  note: string;
}

export type RefundRequestStatus =
  | 'pending'
  | 'awaiting_approval'
  | 'approved'
  | 'processing'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'unknown';

export interface RefundRequestView {
  id: string;
  status: RefundRequestStatus;
  statusLabel: string;
  /** The service's reason when the request failed or was rejected. */
  message?: string;
}

export const FINAL_REQUEST_STATUSES: readonly RefundRequestStatus[] = ['succeeded', 'failed', 'rejected'];

/**
 * Statuses a request stays in without the service acting on it: the final ones, and Awaiting approval, which
 * waits for a finance approver (for days, maybe) while its amount stays held against the payment.
 */
export const RESTING_REQUEST_STATUSES: readonly RefundRequestStatus[] = [
  ...FINAL_REQUEST_STATUSES,
  'awaiting_approval',
];

/** Data access for the panel; one implementation over `context.webAPI`, fakes in tests. */
export interface PaymentSource {
  /** One Web API request. */
  listPayments(recordType: string, recordId: string): Promise<PaymentView[]>;
  /**
   * Saves the request under `input.requestId` and answers that id. Saving the same id again (a retry after an
   * answer that was lost) finds the row already saved and answers its id as well.
   */
  requestRefund(input: RefundInput): Promise<string>;
  refundRequest(id: string): Promise<RefundRequestView>;
}
