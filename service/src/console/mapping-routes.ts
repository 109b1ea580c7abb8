/**
 * The console's mapping-version routes (see contract.ts): list, read, diff, create (validated against the
 * table model), activate, roll back, dry-run and replay. They sit under /console/api, so the console guard
 * (session cookie or admin key) covers them; the work is in mapping-versions/operations.ts.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import type Stripe from 'stripe';
import { MappingError } from '../mapping';
import { MappingVersionRequestError, type MappingVersionOps } from '../mapping-versions';
import type { Logger } from '../observability/log';
import type {
  MappingActivated,
  MappingDiff,
  MappingDryRun,
  MappingDryRunRequest,
  MappingReplay,
  MappingReplayRequest,
  MappingVersionCreate,
  MappingVersionFiles,
  MappingVersionList,
  MappingVersionSummary,
} from './contract';
import { BadRequest, readJsonBody } from './body';
import { apiError, type ConsoleCaller } from './session';

const PREFIX = '/console/api/mappings';

const STATUS: Record<MappingVersionRequestError['code'], number> = {
  not_found: 404,
  no_previous_version: 409,
  invalid_request: 400,
};

function versionNumber(text: unknown, what: string): number {
  const version = Number(text);
  if (!Number.isSafeInteger(version) || version <= 0)
    throw new BadRequest(`${what} must be a mapping version number (a positive integer)`);
  return version;
}

const callerName = (ctx: Koa.Context): string =>
  (ctx.state.console as ConsoleCaller | undefined)?.name ?? 'console';

const optionalMs = (value: unknown, name: string): number | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new BadRequest(`${name} must be milliseconds`);
  return value;
};

/** Answers the failures of a mapping-version route: invalid files 422 with the mapping engine's message. */
function answering(log: Logger, route: (ctx: Koa.Context) => Promise<void>): Koa.Middleware {
  return async (ctx) => {
    try {
      await route(ctx);
    } catch (error) {
      if (error instanceof MappingError) apiError(ctx, 422, error.code, error.message);
      else if (error instanceof MappingVersionRequestError)
        apiError(ctx, STATUS[error.code], error.code, error.message);
      else if (error instanceof BadRequest) apiError(ctx, 400, 'invalid_request', error.message);
      else {
        log.error({ err: error, path: ctx.path }, 'mapping version request failed');
        apiError(ctx, 500, 'internal', 'The request failed; the service log has the details');
      }
    }
  };
}

export function registerMappingRoutes(router: Router, ops: MappingVersionOps, logger: Logger): void {
  const log = logger.child({ component: 'mapping-versions' });
  const route = (handler: (ctx: Koa.Context) => Promise<void>) => answering(log, handler);
  registerReads(router, ops, route);
  registerChanges(router, ops, route, log);
  registerRuns(router, ops, route, log);
}

type Route = (handler: (ctx: Koa.Context) => Promise<void>) => Koa.Middleware;

/** List, diff, read one. */
function registerReads(router: Router, ops: MappingVersionOps, route: Route): void {
  router.get(
    PREFIX,
    route(async (ctx) => {
      const list: MappingVersionList = { versions: await ops.list() };
      ctx.body = list;
    }),
  );

  router.get(
    `${PREFIX}/diff`,
    route(async (ctx) => {
      const from = versionNumber(ctx.query.from, 'from');
      const to = versionNumber(ctx.query.to, 'to');
      const diff: MappingDiff = { from, to, files: await ops.diff(from, to) };
      ctx.body = diff;
    }),
  );

  router.get(
    `${PREFIX}/:version`,
    route(async (ctx) => {
      const files: MappingVersionFiles = await ops.get(versionNumber(ctx.params.version, 'The version'));
      ctx.body = files;
    }),
  );
}

/** Create, roll back, activate. */
function registerChanges(router: Router, ops: MappingVersionOps, route: Route, log: Logger): void {
  router.post(
    PREFIX,
    route(async (ctx) => {
      const body = (await readJsonBody(ctx)) as Partial<MappingVersionCreate>;
      if (typeof body.files !== 'object' || body.files === null || Array.isArray(body.files))
        throw new BadRequest('files must be an object of file name → text');
      if (body.note !== undefined && typeof body.note !== 'string') throw new BadRequest('note must be text');
      const created: MappingVersionSummary = await ops.create(body.files, {
        createdBy: callerName(ctx),
        note: body.note ?? null,
        activate: body.activate === true,
      });
      log.info(
        { mappingVersion: created.version, by: created.createdBy, active: created.active },
        'mapping version created',
      );
      ctx.status = 201;
      ctx.body = created;
    }),
  );

  router.post(
    `${PREFIX}/rollback`,
    route(async (ctx) => {
      const result: MappingActivated = await ops.rollback(callerName(ctx));
      log.info({ ...result, by: callerName(ctx) }, `mapping version rolled back to ${result.active}`);
      ctx.body = result;
    }),
  );

  router.post(
    `${PREFIX}/:version/activate`,
    route(async (ctx) => {
      const version = versionNumber(ctx.params.version, 'The version');
      const result: MappingActivated = await ops.activate(version, callerName(ctx));
      log.info({ ...result, by: callerName(ctx) }, `mapping version ${version} activated`);
      ctx.body = result;
    }),
  );
}

/** Dry run and replay. */
function registerRuns(router: Router, ops: MappingVersionOps, route: Route, log: Logger): void {
  router.post(
    `${PREFIX}/dry-run`,
    route(async (ctx) => {
      const body = (await readJsonBody(ctx)) as Partial<MappingDryRunRequest>;
      const version = versionNumber(body.version, 'version');
      let event: Stripe.Event;
      if (body.inboxId !== undefined) event = await ops.inboxEvent(versionNumber(body.inboxId, 'inboxId'));
      else if (body.payload && typeof body.payload === 'object') event = body.payload as Stripe.Event;
      else throw new BadRequest('Give inboxId (an inbox event) or payload (a Stripe event)');
      const result: MappingDryRun = await ops.dryRun(version, event);
      ctx.body = result;
    }),
  );

  router.post(
    `${PREFIX}/replay`,
    route(async (ctx) => {
      const body = (await readJsonBody(ctx)) as MappingReplayRequest;
      if (body.type !== undefined && (typeof body.type !== 'string' || body.type === ''))
        throw new BadRequest('type must be an event type, or a prefix such as charge.*');
      const result: MappingReplay = await ops.replay({
        type: body.type,
        fromMs: optionalMs(body.fromMs, 'fromMs'),
        toMs: optionalMs(body.toMs, 'toMs'),
      });
      log.info({ ...result, filter: body, by: callerName(ctx) }, 'events queued again for replay');
      ctx.body = result;
    }),
  );
}
