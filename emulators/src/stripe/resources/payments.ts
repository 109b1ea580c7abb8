/** PaymentIntents and the charges, refunds and disputes they lead to, with Stripe's events in Stripe's order. */
import { cloneJson } from '../clone';
import type { TestCard } from '../cards';
import type { RequestContext, StripeEngine } from '../engine';
import type { ObjectOperation } from '../operations';
import { invalidRequest, StripeApiError, unexpectedState } from '../errors';
import { randomToken } from '../ids';
import { emptyList, fieldFilters, listObjects, StripeList, timeFilter } from '../list';
import {
  assignStrings,
  currency,
  mergeMetadata,
  nullableString,
  optionalArray,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  Params,
  requiredInteger,
} from '../params';
import type { StripeObject } from '../store';
import { createBalanceTransaction, processingFee } from './balance';
import { behaviourOf, resolvePaymentMethod, shipping } from './customers';
import { debitBankAccount } from './bank-debits';

/** Smallest charge Stripe accepts, per currency (docs: minimum and maximum charge amounts). */
const MINIMUM_AMOUNT: Record<string, number> = {
  usd: 50,
  eur: 50,
  gbp: 30,
  cad: 50,
  aud: 50,
  jpy: 50,
  chf: 50,
};

const CANCELABLE = new Set([
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
  'processing',
]);

/** A payment intent's shipping: a customer's, with the carrier and tracking number. */
const shippingOf = (value: Params | undefined) => shipping(value, ['carrier', 'tracking_number']);

// ---- payment intents -------------------------------------------------------------------------------------

/** Refuses an amount below Stripe's minimum for the currency or above its maximum. */
function checkAmount(amount: number, code: string): void {
  const minimum = MINIMUM_AMOUNT[code] ?? 1;
  if (amount < minimum) {
    throw invalidRequest(
      `Amount must be at least ${minimum} ${code} (smallest currency unit)`,
      'amount',
      'amount_too_small',
    );
  }
  if (amount > 99999999)
    throw invalidRequest('Amount must be no more than 999,999.99', 'amount', 'amount_too_large');
}

function captureMethodOf(params: Params): string {
  const captureMethod = optionalString(params, 'capture_method') ?? 'automatic';
  if (!['automatic', 'automatic_async', 'manual'].includes(captureMethod)) {
    throw invalidRequest(
      `Invalid capture_method: must be one of automatic, automatic_async, or manual`,
      'capture_method',
    );
  }
  return captureMethod;
}

export function createPaymentIntent(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const amount = requiredInteger(params, 'amount');
  const code = currency(params);
  checkAmount(amount, code);
  const customerId = optionalString(params, 'customer');
  if (customerId) engine.reference(ctx, 'customer', customerId, 'customer');
  const paymentMethodParam = optionalString(params, 'payment_method');
  const paymentMethod = paymentMethodParam
    ? resolvePaymentMethod(engine, ctx, paymentMethodParam, 'payment_method')
    : undefined;
  const captureMethod = captureMethodOf(params);
  const types = optionalArray(params, 'payment_method_types')?.map(String);
  const id = engine.newId('pi');
  const paymentIntent: StripeObject = {
    id,
    object: 'payment_intent',
    amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: optionalInteger(params, 'application_fee_amount') ?? null,
    automatic_payment_methods: types ? null : { allow_redirects: 'always', enabled: true },
    canceled_at: null,
    cancellation_reason: null,
    capture_method: captureMethod,
    client_secret: `${id}_secret_${randomToken(25)}`,
    confirmation_method: optionalString(params, 'confirmation_method') ?? 'automatic',
    created: engine.now(),
    currency: code,
    customer: customerId ?? null,
    customer_account: null,
    description: nullableString(params, 'description') ?? null,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: ctx.scope.livemode,
    managed_payments: null,
    metadata: mergeMetadata({}, params),
    next_action: null,
    on_behalf_of: optionalString(params, 'on_behalf_of') ?? null,
    payment_method: paymentMethod?.id ?? null,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' },
    },
    payment_method_types: types ?? ['card'],
    processing: null,
    receipt_email: nullableString(params, 'receipt_email') ?? null,
    review: null,
    setup_future_usage: optionalString(params, 'setup_future_usage') ?? null,
    shipping: shippingOf(optionalObject(params, 'shipping')),
    source: null,
    statement_descriptor: nullableString(params, 'statement_descriptor') ?? null,
    statement_descriptor_suffix: nullableString(params, 'statement_descriptor_suffix') ?? null,
    status: paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
    transfer_data: null,
    transfer_group: nullableString(params, 'transfer_group') ?? null,
  };
  ctx.scope.insert(paymentIntent);
  engine.emit(ctx, 'payment_intent.created', paymentIntent);
  if (optionalBoolean(params, 'confirm')) {
    confirmIntent(
      engine,
      ctx,
      paymentIntent,
      params.off_session === undefined ? {} : { off_session: params.off_session },
    );
  }
  return paymentIntent;
}

