/**
 * Backfill and replay: history listed from the Stripe API and put into the inbox as events, so the same
 * workers, ordering and idempotency apply as for webhooks.
 * - backfill: the objects of each resource created since a date, as synthetic `<object>.updated` events
 *   (ids `evt_bf_<since>_<object id>`, so a second run of the same backfill inserts nothing twice);
 * - replay: the Events API's own events since a date (Stripe keeps 30 days), under their real ids.
 * Both page through lists by hand (100 a page), keep a cursor in the store after every page so a second
 * run continues where the first stopped, and back off on 429 (rate_limit) with jitter.
 */
import type Stripe from 'stripe';
import { orderingObjectOf, type NewInboxEvent, type Store } from '../store';
import { listPages, type Page, type RateLimitPolicy } from '../stripe/paging';
import { withStripePriority } from '../stripe';

export {
  listPages,
  pageWithBackoff,
  isRateLimited,
  StripeListError,
  type RateLimitPolicy,
} from '../stripe/paging';

export type StripeObject = { id: string; object: string; created?: number; livemode?: boolean } & Record<
  string,
  unknown
>;

type ListParams = Record<string, unknown> & { limit: number; starting_after?: string };

interface ResourceSpec {
  /** One page of the resource's list. */
  list(stripe: Stripe, params: ListParams, options: Stripe.RequestOptions): Promise<Page>;
  /** The type of the synthetic event that carries an object: one the resource's handler takes. */
  eventType(object: StripeObject): string;
}

const asPage = (pending: Promise<unknown>) => pending as Promise<Page>;

/** A resource whose objects all travel as events of one type. */
const resource = (
  list: (stripe: Stripe, params: ListParams, options: Stripe.RequestOptions) => Promise<unknown>,
  type: string,
): ResourceSpec => ({
  list: (s, p, o) => asPage(list(s, p, o)),
  eventType: () => type,
});

/** What `--resources` may name, in the order a full backfill runs them (customers before what links to them). */
export const BACKFILL_RESOURCES: Record<string, ResourceSpec> = {
  customers: resource((s, p, o) => s.customers.list(p, o), 'customer.updated'),
  payments: resource((s, p, o) => s.paymentIntents.list(p, o), 'payment_intent.updated'),
  charges: resource((s, p, o) => s.charges.list(p, o), 'charge.updated'),
  refunds: resource((s, p, o) => s.refunds.list(p, o), 'refund.updated'),
  disputes: resource((s, p, o) => s.disputes.list(p, o), 'charge.dispute.updated'),
  subscriptions: resource(
    (s, p, o) => s.subscriptions.list({ ...p, status: 'all' }, o),
    'customer.subscription.updated',
  ),
  invoices: resource((s, p, o) => s.invoices.list(p, o), 'invoice.updated'),
  creditNotes: resource((s, p, o) => s.creditNotes.list(p, o), 'credit_note.updated'),
  payouts: resource((s, p, o) => s.payouts.list(p, o), 'payout.updated'),
};

/** Stripe keeps events for 30 days. */
export const EVENTS_RETENTION_DAYS = 30;

export interface BackfillProgress {
  phase: 'backfill' | 'replay';
  /** The resource (backfill) or `events` (replay). */
  resource: string;
  listed: number;
  inserted: number;
  /** Already in the inbox (an earlier run, or the webhook got there first). */
  duplicates: number;
  done: boolean;
  resumedFrom: string | null;
}

