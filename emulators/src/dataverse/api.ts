/**
 * One Web API request → one response, without HTTP: used by the server for plain requests and by `$batch` for
 * each part. Routes entity sets, key predicates, single properties, `WhoAmI`, the `WinQuote` action
 * (quotes.ts), `EntityDefinitions` and the service document; applies the Prefer and conditional (If-Match / If-None-Match) headers as Dataverse does.
 */
import { entityDefinitions } from './definitions';
import {
  DataverseHttpError,
  badRequest,
  matchingRecordExists,
  propertyNotFound,
  segmentNotFound,
  versionMismatch,
} from './errors';
import {
  type AnnotationFilter,
  type DataverseEngine,
  type WriteScope,
  annotationFilter,
  etagOf,
} from './engine';
import { isLookup, type TableMeta } from './metadata';
import { winQuote } from './quotes';
import {
  type KeyPredicate,
  type QueryOptions,
  parseKeyPredicate,
  parseQueryOptions,
  parseQueryString,
} from './odata';
import type { RowRecord } from './store';

export interface ApiRequest {
  method: string;
  /** Path below the service root as sent (percent-encoded), e.g. `stc_payments(stc_stripeid='pi_1')`. */
  path: string;
  /** Raw query string without the `?`. */
  query: string;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: string;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  /** A plain-text answer (`$count`), sent as is instead of JSON. */
  text?: string;
}

export interface Preferences {
  returnRepresentation: boolean;
  maxPageSize?: number;
  includeAnnotations?: string;
  continueOnError: boolean;
}

export function parsePrefer(header: string | undefined): Preferences {
  const prefs: Preferences = { returnRepresentation: false, continueOnError: false };
  if (!header) return prefs;
  const re = /([\w.-]+)(?:\s*=\s*("[^"]*"|[^,;\s]+))?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header))) {
    const name = m[1].toLowerCase();
    const value = m[2]?.replace(/^"|"$/g, '');
    if (name === 'return' && value === 'representation') prefs.returnRepresentation = true;
    else if (name === 'odata.maxpagesize' && value && /^\d+$/.test(value)) prefs.maxPageSize = Number(value);
    else if (name === 'odata.include-annotations' && value) prefs.includeAnnotations = value;
    else if (name === 'odata.continue-on-error') prefs.continueOnError = value !== 'false';
  }
  return prefs;
}

export interface ApiContext {
  engine: DataverseEngine;
  scope: WriteScope;
  organizationId: string;
  businessUnitId: string;
}

interface Target {
  meta: TableMeta;
  predicate?: KeyPredicate;
  property?: string;
  rest: string[];
}

function parseTarget(ctx: ApiContext, path: string): Target {
  const segments = path.split('/').map((s) => decodeURIComponent(s));
  const first = segments[0];
  const m = /^([^()]+)(?:\((.*)\))?$/.exec(first);
  if (!m) throw segmentNotFound(first);
  const meta = ctx.engine.tableBySet(m[1]);
  if (!meta) throw segmentNotFound(m[1]);
  const predicate = m[2] !== undefined ? parseKeyPredicate(m[2]) : undefined;
  return { meta, predicate, property: segments[1], rest: segments.slice(2) };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers,
  body,
});

/** One request with what every route reads of it: the Prefer header, the query options, the parsed body. */
class WebApiCall {
  readonly engine: DataverseEngine;
  readonly method: string;
  readonly prefs: Preferences;
  readonly annotations: AnnotationFilter;
  readonly options: QueryOptions;
  /** Preferences honoured so far, for `Preference-Applied`. */
  private readonly applied: string[] = [];

  constructor(
    readonly ctx: ApiContext,
    readonly req: ApiRequest,
  ) {
    this.engine = ctx.engine;
    this.method = req.method.toUpperCase();
    this.prefs = parsePrefer(req.headers.prefer);
    this.annotations = annotationFilter(this.prefs.includeAnnotations);
    this.options = parseQueryOptions(parseQueryString(req.query));
    if (this.prefs.includeAnnotations)
      this.applied.push(`odata.include-annotations="${this.prefs.includeAnnotations}"`);
  }

  body(): unknown {
    if (!this.req.body)
      throw badRequest('The request body is empty; a JSON object was expected.', '0x80048d19');
    try {
      return JSON.parse(this.req.body) as unknown;
    } catch {
      throw badRequest('The request body is not valid JSON.', '0x80048d19');
    }
  }

