/**
 * The Dataverse Web API client: a thin layer over `fetch` with tokens from @azure/identity, adaptive
 * concurrency and retries under the service protection limits, alternate-key writes (with a safe path for
 * key values that cannot go in a URL), and `$batch` with change sets.
 */
import type { TokenCredential } from '@azure/identity';
import { ConcurrencyLimiter, type ConcurrencyState } from './concurrency';
import { createTokenProvider, scopeFor, type TokenProvider, type TokenSource } from './credential';
import {
  DataverseError,
  errorFromResponse,
  isDuplicateKey,
  isTransient,
  MATCHING_RECORD_EXISTS,
  NOT_FOUND_BY_KEY,
  parseErrorBody,
  parseRetryAfter,
  THROTTLING_CODES,
} from './errors';
import {
  buildBatch,
  parseBatchResponse,
  type PartGroup,
  type PartRequest,
  type PartResponse,
} from './multipart';
import type {
  BatchOperation,
  BatchOperationResult,
  DataverseClient,
  KeyValues,
  QueryOptions,
  Row,
  UpsertResult,
  WriteMode,
} from './types';
import {
  checkEntitySet,
  idFromEntityId,
  idFromRow,
  idPath,
  keyFilter,
  keyFitsUrl,
  keyPath,
  preferFor,
  queryString,
} from './url';