interface CommonOptions {
  store: Store;
  stripe: Stripe;
  since: Date;
  /** Connected account (`acct_…`); default the platform. */
  account?: string | null;
  /** True when a handler takes the type: its event goes in as pending, else as ignored (as intake does). */
  handles?: (type: string) => boolean;
  onProgress?: (progress: BackfillProgress) => void;
  /** Stops after the page being written; the cursor keeps the place for the next run. */
  signal?: AbortSignal;
  rateLimit?: RateLimitPolicy;
  /** Wakes the workers after each page (e.g. `pool.notify`). */
  notify?: () => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface BackfillOptions extends CommonOptions {
  /** Default: every resource of BACKFILL_RESOURCES. */
  resources?: string[];
}

export interface ReplayOptions extends CommonOptions {
  /** Only these event types (Stripe's `types` filter, at most 20). */
  types?: string[];
}

export interface RunSummary {
  progress: BackfillProgress[];
  /** False when the run was stopped before the end (run again to continue). */
  complete: boolean;
}

export class BackfillError extends Error {
  constructor(
    message: string,
    /** Stripe's error `code` or `type`, when Stripe refused. */
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'BackfillError';
  }
}

interface Cursor {
  startingAfter: string | null;
  listed: number;
  inserted: number;
  duplicates: number;
  done: boolean;
}

const unix = (date: Date) => Math.floor(date.getTime() / 1000);

async function readCursor(store: Store, name: string): Promise<Cursor | null> {
  const text = await store.getCursor(name);
  if (!text) return null;
  try {
    return JSON.parse(text) as Cursor;
  } catch {
    throw new BackfillError(`cursor ${name} in the store is not JSON: ${text.slice(0, 80)}`, null);
  }
}

/**
 * Walks one list from its cursor to the end, newest first as Stripe lists, inserting each item's event.
 * The cursor is saved after every page; an aborted run leaves it at the last page written.
 */
async function walk(
  options: CommonOptions,
  phase: BackfillProgress['phase'],
  resource: string,
  cursorName: string,
  fetch: (startingAfter: string | undefined) => Promise<Page>,
  toEvent: (item: StripeObject) => NewInboxEvent,
): Promise<BackfillProgress> {
  const { store } = options;
  const saved = await readCursor(store, cursorName);
  const cursor: Cursor = saved ?? { startingAfter: null, listed: 0, inserted: 0, duplicates: 0, done: false };
  const progress = (): BackfillProgress => ({
    phase,
    resource,
    listed: cursor.listed,
    inserted: cursor.inserted,
    duplicates: cursor.duplicates,
    done: cursor.done,
    resumedFrom: saved?.startingAfter ?? null,
  });
  if (cursor.done || options.signal?.aborted) return progress();
  // Backfill and replay read Stripe last: live sync, reconciliation and users' actions go before them.
  const pages = listPages((after) => withStripePriority('backfill', () => fetch(after)), {
    startingAfter: cursor.startingAfter ?? undefined,
    rateLimit: options.rateLimit,
    sleep: options.sleep,
  });
  for await (const page of pages) {
    for (const item of page.data as StripeObject[]) {
      if (await store.insertEvent(toEvent(item))) cursor.inserted += 1;
      else cursor.duplicates += 1;
      cursor.listed += 1;
    }
    const last = page.data.at(-1);
    if (last) cursor.startingAfter = last.id;
    cursor.done = !page.has_more || !last;
    await store.setCursor(cursorName, JSON.stringify(cursor));
    options.notify?.();
    options.onProgress?.(progress());
    if (options.signal?.aborted) break;
  }
  return progress();
}

function requestOptions(account: string | null): Stripe.RequestOptions {
  return account ? { stripeAccount: account } : {};
}

/** Lists each resource's objects created since `since` and inserts one event per object. */
export async function runBackfill(options: BackfillOptions): Promise<RunSummary> {
  const names = options.resources ?? Object.keys(BACKFILL_RESOURCES);
  const unknown = names.filter((name) => !BACKFILL_RESOURCES[name]);
  if (unknown.length)
    throw new BackfillError(
      `unknown resource ${unknown.join(', ')}; choose from ${Object.keys(BACKFILL_RESOURCES).join(', ')}`,
      null,
    );
  const account = options.account ?? null;
  const since = unix(options.since);
  const now = options.now ?? Date.now;
  const handles = options.handles ?? (() => true);
  const summary: RunSummary = { progress: [], complete: false };
  for (const name of names) {
    if (options.signal?.aborted) break;
    const spec = BACKFILL_RESOURCES[name];
    const params = { created: { gte: since }, limit: 100 };
    const progress = await walk(
      options,
      'backfill',
      name,
      `backfill:${account ?? ''}:${name}:${since}`,
      (startingAfter) =>
        spec.list(
          options.stripe,
          startingAfter ? { ...params, starting_after: startingAfter } : params,
          requestOptions(account),
        ),
      (object) => {
        const type = spec.eventType(object);
        // Listed now: the event is as new as the state it carries.
        const created = Math.floor(now() / 1000);
        const event = {
          id: `evt_bf_${since}_${object.id}`,
          object: 'event',
          api_version: null,
          created,
          livemode: object.livemode === true,
          pending_webhooks: 0,
          request: { id: null, idempotency_key: null },
          type,
          data: { object },
          ...(account ? { account } : {}),
        };
        return {
          source: 'stripe',
          account: account ?? '',
          eventId: event.id,
          type,
          objectId: orderingObjectOf(object),
          eventCreatedMs: created * 1000,
          payload: JSON.stringify(event),
          status: handles(type) ? 'pending' : 'ignored',
          receivedAtMs: now(),
        };
      },
    );
    summary.progress.push(progress);
  }
  summary.complete = summary.progress.length === names.length && summary.progress.every((p) => p.done);
  return summary;
}

/** Replays `GET /v1/events` since `since` (at most 30 days back) into the inbox under the events' own ids. */
export async function runReplay(options: ReplayOptions): Promise<RunSummary> {
  const now = options.now ?? Date.now;
  const oldest = Math.floor(now() / 1000) - EVENTS_RETENTION_DAYS * 24 * 60 * 60;
  const since = unix(options.since);
  if (since < oldest)
    throw new BackfillError(
      `Stripe keeps events for ${EVENTS_RETENTION_DAYS} days: --since must be after ${new Date(oldest * 1000).toISOString()}; use backfill for older history`,
      null,
    );
  const types = options.types ?? [];
  if (types.length > 20) throw new BackfillError('Stripe filters events by at most 20 types at once', null);
  const account = options.account ?? null;
  const handles = options.handles ?? (() => true);
  const params: ListParams = { created: { gte: since }, limit: 100, ...(types.length ? { types } : {}) };
  const progress = await walk(
    options,
    'replay',
    'events',
    `replay:${account ?? ''}:${since}:${[...types].sort().join(',')}`,
    (startingAfter) =>
      asPage(
        options.stripe.events.list(
          (startingAfter ? { ...params, starting_after: startingAfter } : params) as Stripe.EventListParams,
          requestOptions(account),
        ),
      ),
    (item) => {
      const event = item as unknown as Stripe.Event & { account?: string };
      const data = event.data?.object as Parameters<typeof orderingObjectOf>[0];
      return {
        source: 'stripe',
        account: event.account ?? account ?? '',
        eventId: event.id,
        type: event.type,
        objectId: orderingObjectOf(data),
        eventCreatedMs: event.created * 1000,
        payload: JSON.stringify(event),
        status: handles(event.type) ? 'pending' : 'ignored',
        receivedAtMs: now(),
      };
    },
  );
  return { progress: [progress], complete: progress.done };
}
