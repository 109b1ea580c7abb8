/**
 * The HTTP face of the emulator: authentication, Connect scoping, rate limiting, form/JSON bodies,
 * idempotency, `expand[]`, Stripe's error JSON and `Request-Id`. Operations themselves live in resources/.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import Koa from 'koa';
import qs from 'qs';
import getRawBody from 'raw-body';
import { cloneJson } from './clone';
import type { RequestContext, StripeEngine } from './engine';
import { StripeApiError } from './errors';
import { expand } from './expand';
import type { StripeFaults } from './faults';
import { hostedPages } from './hosted';
import { canonicalJson, IdempotencyStore } from './idempotency';
import { newRequestId } from './ids';
import { expandPaths, Params } from './params';
import { RateLimiter } from './ratelimit';
import type { Route } from './routes';
import type { StripeEmulatorOptions } from './server';
import type { Scope, StripeObject } from './store';

const KEY_PATTERN = /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/;
const ACCOUNT_PATTERN = /^acct_[A-Za-z0-9]+$/;

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

/** Who may call and how often: API keys, connected accounts, the per-account rate limit. */
class Admission {
  private readonly limiter: RateLimiter | null;
  private readonly allowedKeys: Buffer[] | undefined;
  private readonly connected: Set<string> | null;

  constructor(
    private readonly engine: StripeEngine,
    options: StripeEmulatorOptions,
  ) {
    const rateLimitOption = options.rateLimit ?? 25;
    this.limiter =
      rateLimitOption === false
        ? null
        : new RateLimiter(
            typeof rateLimitOption === 'number' ? { perSecond: rateLimitOption } : rateLimitOption,
            () => engine.nowMs(),
          );
    this.allowedKeys = options.apiKeys?.map(digest);
    this.connected = options.connectedAccounts ? new Set(options.connectedAccounts) : null;
  }

  /** The scope the request acts in (its account and mode), once its key, account and rate are accepted. */
  admit(ctx: Koa.Context): { scope: Scope; account: string | null } {
    const { livemode } = this.authenticate(ctx.get('Authorization') || undefined);
    const account = this.accountOf(ctx.get('Stripe-Account') || ctx.get('Stripe-Context') || undefined);
    const scope = this.engine.scope(account, livemode);
    if (this.limiter && !this.limiter.take(scope.key)) {
      throw new StripeApiError({
        status: 429,
        type: 'invalid_request_error',
        code: 'rate_limit',
        message:
          'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
      });
    }
    return { scope, account };
  }

  private authenticate(header: string | undefined): { livemode: boolean } {
    const key = readApiKey(header);
    if (!key) {
      throw unauthorized(
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details.",
      );
    }
    const presented = digest(key);
    const accepted = this.allowedKeys
      ? this.allowedKeys.reduce((match, allowed) => timingSafeEqual(allowed, presented) || match, false)
      : KEY_PATTERN.test(key);
    if (!accepted) throw unauthorized(`Invalid API Key provided: ${maskKey(key)}`);
    return { livemode: /^[a-z]+_live_/.test(key) };
  }

  private accountOf(header: string | undefined): string | null {
    if (!header) return null;
    if (!ACCOUNT_PATTERN.test(header) || (this.connected && !this.connected.has(header))) {
      throw new StripeApiError({
        status: 403,
        type: 'invalid_request_error',
        code: 'account_invalid',
        message: `The provided key does not have access to account '${header}' (or that account does not exist). Application access may have been revoked.`,
      });
    }
    return header;
  }
}

function reply(ctx: Koa.Context, status: number, body: string): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = body;
}

