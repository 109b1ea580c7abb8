/** Payments through the official SDK: intents, charges, refunds, disputes, with the events Stripe sends. */
import Stripe from 'stripe';
import type { StripeEmulator } from '..';
import { confirmedPayment, emulatorForEachTest } from './harness';

let emulator: StripeEmulator;
let stripe: Stripe;

const typesAfter = emulatorForEachTest((started) => ({ emulator, stripe } = started));

describe('payment intents', () => {
  test('a confirmed card payment succeeds with a charge, a balance transaction with fees, and events in order', async () => {
    const customer = await stripe.customers.create({ email: 'buyer@example.com' });
    const before = emulator.events.length;
    const paymentIntent = await stripe.paymentIntents.create({
      amount: 2000,
      currency: 'usd',
      customer: customer.id,
      payment_method: 'pm_card_visa',
      confirm: true,
      metadata: { order: 'SO-1' },
      expand: ['latest_charge.balance_transaction'],
    });
    expect(paymentIntent.status).toBe('succeeded');
    expect(paymentIntent.amount_received).toBe(2000);
    const charge = paymentIntent.latest_charge as Stripe.Charge;
    expect(charge.status).toBe('succeeded');
    expect(charge.payment_intent).toBe(paymentIntent.id);
    expect(charge.customer).toBe(customer.id);
    expect(charge.payment_method_details?.card?.last4).toBe('4242');
    expect(charge.metadata).toEqual({ order: 'SO-1' });
    const transaction = charge.balance_transaction as Stripe.BalanceTransaction;
    expect(transaction).toMatchObject({
      amount: 2000,
      fee: 88,
      net: 1912,
      type: 'charge',
      reporting_category: 'charge',
      source: charge.id,
    });
    expect(transaction.fee_details).toEqual([
      {
        amount: 88,
        application: null,
        currency: 'usd',
        description: 'Stripe processing fees',
        type: 'stripe_fee',
      },
    ]);
    expect(typesAfter(before)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'charge.updated',
    ]);
    const chargeUpdated = emulator.events.at(-1)!;
    expect(chargeUpdated.data.previous_attributes).toEqual({ balance_transaction: null });
    expect(chargeUpdated.request).toEqual({ id: null, idempotency_key: null });
    const created = emulator.events[before];
    expect(created.request.id).toMatch(/^req_/);
    expect(created.request.idempotency_key).toMatch(/^stripe-node-retry-/);
  });

  test.each([
    ['pm_card_mastercard', 'mastercard', '4444'],
    ['pm_card_amex', 'amex', '8431'],
    ['pm_card_visa_debit', 'visa', '5556'],
  ])('%s charges a %s ending %s', async (token, brand, last4) => {
    const paymentIntent = await stripe.paymentIntents.create({
      amount: 1000,
      currency: 'eur',
      payment_method: token,
      confirm: true,
      expand: ['latest_charge'],
    });
    const charge = paymentIntent.latest_charge as Stripe.Charge;
    expect(charge.payment_method_details?.card).toMatchObject({ brand, last4 });
    expect(charge.currency).toBe('eur');
  });

  test.each([
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'expired_card'],
    ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc', 'incorrect_cvc'],
  ])('%s is declined with 402 %s / %s', async (token, code, declineCode) => {
    const before = emulator.events.length;
    const error = await stripe.paymentIntents
      .create({ amount: 2000, currency: 'usd', payment_method: token, confirm: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    const cardError = error as Stripe.errors.StripeCardError;
    expect(cardError.statusCode).toBe(402);
    expect(cardError.type).toBe('StripeCardError');
    expect(cardError.code).toBe(code);
    expect(cardError.decline_code).toBe(declineCode);
    expect(cardError.requestId).toMatch(/^req_/);
    const paymentIntent = cardError.payment_intent!;
    expect(paymentIntent.status).toBe('requires_payment_method');
    expect(paymentIntent.last_payment_error?.code).toBe(code);
    const charge = await stripe.charges.retrieve((cardError.raw as { charge: string }).charge);
    expect(charge).toMatchObject({
      status: 'failed',
      paid: false,
      failure_code: code,
      balance_transaction: null,
    });
    expect(typesAfter(before)).toEqual([
      'payment_intent.created',
      'charge.failed',
      'payment_intent.payment_failed',
    ]);
  });

  test('manual capture authorizes, then captures part of the amount', async () => {
    const authorized = await confirmedPayment(stripe, 5000, 'pm_card_visa', { capture_method: 'manual' });
    expect(authorized.status).toBe('requires_capture');
    expect(authorized.amount_capturable).toBe(5000);
    const uncaptured = await stripe.charges.retrieve(authorized.latest_charge as string);
    expect(uncaptured).toMatchObject({ captured: false, amount_captured: 0, balance_transaction: null });
    const before = emulator.events.length;
    const captured = await stripe.paymentIntents.capture(authorized.id, { amount_to_capture: 4000 });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 4000, amount_capturable: 0 });
    const charge = await stripe.charges.retrieve(captured.latest_charge as string, {
      expand: ['balance_transaction'],
    });
    expect(charge.captured).toBe(true);
    expect((charge.balance_transaction as Stripe.BalanceTransaction).amount).toBe(4000);
    expect(typesAfter(before)).toEqual(['charge.captured', 'payment_intent.succeeded', 'charge.updated']);
    await expect(stripe.paymentIntents.capture(authorized.id)).rejects.toMatchObject({
      statusCode: 400,
      code: 'payment_intent_unexpected_state',
    });
  });

  test('a partial capture releases the rest as refunded; the captured amount stays refundable', async () => {
    // Stripe (capture a PaymentIntent): "Any additional amount is automatically refunded."
    const authorized = await confirmedPayment(stripe, 1000, 'pm_card_visa', { capture_method: 'manual' });
    await stripe.paymentIntents.capture(authorized.id, { amount_to_capture: 600 });
    const chargeId = authorized.latest_charge as string;
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({
      amount: 1000,
      amount_captured: 600,
      amount_refunded: 400,
      captured: true,
      refunded: false,
    });
    await expect(stripe.refunds.create({ payment_intent: authorized.id, amount: 601 })).rejects.toMatchObject(
      {
        code: 'amount_too_large',
      },
    );
    await stripe.refunds.create({ payment_intent: authorized.id, amount: 200 });
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({ amount_refunded: 600, refunded: false });
    const rest = await stripe.refunds.create({ payment_intent: authorized.id });
    expect(rest.amount).toBe(400);
    expect(await stripe.charges.retrieve(chargeId)).toMatchObject({ amount_refunded: 1000, refunded: true });
    await expect(stripe.refunds.create({ charge: chargeId })).rejects.toMatchObject({
      code: 'charge_already_refunded',
    });
  });

  test('canceling a held payment refunds its uncaptured charge in full, with no balance transaction', async () => {
    // Stripe (cancel a PaymentIntent): "the remaining amount_capturable is automatically refunded".
    const held = await confirmedPayment(stripe, 1000, 'pm_card_visa', { capture_method: 'manual' });
    const before = emulator.events.length;
    await stripe.paymentIntents.cancel(held.id);
    expect(typesAfter(before)).toEqual(['charge.refunded', 'payment_intent.canceled']);
    expect(await stripe.charges.retrieve(held.latest_charge as string)).toMatchObject({
      status: 'succeeded',
      captured: false,
      amount_captured: 0,
      amount_refunded: 1000,
      refunded: true,
      balance_transaction: null,
    });
    await expect(stripe.refunds.create({ payment_intent: held.id })).rejects.toMatchObject({
      statusCode: 400,
    });
  });

  test('create, update, confirm in separate steps; cancel an authorization', async () => {
    const draft = await stripe.paymentIntents.create({ amount: 1200, currency: 'usd' });
    expect(draft.status).toBe('requires_payment_method');
    const updated = await stripe.paymentIntents.update(draft.id, { amount: 1500, metadata: { step: '2' } });
    expect(updated.amount).toBe(1500);
    const confirmed = await stripe.paymentIntents.confirm(draft.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.status).toBe('succeeded');
    const held = await confirmedPayment(stripe, 700, 'pm_card_visa', { capture_method: 'manual' });
    const canceled = await stripe.paymentIntents.cancel(held.id, { cancellation_reason: 'abandoned' });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' });
    await expect(stripe.paymentIntents.cancel(confirmed.id)).rejects.toMatchObject({ statusCode: 400 });
  });

  test('amounts below the currency minimum and unknown customers are 400s naming the parameter', async () => {
    await expect(stripe.paymentIntents.create({ amount: 10, currency: 'usd' })).rejects.toMatchObject({
      statusCode: 400,
      type: 'StripeInvalidRequestError',
      code: 'amount_too_small',
      param: 'amount',
    });
    await expect(
      stripe.paymentIntents.create({ amount: 1000, currency: 'usd', customer: 'cus_missing' }),
    ).rejects.toMatchObject({
      statusCode: 400,
      code: 'resource_missing',
      param: 'customer',
      message: "No such customer: 'cus_missing'",
    });
    await expect(
      stripe.paymentIntents.create({ currency: 'usd' } as Stripe.PaymentIntentCreateParams),
    ).rejects.toMatchObject({
      statusCode: 400,
      code: 'parameter_missing',
      param: 'amount',
    });
  });
});

