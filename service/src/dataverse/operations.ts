/**
 * The client's single-request operations over a `WebApi` (URL building and a retrying send): create,
 * update, delete, retrieve, paged queries, and writes by alternate key, with a safe path for key values that
 * cannot go in a URL.
 */
import { DataverseError, isDuplicateKey, MATCHING_RECORD_EXISTS, NOT_FOUND_BY_KEY } from './errors';
import type { Send } from './throttling';
import { jsonBody, responseError, type HttpResult } from './transport';
import type { KeyValues, QueryOptions, Row, UpsertResult, WriteMode } from './types';
import {
  checkEntitySet,
  idFromEntityId,
  idFromRow,
  idPath,
  keyFilter,
  keyFitsUrl,
  keyPath,
  preferFor,
  preferHeader,
  queryString,
  writeModeHeaders,
} from './url';

/** Where requests go and how they are sent. */
export interface WebApi {
  url(path: string): string;
  send: Send;
}

/** The same API with every request carrying `signal` (the caller's); `api` itself when there is none. */
export function withSignal(api: WebApi, signal: AbortSignal | undefined): WebApi {
  if (!signal) return api;
  return { url: api.url, send: (method, url, options) => api.send(method, url, { ...options, signal }) };
}

/** A DataverseError of this status and message about the request described. */
const failure = (status: number, message: string, request: string) =>
  new DataverseError({ status, message, request });

/** Times a write by key is tried when concurrent writers keep changing the row under it. */
const MAX_KEY_ATTEMPTS = 3;

export async function create(api: WebApi, entitySet: string, row: Row): Promise<string> {
  const path = checkEntitySet(entitySet);
  const describe = `POST ${path}`;
  const res = await api.send('POST', api.url(path), {
    body: JSON.stringify(row),
    idempotent: false,
    describe,
  });
  if (res.status !== 201 && res.status !== 204) throw responseError(res, describe);
  const id = idFromEntityId(res.headers.get('odata-entityid')) ?? idFromRow(jsonBody(res));
  if (!id) throw failure(res.status, 'Dataverse created the row but sent no OData-EntityId', describe);
  return id;
}

export async function update(
  api: WebApi,
  entitySet: string,
  id: string,
  row: Row,
  options?: { ifMatch?: string },
): Promise<void> {
  const path = idPath(entitySet, id);
  const describe = `PATCH ${path}`;
  // If-Match: * by default: a PATCH by id would otherwise create a missing row.
  const res = await api.send('PATCH', api.url(path), {
    body: JSON.stringify(row),
    headers: { 'If-Match': options?.ifMatch ?? '*' },
    idempotent: true,
    describe,
  });
  if (res.status !== 204 && res.status !== 200) throw responseError(res, describe);
}

export async function remove(api: WebApi, entitySet: string, id: string): Promise<void> {
  const path = idPath(entitySet, id);
  const describe = `DELETE ${path}`;
  const res = await api.send('DELETE', api.url(path), { idempotent: true, describe });
  // A 404 after a retried attempt means an earlier attempt deleted it.
  if (res.status === 404 && res.attempts > 1) return;
  if (res.status !== 204 && res.status !== 200) throw responseError(res, describe);
}

/** One row by its path (`set(id)` or `set(key=…)`), or null when there is none. */
export async function getRow(api: WebApi, path: string, query?: QueryOptions): Promise<Row | null> {
  const describe = `GET ${decodeURIComponent(path)}`;
  const res = await api.send('GET', api.url(`${path}${queryString(query)}`), {
    headers: preferHeader(preferFor(query)),
    idempotent: true,
    describe,
  });
  if (res.status === 404) return null;
  if (res.status !== 200) throw responseError(res, describe);
  return jsonBody(res) as Row;
}

export async function retrieveMultiple(
  api: WebApi,
  entitySet: string,
  query: QueryOptions = {},
): Promise<Row[]> {
  const path = checkEntitySet(entitySet);
  const rows: Row[] = [];
  let next: string | undefined = api.url(`${path}${queryString(query)}`);
  const seen = new Set<string>();
  while (next) {
    if (seen.has(next)) throw failure(200, `Paging loops on ${next}`, `GET ${path}`);
    seen.add(next);
    const describe = `GET ${path}`;
    const res = await api.send('GET', next, {
      headers: preferHeader(preferFor(query)),
      idempotent: true,
      describe,
    });
    if (res.status !== 200) throw responseError(res, describe);
    const page = jsonBody(res) as { value?: Row[]; '@odata.nextLink'?: string };
    rows.push(...(page.value ?? []));
    if (query.top !== undefined && rows.length >= query.top) return rows.slice(0, query.top);
    next = page['@odata.nextLink'];
  }
  return rows;
}

/** Finds the row with the key through `$filter` (for keys that cannot go in a URL). */
export async function findIdByKey(
  api: WebApi,
  entitySet: string,
  key: KeyValues,
): Promise<string | undefined> {
  const columns = Object.keys(key);
  const rows = await retrieveMultiple(api, entitySet, { select: columns, filter: keyFilter(key), top: 2 });
  if (rows.length > 1) {
    throw failure(
      409,
      `${rows.length} rows of ${entitySet} match key ${keyFilter(key)}; an alternate key must be unique (is the key index active?)`,
      `GET ${entitySet}`,
    );
  }
  const id = rows[0] ? idFromRow(rows[0], columns) : undefined;
  if (rows[0] && !id) {
    throw failure(200, `The row found by ${keyFilter(key)} carries no primary id`, `GET ${entitySet}`);
  }
  return id;
}

