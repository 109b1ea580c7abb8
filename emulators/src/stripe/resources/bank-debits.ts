/**
 * ACH Direct Debit payments (a `us_bank_account` PaymentMethod): confirmed, the PaymentIntent is `processing`
 * with a `pending` charge (`charge.pending`, `payment_intent.processing`) until the bank settles the debit,
 * days later on Stripe, when asked here (`settleBankDebit`): the charge succeeds and the money lands
 * (`charge.succeeded`, `payment_intent.succeeded`, then `charge.updated` with its balance transaction), or the
 * bank returns it as the test account says (`charge.failed`, `payment_intent.payment_failed`, the PaymentIntent
 * back in `requires_payment_method` with the return in `last_payment_error`).
 */
import { cloneJson } from '../clone';
import type { RequestContext, StripeEngine } from '../engine';
import { invalidRequest } from '../errors';
import { randomToken } from '../ids';
import { emptyList } from '../list';
import type { StripeObject } from '../store';
import { createBalanceTransaction } from './balance';
import { bankBehaviourOf } from './customers';

/** Stripe's ACH Direct Debit price: 0.8 %, at most 5.00 USD. */
const ACH_FEE_PERCENT = 0.8;
const ACH_FEE_CAP = 500;

/** Confirms the PaymentIntent with its bank account: the debit is submitted and the payment `processing`. */
export function debitBankAccount(
  engine: StripeEngine,
  ctx: RequestContext,
  paymentIntent: StripeObject,
  paymentMethod: StripeObject,
): StripeObject {
  if (paymentIntent.currency !== 'usd') {
    throw invalidRequest(
      `The currency provided (${paymentIntent.currency}) is invalid. Payments with us_bank_account support the following currencies: usd.`,
      'currency',
    );
  }
  if (
    !paymentIntent.automatic_payment_methods &&
    !paymentIntent.payment_method_types.includes('us_bank_account')
  ) {
    throw invalidRequest(
      `The PaymentMethod provided (us_bank_account) is not allowed for this PaymentIntent. Please attach a PaymentMethod of one of the following types: ${paymentIntent.payment_method_types.join(', ')}.`,
      'payment_method',
      'payment_intent_invalid_parameter',
    );
  }
  const charge = newBankCharge(engine, ctx, paymentIntent, paymentMethod);
  engine.change(paymentIntent, (pi) => {
    pi.next_action = null;
    pi.last_payment_error = null;
    pi.latest_charge = charge.id;
    pi.status = 'processing';
    if (!pi.payment_method_types.includes('us_bank_account'))
      pi.payment_method_types = [...pi.payment_method_types, 'us_bank_account'];
  });
  engine.emit(ctx, 'charge.pending', charge);
  engine.emit(ctx, 'payment_intent.processing', paymentIntent);
  return paymentIntent;
}

function newBankCharge(
  engine: StripeEngine,
  ctx: RequestContext,
  paymentIntent: StripeObject,
  paymentMethod: StripeObject,
): StripeObject {
  const id = engine.newId('py');
  const account = paymentMethod.us_bank_account;
  return ctx.scope.insert({
    id,
    object: 'charge',
    amount: paymentIntent.amount,
    amount_captured: paymentIntent.amount,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: paymentIntent.application_fee_amount,
    balance_transaction: null,
    billing_details: cloneJson(paymentMethod.billing_details),
    calculated_statement_descriptor: 'STRIPE EMULATOR',
    captured: true,
    created: engine.now(),
    currency: paymentIntent.currency,
    customer: paymentIntent.customer,
    description: paymentIntent.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: ctx.scope.livemode,
    metadata: { ...paymentIntent.metadata },
    on_behalf_of: paymentIntent.on_behalf_of,
    outcome: {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: 'approved_by_network',
      reason: null,
      risk_level: 'not_assessed',
      seller_message: 'Payment complete.',
      type: 'authorized',
    },
    paid: false,
    payment_intent: paymentIntent.id,
    payment_method: paymentMethod.id,
    payment_method_details: {
      type: 'us_bank_account',
      us_bank_account: {
        account_holder_type: account.account_holder_type,
        account_type: account.account_type,
        bank_name: account.bank_name,
        fingerprint: account.fingerprint,
        last4: account.last4,
        mandate: null,
        payment_reference: null,
        routing_number: account.routing_number,
      },
    },
    receipt_email: paymentIntent.receipt_email,
    receipt_number: null,
    receipt_url: `https://pay.stripe.com/receipts/payment/${randomToken(40)}`,
    refunded: false,
    refunds: emptyList(`/v1/charges/${id}/refunds`),
    review: null,
    shipping: paymentIntent.shipping,
    source: null,
    source_transfer: null,
    statement_descriptor: paymentIntent.statement_descriptor,
    statement_descriptor_suffix: paymentIntent.statement_descriptor_suffix,
    status: 'pending',
    transfer_data: null,
    transfer_group: paymentIntent.transfer_group,
  });
}