describe('charges', () => {
  test('retrieve, list by payment intent, paginate with starting_after and ending_before', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const pi = await confirmedPayment(stripe, 1000 + i);
      ids.push(pi.latest_charge as string);
    }
    const first = await stripe.charges.list({ limit: 2 });
    expect(first.data.map((c) => c.id)).toEqual([ids[4], ids[3]]);
    expect(first.has_more).toBe(true);
    expect(first.url).toBe('/v1/charges');
    const second = await stripe.charges.list({ limit: 2, starting_after: ids[3] });
    expect(second.data.map((c) => c.id)).toEqual([ids[2], ids[1]]);
    const last = await stripe.charges.list({ limit: 2, starting_after: ids[1] });
    expect(last.data.map((c) => c.id)).toEqual([ids[0]]);
    expect(last.has_more).toBe(false);
    const back = await stripe.charges.list({ limit: 2, ending_before: ids[1] });
    expect(back.data.map((c) => c.id)).toEqual([ids[3], ids[2]]);
    expect(back.has_more).toBe(true);
    const all: string[] = [];
    for await (const charge of stripe.charges.list({ limit: 2 })) all.push(charge.id);
    expect(all).toEqual([...ids].reverse());
    const onePi = await stripe.charges.list({
      payment_intent: (await stripe.charges.retrieve(ids[2])).payment_intent as string,
    });
    expect(onePi.data.map((c) => c.id)).toEqual([ids[2]]);
    const expanded = await stripe.charges.list({ limit: 1, expand: ['data.balance_transaction'] });
    expect((expanded.data[0].balance_transaction as Stripe.BalanceTransaction).object).toBe(
      'balance_transaction',
    );
  });

  test('Charges API: capture=false authorizes (succeeded, not captured); a capture of part settles that part', async () => {
    const before = emulator.events.length;
    const authorized = await stripe.charges.create({
      amount: 1000,
      currency: 'usd',
      source: 'tok_visa',
      capture: false,
      description: 'Phone order 12',
    });
    // As Stripe's example charge (openapi fixtures3.json): status succeeded, captured false, nothing captured.
    expect(authorized).toMatchObject({
      object: 'charge',
      status: 'succeeded',
      paid: true,
      captured: false,
      amount_captured: 0,
      amount_refunded: 0,
      refunded: false,
      payment_intent: null,
      balance_transaction: null,
      payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242' } },
    });
    expect(typesAfter(before)).toEqual(['charge.succeeded']);

    const capturedFrom = emulator.events.length;
    const captured = await stripe.charges.capture(authorized.id, { amount: 600 });
    expect(captured).toMatchObject({
      captured: true,
      amount_captured: 600,
      amount_refunded: 400,
      refunded: false,
    });
    expect(typesAfter(capturedFrom)).toEqual(['charge.captured', 'charge.updated']);
    const settled = await stripe.charges.retrieve(authorized.id, { expand: ['balance_transaction'] });
    expect(settled.balance_transaction).toMatchObject({ amount: 600, type: 'charge', source: authorized.id });
    await expect(stripe.charges.capture(authorized.id)).rejects.toMatchObject({
      statusCode: 400,
      code: 'charge_already_captured',
    });
    const rest = await stripe.refunds.create({ charge: authorized.id });
    expect(rest.amount).toBe(600);

    const atOnce = await stripe.charges.create({ amount: 700, currency: 'usd', source: 'tok_mastercard' });
    expect(atOnce).toMatchObject({ status: 'succeeded', captured: true, amount_captured: 700 });
    const declined = await stripe.charges
      .create({ amount: 700, currency: 'usd', source: 'tok_chargeDeclined' })
      .catch((e: Stripe.errors.StripeCardError) => e);
    expect(declined).toMatchObject({ statusCode: 402, type: 'StripeCardError', code: 'card_declined' });
    const failed = await stripe.charges.retrieve((declined as Stripe.errors.StripeCardError).charge!);
    expect(failed).toMatchObject({ status: 'failed', captured: false, paid: false });

    const pi = await confirmedPayment(stripe, 1000, 'pm_card_visa', { capture_method: 'manual' });
    await expect(stripe.charges.capture(pi.latest_charge as string)).rejects.toMatchObject({
      statusCode: 400,
    });
  });

  test('Charges API: refunding an uncaptured charge releases it in full; it cannot be captured after', async () => {
    const authorized = await stripe.charges.create({
      amount: 800,
      currency: 'usd',
      source: 'tok_visa',
      capture: false,
    });
    await expect(stripe.refunds.create({ charge: authorized.id, amount: 300 })).rejects.toMatchObject({
      statusCode: 400,
      message:
        'You cannot partially refund an uncaptured charge. Instead, capture the charge for an amount less than the original amount',
    });
    const before = emulator.events.length;
    const release = await stripe.refunds.create({ charge: authorized.id });
    expect(release).toMatchObject({ amount: 800, status: 'succeeded', balance_transaction: null });
    expect(typesAfter(before)).toEqual(['charge.refunded', 'refund.created']);
    expect(await stripe.charges.retrieve(authorized.id)).toMatchObject({
      status: 'succeeded',
      captured: false,
      amount_captured: 0,
      amount_refunded: 800,
      refunded: true,
    });
    await expect(stripe.charges.capture(authorized.id)).rejects.toMatchObject({
      statusCode: 400,
      code: 'charge_expired_for_capture',
    });
  });

  test('a property that is not an id cannot be expanded', async () => {
    const pi = await confirmedPayment(stripe, 1000);
    await expect(
      stripe.charges.retrieve(pi.latest_charge as string, { expand: ['amount'] }),
    ).rejects.toMatchObject({
      statusCode: 400,
      message: 'This property cannot be expanded (amount).',
    });
  });
});

