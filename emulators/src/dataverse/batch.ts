/**
 * `$batch` as Dataverse speaks it (Microsoft Learn, "Execute batch operations using the Web API"):
 * `multipart/mixed` with a `batch_` boundary, `application/http` parts, change sets (`changeset_`) applied
 * atomically with `Content-ID` / `$n` references, at most 1,000 operations. Without
 * `Prefer: odata.continue-on-error` the batch stops at the first failure and answers 400 with that failure;
 * with it the batch answers 200 and every part. Responses use `batchresponse_` / `changesetresponse_` boundaries.
 */
import { randomUUID } from 'node:crypto';
import type { ApiRequest, ApiResponse } from './api';
import { badRequest } from './errors';
import type { WriteScope } from './engine';

export const MAX_BATCH_OPERATIONS = 1000;

interface HttpPart {
  contentId?: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

type BatchItem = { kind: 'request'; part: HttpPart } | { kind: 'changeset'; parts: HttpPart[] };

export interface BatchExecutor {
  newScope(): WriteScope;
  /** Runs one request; API errors come back as error responses, never thrown. */
  run(request: ApiRequest, scope: WriteScope): ApiResponse;
  commit(scope: WriteScope): void;
  rollback(scope: WriteScope): void;
  /** The service root URL, `http://host/api/data/v9.2/`. */
  baseUrl: string;
}

export interface BatchResult {
  status: number;
  contentType: string;
  body: string;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function boundaryOf(contentType: string | undefined): string | undefined {
  const m = contentType ? /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType) : null;
  return m ? (m[1] ?? m[2]) : undefined;
}

function splitHead(text: string): { head: string[]; rest: string } {
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return { head: text.split(/\r?\n/).filter(Boolean), rest: '' };
  return {
    head: text.slice(0, m.index).split(/\r?\n/).filter(Boolean),
    rest: text.slice(m.index + m[0].length),
  };
}

function headerMap(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const pieces = body.split(delimiter);
  const parts: string[] = [];
  for (let i = 1; i < pieces.length; i++) {
    const piece = pieces[i];
    if (piece.startsWith('--')) break;
    // The line break before a delimiter belongs to the delimiter.
    parts.push(piece.replace(/^[ \t]*\r?\n/, '').replace(/\r?\n$/, ''));
  }
  if (parts.length === 0 && !body.includes(`${delimiter}--`)) {
    throw badRequest(`The batch body has no part delimited by '${delimiter}'.`);
  }
  return parts;
}

function parseHttpPart(text: string, contentId: string | undefined): HttpPart {
  const { head, rest } = splitHead(text);
  const requestLine = head.shift();
  const m = requestLine ? /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/\d\.\d)?$/.exec(requestLine.trim()) : null;
  if (!m)
    throw badRequest(`The batch part does not start with an HTTP request line: '${requestLine ?? ''}'.`);
  return { contentId, method: m[1], url: m[2], headers: headerMap(head), body: rest.replace(/\s+$/, '') };
}

export function parseBatch(body: string, boundary: string): BatchItem[] {
  const items: BatchItem[] = [];
  for (const raw of splitMultipart(body, boundary)) {
    const { head, rest } = splitHead(raw);
    const headers = headerMap(head);
    const type = headers['content-type'] ?? '';
    if (/^multipart\/mixed/i.test(type)) {
      const inner = boundaryOf(type);
      if (!inner) throw badRequest('A change set has no boundary.');
      const parts = splitMultipart(rest, inner).map((p) => {
        const split = splitHead(p);
        const partHeaders = headerMap(split.head);
        return parseHttpPart(split.rest, partHeaders['content-id']);
      });
      items.push({ kind: 'changeset', parts });
    } else {
      items.push({ kind: 'request', part: parseHttpPart(rest, headers['content-id']) });
    }
  }
  return items;
}

