import { eventFor, recordedEvent, type StripeJson } from '../../mapping/__tests__/fixtures';
import { MemoryDataverse } from './memory-dataverse';
import { SyncHarness } from './harness';
import { customerObject } from './world';
import { memoryHandlersForEachTest, stripeStubForFile } from './setup';

const stripe = stripeStubForFile();
let dataverse: MemoryDataverse;
let sync: SyncHarness;
memoryHandlersForEachTest(stripe, (fresh) => ({ dataverse, sync } = fresh));

function customer(fields: Record<string, unknown>) {
  const object = customerObject(fields);
  stripe.put(object);
  return object;
}

describe('customers handler', () => {
  test('a new customer becomes an account; later updates change that account, never a second one', async () => {
    const created = customer({
      id: 'cus_Fabrikam',
      name: 'Fabrikam Ltd',
      email: ' Billing@Fabrikam.example',
      phone: '+44 20 7946 0000',
      address: {
        line1: '1 High Street',
        line2: null,
        city: 'London',
        state: null,
        postal_code: 'EC1A 1AA',
        country: 'GB',
      },
    });
    expect(
      await sync.deliver(eventFor('customer.created', created, { id: 'evt_c1', created: 1714555800 })),
    ).toBe('customers');

    const accounts = () => dataverse.rows('accounts');
    expect(accounts()).toHaveLength(1);
    const { accountid, createdon, ...row } = accounts()[0];
    expect(row).toEqual({
      stc_stripecustomerid: 'cus_Fabrikam',
      name: 'Fabrikam Ltd',
      // Normalised: the e-mail trimmed and lower-cased, the phone in E.164, the country code as its name.
      emailaddress1: 'billing@fabrikam.example',
      telephone1: '+442079460000',
      address1_line1: '1 High Street',
      address1_line2: null,
      address1_city: 'London',
      address1_stateorprovince: null,
      address1_postalcode: 'EC1A 1AA',
      address1_country: 'United Kingdom',
      // No description in Stripe: none written, so one typed in Dynamics 365 stays.
      stc_livemode: false,
      stc_stripeaccount: null,
      stc_lasteventid: 'evt_c1',
      stc_lasteventcreated: '2024-05-01T09:30:00Z',
    });
    expect([accountid, createdon]).toEqual([expect.any(String), expect.any(String)]);

    // The update's payload is stale; Stripe has the newer name.
    customer({ ...created, name: 'Fabrikam Group' });
    await sync.deliver(eventFor('customer.updated', created, { id: 'evt_c2', created: 1714555900 }));
    expect(accounts()).toHaveLength(1);
    expect(accounts()[0]).toMatchObject({ accountid, name: 'Fabrikam Group', stc_lasteventid: 'evt_c2' });
    expect(dataverse.rows('contacts')).toEqual([]);
    // The update of an existing customer is one request: an update-only upsert by key.
    expect(dataverse.writes.at(-1)).toMatchObject({
      op: 'upsert',
      entitySet: 'accounts',
      key: { stc_stripecustomerid: 'cus_Fabrikam' },
      mode: 'updateOnly',
    });
  });

  test("a person's name, phone and country are written the way Dynamics 365 users read them", async () => {
    const person = customer({
      id: 'cus_Mary',
      name: "MARY O'NEIL",
      email: 'Mary.ONeil@Example.com',
      phone: '(415) 555-2671',
      address: { line1: '1 Market St', city: 'San Francisco', postal_code: '94105', country: 'US' },
      metadata: { d365_type: 'contact' },
    });
    await sync.deliver(eventFor('customer.created', person, { id: 'evt_m1' }));
    expect(dataverse.rowByKey('contacts', { stc_stripecustomerid: 'cus_Mary' })).toMatchObject({
      firstname: 'Mary',
      lastname: "O'Neil",
      emailaddress1: 'mary.oneil@example.com',
      telephone1: '+14155552671',
      address1_country: 'United States of America',
    });

    // A number that is not valid in its country, and a country code ISO does not know, are kept as typed.
    customer({ ...person, phone: '555-01', address: { ...person.address, country: 'ZZ' } });
    await sync.deliver(eventFor('customer.updated', person, { id: 'evt_m2', created: 1700000100 }));
    expect(dataverse.rowByKey('contacts', { stc_stripecustomerid: 'cus_Mary' })).toMatchObject({
      telephone1: '555-01',
      address1_country: 'ZZ',
    });
  });

  test('a live customer with the e-mail of an account entered by hand is matched and linked, not duplicated', async () => {
    const existing = dataverse.seed('accounts', {
      name: 'Northwind (CRM)',
      emailaddress1: 'AP@northwind.example',
    });
    dataverse.seed('accounts', { name: 'Other', emailaddress1: 'someone@else.example' });
    const created = customer({
      id: 'cus_Northwind',
      name: 'Northwind Traders',
      email: 'ap@northwind.example',
      livemode: true,
    });

    await sync.deliver(eventFor('customer.created', created, { livemode: true }));

    expect(dataverse.rows('accounts')).toHaveLength(2);
    expect(dataverse.rowByKey('accounts', { stc_stripecustomerid: 'cus_Northwind' })).toMatchObject({
      accountid: existing,
      name: 'Northwind Traders',
      stc_livemode: true,
    });
  });

  test("a contact's name comes back split as Dynamics 365 had it, while Stripe's name is still made of its parts", async () => {
    const parts = { d365_type: 'contact', d365_firstname: 'Jan', d365_lastname: 'van der Berg' };
    const jan = customer({ id: 'cus_Jan', name: 'Jan van der Berg', metadata: parts });
    await sync.deliver(eventFor('customer.created', jan, { id: 'evt_j1', created: 1714555800 }));
    expect(dataverse.rowByKey('contacts', { stc_stripecustomerid: 'cus_Jan' })).toMatchObject({
      firstname: 'Jan',
      lastname: 'van der Berg',
    });
    // Renamed in Stripe: the parts no longer make the name, which is split as any other.
    customer({ ...jan, name: 'Jan Jansen' });
    await sync.deliver(eventFor('customer.updated', jan, { id: 'evt_j2', created: 1714555900 }));
    expect(dataverse.rowByKey('contacts', { stc_stripecustomerid: 'cus_Jan' })).toMatchObject({
      firstname: 'Jan',
      lastname: 'Jansen',
    });
  });

  test('a customer with only an e-mail matched to an account entered by hand fills it and clears nothing', async () => {
    const existing = dataverse.seed('accounts', {
      name: 'Contoso Ltd',
      emailaddress1: 'ap@contoso.example',
      telephone1: '+44 20 7946 0001',
      description: 'Key account since 2019',
    });
    const created = customer({
      id: 'cus_ContosoAp',
      name: null,
      email: 'ap@contoso.example',
      phone: null,
      description: null,
      address: { line1: null, line2: null, city: 'Reading', state: null, postal_code: null, country: 'GB' },
      livemode: true,
    });
    await sync.deliver(eventFor('customer.created', created, { livemode: true }));

    expect(dataverse.rows('accounts')).toHaveLength(1);
    expect(dataverse.rowByKey('accounts', { stc_stripecustomerid: 'cus_ContosoAp' })).toMatchObject({
      accountid: existing,
      name: 'Contoso Ltd',
      telephone1: '+44 20 7946 0001',
      description: 'Key account since 2019',
      address1_city: 'Reading',
      address1_country: 'United Kingdom',
    });
  });

  test('a customer made from a Dynamics 365 row (its id in the metadata) comes back to that row, not a new one', async () => {
    const existing = dataverse.seed('accounts', { name: 'Adventure Works', stc_createinstripe: true });
    const contactRow = dataverse.seed('contacts', { lastname: 'Kim', stc_createinstripe: true });
    const made = customer({
      id: 'cus_Adventure',
      name: 'Adventure Works',
      metadata: { d365_accountid: existing },
    });
    const person = customer({
      id: 'cus_Kim',
      name: 'Min Kim',
      metadata: { d365_contactid: contactRow, d365_type: 'contact' },
    });

    await sync.deliver(eventFor('customer.created', made));
    await sync.deliver(eventFor('customer.created', person));

    expect(dataverse.rows('accounts')).toHaveLength(1);
    expect(dataverse.rows('contacts')).toHaveLength(1);
    expect(dataverse.rowByKey('accounts', { stc_stripecustomerid: 'cus_Adventure' })).toMatchObject({
      accountid: existing,
    });
    expect(dataverse.rowByKey('contacts', { stc_stripecustomerid: 'cus_Kim' })).toMatchObject({
      contactid: contactRow,
      firstname: 'Min',
      lastname: 'Kim',
    });
  });

  test('a customer naming in its metadata a row of another customer or Stripe account does not take it over', async () => {
    const linked = dataverse.seed('accounts', { name: 'Contoso', stc_stripecustomerid: 'cus_Contoso' });
    const unlinked = dataverse.seed('accounts', { name: 'Tailspin', stc_createinstripe: true });
    // Metadata anyone can set: a second customer naming a linked row, and a connected account's customer
    // naming a row of the platform's.
    const other = customer({ id: 'cus_Mallory', name: 'Mallory', metadata: { d365_accountid: linked } });
    const elsewhere = customer({
      id: 'cus_Elsewhere',
      name: 'Elsewhere',
      metadata: { d365_accountid: unlinked },
    });
    stripe.put(elsewhere, 'acct_1Other');
    await sync.deliver(eventFor('customer.created', other));
    await sync.deliver({ ...eventFor('customer.created', elsewhere), account: 'acct_1Other' });

    expect(dataverse.rowByKey('accounts', { stc_stripecustomerid: 'cus_Contoso' })).toMatchObject({
      accountid: linked,
      name: 'Contoso',
    });
    const tailspin = dataverse.rows('accounts').find((r) => r.accountid === unlinked)!;
    expect([tailspin.name, tailspin.stc_stripecustomerid ?? null]).toEqual(['Tailspin', null]);
    // Each became a row of its own.
    expect(dataverse.rowByKey('accounts', { stc_stripecustomerid: 'cus_Mallory' })).toMatchObject({
      name: 'Mallory',
    });
    expect(dataverse.rowByKey('accounts', { stc_stripecustomerid: 'cus_Elsewhere' })).toMatchObject({
      name: 'Elsewhere',
      stc_stripeaccount: 'acct_1Other',
    });
  });

  test('a test-mode customer never takes over a real account by e-mail, unless configured to', async () => {
    const existing = dataverse.seed('accounts', {
      name: 'Northwind (CRM)',
      emailaddress1: 'ap@northwind.example',
    });
    const created = customer({
      id: 'cus_TestNorthwind',
      name: 'Northwind Test',
      email: 'ap@northwind.example',
    });

    await sync.deliver(eventFor('customer.created', created));
    expect(dataverse.rows('accounts')).toHaveLength(2);
    expect(dataverse.rowByKey('accounts', { stc_stripecustomerid: 'cus_TestNorthwind' })!.accountid).not.toBe(
      existing,
    );

    const sandbox = new SyncHarness(stripe, dataverse, { matchByEmail: 'always' });
    dataverse.seed('accounts', { name: 'Sandbox Co (CRM)', emailaddress1: 'demo@sandbox.example' });
    await sandbox.deliver(
      eventFor(
        'customer.created',
        customer({ id: 'cus_Sandbox', name: 'Sandbox Co', email: 'demo@sandbox.example' }),
      ),
    );
    expect(dataverse.rows('accounts')).toHaveLength(3);
  });

  test('the rule sends people to contacts, with first and last name split', async () => {
    const created = customer({
      id: 'cus_Ada',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      metadata: { d365_type: 'contact' },
    });
    await sync.deliver(eventFor('customer.created', created));
    expect(dataverse.rows('accounts')).toEqual([]);
    expect(dataverse.rows('contacts')).toEqual([
      expect.objectContaining({
        stc_stripecustomerid: 'cus_Ada',
        firstname: 'Ada',
        lastname: 'Lovelace',
        emailaddress1: 'ada@example.com',
      }),
    ]);
  });

  test('a customer already synced as a contact stays a contact when the rule would now say account', async () => {
    const contactId = dataverse.seed('contacts', { lastname: 'Hopper', stc_stripecustomerid: 'cus_Grace' });
    const updated = customer({ id: 'cus_Grace', name: 'Grace Hopper', email: 'grace@example.com' });
    await sync.deliver(eventFor('customer.updated', updated));
    expect(dataverse.rows('accounts')).toEqual([]);
    expect(dataverse.rows('contacts')).toEqual([
      expect.objectContaining({ contactid: contactId, firstname: 'Grace', lastname: 'Hopper' }),
    ]);
  });

  test('customer.deleted deactivates the row and never creates one', async () => {
    const accountId = dataverse.seed('accounts', {
      name: 'Copple',
      stc_stripecustomerid: 'cus_IhGfebO16cMIGN',
      statecode: 0,
      statuscode: 1,
    });
    const event = recordedEvent('customer_deleted');
    await sync.deliver(event);
    expect(dataverse.rows('accounts')).toEqual([
      expect.objectContaining({
        accountid: accountId,
        name: 'Copple',
        statecode: 1,
        statuscode: 2,
        stc_lasteventid: event.id,
      }),
    ]);
    expect(dataverse.rows('contacts')).toEqual([]);

    const unknown = eventFor('customer.deleted', {
      id: 'cus_NeverSynced',
      object: 'customer',
      deleted: true,
    });
    await sync.deliver(unknown);
    expect(dataverse.rows('accounts')).toHaveLength(1);
    expect(dataverse.rows('contacts')).toEqual([]);
  });

  test('customer.deleted without deleted: true in its payload still deactivates the account and the contact', async () => {
    const accountId = dataverse.seed('accounts', {
      name: 'Lovelace Ltd',
      stc_stripecustomerid: 'cus_NoFlag',
      statecode: 0,
      statuscode: 1,
    });
    const contactId = dataverse.seed('contacts', {
      lastname: 'Lovelace',
      stc_stripecustomerid: 'cus_NoFlag',
      statecode: 0,
      statuscode: 1,
    });
    // The customer as it was when deleted, as Stripe sends it: no `deleted` field.
    const event = eventFor('customer.deleted', customerObject({ id: 'cus_NoFlag', name: 'Lovelace Ltd' }));
    expect((event.data.object as StripeJson).deleted).toBeUndefined();
    const reasons: string[] = [];
    await sync.router
      .stripe(event.type)!
      .handle(event, { ...sync.context, nothingWritten: (reason) => reasons.push(reason) });
    expect(dataverse.rowByKey('accounts', { stc_stripecustomerid: 'cus_NoFlag' })).toMatchObject({
      accountid: accountId,
      statecode: 1,
      statuscode: 2,
      stc_lasteventid: event.id,
    });
    expect(dataverse.rowByKey('contacts', { stc_stripecustomerid: 'cus_NoFlag' })).toMatchObject({
      contactid: contactId,
      statecode: 1,
      statuscode: 2,
    });
    expect(reasons).toEqual([]);

    // A deleted customer that was never synced creates nothing, and the event says it wrote nothing.
    const unknown = eventFor('customer.deleted', customerObject({ id: 'cus_NeverSeen' }));
    await sync.router
      .stripe(unknown.type)!
      .handle(unknown, { ...sync.context, nothingWritten: (reason) => reasons.push(reason) });
    expect(reasons).toEqual(['no account or contact of this deleted customer']);
    expect(dataverse.rows('accounts')).toHaveLength(1);
    expect(dataverse.rows('contacts')).toHaveLength(1);
  });

  test('the recorded customer.updated (2020 API) updates its account', async () => {
    const event = recordedEvent('customer_updated');
    stripe.put(event.data.object as StripeJson);
    await sync.deliver(event);
    expect(dataverse.rows('accounts')).toEqual([
      expect.objectContaining({
        stc_stripecustomerid: 'cus_IhGfebO16cMIGN',
        name: 'Copple',
        emailaddress1: 'billz@supabase.io',
        telephone1: '+6587498462',
      }),
    ]);
  });
});

test('payments written before their customer existed are linked once the customer’s row is created', async () => {
  await dataverse.upsertByKey(
    'stc_payments',
    { stc_stripeid: 'pi_early' },
    { stc_name: 'early', stc_stripecustomerid: 'cus_Late' },
  );
  await dataverse.upsertByKey(
    'stc_payments',
    { stc_stripeid: 'pi_other' },
    { stc_name: 'other', stc_stripecustomerid: 'cus_Other' },
  );
  const created = customer({ id: 'cus_Late', name: 'Late Ltd', email: 'late@example.com' });
  await sync.deliver(eventFor('customer.created', created));
  const accountId = dataverse.rowByKey('accounts', { stc_stripecustomerid: 'cus_Late' })!.accountid;
  expect(dataverse.rowByKey('stc_payments', { stc_stripeid: 'pi_early' })).toMatchObject({
    'stc_customerid_account@odata.bind': `/accounts(${accountId})`,
  });
  expect(dataverse.rowByKey('stc_payments', { stc_stripeid: 'pi_other' })).not.toHaveProperty(
    'stc_customerid_account@odata.bind',
  );
});
