/** Stripe's answers the handlers act on, told apart one way everywhere. */
import Stripe from 'stripe';

/**
 * Stripe has no such object (`resource_missing`): deleted, never made, or in the other mode or account. Only
 * an error Stripe sent counts; a connection failure says nothing about the object.
 */
export function isResourceMissing(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeError && error.code === 'resource_missing';
}
