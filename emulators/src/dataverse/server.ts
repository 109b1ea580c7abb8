/**
 * The Dataverse Web API emulator's HTTP server (plain `node:http`, for speed). Order of work per request:
 * fault injection → authentication → service protection limits → the Web API (or `$batch`) → commit → webhooks.
 * `/_emulator/…` is a small admin surface for tests and scripts, answered to loopback callers only.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TableModel } from '@stc/solution';
import { type ApiRequest, type ApiResponse, handleApiRequest, parsePrefer } from './api';
import { type AuthenticatedCaller, type AuthOptions, type SystemUser, isLoopback } from './auth';
import { type BatchExecutor, executeBatch } from './batch';
import type { ChangeEvent, WriteScope } from './engine';
import { readSolutionZip } from './customizations';
import { DataverseEnvironment } from './environment';
import { DataverseHttpError } from './errors';
import type { FaultSpec } from './faults';
import type { LimitSettings } from './limits';
import type { WebhookRegistration, WebhookDelivery, RegisteredWebhook } from './webhooks';

export const API_ROOT = '/api/data/v9.2/';

export interface DataverseEmulatorOptions {
  /** Tables to serve; defaults to the solution's table model. */
  model?: TableModel;
  /**
   * Start as a new environment: the platform's tables only (the standard tables `model` describes, without
   * the solution's additions), the solution to come by `ImportSolution`.
   */
  withoutSolution?: boolean;
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
  /**
   * New products are Active rather than Draft (the organization setting "Create products in active state",
   * CreateProductsWithoutParentInActiveState); default false, as in a new organization.
   */
  createProductsInActiveState?: boolean;
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

/** A request after the server has read it. */
interface Incoming {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  pathname: string;
  query: string;
  body: string;
}

const errorBody = (status: number, code: string, message: string): ApiResponse => ({
  status,
  headers: {},
  body: { error: { code, message } },
});

async function handle(env: DataverseEnvironment, req: http.IncomingMessage, res: http.ServerResponse) {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const method = req.method ?? 'GET';
  const body = await readBody(req);
  const incoming: Incoming = { req, res, method, pathname, query, body };

  if (pathname.startsWith('/_emulator/')) return admin(env, incoming);

  const fault = env.faults.take(method, pathname);
  if (fault.drop) {
    req.socket.destroy();
    return;
  }
  if (fault.status !== undefined) {
    const message = `The service is unavailable (fault injected by the emulator, status ${fault.status}).`;
    return send(res, errorBody(fault.status, '0x80040216', message));
  }
  if (!pathname.startsWith(API_ROOT) && pathname !== API_ROOT.slice(0, -1)) {
    const message = `No HTTP resource was found that matches the request URI '${pathname}'.`;
    return send(res, errorBody(404, '', message));
  }
  const headers = lowerHeaders(req.headers);
  const caller = await env.authenticator.authenticate(headers, req.socket.remoteAddress);
  const release = env.limits.enter(caller.limitKey);
  try {
    // Injected latency stands for a slow server: it counts toward concurrency and execution time.
    if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
    const path = pathname.slice(API_ROOT.length);
    const request: ApiRequest = { method, path, query, headers, body };
    if (path === '$batch') serveBatch(env, request, caller, res);
    else if (IMPORT_ACTIONS.has(path)) await serveImport(env, request, caller, res);
    else serveApi(env, request, caller, res);
  } finally {
    release();
  }
}

/** One Web API request in one transaction: committed when it succeeds, its changes then sent to webhooks. */
function serveApi(
  env: DataverseEnvironment,
  request: ApiRequest,
  caller: AuthenticatedCaller,
  res: http.ServerResponse,
): void {
  const scope = env.newScope(caller, randomUUID());
  let response: ApiResponse;
  try {
    response = handleApiRequest(env.apiContext(scope), request);
  } catch (error) {
    scope.tx.rollback();
    throw error;
  }
  scope.tx.commit();
  send(res, { ...response, headers: { ...response.headers, ...env.limits.budgetHeaders(caller.limitKey) } });
  env.deliver(scope.events);
}

const IMPORT_ACTIONS = new Set(['ImportSolution', 'StageAndUpgrade']);

/** The parameters of ImportSolution and StageAndUpgrade, checked as the action's signature has them. */
function importParameters(request: ApiRequest): {
  zip: Buffer;
  importJobId: string;
  holdingSolution: boolean;
} {
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(request.body || 'null') as Record<string, unknown>;
  } catch {
    throw new DataverseHttpError(400, '0x80048d19', 'The request body is not valid JSON.');
  }
  const file = input?.CustomizationFile;
  if (typeof file !== 'string' || file === '')
    throw new DataverseHttpError(
      400,
      '0x80048d19',
      `The parameter 'CustomizationFile' of ${request.path} is missing.`,
    );
  for (const name of ['OverwriteUnmanagedCustomizations', 'PublishWorkflows']) {
    if (typeof input[name] !== 'boolean')
      throw new DataverseHttpError(
        400,
        '0x80048d19',
        `The parameter '${name}' of ${request.path} is missing.`,
      );
  }
  const jobId = input.ImportJobId;
  if (
    jobId !== undefined &&
    jobId !== null &&
    !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(String(jobId))
  )
    throw new DataverseHttpError(400, '0x80048d19', `ImportJobId '${String(jobId)}' is not a GUID.`);
  return {
    zip: Buffer.from(file, 'base64'),
    importJobId: typeof jobId === 'string' ? jobId.toLowerCase() : randomUUID(),
    holdingSolution: input.HoldingSolution === true,
  };
}

