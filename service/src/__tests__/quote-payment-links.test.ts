/**
 * A payment link from a Dynamics 365 quote through the running service on each store: the service started from
 * its configuration on the Dataverse and Stripe emulators, the solution's webhook steps of stc_paymentlinkrequest
 * posting to it, Stripe's events delivered to it. A user's request on an Active quote becomes one Checkout
 * Session of the quote's lines (the request id its idempotency key); paying it on the hosted page makes one order
 * of the quote, paid, and wins the quote; every event delivered again, newest first, changes nothing and fails
 * nothing. A Draft quote is refused with the reason and Stripe is asked nothing.
 */
import {
  PaymentLinkRequestStatus as Status,
  QuoteStatecode,
  QuoteStatuscode,
  StripePaymentStatus,
} from '@stc/solution/tables';
import { postSignedEvent, waitFor } from '@stc/testkit';
import { describeOnEachEngine } from './support/engines';
import { runningServiceOnEngine } from './support/service-on-emulators';
import { USERS } from '../outbound/refund-requests/__tests__/world';

jest.setTimeout(90_000);

describeOnEachEngine('payment links from quotes through the running service', (engine) => {
  const world = runningServiceOnEngine(engine, 'quote-links', { table: 'stc_paymentlinkrequest' });

  /** A quote for Northwind in USD: 3 × 49.90 and 1 × 120.00 with 9.60 tax, 15.00 freight (294.30). */
  async function quote(active: boolean) {
    const stripe = world.stripeEmulator.client();
    const customer = await stripe.customers.create({ name: 'Northwind', email: 'ap@northwind.example' });
    const account = await world.client.create('accounts', {
      name: 'Northwind',
      stc_stripecustomerid: customer.id,
    });
    const usd = await world.client.create('transactioncurrencies', {
      currencyname: 'US Dollar',
      isocurrencycode: 'USD',
      currencysymbol: '$',
      currencyprecision: 2,
      exchangerate: 1,
    });
    const id = await world.client.create('quotes', {
      name: 'Northwind rollout',
      'customerid_account@odata.bind': `/accounts(${account})`,
      'transactioncurrencyid@odata.bind': `/transactioncurrencies(${usd})`,
      freightamount: 15,
    });
    for (const [description, quantity, price, tax] of [
      ['Licence', 3, 49.9, 0],
      ['Onboarding', 1, 120, 9.6],
    ] as const)
      await world.client.create('quotedetails', {
        'quoteid@odata.bind': `/quotes(${id})`,
        isproductoverridden: true,
        productdescription: description,
        quantity,
        priceperunit: price,
        tax,
      });
    if (active)
      await world.client.update('quotes', id, {
        statecode: QuoteStatecode.Active,
        statuscode: QuoteStatuscode.InProgress_2,
      });
    return { id, account, customer };
  }

  const request = (id: string) => world.dataverse.store.get('stc_paymentlinkrequests', id)!;
  const quoteRow = (id: string) => world.dataverse.store.get('quotes', id)!;
  const sessionPosts = () =>
    world.stripeEmulator.requests.filter((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions');

  test('paid, the page makes one order of the quote, paid, and wins the quote; deliveries again change nothing', async () => {
    const offer = await quote(true);
    expect(quoteRow(offer.id)).toMatchObject({ totalamount: 294.3, statecode: QuoteStatecode.Active });
    const id = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_paymentlinkrequests', {
      stc_name: 'Payment page for Northwind rollout',
      'stc_quoteid@odata.bind': `/quotes(${offer.id})`,
    });
    await waitFor(() => request(id).stc_status === Status.created, 'the page made', 30_000);
    const stripe = world.stripeEmulator.client();
    const session = await stripe.checkout.sessions.retrieve(String(request(id).stc_stripesessionid));
    expect(session).toMatchObject({
      amount_total: 29430,
      currency: 'usd',
      customer: offer.customer.id,
      client_reference_id: quoteRow(offer.id).quotenumber,
      metadata: { d365_quoteid: offer.id, d365_paymentlinkrequestid: id },
    });
    // An Active quote is read-only: the page's URL is on the request.
    expect(request(id).stc_url).toBe(session.url);
    expect(sessionPosts().map((r) => r.idempotencyKey)).toEqual([id]);

    const paid = await fetch(session.url!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ card_number: '4242424242424242' }),
      redirect: 'manual',
    });
    expect(paid.status).toBe(200);
    await waitFor(() => quoteRow(offer.id).statecode === QuoteStatecode.Won, 'the quote won', 30_000);
    await waitFor(() => request(id).stc_status === Status.paid, 'the request paid', 30_000);
    const orders = () => world.dataverse.store.rows('salesorders');
    expect(orders()).toHaveLength(1);
    expect(orders()[0]).toMatchObject({
      _quoteid_value: offer.id,
      _customerid_value: offer.account,
      stc_stripeid: session.id,
      stc_paymentstatus: StripePaymentStatus.paid,
      stc_amountpaid: 294.3,
      totalamount: 294.3,
    });
    expect(quoteRow(offer.id).statuscode).toBe(QuoteStatuscode.Won);

    // Every Stripe event again, newest first: taken (2xx) and worked, one order still, nothing dead-lettered.
    await world.stripeEmulator.waitForDeliveries(10_000);
    for (const event of [...world.stripeEmulator.events].reverse())
      expect(await postSignedEvent(world.service.url, JSON.stringify(event), world.webhookSecret)).toBe(200);
    await waitFor(
      async () =>
        (
          await Promise.all(
            world.stripeEmulator.events.map((e) => world.service.store.findEvent('stripe', '', e.id)),
          )
        ).every((e) => e && e.status !== 'pending' && e.status !== 'processing'),
      'every event worked',
      30_000,
    );
    expect(orders()).toHaveLength(1);
    expect(await world.service.store.listDeadLetters()).toEqual([]);
    expect(quoteRow(offer.id).statecode).toBe(QuoteStatecode.Won);
  });

  test('a Draft quote is refused with the reason, and Stripe is asked nothing', async () => {
    const draft = await quote(false);
    const id = await world.asUser(USERS.requester.systemuserid, 'POST', 'stc_paymentlinkrequests', {
      stc_name: 'Payment page',
      'stc_quoteid@odata.bind': `/quotes(${draft.id})`,
    });
    await waitFor(() => request(id).stc_status === Status.rejected, 'the request rejected', 30_000);
    expect(request(id).stc_failurereason).toBe(
      `The quote ${String(quoteRow(draft.id).quotenumber)} is a draft: only an Active quote can be paid; activate it, then ask again.`,
    );
    expect(sessionPosts()).toHaveLength(0);
    expect(world.dataverse.store.rows('salesorders')).toHaveLength(0);
  });
});
