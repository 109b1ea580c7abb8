/**
 * Billing over time: test clocks renewing subscriptions into invoices and payments, subscription items and
 * their prorations, dunning, invoice payments and credit notes.
 */
import Stripe from 'stripe';
import type { StripeEmulator } from '..';
import { emulatorForEachTest } from './harness';

let emulator: StripeEmulator;
let stripe: Stripe;

const typesAfter = emulatorForEachTest((started) => ({ emulator, stripe } = started));

const DAY = 24 * 3600;
/** 2026-01-01T00:00:00Z: January has 31 days, so prorations come out in whole cents. */
const JAN_1 = Date.UTC(2026, 0, 1) / 1000;
const FEB_1 = Date.UTC(2026, 1, 1) / 1000;
const MAR_1 = Date.UTC(2026, 2, 1) / 1000;
const APR_1 = Date.UTC(2026, 3, 1) / 1000;

async function monthlyPrice(unitAmount: number, name = 'Seat'): Promise<Stripe.Price> {
  const product = await stripe.products.create({ name });
  return stripe.prices.create({
    product: product.id,
    unit_amount: unitAmount,
    currency: 'usd',
    recurring: { interval: 'month' },
  });
}

/** A test clock at `frozenTime` and a customer on it, paying with `card` (none: no payment method). */
async function clockAndCustomer(frozenTime: number, card: string | null = 'pm_card_visa') {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: frozenTime, name: 'Renewals' });
  const customer = await stripe.customers.create({
    email: 'clock@example.com',
    test_clock: clock.id,
    ...(card ? { payment_method: card, invoice_settings: { default_payment_method: card } } : {}),
  });
  return { clock, customer };
}

async function advance(clock: Stripe.TestHelpers.TestClock, frozenTime: number) {
  const advancing = await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: frozenTime });
  expect(advancing).toMatchObject({
    status: 'advancing',
    status_details: { advancing: { target_frozen_time: frozenTime } },
  });
  const ready = await stripe.testHelpers.testClocks.retrieve(clock.id);
  expect(ready).toMatchObject({ status: 'ready', frozen_time: frozenTime, status_details: {} });
  return ready;
}

/** The subscription's invoices, oldest first. */
async function invoicesOf(subscription: string): Promise<Stripe.Invoice[]> {
  return (await stripe.invoices.list({ subscription, limit: 100 })).data.reverse();
}

