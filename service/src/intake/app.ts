/**
 * The Koa application: webhooks in, health, metrics and the dead-letter admin API. `createApp` builds it
 * without listening (tests drive `app.callback()`). The web layer verifies, stores and answers; the work
 * happens in the worker pool.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import getRawBody from 'raw-body';
import type { Logger } from '../observability/log';
import { parseDataverseWebhook } from './dataverse';
import { WebhookRejection } from './rejection';
import { createStripeWebhookVerifier } from './stripe';
import type { EventSource, Store } from '../store';
import { constantTimeKeyCheck, presentedAdminKey } from './auth';
import { createMetrics, type Metrics } from '../observability/metrics';

export interface AppDeps {
  store: Store;
  logger: Logger;
  /**
   * Whether a worker takes events of this type from this source (the pipeline's routing, handed in by the
   * service); the others are recorded as `ignored`.
   */
  takes(type: string, source: EventSource): boolean;
  /** Every `whsec_…` secret accepted (several during rotation). */
  stripeWebhookSecrets: readonly string[];
  dataverseWebhook: { key: string; header?: string };
  adminApiKey: string;
  metrics?: Metrics;
  /** Largest webhook body accepted, in bytes (413 beyond); default 1 MiB. */
  maxBodyBytes?: number;
  /** Called after a new event is queued: wakes idle workers of this process. */
  onEventQueued?: () => void;
  now?: () => number;
}

const ACK = '{"received":true}';
const ACK_DUPLICATE = '{"received":true,"duplicate":true}';
const ACK_IGNORED = '{"received":true,"ignored":true}';

