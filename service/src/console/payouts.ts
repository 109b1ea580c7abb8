/**
 * `GET /console/api/payouts` and `/:id`: the payouts and their journals as the reconciliation wrote them in
 * Dataverse (stc_payout, stc_journalentry, stc_journalline), newest first. A payout's status is its journal's:
 * balanced → reconciled, mismatch → mismatched, failed, reversed, not reconcilable; a payout without a journal
 * yet is pending (failed when Stripe says the payout failed).
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { JournalEntry, JournalLine, JournalStatus, Payout, PayoutStatus } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../dataverse/types';
import { majorToMinor } from '../mapping';
import type { JournalLineDetail, PayoutDetail, PayoutPage, PayoutSummary } from './contract';
import { dynamicsUrl, limitParam, param } from './events';
import { apiError } from './session';

const P = Payout.col;
const E = JournalEntry.col;
const L = JournalLine.col;

type PayoutStatusName = PayoutSummary['status'];
const STATUSES: readonly PayoutStatusName[] = [
  'reconciled',
  'mismatched',
  'pending',
  'not_reconcilable',
  'failed',
  'reversed',
];

const JOURNAL_STATUS: Record<number, PayoutStatusName> = {
  [JournalStatus.balanced]: 'reconciled',
  [JournalStatus.mismatch]: 'mismatched',
  [JournalStatus.failed]: 'failed',
  [JournalStatus.reversed]: 'reversed',
  [JournalStatus.not_reconcilable]: 'not_reconcilable',
};

const PAYOUT_SELECT = [
  Payout.primaryId,
  P.stripeId,
  P.stripeAccount,
  P.currency,
  P.amount,
  P.arrivalDate,
  P.status,
  P.failureMessage,
  P.createdOn,
];
const ENTRY_SELECT = [
  JournalEntry.primaryId,
  E.stripePayoutId,
  E.status,
  E.statusNote,
  E.difference,
  E.currency,
];

/** Minor units of a major-unit amount read from Dataverse; null when absent or unreadable. */
function minor(value: unknown, currency: string): number | null {
  if (value === null || value === undefined || value === '' || !currency) return null;
  try {
    return Number(majorToMinor(value as number | string, currency));
  } catch {
    return null;
  }
}

const odataString = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** The page position: the last payout's row creation time and Stripe id (ties broken by the id). */
interface Cursor {
  createdOn: string;
  payoutId: string;
}
const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decodeCursor(ctx: Koa.Context): Cursor | undefined {
  const text = param(ctx, 'cursor');
  if (text === undefined) return undefined;
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.createdOn === 'string' && typeof c.payoutId === 'string') return c;
  } catch {
    // answered below
  }
  ctx.throw(400, `cursor "${text}" is not one this API gave`);
}

function summary(payout: Row, entry: Row | undefined, dataverseUrl: string | undefined): PayoutSummary {
  const currency = String(payout[P.currency] ?? entry?.[E.currency] ?? '').toLowerCase();
  const journalStatus = entry ? JOURNAL_STATUS[Number(entry[E.status])] : undefined;
  const stripeFailed = Number(payout[P.status]) === PayoutStatus.failed;
  const status: PayoutStatusName = journalStatus ?? (stripeFailed ? 'failed' : 'pending');
  const arrival = payout[P.arrivalDate];
  const arrivalMs = typeof arrival === 'string' ? Date.parse(arrival) : NaN;
  const note = entry?.[E.statusNote] ?? (stripeFailed ? payout[P.failureMessage] : null);
  return {
    payoutId: String(payout[P.stripeId]),
    account: String(payout[P.stripeAccount] ?? ''),
    currency,
    amount: minor(payout[P.amount], currency) ?? 0,
    arrivalDateMs: Number.isFinite(arrivalMs) ? arrivalMs : null,
    status,
    differenceMinor: status === 'reconciled' ? 0 : entry ? minor(entry[E.difference], currency) : null,
    reason: typeof note === 'string' && note !== '' ? note : null,
    dynamicsUrl: dynamicsUrl(
      dataverseUrl,
      Payout.logicalName,
      String(payout[Payout.primaryId] ?? '') || null,
    ),
  };
}

/** The journal entries of these payouts, by Stripe payout id (one query). */
async function entriesOf(dataverse: DataverseClient, payoutIds: string[]): Promise<Map<string, Row>> {
  if (payoutIds.length === 0) return new Map();
  const values = payoutIds.map(odataString).join(',');
  const rows = await dataverse.retrieveMultiple(JournalEntry.entitySetName, {
    select: ENTRY_SELECT,
    filter: `Microsoft.Dynamics.CRM.In(PropertyName='${E.stripePayoutId}',PropertyValues=[${values}])`,
  });
  return new Map(rows.map((row) => [String(row[E.stripePayoutId]), row]));
}

