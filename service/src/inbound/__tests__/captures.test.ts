/**
 * Authorizations over both emulators: payments held for a manual capture (PaymentIntents with
 * capture_method=manual, Charges API charges with capture=false), captured in part, canceled or released,
 * made with the official SDK; every event the Stripe emulator emitted goes through the handlers as the service
 * builds them with ORDERS_FROM_PAYMENTS=true, and the payment rows and orders Dataverse then holds are read back.
 *
 * Stripe counts what an authorization releases as refunded: a partial capture's remainder ("Any additional
 * amount is automatically refunded", capture a PaymentIntent) and a canceled hold's whole amount ("the
 * remaining amount_capturable is automatically refunded", cancel a PaymentIntent). Neither is a refund.
 */
import type Stripe from 'stripe';
import { createHandlerRouter } from '../../pipeline/routing';
import { createSyncHandlers } from '../../handlers';
import { defaultMappings } from './harness';
import { dataverseEmulatorForFile, handlersOverStripeEmulator, option, stripeEmulatorForFile } from './setup';

const stripeSide = stripeEmulatorForFile();
const dataverseSide = dataverseEmulatorForFile();

/**
 * The events the Stripe emulator emitted from `from` on, through the payments, refunds and orders handlers
 * with orders from payments on: in the order emitted, then all of them once more (Stripe redelivers).
 */
async function deliverFrom(from: number): Promise<void> {
  const harness = handlersOverStripeEmulator(stripeSide.emulator, dataverseSide.client);
  const router = createHandlerRouter(
    createSyncHandlers({ mappings: defaultMappings, ordersFromPayments: true }),
  );
  const events = (stripeSide.emulator.events as unknown as Stripe.Event[]).slice(from);
  for (const event of [...events, ...events]) {
    const handler = router.stripe(event.type);
    if (handler) await handler.handle(event, harness.context);
  }
}

/** Runs `act` against Stripe, then delivers every event it caused. */
async function step<T>(act: () => Promise<T>): Promise<T> {
  const from = stripeSide.emulator.events.length;
  const result = await act();
  await deliverFrom(from);
  return result;
}

const paymentRow = (id: string) => dataverseSide.client.retrieveByKey('stc_payments', { stc_stripeid: id });
const orderOf = (paymentId: string) =>
  dataverseSide.client.retrieveByKey('salesorders', { stc_stripeid: paymentId });
const status = (value: string) => option('stc_paymentstatus', value);
const documentStatus = (value: string) => option('stc_documentpaymentstatus', value);

test('10.00 authorized, 6.00 captured: nothing refunded until 2.00 is, then the rest; the order follows', async () => {
  const stripe = stripeSide.emulator.client();
  const held = await step(() =>
    stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      description: 'Workshop booking',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      confirm: true,
    }),
  );
  expect(await paymentRow(held.id)).toMatchObject({
    stc_status: status('requires_capture'),
    stc_amount: 10,
    stc_amountcaptured: 0,
    stc_amountrefunded: 0,
  });
  expect(await orderOf(held.id)).toBeNull();

  await step(() => stripe.paymentIntents.capture(held.id, { amount_to_capture: 600 }));
  // Stripe's charge now says amount_refunded 400: the released part of the authorization, not a refund.
  const charge = await stripe.charges.retrieve(String(held.latest_charge));
  expect(charge).toMatchObject({ amount_captured: 600, amount_refunded: 400 });
  expect(await paymentRow(held.id)).toMatchObject({
    stc_status: status('succeeded'),
    stc_amountcaptured: 6,
    stc_amountrefunded: 0,
  });
  expect(await orderOf(held.id)).toMatchObject({
    name: 'Workshop booking · 6.00 USD',
    stc_paymentstatus: documentStatus('paid'),
    stc_amountpaid: 6,
    totalamount: 6,
  });

  await step(() => stripe.refunds.create({ payment_intent: held.id, amount: 200 }));
  expect(await paymentRow(held.id)).toMatchObject({
    stc_status: status('partially_refunded'),
    stc_amountcaptured: 6,
    stc_amountrefunded: 2,
  });
  expect(await orderOf(held.id)).toMatchObject({
    stc_paymentstatus: documentStatus('partially_refunded'),
    stc_amountrefunded: 2,
  });

  await step(() => stripe.refunds.create({ payment_intent: held.id }));
  expect(await paymentRow(held.id)).toMatchObject({
    stc_status: status('refunded'),
    stc_amountrefunded: 6,
  });
  expect(await orderOf(held.id)).toMatchObject({
    stc_paymentstatus: documentStatus('refunded'),
    stc_amountrefunded: 6,
  });
});

