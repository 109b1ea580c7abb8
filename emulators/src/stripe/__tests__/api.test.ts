/** Cross-cutting API behaviour: keys, errors, idempotency, rate limits, Request-Id, Connect scoping. */
import Stripe from 'stripe';
import { startStripeEmulator, type StripeEmulator } from '..';
import { confirmedPayment, emulatorWithClient } from './harness';

let emulator: StripeEmulator;
let stripe: Stripe;

afterEach(() => emulator?.close());

async function raw(path: string, init: RequestInit & { key?: string | null } = {}) {
  const headers = new Headers(init.headers);
  if (init.key !== null) headers.set('Authorization', `Bearer ${init.key ?? emulator.apiKey}`);
  const response = await fetch(`${emulator.url}${path}`, { ...init, headers });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as { error: Record<string, string> },
  };
}

describe('authentication', () => {
  beforeEach(async () => {
    emulator = await startStripeEmulator({ rateLimit: false, apiKeys: ['sk_test_right'] });
  });

  test('a missing key is 401 with Stripe’s explanation', async () => {
    const response = await raw('/v1/customers', { key: null });
    expect(response.status).toBe(401);
    expect(response.body.error.type).toBe('invalid_request_error');
    expect(response.body.error.message).toMatch(/You did not provide an API key/);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
  });

  test('a wrong key is a StripeAuthenticationError naming only the key’s last characters', async () => {
    const client = emulator.client({ apiKey: 'sk_test_wrong1234' });
    const error = await client.customers.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect((error as Stripe.errors.StripeError).statusCode).toBe(401);
    expect((error as Stripe.errors.StripeError).message).toBe('Invalid API Key provided: sk_test_****1234');
  });

  test('the configured key works, by Bearer or Basic auth', async () => {
    expect((await emulator.client({ apiKey: 'sk_test_right' }).customers.list()).object).toBe('list');
    const basic = Buffer.from('sk_test_right:').toString('base64');
    const response = await raw('/v1/customers', { key: null, headers: { Authorization: `Basic ${basic}` } });
    expect(response.status).toBe(200);
  });
});

describe('errors', () => {
  beforeEach(async () => {
    ({ emulator, stripe } = await emulatorWithClient());
  });

  test('an unknown object is 404 resource_missing', async () => {
    const error = (await stripe.customers
      .retrieve('cus_nope')
      .catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe('resource_missing');
    expect(error.message).toBe("No such customer: 'cus_nope'");
    expect(error.doc_url).toBe('https://stripe.com/docs/error-codes/resource-missing');
    expect(error.requestId).toMatch(/^req_/);
  });

  test('an unknown URL is 404 with the method and path', async () => {
    const response = await raw('/v1/nothing_here');
    expect(response.status).toBe(404);
    expect(response.body.error.message).toMatch(/Unrecognized request URL \(GET: \/v1\/nothing_here\)/);
  });

  test('invalid parameters are 400 with the param', async () => {
    await expect(stripe.customers.list({ limit: 500 })).rejects.toMatchObject({
      statusCode: 400,
      param: 'limit',
    });
    await expect(stripe.customers.list({ starting_after: 'cus_unknown' })).rejects.toMatchObject({
      statusCode: 400,
      param: 'starting_after',
    });
  });

  test('a parameter the endpoint does not take is refused as Stripe does', async () => {
    const error = (await stripe.refunds
      .create({ payment_intent: 'pi_x', amount_cents: 100 } as Stripe.RefundCreateParams)
      .catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(error).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'amount_cents' });
    expect(error.message).toBe('Received unknown parameter: amount_cents');
    await expect(
      stripe.customers.retrieve('cus_x', { email: 'x' } as Stripe.CustomerRetrieveParams),
    ).rejects.toMatchObject({
      code: 'parameter_unknown',
    });
  });

  test('every response carries a Request-Id the SDK exposes', async () => {
    const customer = await stripe.customers.create({ name: 'Request Id' });
    expect(customer.lastResponse.requestId).toMatch(/^req_[A-Za-z0-9]{14}$/);
  });
});

