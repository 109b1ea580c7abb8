/**
 * `GET /console/api/events` (search, newest first, keyset-paged) and `GET /console/api/events/:id` (the
 * lineage of one event: what came in, each attempt, every Dataverse request with a link to the row in
 * Dynamics 365, the event and its object in the Stripe dashboard).
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import type { AttemptRecord, InboxEvent, StoredDataverseWrite, Store } from '../store';
import type {
  AttemptDetail,
  DataverseWrite,
  EventPage,
  EventStatus,
  EventSummary,
  Lineage,
} from './contract';
import { apiError } from './session';

const STATUSES: readonly EventStatus[] = [
  'pending',
  'processing',
  'applied',
  'skipped',
  'superseded',
  'ignored',
  'dead',
  'discarded',
];

export function toEventSummary(e: InboxEvent): EventSummary {
  return {
    id: e.id,
    source: e.source,
    account: e.account,
    eventId: e.eventId,
    type: e.type,
    objectId: e.objectId,
    status: e.status,
    attempts: e.attempts,
    eventCreatedMs: e.eventCreatedMs,
    receivedAtMs: e.receivedAtMs,
    updatedAtMs: e.updatedAtMs,
    lastError: e.lastError,
    lastErrorCode: e.lastErrorCode,
  };
}

/** A query parameter as one trimmed string, or undefined when absent or empty. */
export function param(ctx: Koa.Context, name: string): string | undefined {
  const value = ctx.query[name];
  const one = Array.isArray(value) ? value[0] : value;
  const trimmed = one?.trim();
  return trimmed ? trimmed : undefined;
}

/** A numeric query parameter; a value that is not a whole number answers 400 (thrown). */
export function numberParam(ctx: Koa.Context, name: string): number | undefined {
  const text = param(ctx, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) ctx.throw(400, `${name} must be a whole number, not "${text}"`);
  return value;
}

/** `limit` within 1..max (default `fallback`). */
export function limitParam(ctx: Koa.Context, fallback = 50, max = 200): number {
  return Math.min(Math.max(numberParam(ctx, 'limit') ?? fallback, 1), max);
}

/** `cursor`: the id of the last item of the previous page. */
export function cursorParam(ctx: Koa.Context): number | undefined {
  const cursor = param(ctx, 'cursor');
  if (cursor === undefined) return undefined;
  const id = Number(cursor);
  if (!Number.isSafeInteger(id) || id <= 0) ctx.throw(400, `cursor "${cursor}" is not one this API gave`);
  return id;
}

/** The Dynamics 365 web client's address of a row: `${url}/main.aspx?etn=<table>&id=<rowId>&pagetype=entityrecord`. */
export function dynamicsUrl(
  dataverseUrl: string | undefined,
  table: string,
  rowId: string | null,
): string | null {
  if (!dataverseUrl || !rowId) return null;
  const root = dataverseUrl.replace(/\/api\/data\/v[\d.]+\/?$/, '').replace(/\/+$/, '');
  return `${root}/main.aspx?etn=${encodeURIComponent(table)}&id=${encodeURIComponent(rowId)}&pagetype=entityrecord`;
}

/** Where each Stripe object type is in the dashboard. */
const DASHBOARD_PATHS: Record<string, string> = {
  payment_intent: 'payments',
  charge: 'payments',
  refund: 'refunds',
  dispute: 'disputes',
  customer: 'customers',
  subscription: 'subscriptions',
  invoice: 'invoices',
  credit_note: 'credit-notes',
  payout: 'payouts',
  product: 'products',
  price: 'prices',
  coupon: 'coupons',
  'checkout.session': 'checkout/sessions',
  payment_link: 'payment-links',
  balance_transaction: 'balance/transactions',
  'billing.meter': 'billing/meters',
};

/** `https://dashboard.stripe.com/[<account>/][test/]<path>`. */
export function stripeDashboardUrl(path: string, options: { liveMode: boolean; account: string }): string {
  const account = options.account ? `${options.account}/` : '';
  return `https://dashboard.stripe.com/${account}${options.liveMode ? '' : 'test/'}${path}`;
}

function stripeUrls(event: InboxEvent, payload: unknown): Lineage['stripeUrls'] {
  if (event.source !== 'stripe') return { event: null, object: null };
  const body = (payload ?? {}) as {
    livemode?: unknown;
    data?: { object?: { object?: unknown; id?: unknown } };
    related_object?: { type?: unknown; id?: unknown };
  };
  const options = { liveMode: body.livemode === true, account: event.account };
  const type = body.data?.object?.object ?? body.related_object?.type;
  const id = body.data?.object?.id ?? body.related_object?.id ?? event.objectId;
  const path = typeof type === 'string' ? DASHBOARD_PATHS[type] : undefined;
  return {
    event: stripeDashboardUrl(`events/${event.eventId}`, options),
    object:
      path && typeof id === 'string' && id !== ''
        ? stripeDashboardUrl(`${path}/${encodeURIComponent(id)}`, options)
        : null,
  };
}

