/**
 * Test support: a proxy in front of the Stripe emulator that records each request the service sends (method
 * and path), so a test can assert how many calls Stripe would have counted against its rate limit.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StripeRequestLog {
  /** The proxy's base URL: the service's STRIPE_API_BASE. */
  url: string;
  /** `GET /v1/payment_intents/pi_…`, in the order sent (query strings left out). */
  requests: string[];
  close(): Promise<void>;
}

export async function startStripeRequestLog(target: string): Promise<StripeRequestLog> {
  const upstream = new URL(target);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${(req.url ?? '').split('?')[0]}`);
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
