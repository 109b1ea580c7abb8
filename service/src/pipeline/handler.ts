/**
 * The contract between the pipeline (inbox, workers, retries) and the sync handlers. A handler takes either
 * Stripe events (Stripe → Dataverse) or Dataverse changes (Dataverse → Stripe, read from the webhook's
 * RemoteExecutionContext); the pipeline routes each inbox event by its source to a handler of that kind.
 * The pipeline knows nothing of Dataverse tables; a handler knows nothing of HTTP or the store.
 */
import type Stripe from 'stripe';
import type { DataverseChange } from '../dataverse/change';
import type { DataverseClient } from '../dataverse/types';

export interface HandlerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SyncContext {
  dataverse: DataverseClient;
  /** A Stripe client for the event's account: the platform's, or one with `stripeAccount` for Connect. */
  stripeFor(account: string | null): Stripe;
  log: HandlerLogger;
  /**
   * The event was created in the same second as the last event applied to its object, and Stripe gives no
   * order within a second: its payload may be older than what is already written, so a handler that maps
   * the payload maps the object read fresh from Stripe instead.
   */
  payloadMayBeStale?: boolean;
  /**
   * The Stripe events of the object's burst this event stands for (itself and the older events coalesced
   * into it at claim), when none applied before shares their seconds: a handler may find the newest state
   * among their copies (write/progress) instead of reading the object.
   */
  burst?: Stripe.Event[];
  /**
   * Says the event wrote nothing (no mapping applies, no row to change), with the reason: the pipeline then
   * records it `skipped` and counts it so, never as applied. A handler calls it only when the event as a
   * whole writes nothing; the first reason given is kept.
   */
  nothingWritten?(reason: string): void;
  /**
   * Called before the handler writes an object's row from Stripe's current state. For another object than the
   * event's (a dispute's payment, re-synced by the disputes handler), the write is counted as begun at once,
   * and ends with this event's attempt: an event of that object which starts meanwhile reads Stripe rather than
   * its copies, and one already running sees the count move when it has written and writes again from Stripe
   * (see writtenMeanwhile in process.ts), instead of putting back the older state it had (a payment's copies
   * do not know its charge was disputed since). Once this event is applied, that object's ordering stamp moves
   * to it as well, so the object's own events of older seconds are superseded and those of this second read
   * Stripe. An attempt that fails moves no stamp: the object's older events are still applied.
   */
  writingFreshStateOf?(objectId: string): Promise<void>;
}

/** The Stripe object an event is about: used for per-object ordering and to serialise its events. */
export interface ObjectRef {
  account: string | null;
  objectId: string;
}

/** Takes Stripe events. */
export interface StripeEventHandler {
  source?: 'stripe';
  /** `payments`, `refunds`, `disputes`, `customers`, `billing`, `payouts`. */
  resource: string;
  /** Event types this handler takes; `charge.*` style wildcards allowed. */
  eventTypes: string[];
  handle(event: Stripe.Event, context: SyncContext): Promise<void>;
  /**
   * Whether handling an event of `newerType` does for its object all that handling an older event of
   * `olderType` (two different types this handler takes) would: only then is the older one coalesced into the
   * newer at claim and recorded superseded by it. Without it, any two of its types do (a handler that writes
   * the object's newest state whatever the event's type). A handler whose work depends on the event's type (a
   * failed delayed payment only marks an existing order; a failed invoice payment's collection state comes
   * from its type) says which older types each type stands for.
   */
  standsFor?(olderType: string, newerType: string): boolean;
}

/** The rows whose changes a Dataverse change handler takes. */
export interface DataverseChangeFilter {
  /** Logical name of the table. */
  table: string;
  /** The messages taken, as Dataverse names them (`Create`, `Update`). */
  messages: string[];
}

/** Takes changes Dataverse reported through a webhook step. */
export interface DataverseChangeHandler {
  source: 'dataverse';
  /** `refund-requests`, `customers-outbound`, `sync-requests`. */
  resource: string;
  changes: DataverseChangeFilter[];
  handle(change: DataverseChange, context: SyncContext): Promise<void>;
  /**
   * The change's event went to the dead-letter queue with `reason`: the handler may say so on the row it
   * concerns, so that the user who made it is not left waiting without a word. Best effort: a failure here is
   * logged, the dead letter stays.
   */
  onDeadLettered?(change: DataverseChange, reason: string, context: SyncContext): Promise<void>;
}

export type EventHandler = StripeEventHandler | DataverseChangeHandler;
