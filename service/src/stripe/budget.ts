/**
 * The Stripe budget: every call the service makes to Stripe waits here for a place in the current second of
 * its account and mode (scope) and of its endpoint, counted in the store so that every process sharing the
 * store stays under the limits together. A process claims small slices (at most the calls it has waiting,
 * up to `maxSlice`) with one store round trip each, and hands them out in priority order; a call over budget
 * waits for the next second, it never fails. A 429 that still arrives (the merchant's own traffic shares
 * Stripe's limit) shrinks the scope's budget for every process (multiplicative decrease) and it regains its
 * size linearly (additive increase).
 *
 * Written here rather than taken from a rate-limiting library: `bottleneck` clusters over Redis only, and
 * the limiters of npm (`limiter`, `p-limit`, `rate-limiter-flexible`'s in-memory kinds) count in one process;
 * the service's replicas share nothing but their SQLite file or PostgreSQL database.
 */
import { STRIPE_PRIORITIES, type StripePriority } from './priority';

/** A scope's budget shrunk after a 429: to `factor` of it at `atMs`, regaining from there. */
export interface BudgetShrink {
  factor: number;
  atMs: number;
}

/** How a 429 shrinks a scope's budget (multiplicative decrease) and how it regains it (additive increase). */
export interface ShrinkPolicy {
  /** Factor the current one is multiplied by on a 429. */
  decrease: number;
  /** The least factor. */
  floor: number;
  /** Factor regained per second since the last shrink. */
  recoveryPerSecond: number;
  /** 429s within this time of the last shrink do not shrink it again (one burst is one signal). */
  holdMs: number;
}

/**
 * Where the processes count their calls together: the store (its BudgetLedger, in store/budget.ts).
 * `takeBudget` counts up to `want` calls in the current second of every window, as many as the fullest one
 * still takes, and says which window bounded the grant and how long its second still runs.
 */
export interface BudgetLedger {
  takeBudget(
    windows: { scope: string; limit: number }[],
    want: number,
  ): Promise<{ granted: number; msLeft: number; boundBy?: string }>;
  shrinkBudget(scope: string, policy: ShrinkPolicy, nowMs?: number): Promise<BudgetShrink>;
  readBudgetShrink(scope: string): Promise<BudgetShrink | null>;
}

/** The factor of a scope's budget at `nowMs`: its last shrink, regained linearly up to 1. */
export function budgetFactor(shrink: BudgetShrink | null, policy: ShrinkPolicy, nowMs: number): number {
  if (!shrink) return 1;
  const regained = (Math.max(0, nowMs - shrink.atMs) / 1000) * policy.recoveryPerSecond;
  return Math.min(1, shrink.factor + regained);
}

export interface StripeBudgetSettings {
  /** Calls per second of one account in one mode, every endpoint together. */
  perSecond: number;
  /** Calls per second of one endpoint (method and path with ids taken out). */
  endpointPerSecond: number;
  /** The most calls one store round trip claims (default an eighth of `perSecond`, at least 1). */
  maxSlice?: number;
  /** The share of the budget each priority may fill (default PRIORITY_SHARE). */
  priorityShare?: Partial<Record<StripePriority, number>>;
  shrink?: Partial<ShrinkPolicy>;
}

/** One call to be sent: its account ('' for the platform), mode, endpoint and priority. */
export interface BudgetCall {
  account: string;
  mode: 'test' | 'live';
  endpoint: string;
  priority: StripePriority;
}

export interface StripeBudgetObserver {
  /** A call was let through after waiting `ms`. */
  waited?(priority: StripePriority, ms: number): void;
  /** Stripe answered 429 to a call. */
  rateLimited?(call: BudgetCall): void;
  /** The scope's budget factor changed (1: whole, less after a 429). */
  factor?(scope: string, factor: number): void;
  /** The store could not be reached for a claim (calls wait and the claim is tried again). */
  storeFailed?(error: unknown): void;
}

export interface StripeBudget {
  /** Resolves when `call` may be sent. */
  take(call: BudgetCall): Promise<void>;
  /** Stripe answered 429 to `call`: the scope's budget shrinks and its unsent claims are dropped. */
  rateLimited(call: BudgetCall): Promise<void>;
  /** Calls waiting, by priority. */
  waiting(): Record<StripePriority, number>;
}

/**
 * The share of a second's budget calls of each priority may fill, counted over every process: what a lower
 * priority must leave stays free for a higher one, even in another process (a backfill in the CLI never takes
 * the place of a refund in the service).
 */
export const PRIORITY_SHARE: Record<StripePriority, number> = {
  user: 1,
  sync: 0.9,
  reconcile: 0.7,
  backfill: 0.5,
};

