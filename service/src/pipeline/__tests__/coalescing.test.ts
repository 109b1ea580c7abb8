/**
 * What a claim coalesces, with the service's own handlers, on both store engines: an older event of an object
 * is recorded superseded by a newer one only when handling the newer does all the older would. A completed
 * Checkout Session waiting with its failed delayed payment is applied before it (the failure only marks an
 * order), so the order is written and marked failed. A card payment's burst is still coalesced into one
 * event, whichever it is, and with ORDERS_FROM_PAYMENTS its order is made from the payment as the handler
 * wrote it: from the burst's copies without a read, or from the handler's own read for a later charge.updated.
 */
import { Payment, SalesOrder } from '@stc/solution/tables';
import { createSyncHandlers } from '../../handlers';
import { defaultMappings } from '../../inbound/__tests__/harness';
import { option } from '../../inbound/__tests__/setup';
import { describeOnEachEngine } from '../../__tests__/support/engines';
import { createHandlerRouter } from '../routing';
import { coalescesThrough } from '../pool';
import { emulatedPool, inboxEvent, type EmulatorEvent } from './emulated-pool';

const CARD_BURST = [
  'payment_intent.created',
  'charge.succeeded',
  'payment_intent.succeeded',
  'charge.updated',
] as const;

describe('which older event types a newer one stands for', () => {
  const coalesces = coalescesThrough(
    createHandlerRouter(createSyncHandlers({ mappings: defaultMappings, ordersFromPayments: true })),
  );

  test('a card payment’s burst coalesces into any of its events', () => {
    for (const older of CARD_BURST)
      for (const newer of CARD_BURST) expect(coalesces(older, newer)).toBe(true);
    expect(coalesces('charge.succeeded', 'charge.refunded')).toBe(false);
  });

  test('a completed session is not coalesced into its failed delayed payment or its expiry', () => {
    expect(coalesces('checkout.session.completed', 'checkout.session.async_payment_failed')).toBe(false);
    expect(coalesces('checkout.session.completed', 'checkout.session.expired')).toBe(false);
    expect(coalesces('checkout.session.completed', 'checkout.session.async_payment_succeeded')).toBe(true);
    expect(coalesces('checkout.session.async_payment_failed', 'checkout.session.async_payment_failed')).toBe(
      true,
    );
  });

  test('an invoice payment that needs action or failed is coalesced only into such an event', () => {
    expect(coalesces('invoice.payment_action_required', 'invoice.updated')).toBe(false);
    expect(coalesces('invoice.payment_failed', 'invoice.updated')).toBe(false);
    expect(coalesces('invoice.payment_failed', 'invoice.paid')).toBe(false);
    expect(coalesces('invoice.updated', 'invoice.payment_action_required')).toBe(true);
    expect(coalesces('invoice.payment_failed', 'invoice.payment_action_required')).toBe(true);
    expect(coalesces('invoice.created', 'invoice.updated')).toBe(true);
  });
});