describe('refunds', () => {
  test('partial then full refunds, over-refund rejected, balance transactions negative', async () => {
    const pi = await confirmedPayment(stripe, 3000);
    const before = emulator.events.length;
    const partial = await stripe.refunds.create({
      payment_intent: pi.id,
      amount: 1000,
      reason: 'requested_by_customer',
    });
    expect(partial).toMatchObject({
      amount: 1000,
      status: 'succeeded',
      charge: pi.latest_charge,
      payment_intent: pi.id,
    });
    expect(typesAfter(before)).toEqual(['charge.refunded', 'refund.created']);
    const refundedEvent = emulator.events[before];
    expect(refundedEvent.data.previous_attributes).toMatchObject({ amount_refunded: 0 });
    let charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({ amount_refunded: 1000, refunded: false });

    await expect(stripe.refunds.create({ charge: charge.id, amount: 2500 })).rejects.toMatchObject({
      statusCode: 400,
      type: 'StripeInvalidRequestError',
      code: 'amount_too_large',
      param: 'amount',
    });
    const rest = await stripe.refunds.create({ charge: charge.id, expand: ['balance_transaction'] });
    expect(rest.amount).toBe(2000);
    expect(rest.balance_transaction).toMatchObject({
      amount: -2000,
      fee: 0,
      net: -2000,
      type: 'refund',
      reporting_category: 'refund',
      source: rest.id,
    });
    charge = await stripe.charges.retrieve(charge.id);
    expect(charge).toMatchObject({ amount_refunded: 3000, refunded: true });
    await expect(stripe.refunds.create({ charge: charge.id })).rejects.toMatchObject({
      code: 'charge_already_refunded',
    });

    const listed = await stripe.refunds.list({ payment_intent: pi.id });
    expect(listed.data.map((r) => r.id)).toEqual([rest.id, partial.id]);
    expect((await stripe.refunds.retrieve(partial.id)).amount).toBe(1000);
    const updated = await stripe.refunds.update(partial.id, { metadata: { ticket: 'T-9' } });
    expect(updated.metadata).toEqual({ ticket: 'T-9' });
    expect(typesAfter(emulator.events.length - 2)).toEqual(['charge.refund.updated', 'refund.updated']);
  });

  test('a refund of pm_card_refundFail succeeds, then fails and the money returns', async () => {
    const pi = await confirmedPayment(stripe, 1500, 'pm_card_refundFail');
    const before = emulator.events.length;
    const refund = await stripe.refunds.create({ payment_intent: pi.id });
    expect(typesAfter(before)).toEqual([
      'charge.refunded',
      'refund.created',
      'charge.refund.updated',
      'refund.updated',
      'refund.failed',
    ]);
    const failed = await stripe.refunds.retrieve(refund.id, { expand: ['failure_balance_transaction'] });
    expect(failed.status).toBe('failed');
    expect(failed.failure_balance_transaction).toMatchObject({ amount: 1500, type: 'refund_failure' });
  });
});

