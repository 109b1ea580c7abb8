/** Payment rows as the Web API returns them for the panel's query, built from the table model's names. */
import {
  CardBrand,
  Payment,
  PaymentMethodType,
  PaymentStatus,
  RefundRequest,
  RefundRequestStatus,
} from '@stc/solution/tables';

export const ORDER_ID = '6f1c2a9e-1d2b-4c3d-8e9f-0a1b2c3d4e5f';
export const PAYMENT_ID = '11111111-2222-3333-4444-555555555555';

const P = Payment.col;
const FORMATTED = '@OData.Community.Display.V1.FormattedValue';

export interface PaymentRowSpec {
  id?: string;
  stripeId?: string;
  amount?: number;
  /** What Stripe captured; the whole amount when left out. */
  captured?: number;
  refunded?: number;
  currency?: string;
  status?: keyof typeof PaymentStatus;
  livemode?: boolean;
  account?: string | null;
  disputed?: boolean;
  fee?: number;
  net?: number;
  /** Amounts of Pending refund requests. */
  openRequests?: number[];
  /** Further refund requests of the payment, in any status. */
  requests?: Array<{ amount: number; status: keyof typeof RefundRequestStatus }>;
}

export function paymentRow(spec: PaymentRowSpec = {}): Record<string, unknown> {
  const status = spec.status ?? 'succeeded';
  return {
    [Payment.primaryId]: spec.id ?? PAYMENT_ID,
    [P.name]: spec.stripeId ?? 'pi_3PaymentPanel01',
    [P.stripeId]: spec.stripeId ?? 'pi_3PaymentPanel01',
    [P.amount]: spec.amount ?? 100,
    [P.amountCaptured]: spec.captured ?? spec.amount ?? 100,
    [P.currency]: spec.currency ?? 'usd',
    [P.status]: PaymentStatus[status],
    [`${P.status}${FORMATTED}`]: status === 'succeeded' ? 'Succeeded' : status,
    [P.amountRefunded]: spec.refunded ?? 20,
    [P.fee]: spec.fee ?? 3.2,
    [P.net]: spec.net ?? 96.8,
    [P.paymentMethodType]: PaymentMethodType.card,
    [P.cardBrand]: CardBrand.visa,
    [`${P.cardBrand}${FORMATTED}`]: 'Visa',
    [P.last4]: '4242',
    [P.disputed]: spec.disputed ?? false,
    [P.stripeCreatedOn]: '2026-11-20T10:15:00Z',
    [P.liveMode]: spec.livemode ?? false,
    [P.stripeAccount]: spec.account ?? null,
    [Payment.toMany.stc_refundrequest_stc_paymentid]: [
      ...(spec.openRequests ?? []).map((amount) => ({ amount, status: 'pending' as const })),
      ...(spec.requests ?? []),
    ].map(({ amount, status: requestStatus }) => ({
      [RefundRequest.col.amount]: amount,
      [RefundRequest.col.status]: RefundRequestStatus[requestStatus],
    })),
  };
}
