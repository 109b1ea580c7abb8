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
  amountRefunded: number;
  fee?: number;
  net?: number;
  /** e.g. "Visa •••• 4242", or the method type when it is not a card. */
  method: string;
  created?: Date;
  disputed: boolean;
  livemode: boolean;
  stripeAccount?: string;
  /** What may still be refunded, in major units; 0 when the payment cannot be refunded. */
  refundable: number;
  /** Refund requests not yet final (a second request would ask for the same money twice). */
  pendingRequestAmount: number;
}

export type RefundReason = 'requested_by_customer' | 'duplicate' | 'fraudulent';

export interface RefundInput {
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

/** Data access for the panel; one implementation over `context.webAPI`, fakes in tests. */
export interface PaymentSource {
  /** One Web API request. */
  listPayments(recordType: string, recordId: string): Promise<PaymentView[]>;
  requestRefund(input: RefundInput): Promise<string>;
  refundRequest(id: string): Promise<RefundRequestView>;
}