describe('disputes', () => {
  test('pm_card_createDispute opens a dispute that withdraws funds; winning evidence reinstates them', async () => {
    const before = emulator.events.length;
    const pi = await confirmedPayment(stripe, 2500, 'pm_card_createDispute');
    expect(typesAfter(before)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'charge.updated',
      'charge.dispute.created',
      'charge.dispute.funds_withdrawn',
    ]);
    const [dispute] = (await stripe.disputes.list({ payment_intent: pi.id })).data;
    expect(dispute).toMatchObject({
      amount: 2500,
      status: 'needs_response',
      reason: 'fraudulent',
      charge: pi.latest_charge,
    });
    expect(dispute.balance_transactions[0]).toMatchObject({
      amount: -2500,
      fee: 1500,
      net: -4000,
      reporting_category: 'dispute',
      type: 'adjustment',
    });
    expect((await stripe.charges.retrieve(pi.latest_charge as string)).disputed).toBe(true);

    const staged = await stripe.disputes.update(dispute.id, {
      evidence: { customer_name: 'Jenny Rosen' },
      submit: false,
    });
    expect(staged.status).toBe('needs_response');
    expect(staged.evidence.customer_name).toBe('Jenny Rosen');
    const mark = emulator.events.length;
    const won = await stripe.disputes.update(dispute.id, {
      evidence: { uncategorized_text: 'winning_evidence' },
    });
    expect(won.status).toBe('won');
    expect(typesAfter(mark)).toEqual([
      'charge.dispute.updated',
      'charge.dispute.closed',
      'charge.dispute.funds_reinstated',
    ]);
    expect(won.balance_transactions[1]).toMatchObject({
      amount: 2500,
      fee: -1500,
      net: 4000,
      reporting_category: 'dispute_reversal',
    });
    await expect(stripe.disputes.close(dispute.id)).rejects.toMatchObject({ statusCode: 400 });
  });

  test('closing a dispute accepts it as lost; the test helper decides others', async () => {
    const first = await confirmedPayment(stripe, 1000, 'pm_card_createDispute');
    const second = await confirmedPayment(stripe, 1000, 'pm_card_createDisputeProductNotReceived');
    const [a] = (await stripe.disputes.list({ payment_intent: first.id })).data;
    const [b] = (await stripe.disputes.list({ payment_intent: second.id })).data;
    expect((await stripe.disputes.close(a.id)).status).toBe('lost');
    expect(emulator.testHelpers.closeDispute(b.id, 'lost').status).toBe('lost');
    expect(emulator.events.filter((e) => e.type === 'charge.dispute.closed')).toHaveLength(2);
    expect(emulator.events.some((e) => e.type === 'charge.dispute.funds_reinstated')).toBe(false);
  });

  test('an inquiry withdraws nothing and closes as warning_closed', async () => {
    const pi = await confirmedPayment(stripe, 1000, 'pm_card_createDisputeInquiry');
    const [dispute] = (await stripe.disputes.list({ payment_intent: pi.id })).data;
    expect(dispute.status).toBe('warning_needs_response');
    expect(dispute.balance_transactions).toEqual([]);
    expect(emulator.testHelpers.closeDispute(dispute.id, 'won').status).toBe('warning_closed');
  });
});

