/**
 * Dataverse → Stripe customers against the real Dataverse emulator (users' changes through the Web API with
 * MSCRMCallerID, real webhook contexts) and the real Stripe emulator through the SDK.
 */
import { join } from 'node:path';
import type Stripe from 'stripe';
import { model } from '@stc/solution';
import { createCustomersOutboundHandler } from '..';
import { createCustomersHandler } from '../../../inbound/customers';
import { loadMappings } from '../../../mapping';
import type { DataverseChangeHandler, StripeEventHandler } from '../../../pipeline/handler';
import {
  dataverseChange,
  deliver,
  startWorld,
  USERS,
  type World,
} from '../../refund-requests/__tests__/world';

let world: World;
let handler: DataverseChangeHandler;
/** The Stripe → Dataverse customers handler over the default mapping files, as the service runs it. */
let inbound: StripeEventHandler;

beforeAll(() => {
  const mappings = loadMappings(join(__dirname, '../../../../mappings'), { model });
  inbound = createCustomersHandler(() => mappings);
});

beforeEach(async () => {
  world = await startWorld({ tables: ['account', 'contact'] });
  handler = createCustomersOutboundHandler({ settings: { serviceUserId: USERS.service.systemuserid } });
});
afterEach(() => world.close());

const customerUpdates = (customerId: string) =>
  world.stripeEmulator.events.filter(
    (e) => e.type === 'customer.updated' && (e.data.object as { id: string }).id === customerId,
  );

async function linkedAccount(customerId: string, extra: Record<string, unknown> = {}): Promise<string> {
  // Written by the service's own user, as the Stripe → Dataverse sync does.
  return world.client.create('accounts', {
    name: 'Contoso',
    emailaddress1: 'billing@contoso.example',
    stc_stripecustomerid: customerId,
    ...extra,
  });
}

