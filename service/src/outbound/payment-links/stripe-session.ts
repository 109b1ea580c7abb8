/**
 * The Stripe side of a payment link: a Checkout Session in payment mode. A session, not a Stripe Payment
 * Link: a Payment Link sells existing Prices only, while a session takes each line as `price_data` (name,
 * unit amount, currency), so an order's write-in lines and negotiated prices need no Stripe catalog entry.
 * The request id is the idempotency key, so a resumed or redelivered request gets the session already made
 * (Stripe keeps idempotency keys for 24 hours, the session's own lifetime).
 */
import type Stripe from 'stripe';
import { DOCUMENT_TABLES, type PayableDocument } from './documents';
import type { CheckoutLine } from './lines';
import { isFinalStripeRefusal, madeUnderRequestKey } from '../refund-requests/stripe-refund';
import { PAYMENT_LINK_METADATA } from '../../inbound/orders';

export const REQUEST_METADATA_KEY = PAYMENT_LINK_METADATA.request;

export interface SessionOrder {
  requestId: string;
  document: PayableDocument;
  lines: CheckoutLine[];
  /** Where the payer lands after paying; Stripe's own confirmation page when not set. */
  successUrl?: string;
}

export function sessionParams(order: SessionOrder): Stripe.Checkout.SessionCreateParams {
  const { document, requestId } = order;
  const currency = document.currency!;
  const metadata = {
    [DOCUMENT_TABLES[document.kind].metadataKey]: document.id,
    [REQUEST_METADATA_KEY]: requestId,
  };
  const customer = document.customer;
  return {
    mode: 'payment',
    line_items: order.lines.map((line) => ({
      price_data: { currency, unit_amount: line.unitAmount, product_data: { name: line.name } },
      quantity: line.quantity,
    })),
    ...(document.number ? { client_reference_id: document.number } : {}),
    ...(customer?.stripeCustomerId
      ? { customer: customer.stripeCustomerId }
      : customer?.email
        ? { customer_email: customer.email }
        : {}),
    metadata,
    payment_intent_data: {
      metadata,
      ...(document.name ? { description: document.name.slice(0, 1000) } : {}),
    },
    ...(order.successUrl ? { success_url: order.successUrl } : {}),
  };
}

/**
 * Creates the session; a final refusal is answered, anything retryable is thrown to the pipeline. An
 * idempotency error is answered with the session made under the request's key, when there is one
 * (madeUnderRequestKey).
 */
export async function createSession(
  stripe: Stripe,
  order: SessionOrder,
): Promise<{ session: Stripe.Checkout.Session } | { refusal: string }> {
  try {
    const session = await stripe.checkout.sessions.create(sessionParams(order), {
      idempotencyKey: order.requestId,
    });
    return { session };
  } catch (error) {
    if (!isFinalStripeRefusal(error)) throw error;
    const made = await madeUnderRequestKey(error, () =>
      findSession(stripe, { id: order.requestId, createdOn: null }),
    );
    if (made) return { session: made };
    const e = error as Stripe.errors.StripeError;
    return { refusal: `Stripe refused the payment page: ${e.message}${e.code ? ` (${e.code})` : ''}` };
  }
}

/** Checkout Sessions looked through for a request's page, newest first (a resumed one is recent). */
const MAX_SESSIONS_SEARCHED = 1000;
/** How far Dataverse's clock (the request's creation) may be ahead of Stripe's (the session's). */
const CLOCK_MARGIN_SECONDS = 3600;

/**
 * The session a request already made, or undefined: the one whose metadata names the request among those made
 * since the request was created (Stripe lists sessions by time, not by metadata). Looked up when a request is
 * resumed: Stripe answers the same idempotency key with other parameters (the document's lines changed
 * meanwhile) with an error, and forgets it after 24 hours, though the page was made and can be paid.
 */
export async function findSession(
  stripe: Stripe,
  request: { id: string; createdOn: string | null },
): Promise<Stripe.Checkout.Session | undefined> {
  const created = Date.parse(request.createdOn ?? '');
  const sessions = await stripe.checkout.sessions
    .list({
      limit: 100,
      ...(Number.isFinite(created)
        ? { created: { gte: Math.floor(created / 1000) - CLOCK_MARGIN_SECONDS } }
        : {}),
    })
    .autoPagingToArray({ limit: MAX_SESSIONS_SEARCHED });
  return sessions.find((session) => session.metadata?.[REQUEST_METADATA_KEY] === request.id);
}
