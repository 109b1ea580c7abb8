/**
 * Billing sync through the real Dataverse client against the Dataverse emulator: recorded subscription and
 * invoice events (API 2020-03-02) and Stripe's current example objects, read back through the Web API.
 */
import type Stripe from 'stripe';
import { currentObject, eventFor, recordedEvent, type StripeJson } from '../../../mapping/__tests__/fixtures';
import { OrderedDelivery, SyncHarness } from '../../__tests__/harness';
import { dataverseEmulatorForFile, option, stripeStubForFile } from '../../__tests__/setup';

const dataverse = dataverseEmulatorForFile();
const stripe = stripeStubForFile();
let sync: SyncHarness;

beforeEach(() => {
  sync = new SyncHarness(stripe, dataverse.client);
});

const subscription = (id: string) =>
  dataverse.client.retrieveByKey('stc_subscriptions', { stc_stripeid: id });
const invoice = (id: string) => dataverse.client.retrieveByKey('stc_stripeinvoices', { stc_stripeid: id });

/** A recorded event, its object, and the id of a new `entitySet` row (with `fields`) for its Stripe customer. */
function recordedWithCustomer(
  name: string,
  entitySet: string,
  fields: Record<string, unknown>,
): [Stripe.Event, StripeJson, string] {
  const event = recordedEvent(name);
  const object = event.data.object as StripeJson;
  const rowId = dataverse.emulator.store.insert(entitySet, {
    ...fields,
    stc_stripecustomerid: object.customer,
  });
  return [event, object, rowId];
}

test('recorded subscription created then deleted: one row, linked to the account, status followed', async () => {
  const [created, sub, accountId] = recordedWithCustomer('subscription_created', 'accounts', {
    name: 'Acme',
  });

  expect(await sync.deliver(created)).toBe('billing');
  expect(await subscription(sub.id)).toMatchObject({
    stc_stripeid: sub.id,
    stc_status: option('stc_subscriptionstatus', 'active'),
    stc_currency: 'usd',
    stc_amount: 0,
    stc_interval: option('stc_billinginterval', 'month'),
    stc_intervalcount: 1,
    stc_stripecustomerid: sub.customer,
    stc_latestinvoiceid: sub.latest_invoice,
    stc_cancelatperiodend: false,
    stc_livemode: false,
    stc_lasteventid: created.id,
    _stc_customerid_value: accountId,
  });
  expect(new Date(String((await subscription(sub.id))!.stc_currentperiodend)).getTime()).toBe(
    sub.current_period_end * 1000,
  );

  const deleted = recordedEvent('subscription_deleted');
  expect((deleted.data.object as StripeJson).id).toBe(sub.id);
  await sync.deliver(deleted);
  const row = await subscription(sub.id);
  expect(row).toMatchObject({
    stc_status: option('stc_subscriptionstatus', 'canceled'),
    stc_lasteventid: deleted.id,
    _stc_customerid_value: accountId,
  });
  expect(row!.stc_endedat).not.toBeNull();
  expect(dataverse.emulator.store.count('stc_subscriptions')).toBe(1);
});

test('recorded invoice paid then voided: linked to its contact and its subscription row', async () => {
  const [paid, inv, contactId] = recordedWithCustomer('invoice_paid', 'contacts', { lastname: 'Doe' });
  // The subscription's row exists (its event came first): the invoice binds to it by key.
  const sub: StripeJson = {
    ...(recordedEvent('subscription_created').data.object as StripeJson),
    id: inv.subscription,
    customer: inv.customer,
  };
  await sync.deliver(eventFor('customer.subscription.created', sub, { id: 'evt_sub', created: 1639966000 }));
  const subRow = await subscription(inv.subscription);

  await sync.deliver(paid);
  expect(await invoice(inv.id)).toMatchObject({
    stc_number: '60229DE7-0007',
    stc_status: option('stc_stripeinvoicestatus', 'paid'),
    stc_amountdue: 0,
    stc_total: 0,
    stc_billingreason: 'subscription_cycle',
    stc_hostedinvoiceurl: inv.hosted_invoice_url,
    _stc_customerid_value: contactId,
    _stc_subscriptionid_value: subRow!.stc_subscriptionid,
    stc_lasteventid: paid.id,
  });

  const voided = recordedEvent('invoice_voided');
  expect((voided.data.object as StripeJson).id).toBe(inv.id);
  await sync.deliver(voided);
  expect(await invoice(inv.id)).toMatchObject({ stc_status: option('stc_stripeinvoicestatus', 'void') });
  expect(dataverse.emulator.store.count('stc_stripeinvoices')).toBe(1);
});

