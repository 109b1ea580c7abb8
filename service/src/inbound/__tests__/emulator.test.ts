/**
 * The handlers through the real Dataverse client against the Dataverse emulator (Web API over loopback):
 * rows are read back through the Web API, lookups as `_x_value`, exactly as a form or report would see them.
 */
import { eventFor } from '../../mapping/__tests__/fixtures';
import { SyncHarness } from './harness';
import { customerObject, putDisputedPayment, refundOf, succeededPayment } from './world';
import { dataverseEmulatorForFile, option, stripeStubForFile } from './setup';

const dataverse = dataverseEmulatorForFile();
const stripe = stripeStubForFile();
let sync: SyncHarness;

beforeEach(() => {
  // Test-mode customers here stand in for live ones: let them match by e-mail.
  sync = new SyncHarness(stripe, dataverse.client, { matchByEmail: 'always' });
});

const payment = (stripeId: string) =>
  dataverse.client.retrieveByKey('stc_payments', { stc_stripeid: stripeId });

test('a payment, its partial and full refunds, read back from Dataverse with their links', async () => {
  const accountId = dataverse.emulator.store.insert('accounts', {
    name: 'Contoso',
    stc_stripecustomerid: 'cus_Contoso',
  });
  const orderId = dataverse.emulator.store.insert('salesorders', { name: 'Order 1', ordernumber: 'ORD-1' });
  const state = succeededPayment({
    id: 'pi_3Emu',
    amount: 19995,
    currency: 'kwd',
    fee: 600,
    customer: 'cus_Contoso',
    metadata: { d365_salesorderid: orderId },
  });
  stripe.put(state.intent);
  stripe.put(state.charge);
  stripe.put(state.balanceTransaction);

  await sync.deliver(
    eventFor('payment_intent.succeeded', state.intent, { id: 'evt_e1', created: 1714555800 }),
  );

  const paid = await payment('pi_3Emu');
  expect(paid).toMatchObject({
    stc_stripeid: 'pi_3Emu',
    stc_amount: 19.995,
    stc_currency: 'kwd',
    stc_status: option('stc_paymentstatus', 'succeeded'),
    stc_amountcaptured: 19.995,
    stc_fee: 0.6,
    stc_net: 19.395,
    stc_cardbrand: option('stc_cardbrand', 'visa'),
    stc_last4: '4242',
    stc_livemode: false,
    stc_lasteventid: 'evt_e1',
    _stc_customerid_value: accountId,
    _stc_salesorderid_value: orderId,
  });
  expect(new Date(String(paid!.stc_lasteventcreated)).toISOString()).toBe('2024-05-01T09:30:00.000Z');

  const partial = refundOf(state.charge, 're_3EmuA', 9995, 1714556000);
  stripe.put({ ...state.charge, amount_refunded: 9995 });
  stripe.put(partial);
  await sync.deliver(eventFor('refund.created', partial, { id: 'evt_e2', created: 1714556000 }));
  expect(await payment('pi_3Emu')).toMatchObject({
    stc_status: option('stc_paymentstatus', 'partially_refunded'),
    stc_amountrefunded: 9.995,
  });

  const rest = refundOf(state.charge, 're_3EmuB', 10000, 1714557000);
  const refunded = { ...state.charge, amount_refunded: 19995, refunded: true };
  stripe.put(refunded);
  stripe.put(rest);
  await sync.deliver(eventFor('charge.refunded', refunded, { id: 'evt_e3', created: 1714557000 }));

  expect(await payment('pi_3Emu')).toMatchObject({
    stc_status: option('stc_paymentstatus', 'refunded'),
    stc_amountrefunded: 19.995,
  });
  const refunds = await dataverse.client.retrieveMultiple('stc_refunds', {
    select: ['stc_stripeid', 'stc_amount', '_stc_paymentid_value'],
    orderBy: ['stc_stripeid asc'],
  });
  expect(refunds.map((r) => [r.stc_stripeid, r.stc_amount, r._stc_paymentid_value])).toEqual([
    ['re_3EmuA', 9.995, paid!.stc_paymentid],
    ['re_3EmuB', 10, paid!.stc_paymentid],
  ]);
  expect(dataverse.emulator.store.count('stc_payments')).toBe(1);
});