test('a held payment canceled: Stripe marks its charge refunded in full, the payment and its order say nothing was refunded', async () => {
  const stripe = stripeSide.emulator.client();
  const held = await step(() =>
    stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      confirm: true,
    }),
  );
  // An order whose Stripe payment is this one (as a Checkout Session's order names its PaymentIntent), unpaid.
  await dataverseSide.client.create('salesorders', {
    name: 'Held order',
    stc_stripeid: 'cs_test_held',
    stc_stripepaymentid: held.id,
    stc_paymentstatus: documentStatus('unpaid'),
    stc_amountpaid: 0,
  });
  expect(await paymentRow(held.id)).toMatchObject({
    stc_status: status('requires_capture'),
    stc_amountrefunded: 0,
  });

  await step(() => stripe.paymentIntents.cancel(held.id));
  const charge = await stripe.charges.retrieve(String(held.latest_charge));
  expect(charge).toMatchObject({ captured: false, amount_refunded: 1000, refunded: true });
  expect(await paymentRow(held.id)).toMatchObject({
    stc_status: status('canceled'),
    stc_amountcaptured: 0,
    stc_amountrefunded: 0,
  });
  expect(await orderOf('cs_test_held')).toMatchObject({
    stc_paymentstatus: documentStatus('unpaid'),
    stc_amountpaid: 0,
    stc_amountrefunded: 0,
  });
  expect(await orderOf(held.id)).toBeNull();
});

describe('Charges API: a charge made with capture=false', () => {
  test('requires capture and makes no order; captured for 6.00, its order is of 6.00', async () => {
    const stripe = stripeSide.emulator.client();
    const authorized = await step(() =>
      stripe.charges.create({
        amount: 1000,
        currency: 'usd',
        source: 'tok_visa',
        capture: false,
        description: 'Phone order 12',
      }),
    );
    expect(authorized).toMatchObject({ status: 'succeeded', captured: false, amount_captured: 0 });
    expect(await paymentRow(authorized.id)).toMatchObject({
      stc_status: status('requires_capture'),
      stc_amount: 10,
      stc_amountcaptured: 0,
      stc_amountrefunded: 0,
    });
    expect(await orderOf(authorized.id)).toBeNull();

    await step(() => stripe.charges.capture(authorized.id, { amount: 600 }));
    expect(await paymentRow(authorized.id)).toMatchObject({
      stc_status: status('succeeded'),
      stc_amountcaptured: 6,
      stc_amountrefunded: 0,
    });
    expect(await orderOf(authorized.id)).toMatchObject({
      name: 'Phone order 12 · 6.00 USD',
      stc_paymentstatus: documentStatus('paid'),
      stc_amountpaid: 6,
      totalamount: 6,
    });
    expect(await dataverseSide.client.retrieveMultiple('salesorders')).toHaveLength(1);
  });

  test('released by a refund before capture: canceled, nothing refunded, no order', async () => {
    const stripe = stripeSide.emulator.client();
    const authorized = await step(() =>
      stripe.charges.create({ amount: 800, currency: 'usd', source: 'tok_visa', capture: false }),
    );
    await step(() => stripe.refunds.create({ charge: authorized.id }));
    expect(await paymentRow(authorized.id)).toMatchObject({
      stc_status: status('canceled'),
      stc_amountcaptured: 0,
      stc_amountrefunded: 0,
    });
    expect(await orderOf(authorized.id)).toBeNull();
  });
});
