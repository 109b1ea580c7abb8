/** Test support: a webhook's inbox event as the intake stores it, for the store's own suites. */
import type { NewInboxEvent } from '../../store';

/** A pending Stripe event of PaymentIntent `pi_<eventId>`, created and received at `atMs`. */
export function paymentEvent(
  eventId: string,
  atMs: number,
  overrides: Partial<NewInboxEvent> = {},
): NewInboxEvent {
  return {
    source: 'stripe',
    account: '',
    eventId,
    type: 'payment_intent.succeeded',
    objectId: `pi_${eventId}`,
    eventCreatedMs: atMs,
    payload: JSON.stringify({ id: eventId, object: 'event' }),
    status: 'pending',
    receivedAtMs: atMs,
    ...overrides,
  };
}