/**
 * ImportSolution / StageAndUpgrade: the zip is read first (asynchronously), then applied in one transaction.
 * ImportSolution answers 204; StageAndUpgrade its StageAndUpgradeResponse with the solution's id.
 */
async function serveImport(
  env: DataverseEnvironment,
  request: ApiRequest,
  caller: AuthenticatedCaller,
  res: http.ServerResponse,
): Promise<void> {
  if (request.method !== 'POST')
    throw new DataverseHttpError(405, '0x0', `The ${request.path} action answers POST only.`);
  const parameters = importParameters(request);
  const pkg = await readSolutionZip(parameters.zip);
  const upgrade = request.path === 'StageAndUpgrade' || parameters.holdingSolution;
  const scope = env.newScope(caller, randomUUID());
  let solutionId: string;
  try {
    solutionId = env.importSolution(pkg, { upgrade, importJobId: parameters.importJobId }, scope);
  } catch (error) {
    scope.tx.rollback();
    throw error;
  }
  scope.tx.commit();
  const context = `${env.engine.baseUrl}$metadata#Microsoft.Dynamics.CRM.StageAndUpgradeResponse`;
  const budget = env.limits.budgetHeaders(caller.limitKey);
  if (request.path === 'StageAndUpgrade')
    send(res, { status: 200, headers: budget, body: { '@odata.context': context, SolutionId: solutionId } });
  else send(res, { status: 204, headers: budget });
  env.deliver(scope.events);
}

/** A `$batch` request: its change sets commit or roll back on their own; the committed changes go to webhooks. */
function serveBatch(
  env: DataverseEnvironment,
  request: ApiRequest,
  caller: AuthenticatedCaller,
  res: http.ServerResponse,
): void {
  if (request.method !== 'POST')
    throw new DataverseHttpError(405, '0x0', 'The $batch endpoint answers POST only.');
  const correlationId = randomUUID();
  const committed: ChangeEvent[] = [];
  const executor: BatchExecutor = {
    baseUrl: env.engine.baseUrl,
    newScope: () => env.newScope(caller, correlationId),
    run: (inner, scope) => runApi(env, inner, scope),
    commit: (scope) => {
      scope.tx.commit();
      committed.push(...scope.events);
    },
    rollback: (scope) => scope.tx.rollback(),
  };
  const { headers } = request;
  const result = executeBatch(
    request.body,
    headers['content-type'],
    parsePrefer(headers.prefer).continueOnError,
    executor,
  );
  res.writeHead(result.status, {
    'Content-Type': result.contentType,
    'OData-Version': '4.0',
    ...env.limits.budgetHeaders(caller.limitKey),
  });
  res.end(result.body);
  env.deliver(committed);
}

function runApi(env: DataverseEnvironment, request: ApiRequest, scope: WriteScope): ApiResponse {
  try {
    return handleApiRequest(env.apiContext(scope), request);
  } catch (error) {
    return errorResponse(error);
  }
}

/** The admin routes by `METHOD path`: each takes the parsed JSON body and returns the reply's payload. */
const ADMIN_ROUTES = new Map<string, (env: DataverseEnvironment, input: Record<string, unknown>) => unknown>([
  ['POST /_emulator/faults', (env, input) => env.faults.add(input as FaultSpec)],
  ['DELETE /_emulator/faults', (env) => env.faults.clear()],
  [
    'POST /_emulator/limits',
    (env, input) => {
      env.setLimits(input as Partial<LimitSettings>);
      return env.limits.settings;
    },
  ],
  ['GET /_emulator/limits', (env) => env.limits.settings],
  ['POST /_emulator/reset', (env) => env.reset()],
  [
    'POST /_emulator/webhooks',
    (env, input) => ({ id: env.webhooks.register(input as unknown as WebhookRegistration).id }),
  ],
  ['GET /_emulator/webhooks/deliveries', (env) => env.webhooks.deliveries],
]);

async function admin(env: DataverseEnvironment, { req, res, method, pathname, body }: Incoming) {
  if (!isLoopback(req.socket.remoteAddress))
    return send(res, errorBody(403, '0x0', 'The emulator admin routes answer loopback callers only.'));
  let input: Record<string, unknown> = {};
  try {
    input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
  } catch {
    return send(res, errorBody(400, '0x0', 'The admin request body is not valid JSON.'));
  }
  const route = ADMIN_ROUTES.get(`${method} ${pathname}`);
  if (!route) return send(res, errorBody(404, '', `Unknown admin route ${method} ${pathname}`));
  const payload = route(env, input) ?? { ok: true };
  send(res, { status: 200, headers: {}, body: payload });
}

export async function startDataverseEmulator(
  options: DataverseEmulatorOptions = {},
): Promise<DataverseEmulator> {
  const env = new DataverseEnvironment(options);
  const server = http.createServer((req, res) => {
    handle(env, req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, errorResponse(error));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  env.engine.baseUrl = `http://${host}:${port}${API_ROOT}`;
  const { faults, webhooks } = env;

  return {
    url: env.engine.baseUrl,
    port,
    store: env.storeAccess(),
    setLimits: (settings) => env.setLimits(settings),
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    registerWebhook: (registration) => webhooks.register(registration),
    webhookDeliveries: () => [...webhooks.deliveries],
    webhooksIdle: () => webhooks.idle(),
    addSystemUser: (user) => env.addSystemUser(user),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await env.close();
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
  return errorBody(500, '0x80040216', `An unexpected error occurred: ${(error as Error)?.message}`);
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