function toApiRequest(part: HttpPart, executor: BatchExecutor, scope: WriteScope): ApiRequest {
  let url = part.url;
  const ref = /^\$([\w-]+)(.*)$/.exec(url);
  if (ref) {
    const target = scope.contentIds.get(ref[1]);
    if (!target) throw badRequest(`Content-ID Reference: '$${ref[1]}' does not exist in the batch context.`);
    url = target + ref[2];
  }
  url = url.replace(/^https?:\/\/[^/]+/, '');
  url = url.replace(/^\/?api\/data\/v9\.\d\//, '');
  const q = url.indexOf('?');
  return {
    method: part.method,
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    headers: part.headers,
    body: part.body,
  };
}

function renderPart(response: ApiResponse, contentId: string | undefined, inBatch: boolean): string {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
  lines.push('', `HTTP/1.1 ${response.status} ${STATUS_TEXT[response.status] ?? ''}`.trimEnd());
  const headers: Record<string, string> = { ...response.headers };
  if (response.text !== undefined) headers['Content-Type'] = 'text/plain';
  else if (response.body !== undefined) headers['Content-Type'] = 'application/json; odata.metadata=minimal';
  headers['OData-Version'] = '4.0';
  if (inBatch && headers['OData-EntityId'] && response.status === 204 && !headers.Location) {
    headers.Location = headers['OData-EntityId'];
  }
  const order = ['Content-Type', 'OData-Version', 'Location', 'OData-EntityId'];
  const names = [
    ...order.filter((n) => n in headers),
    ...Object.keys(headers).filter((n) => !order.includes(n)),
  ];
  for (const name of names) lines.push(`${name}: ${headers[name]}`);
  lines.push('');
  lines.push(response.text ?? (response.body !== undefined ? JSON.stringify(response.body) : ''));
  return lines.join('\r\n');
}

/** Reads the batch's parts, refusing a body that is not multipart or holds too many operations. */
function readBatch(body: string, contentType: string | undefined): BatchItem[] {
  const boundary = boundaryOf(contentType);
  if (!boundary || !/^multipart\/mixed/i.test(contentType ?? '')) {
    throw badRequest("A $batch request needs 'Content-Type: multipart/mixed; boundary=batch_…'.");
  }
  const items = parseBatch(body, boundary);
  const operations = items.reduce((n, i) => n + (i.kind === 'request' ? 1 : i.parts.length), 0);
  if (operations > MAX_BATCH_OPERATIONS) {
    throw badRequest(
      `The number of requests in the batch (${operations}) exceeds the limit of ${MAX_BATCH_OPERATIONS}.`,
      '0x0', // the documentation gives no code for this refusal
    );
  }
  return items;
}

export function executeBatch(
  body: string,
  contentType: string | undefined,
  continueOnError: boolean,
  executor: BatchExecutor,
): BatchResult {
  const items = readBatch(body, contentType);
  const responseBoundary = `batchresponse_${randomUUID()}`;
  const chunks: string[] = [];
  let failed = false;
  for (const item of items) {
    const outcome =
      item.kind === 'request' ? runRequest(item.part, executor) : runChangeSet(item.parts, executor);
    chunks.push(`--${responseBoundary}\r\n${outcome.part}`);
    if (outcome.failed && !continueOnError) {
      failed = true;
      break;
    }
  }
  return {
    status: failed ? 400 : 200,
    contentType: `multipart/mixed; boundary=${responseBoundary}`,
    body: `${chunks.join('\r\n')}\r\n--${responseBoundary}--\r\n`,
  };
}

/** One item's part of the batch response, and whether the item failed. */
interface ItemOutcome {
  part: string;
  failed: boolean;
}

/** Runs one request of the batch; failures come back as error responses. */
function runPart(
  part: HttpPart,
  executor: BatchExecutor,
  scope: WriteScope,
  inChangeSet: boolean,
): ApiResponse {
  try {
    if (inChangeSet && part.method === 'GET')
      throw badRequest('GET requests are not allowed inside a change set.');
    return executor.run(toApiRequest(part, executor, scope), scope);
  } catch (error) {
    return errorResponse(error);
  }
}

/** A request outside change sets: in its own transaction. */
function runRequest(part: HttpPart, executor: BatchExecutor): ItemOutcome {
  const scope = executor.newScope();
  const response = runPart(part, executor, scope, false);
  const failed = response.status >= 400;
  if (failed) executor.rollback(scope);
  else executor.commit(scope);
  return { part: renderPart(response, part.contentId, true), failed };
}

/** A change set: one transaction, rolled back at its first failure (then only that failure is answered). */
function runChangeSet(parts: HttpPart[], executor: BatchExecutor): ItemOutcome {
  const scope = executor.newScope();
  const responses: Array<{ response: ApiResponse; contentId?: string }> = [];
  for (const part of parts) {
    const response = runPart(part, executor, scope, true);
    if (response.status >= 400) {
      executor.rollback(scope);
      return { part: renderPart(response, part.contentId, true), failed: true };
    }
    if (part.contentId !== undefined && response.headers['OData-EntityId']) {
      scope.contentIds.set(part.contentId, response.headers['OData-EntityId']);
    }
    responses.push({ response, contentId: part.contentId });
  }
  executor.commit(scope);
  const changesetBoundary = `changesetresponse_${randomUUID()}`;
  const inner = responses.map(
    (r) => `--${changesetBoundary}\r\n${renderPart(r.response, r.contentId, true)}`,
  );
  return {
    part: `Content-Type: multipart/mixed; boundary=${changesetBoundary}\r\n\r\n${inner.join('\r\n')}\r\n--${changesetBoundary}--`,
    failed: false,
  };
}

function errorResponse(error: unknown): ApiResponse {
  const e = error as { status?: number; toBody?: () => unknown; headers?: Record<string, string> };
  if (typeof e?.status === 'number' && typeof e.toBody === 'function') {
    return { status: e.status, headers: { ...(e.headers ?? {}) }, body: e.toBody() };
  }
  return {
    status: 500,
    headers: {},
    body: {
      error: { code: '0x80040216', message: `An unexpected error occurred: ${(error as Error)?.message}` },
    },
  };
}
