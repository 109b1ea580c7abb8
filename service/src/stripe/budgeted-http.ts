/**
 * The Stripe SDK's HTTP client wrapped so that every request it sends (retries included) first takes its
 * place in the budget: the one point every Stripe call of the service passes through. A 429 that still
 * arrives shrinks the budget and the request is sent again once it has a new place (Stripe did not act on
 * it, and a POST carries its idempotency key), up to `resendsOn429` times; only then does the caller see it.
 */
import type Stripe from 'stripe';
import type { StripeBudget } from './budget';
import { currentStripePriority } from './priority';

type HttpClient = Stripe.HttpClient;
type HttpClientResponse = Stripe.HttpClientResponse;

/** A segment that names an object rather than a resource: Stripe ids carry digits or capitals (`pi_3Nx…`). */
const ID_SEGMENT = /[0-9A-Z]/;

/**
 * The endpoint a request counts against: its method and path without the query, with ids taken out, so
 * `GET /v1/payment_intents/pi_1?expand[]=x` and `GET /v1/payment_intents/pi_2` are one endpoint
 * `GET /v1/payment_intents/{id}`.
 */
export function stripeEndpoint(method: string, path: string): string {
  const segments = path.split('?')[0].split('/');
  const normalised = segments.map((s, i) => (i >= 2 && ID_SEGMENT.test(s) ? '{id}' : s));
  return `${method.toUpperCase()} ${normalised.join('/')}`;
}

export function budgetedHttpClient(
  inner: HttpClient,
  budget: StripeBudget,
  options: {
    mode: 'test' | 'live';
    resendsOn429?: number;
    /**
     * Asked before each request is sent, its resends and the SDK's retries included: throwing refuses it,
     * unsent (the service refuses the requests of a handler the pipeline has stopped).
     */
    beforeRequest?: () => void;
  },
): HttpClient {
  const resends = options.resendsOn429 ?? 5;
  return {
    getClientName: () => inner.getClientName(),
    async makeRequest(host, port, path, method, headers, requestData, protocol, timeout) {
      const account = headers['Stripe-Account'];
      const call = {
        account: typeof account === 'string' ? account : '',
        mode: options.mode,
        endpoint: stripeEndpoint(method, path),
        priority: currentStripePriority(),
      };
      for (let attempt = 0; ; attempt++) {
        options.beforeRequest?.();
        await budget.take(call);
        options.beforeRequest?.();
        const response: HttpClientResponse = await inner.makeRequest(
          host,
          port,
          path,
          method,
          headers,
          requestData,
          protocol,
          timeout,
        );
        if (response.getStatusCode() !== 429) return response;
        await budget.rateLimited(call);
        if (attempt >= resends) return response;
        // The refused response's body is read and dropped so that its connection goes back to the pool.
        await Promise.resolve(response.toJSON()).catch(() => undefined);
      }
    },
  };
}