/**
 * The bank settles a `processing` debit as its test account says: the payment succeeds, or the debit is
 * returned and the payment fails. Test helper (Stripe does it on its own schedule).
 */
export function settleBankDebit(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  const paymentIntent = engine.get(ctx, 'payment_intent', id);
  const charge = paymentIntent.latest_charge ? ctx.scope.find(paymentIntent.latest_charge) : undefined;
  if (paymentIntent.status !== 'processing' || charge?.payment_method_details?.type !== 'us_bank_account') {
    throw invalidRequest(
      `PaymentIntent ${id} has no bank debit to settle: its status is ${paymentIntent.status}.`,
      'payment_intent',
    );
  }
  const paymentMethod = engine.get(ctx, 'payment_method', charge.payment_method);
  const failure = bankBehaviourOf(ctx, paymentMethod).failure;
  if (failure) returnDebit(engine, ctx, { paymentIntent, charge, paymentMethod }, failure);
  else completeDebit(engine, ctx, paymentIntent, charge);
  return paymentIntent;
}

function completeDebit(
  engine: StripeEngine,
  ctx: RequestContext,
  paymentIntent: StripeObject,
  charge: StripeObject,
): void {
  engine.change(charge, (c) => {
    c.status = 'succeeded';
    c.paid = true;
  });
  engine.emit(ctx, 'charge.succeeded', charge);
  engine.change(paymentIntent, (pi) => {
    pi.status = 'succeeded';
    pi.amount_received = pi.amount;
  });
  engine.emit(ctx, 'payment_intent.succeeded', paymentIntent);
  const fee = Math.min(Math.round((charge.amount * ACH_FEE_PERCENT) / 100), ACH_FEE_CAP);
  const transaction = createBalanceTransaction(engine, ctx.scope, {
    amount: charge.amount,
    currency: charge.currency,
    fee: [
      {
        amount: fee,
        application: null,
        currency: charge.currency,
        description: 'Stripe processing fees',
        type: 'stripe_fee',
      },
    ],
    type: 'payment',
    reportingCategory: 'charge',
    source: charge.id,
    description: charge.description,
  });
  engine.update(ctx, charge, (c) => void (c.balance_transaction = transaction.id), 'charge.updated', {
    automatic: true,
  });
}

function returnDebit(
  engine: StripeEngine,
  ctx: RequestContext,
  debit: { paymentIntent: StripeObject; charge: StripeObject; paymentMethod: StripeObject },
  failure: { code: string; message: string },
): void {
  const { paymentIntent, charge, paymentMethod } = debit;
  engine.change(charge, (c) => {
    c.status = 'failed';
    c.paid = false;
    c.captured = false;
    c.amount_captured = 0;
    c.failure_code = failure.code;
    c.failure_message = failure.message;
    c.outcome = {
      ...c.outcome,
      network_status: 'declined_by_network',
      seller_message: failure.message,
      type: 'issuer_declined',
    };
  });
  engine.emit(ctx, 'charge.failed', charge);
  engine.change(paymentIntent, (pi) => {
    pi.status = 'requires_payment_method';
    pi.payment_method = null;
    pi.last_payment_error = {
      charge: charge.id,
      code: failure.code,
      doc_url: `https://stripe.com/docs/error-codes/${failure.code.replace(/_/g, '-')}`,
      message: failure.message,
      payment_method: cloneJson(paymentMethod),
      type: 'invalid_request_error',
    };
  });
  engine.emit(ctx, 'payment_intent.payment_failed', paymentIntent);
}
