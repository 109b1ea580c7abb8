/**
 * Which work a Stripe call serves, carried through the async calls below the caller (AsyncLocalStorage), so
 * the budget finds it at the HTTP client without every function passing it on. Over budget, calls of a
 * higher priority go first: a user's action (a refund, a payment link), then live sync, then reconciliation,
 * then backfill and replay.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const STRIPE_PRIORITIES = ['user', 'sync', 'reconcile', 'backfill'] as const;
export type StripePriority = (typeof STRIPE_PRIORITIES)[number];

const current = new AsyncLocalStorage<StripePriority>();

/** Runs `work` with its Stripe calls at `priority` (an inner call of this overrides an outer one). */
export function withStripePriority<T>(priority: StripePriority, work: () => T): T {
  return current.run(priority, work);
}

/** The priority of the work running now; live sync when no caller said otherwise. */
export function currentStripePriority(): StripePriority {
  return current.getStore() ?? 'sync';
}