export const updatePaymentIntent: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const paymentIntent = engine.get(ctx, 'payment_intent', id);
  if (['succeeded', 'canceled'].includes(paymentIntent.status) && (params.amount || params.payment_method)) {
    throw unexpectedState(
      `This PaymentIntent's amount could not be updated because it has a status of ${paymentIntent.status}.`,
    );
  }
  const amount = optionalInteger(params, 'amount', 1);
  const paymentMethodParam = optionalString(params, 'payment_method');
  const paymentMethod = paymentMethodParam
    ? resolvePaymentMethod(engine, ctx, paymentMethodParam, 'payment_method')
    : undefined;
  const customerId = optionalString(params, 'customer');
  if (customerId) engine.reference(ctx, 'customer', customerId, 'customer');
  engine.change(paymentIntent, (pi) => {
    if (amount !== undefined) pi.amount = amount;
    if (customerId) pi.customer = customerId;
    for (const field of [
      'description',
      'receipt_email',
      'statement_descriptor',
      'statement_descriptor_suffix',
    ] as const) {
      const value = nullableString(params, field);
      if (value !== undefined) pi[field] = value;
    }
    if (params.shipping !== undefined) pi.shipping = shippingOf(optionalObject(params, 'shipping'));
    pi.metadata = mergeMetadata(pi.metadata, params);
    if (paymentMethod) {
      pi.payment_method = paymentMethod.id;
      if (pi.status === 'requires_payment_method') pi.status = 'requires_confirmation';
    }
  });
  return paymentIntent;
};

export const confirmPaymentIntent: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  return confirmIntent(engine, ctx, engine.get(ctx, 'payment_intent', id), params);
};

function confirmIntent(
  engine: StripeEngine,
  ctx: RequestContext,
  paymentIntent: StripeObject,
  params: Params,
): StripeObject {
  if (
    !['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(paymentIntent.status)
  ) {
    throw unexpectedState(
      `You cannot confirm this PaymentIntent because it has a status of ${paymentIntent.status}. ` +
        `Only a PaymentIntent with one of the following statuses may be confirmed: requires_confirmation, requires_payment_method, requires_action.`,
    );
  }
  const paymentMethod = confirmingPaymentMethod(engine, ctx, paymentIntent, params);
  if (paymentMethod.type === 'us_bank_account')
    return debitBankAccount(engine, ctx, paymentIntent, paymentMethod);
  let card = behaviourOf(ctx, paymentMethod);
  if (card.authentication) {
    if (optionalBoolean(params, 'off_session')) {
      card = {
        ...card,
        decline: {
          code: 'authentication_required',
          declineCode: 'authentication_required',
          message: 'Your card was declined. This transaction requires authentication.',
        },
      };
    } else if (paymentIntent.status !== 'requires_action') {
      return requireAction(engine, ctx, paymentIntent);
    }
    // Confirming again from requires_action stands for the customer having completed the challenge.
  }
  paymentIntent.next_action = null;
  const charge = newCharge(engine, ctx, termsOfIntent(paymentIntent), paymentMethod, card);
  paymentIntent.latest_charge = charge.id;
  if (card.decline) declineIntent(engine, ctx, { paymentIntent, paymentMethod, charge }, card.decline);
  return authorizeIntent(engine, ctx, paymentIntent, charge, card);
}

/** The payment method the confirmation names (it replaces the intent's), else the intent's own. */
function confirmingPaymentMethod(
  engine: StripeEngine,
  ctx: RequestContext,
  paymentIntent: StripeObject,
  params: Params,
): StripeObject {
  const paymentMethodParam = optionalString(params, 'payment_method');
  if (paymentMethodParam) {
    paymentIntent.payment_method = resolvePaymentMethod(engine, ctx, paymentMethodParam, 'payment_method').id;
  }
  if (!paymentIntent.payment_method) {
    throw unexpectedState(
      "You cannot confirm this PaymentIntent because it's missing a payment method. Update the PaymentIntent " +
        'with a payment method and then confirm it again.',
      'payment_intent_unexpected_state',
      'payment_method',
    );
  }
  return engine.get(ctx, 'payment_method', paymentIntent.payment_method);
}

/** A card that asks for 3D Secure: the intent waits for the customer (`requires_action`). */
function requireAction(engine: StripeEngine, ctx: RequestContext, paymentIntent: StripeObject): StripeObject {
  engine.change(paymentIntent, (pi) => {
    pi.status = 'requires_action';
    pi.next_action = {
      type: 'use_stripe_sdk',
      use_stripe_sdk: {
        type: 'three_d_secure_redirect',
        stripe_js: `https://hooks.stripe.com/3d_secure_2/hosted?payment_intent=${pi.id}`,
      },
    };
  });
  engine.emit(ctx, 'payment_intent.requires_action', paymentIntent);
  return paymentIntent;
}

/** A declined card: the intent needs another payment method, and the request fails with a card error. */
function declineIntent(
  engine: StripeEngine,
  ctx: RequestContext,
  attempt: { paymentIntent: StripeObject; paymentMethod: StripeObject; charge: StripeObject },
  decline: NonNullable<TestCard['decline']>,
): never {
  const { paymentIntent, paymentMethod, charge } = attempt;
  const { code, declineCode, message } = decline;
  const error = {
    charge: charge.id,
    code,
    decline_code: declineCode,
    doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}`,
    message,
    payment_method: cloneJson(paymentMethod),
    type: 'card_error',
  };
  engine.change(paymentIntent, (pi) => {
    pi.status = 'requires_payment_method';
    pi.last_payment_error = error;
    pi.payment_method = null;
  });
  engine.emit(ctx, 'charge.failed', charge);
  engine.emit(ctx, 'payment_intent.payment_failed', paymentIntent);
  throw new StripeApiError({
    status: 402,
    type: 'card_error',
    code,
    message,
    extra: {
      charge: charge.id,
      decline_code: declineCode,
      payment_intent: cloneJson(paymentIntent),
      payment_method: cloneJson(paymentMethod),
      request_log_url: `https://dashboard.stripe.com/test/logs/${ctx.requestId ?? ''}`,
    },
    replayable: true,
  });
}

