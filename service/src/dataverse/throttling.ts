/**
 * Requests under Dataverse's service protection limits: each one goes through the adaptive concurrency
 * limiter, and what can be retried is. A 429 always (Dataverse did not run it; with Retry-After the limiter
 * holds every request back until then), a 5xx, timeout or network error only when the request is
 * idempotent, a 401 once with a fresh token. The slot is given back before any wait.
 *
 * A request may carry its caller's signal: it is asked before each attempt, once a slot is had (the limiter may
 * have held the request through a Retry-After) and after a backoff wait, which it cuts short. Once it is
 * aborted no further attempt is sent and the request fails with the signal's reason.
 */
import type { ConcurrencyLimiter } from './concurrency';
import {
  DataverseError,
  errorFromResponse,
  isTransient,
  parseErrorBody,
  parseRetryAfter,
  THROTTLING_CODES,
} from './errors';
import type { Exchange, HttpResult, Transport, TransportRequest } from './transport';

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

export interface SendOptions {
  headers?: Record<string, string>;
  body?: string;
  /** Safe to send again after a 5xx, timeout or network failure. */
  idempotent: boolean;
  /** For error messages: `PATCH stc_payments(…)`. */
  describe: string;
  /** The caller's signal: once aborted, no further attempt is sent and `send` fails with its reason. */
  signal?: AbortSignal;
}

/** Sends one request with retries; answers that are not retried are returned as they are. */
export type Send = (method: string, url: string, options: SendOptions) => Promise<HttpResult>;

export interface ThrottledSender {
  send: Send;
  /** 429 answers received and retries made so far. */
  stats(): { throttled: number; retries: number };
}

