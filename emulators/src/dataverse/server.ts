/**
 * The Dataverse Web API emulator's HTTP server (plain `node:http`, for speed). Order of work per request:
 * fault injection → authentication → service protection limits → the Web API (or `$batch`) → commit → webhooks.
 * `/_emulator/…` is a small admin surface for tests and scripts, answered to loopback callers only.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as solution from '@stc/solution';
import type { TableModel } from '@stc/solution';
import { type ApiRequest, type ApiResponse, handleApiRequest, parsePrefer } from './api';
import {
  type AuthOptions,
  Authenticator,
  SANDBOX_ADMIN,
  type SystemUser,
  type UserDirectory,
  isLoopback,
} from './auth';
import { type BatchExecutor, executeBatch } from './batch';
import { DataverseEngine, type ChangeEvent, type WriteScope, noAnnotations } from './engine';
import { DataverseHttpError } from './errors';
import { type FaultSpec, FaultInjector } from './faults';
import { type LimitSettings, ServiceProtection } from './limits';
import {
  buildModelIndex,
  roleTable,
  systemUserRolesTable,
  systemUserTable,
  type TableMeta,
} from './metadata';
import { REGISTRATION_TABLES, registrationTables, seedRows, stepsFromRows } from './registrations';
import { RowStore } from './store';
import {
  type WebhookRegistration,
  WebhookDispatcher,
  type WebhookDelivery,
  type RegisteredWebhook,
} from './webhooks';

export const API_ROOT = '/api/data/v9.2/';

export interface DataverseEmulatorOptions {
  /** Tables to serve; defaults to the solution's table model. */
  model?: TableModel;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Keep rows in this SQLite file (created when missing) instead of memory only. */
  sqlitePath?: string;
  /** Default `{ mode: 'none' }`: loopback callers without a token. */
  auth?: AuthOptions;
  /** Service protection limits; off unless `enabled: true`. */
  limits?: Partial<LimitSettings>;
  /** Users of the environment; the first is the caller when auth is `none`. Default: one administrator. */
  systemUsers?: SystemUser[];
  organizationName?: string;
  organizationId?: string;
  /** Host name sent in `x-ms-dynamics-organization`. */
  organizationDomain?: string;
  /** Enforce ApplicationRequired columns on create (Dataverse enforces only SystemRequired). */
  enforceApplicationRequired?: boolean;
  /** Clock for createdon/modifiedon (tests). */
  now?: () => Date;
  /** Webhook delivery timing; Dataverse's own are a 60 s timeout and one retry of 502/503/504. */
  webhooks?: { timeoutMs?: number; retryDelayMs?: number };
}

/** Direct access to the rows, for tests: rows come back in the Web API's JSON shape. */
export interface EmulatorStoreAccess {
  rows(entitySetOrTable: string): Record<string, unknown>[];
  get(entitySetOrTable: string, id: string): Record<string, unknown> | undefined;
  count(entitySetOrTable: string): number;
  /** Creates a row from a Web API payload (as the sandbox administrator); returns its id. */
  insert(entitySetOrTable: string, payload: Record<string, unknown>): string;
  clear(): void;
}