describe('idempotency', () => {
  beforeEach(async () => {
    ({ emulator, stripe } = await emulatorWithClient());
  });

  test('the same key and parameters replay the first response without doing it again', async () => {
    const first = await stripe.customers.create({ email: 'once@example.com' }, { idempotencyKey: 'key-1' });
    const again = await stripe.customers.create({ email: 'once@example.com' }, { idempotencyKey: 'key-1' });
    expect(again.id).toBe(first.id);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect((await stripe.customers.list()).data).toHaveLength(1);
    expect(emulator.events.filter((e) => e.type === 'customer.created')).toHaveLength(1);
    expect(emulator.events[0].request.idempotency_key).toBe('key-1');
  });

  test('a replayed card error keeps its 402 status and body', async () => {
    const params = { amount: 2000, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true };
    const first = (await stripe.paymentIntents
      .create(params, { idempotencyKey: 'decline-1' })
      .catch((e) => e)) as Stripe.errors.StripeCardError;
    const again = (await stripe.paymentIntents
      .create(params, { idempotencyKey: 'decline-1' })
      .catch((e) => e)) as Stripe.errors.StripeCardError;
    expect(again.statusCode).toBe(402);
    expect(again.payment_intent?.id).toBe(first.payment_intent?.id);
    expect((await stripe.paymentIntents.list()).data).toHaveLength(1);
  });

  test('the same key with other parameters is a 400 idempotency_error', async () => {
    await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'key-2' });
    const error = (await stripe.customers
      .create({ email: 'b@example.com' }, { idempotencyKey: 'key-2' })
      .catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error.statusCode).toBe(400);
    expect(error.message).toMatch(/Keys for idempotent requests can only be used with the same parameters/);
  });

  test('keys are per account: another connected account runs its own request', async () => {
    const platform = await stripe.customers.create({ email: 'x@example.com' }, { idempotencyKey: 'shared' });
    const connected = await stripe.customers.create(
      { email: 'x@example.com' },
      { idempotencyKey: 'shared', stripeAccount: 'acct_1Other' },
    );
    expect(connected.id).not.toBe(platform.id);
  });
});

describe('emulator-only helpers over HTTP, for scenarios in another process', () => {
  beforeEach(async () => {
    ({ emulator, stripe } = await emulatorWithClient());
  });

  test('make an automatic payout, pay it, and close a dispute, in the account the header names', async () => {
    const connected = { 'Stripe-Account': 'acct_1Scenario' };
    const connectedClient = emulator.client({ stripeAccount: 'acct_1Scenario' });
    const pi = await confirmedPayment(connectedClient, 5000, 'pm_card_createDispute');
    const payout = await raw('/_emulator/payouts/automatic', { method: 'POST', headers: connected });
    expect(payout.status).toBe(200);
    const payoutId = (payout.body as unknown as { id: string }).id;
    expect(
      (await raw(`/_emulator/payouts/${payoutId}/pay`, { method: 'POST', headers: connected })).status,
    ).toBe(200);
    expect(await connectedClient.payouts.retrieve(payoutId)).toMatchObject({
      status: 'paid',
      reconciliation_status: 'completed',
    });
    const [dispute] = (await connectedClient.disputes.list({ payment_intent: pi.id })).data;
    const closed = await raw(`/_emulator/disputes/${dispute.id}/close`, {
      method: 'POST',
      headers: { ...connected, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'outcome=won',
    });
    expect(closed.body).toMatchObject({ status: 'won' });
    expect((await raw('/_emulator/payouts/automatic', { method: 'POST', key: null })).status).toBe(401);
  });
});

describe('rate limiting', () => {
  test('beyond the configured rate the API answers 429 rate_limit, and recovers', async () => {
    let now = Date.UTC(2026, 0, 1);
    emulator = await startStripeEmulator({ rateLimit: { perSecond: 5, burst: 5 }, clock: () => now });
    stripe = emulator.client();
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        stripe.customers.list().then(
          () => 200,
          (e: Stripe.errors.StripeError) => e,
        ),
      ),
    );
    const limited = results.filter((r) => r !== 200) as Stripe.errors.StripeError[];
    expect(results.filter((r) => r === 200)).toHaveLength(5);
    expect(limited).toHaveLength(3);
    expect(limited[0]).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(limited[0]).toMatchObject({ statusCode: 429, code: 'rate_limit' });
    await expect(stripe.customers.list()).rejects.toMatchObject({ statusCode: 429 });
    now += 400; // two requests' worth of tokens
    await expect(stripe.customers.list()).resolves.toMatchObject({ object: 'list' });
  });

  test('the default is 25 requests a second', async () => {
    let now = Date.UTC(2026, 0, 1);
    emulator = await startStripeEmulator({ clock: () => now });
    const burst = async (count: number) => {
      const statuses = await Promise.all(
        Array.from({ length: count }, () => raw('/v1/balance').then((r) => r.status)),
      );
      return statuses.filter((s) => s === 429).length;
    };
    expect(await burst(30)).toBe(5);
    now += 200; // a fifth of a second refills five requests
    expect(await burst(6)).toBe(1);
  });
});

