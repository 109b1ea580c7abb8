/**
 * Sync from Stripe against both emulators: a user stamps stc_syncrequestedon on a payment or an account (as
 * the form command does), the Dataverse webhook context goes through the registry's router, and the row is
 * rewritten from the Stripe object as it is now.
 */
import { StcPaymentStatus } from '@stc/solution';
import { dataverseEventType } from '../../../dataverse/change';
import { createSyncHandlers } from '../../../handlers';
import { createHandlerRouter } from '../../../pipeline/routing';
import { defaultMappings } from '../../__tests__/harness';
import {
  dataverseChange,
  startWorld,
  USERS,
  type World,
} from '../../../outbound/refund-requests/__tests__/world';

let world: World;
beforeEach(async () => {
  world = await startWorld({ tables: ['account', 'stc_payment'] });
});
afterEach(() => world.close());

const router = () => createHandlerRouter(createSyncHandlers({ mappings: defaultMappings }));

/** Routes the webhook contexts about a row as the worker pool does; the resources that took them. */
async function deliverRouted(id: string): Promise<string[]> {
  await world.dataverse.webhooksIdle();
  const taken: string[] = [];
  const route = router();
  for (const context of world.receiver.about(id, 'Update')) {
    const change = dataverseChange(context);
    const handler = route.dataverse(dataverseEventType(change.table, change.message));
    if (!handler) continue;
    await handler.handle(change, world.context);
    taken.push(handler.resource);
  }
  return taken;
}

const previousServiceUser = process.env.DATAVERSE_SERVICE_USER_ID;
// The outbound customer handler reads the service's own user from the environment.
beforeAll(() => {
  process.env.DATAVERSE_SERVICE_USER_ID = USERS.service.systemuserid;
});
afterAll(() => {
  if (previousServiceUser === undefined) delete process.env.DATAVERSE_SERVICE_USER_ID;
  else process.env.DATAVERSE_SERVICE_USER_ID = previousServiceUser;
});

test('Sync from Stripe on a payment rewrites it from the payment intent as Stripe has it', async () => {
  const intent = await world.stripe.paymentIntents.create({
    amount: 4200,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    confirm: true,
  });
  expect(intent.status).toBe('succeeded');
  // A row left behind (a missed event): wrong amount and status.
  const rowId = await world.client.create('stc_payments', {
    stc_stripeid: intent.id,
    stc_amount: 1,
    stc_currency: 'usd',
    stc_status: StcPaymentStatus.RequiresPaymentMethod,
  });
  await world.forgetContexts();
  await world.asUser(USERS.requester.systemuserid, 'PATCH', `stc_payments(${rowId})`, {
    stc_syncrequestedon: new Date().toISOString(),
  });
  expect(await deliverRouted(rowId)).toEqual(['sync-requests']);
  expect(await world.client.retrieve('stc_payments', rowId)).toMatchObject({
    stc_amount: 42,
    stc_status: StcPaymentStatus.Succeeded,
  });
});

test('Sync from Stripe on an account rewrites it from its Stripe customer; an ordinary edit does not', async () => {
  const customer = await world.stripe.customers.create({
    name: 'Contoso Fresh',
    email: 'fresh@contoso.example',
  });
  const accountId = await world.client.create('accounts', {
    name: 'Contoso Stale',
    stc_stripecustomerid: customer.id,
  });
  await world.forgetContexts();
  // An edit without the stamp goes to Stripe (customers-outbound), not back from it.
  await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
    telephone1: '+44 20 7946 0000',
  });
  expect(await deliverRouted(accountId)).toEqual(['customers-outbound']);
  expect((await world.client.retrieve('accounts', accountId))?.name).toBe('Contoso Stale');

  await world.forgetContexts();
  await world.asUser(USERS.requester.systemuserid, 'PATCH', `accounts(${accountId})`, {
    stc_syncrequestedon: new Date().toISOString(),
  });
  expect(await deliverRouted(accountId)).toEqual(['customers-outbound']);
  expect(await world.client.retrieve('accounts', accountId)).toMatchObject({
    name: 'Contoso Fresh',
    emailaddress1: 'fresh@contoso.example',
  });
});