/** Every failure leaves as Stripe's error JSON with its status and the request id. */
function stripeErrors(engine: StripeEngine): Koa.Middleware {
  return async (ctx, next) => {
    const requestId = newRequestId();
    ctx.state.requestId = requestId;
    ctx.set('Request-Id', requestId);
    ctx.set('Stripe-Version', ctx.get('Stripe-Version') || engine.apiVersion);
    try {
      await next();
    } catch (error) {
      const apiError = asStripeError(error);
      if (apiError.status >= 500) console.error('stripe emulator: unexpected error', error);
      reply(ctx, apiError.status, JSON.stringify(apiError.toJSON(), null, 2));
    }
  };
}

/** Runs routes: admission, parameters, idempotent replay and record, the operation, `expand[]`. */
class RouteRunner {
  private readonly idempotency = new IdempotencyStore();
  private readonly admission: Admission;

  constructor(
    private readonly engine: StripeEngine,
    private readonly options: StripeEmulatorOptions,
  ) {
    this.admission = new Admission(engine, options);
  }

  async run(route: Route, ctx: Koa.Context): Promise<void> {
    const { scope, account } = this.admission.admit(ctx);
    const params = await readParams(ctx);
    if (route.params !== undefined && this.options.strictParameters !== false)
      checkParameters(params, route.params);
    const idempotencyKey =
      ctx.method === 'POST' || ctx.method === 'DELETE' ? ctx.get('Idempotency-Key') || null : null;
    const fingerprint = `${ctx.method} ${ctx.path} ${canonicalJson(params)}`;
    if (idempotencyKey) {
      ctx.set('Idempotency-Key', idempotencyKey);
      if (this.replay(ctx, scope.key, idempotencyKey, fingerprint)) return;
    }
    if (account) ctx.set('Stripe-Account', account);
    const requestId: string = ctx.state.requestId;
    const requestContext: RequestContext = { scope, requestId, idempotencyKey };
    const { status, body } = await this.execute(route, ctx, requestContext, params);
    if (idempotencyKey)
      this.idempotency.save(scope.key, idempotencyKey, { fingerprint, status, body, requestId });
    reply(ctx, status, body);
  }

  /** Answers with the stored response of an earlier request with the same key; false when there is none. */
  private replay(ctx: Koa.Context, scopeKey: string, idempotencyKey: string, fingerprint: string): boolean {
    const stored = this.idempotency.lookup(scopeKey, idempotencyKey, fingerprint);
    if (!stored) return false;
    ctx.set('Idempotent-Replayed', 'true');
    ctx.set('Original-Request', stored.requestId);
    reply(ctx, stored.status, stored.body);
    return true;
  }

  private async execute(
    route: Route,
    ctx: Koa.Context,
    requestContext: RequestContext,
    params: Params,
  ): Promise<{ status: number; body: string }> {
    try {
      let result = route.operation(this.engine, requestContext, params, ctx.params as Record<string, string>);
      // Operations are synchronous so that a request and its idempotency record are one step; only test
      // helpers that wait for webhook deliveries return a promise.
      if (result instanceof Promise) result = await result;
      const { scope } = requestContext;
      return { status: 200, body: render(result, expandPaths(params), (id) => scope.find(id)) };
    } catch (error) {
      // Failures after the operation started (card declines, wrong state) are replayed; validation is not.
      if (!(error instanceof StripeApiError) || !error.replayable || !requestContext.idempotencyKey)
        throw error;
      return { status: error.status, body: JSON.stringify(error.toJSON(), null, 2) };
    }
  }
}

/** The Koa application serving the routes. */
export function stripeApp(
  engine: StripeEngine,
  options: StripeEmulatorOptions,
  routes: Route[],
  faults?: StripeFaults,
): Koa {
  const app = new Koa();
  const router = new Router();
  const runner = new RouteRunner(engine, options);
  if (faults) app.use(faults.middleware());
  app.use(stripeErrors(engine));
  app.use(hostedPages(engine));
  for (const route of routes) router[route.method](route.path, (ctx) => runner.run(route, ctx));
  app.use(router.routes());
  app.use(async (ctx) => {
    throw new StripeApiError({
      status: 404,
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${ctx.method}: ${ctx.path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    });
  });
  return app;
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
