/**
 * Charge requests through the running service on each store: the service started from its configuration on
 * the Dataverse and Stripe emulators, the solution's webhook steps of stc_chargerequest posting to it, Stripe's
 * events delivered to it. A user's request becomes one off-session PaymentIntent; the payment row arrives
 * through the webhook path and the request links to it. A card that needs authentication fails the request
 * with Stripe's code, once.
 */
import { ChargeRequestStatus as Status } from '@stc/solution/tables';
import { waitFor } from '@stc/testkit';
import { describeOnEachEngine } from './support/engines';
import { runningServiceOnEngine } from './support/service-on-emulators';
import { USERS } from '../outbound/refund-requests/__tests__/world';

jest.setTimeout(90_000);

describeOnEachEngine('charge requests through the running service', (engine) => {
  const world = runningServiceOnEngine(engine, 'charge-requests', {
    table: 'stc_chargerequest',
    env: { CHARGE_APPROVAL_THRESHOLDS: JSON.stringify({ usd: 50_000 }) },
  });
  async function customerWith(card: string | null) {
    const stripe = world.stripeEmulator.client();
    const customer = await stripe.customers.create({
      name: 'Northwind',
      ...(card ? { payment_method: card, invoice_settings: { default_payment_method: card } } : {}),
    });
    const account = await world.client.create('accounts', {
      name: 'Northwind',
      stc_stripecustomerid: customer.id,
    });
    return { customer, account };
  }

  const request = (id: string) => world.dataverse.store.get('stc_chargerequests', id)!;
  const intentPosts = () =>
    world.stripeEmulator.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');

  test('an approved request charges once; the request shows Succeeded and links the payment row', async () => {
    const { account } = await customerWith('pm_card_visa');
    const id = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_chargerequests', {
      stc_name: 'Charge of the saved card of Northwind',
      'stc_customerid_account@odata.bind': `/accounts(${account})`,
      stc_amount: 600,
      stc_currency: 'usd',
      stc_description: 'Annual support',
    });
    await waitFor(() => request(id).stc_status === Status.awaiting_approval, 'awaiting approval', 30_000);
    expect(intentPosts()).toHaveLength(0);

    await world.asUser(USERS.approver.systemuserid, 'PATCH', `stc_chargerequests(${id})`, {
      stc_status: Status.approved,
    });
    await waitFor(() => request(id).stc_status === Status.succeeded, 'the request succeeded', 30_000);
    const paymentIntent = String(request(id).stc_stripepaymentintentid);
    const payment = await waitFor(
      () => world.dataverse.store.rows('stc_payments').find((r) => r.stc_stripeid === paymentIntent),
      'the payment row',
      30_000,
    );
    await waitFor(() => request(id)._stc_paymentid_value === payment!.stc_paymentid, 'the link', 30_000);
    expect(payment).toMatchObject({ stc_amount: 600, stc_currency: 'usd', _stc_customerid_value: account });
    expect(request(id)).toMatchObject({
      _stc_requestedby_value: USERS.requester.systemuserid,
      _stc_approvedby_value: USERS.approver.systemuserid,
      stc_declinecode: null,
    });
    expect(intentPosts().map((r) => r.idempotencyKey)).toEqual([id]);
    expect([...world.dataverse.store.rows('stc_payments')]).toHaveLength(1);
  });

  test('a card that needs authentication fails the request with Stripe’s code, asked once', async () => {
    const { account } = await customerWith('pm_card_authenticationRequired');
    const id = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_chargerequests', {
      stc_name: 'Charge',
      'stc_customerid_account@odata.bind': `/accounts(${account})`,
      stc_amount: 25,
      stc_currency: 'usd',
    });
    await waitFor(() => request(id).stc_status === Status.failed, 'the request failed', 30_000);
    expect(request(id)).toMatchObject({
      stc_declinecode: 'authentication_required',
      stc_failurereason:
        'Stripe refused the charge: Your card was declined. This transaction requires authentication. (authentication_required)',
    });
    await world.stripeEmulator.waitForDeliveries(10_000);
    expect(intentPosts().map((r) => r.idempotencyKey)).toEqual([id]);
    const text = JSON.stringify(request(id));
    for (const cardData of ['3184', 'fingerprint', 'exp_', 'pm_']) expect(text).not.toContain(cardData);
  });

  test('a user without a role allowed to charge, and a customer with no saved card, are refused; Stripe is asked nothing', async () => {
    const { account } = await customerWith('pm_card_visa');
    const outsider = await world.asUser(USERS.outsider.systemuserid, 'POST', 'stc_chargerequests', {
      stc_name: 'Charge',
      'stc_customerid_account@odata.bind': `/accounts(${account})`,
      stc_amount: 25,
      stc_currency: 'usd',
    });
    const bare = await customerWith(null);
    const noCard = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_chargerequests', {
      stc_name: 'Charge',
      'stc_customerid_account@odata.bind': `/accounts(${bare.account})`,
      stc_amount: 25,
      stc_currency: 'usd',
    });
    await waitFor(
      () => request(outsider).stc_status === Status.refused && request(noCard).stc_status === Status.refused,
      'both refused',
      30_000,
    );
    expect(request(outsider).stc_failurereason).toContain(
      'holds none of the roles allowed to request charges',
    );
    expect(request(noCard).stc_failurereason).toBe(
      `The Stripe customer ${bare.customer.id} has no saved payment method: the customer has to save a card first (a Checkout Session or invoice payment with the card saved for later use).`,
    );
    expect(intentPosts()).toHaveLength(0);
  });
});
