/** Fault injection: Stripe failing before or after it acts, answering late, resetting, or not listening. */
import Stripe from 'stripe';
import { startStripeEmulator, type StripeEmulator } from '..';

let emulator: StripeEmulator;
let stripe: Stripe;

beforeEach(async () => {
  emulator = await startStripeEmulator({ rateLimit: false });
  stripe = emulator.client();
});
afterEach(() => emulator.close());

const customersNamed = async (name: string) =>
  (await stripe.customers.list({ limit: 100 })).data.filter((c) => c.name === name);

test('a 500 before Stripe acts: nothing is made, and the same request again makes it once', async () => {
  emulator.injectFault({ status: 500, match: { method: 'POST', pathIncludes: '/v1/customers' } });
  const create = () => stripe.customers.create({ name: 'Before' }, { idempotencyKey: 'key-before' });
  await expect(create()).rejects.toMatchObject({ type: 'StripeAPIError', statusCode: 500 });
  expect(await customersNamed('Before')).toHaveLength(0);
  const made = await create();
  expect(await customersNamed('Before')).toEqual([expect.objectContaining({ id: made.id })]);
});

test('a 500 after Stripe acts: the object exists, and a retry with the same key gets it, not a second one', async () => {
  emulator.injectFault({ status: 500, after: true, match: { method: 'POST' } });
  const create = () => stripe.customers.create({ name: 'After' }, { idempotencyKey: 'key-after' });
  await expect(create()).rejects.toMatchObject({ statusCode: 500 });
  const [made] = await customersNamed('After');
  expect(made).toBeDefined();
  expect((await create()).id).toBe(made.id);
  expect(await customersNamed('After')).toHaveLength(1);
  expect(
    emulator.requests.filter((r) => r.method === 'POST').map((r) => [r.idempotencyKey, r.outcome]),
  ).toEqual([
    ['key-after', 500],
    ['key-after', 200],
  ]);
});

test('faults are taken in the order added, one use each', async () => {
  emulator.injectFault({ status: 503, match: { method: 'GET' } });
  emulator.injectFault({ status: 502, match: { method: 'GET' } });
  await expect(stripe.balance.retrieve()).rejects.toMatchObject({ statusCode: 503 });
  await expect(stripe.balance.retrieve()).rejects.toMatchObject({ statusCode: 502 });
  await expect(stripe.balance.retrieve()).resolves.toMatchObject({ object: 'balance' });
});

test('an answer later than the client’s timeout is a connection error to the client, though Stripe acted', async () => {
  const impatient = emulator.client({ timeout: 200 });
  emulator.injectFault({ latencyMs: 600, after: true, count: 1, match: { method: 'POST' } });
  await expect(impatient.customers.create({ name: 'Slow' })).rejects.toMatchObject({
    type: 'StripeConnectionError',
  });
  expect(await customersNamed('Slow')).toHaveLength(1);
});

test('a dropped connection is a connection error', async () => {
  // The HTTP client may resend a request whose kept-alive connection was reset: every try is dropped here.
  emulator.injectFault({ drop: true, count: 5 });
  await expect(stripe.balance.retrieve()).rejects.toMatchObject({ type: 'StripeConnectionError' });
  expect(emulator.requests.at(-1)).toMatchObject({ path: '/v1/balance', outcome: 'dropped' });
  emulator.clearFaults();
  await expect(stripe.balance.retrieve()).resolves.toMatchObject({ object: 'balance' });
});

test('offline refuses connections until online again, on the same port', async () => {
  const customer = await stripe.customers.create({ name: 'Kept' });
  await emulator.goOffline();
  await expect(stripe.customers.retrieve(customer.id)).rejects.toMatchObject({
    type: 'StripeConnectionError',
  });
  const refused = await fetch(`${emulator.url}/v1/balance`).catch(
    (error: Error & { cause?: { code?: string } }) => error.cause?.code,
  );
  expect(refused).toBe('ECONNREFUSED');
  await emulator.goOnline();
  expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ id: customer.id, name: 'Kept' });
});

test('over HTTP, for a scenario in another process: faults added and cleared, requests listed', async () => {
  const admin = (method: string, path: string, body?: Record<string, string>) =>
    fetch(`${emulator.url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${emulator.apiKey}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: body ? new URLSearchParams(body).toString() : undefined,
    }).then(async (response) => ({ status: response.status, body: await response.json() }));
  expect(
    await admin('POST', '/_emulator/faults', {
      status: '503',
      count: '2',
      method: 'GET',
      path_includes: '/v1/balance',
    }),
  ).toMatchObject({ status: 200, body: { active: 1 } });
  await expect(stripe.balance.retrieve()).rejects.toMatchObject({ statusCode: 503 });
  expect((await admin('DELETE', '/_emulator/faults')).body).toMatchObject({ active: 0 });
  await expect(stripe.balance.retrieve()).resolves.toMatchObject({ object: 'balance' });
  const listed = await admin('GET', '/_emulator/requests');
  expect(listed.body.data.map((r: { path: string; outcome: number }) => [r.path, r.outcome])).toEqual([
    ['/v1/balance', 503],
    ['/v1/balance', 200],
  ]);
  expect((await admin('POST', '/_emulator/faults', { status: '700' })).status).toBe(400);
});