describe('3-D Secure', () => {
  test('pm_card_authenticationRequired waits in requires_action on session, and is declined off session', async () => {
    const pending = await stripe.paymentIntents.create({
      amount: 2000,
      currency: 'eur',
      payment_method: 'pm_card_authenticationRequired',
      confirm: true,
    });
    expect(pending.status).toBe('requires_action');
    expect(pending.next_action?.type).toBe('use_stripe_sdk');
    expect(pending.latest_charge).toBeNull();
    expect(emulator.events.map((e) => e.type)).toEqual([
      'payment_intent.created',
      'payment_intent.requires_action',
    ]);
    const done = await stripe.paymentIntents.confirm(pending.id);
    expect(done).toMatchObject({ status: 'succeeded', next_action: null });

    const offSession = await stripe.paymentIntents
      .create({
        amount: 2000,
        currency: 'eur',
        payment_method: 'pm_card_authenticationRequired',
        confirm: true,
        off_session: true,
      })
      .catch((e: Stripe.errors.StripeCardError) => e);
    expect(offSession).toMatchObject({ statusCode: 402, code: 'authentication_required' });
  });

  test("an off-session charge of a customer's saved card that needs authentication is declined once, replayed under its key", async () => {
    const customer = await stripe.customers.create({
      payment_method: 'pm_card_authenticationRequired',
      invoice_settings: { default_payment_method: 'pm_card_authenticationRequired' },
    });
    const saved = String(customer.invoice_settings.default_payment_method);
    expect((await stripe.customers.listPaymentMethods(customer.id)).data.map((pm) => pm.id)).toEqual([saved]);
    const charge = () =>
      stripe.paymentIntents
        .create(
          {
            amount: 2500,
            currency: 'usd',
            customer: customer.id,
            payment_method: saved,
            confirm: true,
            off_session: true,
          },
          { idempotencyKey: 'charge-request-1' },
        )
        .catch((e: Stripe.errors.StripeCardError) => e);
    const first = (await charge()) as Stripe.errors.StripeCardError;
    expect(first).toMatchObject({
      statusCode: 402,
      type: 'StripeCardError',
      code: 'authentication_required',
      decline_code: 'authentication_required',
      message: 'Your card was declined. This transaction requires authentication.',
      payment_intent: { status: 'requires_payment_method', customer: customer.id, payment_method: null },
    });
    const again = await charge();
    expect(again).toMatchObject({
      code: 'authentication_required',
      payment_intent: { id: first.payment_intent!.id },
    });
    expect((await stripe.paymentIntents.list()).data.map((pi) => pi.id)).toEqual([first.payment_intent!.id]);
  });
});

