/**
 * A card payment's burst (payment_intent.created, charge.succeeded, payment_intent.succeeded, charge.updated,
 * all in one second, as Stripe sends them) is claimed as one and written from its own copies: the newest
 * PaymentIntent with the newest copy of its charge, in an order the copies themselves tell. No read from
 * Stripe, on both store engines. When an event of the same second was applied before the claim, the copies
 * cannot be trusted to be newer than what is written, and the payment is read once, as before.
 */
import { StcPaymentStatus } from '@stc/solution';
import { Payment } from '@stc/solution/tables';
import { createPaymentsHandler } from '../../inbound/payments';
import { defaultMappings } from '../../inbound/__tests__/harness';
import { describeOnEachEngine } from '../../__tests__/support/engines';
import { emulatedPool, inboxEvent, type EmulatorEvent } from './emulated-pool';

describeOnEachEngine('a payment burst written from its own copies', (engine) => {
  const w = emulatedPool(engine, () => [createPaymentsHandler(defaultMappings)]);
  const reads = () => w.stripe.requests.filter((r) => r.method === 'GET').length;
  const rowOf = (intent: string) =>
    [...w.dataverse.store.rows(Payment.logicalName)].find((r) => r[Payment.col.stripeId] === intent);

  test('a burst of one second, in any order of arrival, makes the paid row with its card and no read', async () => {
    const [intent] = w.stripe.testHelpers.seedPayments({ count: 1, events: true, amount: 4200 });
    const events = w.stripe.events as unknown as EmulatorEvent[];
    expect(events.map((e) => e.type)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'charge.updated',
    ]);
    expect(new Set(events.map((e) => e.created)).size).toBe(1);
    // Arrival order: newest first, the way a retried delivery can bring them.
    for (const event of [...events].reverse()) await w.store.insertEvent(inboxEvent(event));
    w.startPool();
    await w.settled(events.map((e) => e.id));

    const charge = events[3].data.object as unknown as {
      id: string;
      balance_transaction: string;
      payment_method_details: { card: { last4: string } };
    };
    const row = rowOf(intent)!;
    expect(row).toBeDefined();
    expect(row[Payment.col.status]).toBe(StcPaymentStatus.Succeeded);
    expect(row[Payment.col.amount]).toBe(42);
    expect(row[Payment.col.chargeId]).toBe(charge.id);
    expect(row[Payment.col.last4]).toBe(charge.payment_method_details.card.last4);
    expect(row[Payment.col.stripeBalanceTransactionId]).toBe(charge.balance_transaction);
    expect(reads()).toBe(0);
    // One applied, the rest coalesced into it.
    const outcomes = await Promise.all(events.map((e) => w.store.findEvent('stripe', '', e.id)));
    expect(outcomes.map((e) => e!.status).sort()).toEqual([
      'applied',
      'superseded',
      'superseded',
      'superseded',
    ]);
  });

  test('a burst whose intent copy is behind its charge (payment_intent.succeeded still on its way) reads the payment', async () => {
    const [intent] = w.stripe.testHelpers.seedPayments({ count: 1, events: true, amount: 4200 });
    const events = w.stripe.events as unknown as EmulatorEvent[];
    const succeeded = events.find((e) => e.type === 'payment_intent.succeeded')!;
    // payment_intent.created with the charge's two events: the only intent copy awaits confirmation, while
    // the charge it is for has succeeded. Written from the copies, the row would say "requires confirmation"
    // and stay so, the late payment_intent.succeeded being no newer than what was applied.
    for (const event of events.filter((e) => e !== succeeded)) await w.store.insertEvent(inboxEvent(event));
    w.startPool();
    await w.settled(events.filter((e) => e !== succeeded).map((e) => e.id));
    expect(rowOf(intent)?.[Payment.col.status]).toBe(StcPaymentStatus.Succeeded);
    expect(w.stripe.requests.filter((r) => r.method === 'GET').map((r) => r.path)).toEqual([
      `/v1/payment_intents/${intent}`,
    ]);

    await w.store.insertEvent(inboxEvent(succeeded));
    await w.settled([succeeded.id]);
    expect(rowOf(intent)?.[Payment.col.status]).toBe(StcPaymentStatus.Succeeded);
  });

  test('after an event of the same second was applied, the rest of the burst reads the payment once', async () => {
    const [intent] = w.stripe.testHelpers.seedPayments({ count: 1, events: true, amount: 4200 });
    const events = w.stripe.events as unknown as EmulatorEvent[];
    // payment_intent.created alone first: applied from its payload, which needs no read.
    await w.store.insertEvent(inboxEvent(events[0]));
    w.startPool();
    await w.settled([events[0].id]);
    expect(reads()).toBe(0);
    expect(rowOf(intent)?.[Payment.col.status]).toBe(StcPaymentStatus.RequiresConfirmation);

    await w.stopPool();
    for (const event of events.slice(1)) await w.store.insertEvent(inboxEvent(event));
    w.startPool();
    await w.settled(events.slice(1).map((e) => e.id));
    expect(rowOf(intent)?.[Payment.col.status]).toBe(StcPaymentStatus.Succeeded);
    expect(w.stripe.requests.filter((r) => r.method === 'GET').map((r) => r.path)).toEqual([
      `/v1/payment_intents/${intent}`,
    ]);
  });
});
