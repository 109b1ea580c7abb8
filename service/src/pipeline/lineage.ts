/**
 * Lineage: which Dataverse requests each event's attempt made. The pipeline runs a handler inside a scope
 * (AsyncLocalStorage) that collects them; the client handlers get records every request made in a scope as it
 * is made, so a row gathered with other events' rows into one `$batch` is still the event's own. The list is
 * written with the attempt's outcome, in the same store transaction. Requests made outside a scope (schedules,
 * the reconciliation sweep) are not recorded.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import * as tables from '@stc/solution/tables';
import type { DataverseWriteRecord } from '../store';
import type {
  BatchOperation,
  BatchOperationResult,
  CallOptions,
  DataverseClient,
  KeyValues,
  QueryOptions,
} from '../dataverse/types';
import { idPath, keyFilter, keyFitsUrl, keyPath, queryString } from '../dataverse/url';
import { assertHandlerMayGoOn, handlerSignal } from './fence';

interface LineageScope {
  writes: DataverseWriteRecord[];
  mapping: { name: string; version: string } | null;
}

const scope = new AsyncLocalStorage<LineageScope>();

/** Runs `work` (a handler) collecting its Dataverse requests into `writes`. */
export function collectingLineage<T>(writes: DataverseWriteRecord[], work: () => Promise<T>): Promise<T> {
  return scope.run({ writes, mapping: null }, work);
}

/** Runs `work` with its requests attributed to this mapping (name and version of its file). */
export function underMapping<T>(
  mapping: { name: string; version: string },
  work: () => Promise<T>,
): Promise<T> {
  const current = scope.getStore();
  return current ? scope.run({ writes: current.writes, mapping }, work) : work();
}

/** Table logical names by entity set, from the solution's model. */
const logicalNames = new Map<string, string>(
  Object.values(tables as Record<string, unknown>)
    .filter(
      (t): t is { logicalName: string; entitySetName: string } =>
        typeof t === 'object' &&
        t !== null &&
        typeof (t as { logicalName?: unknown }).logicalName === 'string' &&
        typeof (t as { entitySetName?: unknown }).entitySetName === 'string',
    )
    .map((t) => [t.entitySetName, t.logicalName]),
);

const tableOf = (entitySet: string) => logicalNames.get(entitySet) ?? entitySet;

const safe = (path: () => string, fallback: string) => {
  try {
    return path();
  } catch {
    return fallback;
  }
};
/** Paths are kept as a reader would type them: `stc_payments(stc_stripeid='pi_1')`, not percent-encoded. */
const readable = (path: string) => safe(() => decodeURIComponent(path), path);
const byKey = (entitySet: string, key: KeyValues) =>
  safe(
    () => (keyFitsUrl(key) ? readable(keyPath(entitySet, key)) : `${entitySet}?$filter=${keyFilter(key)}`),
    entitySet,
  );
const byId = (entitySet: string, id: string) => safe(() => idPath(entitySet, id), `${entitySet}(${id})`);

type Request = Omit<
  DataverseWriteRecord,
  'status' | 'durationMs' | 'error' | 'atMs' | 'mapping' | 'mappingVersion'
>;

const statusOf = (error: unknown): number => {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : 0;
};
const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error ?? 'failed');

/**
 * Times `call` and records it in the current scope (when there is one) with the status its answer implies;
 * `answer` gives the status and row id of a success.
 */
function recorded<T>(
  request: Request,
  call: () => Promise<T>,
  answer: (result: T) => { status: number; rowId?: string | null },
): Promise<T> {
  try {
    assertHandlerMayGoOn();
  } catch (error) {
    return Promise.reject(error);
  }
  const current = scope.getStore();
  if (!current) return call();
  const atMs = Date.now();
  const started = performance.now();
  const note = (status: number, rowId: string | null, error: string | null) =>
    current.writes.push({
      ...request,
      rowId,
      mapping: current.mapping?.name ?? null,
      mappingVersion: current.mapping?.version ?? null,
      status,
      durationMs: performance.now() - started,
      error,
      atMs,
    });
  return call().then(
    (result) => {
      const { status, rowId } = answer(result);
      note(status, rowId === undefined ? request.rowId : rowId, null);
      return result;
    },
    (error: unknown) => {
      note(statusOf(error), request.rowId, messageOf(error));
      throw error;
    },
  );
}

function batchRequest(op: BatchOperation): Request {
  const table = tableOf(op.entitySet);
  switch (op.kind) {
    case 'create':
      return { table, rowId: null, operation: 'create', method: 'POST', path: op.entitySet };
    case 'update':
      return { table, rowId: op.id, operation: 'update', method: 'PATCH', path: byId(op.entitySet, op.id) };
    case 'upsert':
      return { table, rowId: null, operation: 'upsert', method: 'PATCH', path: byKey(op.entitySet, op.key) };
    case 'delete':
      return { table, rowId: op.id, operation: 'delete', method: 'DELETE', path: byId(op.entitySet, op.id) };
    case 'retrieve':
      return { table, rowId: op.id, operation: 'read', method: 'GET', path: byId(op.entitySet, op.id) };
  }
}