describe('ACH Direct Debit', () => {
  /** A customer with a test bank account saved as its default, charged off session. */
  async function debit(token: string, amount = 12_000) {
    const customer = await stripe.customers.create({
      payment_method: token,
      invoice_settings: { default_payment_method: token },
    });
    const saved = String(customer.invoice_settings.default_payment_method);
    const paymentIntent = await stripe.paymentIntents.create({
      amount,
      currency: 'usd',
      customer: customer.id,
      payment_method: saved,
      confirm: true,
      off_session: true,
      metadata: { order: 'SO-7' },
    });
    return { customer, saved, paymentIntent };
  }

  test('a debit is processing with a pending charge until the bank settles it, then succeeds and lands', async () => {
    const { saved, paymentIntent } = await debit('pm_usBankAccount_success');
    const method = await stripe.paymentMethods.retrieve(saved);
    expect(method).toMatchObject({
      type: 'us_bank_account',
      us_bank_account: { last4: '6789', routing_number: '110000000', bank_name: 'STRIPE TEST BANK' },
    });
    expect(paymentIntent).toMatchObject({ status: 'processing', amount_received: 0 });
    const pending = await stripe.charges.retrieve(String(paymentIntent.latest_charge));
    expect(pending).toMatchObject({
      id: expect.stringMatching(/^py_/),
      status: 'pending',
      paid: false,
      balance_transaction: null,
      metadata: { order: 'SO-7' },
      payment_method_details: { type: 'us_bank_account', us_bank_account: { last4: '6789' } },
    });
    expect(emulator.events.map((e) => e.type)).toEqual([
      'payment_method.attached',
      'customer.created',
      'payment_intent.created',
      'charge.pending',
      'payment_intent.processing',
    ]);

    const before = emulator.events.length;
    emulator.testHelpers.settleBankDebit(paymentIntent.id);
    expect(typesAfter(before)).toEqual(['charge.succeeded', 'payment_intent.succeeded', 'charge.updated']);
    const settled = await stripe.paymentIntents.retrieve(paymentIntent.id, {
      expand: ['latest_charge.balance_transaction'],
    });
    expect(settled).toMatchObject({ status: 'succeeded', amount_received: 12_000 });
    const charge = settled.latest_charge as Stripe.Charge;
    expect(charge).toMatchObject({ status: 'succeeded', paid: true });
    // 0.8 % of 120.00 USD.
    expect(charge.balance_transaction).toMatchObject({ amount: 12_000, fee: 96, type: 'payment' });
    expect(() => emulator.testHelpers.settleBankDebit(paymentIntent.id)).toThrow(/no bank debit to settle/);
  });

  test('a returned debit fails the payment with the bank’s code, back to requires_payment_method', async () => {
    const { paymentIntent } = await debit('pm_usBankAccount_insufficientFunds');
    expect(paymentIntent.status).toBe('processing');
    const before = emulator.events.length;
    emulator.testHelpers.settleBankDebit(paymentIntent.id);
    expect(typesAfter(before)).toEqual(['charge.failed', 'payment_intent.payment_failed']);
    const failed = await stripe.paymentIntents.retrieve(paymentIntent.id);
    expect(failed).toMatchObject({
      status: 'requires_payment_method',
      payment_method: null,
      last_payment_error: {
        code: 'insufficient_funds',
        message: "The customer's account has insufficient funds to cover this payment.",
        type: 'invalid_request_error',
      },
    });
    expect(await stripe.charges.retrieve(String(failed.latest_charge))).toMatchObject({
      status: 'failed',
      failure_code: 'insufficient_funds',
    });
  });

  test('a bank account is debited in USD only, and is not a card', async () => {
    const customer = await stripe.customers.create({ payment_method: 'pm_usBankAccount_success' });
    expect((await stripe.customers.listPaymentMethods(customer.id, { type: 'card' })).data).toEqual([]);
    const [account] = (await stripe.customers.listPaymentMethods(customer.id)).data;
    const eur = await stripe.paymentIntents
      .create({
        amount: 2000,
        currency: 'eur',
        customer: customer.id,
        payment_method: account.id,
        confirm: true,
      })
      .catch((e: Stripe.errors.StripeError) => e);
    expect(eur).toMatchObject({ statusCode: 400, param: 'currency' });
    // `payment_method_types` (earlier API versions; the SDK's types name it no more) limited to cards.
    const cardsOnly = await stripe.paymentIntents
      .create({
        amount: 2000,
        currency: 'usd',
        customer: customer.id,
        payment_method: account.id,
        confirm: true,
        ...({ payment_method_types: ['card'] } as object),
      })
      .catch((e: Stripe.errors.StripeError) => e);
    expect(cardsOnly).toMatchObject({ statusCode: 400, param: 'payment_method' });
  });

  test('the settle helper answers over HTTP too', async () => {
    const { paymentIntent } = await debit('pm_usBankAccount_success', 5_000);
    const res = await fetch(`${emulator.url}/_emulator/payment_intents/${paymentIntent.id}/settle`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${emulator.apiKey}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: paymentIntent.id, status: 'succeeded' });
  });
});