test.each([
  ['usd', 123456, 1234.56],
  ['jpy', 123456, 123456],
  ['kwd', 123456, 123.456],
])('current API invoice in %s: amounts exact by the currency exponent', async (currency, minor, major) => {
  const object = currentObject('invoice');
  Object.assign(object, {
    currency,
    amount_due: minor,
    amount_paid: 0,
    amount_remaining: minor,
    subtotal: minor,
    total: minor,
    status: 'open',
    number: 'INV-0042',
    parent: { type: 'subscription_details', subscription_details: { subscription: 'sub_missing' } },
  });
  await sync.deliver(eventFor('invoice.finalized', object, { id: 'evt_fin' }));
  // No subscription row yet: the invoice is written without that link, never lost.
  expect(await invoice(object.id)).toMatchObject({
    stc_currency: currency,
    stc_amountdue: major,
    stc_amountremaining: major,
    stc_total: major,
    stc_amountpaid: 0,
    stc_status: option('stc_stripeinvoicestatus', 'open'),
    _stc_subscriptionid_value: null,
  });
});

test('current API subscription: amount per period from the items, period from the item', async () => {
  const object = currentObject('subscription');
  object.currency = 'kwd';
  object.status = 'past_due';
  object.items.data[0].price.unit_amount = 12345;
  object.items.data[0].quantity = 3;
  object.items.data[0].current_period_end = 1767225600;
  delete object.current_period_end;
  await sync.deliver(eventFor('customer.subscription.updated', object, { id: 'evt_su' }));
  const row = await subscription(object.id);
  expect(row).toMatchObject({
    stc_amount: 37.035,
    stc_currency: 'kwd',
    stc_status: option('stc_subscriptionstatus', 'past_due'),
    _stc_customerid_value: null,
  });
  expect(row!.stc_currentperiodend).toBe('2026-01-01T00:00:00Z');
});

test('a subscription on a tiered price is written without the amounts its price does not give', async () => {
  const object = currentObject('subscription');
  object.status = 'active';
  // A tiered price (or one in unit_amount_decimal): Stripe gives no unit amount on the price or the plan.
  object.items.data[0].price.unit_amount = null;
  object.items.data[0].price.billing_scheme = 'tiered';
  if (object.items.data[0].plan) object.items.data[0].plan.amount = null;
  object.plan = object.plan ? { ...object.plan, amount: null } : object.plan;
  await sync.deliver(eventFor('customer.subscription.updated', object, { id: 'evt_tiered' }));
  const row = await subscription(object.id);
  expect(row).toMatchObject({
    stc_status: option('stc_subscriptionstatus', 'active'),
    stc_amount: null,
    stc_monthlyrecurringrevenue: null,
  });
  const item = await dataverse.client.retrieveByKey('stc_subscriptionitems', {
    stc_stripeid: object.items.data[0].id,
  });
  expect(item).toMatchObject({ stc_unitamount: null, stc_amountperperiod: null });
});

test('a credit note and an invoice payment whose copies may be stale are read from Stripe', async () => {
  const note = currentObject('credit_note');
  // Voided since the event: Stripe has it so now.
  stripe.put({ ...note, status: 'void' });
  await sync.deliver(eventFor('credit_note.created', { ...note, status: 'issued' }, { id: 'evt_cn' }), true);
  expect(await invoice(note.id)).toMatchObject({ stc_status: option('stc_stripeinvoicestatus', 'void') });

  const payment: StripeJson = {
    id: 'inpay_stale',
    object: 'invoice_payment',
    invoice: 'in_paid_later',
    status: 'paid',
    payment: { type: 'payment_intent', payment_intent: 'pi_paid_later' },
  };
  stripe.put(payment);
  await sync.deliver(
    eventFor('invoice_payment.paid', { ...payment, status: 'open' }, { id: 'evt_ip' }),
    true,
  );
  expect(await invoice('in_paid_later')).toMatchObject({ stc_paymentintentid: 'pi_paid_later' });
  expect(stripe.requests.map((r) => r.path)).toEqual([
    `/v1/credit_notes/${note.id}`,
    '/v1/invoice_payments/inpay_stale',
  ]);
});

