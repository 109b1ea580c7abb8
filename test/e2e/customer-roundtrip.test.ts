/**
 * Customers both ways through the whole pipeline: a Stripe customer lands in Dataverse as an account (written
 * by the service's user), a user's edit of the account goes back to the Stripe customer, and neither write is
 * echoed: Stripe → Dataverse → Stripe never loops.
 */
import type Stripe from 'stripe';
import { startRoundTrip, waitFor, type RoundTrip } from './roundtrip';

const USERS = {
  service: {
    systemuserid: '6c1d8b22-0000-4000-8000-0000000000a1',
    fullname: 'Stripe Connector Service',
    roles: ['Stripe Connector Service'],
  },
  seller: {
    systemuserid: '6c1d8b22-0000-4000-8000-0000000000b1',
    fullname: 'Sam Seller',
    roles: ['Salesperson'],
  },
};
let world: RoundTrip;

beforeAll(async () => {
  world = await startRoundTrip(Object.values(USERS));
  // The solution's steps on account, as importing it registers them: create, and updates of the columns sent.
  world.registerSolutionSteps('account');
}, 60_000);
afterAll(() => world?.close());

const accountOf = (customerId: string) =>
  world.dataverse.store.rows('accounts').find((r) => r.stc_stripecustomerid === customerId);
const customerEvents = (customerId: string) =>
  world.stripeEmulator.events
    .filter((e) => e.type.startsWith('customer.') && (e.data.object as { id: string }).id === customerId)
    .map((e) => e.type);

describe('a customer synced both ways', () => {
  it('takes a user’s edit to Stripe once and does not echo the service’s own writes', async () => {
    const customer = await world.stripe.customers.create({
      name: 'Contoso',
      email: 'billing@contoso.example',
    });
    const account = await waitFor('the account from Stripe', () => accountOf(customer.id));
    await world.settle();
    // The service wrote the account (Create step fired): nothing went back to Stripe.
    expect(customerEvents(customer.id)).toEqual(['customer.created']);

    await world.asUser(USERS.seller.systemuserid, 'PATCH', `accounts(${String(account.accountid)})`, {
      name: 'Contoso Ltd',
      address1_city: 'London',
      address1_country: 'GB',
    });
    await waitFor('the Stripe customer to follow', async () => {
      const now = (await world.stripe.customers.retrieve(customer.id)) as Stripe.Customer;
      return now.name === 'Contoso Ltd' ? now : undefined;
    });
    await world.settle();
    const updated = (await world.stripe.customers.retrieve(customer.id)) as Stripe.Customer;
    expect(updated).toMatchObject({
      name: 'Contoso Ltd',
      email: 'billing@contoso.example',
      address: { city: 'London', country: 'GB' },
      metadata: { d365_accountid: account.accountid },
    });
    // One update from the user's edit; Stripe's customer.updated came back to Dataverse (written by the
    // service, firing the Update step again) and stopped there.
    expect(customerEvents(customer.id)).toEqual(['customer.created', 'customer.updated']);
    expect(accountOf(customer.id)).toMatchObject({ name: 'Contoso Ltd', address1_city: 'London' });
  }, 30_000);

  it('makes a Stripe customer for an account created with Create in Stripe ticked, and for one ticked later', async () => {
    const fabrikam = await world.asUser(USERS.seller.systemuserid, 'POST', 'accounts', {
      name: 'Fabrikam',
      emailaddress1: 'ap@fabrikam.example',
      stc_createinstripe: true,
    });
    const northwind = await world.asUser(USERS.seller.systemuserid, 'POST', 'accounts', {
      name: 'Northwind',
      emailaddress1: 'ap@northwind.example',
    });
    await world.settle();
    const row = (id?: string) => world.dataverse.store.rows('accounts').find((r) => r.accountid === id)!;
    expect(row(northwind).stc_stripecustomerid ?? null).toBeNull();
    await world.asUser(USERS.seller.systemuserid, 'PATCH', `accounts(${northwind})`, {
      stc_createinstripe: true,
    });
    for (const [id, name, email] of [
      [fabrikam, 'Fabrikam', 'ap@fabrikam.example'],
      [northwind, 'Northwind', 'ap@northwind.example'],
    ]) {
      const customerId = await waitFor(`the Stripe customer of ${name}`, () => row(id).stc_stripecustomerid);
      const customer = (await world.stripe.customers.retrieve(String(customerId))) as Stripe.Customer;
      expect(customer).toMatchObject({ name, email, metadata: { d365_accountid: id } });
    }
  }, 30_000);
});
