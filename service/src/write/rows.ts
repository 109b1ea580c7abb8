/**
 * Writing mapped rows: lookups resolved to `@odata.bind`, then one upsert by alternate key (no read of the
 * row first). Lookups that name a row which does not exist are left unset rather than losing the row.
 */
import type { DataverseClient, Row, UpsertResult, WriteMode } from '../dataverse/types';
import type { MappedRow, PendingLink } from '../mapping';
import type { HandlerLogger } from '../pipeline/handler';
import { underMapping } from '../pipeline/lineage';
import { mappingVersionInUse } from '../pipeline/mapping-version';

const NOT_FOUND_CODES = new Set(['0x80060891', '0x80040217']);

/** A Dataverse "no such row" answer (404, or the not-found codes some operations send with 400). */
export function isNotFound(error: unknown): boolean {
  const e = error as { status?: unknown; code?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  return e.status === 404 || (typeof e.code === 'string' && NOT_FOUND_CODES.has(e.code.toLowerCase()));
}

/** A create refused because the alternate key exists already (412 or 0x80060892). */
export function isDuplicate(error: unknown): boolean {
  const e = error as { status?: unknown; code?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  return e.status === 412 || (typeof e.code === 'string' && e.code.toLowerCase() === '0x80060892');
}

/** A write under an etag lost to a concurrent writer (412): the row is to be read and decided again. */
export function isConflict(error: unknown): boolean {
  return (error as { status?: unknown } | null)?.status === 412;
}

/** An OData string literal: single quotes doubled. */
/**
 * Rows written before the row they link to existed (their events worked beside its own) carry the Stripe id
 * they belong to and no link: once that row exists, each gets the link. Bounded: one page of `top` rows.
 */
export async function linkWaitingRows(
  dataverse: DataverseClient,
  waiting: { entitySet: string; primaryId: string; filter: string; top: number },
  link: { navigation: string; target: string },
): Promise<void> {
  const rows = await dataverse.retrieveMultiple(waiting.entitySet, {
    select: [waiting.primaryId],
    filter: waiting.filter,
    top: waiting.top,
  });
  for (const row of rows) {
    const id = row[waiting.primaryId];
    if (typeof id !== 'string') continue;
    await dataverse.update(waiting.entitySet, id, { [`${link.navigation}@odata.bind`]: link.target });
  }
}

export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Characters Dataverse refuses in a key inside a URL (then the row is found by $filter instead). */
const UNSAFE_IN_KEY = /[/<>*%&:\\?+]/;

export interface ResolvedLink {
  navigation: string;
  path: string;
  /** True when the bind was made without checking the target exists (a GUID or alternate key from the data). */
  unchecked: boolean;
}

/**
 * Rows found by a lookup query, per client: a burst of payments of one customer asks Dataverse once.
 * A cached row that was deleted since makes the write fail with not-found; it is then retried without the
 * link, like any bind made without a read.
 */
const FOUND_TTL_MS = 5 * 60_000;
const FOUND_MAX = 10_000;
const foundRows = new WeakMap<
  DataverseClient,
  Map<string, { path: string; navigation: string; expires: number }>
>();

function foundCache(dataverse: DataverseClient) {
  let cache = foundRows.get(dataverse);
  if (!cache) foundRows.set(dataverse, (cache = new Map()));
  return cache;
}

export async function resolveLink(
  link: PendingLink,
  dataverse: DataverseClient,
): Promise<ResolvedLink | null> {
  if (link.id) {
    const target = link.targets[0];
    return { navigation: target.navigation, path: `/${target.entitySet}(${link.id})`, unchecked: true };
  }
  if (!link.match) return null;
  const { column, value } = link.match;
  if (link.byKey && !UNSAFE_IN_KEY.test(value)) {
    const target = link.targets[0];
    return {
      navigation: target.navigation,
      path: `/${target.entitySet}(${column}=${odataString(value)})`,
      unchecked: true,
    };
  }
  const cache = foundCache(dataverse);
  // The navigation is the link's own: two lookups to the same tables (a payment's and an order's customer)
  // name the found row through different navigation properties.
  const cacheKey = `${link.targets.map((target) => `${target.entitySet}:${target.navigation}`).join('|')} ${column} ${value}`;
  const cached = cache.get(cacheKey);
  if (cached && cached.expires > Date.now())
    return { navigation: cached.navigation, path: cached.path, unchecked: true };
  for (const target of link.targets) {
    const found = await dataverse.retrieveMultiple(target.entitySet, {
      select: [target.primaryIdColumn],
      filter: `${column} eq ${odataString(value)}`,
      top: 1,
    });
    const id = found[0]?.[target.primaryIdColumn];
    if (typeof id === 'string') {
      const path = `/${target.entitySet}(${id})`;
      if (cache.size >= FOUND_MAX) cache.delete(cache.keys().next().value as string);
      cache.set(cacheKey, { path, navigation: target.navigation, expires: Date.now() + FOUND_TTL_MS });
      return { navigation: target.navigation, path, unchecked: false };
    }
  }
  return null;
}

export interface WriteOptions {
  mode?: WriteMode;
}

/**
 * Upserts the mapped row by its alternate key. A bind made without a read (a GUID from Stripe metadata)
 * that names a missing row fails the write with not-found; the row is then written without those binds
 * and a warning names the link, so a wrong order id in metadata never loses the payment.
 */
export function writeMappedRow(
  dataverse: DataverseClient,
  log: HandlerLogger,
  mapped: MappedRow,
  options: WriteOptions = {},
): Promise<UpsertResult> {
  // The lookups' reads and the write are the mapping's, in the event's lineage, under the number of the
  // stored mapping version the event is worked with ("3"; the file's own `version:` without one).
  const version = mappingVersionInUse() ?? mapped.version;
  return underMapping({ name: mapped.mapping, version }, () => writeRow(dataverse, log, mapped, options));
}

async function writeRow(
  dataverse: DataverseClient,
  log: HandlerLogger,
  mapped: MappedRow,
  options: WriteOptions,
): Promise<UpsertResult> {
  const row: Row = { ...mapped.row };
  const unchecked: string[] = [];
  for (const link of mapped.links) {
    const resolved = await resolveLink(link, dataverse);
    if (!resolved) {
      log.info(
        { mapping: mapped.mapping, column: link.column, match: link.match },
        'lookup target not found in Dataverse; link left unset',
      );
      continue;
    }
    row[`${resolved.navigation}@odata.bind`] = resolved.path;
    if (resolved.unchecked) unchecked.push(`${resolved.navigation}@odata.bind`);
  }
  const mode = options.mode ?? 'upsert';
  try {
    return await dataverse.upsertByKey(mapped.entitySet, mapped.key, row, { mode });
  } catch (error) {
    // In update-only mode a not-found is about the row itself, not a link: the caller decides.
    if (mode === 'updateOnly' || unchecked.length === 0 || !isNotFound(error)) throw error;
    log.warn(
      { mapping: mapped.mapping, key: mapped.key, links: unchecked.map((bind) => row[bind]) },
      'a linked row named by the Stripe data does not exist; writing the row without that link',
    );
    for (const bind of unchecked) delete row[bind];
    return dataverse.upsertByKey(mapped.entitySet, mapped.key, row, { mode });
  }
}