test('a draft invoice deleted in Stripe: its row and lines deactivated, a late event of it not dead-lettered', async () => {
  const draft: StripeJson = { ...currentObject('invoice'), status: 'draft' };
  await sync.deliver(eventFor('invoice.created', draft, { id: 'evt_draft' }));
  const written = await invoice(draft.id);
  expect(written).toMatchObject({ statecode: 0 });
  const lines = () =>
    dataverse.client.retrieveMultiple('stc_stripeinvoicelines', {
      filter: `_stc_invoiceid_value eq ${String(written!.stc_stripeinvoiceid)}`,
      select: ['statecode'],
    });
  expect((await lines()).length).toBeGreaterThan(0);

  // Deleted: Stripe no longer has it (the stub holds nothing of it).
  expect(await sync.deliver(eventFor('invoice.deleted', draft, { id: 'evt_deleted' }))).toBe('billing');
  expect(await invoice(draft.id)).toMatchObject({ statecode: 1, statuscode: 2 });
  expect((await lines()).map((line) => line.statecode)).toEqual((await lines()).map(() => 1));
  // An update of the draft delivered late, of the same second: its read finds no invoice, and the row stays
  // inactive instead of the event failing for good.
  await sync.deliver(eventFor('invoice.updated', draft, { id: 'evt_late' }), true);
  expect(await invoice(draft.id)).toMatchObject({ statecode: 1 });
});

test('an older invoice event arriving after a newer one does not overwrite it', async () => {
  const ordered = await OrderedDelivery.open(sync);
  try {
    const object = currentObject('invoice');
    const newer = eventFor(
      'invoice.paid',
      { ...object, status: 'paid', amount_paid: 1000 },
      { id: 'evt_b', created: 1700000200 },
    );
    const older = eventFor(
      'invoice.finalized',
      { ...object, status: 'open' },
      { id: 'evt_a', created: 1700000100 },
    );
    expect(await ordered.deliver(newer)).toBe('applied');
    expect(await ordered.deliver(older)).toBe('superseded');
    expect(await invoice(object.id)).toMatchObject({
      stc_status: option('stc_stripeinvoicestatus', 'paid'),
      stc_amountpaid: 10,
      stc_lasteventid: 'evt_b',
    });
  } finally {
    await ordered.close();
  }
});

test('recorded invoice (API 2020-03-02) attempted and open: the state from its event, kept by a later invoice.updated, read from its PaymentIntent', async () => {
  const object: StripeJson = {
    ...(recordedEvent('invoice_finalized').data.object as StripeJson),
    status: 'open',
    attempted: true,
    attempt_count: 1,
    payment_intent: 'pi_3ds',
  };
  const collection = async () => (await invoice(object.id))?.stc_collectionstate;
  await sync.deliver(
    eventFor('invoice.payment_action_required', object, { id: 'evt_ar', created: 1700000100 }),
  );
  expect(await collection()).toBe(option('stc_invoicecollectionstate', 'action_required'));
  // A later copy names its PaymentIntent by id: it cannot tell, and leaves the state as written.
  await sync.deliver(eventFor('invoice.updated', object, { id: 'evt_up', created: 1700000200 }));
  expect(await collection()).toBe(option('stc_invoicecollectionstate', 'action_required'));
  expect(stripe.requests).toEqual([]);

  // The customer did not authenticate: the PaymentIntent needs a payment method again. An event of the
  // same second reads the invoice, in the connector's API version, with its payments' PaymentIntents.
  const { payment_intent: _legacy, ...current } = object;
  stripe.put({
    ...current,
    payments: {
      object: 'list',
      data: [
        {
          id: 'inpay_1',
          object: 'invoice_payment',
          is_default: true,
          status: 'open',
          payment: {
            type: 'payment_intent',
            payment_intent: { id: 'pi_3ds', object: 'payment_intent', status: 'requires_payment_method' },
          },
        },
      ],
      has_more: false,
    },
  });
  await sync.deliver(eventFor('invoice.updated', object, { id: 'evt_up2', created: 1700000200 }), true);
  expect(await collection()).toBe(option('stc_invoicecollectionstate', 'payment_failed'));
  expect(stripe.requests).toEqual([
    expect.objectContaining({
      path: `/v1/invoices/${object.id}`,
      expand: ['payments.data.payment.payment_intent'],
    }),
  ]);
});