describe('Connect', () => {
  beforeEach(async () => {
    ({ emulator, stripe } = await emulatorWithClient());
  });

  test('Stripe-Account scopes objects, and its events carry the account', async () => {
    const connected = new Stripe(emulator.apiKey, emulator.sdkOptions({ stripeAccount: 'acct_1Connected' }));
    const theirs = await connected.customers.create({ email: 'connected@example.com' });
    const ours = await stripe.customers.create({ email: 'platform@example.com' });
    expect((await connected.customers.list()).data.map((c) => c.id)).toEqual([theirs.id]);
    expect((await stripe.customers.list()).data.map((c) => c.id)).toEqual([ours.id]);
    await expect(stripe.customers.retrieve(theirs.id)).rejects.toMatchObject({ statusCode: 404 });
    await expect(
      stripe.customers.retrieve(theirs.id, {}, { stripeAccount: 'acct_1Connected' }),
    ).resolves.toMatchObject({ id: theirs.id });

    const connectedEvents = emulator.eventsFor({ account: 'acct_1Connected' });
    expect(connectedEvents.map((e) => [e.type, e.account])).toEqual([
      ['customer.created', 'acct_1Connected'],
    ]);
    expect(emulator.eventsFor().every((e) => e.account === undefined)).toBe(true);
    expect((await connected.events.list()).data.map((e) => e.account)).toEqual(['acct_1Connected']);
  });

  test('a malformed or unknown account is refused', async () => {
    await expect(stripe.customers.list({}, { stripeAccount: 'not-an-account' })).rejects.toMatchObject({
      statusCode: 403,
    });
    await emulator.close();
    emulator = await startStripeEmulator({ rateLimit: false, connectedAccounts: ['acct_1Known'] });
    stripe = emulator.client();
    await expect(stripe.customers.list({}, { stripeAccount: 'acct_1Known' })).resolves.toMatchObject({
      object: 'list',
    });
    await expect(stripe.customers.list({}, { stripeAccount: 'acct_1Unknown' })).rejects.toMatchObject({
      statusCode: 403,
      code: 'account_invalid',
    });
  });

  test('live keys see live-mode data only', async () => {
    const live = emulator.client({ apiKey: 'sk_live_emulator' });
    const customer = await live.customers.create({ name: 'Live' });
    expect(customer.livemode).toBe(true);
    expect((await stripe.customers.list()).data).toHaveLength(0);
  });
});

describe('idempotency store', () => {
  test('keeps the newest keys up to its capacity', () => {
    const { IdempotencyStore } = jest.requireActual<typeof import('../idempotency')>('../idempotency');
    const store = new IdempotencyStore(2);
    const response = (n: number) => ({
      fingerprint: 'f',
      status: 200,
      body: String(n),
      requestId: `req_${n}`,
    });
    store.save('s', 'a', response(1));
    store.save('s', 'b', response(2));
    store.save('s', 'c', response(3));
    expect(store.lookup('s', 'a', 'f')).toBeUndefined();
    expect(store.lookup('s', 'c', 'f')?.body).toBe('3');
  });
});
