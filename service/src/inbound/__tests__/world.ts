/**
 * Stripe states built from real objects (fixtures3.json, current API) and recorded events (2020–2023),
 * changed only where a scenario needs it: ids tied together, amounts, statuses.
 */
import { currentObject, recordedEvent, type StripeJson } from '../../mapping/__tests__/fixtures';

export interface PaymentState {
  intent: StripeJson;
  charge: StripeJson;
  balanceTransaction: StripeJson;
}

/** A succeeded card PaymentIntent with its charge and balance transaction. */
export function succeededPayment(options: {
  id: string;
  amount: number;
  currency?: string;
  fee?: number;
  customer?: string | null;
  metadata?: Record<string, string>;
}): PaymentState {
  const currency = options.currency ?? 'usd';
  const chargeId = options.id.replace(/^pi_/, 'ch_');
  const txnId = options.id.replace(/^pi_/, 'txn_');
  const fee = options.fee ?? 0;
  const balanceTransaction = {
    ...currentObject('balance_transaction'),
    id: txnId,
    amount: options.amount,
    fee,
    net: options.amount - fee,
    currency,
    source: chargeId,
  };
  const charge = {
    ...currentObject('charge'),
    id: chargeId,
    amount: options.amount,
    amount_captured: options.amount,
    amount_refunded: 0,
    captured: true,
    currency,
    customer: options.customer ?? null,
    payment_intent: options.id,
    balance_transaction: txnId,
    metadata: options.metadata ?? {},
  };
  const intent = {
    ...currentObject('payment_intent'),
    id: options.id,
    amount: options.amount,
    amount_received: options.amount,
    currency,
    status: 'succeeded',
    canceled_at: null,
    last_payment_error: null,
    customer: options.customer ?? null,
    latest_charge: chargeId,
    metadata: options.metadata ?? {},
    payment_method_types: ['card'],
  };
  return { intent, charge, balanceTransaction };
}

export function refundOf(charge: StripeJson, id: string, amount: number, created: number): StripeJson {
  return {
    ...currentObject('refund'),
    id,
    amount,
    charge: charge.id,
    payment_intent: charge.payment_intent,
    currency: charge.currency,
    status: 'succeeded',
    created,
    balance_transaction: null,
  };
}

export { currentObject, recordedEvent };