/** An approved card: captured and settled now, or held for a manual capture. */
function authorizeIntent(
  engine: StripeEngine,
  ctx: RequestContext,
  paymentIntent: StripeObject,
  charge: StripeObject,
  card: TestCard,
): StripeObject {
  engine.change(paymentIntent, (pi) => {
    pi.last_payment_error = null;
    if (pi.capture_method === 'manual') {
      pi.status = 'requires_capture';
      pi.amount_capturable = pi.amount;
    } else {
      pi.status = 'succeeded';
      pi.amount_received = pi.amount;
    }
  });
  engine.emit(ctx, 'charge.succeeded', charge);
  if (paymentIntent.capture_method === 'manual') {
    engine.emit(ctx, 'payment_intent.amount_capturable_updated', paymentIntent);
    return paymentIntent;
  }
  engine.emit(ctx, 'payment_intent.succeeded', paymentIntent);
  settleCharge(engine, ctx, charge, card);
  return paymentIntent;
}

/**
 * Captures `amount` of an authorized charge (`charge.captured`). Stripe releases the rest of the authorization
 * and counts it as refunded: after a partial capture the charge's `amount_refunded` is `amount − amount_captured`
 * (docs: "Any additional amount is automatically refunded"), though no refund was made.
 */
function captureAuthorized(
  engine: StripeEngine,
  ctx: RequestContext,
  charge: StripeObject,
  amount: number,
): void {
  engine.update(
    ctx,
    charge,
    (c) => {
      c.captured = true;
      c.amount_captured = amount;
      if (amount < c.amount) c.amount_refunded = c.amount - amount;
    },
    'charge.captured',
    { always: true },
  );
}

export const capturePaymentIntent: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const paymentIntent = engine.get(ctx, 'payment_intent', id);
  if (paymentIntent.status !== 'requires_capture') {
    throw unexpectedState(
      `This PaymentIntent could not be captured because it has a status of ${paymentIntent.status}. ` +
        'Only a PaymentIntent with one of the following statuses may be captured: requires_capture.',
    );
  }
  const amountToCapture = optionalInteger(params, 'amount_to_capture', 1) ?? paymentIntent.amount_capturable;
  if (amountToCapture > paymentIntent.amount_capturable) {
    throw invalidRequest(
      `The amount to capture (${amountToCapture}) is greater than the amount capturable (${paymentIntent.amount_capturable}).`,
      'amount_to_capture',
      'amount_too_large',
    );
  }
  const charge = engine.get(ctx, 'charge', paymentIntent.latest_charge);
  captureAuthorized(engine, ctx, charge, amountToCapture);
  engine.change(paymentIntent, (pi) => {
    pi.status = 'succeeded';
    pi.amount_capturable = 0;
    pi.amount_received = amountToCapture;
    pi.metadata = mergeMetadata(pi.metadata, params);
  });
  engine.emit(ctx, 'payment_intent.succeeded', paymentIntent);
  const paymentMethod = engine.get(ctx, 'payment_method', charge.payment_method);
  settleCharge(engine, ctx, charge, behaviourOf(ctx, paymentMethod));
  return paymentIntent;
};

export const cancelPaymentIntent: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const paymentIntent = engine.get(ctx, 'payment_intent', id);
  if (!CANCELABLE.has(paymentIntent.status)) {
    throw unexpectedState(
      `You cannot cancel this PaymentIntent because it has a status of ${paymentIntent.status}. Only a PaymentIntent ` +
        `with one of the following statuses may be canceled: ${[...CANCELABLE].join(', ')}.`,
    );
  }
  const wasAuthorized = paymentIntent.status === 'requires_capture';
  engine.change(paymentIntent, (pi) => {
    pi.status = 'canceled';
    pi.canceled_at = engine.now();
    pi.cancellation_reason = optionalString(params, 'cancellation_reason') ?? 'requested_by_customer';
    pi.amount_capturable = 0;
  });
  if (wasAuthorized) {
    // Releasing an authorization refunds the uncaptured charge in full; no money moved, so no balance transaction.
    const charge = engine.get(ctx, 'charge', paymentIntent.latest_charge);
    engine.update(
      ctx,
      charge,
      (c) => {
        c.amount_refunded = c.amount;
        c.refunded = true;
      },
      'charge.refunded',
    );
  }
  engine.emit(ctx, 'payment_intent.canceled', paymentIntent);
  return paymentIntent;
};