export const DEFAULT_SHRINK: ShrinkPolicy = {
  decrease: 0.5,
  floor: 0.1,
  recoveryPerSecond: 0.05,
  holdMs: 1000,
};

/** After the store failed, how long a scope waits before claiming again. */
const STORE_RETRY_MS = 1000;

interface Waiter {
  endpoint: string;
  priority: StripePriority;
  since: number;
  resolve(): void;
}

interface Slice {
  count: number;
  expiresAt: number;
}

/** The in-process state of one scope (account and mode): its queues, slices and what is known full. */
interface Scope {
  key: string;
  queues: Waiter[][];
  slices: Map<string, Slice>;
  /** The scope's own window is full until then (local clock), for each priority (its share of it). */
  fullUntil: number[];
  /** The same for each endpoint's window. */
  endpointFullUntil: Map<string, number[]>;
  claiming: boolean;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  shrink: BudgetShrink | null;
  shrinkReadAt: number;
}

const rank = (priority: StripePriority) => STRIPE_PRIORITIES.indexOf(priority);
const scopeKey = (call: BudgetCall) => `stripe:${call.mode}:${call.account || 'platform'}`;

export function createStripeBudget(options: {
  ledger: BudgetLedger;
  settings: StripeBudgetSettings;
  observer?: StripeBudgetObserver;
  clock?: () => number;
}): StripeBudget {
  const { ledger, settings, observer = {} } = options;
  const clock = options.clock ?? Date.now;
  const shrinkPolicy = { ...DEFAULT_SHRINK, ...settings.shrink };
  const maxSlice = settings.maxSlice ?? Math.max(1, Math.floor(settings.perSecond / 8));
  if (!(settings.perSecond >= 1) || !(settings.endpointPerSecond >= 1))
    throw new Error('A Stripe budget needs at least 1 call per second for the account and per endpoint');
  const scopes = new Map<string, Scope>();
  const scopeOf = (call: BudgetCall): Scope => {
    const key = scopeKey(call);
    let scope = scopes.get(key);
    if (!scope) scopes.set(key, (scope = newScope(key)));
    return scope;
  };
  const claims = claimer({ ledger, settings, shrinkPolicy, observer, clock, pump: (s) => pump(s) });
  const pump = (scope: Scope): void => {
    const now = clock();
    serveFromSlices(scope, now, observer);
    if (scope.queues.every((q) => q.length === 0) || scope.claiming) return;
    const next = nextClaim(scope, now);
    if (typeof next === 'number') return wakeAt(scope, next, clock, pump);
    claims.claim(scope, next.endpoint, next.rank, Math.min(maxSlice, next.waiting));
  };
  return {
    take(call) {
      const scope = scopeOf(call);
      return new Promise<void>((resolve) => {
        scope.queues[rank(call.priority)].push({ ...call, since: clock(), resolve });
        pump(scope);
      });
    },
    async rateLimited(call) {
      observer.rateLimited?.(call);
      const scope = scopeOf(call);
      // Stripe's bucket is empty: what this process still holds waits for the next second.
      scope.slices.clear();
      markFull(scope.fullUntil, 0, clock() + 1000);
      try {
        scope.shrink = await ledger.shrinkBudget(scope.key, shrinkPolicy, clock());
        scope.shrinkReadAt = clock();
        observer.factor?.(scope.key, budgetFactor(scope.shrink, shrinkPolicy, clock()));
      } catch (error) {
        observer.storeFailed?.(error);
      }
      pump(scope);
    },
    waiting() {
      const counts = Object.fromEntries(STRIPE_PRIORITIES.map((p) => [p, 0])) as Record<
        StripePriority,
        number
      >;
      for (const scope of scopes.values())
        STRIPE_PRIORITIES.forEach((p, i) => (counts[p] += scope.queues[i].length));
      return counts;
    },
  };
}

function newScope(key: string): Scope {
  return {
    key,
    queues: STRIPE_PRIORITIES.map(() => []),
    slices: new Map(),
    fullUntil: STRIPE_PRIORITIES.map(() => 0),
    endpointFullUntil: new Map(),
    claiming: false,
    timer: undefined,
    timerAt: 0,
    shrink: null,
    shrinkReadAt: 0,
  };
}

/** Lets through, highest priority first, every waiting call whose endpoint has a claimed place left. */
function serveFromSlices(scope: Scope, now: number, observer: StripeBudgetObserver): void {
  for (const [endpoint, slice] of scope.slices) if (slice.expiresAt <= now) scope.slices.delete(endpoint);
  if (scope.slices.size === 0) return;
  for (const queue of scope.queues) {
    for (let i = 0; i < queue.length;) {
      const waiter = queue[i];
      const slice = scope.slices.get(waiter.endpoint);
      if (!slice || slice.count === 0) {
        i++;
        continue;
      }
      slice.count--;
      queue.splice(i, 1);
      observer.waited?.(waiter.priority, now - waiter.since);
      waiter.resolve();
    }
  }
}

