/**
 * `$batch` requests from operations: at most 1,000 operations a batch (a change set is never split),
 * consecutive operations with the same change set name applied all or none, one result per operation in
 * the order given. The multipart wire format itself is multipart.ts.
 *
 * Each operation is made into its part on its own: one that cannot be for a reason of its own (a key value
 * that is not a string or a number, a lookup by key that Dataverse refuses or that finds two rows) gets that
 * refusal as its result, and is treated as an operation Dataverse refused: its change set is not sent, and
 * without continue-on-error neither is anything after it. The other operations are sent as usual. A lookup
 * that got no answer at all fails the whole batch, as the batch itself would.
 */
import { DataverseError, parseErrorBody, parseRetryAfter } from './errors';
import {
  buildBatch,
  parseBatchResponse,
  type GroupResponse,
  type PartGroup,
  type PartRequest,
  type PartResponse,
} from './multipart';
import { findIdByKey, keyConflict, withSignal, type WebApi } from './operations';
import { responseError } from './transport';
import type { BatchOperation, BatchOperationResult, CallOptions } from './types';
import * as odata from './url';

/** Most operations a single `$batch` may carry. */
export const MAX_BATCH_OPERATIONS = 1000;

const NOT_RUN = 'Not run: an earlier operation in the batch failed and the batch stops at the first failure.';

interface PreparedOperation {
  request: PartRequest;
  /** Key columns of an upsert, to find the id in its answer. */
  keyColumns?: string[];
  idempotent: boolean;
}

type Prepared = PreparedOperation | { immediate: BatchOperationResult };

/** Operations sent as one part, or as one change set: indexes into the chunk's operations. */
interface Group {
  indexes: number[];
  changeSet: boolean;
}

/** Sends `operations` in as few `$batch` requests as the limits allow; counts the requests it sends. */
export function createBatchExecutor(api: WebApi): {
  executeBatch(
    operations: BatchOperation[],
    options?: { continueOnError?: boolean } & CallOptions,
  ): Promise<BatchOperationResult[]>;
  batches(): number;
} {
  let batches = 0;
  const onBatch = () => {
    batches += 1;
  };
  return {
    executeBatch: (operations, options) =>
      executeBatch(
        {
          api: withSignal(api, options?.signal),
          continueOnError: options?.continueOnError ?? false,
          onBatch,
          signal: options?.signal,
        },
        operations,
      ),
    batches: () => batches,
  };
}

/** How a batch is sent: where, whether Dataverse goes on after a failed operation, and who counts it. */
interface BatchSender {
  api: WebApi;
  continueOnError: boolean;
  onBatch: () => void;
  /** The caller's: once aborted, nothing more of the batch is sent. */
  signal?: AbortSignal;
}

/** An operation that was not applied: Dataverse refused it, or it could not be sent. */
const failed = (result: BatchOperationResult) => result.error !== undefined || result.status >= 400;

async function executeBatch(
  sender: BatchSender,
  operations: BatchOperation[],
): Promise<BatchOperationResult[]> {
  const chunks = chunk(operations);
  if (sender.continueOnError) return (await Promise.all(chunks.map((c) => executeChunk(sender, c)))).flat();
  const results: BatchOperationResult[] = [];
  for (const [index, c] of chunks.entries()) {
    const chunkResults = await executeChunk(sender, c);
    results.push(...chunkResults);
    if (chunkResults.some(failed)) {
      const skipped = chunks.slice(index + 1).flat().length;
      for (let k = 0; k < skipped; k += 1) results.push(errorResult(424, '', NOT_RUN));
      break;
    }
  }
  return results;
}

