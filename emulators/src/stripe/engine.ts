/**
 * The emulated Stripe account(s): state, the clock, and the event log. Resource modules change state through
 * it and record the events Stripe would send; the HTTP layer and the webhook sender only read from it.
 */
import { cloneJson } from './clone';
import { noSuchObject, noSuchReference } from './errors';
import { newId, randomToken } from './ids';
import { Scope, scopeKey, StripeObject } from './store';

/** API version the SDK (stripe-node 23.1) pins; events are rendered in it. */
export const DEFAULT_API_VERSION = '2026-10-28.endive';

export interface FeeSchedule {
  /** Percentage of the amount (2.9 means 2.9 %). */
  percent: number;
  /** Fixed part in the currency's smallest unit. */
  fixed: number;
  /** Fee Stripe charges when a dispute is opened (smallest unit). */
  dispute: number;
}

/** A currency the account cannot hold: what it is converted to when it lands in the balance, and at what rate. */
export interface Settlement {
  currency: string;
  /** Units of `currency` per unit of the charged currency (major units), as Stripe's `exchange_rate`. */
  rate: number;
}

export interface EngineOptions {
  apiVersion?: string;
  fees?: Partial<FeeSchedule>;
  /**
   * Charged currencies the account settles in another one (say `{ eur: { currency: 'usd', rate: 1.0865 } }`):
   * their balance transactions are in that currency, with the `exchange_rate`. Every other currency settles as
   * charged (the default: an account with a bank account in each currency it charges).
   */
  settlement?: Record<string, Settlement>;
  /** Milliseconds since the epoch; tests can move time. */
  clock?: () => number;
}

/** Who is asking: the scope the API key and Stripe-Account header select, and the request to stamp on events. */
export interface RequestContext {
  scope: Scope;
  requestId: string | null;
  idempotencyKey: string | null;
}

export type StripeEvent = StripeObject & {
  type: string;
  created: number;
  pending_webhooks: number;
  data: { object: StripeObject; previous_attributes?: Record<string, unknown> };
};

export type EventListener = (event: StripeEvent, scope: Scope) => void;

export class StripeEngine {
  readonly apiVersion: string;
  readonly fees: FeeSchedule;
  readonly settlement: Readonly<Record<string, Settlement>>;
  private readonly clock: () => number;
  private readonly scopes = new Map<string, Scope>();
  /** Every event of every scope, in the order they happened. */
  readonly eventLog: StripeEvent[] = [];
  private readonly listeners: EventListener[] = [];
  private muted = 0;
  /** Frozen times of the test clocks whose work is running, innermost last. */
  private readonly frozenTimes: number[] = [];
  /** Base URL of the pages the emulator hosts (Checkout, Payment Links); set once the server listens. */
  hostedUrl = 'http://127.0.0.1';

  constructor(options: EngineOptions = {}) {
    this.apiVersion = options.apiVersion ?? DEFAULT_API_VERSION;
    this.fees = { percent: 2.9, fixed: 30, dispute: 1500, ...options.fees };
    this.settlement = options.settlement ?? {};
    this.clock = options.clock ?? Date.now;
  }

  /** Unix seconds, as in every `created` field; inside `at`, the test clock's frozen time. */
  now(): number {
    return this.frozenTimes.at(-1) ?? this.wallTime();
  }

  /** Unix seconds of the emulator's own clock, whatever test clock is running. */
  wallTime(): number {
    return Math.floor(this.clock() / 1000);
  }

  /**
   * Run `work` at a test clock's frozen time (null: now), so that what it creates and changes carries that
   * time, as objects attached to a Stripe test clock do.
   */
  at<T>(frozenTime: number | null, work: () => T): T {
    if (frozenTime === null) return work();
    this.frozenTimes.push(frozenTime);
    try {
      return work();
    } finally {
      this.frozenTimes.pop();
    }
  }

  nowMs(): number {
    return this.clock();
  }

  scope(account: string | null, livemode = false): Scope {
    const key = scopeKey(account, livemode);
    let scope = this.scopes.get(key);
    if (!scope) {
      scope = new Scope(account, livemode, `ba_${randomToken(24)}`);
      this.scopes.set(key, scope);
    }
    return scope;
  }

  /** The scope holding an object, whichever account and mode (hosted pages are reached without a key). */
  scopeOf(id: string): Scope | undefined {
    for (const scope of this.scopes.values()) if (scope.find(id)) return scope;
    return undefined;
  }