/**
 * What to claim next: the endpoint of the highest-priority waiting call whose windows are not known full for
 * its priority, that priority, and how many calls of it wait for that endpoint; or, when every window a
 * waiting call needs is full, when to look again.
 */
function nextClaim(scope: Scope, now: number): { endpoint: string; rank: number; waiting: number } | number {
  let wakeAt = Infinity;
  for (let rank = 0; rank < scope.queues.length; rank++) {
    const queue = scope.queues[rank];
    if (queue.length === 0) continue;
    if (scope.fullUntil[rank] > now) {
      wakeAt = Math.min(wakeAt, scope.fullUntil[rank]);
      continue;
    }
    for (const waiter of queue) {
      const fullUntil = scope.endpointFullUntil.get(waiter.endpoint)?.[rank] ?? 0;
      if (fullUntil <= now) {
        const waiting = queue.filter((w) => w.endpoint === waiter.endpoint).length;
        return { endpoint: waiter.endpoint, rank, waiting };
      }
      wakeAt = Math.min(wakeAt, fullUntil);
    }
  }
  return wakeAt;
}

/** A window full for priority `rank` is full for every lower priority too (their shares are smaller). */
function markFull(fullUntil: number[], rank: number, until: number): void {
  for (let r = rank; r < fullUntil.length; r++) fullUntil[r] = Math.max(fullUntil[r], until);
}

function wakeAt(scope: Scope, at: number, clock: () => number, pump: (scope: Scope) => void): void {
  if (scope.timer && scope.timerAt <= at) return;
  if (scope.timer) clearTimeout(scope.timer);
  scope.timerAt = at;
  scope.timer = setTimeout(
    () => {
      scope.timer = undefined;
      pump(scope);
    },
    Math.max(1, at - clock()),
  );
}

/** Claims places in the store for one scope and endpoint, one claim in flight per scope. */
function claimer(deps: {
  ledger: BudgetLedger;
  settings: StripeBudgetSettings;
  shrinkPolicy: ShrinkPolicy;
  observer: StripeBudgetObserver;
  clock: () => number;
  pump: (scope: Scope) => void;
}) {
  const { ledger, settings, shrinkPolicy, observer, clock } = deps;
  const shares = { ...PRIORITY_SHARE, ...settings.priorityShare };
  /** The windows' limits for calls of priority `rank`: the budget, shrunk after a 429, times its share. */
  const limits = async (scope: Scope, rank: number, started: number) => {
    if (started - scope.shrinkReadAt >= 1000) {
      scope.shrink = await ledger.readBudgetShrink(scope.key);
      scope.shrinkReadAt = started;
    }
    const factor = budgetFactor(scope.shrink, shrinkPolicy, started);
    if (scope.shrink) observer.factor?.(scope.key, factor);
    const share = factor * shares[STRIPE_PRIORITIES[rank]];
    return {
      perSecond: Math.max(1, Math.floor(settings.perSecond * share)),
      endpointPerSecond: Math.max(1, Math.floor(settings.endpointPerSecond * share)),
    };
  };
  const claim = async (scope: Scope, endpoint: string, rank: number, want: number): Promise<void> => {
    const started = clock();
    const limit = await limits(scope, rank, started);
    const endpointScope = `${scope.key}:${endpoint}`;
    const grant = await ledger.takeBudget(
      [
        { scope: scope.key, limit: limit.perSecond },
        { scope: endpointScope, limit: limit.endpointPerSecond },
      ],
      want,
    );
    // Measured from before the round trip: the slice ends no later than the store's second does.
    const expiresAt = started + grant.msLeft;
    if (grant.granted > 0) scope.slices.set(endpoint, { count: grant.granted, expiresAt });
    if (grant.granted === want) return;
    if (grant.boundBy !== endpointScope) return markFull(scope.fullUntil, rank, expiresAt);
    let endpointFull = scope.endpointFullUntil.get(endpoint);
    if (!endpointFull) scope.endpointFullUntil.set(endpoint, (endpointFull = STRIPE_PRIORITIES.map(() => 0)));
    markFull(endpointFull, rank, expiresAt);
  };
  return {
    claim(scope: Scope, endpoint: string, rank: number, want: number): void {
      scope.claiming = true;
      claim(scope, endpoint, rank, want)
        .catch((error) => {
          observer.storeFailed?.(error);
          markFull(scope.fullUntil, 0, clock() + STORE_RETRY_MS);
        })
        .finally(() => {
          scope.claiming = false;
          deps.pump(scope);
        });
    },
  };
}
