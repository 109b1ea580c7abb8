/**
 * Every object the emulator makes has exactly the top-level fields of Stripe's own example object for that
 * resource (stripe/openapi fixtures3.json), so code written against real payloads finds every field.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Stripe from 'stripe';
import type { StripeEmulator } from '..';
import { confirmedPayment, emulatorWithClient } from './harness';

const FIXTURES = JSON.parse(
  readFileSync(
    join(__dirname, '../../../../test/fixtures/reference/stripe/openapi-fixtures/fixtures3.json'),
    'utf8',
  ),
).resources as Record<string, Record<string, unknown>>;

const keys = (object: object) => Object.keys(object).sort();

describe('object shapes match the Stripe OpenAPI fixtures', () => {
  let emulator: StripeEmulator;
  let stripe: Stripe;
  const objects: Record<string, object> = {};

  beforeAll(async () => {
    ({ emulator, stripe } = await emulatorWithClient());
    const customer = await stripe.customers.create({
      email: 'shape@example.com',
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    objects.customer = customer;
    const paymentIntent = await stripe.paymentIntents.create({
      amount: 2000,
      currency: 'usd',
      customer: customer.id,
      payment_method: 'pm_card_createDispute',
      confirm: true,
    });
    objects.payment_intent = paymentIntent;
    const charge = await stripe.charges.retrieve(paymentIntent.latest_charge as string);
    objects.charge = charge;
    objects.balance_transaction = await stripe.balanceTransactions.retrieve(
      charge.balance_transaction as string,
    );
    objects.refund = await stripe.refunds.create({ payment_intent: paymentIntent.id, amount: 100 });
    objects.dispute = (await stripe.disputes.list({ charge: charge.id })).data[0];
    objects.payment_method = await stripe.paymentMethods.retrieve(charge.payment_method as string);
    // The dispute took its amount and fee from the balance: pay something in before paying out.
    await confirmedPayment(stripe, 10_000);
    objects.payout = await stripe.payouts.create({ amount: 100, currency: 'usd' });
    const product = await stripe.products.create({ name: 'Plan' });
    objects.product = product;
    const price = await stripe.prices.create({
      product: product.id,
      unit_amount: 1500,
      currency: 'usd',
      recurring: { interval: 'month' },
    });
    objects.price = price;
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
    });
    objects.subscription = subscription;
    objects.subscription_item = subscription.items.data[0];
    const invoice = await stripe.invoices.retrieve(subscription.latest_invoice as string);
    objects.invoice = invoice;
    objects.line_item = invoice.lines.data[0];
    objects.invoice_payment = (await stripe.invoicePayments.list({ invoice: invoice.id })).data[0];
    objects.invoiceitem = await stripe.invoiceItems.create({
      customer: customer.id,
      amount: 500,
      currency: 'usd',
    });
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      success_url: 'https://example.com/success',
      line_items: [
        {
          price: (await stripe.prices.create({ product: product.id, unit_amount: 900, currency: 'usd' })).id,
          quantity: 1,
        },
      ],
    });
    objects['checkout.session'] = session;
    objects.item = (await stripe.checkout.sessions.listLineItems(session.id)).data[0];
    objects.payment_link = await stripe.paymentLinks.create({
      line_items: [{ price: (objects.item as Stripe.LineItem).price!.id, quantity: 1 }],
    });
    const creditNote = await stripe.creditNotes.create({
      invoice: invoice.id,
      lines: [{ type: 'invoice_line_item', invoice_line_item: invoice.lines.data[0].id, amount: 100 }],
    });
    objects.credit_note = creditNote;
    objects.credit_note_line_item = creditNote.lines.data[0];
    objects.customer_balance_transaction = (
      await stripe.customers.listBalanceTransactions(customer.id)
    ).data[0];
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: 1_767_225_600 });
    objects['test_helpers.test_clock'] = clock;
    objects['deleted_test_helpers.test_clock'] = await stripe.testHelpers.testClocks.del(clock.id);
    objects.event = (await stripe.events.list({ limit: 1 })).data[0];
    objects.deleted_customer = await stripe.customers.del((await stripe.customers.create({})).id);
  });

  afterAll(() => emulator.close());

  test.each([
    'customer',
    'payment_intent',
    'charge',
    'balance_transaction',
    'refund',
    'dispute',
    'payment_method',
    'payout',
    'product',
    'price',
    'subscription',
    'subscription_item',
    'invoice',
    'line_item',
    'invoice_payment',
    'invoiceitem',
    'credit_note',
    'credit_note_line_item',
    'customer_balance_transaction',
    'test_helpers.test_clock',
    'deleted_test_helpers.test_clock',
    'checkout.session',
    'item',
    'payment_link',
    'event',
    'deleted_customer',
  ])('%s has the fixture key set', (resource) => {
    expect(objects[resource]).toBeDefined();
    expect(keys(objects[resource])).toEqual(keys(FIXTURES[resource]));
  });

  test('ids carry Stripe prefixes and objects their type, mode and creation time', () => {
    const prefixes: Record<string, string> = {
      customer: 'cus_',
      payment_intent: 'pi_',
      charge: 'ch_',
      balance_transaction: 'txn_',
      refund: 're_',
      dispute: 'dp_',
      payment_method: 'pm_',
      payout: 'po_',
      product: 'prod_',
      price: 'price_',
      subscription: 'sub_',
      subscription_item: 'si_',
      invoice: 'in_',
      line_item: 'il_',
      invoiceitem: 'ii_',
      credit_note: 'cn_',
      credit_note_line_item: 'cnli_',
      customer_balance_transaction: 'cbtxn_',
      'test_helpers.test_clock': 'clock_',
      'checkout.session': 'cs_test_',
      item: 'li_',
      payment_link: 'plink_',
      event: 'evt_',
    };
    for (const [resource, prefix] of Object.entries(prefixes)) {
      const object = objects[resource] as {
        id: string;
        object: string;
        created?: number;
        livemode?: boolean;
      };
      expect(object.id.startsWith(prefix)).toBe(true);
      expect(object.object).toBe(resource);
      if ('livemode' in FIXTURES[resource]) expect(object.livemode).toBe(false);
      if ('created' in FIXTURES[resource]) expect(object.created).toBeGreaterThan(1_600_000_000);
    }
  });

  test('nested objects Stripe always fills have the fixture fields', () => {
    const charge = objects.charge as Stripe.Charge;
    const card = FIXTURES.charge.payment_method_details as { card: object };
    expect(keys(charge.payment_method_details!.card!)).toEqual(keys(card.card));
    const dispute = objects.dispute as Stripe.Dispute;
    expect(keys(dispute.evidence)).toEqual(keys(FIXTURES.dispute.evidence as object));
    expect(keys(dispute.evidence_details)).toEqual(keys(FIXTURES.dispute.evidence_details as object));
    expect(keys(dispute.balance_transactions[0])).toEqual(keys(FIXTURES.balance_transaction));
    const event = objects.event as Stripe.Event;
    expect(keys(event.request!)).toEqual(keys(FIXTURES.event.request as object));
  });
});
