/** Real Stripe payloads from the shared reference set, for mapping and handler tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Stripe from 'stripe';

/** The Stripe reference sets copied into the repository (test/fixtures/reference/stripe). */
export const REFERENCE = join(__dirname, '../../../../test/fixtures/reference/stripe');

/** A recorded webhook event (API versions 2020-03-02 to 2023-10-16), e.g. `charge_refunded`. */
export function recordedEvent(name: string): Stripe.Event {
  return JSON.parse(readFileSync(join(REFERENCE, 'events-2020', `${name}.json`), 'utf8')) as Stripe.Event;
}

/** Stripe JSON as the tests change it: any field, any depth. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test payloads are untyped JSON edited field by field
export type StripeJson = Record<string, any>;

let openapi: Record<string, unknown> | undefined;

/** Stripe's current example object of a resource (`charge`, `payment_intent`, …), a fresh copy each call. */
export function currentObject<T = StripeJson>(resource: string): T {
  openapi ??= JSON.parse(
    readFileSync(join(REFERENCE, 'openapi-fixtures', 'fixtures3.json'), 'utf8'),
  ).resources;
  const object = openapi![resource];
  if (!object) throw new Error(`fixtures3.json has no resource "${resource}"`);
  return structuredClone(object) as T;
}

/** An event envelope around an object, as Stripe would send it. */
export function eventFor(
  type: string,
  object: object,
  extra: Partial<Stripe.Event> & { account?: string } = {},
): Stripe.Event {
  return {
    id: extra.id ?? `evt_${type.replace(/\W/g, '_')}`,
    object: 'event',
    api_version: '2026-07-29.dahlia',
    created: extra.created ?? 1700000000,
    livemode: (object as { livemode?: boolean }).livemode ?? false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
    ...extra,
  } as unknown as Stripe.Event;
}