  private withApplied(headers: Record<string, string>): Record<string, string> {
    return this.applied.length > 0 ? { ...headers, 'Preference-Applied': this.applied.join(',') } : headers;
  }

  /** A page of rows of the table (those `filter` keeps), honouring `odata.maxpagesize`. */
  query(meta: TableMeta, filter?: (row: RowRecord) => boolean): ApiResponse {
    const { prefs } = this;
    if (prefs.maxPageSize) this.applied.push(`odata.maxpagesize=${prefs.maxPageSize}`);
    const base = nextLinkBase(this.ctx, this.req);
    const result = this.engine.query(meta, this.options, this.annotations, prefs.maxPageSize, base, filter);
    return json(200, result, this.withApplied({}));
  }

  /** The row as the response body, with its context URL. */
  representation(
    meta: TableMeta,
    row: RowRecord,
    status: number,
    headers: Record<string, string>,
  ): ApiResponse {
    const { engine, options } = this;
    const rendered = engine.renderRow(meta, row, options, this.annotations);
    return json(
      status,
      { '@odata.context': engine.contextUrl(meta, options, true), ...rendered },
      this.withApplied(headers),
    );
  }

  /** The answer to a write: the row when `return=representation` is asked for, else 204 with its URL. */
  written(
    meta: TableMeta,
    id: string,
    statusWithBody: number,
    row = () => this.engine.store.get(meta.logicalName, id)!,
  ): ApiResponse {
    const url = this.engine.entityUrl(meta, id);
    if (!this.prefs.returnRepresentation) return json(204, undefined, { 'OData-EntityId': url });
    this.applied.push('return=representation');
    this.engine.validateQuery(meta, this.options);
    return this.representation(meta, row(), statusWithBody, { 'OData-EntityId': url });
  }
}

export function handleApiRequest(ctx: ApiContext, req: ApiRequest): ApiResponse {
  const call = new WebApiCall(ctx, req);
  if (req.path === '' || req.path === '/') return serviceDocument(call);
  if (/^WhoAmI(\(\))?$/.test(req.path)) return whoAmI(call);
  if (req.path === 'WinQuote') {
    if (call.method !== 'POST')
      throw new DataverseHttpError(405, '0x0', 'The WinQuote action answers POST only.');
    winQuote(ctx.engine, call.body(), ctx.scope);
    return json(204, undefined);
  }
  if (req.path.startsWith('EntityDefinitions')) {
    if (call.method !== 'GET') throw badRequest('The metadata entities answer GET only in the emulator.');
    return json(200, entityDefinitions(ctx.engine.model, ctx.engine.baseUrl, req.path, req.query));
  }
  const target = parseTarget(ctx, req.path);
  const { meta, predicate } = target;
  if (!predicate) return entitySet(call, meta, target.property);
  const id = ctx.engine.resolvePredicate(meta, predicate);
  const row: Addressed = {
    meta,
    predicate,
    existing: id ? ctx.engine.store.get(meta.logicalName, id) : undefined,
  };
  if (target.property !== undefined) return property(call, row, target.property);
  return entity(call, row);
}

function serviceDocument({ engine, method }: WebApiCall): ApiResponse {
  if (method !== 'GET') throw badRequest('The service document only answers GET.');
  return json(200, {
    '@odata.context': `${engine.baseUrl}$metadata`,
    value: engine.model.tables.map((t) => ({
      name: t.entitySetName,
      kind: 'EntitySet',
      url: t.entitySetName,
    })),
  });
}