export interface DataverseLogger {
  warn(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface RetryOptions {
  /** Attempts for a 5xx, a timeout or a network error (idempotent requests only). */
  maxAttempts?: number;
  /** Attempts for a 429: Dataverse did not run the request, so it is always safe to send again. */
  maxThrottledAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface DataverseClientOptions {
  /** The Web API root, e.g. `https://org.crm.dynamics.com/api/data/v9.2/`. */
  baseUrl: string;
  /** Where tokens come from: a function, or an @azure/identity credential with `scope`. */
  getToken?: TokenSource;
  credential?: TokenCredential;
  /** Default: the environment's origin + `/.default`. */
  scope?: string;
  /** Upper bound for the adaptive concurrency (Dataverse allows 52 per user). Default 52. */
  maxConcurrency?: number;
  /** Starting concurrency; Microsoft recommends about 10. */
  initialConcurrency?: number;
  /** Per attempt. Default 120 s (Dataverse's own limit is about 2 minutes a request). */
  timeoutMs?: number;
  retry?: RetryOptions;
  logger?: DataverseLogger;
  /** For tests: the `fetch` to use. */
  fetch?: typeof fetch;
}

export interface DataverseClientStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** 429 answers received. */
  throttled: number;
  retries: number;
  batches: number;
  concurrency: ConcurrencyState;
}

/** The contract plus what operators and benchmarks look at. */
export interface DataverseWebApiClient extends DataverseClient {
  stats(): DataverseClientStats;
  readonly baseUrl: string;
}

interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  attempts: number;
}

interface SendOptions {
  headers?: Record<string, string>;
  body?: string;
  /** Safe to send again after a 5xx, timeout or network failure. */
  idempotent: boolean;
  /** For error messages: `PATCH stc_payments(…)`. */
  describe: string;
}

/** Most operations a single `$batch` may carry. */
export const MAX_BATCH_OPERATIONS = 1000;
const MAX_KEY_ATTEMPTS = 3;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createDataverseClient(options: DataverseClientOptions): DataverseWebApiClient {
  const baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  try {
    new URL(baseUrl);
  } catch {
    throw new TypeError(
      `DATAVERSE_URL '${options.baseUrl}' is not a URL: use https://<org>.crm.dynamics.com/api/data/v9.2/.`,
    );
  }
  const tokens: TokenProvider | undefined = options.getToken
    ? createTokenProvider({ getToken: options.getToken })
    : options.credential
      ? createTokenProvider({ credential: options.credential, scope: options.scope ?? scopeFor(baseUrl) })
      : undefined;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const retry = {
    maxAttempts: options.retry?.maxAttempts ?? 5,
    maxThrottledAttempts: options.retry?.maxThrottledAttempts ?? 12,
    baseDelayMs: options.retry?.baseDelayMs ?? 250,
    maxDelayMs: options.retry?.maxDelayMs ?? 30_000,
  };
  const limiter = new ConcurrencyLimiter({
    initial: options.initialConcurrency ?? 10,
    max: options.maxConcurrency ?? 52,
  });
  const counters = { requests: 0, throttled: 0, retries: 0, batches: 0 };
  const log = options.logger;

  const backoff = (attempt: number) => {
    const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  };

  /** A token, or a DataverseError that says why none could be had (401: refused; 0: Entra unreachable). */
  async function tokenFor(describe: string): Promise<string> {
    try {
      return await tokens!.getToken();
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      // Refused or unusable here (permanent) vs. Entra or the identity endpoint not answering (transient).
      const refused =
        (err as Error).name === 'CredentialUnavailableError' ||
        (status !== undefined
          ? status >= 400 && status < 500
          : /AADSTS\d+|Authentication failed/.test(String((err as Error).message)));
      throw new DataverseError({
        status: refused ? 401 : 0,
        message: `No access token for Dataverse: ${(err as Error).message}`,
        request: describe,
        cause: err,
      });
    }
  }

  /**
   * Sends one request through the concurrency limiter, retrying what can be retried: a 429 always (Dataverse
   * did not run it; every request waits out Retry-After through the limiter), a 5xx, timeout or network
   * error only when the request is idempotent, a 401 once with a fresh token. The slot is given back before
   * any wait. Answers that are not retried are returned as they are.
   */
  async function send(method: string, url: string, opts: SendOptions): Promise<HttpResult> {
    let attempts = 0;
    let failures = 0;
    let throttledAttempts = 0;
    let refreshedToken = false;
    for (;;) {
      attempts += 1;
      let waitMs = 0;
      const generation = await limiter.acquire();
      let throttled = false;
      let reduce = true;
      let retryAfterMs: number | undefined;
      try {
        const headers: Record<string, string> = {
          Accept: 'application/json',
          'OData-MaxVersion': '4.0',
          'OData-Version': '4.0',
          ...(opts.body !== undefined ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
          ...opts.headers,
        };
        if (tokens) headers.Authorization = `Bearer ${await tokenFor(opts.describe)}`;
        counters.requests += 1;
        let res: Response;
        let text: string;
        try {
          res = await doFetch(url, {
            method,
            headers,
            body: opts.body,
            signal: AbortSignal.timeout(timeoutMs),
          });
          text = await res.text();
        } catch (err) {
          const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
          const failure = new DataverseError({
            status: 0,
            message: timedOut
              ? `No answer within ${timeoutMs} ms`
              : `Network error: ${(err as Error).message}`,
            request: opts.describe,
            attempts,
            cause: err,
          });
          failures += 1;
          if (!opts.idempotent || failures >= retry.maxAttempts) throw failure;
          counters.retries += 1;
          log?.warn(
            { request: opts.describe, attempt: attempts, reason: failure.platformMessage },
            'dataverse request failed, retrying',
          );
          waitMs = backoff(failures);
          continue;
        }

        if (res.status === 429) {
          throttled = true;
          counters.throttled += 1;
          throttledAttempts += 1;
          retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
          // Over the request count, fewer requests in parallel would not help: wait, keep the concurrency.
          reduce = parseErrorBody(text).code.toLowerCase() !== THROTTLING_CODES.requests;
          if (throttledAttempts >= retry.maxThrottledAttempts) {
            throw errorFromResponse(
              { status: res.status, headers: res.headers, text },
              opts.describe,
              attempts,
            );
          }
          counters.retries += 1;
          log?.debug?.(
            { request: opts.describe, retryAfterMs, code: parseErrorBody(text).code },
            'dataverse throttled, waiting',
          );
          // With Retry-After the limiter holds every request back until then; without one, back off here.
          if (retryAfterMs === undefined) waitMs = backoff(throttledAttempts);
          continue;
        }
        if (res.status === 401 && tokens && !refreshedToken) {
          // A token revoked or expired early: ask for a new one, once.
          refreshedToken = true;
          tokens.invalidate();
          continue;
        }
        if (res.status >= 500 || res.status === 408) {
          const { code } = parseErrorBody(text);
          failures += 1;
          if (isTransient(res.status, code) && opts.idempotent && failures < retry.maxAttempts) {
            counters.retries += 1;
            log?.warn(
              { request: opts.describe, status: res.status, code, attempt: attempts },
              'dataverse request failed, retrying',
            );
            waitMs = Math.max(backoff(failures), parseRetryAfter(res.headers.get('retry-after')) ?? 0);
            continue;
          }
        }
        return { status: res.status, headers: res.headers, text, attempts };
      } finally {
        limiter.release(generation, { throttled, retryAfterMs, reduce });
        // Runs before the loop's next turn: the wait happens with the slot given back.
        if (waitMs > 0) await sleep(waitMs);
      }
    }
  }

  const url = (path: string) => `${baseUrl}${path}`;
  const fail = (res: HttpResult, describe: string) => errorFromResponse(res, describe, res.attempts);
  const json = (res: HttpResult): unknown => (res.text ? JSON.parse(res.text) : undefined);
  const prefer = (values: string[]): Record<string, string> =>
    values.length ? { Prefer: values.join(',') } : {};

  async function create(entitySet: string, row: Row): Promise<string> {
    const path = checkEntitySet(entitySet);
    const describe = `POST ${path}`;
    const res = await send('POST', url(path), { body: JSON.stringify(row), idempotent: false, describe });
    if (res.status !== 201 && res.status !== 204) throw fail(res, describe);
    const id = idFromEntityId(res.headers.get('odata-entityid')) ?? idFromRow(json(res));
    if (!id)
      throw new DataverseError({
        status: res.status,
        message: 'Dataverse created the row but sent no OData-EntityId',
        request: describe,
      });
    return id;
  }

  async function update(entitySet: string, id: string, row: Row, opts?: { ifMatch?: string }): Promise<void> {
    const path = idPath(entitySet, id);
    const describe = `PATCH ${path}`;
    // If-Match: * by default: a PATCH by id would otherwise create a missing row.
    const res = await send('PATCH', url(path), {
      body: JSON.stringify(row),
      headers: { 'If-Match': opts?.ifMatch ?? '*' },
      idempotent: true,
      describe,
    });
    if (res.status !== 204 && res.status !== 200) throw fail(res, describe);
  }

  async function remove(entitySet: string, id: string): Promise<void> {
    const path = idPath(entitySet, id);
    const describe = `DELETE ${path}`;
    const res = await send('DELETE', url(path), { idempotent: true, describe });
    // A 404 after a retried attempt means an earlier attempt deleted it.
    if (res.status === 404 && res.attempts > 1) return;
    if (res.status !== 204 && res.status !== 200) throw fail(res, describe);
  }

  async function getRow(path: string, query?: QueryOptions): Promise<Row | null> {
    const describe = `GET ${decodeURIComponent(path)}`;
    const res = await send('GET', url(`${path}${queryString(query)}`), {
      headers: prefer(preferFor(query)),
      idempotent: true,
      describe,
    });
    if (res.status === 404) return null;
    if (res.status !== 200) throw fail(res, describe);
    return json(res) as Row;
  }

  async function retrieveMultiple(entitySet: string, query: QueryOptions = {}): Promise<Row[]> {
    const path = checkEntitySet(entitySet);
    const rows: Row[] = [];
    let next: string | undefined = url(`${path}${queryString(query)}`);
    const seen = new Set<string>();
    while (next) {
      if (seen.has(next))
        throw new DataverseError({ status: 200, message: `Paging loops on ${next}`, request: `GET ${path}` });
      seen.add(next);
      const describe = `GET ${path}`;
      const res = await send('GET', next, { headers: prefer(preferFor(query)), idempotent: true, describe });
      if (res.status !== 200) throw fail(res, describe);
      const page = json(res) as { value?: Row[]; '@odata.nextLink'?: string };
      rows.push(...(page.value ?? []));
      if (query.top !== undefined && rows.length >= query.top) return rows.slice(0, query.top);
      next = page['@odata.nextLink'];
    }
    return rows;
  }

  /** Finds the row with the key through `$filter` (for keys that cannot go in a URL). */
  async function findIdByKey(entitySet: string, key: KeyValues): Promise<string | undefined> {
    const columns = Object.keys(key);
    const rows = await retrieveMultiple(entitySet, { select: columns, filter: keyFilter(key), top: 2 });
    if (rows.length > 1) {
      throw new DataverseError({
        status: 409,
        message: `${rows.length} rows of ${entitySet} match key ${keyFilter(key)}; an alternate key must be unique (is the key index active?)`,
        request: `GET ${entitySet}`,
      });
    }
    const id = rows[0] ? idFromRow(rows[0], columns) : undefined;
    if (rows[0] && !id) {
      throw new DataverseError({
        status: 200,
        message: `The row found by ${keyFilter(key)} carries no primary id`,
        request: `GET ${entitySet}`,
      });
    }
    return id;
  }

  const modeHeaders = (mode: WriteMode): Record<string, string> =>
    mode === 'updateOnly' ? { 'If-Match': '*' } : mode === 'createOnly' ? { 'If-None-Match': '*' } : {};

  function upsertResult(res: HttpResult, keyColumns: string[]): UpsertResult | undefined {
    let body: unknown;
    try {
      body = res.text ? JSON.parse(res.text) : undefined;
    } catch {
      body = undefined;
    }
    const id = idFromEntityId(res.headers.get('odata-entityid')) ?? idFromRow(body, keyColumns);
    // With return=representation Dataverse answers 201 when the upsert created the row, 200 when it updated.
    return id ? { id, created: res.status === 201 } : undefined;
  }

  async function upsertByKeyInUrl(
    entitySet: string,
    key: KeyValues,
    row: Row,
    mode: WriteMode,
  ): Promise<UpsertResult> {
    const path = keyPath(entitySet, key);
    const columns = Object.keys(key);
    const describe = `PATCH ${decodeURIComponent(path)}`;
    for (let attempt = 1; ; attempt += 1) {
      const res = await send('PATCH', url(`${path}${queryString({ select: columns })}`), {
        body: JSON.stringify(row),
        headers: { ...modeHeaders(mode), Prefer: 'return=representation' },
        idempotent: true,
        describe,
      });
      if (res.status === 200 || res.status === 201 || res.status === 204) {
        const result = upsertResult(res, columns);
        if (!result)
          throw new DataverseError({
            status: res.status,
            message: 'Dataverse wrote the row but named no id',
            request: describe,
          });
        return result;
      }
      const error = fail(res, describe);
      // Two upserts creating the same new key at once: the loser sees a duplicate; once more updates.
      if (mode === 'upsert' && isDuplicateKey(error.status, error.code) && attempt < MAX_KEY_ATTEMPTS)
        continue;
      throw error;
    }
  }

  /**
   * A write by a key whose value Dataverse cannot take in a URL: find the row by `$filter`, then PATCH it
   * by id (If-Match: * so a row deleted meanwhile is not recreated under a new id), or POST it with the
   * key in the body; a duplicate-key answer means another writer created it first, so look again.
   */
  async function upsertByKeyInBody(
    entitySet: string,
    key: KeyValues,
    row: Row,
    mode: WriteMode,
  ): Promise<UpsertResult> {
    checkEntitySet(entitySet);
    const describe = `upsert ${entitySet} by ${keyFilter(key)}`;
    for (let attempt = 1; attempt <= MAX_KEY_ATTEMPTS; attempt += 1) {
      const id = await findIdByKey(entitySet, key);
      if (id) {
        if (mode === 'createOnly') {
          throw new DataverseError({
            status: 412,
            code: MATCHING_RECORD_EXISTS,
            message: 'A record with matching key values already exists.',
            request: describe,
          });
        }
        try {
          await update(entitySet, id, row);
          return { id, created: false };
        } catch (err) {
          if (err instanceof DataverseError && err.status === 404) continue;
          throw err;
        }
      }
      if (mode === 'updateOnly') {
        throw new DataverseError({
          status: 404,
          code: NOT_FOUND_BY_KEY,
          message: `No ${entitySet} row has key ${keyFilter(key)}.`,
          request: describe,
        });
      }
      try {
        return { id: await create(entitySet, { ...row, ...key }), created: true };
      } catch (err) {
        if (err instanceof DataverseError && isDuplicateKey(err.status, err.code) && mode === 'upsert')
          continue;
        throw err;
      }
    }
    throw new DataverseError({
      status: 409,
      message: `The row kept changing under concurrent writers after ${MAX_KEY_ATTEMPTS} attempts`,
      request: describe,
    });
  }

  async function upsertByKey(
    entitySet: string,
    key: KeyValues,
    row: Row,
    opts?: { mode?: WriteMode },
  ): Promise<UpsertResult> {
    const mode = opts?.mode ?? 'upsert';
    return keyFitsUrl(key)
      ? upsertByKeyInUrl(entitySet, key, row, mode)
      : upsertByKeyInBody(entitySet, key, row, mode);
  }

  async function retrieveByKey(entitySet: string, key: KeyValues, query?: QueryOptions): Promise<Row | null> {
    if (keyFitsUrl(key)) return getRow(keyPath(entitySet, key), query);
    const filter = query?.filter ? `(${keyFilter(key)}) and (${query.filter})` : keyFilter(key);
    const rows = await retrieveMultiple(entitySet, { ...query, filter, top: 2 });
    if (rows.length > 1) {
      throw new DataverseError({
        status: 409,
        message: `${rows.length} rows of ${entitySet} match key ${keyFilter(key)}`,
        request: `GET ${entitySet}`,
      });
    }
    return rows[0] ?? null;
  }

  // ---- $batch ----

  interface PreparedOperation {
    request: PartRequest;
    /** Key columns of an upsert, to find the id in its answer. */
    keyColumns?: string[];
    idempotent: boolean;
  }

  /** Turns an operation into a batch part. Upserts by a key that cannot go in a URL are resolved first. */
  async function prepare(
    op: BatchOperation,
  ): Promise<PreparedOperation | { immediate: BatchOperationResult }> {
    switch (op.kind) {
      case 'create':
        return {
          request: { method: 'POST', url: url(checkEntitySet(op.entitySet)), body: op.row },
          idempotent: false,
        };
      case 'update':
        return {
          request: {
            method: 'PATCH',
            url: partUrl(idPath(op.entitySet, op.id, true)),
            body: op.row,
            headers: { 'If-Match': op.ifMatch ?? '*' },
          },
          idempotent: true,
        };
      case 'delete':
        return {
          request: { method: 'DELETE', url: partUrl(idPath(op.entitySet, op.id, true)) },
          idempotent: true,
        };
      case 'retrieve':
        return {
          request: {
            method: 'GET',
            url: url(`${idPath(op.entitySet, op.id)}${queryString(op.query)}`),
            headers: { Accept: 'application/json', ...prefer(preferFor(op.query)) },
          },
          idempotent: true,
        };
      case 'upsert': {
        const mode = op.mode ?? 'upsert';
        const columns = Object.keys(op.key);
        if (keyFitsUrl(op.key)) {
          return {
            request: {
              method: 'PATCH',
              url: url(`${keyPath(op.entitySet, op.key)}${queryString({ select: columns })}`),
              body: op.row,
              headers: { ...modeHeaders(mode), Prefer: 'return=representation' },
            },
            keyColumns: columns,
            idempotent: true,
          };
        }
        const id = await findIdByKey(op.entitySet, op.key);
        if (id && mode === 'createOnly') {
          return {
            immediate: errorResult(
              412,
              MATCHING_RECORD_EXISTS,
              'A record with matching key values already exists.',
            ),
          };
        }
        if (!id && mode === 'updateOnly') {
          return {
            immediate: errorResult(
              404,
              NOT_FOUND_BY_KEY,
              `No ${op.entitySet} row has key ${keyFilter(op.key)}.`,
            ),
          };
        }
        return id
          ? {
              request: {
                method: 'PATCH',
                url: url(idPath(op.entitySet, id)),
                body: op.row,
                headers: { 'If-Match': '*' },
              },
              keyColumns: columns,
              idempotent: true,
            }
          : {
              request: {
                method: 'POST',
                url: url(checkEntitySet(op.entitySet)),
                body: { ...op.row, ...op.key },
              },
              keyColumns: columns,
              idempotent: false,
            };
      }
    }
  }

  function partUrl(pathOrReference: string): string {
    return pathOrReference.startsWith('$') ? pathOrReference : url(pathOrReference);
  }

  function errorResult(
    status: number,
    code: string,
    message: string,
    retryAfterMs?: number,
  ): BatchOperationResult {
    const error = new DataverseError({ status, code, message, retryAfterMs });
    return { status, error: error.toInfo() };
  }

  function resultOf(res: PartResponse, keyColumns?: string[]): BatchOperationResult {
    let body: unknown;
    if (res.body) {
      try {
        body = JSON.parse(res.body);
      } catch {
        body = res.body;
      }
    }
    if (res.status >= 200 && res.status < 300) {
      const id = idFromEntityId(res.headers.get('odata-entityid')) ?? idFromRow(body, keyColumns);
      return { status: res.status, ...(id ? { id } : {}), ...(body !== undefined ? { body } : {}) };
    }
    const { code, message } = parseErrorBody(res.body);
    const error = new DataverseError({
      status: res.status,
      code,
      message: message || `Dataverse answered ${res.status}`,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
      requestId: res.headers.get('x-ms-service-request-id') ?? res.headers.get('req_id') ?? undefined,
    });
    return { status: res.status, ...(body !== undefined ? { body } : {}), error: error.toInfo() };
  }

  /** Splits operations into batches of at most 1,000, never splitting a change set. */
  function chunk(operations: BatchOperation[]): BatchOperation[][] {
    const chunks: BatchOperation[][] = [];
    let current: BatchOperation[] = [];
    let i = 0;
    while (i < operations.length) {
      const op = operations[i];
      const set = 'changeSet' in op && op.changeSet !== undefined ? op.changeSet : undefined;
      let j = i + 1;
      if (set !== undefined) {
        while (
          j < operations.length &&
          'changeSet' in operations[j] &&
          (operations[j] as { changeSet?: string }).changeSet === set
        )
          j += 1;
      }
      const group = operations.slice(i, j);
      if (group.length > MAX_BATCH_OPERATIONS) {
        throw new TypeError(
          `Change set '${set}' has ${group.length} operations; Dataverse takes at most ${MAX_BATCH_OPERATIONS} in one batch.`,
        );
      }
      if (current.length + group.length > MAX_BATCH_OPERATIONS) {
        chunks.push(current);
        current = [];
      }
      current.push(...group);
      i = j;
    }
    if (current.length) chunks.push(current);
    return chunks;
  }

  async function executeChunk(
    operations: BatchOperation[],
    continueOnError: boolean,
  ): Promise<BatchOperationResult[]> {
    const prepared = await Promise.all(operations.map(prepare));
    const results: (BatchOperationResult | undefined)[] = prepared.map((p) =>
      'immediate' in p ? p.immediate : undefined,
    );

    // Groups: consecutive operations with the same changeSet name form one change set.
    const groups: { indexes: number[]; changeSet: boolean }[] = [];
    const usedIds = new Set(
      operations.map((op) => ('contentId' in op ? op.contentId : undefined)).filter(Boolean),
    );
    let nextId = 1;
    const freshId = () => {
      while (usedIds.has(String(nextId))) nextId += 1;
      usedIds.add(String(nextId));
      return String(nextId);
    };
    operations.forEach((op, index) => {
      if (results[index]) return;
      const set = 'changeSet' in op ? op.changeSet : undefined;
      const last = groups[groups.length - 1];
      const prevOp = last ? operations[last.indexes[last.indexes.length - 1]] : undefined;
      if (set !== undefined && last?.changeSet && prevOp && 'changeSet' in prevOp && prevOp.changeSet === set)
        last.indexes.push(index);
      else groups.push({ indexes: [index], changeSet: set !== undefined });
    });
    if (groups.length === 0) return results as BatchOperationResult[];

    const partGroups: PartGroup[] = groups.map((g) => {
      if (!g.changeSet)
        return { changeSet: false, request: (prepared[g.indexes[0]] as PreparedOperation).request };
      return {
        changeSet: true,
        requests: g.indexes.map((i) => {
          const op = operations[i];
          return {
            ...(prepared[i] as PreparedOperation).request,
            contentId: ('contentId' in op ? op.contentId : undefined) ?? freshId(),
          };
        }),
      };
    });
    const { contentType, body } = buildBatch(partGroups);
    const idempotent = groups.every((g) =>
      g.indexes.every((i) => (prepared[i] as PreparedOperation).idempotent),
    );
    const describe = `POST $batch (${operations.length} operations)`;
    counters.batches += 1;
    const res = await send('POST', url('$batch'), {
      body,
      headers: {
        'Content-Type': contentType,
        Accept: 'application/json',
        ...(continueOnError ? { Prefer: 'odata.continue-on-error' } : {}),
      },
      idempotent,
      describe,
    });
    const isMultipart = (res.headers.get('content-type') ?? '').toLowerCase().startsWith('multipart/');
    if (!isMultipart) throw fail(res, describe);
    const answers = parseBatchResponse(res.headers.get('content-type'), res.text);

    groups.forEach((g, gi) => {
      const answer = answers[gi];
      if (!answer) {
        for (const i of g.indexes) {
          results[i] = errorResult(
            424,
            '',
            'Not run: an earlier operation in the batch failed and the batch stops at the first failure.',
          );
        }
        return;
      }
      if (answer.length === g.indexes.length) {
        // Match by Content-ID when present; Dataverse answers in order otherwise.
        const requests = g.changeSet ? (partGroups[gi] as { requests: PartRequest[] }).requests : undefined;
        g.indexes.forEach((opIndex, k) => {
          const byId = requests
            ? answer.find((a) => a.contentId !== undefined && a.contentId === requests[k].contentId)
            : undefined;
          results[opIndex] = resultOf(byId ?? answer[k], (prepared[opIndex] as PreparedOperation).keyColumns);
        });
        return;
      }
      // A failed change set answers once, for all its operations: none of them was applied.
      const failure = answer.find((a) => a.status >= 400) ?? answer[0];
      for (const i of g.indexes) results[i] = resultOf(failure);
    });
    return results as BatchOperationResult[];
  }

  async function executeBatch(
    operations: BatchOperation[],
    opts?: { continueOnError?: boolean },
  ): Promise<BatchOperationResult[]> {
    const continueOnError = opts?.continueOnError ?? false;
    const chunks = chunk(operations);
    if (continueOnError) return (await Promise.all(chunks.map((c) => executeChunk(c, true)))).flat();
    const results: BatchOperationResult[] = [];
    for (const [index, c] of chunks.entries()) {
      const chunkResults = await executeChunk(c, false);
      results.push(...chunkResults);
      if (chunkResults.some((r) => r.status >= 400)) {
        const skipped = chunks.slice(index + 1).flat().length;
        for (let k = 0; k < skipped; k += 1) {
          results.push(
            errorResult(
              424,
              '',
              'Not run: an earlier operation in the batch failed and the batch stops at the first failure.',
            ),
          );
        }
        break;
      }
    }
    return results;
  }

  return {
    baseUrl,
    create,
    update,
    upsertByKey,
    delete: remove,
    retrieve: (entitySet, id, query) => getRow(idPath(entitySet, id), query),
    retrieveByKey,
    retrieveMultiple,
    executeBatch,
    stats: () => ({ ...counters, concurrency: limiter.state() }),
  };
}
