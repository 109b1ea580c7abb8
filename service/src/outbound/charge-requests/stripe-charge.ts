/**
 * The Stripe side of a charge request: one PaymentIntent confirmed at once off session against the customer's
 * saved payment method, with the request id as idempotency key, so a request delivered twice, resumed from
 * Sent, or retried after Stripe answered 5xx or not at all is charged once (Stripe answers a repeated key with
 * the first response, a decline included, for 24 hours), and looked up first (findCharge) so that it stays
 * once past those 24 hours. Its metadata names the request and the order or invoice it pays under the keys
 * payment links use, so the payment row links to that document.
 */
import StripeSdk from 'stripe';
import type Stripe from 'stripe';
import { PAYMENT_LINK_METADATA } from '../../inbound/orders';
import { CHARGE_REQUEST_METADATA_KEY } from '../../write/charge-outcome';
import { isFinalStripeRefusal, madeUnderRequestKey } from '../refund-requests/stripe-refund';
import type { ChargePlan } from './policy';
import type { DocumentFacts } from './facts';

/** Metadata key on the PaymentIntent: the charge request's Dataverse id (the payments handler links it). */
export const REQUEST_METADATA_KEY = CHARGE_REQUEST_METADATA_KEY;

export interface ChargeOrder {
  requestId: string;
  /**
   * The finance approver the charge is made on, when one was needed: kept in the PaymentIntent's metadata
   * (`d365_approvedby`), out of reach of Dataverse users, where the approval threshold reads it.
   */
  approvedBy: string | null;
  plan: ChargePlan;
  description: string | null;
  document: Pick<DocumentFacts, 'kind' | 'id'> | null;
}

/** Stripe said no for good: a decline (`card_error`) or a request it will not take. */
export interface ChargeRefusal {
  /** Stripe's decline code when the card was declined, else its error code or type. */
  code: string;
  message: string;
  /** Stripe's error type: `card_error`, `invalid_request_error`, `idempotency_error`, … */
  type: string;
  /** The PaymentIntent Stripe made before declining, when it says. */
  paymentIntentId: string | null;
}

export function paymentIntentParams(order: ChargeOrder): Stripe.PaymentIntentCreateParams {
  const { plan, document } = order;
  return {
    amount: plan.amount,
    currency: plan.currency,
    customer: plan.customer,
    payment_method: plan.paymentMethod,
    confirm: true,
    off_session: true,
    ...(order.description ? { description: order.description.slice(0, 1000) } : {}),
    metadata: {
      [REQUEST_METADATA_KEY]: order.requestId,
      ...(order.approvedBy ? { [APPROVER_METADATA_KEY]: order.approvedBy } : {}),
      ...(document ? { [PAYMENT_LINK_METADATA[document.kind]]: document.id } : {}),
    },
  };
}

/**
 * Charges; a final refusal is answered, anything retryable (5xx, no answer, rate limit) is thrown. An
 * idempotency error is answered with the PaymentIntent made under the request's key, when there is one
 * (madeUnderRequestKey).
 */
export async function charge(
  stripe: Stripe,
  order: ChargeOrder,
): Promise<{ paymentIntent: Stripe.PaymentIntent } | { refusal: ChargeRefusal }> {
  try {
    const paymentIntent = await stripe.paymentIntents.create(paymentIntentParams(order), {
      idempotencyKey: order.requestId,
    });
    return { paymentIntent };
  } catch (error) {
    if (!isFinalStripeRefusal(error)) throw error;
    const made = await madeUnderRequestKey(error, () =>
      findCharge(stripe, order.plan.customer, {
        id: order.requestId,
        paymentIntentId: null,
        createdOn: null,
      }),
    );
    if (made) return { paymentIntent: made };
    const e = error as Stripe.errors.StripeError;
    const declined = error instanceof StripeSdk.errors.StripeCardError;
    return {
      refusal: {
        code: (declined ? e.decline_code : undefined) ?? e.code ?? e.type,
        message: e.message,
        type: e.type,
        paymentIntentId: e.payment_intent?.id ?? null,
      },
    };
  }
}

