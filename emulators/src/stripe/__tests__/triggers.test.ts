/** `stripe trigger` flows: each makes the event it is named after, through the same operations as the API. */
import type { StripeEmulator } from '..';
import { TRIGGERS } from '..';
import { emulatorWithClient } from './harness';

let emulator: StripeEmulator;

beforeAll(async () => {
  ({ emulator } = await emulatorWithClient());
});
afterAll(() => emulator.close());

test.each(Object.keys(TRIGGERS))('trigger %s produces that event', (eventType) => {
  const result = emulator.testHelpers.trigger(eventType);
  expect(result.events.map((e) => e.type)).toContain(eventType);
});

test('a trigger runs in a connected account and over HTTP', async () => {
  const response = await fetch(`${emulator.url}/_emulator/trigger/charge.refunded`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${emulator.apiKey}`, 'Stripe-Account': 'acct_1Trigger' },
  });
  const body = (await response.json()) as {
    events: Array<{ type: string }>;
    objects: Record<string, string>;
  };
  expect(body.events.map((e) => e.type)).toEqual([
    'payment_intent.created',
    'charge.succeeded',
    'payment_intent.succeeded',
    'charge.updated',
    'charge.refunded',
    'refund.created',
  ]);
  expect(body.objects.refund).toMatch(/^re_/);
  expect(emulator.eventsFor({ account: 'acct_1Trigger' }).every((e) => e.account === 'acct_1Trigger')).toBe(
    true,
  );
  const unknown = await fetch(`${emulator.url}/_emulator/trigger/nothing.happened`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${emulator.apiKey}` },
  });
  expect(unknown.status).toBe(400);
});
