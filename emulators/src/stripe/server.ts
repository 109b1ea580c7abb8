/**
 * The HTTP face of the emulator: authentication, Connect scoping, rate limiting, form/JSON bodies,
 * idempotency, `expand[]`, Stripe's error JSON and `Request-Id`. Operations themselves live in resources/.
 */
import { cloneJson } from './clone';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Server } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import qs from 'qs';
import getRawBody from 'raw-body';
import Stripe from 'stripe';
import { StripeEngine, type EngineOptions, type RequestContext, type StripeEvent } from './engine';
import { StripeApiError } from './errors';
import { expand } from './expand';
import { canonicalJson, IdempotencyStore } from './idempotency';
import { newRequestId } from './ids';
import { expandPaths, Params } from './params';
import { RateLimiter, type RateLimitOptions } from './ratelimit';
import * as balance from './resources/balance';
import * as billing from './resources/billing';
import * as payments from './resources/payments';
import { type Route, ROUTES } from './routes';
import type { Scope, StripeObject } from './store';
import { trigger } from './triggers';
import { type DeliveryAttempt, type WebhookOptions, WebhookSender } from './webhooks';

export interface StripeEmulatorOptions extends EngineOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /**
   * Secret keys the API accepts. Unset: any well-formed `sk_test_…`/`rk_test_…` (test mode) or
   * `sk_live_…`/`rk_live_…` (live mode) key.
   */
  apiKeys?: string[];
  /** Connected accounts that exist; unset: any `acct_…` id is accepted. */
  connectedAccounts?: string[];
  /** Requests per second per account (default 25, like test mode); false turns the limit off. */
  rateLimit?: number | RateLimitOptions | false;
  webhook?: WebhookOptions | null;
  /** Refuse parameters an endpoint does not take, as Stripe does (400 `parameter_unknown`); default true. */
  strictParameters?: boolean;
}

export interface AccountSelector {
  /** Connected account (`acct_…`); default the platform account. */
  account?: string | null;
  livemode?: boolean;
}

export interface StripeEmulator {
  /** Base URL, e.g. `http://127.0.0.1:12111`. */
  url: string;
  host: string;
  port: number;
  /** A key the emulator accepts. */
  apiKey: string;
  engine: StripeEngine;
  /** Every event so far, all accounts, oldest first. */
  readonly events: StripeEvent[];
  /** Events of one account (default the platform), oldest first. */
  eventsFor(selector?: AccountSelector): StripeEvent[];
  /** Every webhook delivery attempt so far. */
  readonly deliveries: DeliveryAttempt[];
  setWebhook(options: WebhookOptions | null): void;
  deliverPending(): Promise<{ attempted: number; delivered: number; failed: number }>;
  waitForDeliveries(timeoutMs?: number): Promise<void>;
  /** Options for `new Stripe(key, …)` that point the SDK here. */
  sdkOptions(extra?: Stripe.StripeConfig): Stripe.StripeConfig;
  /** An SDK client for this emulator (no network retries unless asked). */
  client(options?: Stripe.StripeConfig & { apiKey?: string }): Stripe;
  testHelpers: TestHelpers;
  close(): Promise<void>;
}

/** What Stripe does on its own schedule (or the bank does), made to happen now. */
export interface TestHelpers {
  /** Sweep the unpaid balance transactions of a currency into a new automatic payout (`payout.created`). */
  createAutomaticPayout(options?: AccountSelector & { currency?: string }): StripeObject;
  /** Pay a payout: `payout.paid`, then `payout.reconciliation_completed` for automatic payouts. */
  payPayout(id: string, options?: AccountSelector): StripeObject;
  failPayout(id: string, options?: AccountSelector & { failureCode?: string }): StripeObject;
  /** The bank decides a dispute: `charge.dispute.closed` (and `funds_reinstated` when won). */
  closeDispute(id: string, outcome: 'won' | 'lost', options?: AccountSelector): StripeObject;
  /** A subscription's period ends: the next invoice is created and paid (or fails). */
  renewSubscription(id: string, options?: AccountSelector): StripeObject;
  /**
   * Bulk history for load tests: `count` confirmed card payments (PaymentIntent, charge, balance transaction),
   * made in-process. Without `events: true` they record no events and send no webhooks. Returns the
   * PaymentIntent ids, oldest first.
   */
  seedPayments(options: SeedPaymentsOptions): string[];
  /**
   * `stripe trigger <eventType>`: make the API calls the Stripe CLI makes for that event (see triggers.ts for
   * the list). Returns the events it caused and the ids of what it made.
   */
  trigger(eventType: string, options?: AccountSelector): TriggerResult;
}

