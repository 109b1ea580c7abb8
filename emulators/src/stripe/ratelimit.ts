/** A token bucket per account: `perSecond` requests a second on average, bursts up to `burst`. */
export interface RateLimitOptions {
  perSecond: number;
  burst?: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perSecond: number;
  private readonly burst: number;

  constructor(
    options: RateLimitOptions,
    private readonly clock: () => number = Date.now,
  ) {
    if (!(options.perSecond > 0)) throw new Error('rateLimit.perSecond must be a positive number');
    this.perSecond = options.perSecond;
    this.burst = options.burst ?? options.perSecond;
  }

  /** Take one request's token; false means the request is over the limit (429). */
  take(key: string): boolean {
    const now = this.clock();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
