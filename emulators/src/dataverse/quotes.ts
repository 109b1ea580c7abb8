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
 */
import { DataverseHttpError, badRequest } from './errors';
import type { DataverseEngine, WriteScope } from './engine';
import type { TableMeta } from './metadata';
import { parseKeyPredicate } from './odata';
import type { RowRecord } from './store';

const QUOTE = 'quote';
const STATE = { draft: 0, active: 1, won: 2, closed: 3 } as const;
/** The Won state's one status reason. */
const WON_STATUS = 4;
const STATE_NAMES = ['Draft', 'Active', 'Won', 'Closed'];

/** The platform's answer to an update (or create) that would set a quote to Won without WinQuote. */
export function refuseWinByWrite(
  meta: TableMeta,
  values: Record<string, unknown>,
  before: RowRecord | undefined,
): void {
  if (meta.logicalName !== QUOTE || values.statecode !== STATE.won) return;
  if (before && before.values.statecode === STATE.won) return;
  throw badRequest(
    'A quote cannot be set to Won by creating or updating it (SetState): close it with the WinQuote action.',
    '0x80040203',
  );
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
