/**
 * Winning a quote as Dynamics 365 Sales does. A quote is edited as a Draft (statecode 0), offered while Active
 * (1), and closed as Won (2) or Closed (3: lost, canceled, revised). It is won only by the unbound `WinQuote`
 * action, whose parameters are `QuoteClose` (the quote close activity, naming its quote by
 * `quoteid@odata.bind`) and `Status` (a status reason of the Won state, 4, or -1 for the state's default):
 *
 *   POST WinQuote  { "QuoteClose": { "subject": "…", "quoteid@odata.bind": "/quotes(<id>)" }, "Status": 4 }
 *
 * Only an Active quote can be won; a Draft, Won or Closed one is refused. An update that sets statecode to Won
 * (SetState through PATCH) is refused and names the action. The emulator keeps no quote close activity: the
 * quote's state, its status reason and its modifiedon change, and the change reaches webhooks as an Update.
 *
 * Only a Draft quote can be edited: an Active, Won or Closed quote is read-only, so an update that changes
 * anything but its state is refused as Dataverse refuses it ("The entity cannot be updated because it is
 * read-only.", 0x8004022E), and so is a change to its lines. Its state still moves by update (Draft → Active,
 * back to Draft to revise it), except to Won (WinQuote) and, from Active, to Closed (CloseQuote).
 */
import { DataverseHttpError, badRequest } from './errors';
import type { DataverseEngine, WriteScope } from './engine';
import type { TableMeta } from './metadata';
import { parseKeyPredicate } from './odata';
import type { RowRecord } from './store';

const QUOTE = 'quote';
const QUOTE_LINE = 'quotedetail';
const STATE = { draft: 0, active: 1, won: 2, closed: 3 } as const;
/** The Won state's one status reason. */
const WON_STATUS = 4;
const STATE_NAMES = ['Draft', 'Active', 'Won', 'Closed'];

const readOnly = () =>
  new DataverseHttpError(400, '0x8004022E', 'The entity cannot be updated because it is read-only.');

/** Columns of a state change, which moves a read-only quote. */
const STATE_COLUMNS = new Set(['statecode', 'statuscode']);

/**
 * The platform's answer to a write of a quote (or of a quote's line) that Dynamics 365 Sales refuses: setting a
 * quote Won without WinQuote, closing an Active quote without CloseQuote, editing a quote that is not a Draft.
 */
export function refuseQuoteWrite(
  engine: DataverseEngine,
  meta: TableMeta,
  values: Record<string, unknown>,
  before: RowRecord | undefined,
): void {
  if (meta.logicalName === QUOTE_LINE) {
    const ref = (values.quoteid ?? before?.values.quoteid) as { id?: string } | null | undefined;
    const quote = ref?.id ? engine.store.get(QUOTE, ref.id) : undefined;
    if (quote && quote.values.statecode !== STATE.draft) throw readOnly();
    return;
  }
  if (meta.logicalName !== QUOTE) return;
  const state = before?.values.statecode;
  if (values.statecode === STATE.won && state !== STATE.won)
    throw badRequest(
      'A quote cannot be set to Won by creating or updating it (SetState): close it with the WinQuote action.',
      '0x80040203',
    );
  if (values.statecode === STATE.closed && state === STATE.active)
    throw badRequest(
      'An Active quote cannot be closed by updating it (SetState): close it with the CloseQuote action.',
      '0x80040203',
    );
  if (!before || state === STATE.draft || state === undefined) return;
  if (Object.keys(values).some((column) => !STATE_COLUMNS.has(column))) throw readOnly();
}

const parameterMissing = (name: string) =>
  new DataverseHttpError(400, '0x80048d19', `The parameter '${name}' of WinQuote is missing or not valid.`);

/** The quote the QuoteClose parameter names by `quoteid@odata.bind` (`/quotes(<id>)` or a full URL). */
function quoteOf(
  engine: DataverseEngine,
  close: Record<string, unknown>,
): { meta: TableMeta; row: RowRecord } {
  const meta = engine.model.byLogical.get(QUOTE);
  if (!meta) throw badRequest("The environment has no 'quote' table: WinQuote needs Dynamics 365 Sales.");
  const bind = close['quoteid@odata.bind'];
  if (typeof bind !== 'string') throw parameterMissing('QuoteClose.quoteid@odata.bind');
  const path = bind
    .replace(/^https?:\/\/[^/]+/, '')
    .replace(/^\/?api\/data\/v9\.\d\//, '')
    .replace(/^\//, '');
  const m = /^([A-Za-z_]\w*)\((.*)\)$/.exec(path);
  if (!m || m[1] !== meta.entitySetName)
    throw badRequest(`The value '${bind}' does not name a quote for QuoteClose.quoteid.`, '0x80048d19');
  const predicate = parseKeyPredicate(m[2]);
  const id = engine.resolvePredicate(meta, predicate);
  const row = id ? engine.store.get(QUOTE, id) : undefined;
  if (!row) throw engine.notFound(meta, predicate);
  return { meta, row };
}

/** WinQuote: the Active quote the QuoteClose names becomes Won with the given status reason. */
export function winQuote(engine: DataverseEngine, body: unknown, scope: WriteScope): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('The request body must be a JSON object.', '0x80048d19');
  const { QuoteClose: close, Status: status } = body as Record<string, unknown>;
  if (typeof close !== 'object' || close === null || Array.isArray(close))
    throw parameterMissing('QuoteClose');
  if (typeof status !== 'number' || !Number.isInteger(status)) throw parameterMissing('Status');
  const { meta, row } = quoteOf(engine, close as Record<string, unknown>);
  const reason = status === -1 ? WON_STATUS : status;
  if (reason !== WON_STATUS)
    throw badRequest(`${status} is not a status reason of a won quote (${WON_STATUS}, or -1).`, '0x80040203');
  const state = row.values.statecode;
  if (state !== STATE.active) {
    const name = typeof state === 'number' ? (STATE_NAMES[state] ?? String(state)) : 'unknown';
    throw badRequest(
      `The quote cannot be won: it is ${name}, and only an Active quote can be won.`,
      '0x80040203',
    );
  }
  engine.update(meta, row, { statecode: STATE.won, statuscode: reason }, scope, { winQuote: true });
}
