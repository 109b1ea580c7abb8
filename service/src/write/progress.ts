/**
 * Which of several copies of one Stripe object is the newest, when Stripe's `created` cannot tell: events of
 * one second have no known order (whole seconds, random ids), and a card payment's four events usually share
 * theirs. A copy is newer than another when it has moved further along what only ever moves forward:
 * - a PaymentIntent's status (requires_payment_method → … → succeeded or canceled), amount received, and a
 *   latest charge once it has one;
 * - a Charge's outcome (pending → succeeded or failed), capture, amounts captured and refunded, balance
 *   transaction once settled, disputed once disputed;
 * or, for an `*.updated` event, when its `previous_attributes` turn it back into the other copy exactly.
 * Anything else (two copies at the same point that differ) is no order: the caller reads the object instead.
 */
import equal from 'fast-deep-equal';

type StripeObject = Record<string, unknown> & { id?: unknown; object?: unknown };

export interface ObjectCopy {
  object: StripeObject;
  /** The event's `data.previous_attributes`, for an `*.updated` event. */
  previous?: Record<string, unknown>;
  /** The event's `created`, in seconds. */
  created: number;
}

const INTENT_STATUS: Record<string, number> = {
  requires_payment_method: 0,
  requires_confirmation: 1,
  requires_action: 2,
  processing: 3,
  requires_capture: 4,
  succeeded: 5,
  canceled: 5,
};

const CHARGE_STATUS: Record<string, number> = { pending: 0, succeeded: 1, failed: 1 };

const num = (value: unknown) => (typeof value === 'number' ? value : 0);
const present = (value: unknown) => (value === null || value === undefined ? 0 : 1);
const flag = (value: unknown) => (value === true ? 1 : 0);

/** The point a copy has reached, as numbers that never decrease; null for an object type without one. */
function progressOf(object: StripeObject): number[] | null {
  if (object.object === 'payment_intent') {
    const status = INTENT_STATUS[String(object.status)];
    if (status === undefined) return null;
    return [status, num(object.amount_received), present(object.latest_charge)];
  }
  if (object.object === 'charge') {
    const status = CHARGE_STATUS[String(object.status)];
    if (status === undefined) return null;
    return [
      status,
      flag(object.captured),
      num(object.amount_captured),
      num(object.amount_refunded),
      present(object.balance_transaction),
      flag(object.disputed),
    ];
  }
  return null;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `object` with `previous` laid over it, the way Stripe lists previous attributes (nested objects by key). */
function before(object: Record<string, unknown>, previous: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...object };
  for (const [key, old] of Object.entries(previous)) {
    const now = object[key];
    out[key] = isPlainObject(old) && isPlainObject(now) && now.object !== 'list' ? before(now, old) : old;
  }
  return out;
}

/**
 * Whether two copies are the same state. Copies that differ mostly differ in a top-level value (a status, an
 * amount, a balance transaction): that is looked at first, before the nested objects are walked (a charge's
 * payment method details, outcome, billing details). The walk is fast-deep-equal's: node:util's
 * isDeepStrictEqual, general enough for any value, took 1.6 times as long over a card payment's burst. For
 * objects parsed from JSON the two agree but on -0, which fast-deep-equal holds equal to 0 (Stripe sends
 * integers and decimal strings).
 */
function sameState(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    const value = a[key];
    if ((value === null || typeof value !== 'object') && value !== b[key]) return false;
  }
  return equal(a, b);
}

/** -1: `a` is older than `b`; 1: newer; 0: the same state; null: no known order. */
export function compareCopies(a: ObjectCopy, b: ObjectCopy): -1 | 0 | 1 | null {
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  if (sameState(a.object, b.object)) return 0;
  if (a.previous && sameState(before(a.object, a.previous), b.object)) return 1;
  if (b.previous && sameState(before(b.object, b.previous), a.object)) return -1;
  const pa = progressOf(a.object);
  const pb = progressOf(b.object);
  if (!pa || !pb || pa.length !== pb.length) return null;
  const ahead = pa.some((v, i) => v > pb[i]);
  const behind = pa.some((v, i) => v < pb[i]);
  if (ahead && !behind) return 1;
  if (behind && !ahead) return -1;
  return null;
}

/** The newest of the copies, or null when two of them have no known order (or there are none). */
export function newestCopy(copies: ObjectCopy[]): ObjectCopy | null {
  let newest: ObjectCopy | null = null;
  for (const copy of copies) {
    if (!newest) {
      newest = copy;
      continue;
    }
    const order = compareCopies(copy, newest);
    if (order === null) return null;
    if (order === 1) newest = copy;
  }
  // Newer than the first pick is not enough: every copy must be at or behind the newest.
  const pick = newest;
  if (pick && copies.some((c) => (compareCopies(c, pick) ?? 1) > 0)) return null;
  return pick;
}
