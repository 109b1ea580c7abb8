/**
 * Stripe states built from real objects (fixtures3.json, current API) and recorded events (2020–2023),
 * changed only where a scenario needs it: ids tied together, amounts, statuses.
 */
import type Stripe from 'stripe';
import { currentObject, recordedEvent, type StripeJson } from '../../mapping/__tests__/fixtures';
import type { StripeStub } from './stripe-stub';

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

/** A customer as Stripe returns it now, with the fields a scenario sets. */
export function customerObject(fields: StripeJson): StripeJson {
  return { ...currentObject('customer'), ...fields };
}

/** A recorded event and the succeeded payment its object (a charge, refund or dispute) belongs to. */
export function recordedPayment(name: string): {
  event: Stripe.Event;
  object: StripeJson;
  state: PaymentState;
} {
  const event = recordedEvent(name);
  const object = event.data.object as StripeJson;
  const state = succeededPayment({
    id: object.payment_intent,
    amount: object.amount,
    customer: object.customer,
  });
  return { event, object, state };
}

/**
 * A recorded dispute event with its payment in Stripe: the intent, its charge (marked disputed and given the
 * dispute's charge id), the balance transaction and the dispute.
 */
export function putDisputedPayment(
  stripe: StripeStub,
  name: string,
): { event: Stripe.Event; dispute: StripeJson } {
  const { event, object: dispute, state } = recordedPayment(name);
  state.charge.id = dispute.charge;
  state.intent.latest_charge = dispute.charge;
  stripe.put(state.intent);
  stripe.put({ ...state.charge, disputed: true });
  stripe.put(state.balanceTransaction);
  stripe.put(dispute);
  return { event, dispute };
}

export { currentObject, recordedEvent };