export interface DataverseEmulator {
  /** `http://127.0.0.1:PORT/api/data/v9.2/` */
  url: string;
  port: number;
  store: EmulatorStoreAccess;
  /** Replaces the limits; unnamed settings take Dataverse's values (6,000 requests / 300 s, 52 concurrent…). */
  setLimits(limits: Partial<LimitSettings>): void;
  injectFault(fault: FaultSpec): void;
  clearFaults(): void;
  registerWebhook(registration: WebhookRegistration): RegisteredWebhook;
  /** Every webhook POST attempted so far. */
  webhookDeliveries(): WebhookDelivery[];
  /** Resolves when no webhook delivery is in flight. */
  webhooksIdle(): Promise<void>;
  addSystemUser(user: SystemUser): void;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; odata.metadata=minimal';

function defaultModel(): TableModel {
  const model = (solution as { model?: TableModel }).model;
  if (!model)
    throw new Error(
      'No table model: pass `model` to startDataverseEmulator (the solution exports none yet).',
    );
  return model;
}

export async function startDataverseEmulator(
  options: DataverseEmulatorOptions = {},
): Promise<DataverseEmulator> {
  const index = buildModelIndex(options.model ?? defaultModel(), [
    systemUserTable,
    roleTable,
    systemUserRolesTable,
    ...registrationTables,
  ]);
  const store = new RowStore(index, options.sqlitePath);
  const engine = new DataverseEngine(index, store, {
    enforceApplicationRequired: options.enforceApplicationRequired,
    now: options.now,
  });
  const organizationId = options.organizationId ?? '8f2a1c3e-5d4b-4e6f-9a7b-0c1d2e3f4a5b';
  const organizationName = options.organizationName ?? 'stcsandbox';
  const businessUnitId = '3c9e2b1a-7f6d-4e5c-8b4a-2d1e0f9a8b7c';
  const userMeta = index.byLogical.get('systemuser')!;
  const roles = new Map<string, string[]>();

  const systemScope = (): WriteScope => ({
    tx: store.begin(),
    caller: { userId: SANDBOX_ADMIN.systemuserid, initiatingUserId: SANDBOX_ADMIN.systemuserid },
    contentIds: new Map(),
    events: [],
    correlationId: randomUUID(),
  });

  // The user's roles, also as rows of `roles` and `systemuserrolescollection` (when the model serves them).
  const roleMeta = index.byLogical.get('role');
  const userRoleMeta = index.byLogical.get('systemuserroles');
  const assignRoles = (userId: string, names: string[], scope: WriteScope) => {
    if (!roleMeta || !userRoleMeta) return;
    for (const row of [...store.rows('systemuserroles')]) {
      if (row.values.systemuserid === userId) engine.delete(userRoleMeta, row, scope);
    }
    for (const name of names) {
      const role =
        [...store.rows('role')].find((r) => r.values.name === name) ??
        engine.create(roleMeta, { name }, scope);
      engine.create(userRoleMeta, { systemuserid: userId, roleid: role.id }, scope);
    }
  };

  const addSystemUser = (user: SystemUser) => {
    const id = user.systemuserid.toLowerCase();
    roles.set(id, user.roles ?? []);
    const payload: Record<string, unknown> = {
      fullname: user.fullname,
      isdisabled: user.isdisabled ?? false,
    };
    if (user.applicationid) payload.applicationid = user.applicationid;
    if (user.azureactivedirectoryobjectid)
      payload.azureactivedirectoryobjectid = user.azureactivedirectoryobjectid;
    const scope = systemScope();
    const existing = store.get('systemuser', id);
    if (existing) engine.update(userMeta, existing, payload, scope);
    else engine.create(userMeta, payload, scope, id);
    assignRoles(id, user.roles ?? [], scope);
    scope.tx.commit();
  };
  const seedUsers = options.systemUsers ?? [SANDBOX_ADMIN];
  const seedPlatformRows = () => {
    for (const user of seedUsers) addSystemUser(user);
    const scope = systemScope();
    for (const row of seedRows(index)) {
      if (!store.get(row.table, row.id))
        engine.create(index.byLogical.get(row.table)!, row.payload, scope, row.id);
    }
    scope.tx.commit();
  };
  seedPlatformRows();

  const userFromRow = (id: string): SystemUser | undefined => {
    const row = store.get('systemuser', id);
    if (!row) return undefined;
    return {
      systemuserid: row.id,
      fullname: String(row.values.fullname ?? ''),
      applicationid: row.values.applicationid as string | undefined,
      azureactivedirectoryobjectid: row.values.azureactivedirectoryobjectid as string | undefined,
      isdisabled: row.values.isdisabled === true,
      roles: roles.get(row.id) ?? [],
    };
  };
  const findUser = (column: string, value: string) => {
    const v = value.toLowerCase();
    for (const row of store.rows('systemuser'))
      if (String(row.values[column] ?? '').toLowerCase() === v) return userFromRow(row.id);
    return undefined;
  };
  const directory: UserDirectory = {
    byId: (id) => userFromRow(id.toLowerCase()),
    byObjectId: (oid) => findUser('azureactivedirectoryobjectid', oid),
    byApplicationId: (appid) => findUser('applicationid', appid),
    defaultUser: () => userFromRow(seedUsers[0].systemuserid.toLowerCase()) ?? SANDBOX_ADMIN,
  };

  const authOptions = options.auth ?? { mode: 'none' };
  const authenticator = new Authenticator(authOptions, directory);
  const limits = new ServiceProtection(options.limits);
  const faults = new FaultInjector();
  const webhooks = new WebhookDispatcher({
    organizationName,
    organizationId,
    organizationDomain: options.organizationDomain ?? `${organizationName}.crm.dynamics.com`,
    businessUnitId,
    model: index,
    store,
    timeoutMs: options.webhooks?.timeoutMs,
    retryDelayMs: options.webhooks?.retryDelayMs,
  });

  const syncRowSteps = () => webhooks.syncRowSteps(stepsFromRows(store));
  syncRowSteps();
  const deliver = (events: ChangeEvent[]) => {
    if (events.length === 0) return;
    if (events.some((e) => REGISTRATION_TABLES.has(e.table))) syncRowSteps();
    webhooks.dispatch(events);
  };

  const newScope = (
    caller: { userId: string; initiatingUserId: string },
    correlationId: string,
  ): WriteScope => ({
    tx: store.begin(),
    caller: { userId: caller.userId, initiatingUserId: caller.initiatingUserId },
    contentIds: new Map(),
    events: [],
    correlationId,
  });

  const apiContext = (scope: WriteScope) => ({ engine, scope, organizationId, businessUnitId });

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, errorResponse(error));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';
    const body = await readBody(req);

