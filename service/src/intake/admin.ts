/** The health check and the routes behind the admin key: metrics and the dead-letter admin API. */
import type Router from '@koa/router';
import type Koa from 'koa';
import { constantTimeKeyCheck, presentedAdminKey } from './auth';
import type { IntakeContext } from './context';

/** GET /healthz: 200 while the store answers, 503 otherwise. */
export function registerHealth(router: Router, intake: IntakeContext): void {
  const { store, logger } = intake;
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
}

/** A middleware answering 401 unless the request presents the admin key. */
export function adminGuard(adminApiKey: string): Koa.Middleware {
  const isAdminKey = constantTimeKeyCheck(adminApiKey);
  return async (ctx, next) => {
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
}

/** GET /metrics: the Prometheus registry. */
export function registerMetrics(router: Router, intake: IntakeContext, requireAdmin: Koa.Middleware): void {
  router.get('/metrics', requireAdmin, async (ctx) => {
    ctx.type = intake.metrics.registry.contentType;
    ctx.body = await intake.metrics.registry.metrics();
  });
}

const idParam = (ctx: Koa.Context): number => {
  const id = Number(ctx.params.id);
  if (!Number.isSafeInteger(id) || id <= 0) ctx.throw(400, 'Dead letter id must be a positive integer');
  return id;
};

/** The dead-letter admin API: list, read one, retry, discard. */
export function registerDeadLetters(
  router: Router,
  intake: IntakeContext,
  requireAdmin: Koa.Middleware,
): void {
  const { store, logger } = intake;
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

  /** Resolves an open dead letter; 404 when there is none with this id. */
  const resolution =
    (
      resolve: (id: number) => Promise<boolean>,
      name: 'retried' | 'discarded',
      logLine: string,
      after: () => void,
    ) =>
    async (ctx: Koa.Context) => {
      const id = idParam(ctx);
      if (!(await resolve(id))) {
        ctx.status = 404;
        ctx.body = { error: { code: 'not_found', message: `No open dead letter ${id}` } };
        return;
      }
      logger.info({ deadLetterId: id }, logLine);
      after();
      ctx.body = { id, resolution: name };
    };
  router.post(
    '/admin/dead-letters/:id/retry',
    requireAdmin,
    resolution(
      (id) => store.retryDeadLetter(id),
      'retried',
      'dead letter queued again by an operator',
      intake.onQueued,
    ),
  );
  router.delete(
    '/admin/dead-letters/:id',
    requireAdmin,
    resolution(
      (id) => store.discardDeadLetter(id),
      'discarded',
      'dead letter discarded by an operator',
      () => undefined,
    ),
  );
}