/** A customer's PaymentIntents looked through for a request's charge (newest first: a resumed one is recent). */
const MAX_CHARGES_SEARCHED = 1000;
/** How far Dataverse's clock (the request's creation) may be ahead of Stripe's (the PaymentIntent's). */
const CLOCK_MARGIN_SECONDS = 3600;

/**
 * The PaymentIntent a request already made, or undefined: the one its row names, else the one whose metadata
 * names the request among the customer's made since the request was created. Looked up before every create:
 * Stripe keeps an idempotency key for 24 hours only, and answers the same key with other parameters (an amount
 * or description edited meanwhile) with an error though the charge was made.
 */
export async function findCharge(
  stripe: Stripe,
  customer: string | null,
  request: { id: string; paymentIntentId: string | null; createdOn: string | null },
): Promise<Stripe.PaymentIntent | undefined> {
  if (request.paymentIntentId) {
    try {
      const named = await stripe.paymentIntents.retrieve(request.paymentIntentId);
      if (named.metadata?.[REQUEST_METADATA_KEY] === request.id) return named;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
    // An id Stripe does not know, or of another request's PaymentIntent (typed in): looked up by metadata.
  }
  if (!customer) return undefined;
  const created = Date.parse(request.createdOn ?? '');
  const intents = await stripe.paymentIntents
    .list({
      customer,
      limit: 100,
      ...(Number.isFinite(created)
        ? { created: { gte: Math.floor(created / 1000) - CLOCK_MARGIN_SECONDS } }
        : {}),
    })
    .autoPagingToArray({ limit: MAX_CHARGES_SEARCHED });
  return intents.find((pi) => pi.metadata?.[REQUEST_METADATA_KEY] === request.id);
}

/** The metadata key naming the finance approver a charge was made on. */
export const APPROVER_METADATA_KEY = 'd365_approvedby';

/** PaymentIntents that charged, or may still charge, the customer: not canceled, not failed. */
const CHARGING = new Set([
  'succeeded',
  'processing',
  'requires_capture',
  'requires_action',
  'requires_confirmation',
]);

/** The customer's PaymentIntents made since `since` (newest first), as the approval threshold weighs them. */
export async function recentCharges(
  stripe: Stripe,
  customer: string,
  since: Date,
): Promise<Stripe.PaymentIntent[]> {
  return stripe.paymentIntents
    .list({
      customer,
      limit: 100,
      created: { gte: Math.floor(since.getTime() / 1000) - CLOCK_MARGIN_SECONDS },
    })
    .autoPagingToArray({ limit: MAX_CHARGES_SEARCHED });
}

/**
 * What the customer's other charge requests charge without a finance approver, in minor units of `currency`:
 * their PaymentIntents in it (made within the window, charging or charged) whose metadata names no approver,
 * and the amounts of their requests on their way to a charge that Stripe has no PaymentIntent of yet.
 * Charges made otherwise (no request in their metadata) are not this policy's.
 */
export function unapprovedCharges(
  intents: Stripe.PaymentIntent[],
  others: { id: string; minor: number }[],
  requestId: string,
  currency: string,
): number {
  const inStripe = new Set<string>();
  let total = 0;
  for (const intent of intents) {
    const of = intent.metadata?.[REQUEST_METADATA_KEY];
    if (!of) continue;
    inStripe.add(of.toLowerCase());
    if (of.toLowerCase() === requestId.toLowerCase() || intent.currency !== currency) continue;
    if (CHARGING.has(intent.status) && !intent.metadata?.[APPROVER_METADATA_KEY]) total += intent.amount;
  }
  for (const other of others) if (!inStripe.has(other.id)) total += other.minor;
  return total;
}
