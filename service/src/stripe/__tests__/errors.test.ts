import Stripe from 'stripe';
import { isResourceMissing } from '..';

const raw = (code: string) => ({ type: 'invalid_request_error' as const, code, message: 'No such customer' });

test('only an error Stripe sent with resource_missing says the object does not exist', () => {
  expect(isResourceMissing(new Stripe.errors.StripeInvalidRequestError(raw('resource_missing')))).toBe(true);
  expect(isResourceMissing(new Stripe.errors.StripeInvalidRequestError(raw('parameter_invalid_empty')))).toBe(
    false,
  );
  // A connection failure says nothing of the object; neither does a look-alike that Stripe did not send.
  expect(isResourceMissing(new Stripe.errors.StripeConnectionError({ message: 'socket hang up' }))).toBe(
    false,
  );
  expect(isResourceMissing({ code: 'resource_missing' })).toBe(false);
  expect(isResourceMissing(null)).toBe(false);
});
