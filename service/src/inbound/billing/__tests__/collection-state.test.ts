/**
 * Where collecting an invoice stands (stc_collectionstate) through the worker pool, its claims and coalescing,
 * on both store engines, with the Stripe and Dataverse emulators. A card that needs 3-D Secure leaves the
 * invoice open, its payment waiting for the customer: Stripe sends invoice.payment_action_required and, in the
 * same second, invoice.updated (the Stripe CLI's trigger for that event pays with pm_card_threeDSecure2Required,
 * test/fixtures/reference/stripe/cli-triggers/invoice.payment_action_required.json). Whichever of them is
 * applied last, the row says action_required; a declined card says payment_failed; a paid invoice, paid.
 */
import type Stripe from 'stripe';
import { StripeInvoice } from '@stc/solution/tables';
import { createSyncHandlers } from '../../../handlers';
import { describeOnEachEngine } from '../../../__tests__/support/engines';
import { emulatedPool, inboxEvent, type EmulatorEvent } from '../../../pipeline/__tests__/emulated-pool';
import { defaultMappings } from '../../__tests__/harness';
import { option } from '../../__tests__/setup';

const state = (value: string) => option('stc_invoicecollectionstate', value);

describeOnEachEngine('an invoice’s collection state through the pipeline', (engine) => {
  const w = emulatedPool(engine, () => createSyncHandlers({ mappings: defaultMappings }));

  const row = (invoice: string) =>
    [...w.dataverse.store.rows(StripeInvoice.logicalName)].find((r) => r.stc_stripeid === invoice);
  const status = async (event: EmulatorEvent) => (await w.store.findEvent('stripe', '', event.id))?.status;
  const invoiceReads = (invoice: string) =>
    w.stripe.requests.filter((r) => r.method === 'GET' && r.path === `/v1/invoices/${invoice}`).length;

  /** Queues `events` in the inbox, starts the pool if it is not running, and waits until each settles. */
  let running = false;
  async function apply(...events: EmulatorEvent[]): Promise<void> {
    for (const event of events) await w.store.insertEvent(inboxEvent(event));
    if (!running) w.startPool();
    running = true;
    await w.settled(events.map((e) => e.id));
  }
  beforeEach(() => {
    running = false;
  });

  /** The emulator's newest event of `type` about `invoice`, renamed `id`, created at `created`. */
  function eventOf(invoice: string, type: string, id: string, created: number): EmulatorEvent {
    const event = [...(w.stripe.events as unknown as EmulatorEvent[])]
      .reverse()
      .find((e) => e.type === type && e.data.object.id === invoice);
    if (!event) throw new Error(`the emulator recorded no ${type} of ${invoice}`);
    return { ...event, id, created };
  }

  /** An invoice of 20.00 paid with `card`, as `stripe trigger` does: created, then paid at once. */
  async function invoicePaidWith(
    card: string,
  ): Promise<{ stripe: Stripe; customer: string; invoice: string }> {
    const stripe = w.stripe.client();
    const customer = await stripe.customers.create({ description: 'collection state' });
    const paymentMethod = await stripe.paymentMethods.attach(card, { customer: customer.id });
    await stripe.invoiceItems.create({ customer: customer.id, amount: 2000, currency: 'usd' });
    const invoice = await stripe.invoices.create({
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
    });
    await stripe.invoices.pay(invoice.id, { payment_method: paymentMethod.id }).catch((error: unknown) => {
      if ((error as { type?: string }).type !== 'StripeCardError') throw error;
    });
    return { stripe, customer: customer.id, invoice: invoice.id };
  }

  /** Events of an invoice that needs 3-D Secure: created at T, finalized at T + 1, action_required and updated at T + 60. */
  async function awaitingAuthentication() {
    const { stripe, customer, invoice } = await invoicePaidWith('pm_card_threeDSecure2Required');
    const t = Math.floor(Date.now() / 1000) - 600;
    const events = {
      created: eventOf(invoice, 'invoice.created', 'evt_1_created', t),
      finalized: eventOf(invoice, 'invoice.finalized', 'evt_2_finalized', t + 1),
      actionRequired: eventOf(invoice, 'invoice.payment_action_required', 'evt_5_action', t + 60),
      updated: eventOf(invoice, 'invoice.updated', 'evt_5_updated', t + 60),
    };
    // As Stripe has them: the invoice.updated right after is the attempt's, on the same open invoice.
    expect(events.updated.data.object).toMatchObject({ status: 'open', attempt_count: 1 });
    expect(events.actionRequired.data.object).toMatchObject({ status: 'open', attempt_count: 1 });
    return { stripe, customer, invoice, t, ...events };
  }

  test('invoice.payment_action_required applied, then the invoice.updated of its second: action_required', async () => {
    const { invoice, created, finalized, actionRequired, updated } = await awaitingAuthentication();
    await apply(created, finalized, actionRequired);
    expect(row(invoice)).toMatchObject({
      stc_collectionstate: state('action_required'),
      stc_attemptcount: 1,
    });
    expect(invoiceReads(invoice)).toBe(0);

    await apply(updated);
    expect(await status(updated)).toBe('applied');
    expect(row(invoice)).toMatchObject({
      stc_collectionstate: state('action_required'),
      stc_lasteventid: updated.id,
    });
    // The invoice.updated of the same second may be the older copy: the invoice is read once, with its
    // payments' PaymentIntents.
    expect(invoiceReads(invoice)).toBe(1);
  });

  test('invoice.updated applied, then the invoice.payment_action_required of its second: action_required', async () => {
    const { invoice, created, finalized, actionRequired, updated } = await awaitingAuthentication();
    await apply(created, finalized);
    expect(row(invoice)).toMatchObject({ stc_collectionstate: state('pending'), stc_attemptcount: 0 });
    await apply(updated);
    // The copy cannot tell a failed payment from one waiting for the customer: the state is left as written.
    expect(row(invoice)).toMatchObject({ stc_collectionstate: state('pending'), stc_attemptcount: 1 });

    await apply(actionRequired);
    expect(await status(actionRequired)).toBe('applied');
    expect(row(invoice)).toMatchObject({
      stc_collectionstate: state('action_required'),
      stc_lasteventid: actionRequired.id,
    });
  });

  test.each(['invoice.updated', 'invoice.payment_action_required'])(
    'both waiting together, %s the newest: action_required',
    async (newest) => {
      const { invoice, created, finalized, actionRequired, updated } = await awaitingAuthentication();
      const [first, last] =
        newest === 'invoice.updated' ? [actionRequired, updated] : [updated, actionRequired];
      const burst = [created, finalized, { ...first, id: 'evt_5_first' }, { ...last, id: 'evt_9_last' }];
      await apply(...burst);

      expect(row(invoice)).toMatchObject({ stc_collectionstate: state('action_required') });
      const statuses = await Promise.all(burst.map(status));
      if (newest === 'invoice.updated') {
        // The action_required event is not coalesced into the invoice.updated: it is applied, then the
        // invoice.updated of its second, from the invoice as read.
        expect(statuses).toEqual(['superseded', 'superseded', 'applied', 'applied']);
      } else {
        expect(statuses).toEqual(['superseded', 'superseded', 'superseded', 'applied']);
      }
      expect(invoiceReads(invoice)).toBe(1);
    },
  );

  test('an invoice.payment_failed of the same second applied last, the payment waiting for the customer: action_required', async () => {
    const { invoice, created, finalized, actionRequired, updated } = await awaitingAuthentication();
    // Its copy may be the older one: the invoice is read, and its PaymentIntent says where collecting stands.
    const failed: EmulatorEvent = { ...actionRequired, id: 'evt_6_failed', type: 'invoice.payment_failed' };
    await apply(created, finalized);
    await apply(actionRequired);
    await apply(updated);
    await apply(failed);
    expect(await status(failed)).toBe('applied');
    expect(row(invoice)).toMatchObject({
      stc_collectionstate: state('action_required'),
      stc_lasteventid: failed.id,
    });
  });

  test('an invoice.updated of a later second keeps action_required, without a read', async () => {
    const { stripe, invoice, t, created, finalized, actionRequired } = await awaitingAuthentication();
    await apply(created, finalized, actionRequired);
    await stripe.invoices.update(invoice, { metadata: { chased: 'no' } });
    const later = eventOf(invoice, 'invoice.updated', 'evt_7_later', t + 120);
    expect(later.data.object).toMatchObject({ status: 'open', attempt_count: 1, metadata: { chased: 'no' } });

    await apply(later);
    expect(await status(later)).toBe('applied');
    expect(row(invoice)).toMatchObject({
      stc_collectionstate: state('action_required'),
      stc_lasteventid: later.id,
    });
    expect(invoiceReads(invoice)).toBe(0);
  });

  test('the customer pays with another card: paid', async () => {
    const { stripe, customer, invoice, t, created, finalized, actionRequired, updated } =
      await awaitingAuthentication();
    await apply(created, finalized, actionRequired, updated);
    const card = await stripe.paymentMethods.attach('pm_card_visa', { customer });
    await stripe.invoices.pay(invoice, { payment_method: card.id });
    const paid = eventOf(invoice, 'invoice.paid', 'evt_8_paid', t + 180);
    const succeeded = eventOf(invoice, 'invoice.payment_succeeded', 'evt_8_succeeded', t + 180);

    await apply(paid, succeeded);
    expect(row(invoice)).toMatchObject({
      stc_collectionstate: state('paid'),
      stc_status: option('stc_stripeinvoicestatus', 'paid'),
      stc_amountpaid: 20,
    });
  });

  test.each([
    ['invoice.payment_failed', 'invoice.updated'],
    ['invoice.updated', 'invoice.payment_failed'],
  ])('a declined card, %s then %s of its second: payment_failed', async (firstType, lastType) => {
    const { invoice } = await invoicePaidWith('pm_card_chargeCustomerFail');
    const t = Math.floor(Date.now() / 1000) - 600;
    const failed = eventOf(invoice, 'invoice.payment_failed', 'evt_5_failed', t + 60);
    expect(failed.data.object).toMatchObject({ status: 'open', attempt_count: 1 });
    // The invoice.updated Stripe sends with the failed attempt: the same invoice.
    const updated: EmulatorEvent = { ...failed, id: 'evt_5_updated', type: 'invoice.updated' };
    const byType = { 'invoice.payment_failed': failed, 'invoice.updated': updated };
    const first = byType[firstType as keyof typeof byType];
    const last = byType[lastType as keyof typeof byType];

    await apply(
      eventOf(invoice, 'invoice.created', 'evt_1_created', t),
      eventOf(invoice, 'invoice.finalized', 'evt_2_finalized', t + 1),
    );
    await apply(first);
    await apply(last);
    expect(await status(last)).toBe('applied');
    expect(row(invoice)).toMatchObject({
      stc_collectionstate: state('payment_failed'),
      stc_lasteventid: last.id,
    });
    expect(invoiceReads(invoice)).toBe(1);
  });
});
