/**
 * Stripe list pages, by hand: `starting_after` from the last item, the next page requested while the
 * caller works on this one (one page ahead, never more), and a page refused with 429 (rate_limit) tried
 * again after an exponential backoff with full jitter. The SDK's own retries do not cover 429s that carry
 * no `Stripe-Should-Retry` header, which is how Stripe answers a rate limit. A page that fails on the way or on
 * Stripe's side (connection refused or reset, timeout, 5xx) is tried again the same way, so a backfill waits
 * out a short Stripe outage instead of stopping.
 */
import Stripe from 'stripe';

export type ListedObject = { id: string; object: string } & Record<string, unknown>;
export interface Page {
  data: ListedObject[];
  has_more: boolean;
}

export interface RateLimitPolicy {
  /** Tries of one page on 429 or a transient failure before giving up. Default 8. */
  maxAttempts?: number;
  /** Default 500 ms, doubled each try, capped at maxDelayMs (default 20 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class StripeListError extends Error {
  constructor(
    message: string,
    /** Stripe's error `code` or `type`. */
    readonly code: string | null,
    readonly statusCode: number | null,
  ) {
    super(message);
    this.name = 'StripeListError';
  }
}

export function isRateLimited(error: unknown): boolean {
  const e = error as { statusCode?: number; type?: string; code?: string } | null;
  return !!e && (e.statusCode === 429 || e.type === 'StripeRateLimitError' || e.code === 'rate_limit');
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Worth another try: refused for the rate (429), or failed on the way (no answer, or none in time) or on
 * Stripe's side (5xx): the Stripe part of the pipeline's transient rule (pipeline/failure.ts), which this
 * module may not import.
 */
function isRetryable(error: unknown): boolean {
  if (isRateLimited(error)) return true;
  if (!(error instanceof Stripe.errors.StripeError)) return false;
  return error instanceof Stripe.errors.StripeConnectionError || (error.statusCode ?? 0) >= 500;
}

/** One page, tried again on 429 and transient failures. Other failures are thrown at once as StripeListError. */
export async function pageWithBackoff(
  fetch: () => Promise<Page>,
  policy: RateLimitPolicy = {},
  sleep: (ms: number) => Promise<void> = defaultSleep,
): Promise<Page> {
  const maxAttempts = policy.maxAttempts ?? 8;
  const base = policy.baseDelayMs ?? 500;
  const cap = policy.maxDelayMs ?? 20_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch();
    } catch (error) {
      const e = error as { message?: string; code?: string; type?: string; statusCode?: number };
      if (!isRetryable(error) || attempt >= maxAttempts) {
        throw new StripeListError(
          `Stripe refused a list request: ${e.message ?? String(error)}${attempt > 1 ? ` (after ${attempt} tries)` : ''}`,
          e.code ?? e.type ?? null,
          e.statusCode ?? null,
        );
      }
      await sleep(Math.random() * Math.min(cap, base * 2 ** (attempt - 1)));
    }
  }
}

/** The pages of a list from `startingAfter` (exclusive) to the end, one page fetched ahead. */
export async function* listPages(
  fetch: (startingAfter: string | undefined) => Promise<Page>,
  options: {
    startingAfter?: string;
    rateLimit?: RateLimitPolicy;
    sleep?: (ms: number) => Promise<void>;
  } = {},
): AsyncGenerator<Page> {
  const get = (after: string | undefined) => {
    const pending = pageWithBackoff(() => fetch(after), options.rateLimit, options.sleep);
    // Awaited on the next turn; until then a failure must not count as unhandled.
    pending.catch(() => undefined);
    return pending;
  };
  let next = get(options.startingAfter);
  for (;;) {
    const page = await next;
    const last = page.data.at(-1);
    const more = page.has_more && last !== undefined;
    if (more) next = get(last.id);
    yield page;
    if (!more) return;
  }
}