const toAttemptDetail = (a: AttemptRecord): AttemptDetail => ({
  attempt: a.attempt,
  worker: a.worker,
  startedAtMs: a.startedAtMs,
  finishedAtMs: a.finishedAtMs,
  outcome: a.outcome,
  error: a.error,
  errorCode: a.errorCode,
  mappingVersion: a.mappingVersion ?? null,
});

function toWrite(
  w: StoredDataverseWrite,
  attempts: AttemptRecord[],
  dataverseUrl: string | undefined,
): DataverseWrite {
  // The version of the mapping set the attempt ran under when the store kept one; else the file's version.
  // A dead letter retried starts its attempts again at 1: the attempt is the one of that number that was
  // running when the request was made.
  const numbered = attempts.filter((a) => a.attempt === w.attempt);
  const during = numbered.find((a) => a.startedAtMs <= w.atMs && w.atMs <= a.finishedAtMs) ?? numbered.at(-1);
  const setVersion = during?.mappingVersion ?? null;
  return {
    attempt: w.attempt,
    mapping: w.mapping,
    mappingVersion: w.mapping === null ? null : (setVersion ?? w.mappingVersion),
    table: w.table,
    rowId: w.rowId,
    operation: w.operation,
    method: w.method,
    path: w.path,
    status: w.status,
    durationMs: w.durationMs,
    error: w.error,
    dynamicsUrl: dynamicsUrl(dataverseUrl, w.table, w.rowId),
  };
}

async function supersededBy(
  store: Store,
  event: InboxEvent,
  attempts: AttemptRecord[],
): Promise<Lineage['supersededBy']> {
  if (event.status !== 'superseded') return null;
  // Coalesced at claim: the attempt names the event. Otherwise the object's last applied event replaced it.
  const noted = attempts
    .map((a) => /superseded by (\S+)/.exec(a.error ?? '')?.[1])
    .filter((id): id is string => id !== undefined)
    .pop();
  const eventId = noted ?? (await store.getObjectStamp(event.source, event.account, event.objectId))?.eventId;
  if (!eventId) return null;
  const replacement = await store.findEvent(event.source, event.account, eventId);
  return { eventId, id: replacement?.id ?? null };
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function registerEvents(router: Router, options: { store: Store; dataverseUrl?: string }): void {
  const { store, dataverseUrl } = options;

  router.get('/console/api/events', async (ctx) => {
    const status = param(ctx, 'outcome') ?? param(ctx, 'status');
    if (status !== undefined && !STATUSES.includes(status as EventStatus)) {
      apiError(ctx, 400, 'bad_request', `outcome must be one of ${STATUSES.join(', ')}`);
      return;
    }
    const limit = limitParam(ctx);
    const events = await store.searchEvents({
      q: param(ctx, 'q'),
      type: param(ctx, 'type'),
      status: status as EventStatus | undefined,
      fromMs: numberParam(ctx, 'fromMs'),
      toMs: numberParam(ctx, 'toMs'),
      beforeId: cursorParam(ctx),
      limit: limit + 1,
    });
    const page = events.slice(0, limit);
    const body: EventPage = {
      events: page.map(toEventSummary),
      nextCursor: events.length > limit ? String(page[page.length - 1].id) : null,
    };
    ctx.body = body;
  });

  router.get('/console/api/events/:id', async (ctx) => {
    const id = Number(ctx.params.id);
    const event = Number.isSafeInteger(id) && id > 0 ? await store.getEvent(id) : null;
    if (!event) {
      apiError(ctx, 404, 'not_found', `No event ${ctx.params.id} in the inbox`);
      return;
    }
    const [attempts, writes] = await Promise.all([store.eventAttempts(id), store.eventWrites(id)]);
    const payload = parsePayload(event.payload);
    const body: Lineage = {
      event: toEventSummary(event),
      payload,
      signature: {
        scheme: event.source === 'stripe' ? 'stripe-signature' : 'dataverse-key',
        verifiedAtMs: event.receivedAtMs,
      },
      attempts: attempts.map(toAttemptDetail),
      writes: writes.map((w) => toWrite(w, attempts, dataverseUrl)),
      stripeUrls: stripeUrls(event, payload),
      supersededBy: await supersededBy(store, event, attempts),
    };
    ctx.body = body;
  });
}