/** Splits operations into batches of at most 1,000, never splitting a change set. */
export function chunk(operations: BatchOperation[]): BatchOperation[][] {
  const chunks: BatchOperation[][] = [];
  let current: BatchOperation[] = [];
  let i = 0;
  while (i < operations.length) {
    const set = changeSetOf(operations[i]);
    let j = i + 1;
    if (set !== undefined) while (j < operations.length && changeSetOf(operations[j]) === set) j += 1;
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

const changeSetOf = (op: BatchOperation): string | undefined =>
  'changeSet' in op ? op.changeSet : undefined;
const contentIdOf = (op: BatchOperation): string | undefined =>
  'contentId' in op ? op.contentId : undefined;

async function executeChunk(
  { api, continueOnError, onBatch, signal }: BatchSender,
  operations: BatchOperation[],
): Promise<BatchOperationResult[]> {
  // Each operation on its own: one that cannot be prepared fails alone, not the others of the batch.
  const settled = await Promise.allSettled(operations.map((op) => prepare(api, op)));
  // A caller stopped while rows were looked up: the batch is not sent.
  signal?.throwIfAborted();
  const prepared: Prepared[] = settled.map((s) =>
    s.status === 'fulfilled' ? s.value : { immediate: refusalOf(s.reason) },
  );
  const results: (BatchOperationResult | undefined)[] = prepared.map((p) =>
    'immediate' in p ? p.immediate : undefined,
  );
  settleRefusedAhead(operations, results, continueOnError);
  const groups = groupsOf(operations, results);
  if (groups.length === 0) return results as BatchOperationResult[];

  const sent = prepared as PreparedOperation[];
  const partGroups = partGroupsOf(operations, sent, groups);
  const { contentType, body } = buildBatch(partGroups);
  const describe = `POST $batch (${groups.reduce((n, g) => n + g.indexes.length, 0)} operations)`;
  onBatch();
  const res = await api.send('POST', api.url('$batch'), {
    body,
    headers: {
      'Content-Type': contentType,
      Accept: 'application/json',
      ...(continueOnError ? { Prefer: 'odata.continue-on-error' } : {}),
    },
    idempotent: groups.every((g) => g.indexes.every((i) => sent[i].idempotent)),
    describe,
  });
  const isMultipart = (res.headers.get('content-type') ?? '').toLowerCase().startsWith('multipart/');
  if (!isMultipart) throw responseError(res, describe);
  const answers = parseBatchResponse(res.headers.get('content-type'), res.text);
  groups.forEach((group, gi) => {
    const requests = group.changeSet ? (partGroups[gi] as { requests: PartRequest[] }).requests : undefined;
    readGroupAnswer(answers[gi], group, requests, sent, results);
  });
  return results as BatchOperationResult[];
}

/**
 * Operations refused before the batch is sent are answered as Dataverse would answer them in it: the other
 * operations of their change set fail with them (all or none), and without continue-on-error every operation
 * after the first refusal is not run.
 */
function settleRefusedAhead(
  operations: BatchOperation[],
  results: (BatchOperationResult | undefined)[],
  continueOnError: boolean,
): void {
  if (!results.some((r) => r && failed(r))) return;
  let start = 0;
  while (start < operations.length) {
    const set = changeSetOf(operations[start]);
    let end = start + 1;
    if (set !== undefined) while (end < operations.length && changeSetOf(operations[end]) === set) end += 1;
    const refusal = results.slice(start, end).find((r) => r && failed(r));
    if (refusal) for (let i = start; i < end; i += 1) results[i] ??= refusal;
    start = end;
  }
  if (continueOnError) return;
  const first = results.findIndex((r) => r && failed(r));
  for (let i = first + 1; i < results.length; i += 1) results[i] ??= errorResult(424, '', NOT_RUN);
}

/** Groups the operations still to send: consecutive operations with the same changeSet form one change set. */
function groupsOf(operations: BatchOperation[], results: (BatchOperationResult | undefined)[]): Group[] {
  const groups: Group[] = [];
  operations.forEach((op, index) => {
    if (results[index]) return;
    const set = changeSetOf(op);
    const last = groups[groups.length - 1];
    const prevOp = last ? operations[last.indexes[last.indexes.length - 1]] : undefined;
    if (set !== undefined && last?.changeSet && prevOp && changeSetOf(prevOp) === set)
      last.indexes.push(index);
    else groups.push({ indexes: [index], changeSet: set !== undefined });
  });
  return groups;
}

/** The multipart groups; every request in a change set gets a Content-ID (its own, or a fresh unused one). */
function partGroupsOf(
  operations: BatchOperation[],
  prepared: PreparedOperation[],
  groups: Group[],
): PartGroup[] {
  const usedIds = new Set(operations.map(contentIdOf).filter(Boolean));
  let nextId = 1;
  const freshId = () => {
    while (usedIds.has(String(nextId))) nextId += 1;
    usedIds.add(String(nextId));
    return String(nextId);
  };
  return groups.map((g): PartGroup => {
    if (!g.changeSet) return { changeSet: false, request: prepared[g.indexes[0]].request };
    return {
      changeSet: true,
      requests: g.indexes.map((i) => ({
        ...prepared[i].request,
        contentId: contentIdOf(operations[i]) ?? freshId(),
      })),
    };
  });
}

/** Fills in the results of one group from its answer (none when the batch stopped before it). */
function readGroupAnswer(
  answer: GroupResponse | undefined,
  group: Group,
  requests: PartRequest[] | undefined,
  prepared: PreparedOperation[],
  results: (BatchOperationResult | undefined)[],
): void {
  if (!answer) {
    for (const i of group.indexes) results[i] = errorResult(424, '', NOT_RUN);
    return;
  }
  if (answer.length === group.indexes.length) {
    // Match by Content-ID when present; Dataverse answers in order otherwise.
    group.indexes.forEach((opIndex, k) => {
      const byId = requests
        ? answer.find((a) => a.contentId !== undefined && a.contentId === requests[k].contentId)
        : undefined;
      results[opIndex] = resultOf(byId ?? answer[k], prepared[opIndex].keyColumns);
    });
    return;
  }
  // A failed change set answers once, for all its operations: none of them was applied.
  const failure = answer.find((a) => a.status >= 400) ?? answer[0];
  for (const i of group.indexes) results[i] = resultOf(failure);
}

/** Turns an operation into a batch part. Upserts by a key that cannot go in a URL are resolved first. */
async function prepare(api: WebApi, op: BatchOperation): Promise<Prepared> {
  const partUrl = (pathOrReference: string) =>
    pathOrReference.startsWith('$') ? pathOrReference : api.url(pathOrReference);
  switch (op.kind) {
    case 'create':
      return {
        request: { method: 'POST', url: api.url(odata.checkEntitySet(op.entitySet)), body: op.row },
        idempotent: false,
      };
    case 'update':
      return {
        request: {
          method: 'PATCH',
          url: partUrl(odata.idPath(op.entitySet, op.id, true)),
          body: op.row,
          headers: { 'If-Match': op.ifMatch ?? '*' },
        },
        idempotent: true,
      };
    case 'delete':
      return {
        request: { method: 'DELETE', url: partUrl(odata.idPath(op.entitySet, op.id, true)) },
        idempotent: true,
      };
    case 'retrieve':
      return {
        request: {
          method: 'GET',
          url: api.url(`${odata.idPath(op.entitySet, op.id)}${odata.queryString(op.query)}`),
          headers: { Accept: 'application/json', ...odata.preferHeader(odata.preferFor(op.query)) },
        },
        idempotent: true,
      };
    case 'upsert':
      return prepareUpsert(api, op);
  }
}

async function prepareUpsert(
  api: WebApi,
  op: Extract<BatchOperation, { kind: 'upsert' }>,
): Promise<Prepared> {
  const mode = op.mode ?? 'upsert';
  const keyColumns = Object.keys(op.key);
  if (odata.keyFitsUrl(op.key)) {
    const url = api.url(`${odata.keyPath(op.entitySet, op.key)}${odata.queryString({ select: keyColumns })}`);
    const headers = { ...odata.writeModeHeaders(mode), Prefer: 'return=representation' };
    return { request: { method: 'PATCH', url, body: op.row, headers }, keyColumns, idempotent: true };
  }
  const id = await findIdByKey(api, op.entitySet, op.key);
  if (id && mode === 'createOnly')
    return { immediate: conflictResult(keyConflict('exists', op.entitySet, op.key)) };
  if (!id && mode === 'updateOnly')
    return { immediate: conflictResult(keyConflict('missing', op.entitySet, op.key)) };
  if (id) {
    const url = api.url(odata.idPath(op.entitySet, id));
    return {
      request: { method: 'PATCH', url, body: op.row, headers: { 'If-Match': '*' } },
      keyColumns,
      idempotent: true,
    };
  }
  const url = api.url(odata.checkEntitySet(op.entitySet));
  return { request: { method: 'POST', url, body: { ...op.row, ...op.key } }, keyColumns, idempotent: false };
}

/**
 * The result of an operation that could not be made into its part for a reason of its own: its lookup by key
 * refused (an HTTP error, or two rows found), as Dataverse answered; a TypeError (a key value, an id or a name
 * that cannot go in a request) a permanent refusal, as the same call made on its own throws it. Anything else
 * (a lookup that got no answer, or none it could use) is thrown: the batch fails with it.
 */
function refusalOf(reason: unknown): BatchOperationResult {
  if (reason instanceof DataverseError && reason.status >= 400)
    return { status: reason.status, error: reason.toInfo() };
  if (!(reason instanceof TypeError)) throw reason;
  const error = new DataverseError({ status: 400, message: reason.message, cause: reason, advise: false });
  return { status: error.status, error: error.toInfo() };
}

function conflictResult(error: DataverseError): BatchOperationResult {
  return { status: error.status, error: error.toInfo() };
}

function errorResult(status: number, code: string, message: string): BatchOperationResult {
  const error = new DataverseError({ status, code, message });
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
    const id = odata.idFromEntityId(res.headers.get('odata-entityid')) ?? odata.idFromRow(body, keyColumns);
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
