import type { StripeJson } from '../../mapping/__tests__/fixtures';
/**
 * Test support: a local HTTP server speaking the few Stripe API reads the handlers make, over objects the
 * test sets, so the real `stripe` SDK (expand parameters, Stripe-Account header, errors) is exercised.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

export interface StripeRequest {
  method: string;
  path: string;
  expand: string[];
  query: URLSearchParams;
  stripeAccount: string | null;
}

const COLLECTIONS: Record<string, string> = {
  payment_intents: 'payment_intent',
  charges: 'charge',
  refunds: 'refund',
  disputes: 'dispute',
  customers: 'customer',
  subscriptions: 'subscription',
  invoices: 'invoice',
  credit_notes: 'credit_note',
  invoice_payments: 'invoice_payment',
  balance_transactions: 'balance_transaction',
};

export class StripeStub {
  /** Stripe's current state, by id (per connected account: `acct_…/id`). */
  readonly objects = new Map<string, StripeJson>();
  readonly requests: StripeRequest[] = [];
  private server?: Server;
  private port = 0;

  put(object: StripeJson, account: string | null = null): void {
    this.objects.set(account ? `${account}/${object.id}` : object.id, structuredClone(object));
  }

  private get(id: string, account: string | null): StripeJson | undefined {
    return this.objects.get(account ? `${account}/${id}` : id);
  }

  private expand(object: StripeJson, path: string[], account: string | null): void {
    const [head, ...rest] = path;
    let value = object[head];
    if (typeof value === 'string') {
      const found = this.get(value, account);
      if (found) value = object[head] = structuredClone(found);
    }
    if (rest.length && value && typeof value === 'object') this.expand(value, rest, account);
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://stub');
      const account = (request.headers['stripe-account'] as string | undefined) ?? null;
      // The SDK sends arrays as `expand[0]=…`; curl-style `expand[]=…` is accepted too.
      const expand = [...url.searchParams.entries()]
        .filter(([name]) => /^expand\[\d*\]$/.test(name))
        .map(([, value]) => value);
      this.requests.push({
        method: request.method ?? 'GET',
        path: url.pathname,
        expand,
        query: url.searchParams,
        stripeAccount: account,
      });
      const send = (status: number, body: unknown) => {
        response.writeHead(status, {
          'content-type': 'application/json',
          'request-id': `req_${this.requests.length}`,
        });
        response.end(JSON.stringify(body));
      };
      const [, version, collection, id] = url.pathname.split('/');
      if (version !== 'v1' || !COLLECTIONS[collection] || request.method !== 'GET') {
        send(404, {
          error: {
            type: 'invalid_request_error',
            message: `Unrecognized request URL (${request.method}: ${url.pathname})`,
          },
        });
        return;
      }
      if (!id) {
        const charge = url.searchParams.get('charge');
        const data = [...this.objects.entries()]
          .filter(
            ([storedId, object]) =>
              (account ? storedId.startsWith(`${account}/`) : !storedId.includes('/')) &&
              object.object === COLLECTIONS[collection],
          )
          .map(([, object]) => object)
          .filter((object) => !charge || object.charge === charge)
          .sort((a, b) => b.created - a.created);
        send(200, { object: 'list', data, has_more: false, url: `/v1/${collection}` });
        return;
      }
      const found = this.get(id, account);
      if (!found || found.object !== COLLECTIONS[collection]) {
        send(404, {
          error: {
            type: 'invalid_request_error',
            code: 'resource_missing',
            param: 'id',
            message: `No such ${COLLECTIONS[collection]}: '${id}'`,
          },
        });
        return;
      }
      const object = structuredClone(found);
      for (const path of expand) this.expand(object, path.split('.'), account);
      send(200, object);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.server?.close((error) => (error ? reject(error) : resolve())),
    );
  }

  /** A Stripe SDK client pointed at the stub; `stripeAccount` for a connected account. */
  stripeFor = (account: string | null): Stripe =>
    new Stripe('sk_test_stub', {
      host: '127.0.0.1',
      port: this.port,
      protocol: 'http',
      maxNetworkRetries: 0,
      telemetry: false,
      ...(account ? { stripeAccount: account } : {}),
    });
}