export function listPaymentIntents(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const filters = [...fieldFilters(params, 'customer'), timeFilter(params)];
  return listObjects(ctx.scope, 'payment_intent', params, '/v1/payment_intents', filters);
}

// ---- charges ---------------------------------------------------------------------------------------------

/** What a charge is made of: its PaymentIntent's terms, or a Charges API request's. */
interface ChargeTerms {
  amount: number;
  currency: string;
  customer: string | null;
  description: string | null;
  metadata: Record<string, string>;
  /** Null for a charge made without a PaymentIntent (Charges API). */
  paymentIntent: string | null;
  /** False: the card is only authorized, and the charge is captured later. */
  capture: boolean;
  applicationFeeAmount: number | null;
  onBehalfOf: string | null;
  receiptEmail: string | null;
  shipping: unknown;
  statementDescriptor: string | null;
  statementDescriptorSuffix: string | null;
  transferGroup: string | null;
}

function termsOfIntent(paymentIntent: StripeObject): ChargeTerms {
  return {
    amount: paymentIntent.amount,
    currency: paymentIntent.currency,
    customer: paymentIntent.customer,
    description: paymentIntent.description,
    metadata: { ...paymentIntent.metadata },
    paymentIntent: paymentIntent.id,
    capture: paymentIntent.capture_method !== 'manual',
    applicationFeeAmount: paymentIntent.application_fee_amount,
    onBehalfOf: paymentIntent.on_behalf_of,
    receiptEmail: paymentIntent.receipt_email,
    shipping: paymentIntent.shipping,
    statementDescriptor: paymentIntent.statement_descriptor,
    statementDescriptorSuffix: paymentIntent.statement_descriptor_suffix,
    transferGroup: paymentIntent.transfer_group,
  };
}

function newCharge(
  engine: StripeEngine,
  ctx: RequestContext,
  terms: ChargeTerms,
  paymentMethod: StripeObject,
  card: TestCard,
): StripeObject {
  const id = engine.newId('ch');
  const failed = Boolean(card.decline);
  const captured = !failed && terms.capture;
  const charge: StripeObject = {
    id,
    object: 'charge',
    amount: terms.amount,
    amount_captured: captured ? terms.amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: terms.applicationFeeAmount,
    balance_transaction: null,
    billing_details: cloneJson(paymentMethod.billing_details),
    calculated_statement_descriptor: 'STRIPE EMULATOR',
    captured,
    created: engine.now(),
    currency: terms.currency,
    customer: terms.customer,
    description: terms.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: card.decline?.code ?? null,
    failure_message: card.decline?.message ?? null,
    fraud_details: {},
    livemode: ctx.scope.livemode,
    metadata: terms.metadata,
    on_behalf_of: terms.onBehalfOf,
    outcome: chargeOutcome(card),
    paid: !failed,
    payment_intent: terms.paymentIntent,
    payment_method: paymentMethod.id,
    payment_method_details: { card: cardDetails(terms.amount, paymentMethod, card), type: 'card' },
    receipt_email: terms.receiptEmail,
    receipt_number: null,
    receipt_url: `https://pay.stripe.com/receipts/payment/${randomToken(40)}`,
    refunded: false,
    refunds: emptyList(`/v1/charges/${id}/refunds`),
    review: null,
    shipping: terms.shipping,
    source: null,
    source_transfer: null,
    statement_descriptor: terms.statementDescriptor,
    statement_descriptor_suffix: terms.statementDescriptorSuffix,
    status: failed ? 'failed' : 'succeeded',
    transfer_data: null,
    transfer_group: terms.transferGroup,
  };
  return ctx.scope.insert(charge);
}

/** The network's answer to a charge: approved, or the issuer's decline. */
function chargeOutcome(card: TestCard): Record<string, unknown> {
  const network = { advice_code: null, network_advice_code: null, network_decline_code: null };
  if (card.decline) {
    return {
      ...network,
      network_status: 'declined_by_network',
      reason: card.decline.declineCode,
      risk_level: 'normal',
      risk_score: 40,
      seller_message: 'The bank did not return any further details with this decline.',
      type: 'issuer_declined',
    };
  }
  return {
    ...network,
    network_status: 'approved_by_network',
    reason: null,
    risk_level: 'normal',
    risk_score: 32,
    seller_message: 'Payment complete.',
    type: 'authorized',
  };
}

/** A charge's `payment_method_details.card`: the test card, and the authorization when it was approved. */
function cardDetails(amount: number, paymentMethod: StripeObject, card: TestCard): Record<string, unknown> {
  const failed = Boolean(card.decline);
  return {
    amount_authorized: failed ? null : amount,
    authorization_code: failed ? null : randomToken(6).toUpperCase(),
    brand: card.brand,
    checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
    country: card.country,
    exp_month: paymentMethod.card.exp_month,
    exp_year: paymentMethod.card.exp_year,
    extended_authorization: { status: 'disabled' },
    fingerprint: paymentMethod.card.fingerprint,
    funding: card.funding,
    incremental_authorization: { status: 'unavailable' },
    installments: null,
    last4: card.last4,
    mandate: null,
    multicapture: { status: 'unavailable' },
    network: card.brand,
    network_token: { used: false },
    network_transaction_id: failed ? null : randomToken(15),
    overcapture: { maximum_amount_capturable: amount, status: 'unavailable' },
    regulated_status: 'unregulated',
    three_d_secure: null,
    transaction_link_id: null,
    wallet: null,
  };
}