    if (pathname.startsWith('/_emulator/')) return admin(req, res, pathname, body);

    const fault = faults.take(method, pathname);
    if (fault.drop) {
      req.socket.destroy();
      return;
    }
    if (fault.status !== undefined) {
      send(res, {
        status: fault.status,
        headers: {},
        body: {
          error: {
            code: '0x80040216',
            message: `The service is unavailable (fault injected by the emulator, status ${fault.status}).`,
          },
        },
      });
      return;
    }

    if (!pathname.startsWith(API_ROOT) && pathname !== API_ROOT.slice(0, -1)) {
      send(res, {
        status: 404,
        headers: {},
        body: {
          error: {
            code: '',
            message: `No HTTP resource was found that matches the request URI '${pathname}'.`,
          },
        },
      });
      return;
    }
    const headers = lowerHeaders(req.headers);
    const caller = await authenticator.authenticate(headers, req.socket.remoteAddress);
    const release = limits.enter(caller.limitKey);
    try {
      // Injected latency stands for a slow server: it counts toward concurrency and execution time.
      if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
      const path = pathname.slice(API_ROOT.length);
      const correlationId = randomUUID();
      if (path === '$batch') {
        if (method !== 'POST')
          throw new DataverseHttpError(405, '0x0', 'The $batch endpoint answers POST only.');
        const committed: ChangeEvent[] = [];
        const executor: BatchExecutor = {
          baseUrl: engine.baseUrl,
          newScope: () => newScope(caller, correlationId),
          run: (request, scope) => runApi(request, scope),
          commit: (scope) => {
            scope.tx.commit();
            committed.push(...scope.events);
          },
          rollback: (scope) => scope.tx.rollback(),
        };
        const result = executeBatch(
          body,
          headers['content-type'],
          parsePrefer(headers.prefer).continueOnError,
          executor,
        );
        res.writeHead(result.status, {
          'Content-Type': result.contentType,
          'OData-Version': '4.0',
          ...limits.budgetHeaders(caller.limitKey),
        });
        res.end(result.body);
        deliver(committed);
        return;
      }
      const scope = newScope(caller, correlationId);
      const request: ApiRequest = { method, path, query, headers, body };
      let response: ApiResponse;
      try {
        response = handleApiRequest(apiContext(scope), request);
      } catch (error) {
        scope.tx.rollback();
        throw error;
      }
      scope.tx.commit();
      send(res, { ...response, headers: { ...response.headers, ...limits.budgetHeaders(caller.limitKey) } });
      deliver(scope.events);
    } finally {
      release();
    }
  }

  function runApi(request: ApiRequest, scope: WriteScope): ApiResponse {
    try {
      return handleApiRequest(apiContext(scope), request);
    } catch (error) {
      return errorResponse(error);
    }
  }

  async function admin(req: http.IncomingMessage, res: http.ServerResponse, pathname: string, body: string) {
    if (!isLoopback(req.socket.remoteAddress)) {
      send(res, {
        status: 403,
        headers: {},
        body: { error: { code: '0x0', message: 'The emulator admin routes answer loopback callers only.' } },
      });
      return;
    }
    let input: Record<string, unknown> = {};
    try {
      input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    } catch {
      send(res, {
        status: 400,
        headers: {},
        body: { error: { code: '0x0', message: 'The admin request body is not valid JSON.' } },
      });
      return;
    }
    const method = req.method ?? 'GET';
    const ok = (payload: unknown = { ok: true }) => send(res, { status: 200, headers: {}, body: payload });
    switch (`${method} ${pathname}`) {
      case 'POST /_emulator/faults':
        faults.add(input as FaultSpec);
        return ok();
      case 'DELETE /_emulator/faults':
        faults.clear();
        return ok();
      case 'POST /_emulator/limits':
        limits.replace(input as Partial<LimitSettings>);
        limits.reset();
        return ok(limits.settings);
      case 'GET /_emulator/limits':
        return ok(limits.settings);
      case 'POST /_emulator/reset':
        store.clear();
        seedPlatformRows();
        syncRowSteps();
        return ok();
      case 'POST /_emulator/webhooks': {
        const registered = webhooks.register(input as unknown as WebhookRegistration);
        return ok({ id: registered.id });
      }
      case 'GET /_emulator/webhooks/deliveries':
        return ok(webhooks.deliveries);
      default:
        send(res, {
          status: 404,
          headers: {},
          body: { error: { code: '', message: `Unknown admin route ${method} ${pathname}` } },
        });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  engine.baseUrl = `http://${host}:${port}${API_ROOT}`;

  const metaOf = (name: string): TableMeta => {
    const meta = index.bySet.get(name) ?? index.byLogical.get(name);
    if (!meta) throw new Error(`No table or entity set named ${name}`);
    return meta;
  };

  return {
    url: engine.baseUrl,
    port,
    store: {
      rows: (name) => {
        const meta = metaOf(name);
        return [...store.rows(meta.logicalName)].map((r) => engine.renderRow(meta, r, {}, noAnnotations));
      },
      get: (name, id) => {
        const meta = metaOf(name);
        const row = store.get(meta.logicalName, id.toLowerCase());
        return row ? engine.renderRow(meta, row, {}, noAnnotations) : undefined;
      },
      count: (name) => store.count(metaOf(name).logicalName),
      insert: (name, payload) => {
        const scope = systemScope();
        const row = engine.create(metaOf(name), payload, scope);
        scope.tx.commit();
        deliver(scope.events);
        return row.id;
      },
      clear: () => {
        store.clear();
        seedPlatformRows();
        syncRowSteps();
      },
    },
    setLimits: (settings) => {
      limits.replace(settings);
      limits.reset();
    },
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    registerWebhook: (registration) => webhooks.register(registration),
    webhookDeliveries: () => [...webhooks.deliveries],
    webhooksIdle: () => webhooks.idle(),
    addSystemUser,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      webhooks.abort();
      await webhooks.idle();
      store.close();
    },
  };
}

function lowerHeaders(headers: http.IncomingHttpHeaders): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers))
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function errorResponse(error: unknown): ApiResponse {
  if (error instanceof DataverseHttpError)
    return { status: error.status, headers: { ...error.headers }, body: error.toBody() };
  console.error('dataverse emulator: unexpected error', error);
  return {
    status: 500,
    headers: {},
    body: {
      error: { code: '0x80040216', message: `An unexpected error occurred: ${(error as Error)?.message}` },
    },
  };
}

function send(res: http.ServerResponse, response: ApiResponse): void {
  const headers: Record<string, string> = { 'OData-Version': '4.0', ...response.headers };
  if (response.text !== undefined) {
    headers['Content-Type'] = 'text/plain';
    headers['Content-Length'] = String(Buffer.byteLength(response.text));
    res.writeHead(response.status, headers);
    res.end(response.text);
  } else if (response.body !== undefined) {
    const text = JSON.stringify(response.body);
    headers['Content-Type'] = JSON_TYPE;
    headers['Content-Length'] = String(Buffer.byteLength(text));
    res.writeHead(response.status, headers);
    res.end(text);
  } else {
    res.writeHead(response.status, headers);
    res.end();
  }
}