test('a recorded dispute flags the payment and records funds withdrawn', async () => {
  const { event, dispute } = putDisputedPayment(stripe, 'charge_dispute_funds_withdrawn');

  await sync.deliver(event);

  const flagged = await payment(dispute.payment_intent);
  expect(flagged).toMatchObject({ stc_disputed: true, stc_status: option('stc_paymentstatus', 'disputed') });
  expect(await dataverse.client.retrieveByKey('stc_disputes', { stc_stripeid: dispute.id })).toMatchObject({
    stc_amount: 10,
    stc_fundswithdrawn: 10,
    stc_status: option('stc_disputestatus', 'warning_needs_response'),
    stc_reason: option('stc_disputereason', 'general'),
    _stc_paymentid_value: flagged!.stc_paymentid,
  });
});

test('customers: created, matched by e-mail, updated, deleted; earlier payments linked', async () => {
  const handEntered = dataverse.emulator.store.insert('accounts', {
    name: 'Northwind (CRM)',
    emailaddress1: 'ap@northwind.example',
  });
  await dataverse.client.upsertByKey(
    'stc_payments',
    { stc_stripeid: 'pi_early' },
    {
      stc_name: 'early',
      stc_amount: 1,
      stc_currency: 'usd',
      stc_status: option('stc_paymentstatus', 'succeeded'),
      stc_stripecustomerid: 'cus_Northwind',
    },
  );
  const customer = customerObject({
    id: 'cus_Northwind',
    name: 'Northwind Traders',
    email: 'ap@northwind.example',
  });
  stripe.put(customer);

  await sync.deliver(eventFor('customer.created', customer, { id: 'evt_c1' }));

  const accounts = await dataverse.client.retrieveMultiple('accounts', {
    select: ['accountid', 'name', 'stc_stripecustomerid'],
  });
  expect(accounts).toEqual([
    expect.objectContaining({
      accountid: handEntered,
      name: 'Northwind Traders',
      stc_stripecustomerid: 'cus_Northwind',
    }),
  ]);
  expect(await payment('pi_early')).toMatchObject({ _stc_customerid_value: handEntered });

  stripe.put({ ...customer, name: 'Northwind Group' });
  await sync.deliver(eventFor('customer.updated', customer, { id: 'evt_c2' }));
  expect(
    await dataverse.client.retrieveByKey('accounts', { stc_stripecustomerid: 'cus_Northwind' }),
  ).toMatchObject({
    accountid: handEntered,
    name: 'Northwind Group',
    stc_lasteventid: 'evt_c2',
  });

  const person = customerObject({
    id: 'cus_Person',
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    metadata: { d365_type: 'contact' },
  });
  stripe.put(person);
  await sync.deliver(eventFor('customer.created', person));
  expect(
    await dataverse.client.retrieveByKey('contacts', { stc_stripecustomerid: 'cus_Person' }),
  ).toMatchObject({
    firstname: 'Ada',
    lastname: 'Lovelace',
  });

  await sync.deliver(
    eventFor(
      'customer.deleted',
      { id: 'cus_Northwind', object: 'customer', deleted: true },
      { id: 'evt_c3' },
    ),
  );
  expect(
    await dataverse.client.retrieveByKey('accounts', { stc_stripecustomerid: 'cus_Northwind' }),
  ).toMatchObject({
    statecode: 1,
    statuscode: 2,
  });
  expect(dataverse.emulator.store.count('accounts')).toBe(1);
  expect(dataverse.emulator.store.count('contacts')).toBe(1);
});

test('an order found by its number is linked; an invoice GUID that does not exist loses only the link', async () => {
  const orderId = dataverse.emulator.store.insert('salesorders', { name: 'Order 9', ordernumber: 'ORD-9' });
  const missingInvoice = '0f0e0d0c-0b0a-4909-8807-060504030201';
  const state = succeededPayment({
    id: 'pi_3Links',
    amount: 2500,
    metadata: { order_number: 'ORD-9', d365_invoiceid: missingInvoice },
  });
  stripe.put(state.intent);
  stripe.put(state.charge);
  stripe.put(state.balanceTransaction);

  await sync.deliver(eventFor('payment_intent.succeeded', state.intent));

  const row = await payment('pi_3Links');
  expect(row).toMatchObject({ stc_amount: 25, _stc_salesorderid_value: orderId, _stc_invoiceid_value: null });
  expect(sync.log.entries).toContainEqual(
    expect.objectContaining({
      level: 'warn',
      obj: expect.objectContaining({ links: [`/invoices(${missingInvoice})`] }),
    }),
  );
});