/**
 * The captured charge's money lands: a balance transaction with Stripe's fee, announced by `charge.updated`
 * (Stripe fills `balance_transaction` after `charge.succeeded`); cards that open a dispute do so now.
 */
function settleCharge(engine: StripeEngine, ctx: RequestContext, charge: StripeObject, card: TestCard): void {
  const transaction = createBalanceTransaction(engine, ctx.scope, {
    amount: charge.amount_captured,
    currency: charge.currency,
    fee: processingFee(engine, charge.amount_captured, charge.currency),
    type: 'charge',
    reportingCategory: 'charge',
    source: charge.id,
    description: charge.description,
  });
  engine.update(ctx, charge, (c) => void (c.balance_transaction = transaction.id), 'charge.updated', {
    automatic: true,
  });
  if (card.dispute) openDispute(engine, ctx, charge, card.dispute);
}

export function retrieveCharge(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  return engine.get(ctx, 'charge', id);
}

export const updateCharge: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const charge = engine.get(ctx, 'charge', id);
  engine.update(
    ctx,
    charge,
    (c) => {
      c.metadata = mergeMetadata(c.metadata, params);
      assignStrings(c, params, ['description', 'receipt_email']);
    },
    'charge.updated',
  );
  return charge;
};

export function listCharges(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const filters = [...fieldFilters(params, 'customer', 'payment_intent'), timeFilter(params)];
  return listObjects(ctx.scope, 'charge', params, '/v1/charges', filters);
}

/**
 * POST /v1/charges, the Charges API (older integrations): a card (`source`: a test token or payment method)
 * charged at once, or with `capture=false` only authorized: the charge then `succeeded` with `captured: false`
 * and `amount_captured: 0` until captured (`charge.succeeded` alone; `charge.captured` comes with the capture).
 */
export function createCharge(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const amount = requiredInteger(params, 'amount');
  const code = currency(params);
  checkAmount(amount, code);
  const customerId = optionalString(params, 'customer');
  if (customerId) engine.reference(ctx, 'customer', customerId, 'customer');
  const source = optionalString(params, 'source');
  if (!source) {
    throw customerId
      ? invalidRequest('Cannot charge a customer that has no active card', 'card', 'missing')
      : invalidRequest('Must provide source or customer.', undefined, 'parameter_missing');
  }
  const paymentMethod = resolvePaymentMethod(engine, ctx, source, 'source');
  let card = behaviourOf(ctx, paymentMethod);
  // The Charges API cannot authenticate the customer: a card that asks for 3-D Secure is declined.
  if (card.authentication && !card.decline) {
    card = {
      ...card,
      decline: {
        code: 'authentication_required',
        declineCode: 'authentication_required',
        message: 'Your card was declined. This transaction requires authentication.',
      },
    };
  }
  const charge = newCharge(
    engine,
    ctx,
    {
      amount,
      currency: code,
      customer: customerId ?? null,
      description: nullableString(params, 'description') ?? null,
      metadata: mergeMetadata({}, params),
      paymentIntent: null,
      capture: optionalBoolean(params, 'capture') ?? true,
      applicationFeeAmount: optionalInteger(params, 'application_fee_amount') ?? null,
      onBehalfOf: optionalString(params, 'on_behalf_of') ?? null,
      receiptEmail: nullableString(params, 'receipt_email') ?? null,
      shipping: shippingOf(optionalObject(params, 'shipping')),
      statementDescriptor: nullableString(params, 'statement_descriptor') ?? null,
      statementDescriptorSuffix: nullableString(params, 'statement_descriptor_suffix') ?? null,
      transferGroup: nullableString(params, 'transfer_group') ?? null,
    },
    paymentMethod,
    card,
  );
  if (card.decline) {
    const { code: errorCode, declineCode, message } = card.decline;
    engine.emit(ctx, 'charge.failed', charge);
    throw new StripeApiError({
      status: 402,
      type: 'card_error',
      code: errorCode,
      message,
      extra: {
        charge: charge.id,
        decline_code: declineCode,
        request_log_url: `https://dashboard.stripe.com/test/logs/${ctx.requestId ?? ''}`,
      },
      replayable: true,
    });
  }
  engine.emit(ctx, 'charge.succeeded', charge);
  if (charge.captured) settleCharge(engine, ctx, charge, card);
  return charge;
}

/**
 * POST /v1/charges/:id/capture: captures an authorized Charges API charge, all of it or `amount` (the rest of
 * the authorization is released). A PaymentIntent's charge is captured through its PaymentIntent.
 */
