/**
 * End to end over both emulators: payments, a partial and a full refund, a dispute and a customer made through
 * the Stripe emulator with the official SDK; every event it emitted, shuffled and partly duplicated, goes
 * through the handlers (Stripe re-reads against the emulator, writes through the real Dataverse client).
 */
import type Stripe from 'stripe';
import { shuffled } from './harness';
import { dataverseEmulatorForFile, handlersOverStripeEmulator, option, stripeEmulatorForFile } from './setup';

const stripeSide = stripeEmulatorForFile();
const dataverseSide = dataverseEmulatorForFile();

test('every event of a payment’s life, shuffled and duplicated, leaves the rows Stripe’s state says', async () => {
  const { emulator: stripeEmulator } = stripeSide;
  const { emulator: dataverse } = dataverseSide;
  const stripe = stripeEmulator.client();
  const customer = await stripe.customers.create({ name: 'Tailspin Toys', email: 'ap@tailspin.example' });
  const paid = await stripe.paymentIntents.create({
    amount: 19995,
    currency: 'kwd',
    customer: customer.id,
    payment_method: 'pm_card_visa',
    confirm: true,
    metadata: { order_number: 'ORD-77' },
  });
  await stripe.refunds.create({ payment_intent: paid.id, amount: 5000 });
  const refundedFully = await stripe.paymentIntents.create({
    amount: 1999,
    currency: 'jpy',
    payment_method: 'pm_card_visa',
    confirm: true,
  });
  await stripe.refunds.create({ payment_intent: refundedFully.id });
  const disputed = await stripe.paymentIntents.create({
    amount: 5000,
    currency: 'usd',
    payment_method: 'pm_card_createDispute',
    confirm: true,
  });

  const orderId = dataverse.store.insert('salesorders', { name: 'Order 77', ordernumber: 'ORD-77' });
  const { client } = dataverseSide;
  // The harness's Stripe clients point at the Stripe emulator instead of the stub.
  const sync = handlersOverStripeEmulator(stripeEmulator, client);

  const events = stripeEmulator.events as unknown as Stripe.Event[];
  const handled = events.filter((event) => sync.router.route(event.type) !== null);
  expect(handled.length).toBeGreaterThanOrEqual(8);
  for (const event of shuffled([...events, ...shuffled(events, 7).slice(0, 5)], 42))
    await sync.deliver(event);

  const payment = (id: string) => client.retrieveByKey('stc_payments', { stc_stripeid: id });
  const account = await client.retrieveByKey('accounts', { stc_stripecustomerid: customer.id });
  expect(account).toMatchObject({ name: 'Tailspin Toys', emailaddress1: 'ap@tailspin.example' });
  expect(await payment(paid.id)).toMatchObject({
    stc_amount: 19.995,
    stc_currency: 'kwd',
    stc_amountrefunded: 5,
    stc_status: option('stc_paymentstatus', 'partially_refunded'),
    stc_cardbrand: option('stc_cardbrand', 'visa'),
    stc_last4: '4242',
    _stc_customerid_value: account!.accountid,
    _stc_salesorderid_value: orderId,
  });
  const fee = (
    await stripe.balanceTransactions.retrieve(
      String(
        (await stripe.charges.retrieve(String((await stripe.paymentIntents.retrieve(paid.id)).latest_charge)))
          .balance_transaction,
      ),
    )
  ).fee;
  expect((await payment(paid.id))!.stc_fee).toBe(fee / 1000);
  expect(await payment(refundedFully.id)).toMatchObject({
    stc_amount: 1999,
    stc_amountrefunded: 1999,
    stc_status: option('stc_paymentstatus', 'refunded'),
  });
  expect(await payment(disputed.id)).toMatchObject({
    stc_disputed: true,
    stc_status: option('stc_paymentstatus', 'disputed'),
  });

  const refunds = await client.retrieveMultiple('stc_refunds', {
    select: ['stc_amount', 'stc_currency', '_stc_paymentid_value'],
  });
  expect(refunds.map((r) => [r.stc_amount, r.stc_currency]).sort()).toEqual([
    [1999, 'jpy'],
    [5, 'kwd'],
  ]);
  const disputes = await client.retrieveMultiple('stc_disputes', {
    select: ['stc_amount', 'stc_reason', '_stc_paymentid_value'],
  });
  expect(disputes).toEqual([
    expect.objectContaining({
      stc_amount: 50,
      stc_reason: option('stc_disputereason', 'fraudulent'),
      _stc_paymentid_value: (await payment(disputed.id))!.stc_paymentid,
    }),
  ]);
  expect(dataverse.store.count('stc_payments')).toBe(3);
  expect(dataverse.store.count('accounts')).toBe(1);
});