export async function retrieveByKey(
  api: WebApi,
  entitySet: string,
  key: KeyValues,
  query?: QueryOptions,
): Promise<Row | null> {
  if (keyFitsUrl(key)) return getRow(api, keyPath(entitySet, key), query);
  const filter = query?.filter ? `(${keyFilter(key)}) and (${query.filter})` : keyFilter(key);
  const rows = await retrieveMultiple(api, entitySet, { ...query, filter, top: 2 });
  if (rows.length > 1) {
    throw failure(409, `${rows.length} rows of ${entitySet} match key ${keyFilter(key)}`, `GET ${entitySet}`);
  }
  return rows[0] ?? null;
}

export async function upsertByKey(
  api: WebApi,
  entitySet: string,
  key: KeyValues,
  row: Row,
  options?: { mode?: WriteMode },
): Promise<UpsertResult> {
  const mode = options?.mode ?? 'upsert';
  return keyFitsUrl(key)
    ? upsertByKeyInUrl(api, { entitySet, key, row, mode })
    : upsertByKeyInBody(api, { entitySet, key, row, mode });
}

/** One write by alternate key. */
interface KeyedWrite {
  entitySet: string;
  key: KeyValues;
  row: Row;
  mode: WriteMode;
}

function upsertResult(res: HttpResult, keyColumns: string[]): UpsertResult | undefined {
  let body: unknown;
  try {
    body = jsonBody(res);
  } catch {
    body = undefined;
  }
  const id = idFromEntityId(res.headers.get('odata-entityid')) ?? idFromRow(body, keyColumns);
  // With return=representation Dataverse answers 201 when the upsert created the row, 200 when it updated.
  return id ? { id, created: res.status === 201 } : undefined;
}

async function upsertByKeyInUrl(
  api: WebApi,
  { entitySet, key, row, mode }: KeyedWrite,
): Promise<UpsertResult> {
  const path = keyPath(entitySet, key);
  const columns = Object.keys(key);
  const describe = `PATCH ${decodeURIComponent(path)}`;
  for (let attempt = 1; ; attempt += 1) {
    const res = await api.send('PATCH', api.url(`${path}${queryString({ select: columns })}`), {
      body: JSON.stringify(row),
      headers: { ...writeModeHeaders(mode), Prefer: 'return=representation' },
      idempotent: true,
      describe,
    });
    if (res.status === 200 || res.status === 201 || res.status === 204) {
      const result = upsertResult(res, columns);
      if (!result) throw failure(res.status, 'Dataverse wrote the row but named no id', describe);
      return result;
    }
    const error = responseError(res, describe);
    // Two upserts creating the same new key at once: the loser sees a duplicate; once more updates.
    if (mode === 'upsert' && isDuplicateKey(error.status, error.code) && attempt < MAX_KEY_ATTEMPTS) continue;
    throw error;
  }
}

/**
 * A write by a key whose value Dataverse cannot take in a URL: find the row by `$filter`, then PATCH it
 * by id (If-Match: * so a row deleted meanwhile is not recreated under a new id), or POST it with the
 * key in the body; a duplicate-key answer means another writer created it first, so look again.
 */
async function upsertByKeyInBody(
  api: WebApi,
  { entitySet, key, row, mode }: KeyedWrite,
): Promise<UpsertResult> {
  checkEntitySet(entitySet);
  const describe = `upsert ${entitySet} by ${keyFilter(key)}`;
  for (let attempt = 1; attempt <= MAX_KEY_ATTEMPTS; attempt += 1) {
    const id = await findIdByKey(api, entitySet, key);
    if (id) {
      if (mode === 'createOnly') throw keyConflict('exists', entitySet, key, describe);
      try {
        await update(api, entitySet, id, row);
        return { id, created: false };
      } catch (err) {
        if (err instanceof DataverseError && err.status === 404) continue;
        throw err;
      }
    }
    if (mode === 'updateOnly') throw keyConflict('missing', entitySet, key, describe);
    try {
      return { id: await create(api, entitySet, { ...row, ...key }), created: true };
    } catch (err) {
      if (err instanceof DataverseError && isDuplicateKey(err.status, err.code) && mode === 'upsert')
        continue;
      throw err;
    }
  }
  throw failure(
    409,
    `The row kept changing under concurrent writers after ${MAX_KEY_ATTEMPTS} attempts`,
    describe,
  );
}

/**
 * The answer Dataverse gives a conditional write by key, for a write that is decided before any request:
 * `createOnly` on a row that exists (412), `updateOnly` on one that does not (404).
 */
export function keyConflict(
  what: 'exists' | 'missing',
  entitySet: string,
  key: KeyValues,
  request?: string,
): DataverseError {
  return what === 'exists'
    ? new DataverseError({
        status: 412,
        code: MATCHING_RECORD_EXISTS,
        message: 'A record with matching key values already exists.',
        request,
      })
    : new DataverseError({
        status: 404,
        code: NOT_FOUND_BY_KEY,
        message: `No ${entitySet} row has key ${keyFilter(key)}.`,
        request,
      });
}

/** An unbound action (`WinQuote`): POST of its parameters; its JSON answer, or null for 204. */
export async function executeAction(api: WebApi, name: string, parameters: Row): Promise<unknown> {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`'${name}' is not an action name.`);
  const describe = `POST ${name}`;
  const res = await api.send('POST', api.url(name), {
    body: JSON.stringify(parameters),
    idempotent: false,
    describe,
  });
  if (res.status === 204) return null;
  if (res.status !== 200) throw responseError(res, describe);
  return jsonBody(res);
}
