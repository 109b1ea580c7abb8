/**
 * Webhook delivery the way Stripe does it: each event POSTed to the endpoint as JSON, signed with
 * `Stripe-Signature: t=<unix>,v1=<HMAC-SHA256(secret, "t.body")>`, at least once, retried with exponential
 * backoff on a non-2xx answer, a timeout or a connection error. For tests the order can be shuffled, events
 * duplicated, the backoff compressed, and delivery driven by hand.
 */
import { createHmac } from 'node:crypto';
import type { StripeEngine, StripeEvent } from './engine';
import type { Scope } from './store';

export interface WebhookRetryOptions {
  /** Attempts in all, the first included (default 6). After the last failure the event stays undelivered. */
  maxAttempts?: number;
  /** Wait before the first retry (default 1000 ms; Stripe waits minutes, tests want less). */
  initialDelayMs?: number;
  /** Growth of the wait per attempt (default 2). */
  factor?: number;
  /** Longest wait (default 60 000 ms). */
  maxDelayMs?: number;
}

export interface WebhookOptions {
  url: string;
  /**
   * Signing secret, `whsec_…`. Several while a secret is being rolled: each signs, and the header carries one
   * `v1=` per secret, as Stripe sends during the overlap.
   */
  secret: string | string[];
  /** `snapshot` (default): the full v1 event. `thin`: a `v2.core.event` notification naming the object. */
  payload?: 'snapshot' | 'thin';
  /** Event types to send (`*` or `charge.*` wildcards); default all. */
  enabledEvents?: string[];
  /**
   * Whose events: on Stripe an account endpoint hears the platform's, a Connect endpoint the connected
   * accounts' (with `account`). Default `all`: one endpoint hears both.
   */
  accounts?: 'all' | 'platform' | 'connected';
  /** Deliver due events in random order. */
  shuffle?: boolean;
  /** Probability (0..1) that a delivered event is delivered a second time. */
  duplicateRate?: number;
  retry?: WebhookRetryOptions;
  /** An endpoint slower than this counts as failed (default 10 000 ms). */
  timeoutMs?: number;
  /** Deliveries in flight at once (default 1, which keeps creation order unless shuffled). */
  concurrency?: number;
  /** Send as events happen (default true); when false only `deliverPending()` sends. */
  autoDeliver?: boolean;
  /** Seed for shuffle and duplication, for repeatable runs. */
  seed?: number;
}

export interface DeliveryAttempt {
  eventId: string;
  type: string;
  attempt: number;
  duplicate: boolean;
  ok: boolean;
  status: number | null;
  error: string | null;
  at: number;
}

interface Delivery {
  event: StripeEvent;
  scope: Scope;
  attempts: number;
  nextAt: number;
  duplicate: boolean;
  done: boolean;
  delivered: boolean;
  forced: boolean;
}

const OBJECT_PATHS: Record<string, string> = {
  balance_transaction: '/v1/balance_transactions',
  charge: '/v1/charges',
  customer: '/v1/customers',
  dispute: '/v1/disputes',
  invoice: '/v1/invoices',
  invoice_payment: '/v1/invoice_payments',
  invoiceitem: '/v1/invoiceitems',
  payment_intent: '/v1/payment_intents',
  payment_method: '/v1/payment_methods',
  payout: '/v1/payouts',
  price: '/v1/prices',
  product: '/v1/products',
  refund: '/v1/refunds',
  subscription: '/v1/subscriptions',
};

/** Where the API serves an object of this type, for thin events' `related_object.url`. */
export function objectUrl(type: string, id: string): string | null {
  const base = OBJECT_PATHS[type];
  return base ? `${base}/${id}` : null;
}

/** The `Stripe-Signature` header for a payload, as Stripe computes it: one `v1=` per secret. */
export function signatureHeader(
  payload: string,
  secret: string | string[],
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const secrets = Array.isArray(secret) ? secret : [secret];
  const signatures = secrets.map(
    (s) => `v1=${createHmac('sha256', s).update(`${timestamp}.${payload}`, 'utf8').digest('hex')}`,
  );
  return [`t=${timestamp}`, ...signatures].join(',');
}