export const captureCharge: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const charge = engine.get(ctx, 'charge', id);
  if (charge.payment_intent) {
    throw invalidRequest(
      `This charge cannot be captured because it was created by a PaymentIntent (${charge.payment_intent}). ` +
        'Capture the PaymentIntent instead.',
    );
  }
  if (charge.captured) {
    throw invalidRequest(
      `Charge ${charge.id} has already been captured.`,
      undefined,
      'charge_already_captured',
    );
  }
  if (charge.status !== 'succeeded' || charge.refunded) {
    throw invalidRequest(
      `Charge ${charge.id} cannot be captured: its authorization was ${charge.refunded ? 'released' : 'not approved'}.`,
      undefined,
      'charge_expired_for_capture',
    );
  }
  const amount = optionalInteger(params, 'amount', 1) ?? charge.amount;
  if (amount > charge.amount) {
    throw invalidRequest(
      `Amount to capture (${amount}) must be less than or equal to the original amount (${charge.amount}).`,
      'amount',
      'amount_too_large',
    );
  }
  const receiptEmail = nullableString(params, 'receipt_email');
  if (receiptEmail !== undefined) engine.change(charge, (c) => void (c.receipt_email = receiptEmail));
  captureAuthorized(engine, ctx, charge, amount);
  const paymentMethod = engine.get(ctx, 'payment_method', charge.payment_method);
  settleCharge(engine, ctx, charge, behaviourOf(ctx, paymentMethod));
  return charge;
};

// ---- refunds ---------------------------------------------------------------------------------------------

/** The charge a refund request names, by its PaymentIntent or directly; it must be captured. */
function chargeToRefund(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const chargeId = optionalString(params, 'charge');
  const paymentIntentId = optionalString(params, 'payment_intent');
  let charge: StripeObject;
  if (paymentIntentId) {
    const paymentIntent = engine.reference(ctx, 'payment_intent', paymentIntentId, 'payment_intent');
    if (paymentIntent.status !== 'succeeded' || !paymentIntent.latest_charge) {
      throw invalidRequest(
        `This PaymentIntent (${paymentIntentId}) does not have a successful charge to refund.`,
        'payment_intent',
      );
    }
    charge = engine.get(ctx, 'charge', paymentIntent.latest_charge);
  } else if (chargeId) {
    charge = engine.reference(ctx, 'charge', chargeId, 'charge');
  } else {
    throw invalidRequest(
      'One of the following params should be provided for this request: payment_intent or charge.',
      'charge',
      'parameter_missing',
    );
  }
  // An authorization made through the Charges API is released by refunding its charge (docs: placing a hold,
  // Charges API); a PaymentIntent's is released by canceling the PaymentIntent.
  if (!charge.paid || (!charge.captured && charge.payment_intent)) {
    throw invalidRequest(
      `Charge ${charge.id} has not been captured and cannot be refunded.`,
      'charge',
      'charge_not_refundable',
    );
  }
  return charge;
}

/** The refund's amount (default what is left) and reason, within what the charge can still refund. */
function refundTerms(charge: StripeObject, params: Params): { amount: number; reason: string | null } {
  // `amount_refunded` counts the part of an authorization released at a partial capture: what is left to
  // refund is the amount less all of it.
  const refundable = charge.amount - charge.amount_refunded;
  if (refundable <= 0) {
    throw invalidRequest(
      `Charge ${charge.id} has already been refunded.`,
      'charge',
      'charge_already_refunded',
    );
  }
  const amount = optionalInteger(params, 'amount', 1) ?? refundable;
  if (!charge.captured && amount !== charge.amount) {
    throw invalidRequest(
      'You cannot partially refund an uncaptured charge. Instead, capture the charge for an amount less than the original amount',
      'amount',
    );
  }
  if (amount > refundable) {
    throw invalidRequest(
      `Refund amount (${amount}) is greater than unrefunded amount on charge (${refundable})`,
      'amount',
      'amount_too_large',
    );
  }
  const reason = optionalString(params, 'reason') ?? null;
  if (reason && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)) {
    throw invalidRequest(
      'Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer',
      'reason',
    );
  }
  return { amount, reason };
}

export function createRefund(engine: StripeEngine, ctx: RequestContext, params: Params): StripeObject {
  const charge = chargeToRefund(engine, ctx, params);
  const { amount, reason } = refundTerms(charge, params);
  // Refunding an uncaptured charge releases its authorization: no money moved, so no balance transaction.
  const release = !charge.captured;
  const refund: StripeObject = {
    id: engine.newId('re'),
    object: 'refund',
    amount,
    balance_transaction: null,
    charge: charge.id,
    created: engine.now(),
    currency: charge.currency,
    customer: charge.customer,
    customer_account: null,
    destination_details: {
      card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' },
      type: 'card',
    },
    metadata: mergeMetadata({}, params),
    payment_intent: charge.payment_intent,
    payment_method: charge.payment_method,
    reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  };
  if (!release) {
    const transaction = createBalanceTransaction(engine, ctx.scope, {
      amount: -amount,
      currency: charge.currency,
      type: 'refund',
      reportingCategory: 'refund',
      source: refund.id,
      description: 'REFUND FOR CHARGE' + (charge.description ? ` (${charge.description})` : ''),
    });
    refund.balance_transaction = transaction.id;
  }
  ctx.scope.insert(refund);
  engine.update(
    ctx,
    charge,
    (c) => {
      c.amount_refunded += amount;
      c.refunded = c.amount_refunded >= c.amount;
      c.refunds = {
        ...c.refunds,
        data: [cloneJson(refund), ...c.refunds.data],
        total_count: c.refunds.total_count + 1,
      };
    },
    'charge.refunded',
  );
  engine.emit(ctx, 'refund.created', refund);

  const paymentMethod = ctx.scope.find(charge.payment_method);
  if (!release && paymentMethod && behaviourOf(ctx, paymentMethod).refundFails)
    failRefund(engine, ctx, refund, charge);
  return refund;
}

