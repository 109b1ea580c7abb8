/** Test support: real Stripe event payloads with fresh ids, and signatures the way Stripe makes them. */
import fs from 'node:fs';
import path from 'node:path';
import Stripe from 'stripe';

export type FixtureName = 'charge_succeeded' | 'charge_refunded' | 'customer_updated';

export function loadEvent(name: FixtureName): Stripe.Event {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', `${name}.json`), 'utf8'));
}

let counter = 0;
/** A real event with a fresh id (and optional overrides), serialised as Stripe sends it. */
export function eventPayload(
  name: FixtureName,
  overrides: Record<string, unknown> = {},
): { event: Stripe.Event; payload: string } {
  const event = {
    ...loadEvent(name),
    id: `evt_test_${process.pid}_${Date.now()}_${++counter}`,
    ...overrides,
  } as Stripe.Event;
  return { event, payload: JSON.stringify(event, null, 2) };
}

export function signatureHeader(
  payload: string,
  secret: string,
  timestampSeconds = Math.floor(Date.now() / 1000),
): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: timestampSeconds });
}

/** Posts a payload to the service's Stripe webhook, signed with `secret` as Stripe would; gives the status. */
export async function postSignedEvent(serviceUrl: string, payload: string, secret: string): Promise<number> {
  const res = await fetch(`${serviceUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signatureHeader(payload, secret) },
    body: payload,
  });
  await res.text();
  return res.status;
}
