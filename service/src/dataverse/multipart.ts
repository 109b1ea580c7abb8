/**
 * The `$batch` wire format (execute-batch-operations-using-web-api; OData 4.0 multipart/mixed): writing a
 * batch of requests, some grouped in change sets, and reading the multipart answer back into responses.
 */
import { randomUUID } from 'node:crypto';

export interface PartRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Absolute URL, or a `$n` Content-ID reference. */
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  contentId?: string;
}

/** A request on its own, or a change set: requests applied all or none. */
export type PartGroup =
  { changeSet: false; request: PartRequest } | { changeSet: true; requests: PartRequest[] };

export interface PartResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
  contentId?: string;
}

/** One answer per group: one response, or for a change set its responses (a single one when it failed). */
export type GroupResponse = PartResponse[];

const CRLF = '\r\n';

function writeRequest(req: PartRequest): string {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (req.contentId !== undefined) lines.push(`Content-ID: ${req.contentId}`);
  lines.push('', `${req.method} ${req.url} HTTP/1.1`);
  const headers: Record<string, string> = { ...req.headers };
  const hasBody = req.body !== undefined;
  if (hasBody) headers['Content-Type'] = 'application/json; type=entry';
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push('', hasBody ? JSON.stringify(req.body) : '');
  return lines.join(CRLF);
}

export function buildBatch(groups: PartGroup[]): { contentType: string; body: string } {
  const boundary = `batch_${randomUUID()}`;
  const chunks: string[] = [];
  for (const group of groups) {
    if (!group.changeSet) {
      chunks.push(`--${boundary}${CRLF}${writeRequest(group.request)}`);
      continue;
    }
    const changeset = `changeset_${randomUUID()}`;
    const inner = group.requests.map((r) => `--${changeset}${CRLF}${writeRequest(r)}`).join(CRLF);
    chunks.push(
      `--${boundary}${CRLF}Content-Type: multipart/mixed; boundary=${changeset}${CRLF}${CRLF}${inner}${CRLF}--${changeset}--`,
    );
  }
  return {
    contentType: `multipart/mixed; boundary=${boundary}`,
    body: `${chunks.join(CRLF)}${CRLF}--${boundary}--${CRLF}`,
  };
}

export function boundaryOf(contentType: string | null | undefined): string | undefined {
  const match = contentType ? /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType) : null;
  return match ? (match[1] ?? match[2]) : undefined;
}

/** Splits a header block from what follows the first blank line. */
function splitHead(text: string): { head: Map<string, string>; firstLine: string; rest: string } {
  const match = /\r?\n\r?\n/.exec(text);
  const headText = match ? text.slice(0, match.index) : text;
  const rest = match ? text.slice(match.index + match[0].length) : '';
  const lines = headText.split(/\r?\n/);
  const head = new Map<string, string>();
  let firstLine = '';
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0 && !/^HTTP\/\d/.test(line))
      head.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    else if (line.trim()) firstLine = line.trim();
  }
  return { head, firstLine, rest };
}

function splitParts(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const pieces = body.split(delimiter);
  const parts: string[] = [];
  // pieces[0] is the preamble; a piece starting with `--` is the close delimiter's epilogue.
  for (const piece of pieces.slice(1)) {
    if (piece.startsWith('--')) break;
    parts.push(piece.replace(/^\r?\n/, '').replace(/\r?\n$/, ''));
  }
  return parts;
}

function readHttpResponse(partHead: Map<string, string>, content: string): PartResponse {
  const { head, firstLine, rest } = splitHead(content);
  const status = Number(/^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(firstLine)?.[1] ?? 0);
  return { status, headers: head, body: rest.replace(/\r?\n$/, ''), contentId: partHead.get('content-id') };
}

/** The answers to a batch, one entry per group in the order the groups were sent (fewer if it stopped). */
export function parseBatchResponse(contentType: string | null, body: string): GroupResponse[] {
  const boundary = boundaryOf(contentType);
  if (!boundary)
    throw new Error(`The $batch answer is not multipart (Content-Type: ${contentType ?? 'none'}).`);
  const groups: GroupResponse[] = [];
  for (const part of splitParts(body, boundary)) {
    const { head, rest } = splitHead(part);
    const type = head.get('content-type') ?? '';
    if (type.toLowerCase().startsWith('multipart/mixed')) {
      const inner = boundaryOf(type);
      if (!inner) throw new Error('A change set answer in the $batch response has no boundary.');
      groups.push(
        splitParts(rest, inner).map((p) => {
          const innerPart = splitHead(p);
          return readHttpResponse(innerPart.head, innerPart.rest);
        }),
      );
    } else {
      groups.push([readHttpResponse(head, rest)]);
    }
  }
  return groups;
}