/** The thin (`v2.core.event`) notification for an event. */
export function thinNotification(event: StripeEvent): Record<string, unknown> {
  const object = event.data.object;
  const url = objectUrl(object.object, object.id);
  return {
    id: event.id,
    object: 'v2.core.event',
    type: event.type,
    created: new Date(event.created * 1000).toISOString(),
    livemode: event.livemode,
    ...(event.account ? { context: event.account } : {}),
    related_object: url ? { id: object.id, type: object.object, url } : null,
    reason: event.request.id
      ? { type: 'request', request: { id: event.request.id, idempotency_key: event.request.idempotency_key } }
      : null,
  };
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function typeEnabled(patterns: string[] | undefined, type: string): boolean {
  if (!patterns || patterns.length === 0) return true;
  return patterns.some(
    (p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))),
  );
}

export class WebhookSender {
  private options: WebhookOptions | null = null;
  private random: () => number = Math.random;
  /** Deliveries not yet settled, in the order they were queued. */
  private readonly queue = new Set<Delivery>();
  private readonly inFlight = new Map<Delivery, AbortController>();
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Every attempt made, in order, for tests and diagnostics. */
  readonly attempts: DeliveryAttempt[] = [];

  constructor(engine: StripeEngine, options?: WebhookOptions | null) {
    this.configure(options ?? null);
    engine.onEvent((event, scope) => this.enqueue(event, scope));
  }

  configure(options: WebhookOptions | null): void {
    if (options) {
      if (!/^https?:\/\//.test(options.url)) throw new Error(`Webhook url must be http(s): ${options.url}`);
      const secrets = Array.isArray(options.secret) ? options.secret : [options.secret];
      if (secrets.length === 0 || secrets.some((s) => !s))
        throw new Error('Webhook secret is required (whsec_…)');
      const rate = options.duplicateRate ?? 0;
      if (rate < 0 || rate > 1) throw new Error('duplicateRate must be between 0 and 1');
    }
    this.options = options;
    this.random = options?.seed !== undefined ? seededRandom(options.seed) : Math.random;
    if (!options) {
      // The endpoint is gone: what was waiting for it will never be sent (the events stay undelivered).
      for (const delivery of this.queue) if (!this.inFlight.has(delivery)) this.queue.delete(delivery);
      for (const wake of [...this.waiters]) wake();
    } else if (options.autoDeliver !== false && this.queue.size > 0) {
      this.kick();
    }
  }

  get endpoint(): WebhookOptions | null {
    return this.options;
  }

  private enqueue(event: StripeEvent, scope: Scope): void {
    if (!this.options || this.closed || !typeEnabled(this.options.enabledEvents, event.type)) return;
    const accounts = this.options.accounts ?? 'all';
    if ((accounts === 'platform' && event.account) || (accounts === 'connected' && !event.account)) return;
    event.pending_webhooks = 1;
    this.queue.add({
      event,
      scope,
      attempts: 0,
      nextAt: 0,
      duplicate: false,
      done: false,
      delivered: false,
      forced: false,
    });
    if (this.options.autoDeliver !== false) this.kick();
  }

  /** Deliveries not yet settled (delivered, or given up after the last retry). */
  get pendingCount(): number {
    return this.queue.size;
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, 0);
    this.timer.unref();
  }

  private run(): void {
    const options = this.options;
    if (!options || this.closed) return;
    const auto = options.autoDeliver !== false;
    const now = Date.now();
    const concurrency = Math.max(1, options.concurrency ?? 1);
    const isDue = (d: Delivery) => !this.inFlight.has(d) && (d.forced || (auto && d.nextAt <= now));
    if (options.shuffle) {
      for (const delivery of this.shuffled([...this.queue].filter(isDue))) {
        if (this.inFlight.size >= concurrency) break;
        this.start(delivery, options);
      }
    } else {
      for (const delivery of this.queue) {
        if (this.inFlight.size >= concurrency) break;
        if (isDue(delivery)) this.start(delivery, options);
      }
    }
    // When every slot is busy, the next completion runs this again.
    if (this.inFlight.size < concurrency) this.scheduleNext(auto);
  }

