/** Which failures are an outage (the dependency does not answer) rather than something about the event. */
import Stripe from 'stripe';
import { DataverseError } from '../../dataverse/errors';
import { classifyFailure, HandlerTimeoutError, PermanentError } from '../failure';

const dataverse = (status: number, code = '') =>
  new DataverseError({ status, code, message: 'Dataverse said no', request: 'PATCH accounts(1)' });
const nodeError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:443`), { code });

test.each([
  ['Dataverse not answering', dataverse(0)],
  ['Dataverse 502', dataverse(502)],
  ['Dataverse 503', dataverse(503)],
  ['Dataverse 504', dataverse(504)],
  ['a refused connection', nodeError('ECONNREFUSED')],
  ['a reset connection', nodeError('ECONNRESET')],
  [
    'Stripe unreachable',
    new Stripe.errors.StripeConnectionError({ message: 'An error occurred with our connection to Stripe.' }),
  ],
  ['Stripe 500', new Stripe.errors.StripeAPIError({ message: 'Internal error', statusCode: 500 })],
])('%s is an outage: transient and unavailable', (_what, error) => {
  expect(classifyFailure(error)).toMatchObject({ transient: true, unavailable: true });
});

test.each([
  ['Dataverse 500 (its side, about this request)', dataverse(500), true],
  ['Dataverse throttling (429)', dataverse(429), true],
  [
    'Stripe rate limit',
    new Stripe.errors.StripeRateLimitError({ message: 'Too many requests', statusCode: 429 }),
    true,
  ],
  ['a handler past its time', new HandlerTimeoutError(1000), true],
  ['Dataverse refusing the row (400)', dataverse(400, '0x80040265'), false],
  ['a permanent error', new PermanentError('no such payment'), false],
  [
    'Stripe card error',
    new Stripe.errors.StripeCardError({ message: 'Your card was declined.', statusCode: 402 }),
    false,
  ],
])('%s is not an outage', (_what, error, transient) => {
  expect(classifyFailure(error)).toMatchObject({ transient, unavailable: false });
});
