/** Row ↔ record mapping shared by both engines (columns are snake_case; pg returns BIGINT as numbers here). */
import type {
  AttemptRecord,
  CompletedAttempt,
  DeadLetter,
  EventSource,
  EventStatus,
  InboxEvent,
  NewInboxEvent,
  ObjectStamp,
  ObjectState,
  QueueDepth,
} from './types';

export type Row = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export const INBOX_COLUMNS =
  'id, source, account, event_id, type, object_id, event_created, payload, status, attempts, next_attempt_at, ' +
  'lease_owner, lease_expires_at, last_error, last_error_code, received_at, updated_at';

export function toInboxEvent(r: Row): InboxEvent {
  return {
    id: num(r.id),
    source: r.source as EventSource,
    account: String(r.account),
    eventId: String(r.event_id),
    type: String(r.type),
    objectId: String(r.object_id),
    eventCreatedMs: num(r.event_created),
    payload: String(r.payload),
    status: r.status as EventStatus,
    attempts: num(r.attempts),
    nextAttemptAtMs: num(r.next_attempt_at),
    leaseOwner: strOrNull(r.lease_owner),
    leaseExpiresAtMs: numOrNull(r.lease_expires_at),
    lastError: strOrNull(r.last_error),
    lastErrorCode: strOrNull(r.last_error_code),
    receivedAtMs: num(r.received_at),
    updatedAtMs: num(r.updated_at),
  };
}

export const DEAD_LETTER_SELECT = `SELECT d.id, d.inbox_id, i.source, i.account, i.event_id, i.type, i.object_id,
  d.error, d.error_code, d.attempts, d.created_at, d.resolved_at, d.resolution, i.payload
  FROM dead_letters d JOIN inbox i ON i.id = d.inbox_id`;

export function toDeadLetter(r: Row): DeadLetter {
  return {
    id: num(r.id),
    inboxId: num(r.inbox_id),
    source: r.source as EventSource,
    account: String(r.account),
    eventId: String(r.event_id),
    type: String(r.type),
    objectId: String(r.object_id),
    error: String(r.error),
    errorCode: strOrNull(r.error_code),
    attempts: num(r.attempts),
    createdAtMs: num(r.created_at),
    resolvedAtMs: numOrNull(r.resolved_at),
    resolution: (r.resolution ?? null) as DeadLetter['resolution'],
  };
}

export function toAttempt(r: Row): AttemptRecord {
  return {
    attempt: num(r.attempt),
    worker: String(r.worker),
    startedAtMs: num(r.started_at),
    finishedAtMs: num(r.finished_at),
    outcome: r.outcome as AttemptRecord['outcome'],
    error: strOrNull(r.error),
    errorCode: strOrNull(r.error_code),
    mappingVersion: strOrNull(r.mapping_version),
  };
}

/**
 * A new event's inbox values in the order of the engines' INSERT: source, account, event id, type, object
 * id, event created, payload, status, and the time it was received (its first next attempt and updated at).
 */
export function inboxValues(e: NewInboxEvent): unknown[] {
  return [
    e.source,
    e.account,
    e.eventId,
    e.type,
    e.objectId,
    e.eventCreatedMs,
    e.payload,
    e.status,
    e.receivedAtMs,
  ];
}

export function toQueueDepth(r: Row): QueueDepth {
  return { pending: num(r.pending), processing: num(r.processing), dead: num(r.dead) };
}

export function toObjectStamp(r: Row | undefined): ObjectStamp | null {
  return r ? { eventCreatedMs: num(r.event_created), eventId: String(r.event_id) } : null;
}

/**
 * How long a write of an object from Stripe by another object's event counts as under way without news of it
 * (no write of the object begun or ended since). An attempt ends its writes with its outcome, and its handler
 * is stopped within HANDLER_TIMEOUT_MS (at most 10 minutes); only an attempt whose process was killed leaves
 * them open, and without this bound the object's events would read Stripe instead of their copies for good.
 */
export const FRESH_WRITE_ABANDONED_MS = 15 * 60_000;