const BATCH = 100;

/** Pages of payouts newest first, each with its journal entry, from `after` on, until `limit` match `status`. */
async function listPayouts(
  dataverse: DataverseClient,
  options: { status?: PayoutStatusName; after?: Cursor; limit: number; dataverseUrl?: string },
): Promise<PayoutPage> {
  const found: Array<{ payout: PayoutSummary; cursor: Cursor }> = [];
  let after = options.after;
  for (;;) {
    const filter = after
      ? `(${P.createdOn} lt ${after.createdOn} or (${P.createdOn} eq ${after.createdOn} and ${P.stripeId} lt ${odataString(after.payoutId)}))`
      : undefined;
    const rows = await dataverse.retrieveMultiple(Payout.entitySetName, {
      select: PAYOUT_SELECT,
      filter,
      orderBy: [`${P.createdOn} desc`, `${P.stripeId} desc`],
      top: BATCH,
    });
    const entries = await entriesOf(
      dataverse,
      rows.map((row) => String(row[P.stripeId])),
    );
    for (const row of rows) {
      const payout = summary(row, entries.get(String(row[P.stripeId])), options.dataverseUrl);
      const cursor = { createdOn: String(row[P.createdOn]), payoutId: payout.payoutId };
      after = cursor;
      if (!options.status || payout.status === options.status) found.push({ payout, cursor });
      if (found.length > options.limit) break;
    }
    if (found.length > options.limit || rows.length < BATCH) break;
  }
  const page = found.slice(0, options.limit);
  return {
    payouts: page.map((f) => f.payout),
    nextCursor: found.length > options.limit ? encodeCursor(page[page.length - 1].cursor) : null,
  };
}

async function payoutDetail(
  dataverse: DataverseClient,
  payoutId: string,
  dataverseUrl: string | undefined,
): Promise<PayoutDetail | null> {
  const payout = await dataverse.retrieveByKey(
    Payout.entitySetName,
    { [P.stripeId]: payoutId },
    { select: PAYOUT_SELECT },
  );
  if (!payout) return null;
  const entry = (await entriesOf(dataverse, [payoutId])).get(payoutId);
  const base = summary(payout, entry, dataverseUrl);
  if (!entry) return { ...base, lines: [] };
  const rows = await dataverse.retrieveMultiple(JournalLine.entitySetName, {
    select: [L.lineNumber, L.gLAccount, L.description, L.debit, L.credit, L.currency, L.category],
    filter: `${JournalLine.lookup.journalentryid.value} eq ${String(entry[JournalEntry.primaryId])}`,
    orderBy: [`${L.lineNumber} asc`],
  });
  const lines: JournalLineDetail[] = rows.map((row) => {
    const currency = String(row[L.currency] ?? base.currency).toLowerCase();
    return {
      account: String(row[L.gLAccount] ?? ''),
      description: String(row[L.description] ?? ''),
      debitMinor: minor(row[L.debit], currency) ?? 0,
      creditMinor: minor(row[L.credit], currency) ?? 0,
      currency,
      group: typeof row[L.category] === 'string' && row[L.category] !== '' ? String(row[L.category]) : null,
    };
  });
  return { ...base, lines };
}

export function registerPayouts(
  router: Router,
  options: { dataverse?: DataverseClient; dataverseUrl?: string },
): void {
  const { dataverse, dataverseUrl } = options;
  const unavailable = (ctx: Koa.Context) =>
    apiError(ctx, 503, 'dataverse_unavailable', 'This service has no Dataverse client for the console');

  router.get('/console/api/payouts', async (ctx) => {
    if (!dataverse) return unavailable(ctx);
    const status = param(ctx, 'status');
    if (status !== undefined && !STATUSES.includes(status as PayoutStatusName)) {
      apiError(ctx, 400, 'bad_request', `status must be one of ${STATUSES.join(', ')}`);
      return;
    }
    const body: PayoutPage = await listPayouts(dataverse, {
      status: status as PayoutStatusName | undefined,
      after: decodeCursor(ctx),
      limit: limitParam(ctx),
      dataverseUrl,
    });
    ctx.body = body;
  });

  router.get('/console/api/payouts/:id', async (ctx) => {
    if (!dataverse) return unavailable(ctx);
    const detail = await payoutDetail(dataverse, String(ctx.params.id), dataverseUrl);
    if (!detail) {
      apiError(ctx, 404, 'not_found', `No payout ${ctx.params.id} in Dataverse`);
      return;
    }
    ctx.body = detail;
  });
}