describe('account and contact changes to the Stripe customer', () => {
  it('sends a user’s change of an account to its customer, with d365_accountid in the metadata', async () => {
    const customer = await world.stripe.customers.create({
      name: 'Contoso',
      email: 'billing@contoso.example',
    });
    const accountId = await linkedAccount(customer.id);
    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      name: 'Contoso Ltd',
      telephone1: '+44 20 7946 0000',
      address1_line1: '1 High Street',
      address1_city: 'London',
      address1_postalcode: 'EC1A 1BB',
      // The name, as the customer mapping writes it: Stripe gets the ISO code.
      address1_country: 'United Kingdom',
    });
    expect(await deliver(world, handler, accountId)).toBe(1);
    const after = await world.stripe.customers.retrieve(customer.id);
    expect(after).toMatchObject({
      name: 'Contoso Ltd',
      email: 'billing@contoso.example',
      phone: '+44 20 7946 0000',
      address: { line1: '1 High Street', city: 'London', postal_code: 'EC1A 1BB', country: 'GB' },
      metadata: { d365_accountid: accountId },
    });
  });

  it('sends nothing when the change leaves the customer as it is', async () => {
    const customer = await world.stripe.customers.create({
      name: 'Contoso',
      email: 'billing@contoso.example',
    });
    const accountId = await linkedAccount(customer.id);
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      name: 'Contoso Ltd',
    });
    await deliver(world, handler, accountId);
    expect(customerUpdates(customer.id)).toHaveLength(1);
    await world.forgetContexts();
    // Same name written again: nothing differs, nothing sent.
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      name: 'Contoso Ltd',
    });
    expect(await deliver(world, handler, accountId)).toBe(1);
    expect(customerUpdates(customer.id)).toHaveLength(1);
  });

  it('does not echo writes made by the service’s own user (no Stripe → Dataverse → Stripe loop)', async () => {
    const customer = await world.stripe.customers.create({ name: 'Contoso' });
    const accountId = await linkedAccount(customer.id);
    await world.client.update('accounts', accountId, { name: 'Renamed by the Stripe sync' });
    expect(await deliver(world, handler, accountId)).toBe(2);
    expect(customerUpdates(customer.id)).toHaveLength(0);
    expect((await world.stripe.customers.retrieve(customer.id)) as { name: string }).toMatchObject({
      name: 'Contoso',
    });
  });

  it('clears a Stripe field only when the user cleared it in Dataverse', async () => {
    const customer = await world.stripe.customers.create({
      name: 'Contoso',
      email: 'billing@contoso.example',
      phone: '+1 555 0100',
    });
    const accountId = await linkedAccount(customer.id, { telephone1: '+1 555 0100' });
    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, { telephone1: null });
    await deliver(world, handler, accountId);
    const after = (await world.stripe.customers.retrieve(customer.id)) as {
      phone: string | null;
      email: string;
    };
    expect(after.phone ?? '').toBe('');
    expect(after.email).toBe('billing@contoso.example');
  });

  it('updates a contact’s customer in the connected account named on the row, on create too', async () => {
    const connected = world.stripeEmulator.client({ stripeAccount: 'acct_1Connected' });
    const customer = await connected.customers.create({ name: 'Ann Lee' });
    const stripeFor = (account: string | null) => (account === 'acct_1Connected' ? connected : world.stripe);
    const { id: contactId } = await world.asUser(USERS.requester.systemuserid, 'POST', 'contacts', {
      firstname: 'Ann',
      lastname: 'Lee-Smith',
      emailaddress1: 'ann@example.com',
      stc_stripecustomerid: customer.id,
      stc_stripeaccount: 'acct_1Connected',
    });
    await world.dataverse.webhooksIdle();
    for (const context of world.receiver.about(contactId!)) {
      await handler.handle(dataverseChange(context), { ...world.context, stripeFor });
    }
    expect(await connected.customers.retrieve(customer.id)).toMatchObject({
      name: 'Ann Lee-Smith',
      email: 'ann@example.com',
      metadata: { d365_contactid: contactId, d365_type: 'contact' },
    });
    await expect(world.stripe.customers.retrieve(customer.id)).rejects.toMatchObject({
      code: 'resource_missing',
    });
  });

  it('sends nothing for a row whose customer is in the other mode than the service serves', async () => {
    const customer = await world.stripe.customers.create({ name: 'Contoso' });
    const accountId = await linkedAccount(customer.id, { stc_livemode: false });
    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      name: 'Contoso Ltd',
    });
    const live = createCustomersOutboundHandler({
      settings: { serviceUserId: USERS.service.systemuserid, stripeMode: 'live' },
    });
    const skipped: string[] = [];
    const context = { ...world.context, nothingWritten: (reason: string) => skipped.push(reason) };
    expect(await deliver(world, live, accountId, undefined, context)).toBe(1);
    expect(skipped).toEqual(["the row's Stripe customer is in test mode; the service serves live mode"]);
    expect(customerUpdates(customer.id)).toHaveLength(0);
    // The service of the row's mode sends it.
    const test = createCustomersOutboundHandler({
      settings: { serviceUserId: USERS.service.systemuserid, stripeMode: 'test' },
    });
    await deliver(world, test, accountId);
    expect(await world.stripe.customers.retrieve(customer.id)).toMatchObject({ name: 'Contoso Ltd' });
  });

  it('leaves rows without a Stripe customer id alone', async () => {
    const { id } = await world.asUser(USERS.requester.systemuserid, 'POST', 'accounts', { name: 'Fabrikam' });
    await deliver(world, handler, id!);
    expect(world.stripeEmulator.events.filter((e) => e.type.startsWith('customer.'))).toHaveLength(0);
  });

  it('creates the Stripe customer of a new account marked Create in Stripe, once, and fills its id', async () => {
    const { id } = await world.asUser(USERS.requester.systemuserid, 'POST', 'accounts', {
      name: 'Adventure Works',
      emailaddress1: 'ap@adventure-works.example',
      address1_city: 'Seattle',
      address1_country: 'US',
      stc_createinstripe: true,
    });
    // The change arrives twice at once (Dataverse retried the webhook): one customer, by the idempotency key.
    await world.dataverse.webhooksIdle();
    const [change] = world.receiver.about(id!);
    await Promise.all([
      handler.handle(dataverseChange(change), world.context),
      handler.handle(dataverseChange(change), world.context),
    ]);
    const created = world.stripeEmulator.events.filter((e) => e.type === 'customer.created');
    expect(created).toHaveLength(1);
    const customer = created[0].data.object as unknown as {
      id: string;
      name: string;
      email: string;
      metadata: Record<string, string>;
      address: { city: string };
    };
    expect(customer).toMatchObject({
      name: 'Adventure Works',
      email: 'ap@adventure-works.example',
      metadata: { d365_accountid: id },
      address: { city: 'Seattle' },
    });
    expect(
      await world.client.retrieve('accounts', id!, { select: ['stc_stripecustomerid', 'stc_livemode'] }),
    ).toMatchObject({
      stc_stripecustomerid: customer.id,
      stc_livemode: false,
    });
  });

  it('takes the customer another creator made under the row’s key from other values, not a second one', async () => {
    const { id } = await world.asUser(USERS.requester.systemuserid, 'POST', 'accounts', {
      name: 'Wingtip Toys',
      stc_createinstripe: true,
    });
    // A subscription request made it first, from the row as it read it before an edit of the name.
    const made = await world.stripe.customers.create(
      { name: 'Wingtip', metadata: { d365_accountid: id! } },
      { idempotencyKey: `d365-account-${id}-create` },
    );
    await deliver(world, handler, id!);
    expect(world.stripeEmulator.events.filter((e) => e.type === 'customer.created')).toHaveLength(1);
    expect(await world.client.retrieve('accounts', id!, { select: ['stc_stripecustomerid'] })).toMatchObject({
      stc_stripecustomerid: made.id,
    });
  });

  it('shows on the row why Stripe refused a user’s edit, sends the corrected one and clears it', async () => {
    const customer = await world.stripe.customers.create({
      name: 'Contoso',
      email: 'billing@contoso.example',
    });
    const accountId = await linkedAccount(customer.id);
    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      emailaddress1: 'billing at contoso',
      telephone1: '+1 555 0100',
    });
    const skipped: string[] = [];
    const context = { ...world.context, nothingWritten: (reason: string) => skipped.push(reason) };
    // Not thrown: retrying the same values cannot help, and the user is told on the row.
    expect(await deliver(world, handler, accountId, undefined, context)).toBe(1);
    expect(skipped).toEqual([
      "Stripe refused the change (email_invalid); the row's Stripe Sync Error says why",
    ]);
    expect(await world.stripe.customers.retrieve(customer.id)).toMatchObject({
      email: 'billing@contoso.example',
      phone: null,
    });
    const refused = await world.client.retrieve('accounts', accountId, {
      select: ['stc_stripesyncerror', 'stc_stripesyncerroron'],
    });
    expect(refused).toMatchObject({
      stc_stripesyncerror: 'Stripe refused the change: Invalid email address: billing at contoso',
      stc_stripesyncerroron: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });

    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      emailaddress1: 'ap@contoso.example',
    });
    await deliver(world, handler, accountId, undefined, context);
    expect(skipped).toHaveLength(1);
    expect(await world.stripe.customers.retrieve(customer.id)).toMatchObject({ email: 'ap@contoso.example' });
    expect(
      await world.client.retrieve('accounts', accountId, {
        select: ['stc_stripesyncerror', 'stc_stripesyncerroron'],
      }),
    ).toMatchObject({ stc_stripesyncerror: null, stc_stripesyncerroron: null });
  });

  it('makes no customer for a row marked Create in Stripe that Stripe refuses, and says why on the row', async () => {
    const { id } = await world.asUser(USERS.requester.systemuserid, 'POST', 'contacts', {
      firstname: 'Ann',
      lastname: 'Lee',
      emailaddress1: 'ann.lee@',
      stc_createinstripe: true,
    });
    await deliver(world, handler, id!);
    expect(world.stripeEmulator.events.filter((e) => e.type === 'customer.created')).toHaveLength(0);
    expect(
      await world.client.retrieve('contacts', id!, {
        select: ['stc_stripecustomerid', 'stc_stripesyncerror'],
      }),
    ).toMatchObject({
      stc_stripecustomerid: null,
      stc_stripesyncerror: 'Stripe refused the change: Invalid email address: ann.lee@',
    });

    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `contacts(${id})`, {
      emailaddress1: 'ann.lee@example.com',
    });
    await deliver(world, handler, id!);
    const [created] = world.stripeEmulator.events.filter((e) => e.type === 'customer.created');
    expect(created.data.object).toMatchObject({ name: 'Ann Lee', email: 'ann.lee@example.com' });
    expect(
      await world.client.retrieve('contacts', id!, {
        select: ['stc_stripecustomerid', 'stc_stripesyncerror', 'stc_stripesyncerroron'],
      }),
    ).toMatchObject({
      stc_stripecustomerid: (created.data.object as { id: string }).id,
      stc_stripesyncerror: null,
      stc_stripesyncerroron: null,
    });
  });

  it('leaves a row without a Stripe customer that is not marked Create in Stripe alone', async () => {
    const { id } = await world.asUser(USERS.requester.systemuserid, 'POST', 'contacts', { lastname: 'Kim' });
    await deliver(world, handler, id!);
    expect(world.stripeEmulator.events.filter((e) => e.type === 'customer.created')).toHaveLength(0);
  });
});