  /** A context for work that no API request started (test helpers, asynchronous follow-ups). */
  background(account: string | null = null, livemode = false): RequestContext {
    return { scope: this.scope(account, livemode), requestId: null, idempotencyKey: null };
  }

  /** Run `work` without recording events (bulk seeding of history that no endpoint should hear about). */
  withoutEvents<T>(work: () => T): T {
    this.muted++;
    try {
      return work();
    } finally {
      this.muted--;
    }
  }

  onEvent(listener: EventListener): void {
    this.listeners.push(listener);
  }

  /** An object of the scope, or the 404 Stripe gives for a path naming something that is not there. */
  get(ctx: RequestContext, type: string, id: string): StripeObject {
    const found = ctx.scope.find(id);
    if (!found || found.object !== type) throw noSuchObject(type, id);
    return found;
  }

  /** An object named by a body parameter: missing means 400 resource_missing with the param. */
  reference(ctx: RequestContext, type: string, id: string, param: string): StripeObject {
    const found = ctx.scope.find(id);
    if (!found || found.object !== type) throw noSuchReference(type, id, param);
    return found;
  }

  newId(prefix: string): string {
    return newId(prefix);
  }

  /**
   * Record an event with a snapshot of `object` as it is now. Events of asynchronous follow-ups carry no
   * request, as on Stripe.
   */
  emit(
    ctx: RequestContext,
    type: string,
    object: StripeObject,
    previousAttributes?: Record<string, unknown>,
    options: { automatic?: boolean } = {},
  ): StripeEvent {
    const event: StripeEvent = {
      id: newId('evt'),
      object: 'event',
      ...(ctx.scope.account ? { account: ctx.scope.account } : {}),
      api_version: this.apiVersion,
      // Events happen in real time, also those of a test clock's objects (the clock only moves their times).
      created: this.wallTime(),
      data: null as unknown as StripeEvent['data'],
      livemode: ctx.scope.livemode,
      pending_webhooks: 0,
      request: options.automatic
        ? { id: null, idempotency_key: null }
        : { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
      type,
    };
    if (this.muted > 0) return event;
    // The snapshot is kept as JSON text and parsed on each read: events are the bulk of the emulator's memory,
    // and text is more compact than the same object graph; it also cannot drift when the object changes later.
    const snapshot = JSON.stringify(
      previousAttributes ? { object, previous_attributes: previousAttributes } : { object },
    );
    Object.defineProperty(event, 'data', { enumerable: true, get: () => JSON.parse(snapshot) });
    ctx.scope.insert(event);
    this.eventLog.push(event);
    for (const listener of this.listeners) listener(event, ctx.scope);
    return event;
  }

  /** Apply `change` to `object` and return what the changed fields were before (`previous_attributes`). */
  change(object: StripeObject, change: (target: StripeObject) => void): Record<string, unknown> {
    if (this.muted > 0) {
      // No event will carry previous_attributes: skip the snapshot (bulk seeding).
      change(object);
      return {};
    }
    const before = cloneJson(object);
    try {
      change(object);
    } catch (error) {
      // A change refused halfway (a bad parameter) leaves the object as it was.
      for (const key of Object.keys(object)) delete object[key];
      Object.assign(object, before);
      throw error;
    }
    return previousAttributes(before, object);
  }

  /** Change an object and emit `eventType` with previous_attributes when anything changed. */
  update(
    ctx: RequestContext,
    object: StripeObject,
    change: (target: StripeObject) => void,
    eventType: string,
    options: { automatic?: boolean; always?: boolean } = {},
  ): void {
    const previous = this.change(object, change);
    if (Object.keys(previous).length > 0 || options.always) {
      this.emit(ctx, eventType, object, previous, options);
    }
  }
}

/** Stripe lists only what changed; inside plain sub-objects only the changed keys, lists and arrays whole. */
export function previousAttributes(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, unknown> {
  const previous: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const old = before[key];
    const now = after[key];
    if (sameValue(old, now)) continue;
    if (isPlainObject(old) && isPlainObject(now) && old.object !== 'list') {
      previous[key] = previousAttributes(old, now);
    } else {
      previous[key] = old === undefined ? null : old;
    }
  }
  return previous;
}

/** Structural equality of JSON-like values (prototypes ignored: clones may come from another realm). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
