/**
 * The durable integration ledger: one interface, two engines (SQLite embedded, PostgreSQL for replicas).
 * Times are milliseconds since the epoch. `account` is the Stripe Connect account id, or '' for the platform.
 */

import type { ConsoleLedger, DataverseWriteRecord } from './lineage-types';

export type EventSource = 'stripe' | 'dataverse';

/**
 * - `pending`: waiting for a worker (first try or a retry at `nextAttemptAt`);
 * - `processing`: claimed by `leaseOwner` until `leaseExpiresAt`;
 * - `applied`, `superseded` (an older event than the object's last applied one), `ignored` (no handler);
 * - `skipped`: its handler ran and wrote nothing (no mapping applies, no row to change); the reason is in
 *   `lastError` with the code `nothing_written`;
 * - `dead`: in the dead-letter queue; `discarded`: dropped from it by an operator.
 */
export type EventStatus =
  'pending' | 'processing' | 'applied' | 'skipped' | 'superseded' | 'ignored' | 'dead' | 'discarded';

export interface NewInboxEvent {
  source: EventSource;
  account: string;
  eventId: string;
  type: string;
  /** The object the event is about (its events are applied one at a time, in order); '' when none. */
  objectId: string;
  /** When the platform created the event; the ordering stamp. */
  eventCreatedMs: number;
  /** The event as received (raw JSON text). */
  payload: string;
  status: 'pending' | 'ignored';
  receivedAtMs: number;
}

export interface InboxEvent extends Omit<NewInboxEvent, 'status'> {
  id: number;
  status: EventStatus;
  attempts: number;
  nextAttemptAtMs: number;
  leaseOwner: string | null;
  leaseExpiresAtMs: number | null;
  /** The last failure's message, or for a `skipped` event why nothing was written. */
  lastError: string | null;
  lastErrorCode: string | null;
  updatedAtMs: number;
  /**
   * Set on a claimed Stripe event that coalesced older events of its object: every event of the burst (this
   * one included), when no event applied before the claim shares a second with them, so that the handler may
   * tell the newest state from the copies themselves rather than read the object (see write/progress).
   */
  burst?: BurstEvent[];
  /**
   * With `burst`: the writes of the object from Stripe by other objects' events begun when the claim gave the
   * burst (see ObjectState). One begun since may have read the object after the copies were made.
   */
  burstFreshWrites?: number;
}

export interface BurstEvent {
  eventId: string;
  type: string;
  eventCreatedMs: number;
  payload: string;
}

export interface ObjectStamp {
  eventCreatedMs: number;
  eventId: string;
}

/** An object's stamp, and the writes of it from Stripe by other objects' events: begun, and ended. */
export interface ObjectState {
  stamp: ObjectStamp | null;
  freshWritesBegun: number;
  freshWritesEnded: number;
}

export type EventOutcome =
  | { kind: 'applied' }
  /** The handler ran and wrote nothing, for this reason; the object's ordering stamp does not move. */
  | { kind: 'skipped'; reason: string }
  | { kind: 'superseded'; by: ObjectStamp }
  /** No handler takes the type any more (the registry changed since intake). */
  | { kind: 'ignored' }
  | { kind: 'retry'; error: string; code: string | null; nextAttemptAtMs: number }
  | { kind: 'dead'; error: string; code: string | null };

export interface CompletedAttempt {
  event: InboxEvent;
  owner: string;
  outcome: EventOutcome;
  startedAtMs: number;
  finishedAtMs: number;
  /** Stamp the object's ordering version (Stripe events); done in the same transaction as the outcome. */
  stampObject: boolean;
  /**
   * Objects of the event's account the attempt began to write from Stripe (beginFreshWrite), once per write
   * begun: those writes end with the attempt, whatever its outcome; applied, their stamps move to this event
   * with its own, so that their own older events are superseded and those of its second read Stripe.
   */
  freshWrites?: readonly string[];
  /** The Dataverse requests the attempt made, recorded in the same transaction as the outcome. */
  writes?: readonly DataverseWriteRecord[];
  /** The mapping version the attempt ran under (its number as text, e.g. "3"); recorded with the attempt. */
  mappingVersion?: string | null;
}

export interface DeadLetter {
  id: number;
  inboxId: number;
  source: EventSource;
  account: string;
  eventId: string;
  type: string;
  objectId: string;
  error: string;
  /** The platform's code: Dataverse `0x8006…`, Stripe `code`, … */
  errorCode: string | null;
  attempts: number;
  createdAtMs: number;
  resolvedAtMs: number | null;
  resolution: 'retried' | 'discarded' | null;
}