/** `pm_card_refundFail`: the refund succeeds, then the card network returns it and the money comes back. */
function failRefund(
  engine: StripeEngine,
  ctx: RequestContext,
  refund: StripeObject,
  charge: StripeObject,
): void {
  const transaction = createBalanceTransaction(engine, ctx.scope, {
    amount: refund.amount,
    currency: refund.currency,
    type: 'refund_failure',
    reportingCategory: 'refund_failure',
    source: refund.id,
    description: 'REFUND FAILURE',
  });
  const previous = engine.change(refund, (r) => {
    r.status = 'failed';
    r.failure_balance_transaction = transaction.id;
    r.failure_reason = 'expired_or_canceled_card';
  });
  engine.change(charge, (c) => {
    c.amount_refunded -= refund.amount;
    c.refunded = false;
    c.refunds = {
      ...c.refunds,
      data: c.refunds.data.map((r: StripeObject) => (r.id === refund.id ? cloneJson(refund) : r)),
    };
  });
  engine.emit(ctx, 'charge.refund.updated', refund, previous, { automatic: true });
  engine.emit(ctx, 'refund.updated', refund, previous, { automatic: true });
  engine.emit(ctx, 'refund.failed', refund, previous, { automatic: true });
}

export const updateRefund: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const refund = engine.get(ctx, 'refund', id);
  const previous = engine.change(refund, (r) => void (r.metadata = mergeMetadata(r.metadata, params)));
  if (Object.keys(previous).length > 0) {
    engine.emit(ctx, 'charge.refund.updated', refund, previous);
    engine.emit(ctx, 'refund.updated', refund, previous);
  }
  return refund;
};

export function cancelRefund(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  const refund = engine.get(ctx, 'refund', id);
  throw invalidRequest(
    `Refund ${refund.id} has a status of ${refund.status}; only a refund with status requires_action can be canceled.`,
    undefined,
    'refund_not_cancelable',
  );
}

export function listRefunds(
  engine: StripeEngine,
  ctx: RequestContext,
  params: Params,
  chargeId?: string,
): StripeList {
  if (chargeId) engine.get(ctx, 'charge', chargeId);
  const filters = [
    ...fieldFilters(chargeId ? { ...params, charge: chargeId } : params, 'charge', 'payment_intent'),
    timeFilter(params),
  ];
  const url = chargeId ? `/v1/charges/${chargeId}/refunds` : '/v1/refunds';
  return listObjects(ctx.scope, 'refund', params, url, filters);
}

// ---- disputes --------------------------------------------------------------------------------------------

const EVIDENCE_FIELDS = [
  'access_activity_log',
  'billing_address',
  'cancellation_policy',
  'cancellation_policy_disclosure',
  'cancellation_rebuttal',
  'customer_communication',
  'customer_email_address',
  'customer_name',
  'customer_purchase_ip',
  'customer_signature',
  'duplicate_charge_documentation',
  'duplicate_charge_explanation',
  'duplicate_charge_id',
  'product_description',
  'receipt',
  'refund_policy',
  'refund_policy_disclosure',
  'refund_refusal_explanation',
  'service_date',
  'service_documentation',
  'shipping_address',
  'shipping_carrier',
  'shipping_date',
  'shipping_documentation',
  'shipping_tracking_number',
  'uncategorized_file',
  'uncategorized_text',
] as const;

function openDispute(
  engine: StripeEngine,
  ctx: RequestContext,
  charge: StripeObject,
  kind: { reason: string; inquiry: boolean },
): StripeObject {
  const created = engine.now();
  const dispute: StripeObject = {
    id: engine.newId('dp'),
    object: 'dispute',
    amount: charge.amount_captured,
    balance_transactions: [],
    charge: charge.id,
    created,
    currency: charge.currency,
    enhanced_eligibility_types: [],
    evidence: { ...Object.fromEntries(EVIDENCE_FIELDS.map((f) => [f, null])), enhanced_evidence: {} },
    evidence_details: {
      due_by: created + 7 * 24 * 3600,
      enhanced_eligibility: {},
      has_evidence: false,
      past_due: false,
      submission_count: 0,
    },
    is_charge_refundable: kind.inquiry,
    livemode: ctx.scope.livemode,
    metadata: {},
    payment_intent: charge.payment_intent,
    payment_method_details: {
      card: {
        brand: charge.payment_method_details.card.brand,
        case_type: kind.inquiry ? 'inquiry' : 'chargeback',
        network_reason_code:
          kind.reason === 'fraudulent' ? '10.4' : kind.reason === 'product_not_received' ? '13.1' : '4853',
      },
      type: 'card',
    },
    reason: kind.reason,
    status: kind.inquiry ? 'warning_needs_response' : 'needs_response',
  };
  ctx.scope.insert(dispute);
  engine.change(charge, (c) => void (c.disputed = true));
  engine.emit(ctx, 'charge.dispute.created', dispute, undefined, { automatic: true });
  if (!kind.inquiry) {
    // The disputed amount and Stripe's dispute fee leave the balance while the dispute is open.
    moveDisputeFunds(engine, ctx, dispute, 'withdrawn');
  }
  return dispute;
}