interface RetryPolicy {
  maxAttempts: number;
  maxThrottledAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** What one request has been through so far. */
interface Tries {
  attempts: number;
  /** 5xx, timeouts and network errors. */
  failures: number;
  throttled: number;
  refreshedToken: boolean;
}

/** How a slot is handed back to the limiter. */
interface Release {
  throttled: boolean;
  retryAfterMs?: number;
  reduce?: boolean;
}

/** What to do after one attempt: send again after `waitMs`, or stop with a result or an error. */
type Step = { release: Release; waitMs: number } & (
  { next: 'retry' } | { next: 'return'; result: HttpResult } | { next: 'throw'; error: Error }
);

type Answer = Extract<Exchange, { answered: true }>;

/** Waits `ms`, or less when `signal` is aborted meanwhile. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
const NOT_THROTTLED: Release = { throttled: false, reduce: true };

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return {
    maxAttempts: options.maxAttempts ?? 5,
    maxThrottledAttempts: options.maxThrottledAttempts ?? 12,
    baseDelayMs: options.baseDelayMs ?? 250,
    maxDelayMs: options.maxDelayMs ?? 30_000,
  };
}

/** Exponential backoff with jitter: between half and all of base · 2^(attempt-1), capped. */
export function backoff(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export function createThrottledSender(deps: {
  transport: Transport;
  limiter: ConcurrencyLimiter;
  retry?: RetryOptions;
  logger?: DataverseLogger;
}): ThrottledSender {
  const { transport, limiter } = deps;
  const sender: Sender = {
    transport,
    policy: retryPolicy(deps.retry),
    counters: { throttled: 0, retries: 0 },
    log: deps.logger,
  };

  async function send(method: string, url: string, options: SendOptions): Promise<HttpResult> {
    const { headers, body, describe, idempotent, signal } = options;
    const request: Request = {
      http: { method, url, headers, body, describe },
      idempotent,
      tries: { attempts: 0, failures: 0, throttled: 0, refreshedToken: false },
    };
    for (;;) {
      signal?.throwIfAborted();
      request.tries.attempts += 1;
      const generation = await limiter.acquire();
      // A token that could not be had, or a caller stopped while the slot was awaited, ends the request with
      // the slot given back as not throttled.
      let step: Step = { next: 'retry', waitMs: 0, release: NOT_THROTTLED };
      try {
        signal?.throwIfAborted();
        const exchange = await transport.exchange(request.http, request.tries.attempts);
        step = exchange.answered
          ? afterAnswer(sender, exchange, request)
          : afterNoAnswer(sender, exchange.error, request);
      } finally {
        limiter.release(generation, step.release);
        if (step.waitMs > 0) await sleep(step.waitMs, signal);
      }
      if (step.next === 'return') return step.result;
      if (step.next === 'throw') throw step.error;
    }
  }

  return { send, stats: () => ({ ...sender.counters }) };
}

/** What the decisions after an attempt share. */
interface Sender {
  transport: Transport;
  policy: RetryPolicy;
  counters: { throttled: number; retries: number };
  log?: DataverseLogger;
}

/** One request being sent. */
interface Request {
  http: TransportRequest;
  idempotent: boolean;
  tries: Tries;
}

function retrying(sender: Sender, waitMs: number, release: Release = NOT_THROTTLED): Step {
  sender.counters.retries += 1;
  return { next: 'retry', waitMs, release };
}

function returning(answer: Answer, tries: Tries): Step {
  const result: HttpResult = {
    status: answer.status,
    headers: answer.headers,
    text: answer.text,
    attempts: tries.attempts,
  };
  return { next: 'return', result, waitMs: 0, release: NOT_THROTTLED };
}

function afterAnswer(sender: Sender, answer: Answer, request: Request): Step {
  const { tries } = request;
  if (answer.status === 429) return afterThrottled(sender, answer, request);
  if (answer.status === 401 && !tries.refreshedToken && sender.transport.invalidateToken()) {
    // A token revoked or expired early: ask for a new one, once.
    tries.refreshedToken = true;
    return { next: 'retry', waitMs: 0, release: NOT_THROTTLED };
  }
  if (answer.status >= 500 || answer.status === 408) return afterServerError(sender, answer, request);
  return returning(answer, tries);
}

function afterThrottled(sender: Sender, answer: Answer, { http, tries }: Request): Step {
  sender.counters.throttled += 1;
  tries.throttled += 1;
  const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'));
  const { code } = parseErrorBody(answer.text);
  // Over the request count, fewer requests in parallel would not help: wait, keep the concurrency.
  const release: Release = {
    throttled: true,
    retryAfterMs,
    reduce: code.toLowerCase() !== THROTTLING_CODES.requests,
  };
  if (tries.throttled >= sender.policy.maxThrottledAttempts) {
    const error = errorFromResponse(answer, http.describe, tries.attempts);
    return { next: 'throw', error, waitMs: 0, release };
  }
  sender.log?.debug?.({ request: http.describe, retryAfterMs, code }, 'dataverse throttled, waiting');
  // With Retry-After the limiter holds every request back until then; without one, back off here.
  const waitMs = retryAfterMs === undefined ? backoff(sender.policy, tries.throttled) : 0;
  return retrying(sender, waitMs, release);
}

function afterServerError(sender: Sender, answer: Answer, { http, idempotent, tries }: Request): Step {
  const { code } = parseErrorBody(answer.text);
  tries.failures += 1;
  if (isTransient(answer.status, code) && idempotent && tries.failures < sender.policy.maxAttempts) {
    sender.log?.warn(
      { request: http.describe, status: answer.status, code, attempt: tries.attempts },
      'dataverse request failed, retrying',
    );
    const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after')) ?? 0;
    return retrying(sender, Math.max(backoff(sender.policy, tries.failures), retryAfterMs));
  }
  return returning(answer, tries);
}

function afterNoAnswer(sender: Sender, error: DataverseError, { http, idempotent, tries }: Request): Step {
  tries.failures += 1;
  if (!idempotent || tries.failures >= sender.policy.maxAttempts)
    return { next: 'throw', error, waitMs: 0, release: NOT_THROTTLED };
  sender.log?.warn(
    { request: http.describe, attempt: tries.attempts, reason: error.platformMessage },
    'dataverse request failed, retrying',
  );
  return retrying(sender, backoff(sender.policy, tries.failures));
}
