/**
 * The object an event is ordered and coalesced by: its own object, except that a charge of a PaymentIntent
 * counts as the PaymentIntent. Both write one payment row, so a payment's burst (payment_intent.created,
 * charge.succeeded, payment_intent.succeeded, charge.updated) is one object: applied once, read at most once.
 * Every way an event enters the inbox (webhooks, replay, backfill) files it under this object, so that its
 * events are applied one at a time and in order whichever way each came.
 */
export function orderingObjectOf(
  object: { id?: unknown; object?: unknown; payment_intent?: unknown } | undefined,
): string {
  if (typeof object?.id !== 'string') return '';
  if (object.object === 'charge' && typeof object.payment_intent === 'string') return object.payment_intent;
  return object.id;
}
