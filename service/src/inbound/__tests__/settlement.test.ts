/**
 * Payments in a currency the Stripe account does not hold land in its balance converted (EUR charged, USD
 * settled): the payment row says where the money landed and at what rate, from the charge's balance transaction
 * when the event's copy has it, and from the balance transactions listed in bulk when it names it by id. Fee and
 * net stay empty: they are in the settlement currency, not the payment's (the balance transaction rows have them).
 */
import { startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import type Stripe from 'stripe';
import { eventFor } from '../../mapping/__tests__/fixtures';
import { createFeeFiller, createPaymentsHandler } from '../payments';
import { defaultMappings } from './harness';
import { dataverseEmulatorForFile, option } from './setup';

const RATE = 1.0865;
const dataverseSide = dataverseEmulatorForFile();
let stripe: StripeEmulator;
beforeAll(async () => {
  stripe = await startStripeEmulator({
    rateLimit: false,
    settlement: { eur: { currency: 'usd', rate: RATE } },
  });
});
afterAll(() => stripe?.close());

const log = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function euroPayment(amount: number) {
  const client = stripe.client();
  const created = await client.paymentIntents.create({
    amount,
    currency: 'eur',
    payment_method: 'pm_card_visa',
    confirm: true,
  });
  return client.paymentIntents.retrieve(created.id, { expand: ['latest_charge.balance_transaction'] });
}

test('the balance transaction is in the settlement currency with Stripe’s rate, as Stripe converts', async () => {
  const intent = await euroPayment(1000);
  const transaction = (intent.latest_charge as Stripe.Charge)
    .balance_transaction as Stripe.BalanceTransaction;
  // 10.00 EUR at 1.0865 is 10.87 USD; the fee is USD's too.
  expect(transaction).toMatchObject({ currency: 'usd', amount: 1087, exchange_rate: RATE });
  expect(transaction.net).toBe(transaction.amount - transaction.fee);
  expect(transaction.fee_details.every((d) => d.currency === 'usd')).toBe(true);
  // Listed among the USD money a payout takes.
  const balance = await stripe.client().balance.retrieve();
  expect(balance.pending.map((b) => b.currency)).toContain('usd');
  expect(balance.pending.map((b) => b.currency)).not.toContain('eur');
});

test('a payment read with its balance transaction gets the settlement currency and rate, and no fee', async () => {
  const intent = await euroPayment(2500);
  const { client } = dataverseSide;
  const handler = createPaymentsHandler(defaultMappings);
  await handler.handle(eventFor('payment_intent.succeeded', intent) as unknown as Stripe.Event, {
    dataverse: client,
    stripeFor: () => stripe.client(),
    log,
  });
  expect(await client.retrieveByKey('stc_payments', { stc_stripeid: intent.id })).toMatchObject({
    stc_amount: 25,
    stc_currency: 'eur',
    stc_status: option('stc_paymentstatus', 'succeeded'),
    stc_settlementcurrency: 'usd',
    stc_exchangerate: RATE,
    stc_fee: null,
    stc_net: null,
  });
});

test('a payment whose copy names its balance transaction by id gets currency and rate from the bulk list', async () => {
  const created = await euroPayment(4200);
  // The copy an event carries: the charge embedded, its balance transaction an id.
  const intent = await stripe.client().paymentIntents.retrieve(created.id, { expand: ['latest_charge'] });
  const { client } = dataverseSide;
  const fees = createFeeFiller();
  const handler = createPaymentsHandler(defaultMappings, fees);
  const context = { dataverse: client, stripeFor: () => stripe.client(), log };
  await handler.handle(eventFor('payment_intent.succeeded', intent) as unknown as Stripe.Event, context);
  const row = () => client.retrieveByKey('stc_payments', { stc_stripeid: intent.id });
  expect(await row()).toMatchObject({ stc_settlementcurrency: null, stc_exchangerate: null });

  const result = await fees.fill(context);

  expect(result).toMatchObject({ filled: 0, otherCurrency: 1, waiting: 0 });
  expect(await row()).toMatchObject({
    stc_amount: 42,
    stc_settlementcurrency: 'usd',
    stc_exchangerate: RATE,
    stc_fee: null,
    stc_net: null,
  });
});
