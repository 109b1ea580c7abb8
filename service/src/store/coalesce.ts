/**
 * Which due events a claim takes, and which it coalesces. Of several due Stripe events of one object (a burst:
 * created, succeeded, updated…), only the newest is worth applying: the handlers map the object's state, and
 * the newest event carries the newest state. So a claim takes the newest and records the older ones superseded
 * by it (as far as one handler takes them all), in the same transaction: one write (and at most one read from Stripe) per object per burst, on both
 * engines and across processes, as claims of one object are serialised already. Dataverse changes are taken
 * oldest first, one at a time: each is a change an operator made (a refund request, an edit), never coalesced.
 */
import { freshWriteUnderWay, objectKey } from './rows';
import type { BurstEvent, ClaimRequest, ObjectState } from './types';

interface Claimable {
  id: number;
  source: string;
  type: string;
  attempts: number;
  receivedAtMs: number;
  account: string;
  objectId: string;
  eventCreatedMs: number;
  eventId: string;
}

export interface ClaimRules {
  limit: number;
  /** See ClaimRequest.coalesces. */
  coalesces: (olderType: string, newerType: string) => boolean;
  /** A Stripe object's burst is taken once its first event was received at or before this time. */
  gatheredBy: number;
}

/**
 * How many due events a claim reads to choose from: a burst of a few events for each it may take, and room
 * for those it passes over (bursts still gathering, objects another process holds).
 */
export const claimWindow = (limit: number) => limit * 4 + 16;

/** The rules of a claim at `now`. */
export function claimRules(request: ClaimRequest, now: number): ClaimRules {
  return {
    limit: request.limit,
    coalesces: request.coalesces ?? (() => true),
    gatheredBy: now - (request.gatherMs ?? 0),
  };
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

/**
 * Plans a claim over `candidates` (due events in inbox order); `busy` holds the keys of objects in flight.
 * `coalesces(older, newer)` tells whether applying the newer type does all the older one would (one handler
 * takes both): a burst is coalesced from its oldest event up to the newest event every older one coalesces
 * into; events after a break (a charge.refunded among payment events) wait for a later claim, in order.
 */
export function planClaim<T extends Claimable>(
  candidates: T[],
  busy: Set<string>,
  rules: ClaimRules,
): ClaimPlan<T> {
  const { limit, coalesces, gatheredBy } = rules;
  const byObject = new Map<string, T[]>();
  for (const c of candidates) {
    const key = objectKey(c.source, c.account, c.objectId);
    if (key === null || busy.has(key)) continue;
    byObject.set(key, [...(byObject.get(key) ?? []), c]);
  }
  // A burst still gathering: its first event came after `gatheredBy`, so the rest may be on the way.
  for (const [key, events] of byObject)
    if (events[0].source === 'stripe' && events.every((e) => e.attempts === 0 && e.receivedAtMs > gatheredBy))
      byObject.delete(key);
  const picked: T[] = [];
  const superseded: { event: T; by: T }[] = [];
  const taken = new Set<string>();
  for (const c of candidates) {
    if (picked.length >= limit) break;
    const key = objectKey(c.source, c.account, c.objectId);
    if (key === null) picked.push(c);
    else if (!taken.has(key) && byObject.has(key)) {
      taken.add(key);
      const { by, older } = burstOf(byObject.get(key)!, coalesces);
      picked.push(by);
      for (const event of older) superseded.push({ event, by });
    }
  }
  return { picked, superseded };
}

/**
 * Of one object's due events: the one to apply and the older ones it stands for. A Dataverse row's changes
 * are never coalesced (the oldest goes first); a Stripe object's are, from the oldest as far as they coalesce.
 */
function burstOf<T extends Claimable>(
  events: T[],
  coalesces: (olderType: string, newerType: string) => boolean,
): { by: T; older: T[] } {
  const ordered = [...events].sort((a, b) => (newer(a, b) ? 1 : newer(b, a) ? -1 : 0));
  if (ordered[0].source !== 'stripe') return { by: ordered[0], older: [] };
  let last = 0;
  for (let n = 1; n < ordered.length; n++) {
    if (!ordered.slice(0, n).every((e) => coalesces(e.type, ordered[n].type))) break;
    last = n;
  }
  return { by: ordered[last], older: ordered.slice(0, last) };
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

/**
 * The bursts a claim hands to handlers: for each picked Stripe event that coalesced older ones, all of them,
 * when the object's stamp before the claim (`prior`, read before the coalesced stamps are written) is older
 * than the burst's oldest event, and no other object's event is writing the object from Stripe. An event
 * applied before in one of the burst's seconds may hold a newer state than any copy in the burst, and so may
 * a write from Stripe under way: then none is given and the handler reads the object. The object's writes from
 * Stripe begun by then go with the burst (`burstFreshWrites`): one begun after the claim may have read the
 * object after the copies were made, whatever its stamp (see pipeline/process).
 */
export function attachBursts<
  T extends Claimable & { payload: string; burst?: BurstEvent[]; burstFreshWrites?: number },
>({ superseded }: ClaimPlan<T>, prior: (event: T) => ObjectState): void {
  const olderOf = new Map<T, T[]>();
  for (const { event, by } of superseded) olderOf.set(by, [...(olderOf.get(by) ?? []), event]);
  for (const [by, older] of olderOf) {
    if (by.source !== 'stripe') continue;
    const burst = [...older, by];
    const oldest = Math.min(...burst.map((e) => e.eventCreatedMs));
    const state = prior(by);
    if (state.stamp && state.stamp.eventCreatedMs >= oldest) continue;
    if (freshWriteUnderWay(state)) continue;
    by.burstFreshWrites = state.freshWritesBegun;
    by.burst = burst.map((e) => ({
      eventId: e.eventId,
      type: e.type,
      eventCreatedMs: e.eventCreatedMs,
      payload: e.payload,
    }));
  }
}
