/**
 * The Stripe side of a refund request: the refund is created with the request id as idempotency key and in
 * its metadata, so that a resumed request finds the refund it already made instead of making a second one.
 */
import StripeSdk from 'stripe';
import type Stripe from 'stripe';
import { classifyFailure } from '../../pipeline/failure';

/** Reasons Stripe takes on a refund create (`expired_uncaptured_charge` is Stripe's own). */
const STRIPE_REFUND_REASONS = new Set(['duplicate', 'fraudulent', 'requested_by_customer']);
/** Refunds of one payment looked through when resuming a request (a payment rarely has more than a few). */
const MAX_REFUNDS_SEARCHED = 1000;

export type RefundTarget = { payment_intent: string } | { charge: string };

export interface RefundOrder {
  target: RefundTarget;
  /** Minor units of the payment's currency. */
  amount: number;
  /** The request's reason as Stripe spells it; one Stripe does not take is left out. */
  reason: string | null;
  requestId: string;
  /**
   * The finance approver whose approval the refund is made on, when one was needed: kept in the refund's
   * metadata (`d365_approvedby`), out of reach of Dataverse users, where the approval threshold reads it.
   */
  approvedBy: string | null;
}

/** Stripe refused for good: the request fails with Stripe's message. */
export interface StripeRefusal {
  message: string;
  /** Stripe's error code, when it gave one (`charge_already_refunded`, …). */
  code?: string;
  /** Stripe's error type (`invalid_request_error`, `card_error`, …). */
  type: string;
}

/** A payment row's Stripe id as the refund's target: its payment intent, or a charge made without one. */
export function refundTarget(stripeId: string): RefundTarget {
  return stripeId.startsWith('pi_') ? { payment_intent: stripeId } : { charge: stripeId };
}

/** The payment's refunds, as Stripe lists them. */
export async function listRefunds(stripe: Stripe, target: RefundTarget): Promise<Stripe.Refund[]> {
  return stripe.refunds.list({ ...target, limit: 100 }).autoPagingToArray({ limit: MAX_REFUNDS_SEARCHED });
}

/** The refund made for the request (its id in the metadata), among the payment's refunds. */
export function refundOfRequest(refunds: Stripe.Refund[], requestId: string): Stripe.Refund | undefined {
  return refunds.find((r) => r.metadata?.d365_refundrequestid === requestId);
}

export async function findRefund(
  stripe: Stripe,
  target: RefundTarget,
  requestId: string,
): Promise<Stripe.Refund | undefined> {
  return refundOfRequest(await listRefunds(stripe, target), requestId);
}

/**
 * Creates the refund; a final refusal is answered, anything retryable is thrown to the pipeline. An idempotency
 * error is answered with the refund made under the request's key, when there is one (madeUnderRequestKey).
 */
export async function createRefund(
  stripe: Stripe,
  order: RefundOrder,
): Promise<{ refund: Stripe.Refund } | { refusal: StripeRefusal }> {
  try {
    const refund = await stripe.refunds.create(
      {
        ...order.target,
        amount: order.amount,
        ...(order.reason && STRIPE_REFUND_REASONS.has(order.reason)
          ? { reason: order.reason as Stripe.RefundCreateParams.Reason }
          : {}),
        metadata: {
          d365_refundrequestid: order.requestId,
          ...(order.approvedBy ? { d365_approvedby: order.approvedBy } : {}),
        },
      },
      { idempotencyKey: order.requestId },
    );
    return { refund };
  } catch (error) {
    if (!isFinalStripeRefusal(error)) throw error;
    const made = await madeUnderRequestKey(error, () => findRefund(stripe, order.target, order.requestId));
    if (made) return { refund: made };
    const e = error as Stripe.errors.StripeError;
    return { refusal: { message: e.message, code: e.code, type: e.type } };
  }
}

/**
 * What Stripe made under a request's key when it answered a create with an idempotency error: the key was used
 * with other parameters, by another attempt of the request that saw the request before an edit and made its
 * object after this one looked. `find` looks it up (by the request's id in its metadata); undefined for any
 * other error, or when there is none.
 */
export async function madeUnderRequestKey<T>(
  error: unknown,
  find: () => Promise<T | null | undefined>,
): Promise<T | undefined> {
  if (!(error instanceof StripeSdk.errors.StripeIdempotencyError)) return undefined;
  return (await find()) ?? undefined;
}

/** Stripe said no for good (card or request errors); connection, rate-limit, conflict and 5xx are retried. */
export function isFinalStripeRefusal(error: unknown): boolean {
  if (!(error instanceof StripeSdk.errors.StripeError)) return false;
  // A bad key or missing permission is the operator's to fix: retried, then dead-lettered, never "Failed".
  if (
    error instanceof StripeSdk.errors.StripeAuthenticationError ||
    error instanceof StripeSdk.errors.StripePermissionError
  )
    return false;
  return !classifyFailure(error).transient;
}
