/**
 * What a handler's failure means for the event: the one place where transient vs permanent is decided.
 * Transient: anything marked `transient: true` (the Dataverse client's errors), Stripe connection, rate-limit
 * and 5xx errors, timeouts and socket errors. Everything else is permanent and goes to the dead-letter queue.
 */
import Stripe from 'stripe';
import { scrubSecrets } from '../observability/log';

export interface FailureInfo {
  transient: boolean;
  message: string;
  /** The platform's own code: Dataverse `0x8006…`, Stripe `code`/`type`, or a Node error code. */
  code: string | null;
  retryAfterMs?: number;
  /**
   * The dependency did not answer or said it cannot now (no answer, a timeout, 502/503/504, Stripe's
   * connection errors and 5xx): an outage, met by every event alike, not something about this one.
   */
  unavailable: boolean;
}

/** Dataverse statuses that say the service, not the request, is the problem (0: no answer at all). */
const UNAVAILABLE_STATUSES = new Set([0, 502, 503, 504]);

/** Thrown by the pipeline itself when a handler runs past its time budget. */
export class HandlerTimeoutError extends Error {
  readonly transient = true;
  readonly code = 'handler_timeout';
  constructor(ms: number) {
    super(`Handler did not finish within ${ms} ms; the event will be retried`);
    this.name = 'HandlerTimeoutError';
  }
}

/** A handler may throw this to say "retrying will not help" explicitly. */
export class PermanentError extends Error {
  readonly transient = false;
  constructor(
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'PermanentError';
  }
}

const TRANSIENT_NODE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

export function classifyFailure(error: unknown): FailureInfo {
  if (!(error instanceof Error)) {
    return { transient: false, message: scrubSecrets(String(error)), code: null, unavailable: false };
  }
  const e = error as Error & {
    transient?: unknown;
    code?: unknown;
    retryAfterMs?: unknown;
    statusCode?: unknown;
    status?: unknown;
    headers?: Record<string, unknown>;
    error?: { code?: string };
  };
  const message = scrubSecrets(e.message || e.name);
  const retryAfterMs = typeof e.retryAfterMs === 'number' && e.retryAfterMs >= 0 ? e.retryAfterMs : undefined;

  if (error instanceof Stripe.errors.StripeError) {
    const status = error.statusCode ?? 0;
    const transient =
      error instanceof Stripe.errors.StripeConnectionError ||
      error instanceof Stripe.errors.StripeRateLimitError ||
      status === 429 ||
      status === 409 ||
      status >= 500;
    const retryAfter = Number(error.headers?.['retry-after']);
    return {
      transient,
      message,
      code: error.code ?? error.type ?? null,
      unavailable: error instanceof Stripe.errors.StripeConnectionError || status >= 500,
      retryAfterMs:
        retryAfterMs ?? (Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined),
    };
  }
  const code = typeof e.code === 'string' && e.code !== '' ? e.code : null;
  if (typeof e.transient === 'boolean') {
    // The Dataverse client's errors carry the HTTP status (0 when nothing answered).
    const unavailable = e.transient && typeof e.status === 'number' && UNAVAILABLE_STATUSES.has(e.status);
    return { transient: e.transient, message, code, retryAfterMs, unavailable };
  }
  const transient =
    e.name === 'TimeoutError' || e.name === 'AbortError' || (code !== null && TRANSIENT_NODE_CODES.has(code));
  return { transient, message, code, retryAfterMs, unavailable: transient };
}

/** Exponential backoff with full jitter, never shorter than the platform's Retry-After. */
export function retryDelayMs(
  attempt: number,
  settings: { baseMs: number; maxMs: number },
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.max(0, attempt - 1));
  // Half fixed, half random: spreads retries out without ever retrying immediately.
  const backoff = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return Math.max(backoff, retryAfterMs ?? 0);
}