function whoAmI({ engine, method, ctx, req }: WebApiCall): ApiResponse {
  if (method !== 'GET') {
    throw new DataverseHttpError(
      404,
      '',
      `No HTTP resource was found that matches the request URI '${engine.baseUrl}${req.path}'.`,
    );
  }
  return json(200, {
    '@odata.context': `${engine.baseUrl}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
    BusinessUnitId: ctx.businessUnitId,
    UserId: ctx.scope.caller.userId,
    OrganizationId: ctx.organizationId,
  });
}

/** The entity set: `$count`, a query, or a create. */
function entitySet(call: WebApiCall, meta: TableMeta, property: string | undefined): ApiResponse {
  const { engine, method, options } = call;
  if (property === '$count' && method === 'GET') {
    // `/$count` answers the number as plain text (query-data-web-api, "Count number of rows").
    engine.validateQuery(meta, options);
    return { status: 200, headers: {}, text: String(engine.select(meta, options).length) };
  }
  if (property !== undefined) throw segmentNotFound(property);
  if (method === 'GET') return call.query(meta);
  if (method === 'POST') {
    const row = engine.create(meta, call.body(), call.ctx.scope);
    return call.written(meta, row.id, 201, () => row);
  }
  throw badRequest(`The HTTP method '${method}' is not allowed on an entity set.`);
}

/** A row addressed by key predicate, and the row itself when it exists. */
interface Addressed {
  meta: TableMeta;
  predicate: KeyPredicate;
  existing: RowRecord | undefined;
}

/** A single property of a row (read, set, cleared), or the rows of a one-to-many relationship. */
function property(call: WebApiCall, { meta, predicate, existing }: Addressed, name: string): ApiResponse {
  const { engine, method } = call;
  const collection = meta.collectionNavigations.get(name);
  if (collection && method === 'GET') {
    if (!existing) throw engine.notFound(meta, predicate);
    const childMeta = engine.model.byLogical.get(collection.referencingTable)!;
    return call.query(childMeta, (r) => {
      const ref = r.values[collection.referencingColumn] as { id?: string } | null | undefined;
      return ref?.id === existing.id;
    });
  }
  const column = meta.columns.get(name);
  if (!column || isLookup(column)) throw propertyNotFound(name, meta.logicalName);
  if (!existing) throw engine.notFound(meta, predicate);
  if (method === 'GET') {
    const value = existing.values[name] ?? null;
    if (value === null) return json(204, undefined);
    return json(200, {
      '@odata.context': `${engine.baseUrl}$metadata#${meta.entitySetName}(${existing.id})/${name}`,
      value,
    });
  }
  if (method === 'PUT' || method === 'DELETE') {
    const value = method === 'PUT' ? (call.body() as { value?: unknown }).value : null;
    engine.update(meta, existing, { [name]: value ?? null }, call.ctx.scope);
    return json(204, undefined);
  }
  throw badRequest(`The HTTP method '${method}' is not allowed on a property.`);
}

/** A single row: read, upsert, delete, with the conditional headers. */
function entity(call: WebApiCall, addressed: Addressed): ApiResponse {
  const { engine, method, options, prefs, req } = call;
  const { meta, predicate, existing } = addressed;
  const ifNoneMatch = req.headers['if-none-match'];
  switch (method) {
    case 'GET': {
      if (!existing) throw engine.notFound(meta, predicate);
      engine.validateQuery(meta, options);
      if (ifNoneMatch && ifNoneMatch === etagOf(existing) && !options.expand && !prefs.includeAnnotations) {
        return json(304, undefined);
      }
      return call.representation(meta, existing, 200, {});
    }
    case 'PATCH':
      return upsert(call, addressed);
    case 'DELETE': {
      if (!existing) throw engine.notFound(meta, predicate);
      checkIfMatch(req, existing);
      engine.delete(meta, existing, call.ctx.scope);
      return json(204, undefined);
    }
    default:
      throw badRequest(`The HTTP method '${method}' is not allowed on an entity.`);
  }
}

function checkIfMatch(req: ApiRequest, existing: RowRecord): void {
  const ifMatch = req.headers['if-match'];
  if (ifMatch && ifMatch !== '*' && ifMatch !== etagOf(existing)) throw versionMismatch();
}

/** PATCH: updates the row, or creates it under the predicate's key (If-Match / If-None-Match permitting). */
function upsert(call: WebApiCall, { meta, predicate, existing }: Addressed): ApiResponse {
  const { engine, req } = call;
  const { scope } = call.ctx;
  const payload = call.body();
  if (existing) {
    if (req.headers['if-none-match'] === '*') throw matchingRecordExists();
    checkIfMatch(req, existing);
    const row = engine.update(meta, existing, payload, scope);
    return call.written(meta, row.id, 200);
  }
  if (req.headers['if-match']) throw engine.notFound(meta, predicate);
  const presetId = 'id' in predicate ? predicate.id : undefined;
  const row = engine.create(meta, payload, scope, presetId, engine.keyValues(meta, predicate));
  return call.written(meta, row.id, 201);
}

function nextLinkBase(ctx: ApiContext, req: ApiRequest): string {
  const kept = req.query
    .split('&')
    .filter((p) => p && !p.startsWith('$skiptoken=') && !p.startsWith('%24skiptoken='));
  return `${ctx.engine.baseUrl}${req.path}${kept.length > 0 ? `?${kept.join('&')}` : ''}`;
}
