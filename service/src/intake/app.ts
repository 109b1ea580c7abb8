/**
 * The Koa application: webhooks in, health, metrics and the dead-letter admin API. `createApp` builds it
 * without listening (tests drive `app.callback()`). The web layer verifies, stores and answers; the work
 * happens in the worker pool.
 */
import Router from '@koa/router';
import Koa from 'koa';
import { consoleGuard, createEntraSignIn, registerConsoleApi } from '../console';
import { serveConsolePages } from '../console/static';
import { registerMappingRoutes } from '../console/mapping-routes';
import { registerStudioRoutes } from '../console/studio-routes';
import { adminGuard, registerDeadLetters, registerHealth, registerMetrics } from './admin';
import { createIntakeContext, type AppDeps } from './context';
import { registerDataverseWebhook, serveStripeBeforeKoa } from './webhooks';

export type { AppDeps } from './context';

export function createApp(deps: AppDeps): Koa {
  const intake = createIntakeContext(deps);
  const app = new Koa();
  app.proxy = false;

  // One error middleware, first: every failure becomes a short JSON answer and one log line.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const reply = intake.failureReply(error, {
        path: ctx.path,
        method: ctx.method,
        eventId: ctx.state.eventId,
      });
      ctx.status = reply.status;
      ctx.body = reply.body;
    }
  });

  serveStripeBeforeKoa(app, intake, deps.stripeWebhookSecrets);
  // The operator console's pages (static, no sign-in); its API under /console/api is behind the session.
  app.use(serveConsolePages());

  // Routes match their path exactly, case included: a guard that checks a path prefix sees what they match.
  const router = new Router({ sensitive: true });
  registerDataverseWebhook(router, intake, deps.dataverseWebhook);
  registerHealth(router, intake);
  // Everything below needs the admin key.
  const requireAdmin = adminGuard(deps.adminApiKey);
  registerMetrics(router, intake, requireAdmin);
  registerDeadLetters(router, intake, requireAdmin);
  // The operator console's API: its own guard (session cookie or admin key) over every /console/api path.
  const entraSignIn = deps.console?.entraSignIn;
  const entra = entraSignIn
    ? createEntraSignIn({
        ...entraSignIn,
        adminApiKey: deps.adminApiKey,
        logger: intake.logger,
        now: intake.now,
      })
    : undefined;
  app.use(
    consoleGuard(deps.adminApiKey, intake.now, {
      entraSignIn: entra !== undefined,
      entraSessions: entra?.sessions,
    }),
  );
  registerConsoleApi(router, intake, { adminApiKey: deps.adminApiKey, ...deps.console }, entra);
  if (deps.mappingVersions) {
    registerMappingRoutes(router, deps.mappingVersions, deps.logger);
    registerStudioRoutes(router, { ops: deps.mappingVersions, store: intake.store, logger: deps.logger });
  }

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
