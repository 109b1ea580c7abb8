/**
 * Stripe webhook verification and the inbox record it yields. Knows nothing of HTTP frameworks: the route
 * hands it the raw body and the `Stripe-Signature` header. Signatures are checked by the official SDK's
 * helper, once per configured secret (rotation), against the raw bytes.
 */
import Stripe from 'stripe';
import { orderingObjectOf, type NewInboxEvent } from '../store';
import { WebhookRejection } from './rejection';

/** Stripe's own default; we apply it to timestamps in the future as well as the past. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const signature = (() => {
  const helper = Stripe.webhooks.signature;
  if (!helper) throw new Error('The stripe SDK has no webhook signature helper');
  return helper;
})();
const TIMESTAMP = /(?:^|,)\s*t=(\d+)/;

export interface VerifiedStripeEvent {
  /** The parsed body: a v1 `event` or a thin `v2.core.event` notification. */
  body: StripeWebhookBody;
  /** Which of the secrets matched. */
  secretIndex: number;
  record: Omit<NewInboxEvent, 'status' | 'receivedAtMs'>;
}

export interface StripeWebhookBody {
  id: string;
  object: 'event' | 'v2.core.event';
  type: string;
  created: number | string;
  account?: string | null;
  context?: string | null;
  data?: { object?: { id?: unknown } };
  related_object?: { id?: string; type?: string; url?: string } | null;
}

/** Verifies `payload` against every secret; throws a `WebhookRejection` that says what was wrong. */
export function verifyStripeWebhook(
  payload: string,
  header: string | undefined,
  secrets: readonly string[],
  nowMs: number,
): VerifiedStripeEvent {
  if (!header) throw new WebhookRejection(400, 'missing_signature', 'Missing Stripe-Signature header');
  const timestamp = TIMESTAMP.exec(header);
  if (!timestamp) {
    throw new WebhookRejection(400, 'malformed_signature', 'Stripe-Signature header has no timestamp (t=)');
  }
  let verified = false;
  let stale = false;
  let secretIndex = -1;
  for (const secret of secrets) {
    secretIndex++;
    try {
      signature.verifyHeader(payload, header, secret, SIGNATURE_TOLERANCE_SECONDS, undefined, nowMs);
      verified = true;
      break;
    } catch (error) {
      const message = (error as Error).message ?? '';
      // The SDK checks the signature before the age, so "tolerance" means the signature itself matched.
      if (message.startsWith('Timestamp outside the tolerance zone')) {
        stale = true;
        break;
      }
      if (message.startsWith('No signatures found with expected scheme')) {
        throw new WebhookRejection(400, 'malformed_signature', 'Stripe-Signature header has no v1 signature');
      }
      if (message.startsWith('No webhook payload')) {
        throw new WebhookRejection(400, 'malformed_json', 'Empty request body');
      }
    }
  }
  if (stale)
    throw new WebhookRejection(400, 'stale_timestamp', 'Stripe-Signature timestamp is more than 300 s old');
  if (!verified)
    throw new WebhookRejection(
      400,
      'bad_signature',
      'No signature matches the payload for any configured secret',
    );
  // The SDK only refuses old timestamps; a signed timestamp far ahead is as suspect as a replayed one.
  if (Number(timestamp[1]) - Math.floor(nowMs / 1000) > SIGNATURE_TOLERANCE_SECONDS) {
    throw new WebhookRejection(
      400,
      'future_timestamp',
      'Stripe-Signature timestamp is more than 300 s in the future',
    );
  }

  let body: StripeWebhookBody;
  try {
    body = JSON.parse(payload);
  } catch {
    throw new WebhookRejection(400, 'malformed_json', 'Body is not valid JSON');
  }
  return { body, secretIndex, record: toInboxRecord(body, payload) };
}

/**
 * `verifyStripeWebhook` over a fixed list of secrets, trying first the one that matched last. After a rotation
 * only the new secret signs, and a failed match costs the SDK an exception with a stack trace: starting with
 * the secret in use keeps that off the hot path.
 */
export function createStripeWebhookVerifier(
  secrets: readonly string[],
): (payload: string, header: string | undefined, nowMs: number) => VerifiedStripeEvent {
  let ordered = [...secrets];
  return (payload, header, nowMs) => {
    const verified = verifyStripeWebhook(payload, header, ordered, nowMs);
    const matched = verified.secretIndex;
    if (matched > 0) ordered = [ordered[matched], ...ordered.filter((_, i) => i !== matched)];
    return verified;
  };
}

function toInboxRecord(body: StripeWebhookBody, payload: string): VerifiedStripeEvent['record'] {
  if (
    body === null ||
    typeof body !== 'object' ||
    typeof body.id !== 'string' ||
    typeof body.type !== 'string'
  ) {
    throw new WebhookRejection(400, 'not_an_event', 'Body is not a Stripe event (needs id and type)');
  }
  if (body.object === 'v2.core.event') {
    // Thin notification: no object snapshot, the worker fetches the related object.
    const created = typeof body.created === 'string' ? Date.parse(body.created) : Number(body.created) * 1000;
    return {
      source: 'stripe',
      account: typeof body.context === 'string' ? body.context : '',
      eventId: body.id,
      type: body.type,
      objectId: typeof body.related_object?.id === 'string' ? body.related_object.id : '',
      eventCreatedMs: Number.isFinite(created) ? created : 0,
      payload,
    };
  }
  if (body.object !== 'event' || typeof body.created !== 'number') {
    throw new WebhookRejection(
      400,
      'not_an_event',
      'Body is not a Stripe event (object must be "event" or "v2.core.event")',
    );
  }
  return {
    source: 'stripe',
    account: typeof body.account === 'string' ? body.account : '',
    eventId: body.id,
    type: body.type,
    objectId: orderingObjectOf(body.data?.object),
    eventCreatedMs: body.created * 1000,
    payload,
  };
}