export interface DeadLetterDetail extends DeadLetter {
  payload: string;
  history: AttemptRecord[];
}

export interface AttemptRecord {
  attempt: number;
  worker: string;
  startedAtMs: number;
  finishedAtMs: number;
  outcome: EventOutcome['kind'];
  error: string | null;
  errorCode: string | null;
  /** The mapping version the attempt ran under; null when none was in use (claims, Dataverse changes). */
  mappingVersion: string | null;
}

export interface QueueDepth {
  pending: number;
  processing: number;
  dead: number;
}

export interface ClaimRequest {
  owner: string;
  limit: number;
  leaseMs: number;
  nowMs?: number;
  /**
   * Whether an older Stripe event of an object may be coalesced into a newer one of another type (both go to
   * the same handler, so applying the newer does all the older would). Default: always.
   */
  coalesces?: (olderType: string, newerType: string) => boolean;
  /**
   * A Stripe event of an object is claimed on its first try only once it is this old (default 0), so that the
   * rest of its burst, delivered a moment later, is coalesced with it rather than applied (and read) again.
   */
  gatherMs?: number;
}

/** A budget scope and the most calls it takes in one second. */
export interface BudgetWindow {
  scope: string;
  limit: number;
}

export interface BudgetGrant {
  /** Calls counted in the current second of every window asked for (0 when one of them is full). */
  granted: number;
  /** Milliseconds until that second ends (by the store's clock). */
  msLeft: number;
  /** When fewer than wanted were counted: the scope whose window had the fewest left. */
  boundBy?: string;
}

/** A scope's budget shrunk after a 429: to `factor` of it at `atMs`, recovering from there. */
export interface BudgetShrink {
  factor: number;
  atMs: number;
}

/** How a 429 shrinks a scope's budget (multiplicative decrease) and how it recovers (additive increase). */
export interface ShrinkPolicy {
  /** Factor the current one is multiplied by on a 429. */
  decrease: number;
  /** The least factor. */
  floor: number;
  /** Factor regained per second since the last shrink. */
  recoveryPerSecond: number;
  /** 429s within this time of the last shrink do not shrink again (one burst is one signal). */
  holdMs: number;
}

/** The Stripe call budget shared by every process of the store (see stripe/budget.ts). */
export interface StripeBudgetLedger {
  /**
   * Counts up to `want` calls in the current second of every window, as many as the fullest one still takes;
   * several processes taking at once never count more than a window's limit.
   */
  takeBudget(windows: BudgetWindow[], want: number): Promise<BudgetGrant>;
  /** Records a 429 for `scope`; returns the shrink now in force. */
  shrinkBudget(scope: string, policy: ShrinkPolicy, nowMs?: number): Promise<BudgetShrink>;
  /** The scope's last shrink, or null when it never met a 429. */
  readBudgetShrink(scope: string): Promise<BudgetShrink | null>;
}

/** A stored mapping version without its files. */
export interface MappingVersionInfo {
  version: number;
  /** sha256 of the files (names and texts), see mapping/versions.ts. */
  hash: string;
  createdAtMs: number;
  createdBy: string;
  note: string | null;
  active: boolean;
}

/** A mapping version: the whole set of mapping and lookup files, path → text. */
export interface MappingVersion extends MappingVersionInfo {
  files: Record<string, string>;
}

export interface NewMappingVersion {
  files: Record<string, string>;
  hash: string;
  createdBy: string;
  note: string | null;
  nowMs?: number;
}

export interface MappingActivation {
  version: number;
  activatedAtMs: number;
  activatedBy: string;
}

/** Events to apply again: Stripe events applied, skipped or dead, by type and when Stripe created them. */
export interface ReplayFilter {
  /** An event type, or a prefix ending in `.*` (`charge.*`); every type when absent. */
  type?: string;
  /** Created at or after / before (ms). */
  fromMs?: number;
  toMs?: number;
}

/**
 * The mapping versions of the store: numbered from 1, one active at a time (the latest activation), so every
 * process sharing the store maps with the same one.
 */