describe('a user’s edit and Stripe’s events of the same customer', () => {
  /** Applies the customer's newest `customer.updated` to Dataverse, as the service's own user writes it. */
  async function applyNewestCustomerEvent(customerId: string): Promise<void> {
    const event = customerUpdates(customerId).at(-1);
    if (!event) throw new Error(`no customer.updated of ${customerId}`);
    await inbound.handle(event as unknown as Stripe.Event, world.context);
  }
  const accountName = async (id: string) =>
    (await world.client.retrieve('accounts', id, { select: ['name'] }))?.name;

  it('sends the edit when a Stripe event applied before it wrote the old value back to the row', async () => {
    const customer = await world.stripe.customers.create({
      name: 'Contoso',
      email: 'billing@contoso.example',
    });
    const accountId = await linkedAccount(customer.id);
    await world.forgetContexts();
    // 1. The user renames the account; the change waits in the queue.
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      name: 'Contoso Ltd',
    });
    await world.dataverse.webhooksIdle();
    // 2. An unrelated change in Stripe: its event, applied first, writes Stripe's name back to the row.
    await world.stripe.customers.update(customer.id, { metadata: { tier: 'gold' } });
    await applyNewestCustomerEvent(customer.id);
    expect(await accountName(accountId)).toBe('Contoso');
    // 3. The user's change, then the service's own write (not echoed), are worked in order.
    expect(await deliver(world, handler, accountId)).toBe(2);
    expect(customerUpdates(customer.id)).toHaveLength(2);
    expect(await world.stripe.customers.retrieve(customer.id)).toMatchObject({
      name: 'Contoso Ltd',
      email: 'billing@contoso.example',
      metadata: { tier: 'gold', d365_accountid: accountId },
    });
    // Stripe's event of the edit brings it back to the row.
    await applyNewestCustomerEvent(customer.id);
    expect(await accountName(accountId)).toBe('Contoso Ltd');
  });

  it('keeps the second of two quick edits when the first one’s event comes back before it is sent', async () => {
    const customer = await world.stripe.customers.create({ name: 'Contoso' });
    const accountId = await linkedAccount(customer.id);
    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      name: 'Contoso Ltd',
    });
    expect(await deliver(world, handler, accountId)).toBe(1);
    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      name: 'Contoso Group',
    });
    await world.dataverse.webhooksIdle();
    // The first edit's event, read fresh from Stripe, writes "Contoso Ltd" over the second edit.
    await applyNewestCustomerEvent(customer.id);
    expect(await accountName(accountId)).toBe('Contoso Ltd');
    await deliver(world, handler, accountId);
    expect(
      customerUpdates(customer.id).map((e) => (e.data.object as unknown as { name: string }).name),
    ).toEqual(['Contoso Ltd', 'Contoso Group']);
    await applyNewestCustomerEvent(customer.id);
    expect(await accountName(accountId)).toBe('Contoso Group');
  });

  it('works two queued edits oldest first, so the newest one is what Stripe keeps', async () => {
    const customer = await world.stripe.customers.create({ name: 'Contoso' });
    const accountId = await linkedAccount(customer.id);
    await world.forgetContexts();
    for (const name of ['Contoso Ltd', 'Contoso Group'])
      await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, { name });
    expect(await deliver(world, handler, accountId)).toBe(2);
    expect(
      customerUpdates(customer.id).map((e) => (e.data.object as unknown as { name: string }).name),
    ).toEqual(['Contoso Ltd', 'Contoso Group']);
  });

  it('sends only the columns the change set; address fields it did not set keep what Stripe has', async () => {
    const address = { line1: '1 High Street', city: 'London', postal_code: 'EC1A 1BB', country: 'GB' };
    const customer = await world.stripe.customers.create({
      name: 'Ann Lee',
      email: 'ann@example.com',
      address,
      metadata: { d365_type: 'contact' },
    });
    const contactId = await world.client.create('contacts', {
      firstname: 'Ann',
      lastname: 'Lee',
      emailaddress1: 'ann@example.com',
      address1_line1: '1 High Street',
      address1_city: 'London',
      address1_postalcode: 'EC1A 1BB',
      address1_country: 'United Kingdom',
      stc_stripecustomerid: customer.id,
    });
    await world.forgetContexts();
    // Changed in Stripe, its event not applied yet: the row still has the old e-mail and street.
    await world.stripe.customers.update(customer.id, {
      email: 'ann.lee@example.com',
      address: { ...address, line1: '2 Market Square' },
    });
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `contacts(${contactId})`, {
      lastname: 'Lee-Smith',
      address1_city: 'Leeds',
    });
    expect(await deliver(world, handler, contactId)).toBe(1);
    expect(await world.stripe.customers.retrieve(customer.id)).toMatchObject({
      name: 'Ann Lee-Smith',
      email: 'ann.lee@example.com',
      address: { line1: '2 Market Square', city: 'Leeds', postal_code: 'EC1A 1BB', country: 'GB' },
      // How the name was split, for the way back (the customer mapping).
      metadata: {
        d365_contactid: contactId,
        d365_type: 'contact',
        d365_firstname: 'Ann',
        d365_lastname: 'Lee-Smith',
      },
    });
  });

  it('sends nothing when Stripe already has what the change set, even if the row has moved on', async () => {
    const customer = await world.stripe.customers.create({ name: 'Contoso' });
    const accountId = await linkedAccount(customer.id);
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      name: 'Contoso Ltd',
    });
    await deliver(world, handler, accountId);
    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      name: 'Contoso Ltd',
    });
    // Written since by the service's own user; the change still names what Stripe has.
    await world.client.update('accounts', accountId, { name: 'Contoso' });
    await deliver(world, handler, accountId);
    expect(customerUpdates(customer.id)).toHaveLength(1);
  });

  it('falls back to the row as it is now for a change without its attributes (a body over 256 KB)', async () => {
    const customer = await world.stripe.customers.create({
      name: 'Contoso',
      email: 'billing@contoso.example',
    });
    const accountId = await linkedAccount(customer.id);
    await world.forgetContexts();
    await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
      name: 'Contoso Ltd',
    });
    await world.dataverse.webhooksIdle();
    const [context] = world.receiver.about(accountId);
    // As Dataverse sends a body over 256 KB: without its Target and images.
    const { InputParameters, PostEntityImages, PreEntityImages, ...trimmed } = context;
    void [InputParameters, PostEntityImages, PreEntityImages];
    const change = dataverseChange(trimmed);
    expect(change.attributes).toEqual({});
    await handler.handle(change, world.context);
    expect(await world.stripe.customers.retrieve(customer.id)).toMatchObject({
      name: 'Contoso Ltd',
      email: 'billing@contoso.example',
      metadata: { d365_accountid: accountId },
    });
  });
});