  private scheduleNext(auto: boolean): void {
    if (!auto || this.timer) return;
    let next = Infinity;
    for (const d of this.queue) if (!this.inFlight.has(d) && d.nextAt < next) next = d.nextAt;
    if (next === Infinity) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.run();
      },
      Math.max(0, next - Date.now()),
    );
    this.timer.unref();
  }

  private shuffled<T>(items: T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy;
  }

  private start(delivery: Delivery, options: WebhookOptions): void {
    delivery.forced = false;
    const controller = new AbortController();
    this.inFlight.set(delivery, controller);
    void this.attempt(delivery, options, controller).finally(() => {
      this.inFlight.delete(delivery);
      if (delivery.done) this.queue.delete(delivery);
      for (const wake of [...this.waiters]) wake();
      this.run();
    });
  }

  private async attempt(
    delivery: Delivery,
    options: WebhookOptions,
    controller: AbortController,
  ): Promise<void> {
    const { event } = delivery;
    const body = JSON.stringify(options.payload === 'thin' ? thinNotification(event) : event, null, 2);
    const { status, error } = await post(body, options, controller);
    delivery.attempts += 1;
    const ok = status !== null && status >= 200 && status < 300;
    this.attempts.push({
      eventId: event.id,
      type: event.type,
      attempt: delivery.attempts,
      duplicate: delivery.duplicate,
      ok,
      status,
      error: error ?? (ok ? null : `HTTP ${status}`),
      at: Date.now(),
    });
    if (this.closed) delivery.done = true;
    else if (ok) this.delivered(delivery, options);
    else this.retryLater(delivery, options.retry ?? {});
  }

  /** A successful delivery: the event has one webhook fewer pending, and may be sent again as a duplicate. */
  private delivered(delivery: Delivery, options: WebhookOptions): void {
    delivery.done = true;
    delivery.delivered = true;
    if (delivery.duplicate) return;
    const { event } = delivery;
    event.pending_webhooks = Math.max(0, event.pending_webhooks - 1);
    const rate = options.duplicateRate ?? 0;
    if (rate > 0 && this.random() < rate) {
      this.queue.add({
        ...delivery,
        attempts: 0,
        nextAt: 0,
        duplicate: true,
        done: false,
        delivered: false,
        forced: options.autoDeliver === false,
      });
    }
  }

  /** A failed delivery: the next attempt after an exponential backoff, or none when attempts run out. */
  private retryLater(delivery: Delivery, retry: WebhookRetryOptions): void {
    if (delivery.attempts >= (retry.maxAttempts ?? 6)) {
      delivery.done = true;
      return;
    }
    const delay = Math.min(
      (retry.initialDelayMs ?? 1000) * Math.pow(retry.factor ?? 2, delivery.attempts - 1),
      retry.maxDelayMs ?? 60_000,
    );
    delivery.nextAt = Date.now() + delay;
  }

  /**
   * Attempt every undelivered event once now, ignoring backoff, and wait for those attempts. Returns how many
   * were attempted and how many of them succeeded.
   */
  async deliverPending(): Promise<{ attempted: number; delivered: number; failed: number }> {
    const round = [...this.queue];
    const before = new Map(round.map((d) => [d, d.attempts]));
    for (const delivery of round) {
      if (!this.inFlight.has(delivery)) {
        delivery.forced = true;
        delivery.nextAt = 0;
      }
    }
    this.run();
    await this.until(() =>
      round.every((d) => (d.done && !this.inFlight.has(d)) || d.attempts > before.get(d)!),
    );
    const delivered = round.filter((d) => d.delivered).length;
    return { attempted: round.length, delivered, failed: round.length - delivered };
  }

  /** Resolve when every queued delivery has settled (delivered, or out of retries). */
  async waitForDeliveries(timeoutMs = 10_000): Promise<void> {
    await this.until(() => this.queue.size === 0, timeoutMs);
  }

  private until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `Webhook deliveries did not settle within ${timeoutMs} ms (${this.pendingCount} pending)`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const controller of this.inFlight.values()) controller.abort();
  }
}

/** POSTs the signed body to the endpoint; the HTTP status, or why there was none. */
async function post(
  body: string,
  options: WebhookOptions,
  controller: AbortController,
): Promise<{ status: number | null; error: string | null }> {
  const timeout = setTimeout(() => controller.abort(), options.timeoutMs ?? 10_000);
  try {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'stripe-signature': signatureHeader(body, options.secret),
      },
      body,
      signal: controller.signal,
    });
    await response.arrayBuffer().catch(() => undefined);
    return { status: response.status, error: null };
  } catch (caught) {
    const error = controller.signal.aborted
      ? 'timeout'
      : caught instanceof Error
        ? caught.cause instanceof Error
          ? caught.cause.message
          : caught.message
        : String(caught);
    return { status: null, error };
  } finally {
    clearTimeout(timeout);
  }
}