export interface MappingVersionLedger {
  listMappingVersions(): Promise<MappingVersionInfo[]>;
  getMappingVersion(version: number): Promise<MappingVersion | null>;
  /** The active version's number (one indexed read), or null before the first version. */
  activeMappingVersion(): Promise<number | null>;
  /** Stores the files as the next version; activates it when asked, in the same transaction. */
  createMappingVersion(
    version: NewMappingVersion,
    options: { activate: boolean },
  ): Promise<MappingVersionInfo>;
  /**
   * Stores and activates the files as the next version unless a stored version has the same hash: the
   * shipped files at start, so an upgrade's files become active once and never replace a version an operator
   * activated since. `created` is null when the files were already stored.
   */
  adoptMappingFiles(version: NewMappingVersion): Promise<{ created: MappingVersionInfo | null }>;
  /** Makes `version` the active one; false when there is no such version. */
  activateMappingVersion(version: number, by: string, nowMs?: number): Promise<boolean>;
  /** Activations, newest first. */
  mappingActivations(limit: number): Promise<MappingActivation[]>;
  /**
   * Queues the matching events again to be applied under the active mapping version (attempts reset, open
   * dead letters among them resolved as retried); the ids queued. The object's ordering stamp is left as it
   * is, so an older event than the one last applied to its object is superseded, not applied.
   */
  requeueEvents(filter: ReplayFilter, nowMs?: number): Promise<number[]>;
}

export interface Store extends ConsoleLedger, StripeBudgetLedger, MappingVersionLedger {
  readonly engine: 'sqlite' | 'postgres';
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  /** Resolves when the store answers a trivial query. */
  ping(): Promise<void>;

  /** Durably records a received event; `false` when (source, account, eventId) was already there. */
  insertEvent(event: NewInboxEvent): Promise<boolean>;
  findEvent(source: EventSource, account: string, eventId: string): Promise<InboxEvent | null>;
  getEvent(id: number): Promise<InboxEvent | null>;

  /**
   * Claims due events for `owner`: at most one in flight per (source, account, objectId) across every
   * process sharing the store; leases that expired are taken back first (their worker died).
   */
  claimEvents(request: ClaimRequest): Promise<InboxEvent[]>;
  /** Pushes the lease of events this owner still holds. */
  extendLeases(owner: string, ids: number[], leaseExpiresAtMs: number): Promise<void>;
  /** Gives claimed events back unprocessed (shutdown); the claim does not count as an attempt. */
  releaseEvents(owner: string, ids: number[]): Promise<void>;
  /**
   * Records an attempt's outcome, moves the object's stamp (when asked) and dead-letters, atomically.
   * `false` when the lease was lost (another worker took the event back): nothing is written.
   */
  completeEvent(attempt: CompletedAttempt): Promise<boolean>;
  getObjectStamp(source: EventSource, account: string, objectId: string): Promise<ObjectStamp | null>;
  /** The object's stamp, and how many writes of it from Stripe by other objects' events began and ended. */
  /** As of `nowMs` (default now): see FRESH_WRITE_ABANDONED_MS. */
  getObjectState(
    source: EventSource,
    account: string,
    objectId: string,
    nowMs?: number,
  ): Promise<ObjectState>;
  /**
   * Counts a write of an object's row from Stripe's current state begun by another object's event (before
   * the write; see SyncContext.writingFreshStateOf). It ends with that event's attempt (CompletedAttempt.freshWrites).
   */
  beginFreshWrite(
    event: Pick<InboxEvent, 'source' | 'account'>,
    objectId: string,
    nowMs?: number,
  ): Promise<void>;
  /** Ends writes begun by an attempt that records no outcome (its event given back at shutdown), one per entry. */
  endFreshWrites(event: Pick<InboxEvent, 'source' | 'account'>, objectIds: readonly string[]): Promise<void>;

  listDeadLetters(options?: {
    limit?: number;
    offset?: number;
    includeResolved?: boolean;
  }): Promise<DeadLetter[]>;
  getDeadLetter(id: number): Promise<DeadLetterDetail | null>;
  /** An inbox event's attempts, oldest first (with the mapping version each ran under). */
  eventAttempts(inboxId: number): Promise<AttemptRecord[]>;
  /** Queues the event again (attempts reset); `false` when there is no unresolved dead letter `id`. */
  retryDeadLetter(id: number, nowMs?: number): Promise<boolean>;
  discardDeadLetter(id: number, nowMs?: number): Promise<boolean>;

  queueDepth(): Promise<QueueDepth>;
  /** The newest event received, or null when none was. */
  latestEvent(): Promise<InboxEvent | null>;
  /** When the oldest event still waiting (pending or being processed) was received, or null. */
  oldestWaitingMs(): Promise<number | null>;
  getCursor(name: string): Promise<string | null>;
  setCursor(name: string, value: string): Promise<void>;

  close(): Promise<void>;
}