/** Records each operation of a `$batch` with its own result. */
function recordBatch(
  operations: BatchOperation[],
  call: () => Promise<BatchOperationResult[]>,
): Promise<BatchOperationResult[]> {
  try {
    assertHandlerMayGoOn();
  } catch (error) {
    return Promise.reject(error);
  }
  const current = scope.getStore();
  if (!current) return call();
  const atMs = Date.now();
  const started = performance.now();
  const note = (results: Array<BatchOperationResult | undefined>, failure: unknown) => {
    const durationMs = performance.now() - started;
    operations.forEach((op, i) => {
      const request = batchRequest(op);
      const result = results[i];
      const status = result?.status ?? statusOf(failure);
      current.writes.push({
        ...request,
        rowId: result?.id ?? request.rowId,
        mapping: current.mapping?.name ?? null,
        mappingVersion: current.mapping?.version ?? null,
        status,
        durationMs,
        error: result?.error?.message ?? (result ? null : messageOf(failure)),
        atMs,
      });
    });
  };
  return call().then(
    (results) => {
      note(results, null);
      return results;
    },
    (error: unknown) => {
      note([], error);
      throw error;
    },
  );
}

const request = (
  entitySet: string,
  operation: Request['operation'],
  path: string,
  rowId: string | null = null,
): Request => ({
  table: tableOf(entitySet),
  rowId,
  operation,
  method: { create: 'POST', delete: 'DELETE', read: 'GET' }[operation as string] ?? 'PATCH',
  path,
});
const withQuery = (path: string, query: QueryOptions | undefined) =>
  `${path}${readable(safe(() => queryString(query), ''))}`;

/**
 * The call's options with the running handler's fence as their signal, so that nothing more of a call made
 * before the handler was stopped is sent afterwards (a retry, a row waiting for a batch); as they are outside
 * a handler.
 */
function fenced<T extends CallOptions>(options: T | undefined): T | undefined {
  const signal = handlerSignal();
  return signal ? ({ ...options, signal } as T) : options;
}

/**
 * The client handlers get: every request made inside a lineage scope is recorded there, and none is sent for
 * a handler the pipeline has stopped (see fence.ts): a call is refused when it is made, and the client is given
 * the fence's signal for what the call sends afterwards.
 */
export function recordingDataverse(client: DataverseClient): DataverseClient {
  return {
    create: (entitySet, row, options) =>
      recorded(
        request(entitySet, 'create', entitySet),
        () => client.create(entitySet, row, fenced(options)),
        (id) => ({ status: 201, rowId: id }),
      ),
    update: (entitySet, id, row, options) =>
      recorded(
        request(entitySet, 'update', byId(entitySet, id), id),
        () => client.update(entitySet, id, row, fenced(options)),
        () => ({ status: 204 }),
      ),
    upsertByKey: (entitySet, key, row, options) =>
      recorded(
        request(entitySet, 'upsert', byKey(entitySet, key)),
        () => client.upsertByKey(entitySet, key, row, fenced(options)),
        (result) => ({ status: result.created ? 201 : 204, rowId: result.id }),
      ),
    delete: (entitySet, id, options) =>
      recorded(
        request(entitySet, 'delete', byId(entitySet, id), id),
        () => client.delete(entitySet, id, fenced(options)),
        () => ({ status: 204 }),
      ),
    retrieve: (entitySet, id, query, options) =>
      recorded(
        request(entitySet, 'read', withQuery(byId(entitySet, id), query), id),
        () => client.retrieve(entitySet, id, query, fenced(options)),
        (row) => ({ status: row ? 200 : 404 }),
      ),
    retrieveByKey: (entitySet, key, query, options) =>
      recorded(
        request(entitySet, 'read', withQuery(byKey(entitySet, key), query)),
        () => client.retrieveByKey(entitySet, key, query, fenced(options)),
        (row) => ({ status: row ? 200 : 404 }),
      ),
    retrieveMultiple: (entitySet, query, options) =>
      recorded(
        request(entitySet, 'read', withQuery(entitySet, query)),
        () => client.retrieveMultiple(entitySet, query, fenced(options)),
        () => ({ status: 200 }),
      ),
    executeAction: (name, parameters, options) =>
      recorded(
        // An action changes rows (WinQuote closes a quote): recorded as an update, POST to its name.
        { table: '', rowId: null, operation: 'update', method: 'POST', path: name },
        () => client.executeAction(name, parameters, fenced(options)),
        () => ({ status: 204 }),
      ),
    executeBatch: (operations, options) =>
      recordBatch(operations, () => client.executeBatch(operations, fenced(options))),
  };
}
