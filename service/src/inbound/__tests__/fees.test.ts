/**
 * Fees and net without a read per payment, over both emulators: payments written from their events' copies
 * (status and amount at once, the balance transaction named by id only) get fee and net from one list of
 * balance transactions, not a read each; a payment whose transaction is not listed keeps an empty fee.
 */
import type Stripe from 'stripe';
import { eventFor } from '../../mapping/__tests__/fixtures';
import { createFeeFiller, createPaymentsHandler } from '../payments';
import { startStripeRequestLog, type StripeRequestLog } from '../../__tests__/support/stripe-request-log';
import { defaultMappings } from './harness';
import { dataverseEmulatorForFile, option, stripeEmulatorForFile } from './setup';

const stripeSide = stripeEmulatorForFile();
const dataverseSide = dataverseEmulatorForFile();
let stripeLog: StripeRequestLog;
beforeAll(async () => {
  stripeLog = await startStripeRequestLog(stripeSide.emulator.url);
});
afterAll(() => stripeLog.close());

const log = { info: () => undefined, warn: () => undefined, error: () => undefined };

test('payments written from their events get fee and net from one list of balance transactions', async () => {
  const direct = stripeSide.emulator.client();
  // Through the request log: what the handler and the filler send.
  const logged = stripeSide.emulator.client({ port: Number(new URL(stripeLog.url).port) });
  const amounts = [1999, 4500, 120];
  const intents = [];
  for (const amount of amounts) {
    const created = await direct.paymentIntents.create({
      amount,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    // The copy an event carries with its charge embedded, whose balance transaction is an id.
    intents.push(await direct.paymentIntents.retrieve(created.id, { expand: ['latest_charge'] }));
  }
  const { client } = dataverseSide;
  const fees = createFeeFiller();
  const handler = createPaymentsHandler(defaultMappings, fees);
  const context = { dataverse: client, stripeFor: () => logged, log };
  for (const intent of intents)
    await handler.handle(eventFor('payment_intent.succeeded', intent) as unknown as Stripe.Event, context);

  // Status and amount at once, from the events alone; no fee yet, none guessed.
  expect(stripeLog.requests).toEqual([]);
  const payment = (id: string) => client.retrieveByKey('stc_payments', { stc_stripeid: id });
  for (const [i, intent] of intents.entries()) {
    expect(await payment(intent.id)).toMatchObject({
      stc_amount: amounts[i] / 100,
      stc_status: option('stc_paymentstatus', 'succeeded'),
      stc_fee: null,
      stc_net: null,
    });
  }
  expect(fees.pending()).toBe(3);

  const result = await fees.fill({ stripeFor: () => logged, dataverse: client, log });

  expect(result).toEqual({ filled: 3, otherCurrency: 0, waiting: 0, requests: 1 });
  expect(stripeLog.requests).toEqual(['GET /v1/balance_transactions']);
  for (const intent of intents) {
    const charge = intent.latest_charge as Stripe.Charge;
    const transaction = await direct.balanceTransactions.retrieve(charge.balance_transaction as string);
    expect(transaction.fee).toBeGreaterThan(0);
    expect(await payment(intent.id)).toMatchObject({
      stc_fee: transaction.fee / 100,
      stc_net: transaction.net / 100,
      stc_stripebalancetransactionid: transaction.id,
      stc_status: option('stc_paymentstatus', 'succeeded'),
    });
  }
  // Nothing noted: the next run sends nothing.
  expect(fees.pending()).toBe(0);
});

test('a payment whose transaction is not listed keeps an empty fee and is given up after its runs', async () => {
  const { client } = dataverseSide;
  const fees = createFeeFiller({ maxRuns: 2 });
  const logged = stripeSide.emulator.client({ port: Number(new URL(stripeLog.url).port) });
  const warnings: string[] = [];
  const warnLog = { ...log, warn: (_: object, msg?: string) => void warnings.push(msg ?? '') };
  await client.upsertByKey(
    'stc_payments',
    { stc_stripeid: 'pi_unlisted' },
    { stc_name: 'unlisted', stc_amount: 5, stc_currency: 'usd', stc_chargeid: 'ch_unlisted' },
  );
  fees.note({ chargeId: 'ch_unlisted', created: Math.floor(Date.now() / 1000), account: null });

  const first = await fees.fill({ stripeFor: () => logged, dataverse: client, log: warnLog });
  expect(first).toMatchObject({ filled: 0, waiting: 1 });
  const second = await fees.fill({ stripeFor: () => logged, dataverse: client, log: warnLog });
  expect(second).toMatchObject({ filled: 0, waiting: 0 });
  expect(warnings).toEqual(['no balance transaction listed for this charge; its fee and net stay empty']);
  expect(await client.retrieveByKey('stc_payments', { stc_stripeid: 'pi_unlisted' })).toMatchObject({
    stc_fee: null,
  });
});