describe('test clocks', () => {
  test('a subscription on a clock advanced twice has three paid invoices, each with its payment', async () => {
    const { clock, customer } = await clockAndCustomer(JAN_1);
    expect(customer).toMatchObject({ test_clock: clock.id, created: JAN_1 });
    const price = await monthlyPrice(1500);
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 2 }],
    });
    expect(subscription).toMatchObject({ status: 'active', test_clock: clock.id, start_date: JAN_1 });
    expect(subscription.items.data[0]).toMatchObject({
      current_period_start: JAN_1,
      current_period_end: FEB_1,
    });

    let from = emulator.events.length;
    await advance(clock, FEB_1);
    expect(typesAfter(from)).toEqual([
      'test_helpers.test_clock.advancing',
      'invoice.created',
      'customer.subscription.updated',
      'test_helpers.test_clock.ready',
    ]);
    const renewal = emulator.events.filter((e) => e.type === 'customer.subscription.updated').at(-1)!;
    expect(renewal.data.previous_attributes).toMatchObject({
      latest_invoice: subscription.latest_invoice,
      items: { data: [expect.objectContaining({ current_period_start: JAN_1, current_period_end: FEB_1 })] },
    });
    const [, draft] = await invoicesOf(subscription.id);
    // The renewal stays a draft for an hour, then is finalized and charged.
    expect(draft).toMatchObject({
      status: 'draft',
      automatically_finalizes_at: FEB_1 + 3600,
      created: FEB_1,
    });
    from = emulator.events.length;
    await advance(clock, FEB_1 + 3600);
    expect(typesAfter(from)).toEqual([
      'test_helpers.test_clock.advancing',
      'invoice.finalized',
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'charge.updated',
      'invoice_payment.paid',
      'invoice.paid',
      'invoice.payment_succeeded',
      'test_helpers.test_clock.ready',
    ]);
    await advance(clock, MAR_1 + 3600);

    const invoices = await invoicesOf(subscription.id);
    expect(
      invoices.map((i) => [i.billing_reason, i.status, i.amount_paid, i.period_start, i.period_end]),
    ).toEqual([
      // An invoice's own period is the one that ended; its lines carry the period they bill.
      ['subscription_create', 'paid', 3000, JAN_1, JAN_1],
      ['subscription_cycle', 'paid', 3000, JAN_1, FEB_1],
      ['subscription_cycle', 'paid', 3000, FEB_1, MAR_1],
    ]);
    const [, second, third] = invoices;
    expect(second.lines.data.map((l) => [l.amount, l.quantity, l.period])).toEqual([
      [3000, 2, { start: FEB_1, end: MAR_1 }],
    ]);
    expect(third.lines.data[0].period).toEqual({ start: MAR_1, end: APR_1 });
    expect(third).toMatchObject({
      created: MAR_1,
      test_clock: clock.id,
      number: expect.stringMatching(/-0003$/),
    });

    for (const invoice of invoices) {
      const [payment] = (await stripe.invoicePayments.list({ invoice: invoice.id })).data;
      expect(payment).toMatchObject({
        amount_paid: 3000,
        status: 'paid',
        payment: { type: 'payment_intent' },
      });
      const intent = await stripe.paymentIntents.retrieve(payment.payment.payment_intent as string, {
        expand: ['latest_charge.balance_transaction'],
      });
      const charge = intent.latest_charge as Stripe.Charge;
      expect(intent).toMatchObject({ amount: 3000, status: 'succeeded', customer: customer.id });
      // Stripe's fee: 2.9 % of 30.00 (0.87) + 0.30.
      expect(charge.balance_transaction).toMatchObject({ amount: 3000, fee: 117, net: 2883 });
    }
    const renewed = await stripe.subscriptions.retrieve(subscription.id);
    expect(renewed.items.data[0]).toMatchObject({ current_period_start: MAR_1, current_period_end: APR_1 });
    expect(renewed.latest_invoice).toBe(third.id);
  });

  test('the current invoice shape: parent.subscription_details and payments on request', async () => {
    const { customer } = await clockAndCustomer(JAN_1);
    const price = await monthlyPrice(2500);
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      metadata: { plan: 'basic' },
    });
    const invoice = await stripe.invoices.retrieve(subscription.latest_invoice as string, {
      expand: ['payments'],
    });
    expect(invoice.parent).toEqual({
      quote_details: null,
      subscription_details: { metadata: { plan: 'basic' }, subscription: subscription.id },
      type: 'subscription_details',
    });
    expect(invoice.payments!.data).toHaveLength(1);
    expect(invoice.payments!.data[0]).toMatchObject({
      invoice: invoice.id,
      amount_paid: 2500,
      is_default: true,
    });
    const plain = await stripe.invoices.retrieve(invoice.id);
    expect('payments' in plain).toBe(false);
    const paidEvent = emulator.events.find((e) => e.type === 'invoice_payment.paid')!;
    expect(paidEvent.data.object).toMatchObject({ invoice: invoice.id, amount_paid: 2500 });
  });

  test('an advance beyond two periods of the shortest subscription, or backwards, is refused', async () => {
    const { clock, customer } = await clockAndCustomer(JAN_1);
    const price = await monthlyPrice(1000);
    await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    await expect(
      stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: MAR_1 + 1 }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'frozen_time' });
    await expect(
      stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: JAN_1 - DAY }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'frozen_time' });
    expect((await stripe.testHelpers.testClocks.retrieve(clock.id)).frozen_time).toBe(JAN_1);
    expect((await stripe.invoices.list({ customer: customer.id })).data).toHaveLength(1);
  });

  test('without a payment method a renewal fails, is retried on schedule, and is paid once a card is added', async () => {
    const { clock, customer } = await clockAndCustomer(JAN_1, null);
    const price = await monthlyPrice(1200);
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      trial_period_days: 14,
    });
    expect(subscription.status).toBe('trialing');
    const trialEnd = JAN_1 + 14 * DAY;

    const from = emulator.events.length;
    await advance(clock, trialEnd + 3600);
    const firstAttempt = trialEnd + 3600;
    expect(typesAfter(from)).toEqual([
      'test_helpers.test_clock.advancing',
      'invoice.created',
      'customer.subscription.updated',
      'invoice.finalized',
      'invoice.payment_failed',
      'customer.subscription.updated',
      'test_helpers.test_clock.ready',
    ]);
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe('past_due');
    let [invoice] = await invoicesOf(subscription.id).then((all) => all.slice(-1));
    expect(invoice).toMatchObject({
      status: 'open',
      amount_due: 1200,
      attempt_count: 1,
      next_payment_attempt: firstAttempt + 3 * DAY,
    });

    await advance(clock, trialEnd + 4 * DAY);
    invoice = await stripe.invoices.retrieve(invoice.id);
    expect(invoice).toMatchObject({ attempt_count: 2, next_payment_attempt: firstAttempt + 8 * DAY });

    await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    const card = (await stripe.customers.listPaymentMethods(customer.id)).data[0];
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: card.id } });
    const before = emulator.events.length;
    await advance(clock, trialEnd + 9 * DAY);
    invoice = await stripe.invoices.retrieve(invoice.id);
    expect(invoice).toMatchObject({
      status: 'paid',
      attempt_count: 3,
      amount_paid: 1200,
      next_payment_attempt: null,
    });
    expect(typesAfter(before)).toEqual(
      expect.arrayContaining(['invoice.paid', 'invoice_payment.paid', 'customer.subscription.updated']),
    );
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe('active');
  });

  test('when every retry fails the subscription is canceled for payment_failed', async () => {
    const { clock, customer } = await clockAndCustomer(JAN_1, 'pm_card_chargeCustomerFail');
    const price = await monthlyPrice(900);
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      trial_period_days: 7,
    });
    const trialEnd = JAN_1 + 7 * DAY;
    await advance(clock, trialEnd + 16 * DAY);
    const [, invoice] = await invoicesOf(subscription.id);
    expect(invoice).toMatchObject({ status: 'open', attempt_count: 4, next_payment_attempt: null });
    const canceled = await stripe.subscriptions.retrieve(subscription.id);
    expect(canceled).toMatchObject({
      status: 'canceled',
      ended_at: trialEnd + 3600 + 15 * DAY,
      cancellation_details: { reason: 'payment_failed' },
    });
    expect(emulator.events.filter((e) => e.type === 'invoice.payment_failed')).toHaveLength(4);
  });

  test('list, and delete with the customers on the clock', async () => {
    const { clock, customer } = await clockAndCustomer(JAN_1);
    expect((await stripe.testHelpers.testClocks.list()).data.map((c) => c.id)).toEqual([clock.id]);
    expect((await stripe.customers.list({ test_clock: clock.id })).data.map((c) => c.id)).toEqual([
      customer.id,
    ]);
    const price = await monthlyPrice(1000);
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
    });
    await stripe.subscriptions.create({
      customer: (await stripe.customers.create({ payment_method: 'pm_card_visa' })).id,
      default_payment_method: 'pm_card_visa',
      items: [{ price: price.id }],
    });
    expect((await stripe.subscriptions.list({ test_clock: clock.id })).data.map((s) => s.id)).toEqual([
      subscription.id,
    ]);
    expect(await stripe.testHelpers.testClocks.del(clock.id)).toMatchObject({ id: clock.id, deleted: true });
    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ deleted: true });
    await expect(stripe.testHelpers.testClocks.retrieve(clock.id)).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('subscription items', () => {
  test('a quantity change mid-period is prorated onto the next invoice; with none it is not', async () => {
    const { clock, customer } = await clockAndCustomer(JAN_1);
    const price = await monthlyPrice(3100, 'Seat');
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 1 }],
    });
    const itemId = subscription.items.data[0].id;
    await advance(clock, JAN_1 + 10 * DAY);

    const from = emulator.events.length;
    const item = await stripe.subscriptionItems.update(itemId, {
      quantity: 3,
      proration_behavior: 'create_prorations',
    });
    expect(item).toMatchObject({ id: itemId, quantity: 3, current_period_end: FEB_1 });
    expect(typesAfter(from)).toEqual([
      'customer.subscription.updated',
      'invoiceitem.created',
      'invoiceitem.created',
    ]);
    const pending = await stripe.invoiceItems.list({ customer: customer.id, pending: true });
    // 21 of January's 31 days remain: 31.00 × 21/31 = 21.00 per seat.
    expect(pending.data.map((ii) => [ii.amount, ii.proration, ii.description]).reverse()).toEqual([
      [-2100, true, 'Unused time on Seat after 11 Jan 2026'],
      [6300, true, 'Remaining time on 3 × Seat after 11 Jan 2026'],
    ]);

    await advance(clock, FEB_1 + 3600);
    const [, renewal] = await invoicesOf(subscription.id);
    expect(
      renewal.lines.data.map((l) => [
        l.amount,
        l.quantity,
        l.period.start,
        l.period.end,
        l.parent?.subscription_item_details?.proration,
      ]),
    ).toEqual([
      [-2100, 1, JAN_1 + 10 * DAY, FEB_1, true],
      [6300, 3, JAN_1 + 10 * DAY, FEB_1, true],
      [9300, 3, FEB_1, MAR_1, false],
    ]);
    expect(renewal).toMatchObject({ total: 13500, amount_paid: 13500, status: 'paid' });
    expect((await stripe.invoiceItems.list({ customer: customer.id, pending: true })).data).toHaveLength(0);

    await stripe.subscriptionItems.update(itemId, { quantity: 2, proration_behavior: 'none' });
    expect((await stripe.invoiceItems.list({ customer: customer.id, pending: true })).data).toHaveLength(0);
    await advance(clock, MAR_1 + 3600);
    const [, , third] = await invoicesOf(subscription.id);
    expect(third.lines.data.map((l) => l.amount)).toEqual([6200]);
  });

  test('always_invoice bills the proration at once; items are added, listed, retrieved and removed', async () => {
    const { clock, customer } = await clockAndCustomer(JAN_1);
    const seat = await monthlyPrice(3100, 'Seat');
    const support = await monthlyPrice(6200, 'Support');
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: seat.id }],
    });
    await advance(clock, JAN_1 + 21 * DAY);

    const added = await stripe.subscriptionItems.create({
      subscription: subscription.id,
      price: support.id,
      proration_behavior: 'always_invoice',
    });
    expect(added).toMatchObject({
      object: 'subscription_item',
      subscription: subscription.id,
      current_period_end: FEB_1,
    });
    const latest = (await stripe.subscriptions.retrieve(subscription.id)).latest_invoice as string;
    // 10 of 31 days remain: 62.00 × 10/31 = 20.00.
    expect(await stripe.invoices.retrieve(latest)).toMatchObject({
      billing_reason: 'subscription_update',
      status: 'paid',
      amount_paid: 2000,
    });
    const listed = await stripe.subscriptionItems.list({ subscription: subscription.id });
    expect(listed.data.map((i) => i.price.id).sort()).toEqual([seat.id, support.id].sort());
    expect((await stripe.subscriptionItems.retrieve(added.id)).price.id).toBe(support.id);
    await expect(
      stripe.subscriptionItems.create({ subscription: subscription.id, price: support.id }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'price' });

    expect(await stripe.subscriptionItems.del(added.id, { proration_behavior: 'none' })).toMatchObject({
      id: added.id,
      deleted: true,
    });
    await expect(stripe.subscriptionItems.retrieve(added.id)).rejects.toMatchObject({ statusCode: 404 });
    await expect(stripe.subscriptionItems.del(subscription.items.data[0].id)).rejects.toMatchObject({
      statusCode: 400,
    });
  });
});

