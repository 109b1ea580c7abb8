/**
 * What the store keeps for the operator console: every Dataverse request an attempt made for its event
 * (written with the attempt's outcome, in the same transaction), and the console's reads over the inbox,
 * attempts and dead letters.
 */
import type { DeadLetter, EventStatus, InboxEvent } from './types';

/** One Dataverse request a handler made for the event being worked, with its answer. */
export interface DataverseWriteRecord {
  /** The mapping that produced the row and its version; null when the request was not a mapped row's. */
  mapping: string | null;
  mappingVersion: string | null;
  /** Logical name of the table (`stc_payment`), or the entity set when the table is not in the model. */
  table: string;
  /** The row's id (lower-case GUID) when known. */
  rowId: string | null;
  operation: 'create' | 'update' | 'upsert' | 'delete' | 'associate' | 'read';
  method: string;
  /** Below the Web API root, e.g. `stc_payments(stc_stripeid='pi_1')`. */
  path: string;
  /** HTTP status answered (0: no answer). */
  status: number;
  durationMs: number;
  error: string | null;
  /** When the request was made. */
  atMs: number;
}

export interface StoredDataverseWrite extends DataverseWriteRecord {
  inboxId: number;
  attempt: number;
}

/** The console's event search: newest first, keyset-paged by inbox id. */
export interface EventSearch {
  /** An event id, a Stripe object id or a Dataverse row id the event wrote. */
  q?: string;
  type?: string;
  status?: EventStatus;
  /** Received at or after / before (ms). */
  fromMs?: number;
  toMs?: number;
  /** Only events with a smaller inbox id (the last one of the previous page). */
  beforeId?: number;
  limit: number;
}

/** The outcomes of the attempts finished in one minute. */
export interface OutcomeMinute {
  minuteMs: number;
  outcome: string;
  count: number;
}

export interface DeadLetterSearch {
  /** Open letters only (default), or every one. */
  openOnly?: boolean;
  type?: string;
  errorCode?: string;
  /** Matches the event id or the object id. */
  q?: string;
  /** Created at or after / before (ms). */
  fromMs?: number;
  toMs?: number;
  /** Only letters with a smaller id (newest first). */
  beforeId?: number;
  limit: number;
}

export interface ConsoleLedger {
  /** The Dataverse requests of an inbox event, in the order they were made. */
  eventWrites(inboxId: number): Promise<StoredDataverseWrite[]>;
  searchEvents(search: EventSearch): Promise<InboxEvent[]>;
  /** Attempts finished at or after `fromMs`, counted per minute and outcome. */
  outcomesPerMinute(fromMs: number): Promise<OutcomeMinute[]>;
  searchDeadLetters(search: DeadLetterSearch): Promise<DeadLetter[]>;
  openDeadLetterCount(): Promise<number>;
}
