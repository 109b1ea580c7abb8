/**
 * Idempotent requests (docs: idempotent requests): the first result for a key, status included, is replayed
 * for the same key and parameters; the same key with other parameters is a 400 `idempotency_error`.
 */
import { StripeApiError } from './errors';

export interface StoredResponse {
  fingerprint: string;
  status: number;
  body: string;
  requestId: string;
}

const KEY_LIMIT = 255;

export class IdempotencyStore {
  private readonly responses = new Map<string, StoredResponse>();

  /**
   * Stripe prunes keys after 24 hours; the emulator keeps the newest `capacity` (the SDK keys every POST, so
   * a long load test would otherwise keep every response body).
   */
  constructor(private readonly capacity = 50_000) {}

  /** The stored answer for this key, or undefined when the request should run. */
  lookup(scopeKey: string, key: string, fingerprint: string): StoredResponse | undefined {
    if (key.length > KEY_LIMIT) {
      throw new StripeApiError({
        status: 400,
        type: 'invalid_request_error',
        message: `Idempotency-Key must be at most ${KEY_LIMIT} characters long.`,
      });
    }
    const stored = this.responses.get(`${scopeKey}|${key}`);
    if (stored && stored.fingerprint !== fingerprint) {
      throw new StripeApiError({
        status: 400,
        type: 'idempotency_error',
        message:
          'Keys for idempotent requests can only be used with the same parameters they were first used with. ' +
          `Try using a key other than '${key}' if you meant to execute a different request.`,
      });
    }
    return stored;
  }

  save(scopeKey: string, key: string, response: StoredResponse): void {
    this.responses.set(`${scopeKey}|${key}`, response);
    if (this.responses.size > this.capacity) {
      const oldest = this.responses.keys().next().value;
      if (oldest !== undefined) this.responses.delete(oldest);
    }
  }
}

/** JSON with object keys sorted, so the same parameters always give the same fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
