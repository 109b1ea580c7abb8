/**
 * A dispute's outcome over both emulators: once won, the payment shows its settled status again (the dispute row
 * keeps status won and the funds reinstated); once lost, the payment stays disputed. Every event the Stripe
 * emulator emitted goes through the inbox shuffled (late deliveries), then again in order (duplicates).
 */
import type Stripe from 'stripe';
import { OrderedDelivery, shuffled } from './harness';
import { dataverseEmulatorForFile, handlersOverStripeEmulator, option, stripeEmulatorForFile } from './setup';

const stripeSide = stripeEmulatorForFile();
const dataverseSide = dataverseEmulatorForFile();

test('a won dispute gives the payment back its settled status; a lost one keeps it disputed', async () => {
  const { emulator: stripeEmulator } = stripeSide;
  const stripe = stripeEmulator.client();
  const disputedPayment = async (amount: number) => {
    const intent = await stripe.paymentIntents.create({
      amount,
      currency: 'usd',
      payment_method: 'pm_card_createDispute',
      confirm: true,
    });
    const [dispute] = (await stripe.disputes.list({ payment_intent: intent.id })).data;
    return { intent, dispute };
  };
  const won = await disputedPayment(5000);
  const lost = await disputedPayment(7000);
  const wonAfterRefund = await disputedPayment(9000);
  await stripe.refunds.create({ payment_intent: wonAfterRefund.intent.id, amount: 1000 });
  stripeEmulator.testHelpers.closeDispute(won.dispute.id, 'won');
  stripeEmulator.testHelpers.closeDispute(lost.dispute.id, 'lost');
  stripeEmulator.testHelpers.closeDispute(wonAfterRefund.dispute.id, 'won');

  const { client } = dataverseSide;
  const sync = handlersOverStripeEmulator(stripeEmulator, client);
  const events = stripeEmulator.events as unknown as Stripe.Event[];
  expect(events.map((e) => e.type)).toEqual(
    expect.arrayContaining(['charge.dispute.closed', 'charge.dispute.funds_reinstated']),
  );
  // Through the inbox and its ordering stamps, as the workers take them: shuffled (late deliveries), then
  // every event again (duplicates).
  const ordered = await OrderedDelivery.open(sync);
  for (const event of [...shuffled(events, 11), ...events]) await ordered.deliver(event);
  await ordered.close();

  const payment = (id: string) => client.retrieveByKey('stc_payments', { stc_stripeid: id });
  const dispute = (id: string) => client.retrieveByKey('stc_disputes', { stc_stripeid: id });

  expect(await payment(won.intent.id)).toMatchObject({
    stc_status: option('stc_paymentstatus', 'succeeded'),
    stc_disputed: false,
  });
  expect(await dispute(won.dispute.id)).toMatchObject({
    stc_status: option('stc_disputestatus', 'won'),
    stc_fundswithdrawn: 50,
    stc_fundsreinstated: 50,
    _stc_paymentid_value: (await payment(won.intent.id))!.stc_paymentid,
  });

  expect(await payment(lost.intent.id)).toMatchObject({
    stc_status: option('stc_paymentstatus', 'disputed'),
    stc_disputed: true,
  });
  const lostRow = await dispute(lost.dispute.id);
  expect(lostRow).toMatchObject({ stc_status: option('stc_disputestatus', 'lost'), stc_fundswithdrawn: 70 });
  expect(lostRow!.stc_fundsreinstated ?? null).toBeNull();

  // The amounts decide the settled status: a partly refunded payment shows partially_refunded.
  expect(await payment(wonAfterRefund.intent.id)).toMatchObject({
    stc_amountrefunded: 10,
    stc_status: option('stc_paymentstatus', 'partially_refunded'),
    stc_disputed: false,
  });
});