export function createApp(deps: AppDeps): Koa {
  const { store, logger } = deps;
  const metrics = deps.metrics ?? createMetrics({ store });
  const now = deps.now ?? Date.now;
  const limit = deps.maxBodyBytes ?? 1_048_576;
  const takes = deps.takes;
  const verifyStripe = createStripeWebhookVerifier(deps.stripeWebhookSecrets);
  const isDataverseKey = constantTimeKeyCheck(deps.dataverseWebhook.key);
  const dataverseHeader = (deps.dataverseWebhook.header ?? 'x-stc-webhook-key').toLowerCase();
  const isAdminKey = constantTimeKeyCheck(deps.adminApiKey);
  const onQueued = deps.onEventQueued ?? (() => undefined);
  // Labelled children bound once: no label lookup per request on the hot path.
  const counters = (source: EventSource) => ({
    received: metrics.received.labels(source),
    verified: metrics.verified.labels(source),
    duplicates: metrics.duplicates.labels(source),
  });
  const stripeCounters = counters('stripe');
  const dataverseCounters = counters('dataverse');

  const app = new Koa();
  app.proxy = false;

  /** How any failure is answered and logged: shared by the error middleware and the Stripe fast path. */
  function failureReply(error: unknown, where: { path: string; method: string; eventId?: string }) {
    if (error instanceof WebhookRejection) {
      logger.warn({ path: where.path, status: error.status, reason: error.reason }, error.message);
      return { status: error.status, body: { error: { code: error.reason, message: error.message } } };
    }
    const status = (error as { status?: number }).status;
    const expose = (error as { expose?: boolean }).expose;
    if (status && status < 500 && expose) {
      logger.warn({ path: where.path, status }, (error as Error).message);
      return { status, body: { error: { code: 'bad_request', message: (error as Error).message } } };
    }
    logger.error(
      { err: error, path: where.path, method: where.method, eventId: where.eventId },
      'request failed',
    );
    return {
      status: 500,
      body: { error: { code: 'internal_error', message: 'Internal error; see the service log' } },
    };
  }

  // One error middleware, first: every failure becomes a short JSON answer and one log line.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const reply = failureReply(error, { path: ctx.path, method: ctx.method, eventId: ctx.state.eventId });
      ctx.status = reply.status;
      ctx.body = reply.body;
    }
  });

  function readRawBody(req: IncomingMessage, source: EventSource): Promise<string> {
    return getRawBody(req, { limit, length: req.headers['content-length'], encoding: 'utf8' }).catch(
      (error) => {
        const type = (error as { type?: string }).type;
        const rejection =
          type === 'entity.too.large'
            ? new WebhookRejection(413, 'too_large', `Body larger than ${limit} bytes`)
            : new WebhookRejection(400, 'malformed_json', 'Could not read the request body');
        metrics.rejected.inc({ source, reason: rejection.reason });
        throw rejection;
      },
    );
  }

  /**
   * Stripe intake: verify, store (committed before the answer, so an acknowledged event is never lost),
   * acknowledge. Returns the body of the 200; throws a WebhookRejection for bad input.
   */
  async function intakeStripe(req: IncomingMessage, state: { eventId?: string }): Promise<string> {
    stripeCounters.received.inc();
    const payload = await readRawBody(req, 'stripe');
    const receivedAtMs = now();
    const header = req.headers['stripe-signature'];
    let record;
    try {
      record = verifyStripe(
        payload,
        typeof header === 'string' && header !== '' ? header : undefined,
        receivedAtMs,
      ).record;
    } catch (error) {
      if (error instanceof WebhookRejection) metrics.rejected.inc({ source: 'stripe', reason: error.reason });
      throw error;
    }
    stripeCounters.verified.inc();
    state.eventId = record.eventId;
    const queued = takes(record.type, 'stripe');
    const inserted = await store.insertEvent({
      ...record,
      status: queued ? 'pending' : 'ignored',
      receivedAtMs,
    });
    if (!inserted) {
      stripeCounters.duplicates.inc();
      logger.debug(
        { eventId: record.eventId, account: record.account, type: record.type },
        'duplicate event acknowledged',
      );
      return ACK_DUPLICATE;
    }
    if (queued) onQueued();
    return queued ? ACK : ACK_IGNORED;
  }

  const sendJson = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  // The Stripe webhook is the hot path: it is served before Koa, whose per-request context, middleware chain
  // and response handling measured about as much CPU as the whole intake (verify + durable insert). Same
  // answers and log lines as the Koa routes, through the same `failureReply`.
  const koaCallback = app.callback.bind(app);
  app.callback = (() => {
    const handleWithKoa = koaCallback();
    return (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '';
      if (req.method === 'POST' && (url === '/webhooks/stripe' || url.startsWith('/webhooks/stripe?'))) {
        const state: { eventId?: string } = {};
        return intakeStripe(req, state).then(
          (body) => sendJson(res, 200, body),
          (error) => {
            const reply = failureReply(error, {
              path: '/webhooks/stripe',
              method: 'POST',
              eventId: state.eventId,
            });
            sendJson(res, reply.status, JSON.stringify(reply.body));
          },
        );
      }
      return handleWithKoa(req, res);
    };
  }) as typeof app.callback;

  const router = new Router();

  router.post('/webhooks/dataverse', async (ctx) => {
    dataverseCounters.received.inc();
    const key = ctx.get(dataverseHeader);
    if (!isDataverseKey(key || undefined)) {
      const rejection = key
        ? new WebhookRejection(401, 'bad_key', 'Wrong webhook key')
        : new WebhookRejection(401, 'missing_key', `Missing ${dataverseHeader} header`);
      metrics.rejected.inc({ source: 'dataverse', reason: rejection.reason });
      throw rejection;
    }
    const payload = await readRawBody(ctx.req, 'dataverse');
    const receivedAtMs = now();
    let record;
    try {
      record = parseDataverseWebhook(payload, receivedAtMs);
    } catch (error) {
      if (error instanceof WebhookRejection)
        metrics.rejected.inc({ source: 'dataverse', reason: error.reason });
      throw error;
    }
    dataverseCounters.verified.inc();
    ctx.state.eventId = record.eventId;
    const queued = takes(record.type, 'dataverse');
    const inserted = await store.insertEvent({
      ...record,
      status: queued ? 'pending' : 'ignored',
      receivedAtMs,
    });
    const log = logger.child({ eventId: record.eventId, source: 'dataverse', type: record.type });
    if (!inserted) dataverseCounters.duplicates.inc();
    else if (queued) onQueued();
    log.info({ duplicate: !inserted, queued }, 'Dataverse event received');
    ctx.type = 'application/json';
    ctx.body = !inserted ? ACK_DUPLICATE : queued ? ACK : ACK_IGNORED;
  });

  router.get('/healthz', async (ctx) => {
    try {
      await store.ping();
      ctx.body = { status: 'ok', store: store.engine };
    } catch (error) {
      logger.error({ err: error }, 'health check: store unreachable');
      ctx.status = 503;
      ctx.body = { status: 'unavailable', store: store.engine };
    }
  });

  // Everything below needs the admin key.
  const requireAdmin: Koa.Middleware = async (ctx, next) => {
    if (!isAdminKey(presentedAdminKey(ctx.headers))) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.body = {
        error: { code: 'unauthorized', message: 'Send the admin API key as "Authorization: Bearer <key>"' },
      };
      return;
    }
    await next();
  };

  router.get('/metrics', requireAdmin, async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });

  const idParam = (ctx: Koa.Context): number => {
    const id = Number(ctx.params.id);
    if (!Number.isSafeInteger(id) || id <= 0) ctx.throw(400, 'Dead letter id must be a positive integer');
    return id;
  };

  router.get('/admin/dead-letters', requireAdmin, async (ctx) => {
    const limit = Math.min(Math.max(Number(ctx.query.limit ?? 100) || 100, 1), 1000);
    const offset = Math.max(Number(ctx.query.offset ?? 0) || 0, 0);
    const includeResolved = ctx.query.all === 'true' || ctx.query.all === '1';
    ctx.body = { deadLetters: await store.listDeadLetters({ limit, offset, includeResolved }) };
  });

  router.get('/admin/dead-letters/:id', requireAdmin, async (ctx) => {
    const letter = await store.getDeadLetter(idParam(ctx));
    if (!letter) {
      ctx.status = 404;
      ctx.body = { error: { code: 'not_found', message: `No dead letter ${ctx.params.id}` } };
      return;
    }
    ctx.body = { ...letter, payload: JSON.parse(letter.payload) };
  });

  router.post('/admin/dead-letters/:id/retry', requireAdmin, async (ctx) => {
    const id = idParam(ctx);
    if (!(await store.retryDeadLetter(id))) {
      ctx.status = 404;
      ctx.body = { error: { code: 'not_found', message: `No open dead letter ${id}` } };
      return;
    }
    logger.info({ deadLetterId: id }, 'dead letter queued again by an operator');
    onQueued();
    ctx.body = { id, resolution: 'retried' };
  });

  router.delete('/admin/dead-letters/:id', requireAdmin, async (ctx) => {
    const id = idParam(ctx);
    if (!(await store.discardDeadLetter(id))) {
      ctx.status = 404;
      ctx.body = { error: { code: 'not_found', message: `No open dead letter ${id}` } };
      return;
    }
    logger.info({ deadLetterId: id }, 'dead letter discarded by an operator');
    ctx.body = { id, resolution: 'discarded' };
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
