/**
 * One Web API request → one response, without HTTP: used by the server for plain requests and by `$batch` for
 * each part. Routes entity sets, key predicates, single properties, `WhoAmI` and the service document; applies
 * the Prefer and conditional (If-Match / If-None-Match) headers as Dataverse does.
 */
import {
  DataverseHttpError,
  badRequest,
  matchingRecordExists,
  propertyNotFound,
  segmentNotFound,
  versionMismatch,
} from './errors';
import { type DataverseEngine, type WriteScope, annotationFilter, etagOf } from './engine';
import { isLookup, type TableMeta } from './metadata';
import { type KeyPredicate, parseKeyPredicate, parseQueryOptions, parseQueryString } from './odata';

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

export function handleApiRequest(ctx: ApiContext, req: ApiRequest): ApiResponse {
  const { engine } = ctx;
  const method = req.method.toUpperCase();
  const prefs = parsePrefer(req.headers.prefer);
  const annotations = annotationFilter(prefs.includeAnnotations);
  const params = parseQueryString(req.query);
  const options = parseQueryOptions(params);
  const applied: string[] = [];
  if (prefs.includeAnnotations) applied.push(`odata.include-annotations="${prefs.includeAnnotations}"`);

  if (req.path === '' || req.path === '/') {
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
  if (/^WhoAmI(\(\))?$/.test(req.path)) {
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

  const target = parseTarget(ctx, req.path);
  const { meta, predicate } = target;
  const body = () => {
    if (!req.body) throw badRequest('The request body is empty; a JSON object was expected.', '0x80048d19');
    try {
      return JSON.parse(req.body) as unknown;
    } catch {
      throw badRequest('The request body is not valid JSON.', '0x80048d19');
    }
  };
  const withApplied = (headers: Record<string, string>) =>
    applied.length > 0 ? { ...headers, 'Preference-Applied': applied.join(',') } : headers;

  // ------------------------------------------------------------ collection
  if (!predicate) {
    if (target.property === '$count' && method === 'GET') {
      // `/$count` answers the number as plain text (query-data-web-api, "Count number of rows").
      engine.validateQuery(meta, options);
      return { status: 200, headers: {}, text: String(engine.select(meta, options).length) };
    }
    if (target.property !== undefined) throw segmentNotFound(target.property);
    if (method === 'GET') {
      if (prefs.maxPageSize) applied.push(`odata.maxpagesize=${prefs.maxPageSize}`);
      const result = engine.query(meta, options, annotations, prefs.maxPageSize, nextLinkBase(ctx, req));
      return json(200, result, withApplied({}));
    }
    if (method === 'POST') {
      const row = engine.create(meta, body(), ctx.scope);
      const url = engine.entityUrl(meta, row.id);
      if (prefs.returnRepresentation) {
        applied.push('return=representation');
        engine.validateQuery(meta, options);
        const rendered = engine.renderRow(meta, row, options, annotations);
        return json(
          201,
          { '@odata.context': engine.contextUrl(meta, options, true), ...rendered },
          withApplied({ 'OData-EntityId': url }),
        );
      }
      return json(204, undefined, { 'OData-EntityId': url });
    }
    throw badRequest(`The HTTP method '${method}' is not allowed on an entity set.`);
  }

  const id = engine.resolvePredicate(meta, predicate);
  const existing = id ? engine.store.get(meta.logicalName, id) : undefined;
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];

  // ------------------------------------------------------------ single property / related collection
  if (target.property !== undefined) {
    const property = target.property;
    const collection = meta.collectionNavigations.get(property);
    if (collection && method === 'GET') {
      if (!existing) throw engine.notFound(meta, predicate);
      const childMeta = engine.model.byLogical.get(collection.referencingTable)!;
      if (prefs.maxPageSize) applied.push(`odata.maxpagesize=${prefs.maxPageSize}`);
      const result = engine.query(
        childMeta,
        options,
        annotations,
        prefs.maxPageSize,
        nextLinkBase(ctx, req),
        (r) => {
          const ref = r.values[collection.referencingColumn] as { id?: string } | null | undefined;
          return ref?.id === existing.id;
        },
      );
      return json(200, result, withApplied({}));
    }
    const column = meta.columns.get(property);
    if (!column || isLookup(column)) throw propertyNotFound(property, meta.logicalName);
    if (!existing) throw engine.notFound(meta, predicate);
    if (method === 'GET') {
      const value = existing.values[property] ?? null;
      if (value === null) return json(204, undefined);
      return json(200, {
        '@odata.context': `${engine.baseUrl}$metadata#${meta.entitySetName}(${existing.id})/${property}`,
        value,
      });
    }
    if (method === 'PUT' || method === 'DELETE') {
      const value = method === 'PUT' ? (body() as { value?: unknown }).value : null;
      engine.update(meta, existing, { [property]: value ?? null }, ctx.scope);
      return json(204, undefined);
    }
    throw badRequest(`The HTTP method '${method}' is not allowed on a property.`);
  }

  // ------------------------------------------------------------ single row
  switch (method) {
    case 'GET': {
      if (!existing) throw engine.notFound(meta, predicate);
      engine.validateQuery(meta, options);
      if (ifNoneMatch && ifNoneMatch === etagOf(existing) && !options.expand && !prefs.includeAnnotations) {
        return json(304, undefined);
      }
      const rendered = engine.renderRow(meta, existing, options, annotations);
      return json(
        200,
        { '@odata.context': engine.contextUrl(meta, options, true), ...rendered },
        withApplied({}),
      );
    }
    case 'PATCH': {
      const payload = body();
      if (existing) {
        if (ifNoneMatch === '*') throw matchingRecordExists();
        if (ifMatch && ifMatch !== '*' && ifMatch !== etagOf(existing)) throw versionMismatch();
        const row = engine.update(meta, existing, payload, ctx.scope);
        return written(ctx, meta, row.id, 200, prefs, options, annotations, applied);
      }
      if (ifMatch) throw engine.notFound(meta, predicate);
      const presetId = 'id' in predicate ? predicate.id : undefined;
      const row = engine.create(meta, payload, ctx.scope, presetId, engine.keyValues(meta, predicate));
      return written(ctx, meta, row.id, 201, prefs, options, annotations, applied);
    }
    case 'DELETE': {
      if (!existing) throw engine.notFound(meta, predicate);
      if (ifMatch && ifMatch !== '*' && ifMatch !== etagOf(existing)) throw versionMismatch();
      engine.delete(meta, existing, ctx.scope);
      return json(204, undefined);
    }
    default:
      throw badRequest(`The HTTP method '${method}' is not allowed on an entity.`);
  }
}

function written(
  ctx: ApiContext,
  meta: TableMeta,
  id: string,
  statusWithBody: number,
  prefs: Preferences,
  options: ReturnType<typeof parseQueryOptions>,
  annotations: ReturnType<typeof annotationFilter>,
  applied: string[],
): ApiResponse {
  const { engine } = ctx;
  const url = engine.entityUrl(meta, id);
  if (prefs.returnRepresentation) {
    applied.push('return=representation');
    engine.validateQuery(meta, options);
    const row = engine.store.get(meta.logicalName, id)!;
    const rendered = engine.renderRow(meta, row, options, annotations);
    return json(
      statusWithBody,
      { '@odata.context': engine.contextUrl(meta, options, true), ...rendered },
      { 'OData-EntityId': url, 'Preference-Applied': applied.join(',') },
    );
  }
  return json(204, undefined, { 'OData-EntityId': url });
}

function nextLinkBase(ctx: ApiContext, req: ApiRequest): string {
  const kept = req.query
    .split('&')
    .filter((p) => p && !p.startsWith('$skiptoken=') && !p.startsWith('%24skiptoken='));
  return `${ctx.engine.baseUrl}${req.path}${kept.length > 0 ? `?${kept.join('&')}` : ''}`;
}
