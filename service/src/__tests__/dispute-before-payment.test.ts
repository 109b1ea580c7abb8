/**
 * A dispute's events applied before the events of its payment (Stripe delivers in no order; a restart after
 * a crash finds them all due at once): the disputes handler writes the payment's row from Stripe's fresh
 * state (disputed), and the payment's own older events, worked afterwards as one burst, must not put back
 * the state their copies carry (succeeded, the charge not yet disputed).
 */
import { StcPaymentStatus } from '@stc/solution';
import { postSignedEvent, waitFor } from '@stc/testkit';
import { serviceOnEmulators } from './support/service-on-emulators';

jest.setTimeout(120_000);

const world = serviceOnEmulators('dispute-order');
const SECRET = 'whsec_dispute-order';

test('the payment stays disputed when its own events are applied after its dispute’s', async () => {
  const stripe = world.stripeEmulator.client();
  const intent = await stripe.paymentIntents.create({
    amount: 5000,
    currency: 'usd',
    payment_method: 'pm_card_createDispute',
    confirm: true,
  });
  const events = world.stripeEmulator.events;
  const disputeEvents = events.filter((e) => e.type.startsWith('charge.dispute.'));
  const paymentEvents = events.filter((e) => !e.type.startsWith('charge.dispute.'));
  expect(disputeEvents.length).toBeGreaterThan(0);
  expect(paymentEvents.map((e) => e.type)).toEqual(
    expect.arrayContaining(['payment_intent.succeeded', 'charge.succeeded']),
  );
  const row = () => world.dataverse.store.rows('stc_payments').find((r) => r.stc_stripeid === intent.id);
  const finished = async (
    ids: string[],
    store: { findEvent: (s: 'stripe', a: string, id: string) => Promise<{ status: string } | null> },
  ) =>
    (await Promise.all(ids.map((id) => store.findEvent('stripe', '', id)))).every(
      (e) => e !== null && e.status !== 'pending' && e.status !== 'processing',
    );

  // The dispute first: its handler re-syncs the payment from Stripe.
  const first = await world.start(world.configFor({ WORKER_POLL_MS: '20' }));
  for (const event of disputeEvents)
    expect(await postSignedEvent(first.url, JSON.stringify(event), SECRET)).toBe(200);
  await waitFor(
    () =>
      finished(
        disputeEvents.map((e) => e.id),
        first.store,
      ),
    'the dispute events',
    30_000,
  );
  expect(row()?.stc_status).toBe(StcPaymentStatus.Disputed);
  await first.stop();

  // The payment's events arrive while no worker runs, then are worked together.
  const intake = await world.start(world.configFor({ WORKER_CONCURRENCY: '0' }));
  for (const event of paymentEvents)
    expect(await postSignedEvent(intake.url, JSON.stringify(event), SECRET)).toBe(200);
  await intake.stop();
  const workers = await world.start(world.configFor({ WORKER_POLL_MS: '20' }));
  await waitFor(
    () =>
      finished(
        paymentEvents.map((e) => e.id),
        workers.store,
      ),
    'the payment events',
    30_000,
  );

  expect(row()?.stc_status).toBe(StcPaymentStatus.Disputed);
  expect(world.dataverse.store.rows('stc_payments').filter((r) => r.stc_stripeid === intent.id)).toHaveLength(
    1,
  );
});