describeOnEachEngine('coalescing at claim with the service’s handlers', (engine) => {
  const w = emulatedPool(engine, () =>
    createSyncHandlers({ mappings: defaultMappings, ordersFromPayments: true }),
  );
  const statuses = async (events: EmulatorEvent[]) =>
    Promise.all(events.map(async (e) => (await w.store.findEvent('stripe', '', e.id))?.status));
  const orders = () => [...w.dataverse.store.rows(SalesOrder.logicalName)];
  const paymentRow = (intent: string) =>
    [...w.dataverse.store.rows(Payment.logicalName)].find((r) => r[Payment.col.stripeId] === intent);
  const stripeCalls = (method: string, path: string) =>
    w.stripe.requests.filter((r) => r.method === method && r.path.startsWith(path)).length;

  /** The payment's four events, the one of type `newest` given the highest id of their second. */
  const cardBurst = (newest: string) => {
    const [intent] = w.stripe.testHelpers.seedPayments({ count: 1, events: true, amount: 4200 });
    const events = (w.stripe.events as unknown as EmulatorEvent[]).map((event, i) => ({
      ...event,
      id: event.type === newest ? 'evt_9_newest' : `evt_0_${i}`,
    }));
    expect(events.map((e) => e.type)).toEqual(CARD_BURST);
    expect(new Set(events.map((e) => e.created)).size).toBe(1);
    return { intent, events };
  };

  test('a completed session waiting with its failed delayed payment: the order is written, then marked failed', async () => {
    const session = await w.stripe.client().checkout.sessions.create({
      mode: 'payment',
      success_url: 'https://shop.example/done',
      line_items: [
        { price_data: { currency: 'usd', unit_amount: 1500, product_data: { name: 'Mug' } }, quantity: 2 },
      ],
    });
    const completed = { ...session, status: 'complete', payment_status: 'unpaid' };
    const created = Math.floor(Date.now() / 1000);
    const event = (id: string, type: string, at: number): EmulatorEvent => ({
      id,
      object: 'event',
      type,
      created: at,
      livemode: false,
      data: { object: completed as unknown as EmulatorEvent['data']['object'] },
    });
    const events = [
      event('evt_session_completed', 'checkout.session.completed', created),
      event('evt_session_failed', 'checkout.session.async_payment_failed', created + 60),
    ];
    for (const e of events) await w.store.insertEvent(inboxEvent(e));
    w.startPool();
    await w.settled(events.map((e) => e.id));

    expect(await statuses(events)).toEqual(['applied', 'applied']);
    expect(orders()).toEqual([
      expect.objectContaining({
        stc_stripeid: session.id,
        stc_paymentstatus: option('stc_documentpaymentstatus', 'failed'),
        stc_lasteventid: 'evt_session_failed',
      }),
    ]);
  });

  test.each(CARD_BURST)(
    'a card payment’s burst coalesced into its %s makes the payment’s order, without a read',
    async (newest) => {
      const { intent, events } = cardBurst(newest);
      for (const event of [...events].reverse()) await w.store.insertEvent(inboxEvent(event));
      w.startPool();
      await w.settled(events.map((e) => e.id));

      expect(await w.store.findEvent('stripe', '', 'evt_9_newest')).toMatchObject({ status: 'applied' });
      expect((await statuses(events)).filter((s) => s === 'superseded')).toHaveLength(3);
      expect(orders()).toEqual([
        expect.objectContaining({
          stc_stripeid: intent,
          stc_paymentstatus: option('stc_documentpaymentstatus', 'paid'),
          stc_amountpaid: 42,
        }),
      ]);
      expect(paymentRow(intent)?.[Payment.lookup.salesorderid.value]).toBe(orders()[0].salesorderid);
      // The burst's copies told the state: no read of the payment; one list of its sessions.
      expect(stripeCalls('GET', '/v1/payment_intents')).toBe(0);
      expect(stripeCalls('GET', '/v1/checkout/sessions')).toBe(1);
    },
  );

  test('a later charge.updated applied before the burst makes the order from its read, once', async () => {
    const { intent, events } = cardBurst('charge.updated');
    const later = events.find((e) => e.type === 'charge.updated')!;
    later.created += 2;
    await w.store.insertEvent(inboxEvent(later));
    w.startPool();
    await w.settled([later.id]);
    expect(orders()).toEqual([expect.objectContaining({ stc_stripeid: intent, stc_amountpaid: 42 })]);
    expect(stripeCalls('GET', '/v1/payment_intents')).toBe(1);

    const rest = events.filter((e) => e !== later);
    for (const event of rest) await w.store.insertEvent(inboxEvent(event));
    await w.settled(rest.map((e) => e.id));
    expect(await statuses(rest)).toEqual(['superseded', 'superseded', 'superseded']);

    // Another update of the charge: the order is made already, so neither written again nor looked for.
    const again = { ...later, id: 'evt_9_again', created: later.created + 1 };
    await w.store.insertEvent(inboxEvent(again));
    await w.settled([again.id]);
    expect(await w.store.findEvent('stripe', '', again.id)).toMatchObject({ status: 'applied' });
    expect(orders()).toHaveLength(1);
    expect(stripeCalls('GET', '/v1/checkout/sessions')).toBe(1);
  });
});
