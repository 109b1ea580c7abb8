/**
 * Charge requests through the running service on each store: the service started from its configuration on
 * the Dataverse and Stripe emulators, the solution's webhook steps of stc_chargerequest posting to it, Stripe's
 * events delivered to it. A user's request becomes one off-session PaymentIntent; the payment row arrives
 * through the webhook path and the request links to it. A card that needs authentication fails the request
 * with Stripe's code, once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { model, webhookSteps } from '@stc/solution';
import { ChargeRequestStatus as Status } from '@stc/solution/tables';
import {
  startDataverseEmulator,
  startStripeEmulator,
  type DataverseEmulator,
  type StripeEmulator,
} from '@stc/emulators';
import { waitFor } from '@stc/testkit';
import { loadConfig } from '../config';
import { createDataverseClient } from '../dataverse';
import { startService, type RunningService } from '../service';
import { describeOnEachEngine, type TestDatabase } from './support/engines';
import { USERS } from '../outbound/refund-requests/__tests__/world';

jest.setTimeout(90_000);

const KEY = 'charge-requests-dataverse-key-0123';
const SECRET = 'whsec_charge-requests';

describeOnEachEngine('charge requests through the running service', (engine) => {
  let dir: string;
  let db: TestDatabase;
  let dataverse: DataverseEmulator;
  let stripeEmulator: StripeEmulator;
  let service: RunningService | undefined;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stc-charge-'));
    db = await engine.open();
    dataverse = await startDataverseEmulator({
      model,
      systemUsers: Object.values(USERS).map((u) => ({ ...u, roles: [...u.roles] })),
    });
    stripeEmulator = await startStripeEmulator({ rateLimit: false });
    const config = loadConfig(
      {
        STRIPE_API_KEY: stripeEmulator.apiKey,
        STRIPE_MODE: 'test',
        STRIPE_API_BASE: stripeEmulator.url,
        STRIPE_WEBHOOK_SECRET: SECRET,
        STRIPE_MAX_NETWORK_RETRIES: '0',
        DATAVERSE_URL: dataverse.url,
        DATAVERSE_AUTH: 'none',
        DATAVERSE_WEBHOOK_KEY: KEY,
        DATAVERSE_SERVICE_USER_ID: USERS.service.systemuserid,
        CHARGE_APPROVAL_THRESHOLDS: JSON.stringify({ usd: 50_000 }),
        ADMIN_API_KEY: 'charge-requests-admin-key-0123456',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        WORKER_POLL_MS: '20',
        RETRY_BASE_MS: '50',
        ...db.env,
      },
      dir,
    );
    service = await startService(config);
    stripeEmulator.setWebhook({ url: `${service.url}/webhooks/stripe`, secret: SECRET });
    for (const step of webhookSteps.filter((s) => s.table === 'stc_chargerequest'))
      dataverse.registerWebhook({
        table: step.table,
        message: step.message,
        name: step.name,
        filteringAttributes: step.filteringAttributes,
        ...(step.postImage ? { postImage: {} } : {}),
        url: `${service.url}/webhooks/dataverse`,
        auth: { type: 'HttpHeader', headers: { 'x-stc-webhook-key': KEY } },
      });
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
    await stripeEmulator.close();
    await dataverse.close();
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A Web API call as this user (MSCRMCallerID), as the Charge saved card… form's save makes it. */
  async function asUser(userId: string, method: string, url: string, body: unknown): Promise<string> {
    const res = await fetch(`${dataverse.url}${url}`, {
      method,
      headers: {
        Accept: 'application/json',
        'Content-Type': 'application/json',
        'OData-Version': '4.0',
        MSCRMCallerID: userId,
        ...(method === 'PATCH' ? { 'If-Match': '*' } : {}),
      },
      body: JSON.stringify(body),
    });
    if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return /\(([0-9a-f-]{36})\)$/i.exec(res.headers.get('odata-entityid') ?? '')?.[1] ?? '';
  }

  async function customerWith(card: string | null) {
    const stripe = stripeEmulator.client();
    const customer = await stripe.customers.create({
      name: 'Northwind',
      ...(card ? { payment_method: card, invoice_settings: { default_payment_method: card } } : {}),
    });
    const client = createDataverseClient({ baseUrl: dataverse.url });
    const account = await client.create('accounts', { name: 'Northwind', stc_stripecustomerid: customer.id });
    return { customer, account };
  }

  const request = (id: string) => dataverse.store.get('stc_chargerequests', id)!;
  const intentPosts = () =>
    stripeEmulator.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');

  test('an approved request charges once; the request shows Succeeded and links the payment row', async () => {
    const { account } = await customerWith('pm_card_visa');
    const id = await asUser(USERS.requester.systemuserid, 'POST', 'stc_chargerequests', {
      stc_name: 'Charge of the saved card of Northwind',
      'stc_customerid_account@odata.bind': `/accounts(${account})`,
      stc_amount: 600,
      stc_currency: 'usd',
      stc_description: 'Annual support',
    });
    await waitFor(() => request(id).stc_status === Status.awaiting_approval, 'awaiting approval', 30_000);
    expect(intentPosts()).toHaveLength(0);

    await asUser(USERS.approver.systemuserid, 'PATCH', `stc_chargerequests(${id})`, {
      stc_status: Status.approved,
    });
    await waitFor(() => request(id).stc_status === Status.succeeded, 'the request succeeded', 30_000);
    const paymentIntent = String(request(id).stc_stripepaymentintentid);
    const payment = await waitFor(
      () => dataverse.store.rows('stc_payments').find((r) => r.stc_stripeid === paymentIntent),
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
    expect([...dataverse.store.rows('stc_payments')]).toHaveLength(1);
  });

  test('a card that needs authentication fails the request with Stripe’s code, asked once', async () => {
    const { account } = await customerWith('pm_card_authenticationRequired');
    const id = await asUser(USERS.requester.systemuserid, 'POST', 'stc_chargerequests', {
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
    await stripeEmulator.waitForDeliveries(10_000);
    expect(intentPosts().map((r) => r.idempotencyKey)).toEqual([id]);
    const text = JSON.stringify(request(id));
    for (const cardData of ['3184', 'fingerprint', 'exp_', 'pm_']) expect(text).not.toContain(cardData);
  });

  test('a user without a role allowed to charge, and a customer with no saved card, are refused; Stripe is asked nothing', async () => {
    const { account } = await customerWith('pm_card_visa');
    const outsider = await asUser(USERS.outsider.systemuserid, 'POST', 'stc_chargerequests', {
      stc_name: 'Charge',
      'stc_customerid_account@odata.bind': `/accounts(${account})`,
      stc_amount: 25,
      stc_currency: 'usd',
    });
    const bare = await customerWith(null);
    const noCard = await asUser(USERS.requester.systemuserid, 'POST', 'stc_chargerequests', {
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