export const updateDispute: ObjectOperation<StripeObject> = (engine, ctx, id, params) => {
  const dispute = engine.get(ctx, 'dispute', id);
  if (isClosed(dispute)) {
    throw invalidRequest(`This dispute is already closed.`, undefined, 'charge_dispute_closed');
  }
  const evidence = optionalObject(params, 'evidence') ?? {};
  for (const key of Object.keys(evidence)) {
    if (!(EVIDENCE_FIELDS as readonly string[]).includes(key) && key !== 'enhanced_evidence') {
      throw invalidRequest(`Received unknown parameter: evidence[${key}]`, `evidence[${key}]`);
    }
  }
  const submit = optionalBoolean(params, 'submit') ?? true;
  engine.update(
    ctx,
    dispute,
    (d) => {
      d.metadata = mergeMetadata(d.metadata, params);
      for (const [key, value] of Object.entries(evidence)) {
        if (key !== 'enhanced_evidence') d.evidence[key] = value === '' ? null : String(value);
      }
      if (Object.keys(evidence).length > 0)
        d.evidence_details = { ...d.evidence_details, has_evidence: true };
      if (submit && Object.keys(evidence).length > 0) {
        d.evidence_details = {
          ...d.evidence_details,
          submission_count: d.evidence_details.submission_count + 1,
        };
        d.status = d.status.startsWith('warning_') ? 'warning_under_review' : 'under_review';
      }
    },
    'charge.dispute.updated',
  );
  // Stripe's test mode decides a submitted dispute by the text of `uncategorized_text`.
  const text = dispute.evidence.uncategorized_text;
  if (submit && text === 'winning_evidence') closeDisputeAs(engine, ctx, dispute, 'won');
  if (submit && text === 'losing_evidence') closeDisputeAs(engine, ctx, dispute, 'lost');
  return dispute;
};

/** POST /v1/disputes/:id/close: the merchant accepts the dispute, which is then lost. */
export function closeDispute(engine: StripeEngine, ctx: RequestContext, id: string): StripeObject {
  const dispute = engine.get(ctx, 'dispute', id);
  if (isClosed(dispute))
    throw invalidRequest(`This dispute is already closed.`, undefined, 'charge_dispute_closed');
  closeDisputeAs(engine, ctx, dispute, 'lost');
  return dispute;
}

/**
 * A chargeback's money: `withdrawn` takes the disputed amount and Stripe's dispute fee from the balance when
 * it opens, `reinstated` gives both back when it is won. One balance transaction, listed on the dispute.
 */
function moveDisputeFunds(
  engine: StripeEngine,
  ctx: RequestContext,
  dispute: StripeObject,
  movement: 'withdrawn' | 'reinstated',
): void {
  const sign = movement === 'withdrawn' ? -1 : 1;
  const fee = engine.fees.dispute;
  const transaction = createBalanceTransaction(engine, ctx.scope, {
    amount: sign * dispute.amount,
    currency: dispute.currency,
    fee:
      fee > 0
        ? [
            {
              amount: -sign * fee,
              application: null,
              currency: dispute.currency,
              description: movement === 'withdrawn' ? 'Dispute fee' : 'Dispute fee refund',
              type: 'stripe_fee',
            },
          ]
        : [],
    type: 'adjustment',
    reportingCategory: movement === 'withdrawn' ? 'dispute' : 'dispute_reversal',
    source: dispute.id,
    description: `${movement === 'withdrawn' ? 'Chargeback withdrawal' : 'Chargeback reversal'} for ${dispute.charge}`,
  });
  const previous = engine.change(dispute, (d) => {
    d.balance_transactions = [...d.balance_transactions, cloneJson(transaction)];
  });
  engine.emit(ctx, `charge.dispute.funds_${movement}`, dispute, previous, { automatic: true });
}

function isClosed(dispute: StripeObject): boolean {
  return ['won', 'lost', 'warning_closed'].includes(dispute.status);
}

/** Test helper and the end of the evidence flow: the bank decides. Winning returns the withdrawn funds. */
export function closeDisputeAs(
  engine: StripeEngine,
  ctx: RequestContext,
  dispute: StripeObject,
  outcome: 'won' | 'lost',
): StripeObject {
  if (isClosed(dispute))
    throw invalidRequest(`This dispute is already closed.`, undefined, 'charge_dispute_closed');
  const inquiry = dispute.status.startsWith('warning_');
  engine.update(
    ctx,
    dispute,
    (d) => {
      d.status = inquiry ? 'warning_closed' : outcome;
      d.is_charge_refundable = false;
    },
    'charge.dispute.closed',
    { always: true },
  );
  if (!inquiry && outcome === 'won') moveDisputeFunds(engine, ctx, dispute, 'reinstated');
  return dispute;
}

export function listDisputes(engine: StripeEngine, ctx: RequestContext, params: Params): StripeList {
  const filters = [...fieldFilters(params, 'charge', 'payment_intent'), timeFilter(params)];
  return listObjects(ctx.scope, 'dispute', params, '/v1/disputes', filters);
}