export interface TriggerResult {
  trigger: string;
  objects: Record<string, string | null>;
  events: Array<{ id: string; type: string }>;
}

export interface SeedPaymentsOptions extends AccountSelector {
  count: number;
  /** Smallest currency unit; a function gives each payment its own amount (default 1000 + i % 500). */
  amount?: number | ((index: number) => number);
  currency?: string;
  /** Test card token (default `pm_card_visa`). */
  paymentMethod?: string;
  customer?: string;
  events?: boolean;
}

const KEY_PATTERN = /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/;
const ACCOUNT_PATTERN = /^acct_[A-Za-z0-9]+$/;
const DEFAULT_KEY = 'sk_test_emulator';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function unauthorized(message: string): StripeApiError {
  return new StripeApiError({ status: 401, type: 'invalid_request_error', message });
}

function readApiKey(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (/^bearer$/i.test(scheme)) return value?.trim();
  if (/^basic$/i.test(scheme) && value) return Buffer.from(value, 'base64').toString().split(':')[0];
  return undefined;
}

function maskKey(key: string): string {
  const prefix = key.match(/^[a-z]+_(test|live)_/)?.[0] ?? '';
  return `${prefix}****${key.slice(-4)}`;
}

export async function startStripeEmulator(options: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
  const engine = new StripeEngine(options);
  const webhooks = new WebhookSender(engine, options.webhook ?? null);
  const idempotency = new IdempotencyStore();
  const rateLimitOption = options.rateLimit ?? 25;
  const limiter =
    rateLimitOption === false
      ? null
      : new RateLimiter(
          typeof rateLimitOption === 'number' ? { perSecond: rateLimitOption } : rateLimitOption,
          () => engine.nowMs(),
        );
  const allowedKeys = options.apiKeys?.map(digest);
  const connected = options.connectedAccounts ? new Set(options.connectedAccounts) : null;

  function authenticate(header: string | undefined): { livemode: boolean } {
    const key = readApiKey(header);
    if (!key) {
      throw unauthorized(
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details.",
      );
    }
    const presented = digest(key);
    const accepted = allowedKeys
      ? allowedKeys.reduce((match, allowed) => timingSafeEqual(allowed, presented) || match, false)
      : KEY_PATTERN.test(key);
    if (!accepted) throw unauthorized(`Invalid API Key provided: ${maskKey(key)}`);
    return { livemode: /^[a-z]+_live_/.test(key) };
  }

  function accountOf(header: string | undefined): string | null {
    if (!header) return null;
    if (!ACCOUNT_PATTERN.test(header) || (connected && !connected.has(header))) {
      throw new StripeApiError({
        status: 403,
        type: 'invalid_request_error',
        code: 'account_invalid',
        message: `The provided key does not have access to account '${header}' (or that account does not exist). Application access may have been revoked.`,
      });
    }
    return header;
  }

  const app = new Koa();
  const router = new Router();

  // Errors first: every failure leaves as Stripe's error JSON with its status and the request id.
  app.use(async (ctx, next) => {
    const requestId = newRequestId();
    ctx.state.requestId = requestId;
    ctx.set('Request-Id', requestId);
    ctx.set('Stripe-Version', ctx.get('Stripe-Version') || engine.apiVersion);
    try {
      await next();
    } catch (error) {
      const apiError = asStripeError(error);
      if (apiError.status >= 500) console.error('stripe emulator: unexpected error', error);
      ctx.status = apiError.status;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(apiError.toJSON(), null, 2);
    }
  });

  const routes: Route[] = [
    ...ROUTES,
    { method: 'post', path: '/_emulator/webhooks/deliver', operation: () => webhooks.deliverPending() },
    {
      method: 'post',
      path: '/_emulator/trigger/:event',
      operation: (_e, ctx, _p, path) => runTrigger(ctx.scope, path.event),
    },
  ];
  for (const route of routes) {
    router[route.method](route.path, async (ctx) => {
      const { livemode } = authenticate(ctx.get('Authorization') || undefined);
      const account = accountOf(ctx.get('Stripe-Account') || ctx.get('Stripe-Context') || undefined);
      const scope = engine.scope(account, livemode);
      if (limiter && !limiter.take(scope.key)) {
        throw new StripeApiError({
          status: 429,
          type: 'invalid_request_error',
          code: 'rate_limit',
          message:
            'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
        });
      }
      const params = await readParams(ctx);
      if (route.params !== undefined && options.strictParameters !== false)
        checkParameters(params, route.params);
      const idempotencyKey =
        ctx.method === 'POST' || ctx.method === 'DELETE' ? ctx.get('Idempotency-Key') || null : null;
      const requestContext: RequestContext = { scope, requestId: ctx.state.requestId, idempotencyKey };
      const fingerprint = `${ctx.method} ${ctx.path} ${canonicalJson(params)}`;
      if (idempotencyKey) {
        ctx.set('Idempotency-Key', idempotencyKey);
        const stored = idempotency.lookup(scope.key, idempotencyKey, fingerprint);
        if (stored) {
          ctx.status = stored.status;
          ctx.type = 'application/json';
          ctx.set('Idempotent-Replayed', 'true');
          ctx.set('Original-Request', stored.requestId);
          ctx.body = stored.body;
          return;
        }
      }
      if (account) ctx.set('Stripe-Account', account);
      let status = 200;
      let body: string;
      try {
        let result = route.operation(engine, requestContext, params, ctx.params as Record<string, string>);
        // Operations are synchronous so that a request and its idempotency record are one step; only test
        // helpers that wait for webhook deliveries return a promise.
        if (result instanceof Promise) result = await result;
        body = render(result, expandPaths(params), (id) => scope.find(id));
      } catch (error) {
        // Failures after the operation started (card declines, wrong state) are replayed; validation is not.
        if (!(error instanceof StripeApiError) || !error.replayable || !idempotencyKey) throw error;
        status = error.status;
        body = JSON.stringify(error.toJSON(), null, 2);
      }
      if (idempotencyKey) {
        idempotency.save(scope.key, idempotencyKey, {
          fingerprint,
          status,
          body,
          requestId: ctx.state.requestId,
        });
      }
      ctx.status = status;
      ctx.type = 'application/json';
      ctx.body = body;
    });
  }

  app.use(router.routes());
  app.use(async (ctx) => {
    throw new StripeApiError({
      status: 404,
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${ctx.method}: ${ctx.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    });
  });

  const host = options.host ?? '127.0.0.1';
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(options.port ?? 0, host, () => resolve(listening));
    listening.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  const apiKey = options.apiKeys?.[0] ?? DEFAULT_KEY;
  const background = (selector?: AccountSelector) =>
    engine.background(selector?.account ?? null, selector?.livemode ?? false);

  function runTrigger(scope: Scope, eventType: string): TriggerResult {
    const before = scope.all('event').length;
    const results = trigger(engine, scope, eventType);
    const objects = Object.fromEntries(
      Object.entries(results).map(([name, value]) => [name, (value as { id?: string } | null)?.id ?? null]),
    );
    const events = scope
      .all('event')
      .slice(before)
      .map((event) => ({ id: event.id, type: event.type }));
    return { trigger: eventType, objects, events };
  }

  const sdkOptions = (extra: Stripe.StripeConfig = {}): Stripe.StripeConfig => ({
    host,
    port,
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
    ...extra,
  });

  return {
    url,
    host,
    port,
    apiKey,
    engine,
    get events() {
      return [...engine.eventLog];
    },
    eventsFor(selector) {
      return [...background(selector).scope.all('event')] as StripeEvent[];
    },
    get deliveries() {
      return [...webhooks.attempts];
    },
    setWebhook: (webhook) => webhooks.configure(webhook),
    deliverPending: () => webhooks.deliverPending(),
    waitForDeliveries: (timeoutMs) => webhooks.waitForDeliveries(timeoutMs),
    sdkOptions,
    client: ({ apiKey: key, ...config } = {}) => new Stripe(key ?? apiKey, sdkOptions(config)),
    testHelpers: {
      createAutomaticPayout: (selector) =>
        balance.createAutomaticPayout(engine, background(selector), selector?.currency ?? 'usd'),
      payPayout: (id, selector) => balance.payPayout(engine, background(selector), id),
      failPayout: (id, selector) =>
        balance.failPayout(engine, background(selector), id, selector?.failureCode),
      closeDispute: (id, outcome, selector) => {
        const ctx = background(selector);
        return payments.closeDisputeAs(engine, ctx, engine.get(ctx, 'dispute', id), outcome);
      },
      renewSubscription: (id, selector) => billing.renewSubscription(engine, background(selector), id),
      trigger: (eventType, selector) => runTrigger(background(selector).scope, eventType),
      seedPayments: (seed) => {
        const ctx = background(seed);
        const amountOf =
          typeof seed.amount === 'function'
            ? seed.amount
            : (i: number) => (seed.amount as number | undefined) ?? 1000 + (i % 500);
        const create = (i: number) =>
          payments.createPaymentIntent(engine, ctx, {
            amount: String(amountOf(i)),
            currency: seed.currency ?? 'usd',
            payment_method: seed.paymentMethod ?? 'pm_card_visa',
            confirm: 'true',
            ...(seed.customer ? { customer: seed.customer } : {}),
          }).id;
        const ids: string[] = [];
        for (let i = 0; i < seed.count; i++) {
          ids.push(seed.events ? create(i) : engine.withoutEvents(() => create(i)));
        }
        return ids;
      },
    },
    close: async () => {
      webhooks.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Body-reading failures (too large, aborted) keep their 4xx; anything else is the emulator's own fault. */
function asStripeError(error: unknown): StripeApiError {
  if (error instanceof StripeApiError) return error;
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new StripeApiError({ status, type: 'invalid_request_error', message: (error as Error).message });
  }
  return new StripeApiError({
    status: 500,
    type: 'api_error',
    message: 'An unknown error occurred in the emulator.',
  });
}

function checkParameters(params: Params, accepted: string): void {
  const known = new Set(accepted.split(' '));
  for (const name of Object.keys(params)) {
    if (name === 'expand' || known.has(name)) continue;
    throw new StripeApiError({
      status: 400,
      type: 'invalid_request_error',
      code: 'parameter_unknown',
      param: name,
      message: `Received unknown parameter: ${name}`,
    });
  }
}

async function readParams(ctx: Koa.Context): Promise<Params> {
  const query = ctx.querystring ? (qs.parse(ctx.querystring, QS_OPTIONS) as Params) : {};
  if (ctx.method === 'GET') return query;
  const raw = await getRawBody(ctx.req, { limit: '1mb', encoding: 'utf8' });
  if (!raw) return query;
  if (ctx.is('application/json')) {
    try {
      return { ...query, ...(JSON.parse(raw) as Params) };
    } catch {
      throw new StripeApiError({ status: 400, type: 'invalid_request_error', message: 'Invalid JSON body.' });
    }
  }
  return { ...query, ...(qs.parse(raw, QS_OPTIONS) as Params) };
}

/** Stripe's encoding: `items[0][price]`, up to 1,000 array items and deep nesting. */
const QS_OPTIONS = { arrayLimit: 1000, depth: 10, parameterLimit: 10_000 };

/** A copy of the result with `expand[]` applied, as JSON (a copy, so later changes never leak into it). */
function render(result: unknown, paths: string[], resolve: (id: string) => StripeObject | undefined): string {
  if (paths.length === 0) return JSON.stringify(result, null, 2);
  const copy = cloneJson(result) as Record<string, unknown>;
  expand(copy, paths, resolve);
  return JSON.stringify(copy, null, 2);
}