describe('credit notes', () => {
  async function paidInvoice(): Promise<Stripe.Invoice> {
    const customer = await stripe.customers.create({
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    const price = await monthlyPrice(1500);
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 2 }],
    });
    return stripe.invoices.retrieve(subscription.latest_invoice as string);
  }

  test('a credit note on part of a paid invoice refunds that part of its payment', async () => {
    const invoice = await paidInvoice();
    const from = emulator.events.length;
    const creditNote = await stripe.creditNotes.create({
      invoice: invoice.id,
      lines: [{ type: 'invoice_line_item', invoice_line_item: invoice.lines.data[0].id, quantity: 1 }],
      refund_amount: 1500,
      reason: 'product_unsatisfactory',
    });
    expect(creditNote).toMatchObject({
      object: 'credit_note',
      amount: 1500,
      total: 1500,
      pre_payment_amount: 0,
      post_payment_amount: 1500,
      type: 'post_payment',
      status: 'issued',
      reason: 'product_unsatisfactory',
      number: `${invoice.number}-CN-01`,
      customer_balance_transaction: null,
    });
    expect(creditNote.lines.data).toEqual([
      expect.objectContaining({
        amount: 1500,
        quantity: 1,
        type: 'invoice_line_item',
        invoice_line_item: invoice.lines.data[0].id,
      }),
    ]);
    expect(creditNote.refunds).toHaveLength(1);
    const refund = await stripe.refunds.retrieve(creditNote.refunds[0].refund as string);
    expect(refund).toMatchObject({ amount: 1500, status: 'succeeded' });
    const [payment] = (await stripe.invoicePayments.list({ invoice: invoice.id })).data;
    // Found from the PaymentIntent that paid it, as Stripe finds an invoice from its payment.
    const byIntent = {
      type: 'payment_intent' as const,
      payment_intent: payment.payment.payment_intent as string,
    };
    expect((await stripe.invoicePayments.list({ payment: byIntent })).data.map((p) => p.id)).toEqual([
      payment.id,
    ]);
    expect(
      (await stripe.invoicePayments.list({ payment: { ...byIntent, payment_intent: 'pi_other' } })).data,
    ).toEqual([]);
    const charge = await stripe.charges.list({ payment_intent: payment.payment.payment_intent as string });
    expect(charge.data[0]).toMatchObject({ amount: 3000, amount_refunded: 1500, refunded: false });
    expect(await stripe.invoices.retrieve(invoice.id)).toMatchObject({
      status: 'paid',
      amount_paid: 3000,
      post_payment_credit_notes_amount: 1500,
    });
    expect(typesAfter(from)).toEqual([
      'invoice.updated',
      'charge.refunded',
      'refund.created',
      'credit_note.created',
    ]);
    expect((await stripe.creditNotes.list({ invoice: invoice.id })).data.map((c) => c.id)).toEqual([
      creditNote.id,
    ]);
    expect((await stripe.creditNotes.listLineItems(creditNote.id)).data).toHaveLength(1);
    await expect(stripe.creditNotes.voidCreditNote(creditNote.id)).rejects.toMatchObject({ statusCode: 400 });
  });

  test('by default the credit goes to the customer balance; voiding takes it back', async () => {
    const invoice = await paidInvoice();
    const creditNote = await stripe.creditNotes.create({ invoice: invoice.id, amount: 500 });
    expect(creditNote.customer_balance_transaction).toMatch(/^cbtxn_/);
    expect(creditNote.refunds).toEqual([]);
    const customer = invoice.customer as string;
    expect(await stripe.customers.retrieve(customer)).toMatchObject({ balance: -500 });
    const voided = await stripe.creditNotes.voidCreditNote(creditNote.id);
    expect(voided).toMatchObject({ status: 'void', voided_at: expect.any(Number) });
    expect(await stripe.customers.retrieve(customer)).toMatchObject({ balance: 0 });
    expect(await stripe.invoices.retrieve(invoice.id)).toMatchObject({ post_payment_credit_notes_amount: 0 });
    expect(emulator.events.at(-1)!.type).toBe('credit_note.voided');
  });

  test('a credit to the customer balance pays part of the next renewal', async () => {
    const { clock, customer } = await clockAndCustomer(JAN_1);
    const price = await monthlyPrice(1500);
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 2 }],
    });
    await stripe.creditNotes.create({
      invoice: subscription.latest_invoice as string,
      amount: 500,
      credit_amount: 500,
    });
    await advance(clock, FEB_1 + 3600);
    const [, renewal] = await invoicesOf(subscription.id);
    expect(renewal).toMatchObject({
      total: 3000,
      amount_due: 2500,
      amount_paid: 2500,
      starting_balance: -500,
      ending_balance: 0,
      status: 'paid',
    });
    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ balance: 0 });
    const transactions = await stripe.customers.listBalanceTransactions(customer.id);
    expect(transactions.data.map((t) => [t.type, t.amount, t.ending_balance])).toEqual([
      ['applied_to_invoice', 500, 0],
      ['credit_note', -500, -500],
    ]);
  });

  test('on an open invoice the credit lowers the amount due; amounts that do not add up are refused', async () => {
    const customer = await stripe.customers.create({});
    await stripe.invoiceItems.create({ customer: customer.id, amount: 4000, currency: 'usd' });
    const draft = await stripe.invoices.create({
      customer: customer.id,
      collection_method: 'send_invoice',
      pending_invoice_items_behavior: 'include',
    });
    const invoice = await stripe.invoices.finalizeInvoice(draft.id);
    const creditNote = await stripe.creditNotes.create({
      invoice: invoice.id,
      lines: [{ type: 'custom_line_item', unit_amount: 1000, quantity: 1, description: 'Goodwill' }],
    });
    expect(creditNote).toMatchObject({
      amount: 1000,
      pre_payment_amount: 1000,
      post_payment_amount: 0,
      type: 'pre_payment',
    });
    expect(await stripe.invoices.retrieve(invoice.id)).toMatchObject({
      status: 'open',
      amount_due: 3000,
      amount_remaining: 3000,
      pre_payment_credit_notes_amount: 1000,
    });
    await expect(stripe.creditNotes.create({ invoice: invoice.id, amount: 3500 })).rejects.toMatchObject({
      statusCode: 400,
    });
    await stripe.creditNotes.voidCreditNote(creditNote.id);
    expect(await stripe.invoices.retrieve(invoice.id)).toMatchObject({
      amount_due: 4000,
      pre_payment_credit_notes_amount: 0,
    });
    const from = emulator.events.length;
    await stripe.creditNotes.create({ invoice: invoice.id, amount: 4000, reason: 'order_change' });
    expect(await stripe.invoices.retrieve(invoice.id)).toMatchObject({ status: 'paid', amount_remaining: 0 });
    expect(typesAfter(from)).toEqual(['invoice.updated', 'invoice.paid', 'credit_note.created']);
    const paid = await paidInvoice();
    await expect(
      stripe.creditNotes.create({ invoice: paid.id, amount: 1000, refund_amount: 600 }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'refund_amount' });
    expect((await stripe.creditNotes.list({ invoice: paid.id })).data).toHaveLength(0);
  });
});