/** The object's state as of `nowMs`: writes from Stripe left under way since FRESH_WRITE_ABANDONED_MS read as ended. */
export function toObjectState(r: Row | undefined, nowMs: number): ObjectState {
  const present = (value: unknown) => value !== null && value !== undefined;
  const began = present(r?.began) ? num(r!.began) : 0;
  const ended = present(r?.ended) ? num(r!.ended) : 0;
  const abandoned =
    began !== ended && present(r?.fresh_at) && nowMs - num(r!.fresh_at) >= FRESH_WRITE_ABANDONED_MS;
  return {
    stamp: present(r?.event_id) ? toObjectStamp(r) : null,
    freshWritesBegun: began,
    freshWritesEnded: abandoned ? began : ended,
  };
}

/** Another object's event has begun to write the object from Stripe, and its attempt has not ended. */
export const freshWriteUnderWay = (state: ObjectState | null): boolean =>
  state !== null && state.freshWritesBegun !== state.freshWritesEnded;

/** The code recorded with a `skipped` event's reason. */
export const NOTHING_WRITTEN = 'nothing_written';

/**
 * What a finished attempt writes: the inbox row's status, next attempt and error, and whether the object's
 * ordering stamp moves (an applied Stripe event about an object; a skipped one leaves it, so an older event
 * that does write, such as a late `checkout.session.completed` after `expired`, is still applied).
 */
export function finishedEvent(a: CompletedAttempt): {
  status: EventStatus;
  nextAttemptAtMs: number;
  error: string | null;
  code: string | null;
  /** The objects whose ordering stamp moves to this event: its own and those it wrote fresh, when applied. */
  stampedObjects: string[];
  /** The objects whose fresh writes end with the attempt, with how many (any outcome). */
  freshEnded: { objectIds: string[]; counts: number[] };
} {
  const { event, outcome } = a;
  const failed = outcome.kind === 'retry' || outcome.kind === 'dead';
  const skipped = outcome.kind === 'skipped';
  return {
    status: outcome.kind === 'retry' ? 'pending' : outcome.kind,
    nextAttemptAtMs: outcome.kind === 'retry' ? outcome.nextAttemptAtMs : event.nextAttemptAtMs,
    error: failed ? outcome.error : skipped ? outcome.reason : null,
    code: failed ? outcome.code : skipped ? NOTHING_WRITTEN : null,
    stampedObjects:
      outcome.kind === 'applied' && a.stampObject
        ? [...new Set([event.objectId, ...(a.freshWrites ?? [])])].filter((id) => id !== '')
        : [],
    freshEnded: countsOf(a.freshWrites ?? []),
  };
}

/** Each id once, with how many times it came. */
export function countsOf(ids: readonly string[]): { objectIds: string[]; counts: number[] } {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return { objectIds: [...counts.keys()], counts: [...counts.values()] };
}

/**
 * The values of the statement that finishes the inbox row, in both engines' order: status, next attempt, error,
 * code, finished at, then its condition: inbox id, lease owner and the claim's attempt number.
 */
export function finishValues(a: CompletedAttempt, finished: ReturnType<typeof finishedEvent>): unknown[] {
  const { status, nextAttemptAtMs, error, code } = finished;
  return [status, nextAttemptAtMs, error, code, a.finishedAtMs, a.event.id, a.owner, a.event.attempts];
}

/** Updates claimed events in memory as the claim updated their rows, and returns them. */
export function markClaimed(
  events: InboxEvent[],
  owner: string,
  leaseExpiresAtMs: number,
  now: number,
): InboxEvent[] {
  for (const event of events) {
    event.status = 'processing';
    event.leaseOwner = owner;
    event.leaseExpiresAtMs = leaseExpiresAtMs;
    event.attempts += 1;
    event.updatedAtMs = now;
  }
  return events;
}

/** Key of the object an event is about; null when the event names no object (no serialisation needed). */
export function objectKey(source: string, account: string, objectId: string): string | null {
  return objectId === '' ? null : `${source}|${account}|${objectId}`;
}
