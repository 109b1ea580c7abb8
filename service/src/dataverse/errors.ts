/**
 * Dataverse errors as one typed class that keeps the platform's hexadecimal code and request id, with the
 * single decision of what is transient (a retry of the same request can succeed) and what is not.
 */
import type { DataverseErrorInfo } from './types';

/** Service protection limit codes (api-limits): requests, execution time, concurrency. */
export const THROTTLING_CODES = {
  requests: '0x80072322',
  executionTime: '0x80072321',
  concurrency: '0x80072326',
} as const;

export const DUPLICATE_KEY = '0x80060892';
/** 412 for `If-None-Match: *` on an existing row ("A record with matching key values already exists"). */
export const MATCHING_RECORD_EXISTS = '0x80040237';
export const NOT_FOUND_BY_KEY = '0x80060891';
export const NOT_FOUND = '0x80040217';

/** Permanent whatever the status: business rules, integrity, validation. */
const PERMANENT_CODES = new Set(['0x80040265', '0x80040237', '0x80044331', DUPLICATE_KEY]);

/**
 * The one place that decides transient vs permanent. Status 0 means no HTTP answer (network error or
 * timeout). 429 and the gateway/unavailable statuses are transient; a 500 is, unless its code says the
 * request itself is wrong.
 */
export function isTransient(status: number, code = ''): boolean {
  const normalised = code.toLowerCase();
  if (Object.values(THROTTLING_CODES).includes(normalised as never)) return true;
  if (PERMANENT_CODES.has(normalised)) return false;
  return (
    status === 0 ||
    status === 408 ||
    status === 429 ||
    status === 502 ||
    status === 503 ||
    status === 504 ||
    status === 500
  );
}

/** A write refused because a row with the same alternate key exists (a create, or a createOnly upsert). */
export function isDuplicateKey(status: number, code: string): boolean {
  const c = code.toLowerCase();
  return c === DUPLICATE_KEY || (status === 412 && c === MATCHING_RECORD_EXISTS);
}

/** Advice to the reader, by what went wrong. */
function adviceFor(status: number, code: string): string {
  const c = code.toLowerCase();
  if (status === 429 || Object.values(THROTTLING_CODES).includes(c as never)) {
    return 'Dataverse service protection limits were hit and retries ran out: send fewer concurrent requests or batch more rows per request.';
  }
  if (status === 0)
    return 'No answer from Dataverse: check DATAVERSE_URL and the network; the request was retried if it was safe to.';
  if (status === 401) {
    return 'The access token was refused: check the app registration, its secret or certificate, and that the scope is the environment URL followed by /.default.';
  }
  if (c === '0x80072560') {
    return "This app registration has no application user in the environment: add one (Power Platform admin center, Application users) with the connector's security role.";
  }
  if (status === 403)
    return 'The application user lacks a privilege: give its security role access to this table.';
  if (isDuplicateKey(status, c)) return 'A row with this alternate key already exists.';
  if (c === NOT_FOUND_BY_KEY || c === NOT_FOUND) return 'The row does not exist.';
  if (c === '0x8006088a') return 'Unknown entity set: check the name and that the solution is imported.';
  if (status === 412) return 'The row changed since it was read (etag mismatch): read it again and retry.';
  if (status === 400)
    return 'The request was rejected as invalid: check column names and value types against the table model.';
  if (status >= 500) return 'Dataverse failed on its side; the request was retried.';
  return '';
}

export interface DataverseErrorDetails {
  status: number;
  code?: string;
  message: string;
  retryAfterMs?: number;
  requestId?: string;
  /** `PATCH stc_payments(stc_stripeid='pi_1')`: what was asked, without the host. */
  request?: string;
  /** Attempts made, retries included. */
  attempts?: number;
  cause?: unknown;
  /** False when `message` already carries the advice (an error rebuilt from a batch result). */
  advise?: boolean;
}

export class DataverseError extends Error implements DataverseErrorInfo {
  readonly status: number;
  readonly code: string;
  readonly transient: boolean;
  readonly retryAfterMs?: number;
  readonly requestId?: string;
  readonly request?: string;
  readonly attempts?: number;
  /** Dataverse's own message, without the advice. */
  readonly platformMessage: string;

  constructor(details: DataverseErrorDetails) {
    const code = details.code ?? '';
    if (details.advise === false) {
      super(details.request ? `${details.message} [${details.request}]` : details.message, {
        cause: details.cause,
      });
    } else {
      const advice = adviceFor(details.status, code);
      const where = [
        details.request,
        details.status ? `HTTP ${details.status}` : 'no response',
        code || undefined,
      ]
        .filter(Boolean)
        .join(', ');
      super(`${details.message} (${where})${advice ? ` ${advice}` : ''}`, { cause: details.cause });
    }
    this.name = 'DataverseError';
    this.status = details.status;
    this.code = code;
    this.transient = isTransient(details.status, code);
    this.retryAfterMs = details.retryAfterMs;
    this.requestId = details.requestId;
    this.request = details.request;
    this.attempts = details.attempts;
    this.platformMessage = details.message;
  }

  /** The plain shape of the contract, e.g. for a batch result or a log line. */
  toInfo(): DataverseErrorInfo {
    return {
      status: this.status,
      code: this.code,
      message: this.message,
      transient: this.transient,
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
    };
  }
}

/** A DataverseError again from a batch result's error (whose message already says what to do). */
export function errorFromInfo(info: DataverseErrorInfo, request?: string): DataverseError {
  return new DataverseError({ ...info, request, advise: false });
}

/** `Retry-After` as milliseconds: delta-seconds (fractions accepted) or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Code and message from a Dataverse error body (`{"error":{"code","message"}}`), or the raw text. */
export function parseErrorBody(text: string): { code: string; message: string } {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (parsed && typeof parsed === 'object' && parsed.error) {
      return {
        code: typeof parsed.error.code === 'string' ? parsed.error.code : '',
        message: String(parsed.error.message ?? ''),
      };
    }
  } catch {
    // not JSON: keep the text
  }
  return { code: '', message: text.trim().slice(0, 500) };
}

export interface ErrorResponse {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
}

export function errorFromResponse(res: ErrorResponse, request?: string, attempts?: number): DataverseError {
  const { code, message } = parseErrorBody(res.text);
  return new DataverseError({
    status: res.status,
    code,
    message: message || `Dataverse answered ${res.status}`,
    retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
    requestId: res.headers.get('x-ms-service-request-id') ?? res.headers.get('req_id') ?? undefined,
    request,
    attempts,
  });
}
