/**
 * Payload first: the object an event carries is mapped as it is when that event is the newest known for its
 * object, and read from Stripe only when the mapping cannot trust it or lacks what it needs. Stripe's limits
 * (25 requests a second in test mode, 100 in live, shared with the merchant's own calls) make a read per event
 * the bottleneck of a burst; the ordering stamps already tell when the payload is the newest state.
 */
import type { CompiledMapping } from '../mapping';
import type { SyncContext } from '../pipeline/handler';

/** The value at a dotted path; stops (and gives what it found) at anything that is not an object. */
function valueAt(object: unknown, path: string): unknown {
  let value = object;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return value;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * The payload has `path` when the value there is an object, or null (nothing to expand, e.g. a PaymentIntent
 * with no charge yet); a bare id (an unexpanded field) or nothing at all means a read.
 */
export function payloadHas(payload: object, path: string): boolean {
  const value = valueAt(payload, path);
  return value === null || (typeof value === 'object' && value !== undefined);
}

/**
 * Whether `mapping` must read the object from Stripe rather than map `given` (the event's copy):
 * - no copy given, or its payload may be older than what is written (`payloadMayBeStale`): read;
 * - `refresh` absent: never; `refresh: true` or `when: always`: always;
 * - `when: missing`: only when the copy lacks one of the mapping's `needs`.
 */
export function mustReadObject(
  mapping: CompiledMapping,
  given: object | undefined,
  context: Pick<SyncContext, 'payloadMayBeStale'>,
): boolean {
  if (!given || context.payloadMayBeStale) return true;
  const { refresh } = mapping;
  if (!refresh) return false;
  if (refresh.when === 'always') return true;
  return refresh.needs.some((path) => !payloadHas(given, path));
}
