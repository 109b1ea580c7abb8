/**
 * Web API URL pieces: entity set names, row ids, alternate-key predicates and OData literals, the query
 * string (built by hand: URLSearchParams would turn spaces into `+`, which OData reads literally), and the
 * request headers a query or a write mode asks for.
 */
import type { KeyValues, QueryOptions, WriteMode } from './types';

const ENTITY_SET = /^[A-Za-z_][A-Za-z0-9_]*$/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const COLUMN = /^[a-z_][a-z0-9_]*$/i;
/** Characters Dataverse cannot take in an alternate-key value in a URL, even percent-encoded. */
const URL_UNSAFE = /[/<>*%&:\\?+]/;

export function checkEntitySet(entitySet: string): string {
  if (!ENTITY_SET.test(entitySet)) {
    throw new TypeError(
      `'${entitySet}' is not an entity set name: use the plural Web API name, e.g. accounts.`,
    );
  }
  return entitySet;
}

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** `(guid)`; in a batch a `$n` Content-ID reference stands for a row created earlier in the change set. */
export function idPath(entitySet: string, id: string, allowReference = false): string {
  if (allowReference && /^\$[A-Za-z0-9_-]+$/.test(id)) return id;
  if (!isGuid(id)) throw new TypeError(`'${id}' is not a row id: Dataverse row ids are GUIDs.`);
  return `${checkEntitySet(entitySet)}(${id.toLowerCase()})`;
}

function checkKey(key: KeyValues): [string, string | number][] {
  const entries = Object.entries(key);
  if (entries.length === 0) throw new TypeError('An alternate key needs at least one column.');
  for (const [column, value] of entries) {
    if (!COLUMN.test(column)) throw new TypeError(`'${column}' is not a column logical name.`);
    if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'string') {
      throw new TypeError(`Key column '${column}' must be a string or a finite number.`);
    }
  }
  return entries;
}

/** An OData literal: strings quoted with `'` doubled, numbers bare. */
export function odataLiteral(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replace(/'/g, "''")}'`;
}

/** True when every key value can go in the URL. */
export function keyFitsUrl(key: KeyValues): boolean {
  return checkKey(key).every(([, v]) => typeof v === 'number' || (v.length > 0 && !URL_UNSAFE.test(v)));
}

/** `stc_payments(stc_stripeid='pi_1')`: only for keys that `keyFitsUrl`. */
export function keyPath(entitySet: string, key: KeyValues): string {
  const parts = checkKey(key).map(
    ([column, value]) => `${column}=${encodeURIComponent(odataLiteral(value)).replace(/'/g, '%27')}`,
  );
  return `${checkEntitySet(entitySet)}(${parts.join(',')})`;
}

/** `stc_stripeid eq 'pi_1' and …`, for finding a row whose key cannot go in the URL. */
export function keyFilter(key: KeyValues): string {
  return checkKey(key)
    .map(([column, value]) => `${column} eq ${odataLiteral(value)}`)
    .join(' and ');
}

/** `?$select=…&$filter=…`, or '' when there is nothing to ask. */
export function queryString(query: QueryOptions = {}): string {
  const parts: string[] = [];
  if (query.select?.length) parts.push(`$select=${query.select.map(encodeURIComponent).join(',')}`);
  if (query.filter) parts.push(`$filter=${encodeURIComponent(query.filter)}`);
  if (query.orderBy?.length) parts.push(`$orderby=${query.orderBy.map(encodeURIComponent).join(',')}`);
  if (query.expand) parts.push(`$expand=${encodeURIComponent(query.expand)}`);
  if (query.top !== undefined) {
    if (!Number.isInteger(query.top) || query.top < 1)
      throw new TypeError(`$top must be a positive integer, not ${query.top}.`);
    parts.push(`$top=${query.top}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** The `Prefer` header values a query asks for. */
export function preferFor(query: QueryOptions = {}): string[] {
  const prefer: string[] = [];
  if (query.pageSize !== undefined) prefer.push(`odata.maxpagesize=${query.pageSize}`);
  if (query.includeAnnotations) prefer.push('odata.include-annotations="*"');
  return prefer;
}

/** `Prefer` with the values, or no header when there are none. */
export function preferHeader(values: string[]): Record<string, string> {
  return values.length ? { Prefer: values.join(',') } : {};
}

/** The conditional header of a write by key: update only an existing row, or create only a new one. */
export function writeModeHeaders(mode: WriteMode): Record<string, string> {
  return mode === 'updateOnly' ? { 'If-Match': '*' } : mode === 'createOnly' ? { 'If-None-Match': '*' } : {};
}

/** The row id in an `OData-EntityId` header: `…/stc_payments(guid)`. */
export function idFromEntityId(header: string | null | undefined): string | undefined {
  const match = header ? /\(([0-9a-fA-F-]{36})\)\s*$/.exec(header) : null;
  return match ? match[1].toLowerCase() : undefined;
}

/**
 * The primary id in a returned row. Dataverse always returns the primary key column, so with `$select` of
 * the key columns it is the one GUID-valued plain column that is not a key column nor a lookup value.
 */
export function idFromRow(row: unknown, keyColumns: string[] = []): string | undefined {
  if (!row || typeof row !== 'object') return undefined;
  const candidates = Object.entries(row as Record<string, unknown>).filter(
    ([name, value]) =>
      typeof value === 'string' &&
      isGuid(value) &&
      !name.includes('@') &&
      !name.startsWith('_') &&
      !keyColumns.includes(name),
  );
  const primary = candidates.find(([name]) => name.endsWith('id')) ?? candidates[0];
  return primary ? String(primary[1]).toLowerCase() : undefined;
}
