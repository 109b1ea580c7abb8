/**
 * Which due events a claim takes, and which it coalesces. Of several due Stripe events of one object (a burst:
 * created, succeeded, updated…), only the newest is worth applying: the handlers map the object's state, and
 * the newest event carries the newest state. So a claim takes the newest and records the older ones superseded
 * by it, in the same transaction: one write (and at most one read from Stripe) per object per burst, on both
 * engines and across processes, as claims of one object are serialised already. Dataverse changes are taken
 * oldest first, one at a time: each is a change an operator made (a refund request, an edit), never coalesced.
 */
import { objectKey } from './rows';

interface Claimable {
  id: number;
  source: string;
  account: string;
  objectId: string;
  eventCreatedMs: number;
  eventId: string;
}

export interface ClaimPlan<T> {
  /** Claimed, in inbox order: at most one per object, and nothing of an object already in flight. */
  picked: T[];
  /** Older due events of a picked Stripe object, each with the picked event that supersedes it. */
  superseded: { event: T; by: T }[];
}

/** Stripe's order: by creation second, then event id (one second's events have no known order). */
const newer = (a: Claimable, b: Claimable) =>
  a.eventCreatedMs > b.eventCreatedMs || (a.eventCreatedMs === b.eventCreatedMs && a.eventId > b.eventId);

/** Plans a claim over `candidates` (due events in inbox order); `busy` holds the keys of objects in flight. */
export function planClaim<T extends Claimable>(
  candidates: T[],
  busy: Set<string>,
  limit: number,
): ClaimPlan<T> {
  const chosen = new Map<string, T>();
  for (const c of candidates) {
    const key = objectKey(c.source, c.account, c.objectId);
    if (key === null || busy.has(key)) continue;
    const seen = chosen.get(key);
    // A Stripe object's newest event stands for the burst; a Dataverse row's oldest change goes first.
    if (!seen || (c.source === 'stripe' ? newer(c, seen) : newer(seen, c))) chosen.set(key, c);
  }
  const picked: T[] = [];
  const pickedKeys = new Set<string>();
  for (const c of candidates) {
    if (picked.length >= limit) break;
    const key = objectKey(c.source, c.account, c.objectId);
    if (key === null) picked.push(c);
    else if (!pickedKeys.has(key) && chosen.has(key)) {
      pickedKeys.add(key);
      picked.push(chosen.get(key)!);
    }
  }
  const superseded: { event: T; by: T }[] = [];
  for (const c of candidates) {
    const key = objectKey(c.source, c.account, c.objectId);
    if (key === null || c.source !== 'stripe' || !pickedKeys.has(key)) continue;
    const by = chosen.get(key)!;
    if (by !== c) superseded.push({ event: c, by });
  }
  return { picked, superseded };
}

/**
 * The stamp a coalesced object gets at claim: the newest of its superseded events. Its picked event then sees
 * whether a superseded one shared its second, when its payload may be the older state (see pipeline/process).
 */
export function coalescedStamps<T extends Claimable>(superseded: { event: T; by: T }[]): T[] {
  const newest = new Map<string, T>();
  for (const { event } of superseded) {
    const key = objectKey(event.source, event.account, event.objectId) as string;
    const seen = newest.get(key);
    if (!seen || newer(event, seen)) newest.set(key, event);
  }
  return [...newest.values()];
}

/** The note recorded on a coalesced event's attempt: which event superseded it. */
export const supersededNote = (by: { eventId: string }) => `superseded by ${by.eventId} (coalesced at claim)`;
