/**
 * Payout journals as reconciliation wrote them to Dataverse (stc_journalentry and its stc_journalline rows),
 * written as the import file of Dynamics 365 Finance's General journal entity or of Business Central's
 * general journal lines, so the file holds what finance sees in Dynamics 365. Amounts are read back to exact
 * minor units and written in major units by the currency's exponent; a payout whose debits do not equal its
 * credits is refused before anything is written. A period takes the lines posted in it, each on its own
 * posting date, so a failure or reversal, or a reversal's failure or cancel, lands in the period it happened
 * in and an exported period does not change when it is exported again. docs/JOURNAL-EXPORT.md describes
 * every column.
 */
import { stringify } from 'csv-stringify/sync';
import { JournalEntry, JournalLine, JournalStatus } from '@stc/solution/tables';
import type { DataverseClient, Row } from '../dataverse/types';
import { majorToMinor, minorToMajorString, MoneyError } from '../mapping';
import type { ReconciliationConfig } from './config';

export const JOURNAL_EXPORT_FORMATS = ['finance', 'business-central'] as const;
export type JournalExportFormat = (typeof JOURNAL_EXPORT_FORMATS)[number];

export interface ExportLine {
  number: number;
  /**
   * The line's posting date, `YYYY-MM-DD` (`stc_postingdate`; a line written before that column existed
   * takes its entry's date).
   */
  date: string;
  account: string;
  category: string;
  description: string;
  /** Minor units. */
  debit: bigint;
  credit: bigint;
}

/**
 * One payout's journal entry and its lines selected, as read from Dataverse: all of them for one payout, those
 * posted in the period for a period. The totals are over the lines selected.
 */
export interface ExportJournal {
  payoutId: string;
  /** The entry's date (the payout's arrival date), `YYYY-MM-DD`. */
  date: string;
  /** Lower case, as Stripe and the entry spell it. */
  currency: string;
  lines: ExportLine[];
  totalDebit: bigint;
  totalCredit: bigint;
  /**
   * The entry is marked Mismatch: the payout's own lines do not balance. A failure's or reversal's pair of it
   * balances on its own, yet posting it without the payout's lines would leave the clearing account wrong.
   */
  mismatched: boolean;
  /** The connected account the payout is of; '' for the platform's own. */
  account: string;
  /** Live or test mode, as the entry says (null on entries written before it said). */
  livemode: boolean | null;
}

/**
 * One payout (every line of its entry), or every journal line posted from `from` to `to` (both `YYYY-MM-DD`,
 * inclusive), with its entry: of the platform's own payouts, or of the connected `account`'s, in `livemode`
 * when given (a period's file is one company's ledger: another account's payouts, or test money, are not).
 */
export type JournalSelection =
  { payout: string } | { from: string; to: string; account?: string; livemode?: boolean };

export class JournalExportError extends Error {
  override name = 'JournalExportError';
}

/** Debits and credits differ in at least one payout: nothing is written. */
export class UnbalancedJournalError extends JournalExportError {
  override name = 'UnbalancedJournalError';
  constructor(readonly unbalanced: ExportJournal[]) {
    super(
      `${describeUnbalanced(unbalanced)}; nothing was written. Reconcile the payout again once its ` +
        `transactions sum to it (cli reconcile --payout …), or pass --skip-unbalanced to export the others.`,
    );
  }
}

/** `po_1 does not balance: debits 10.07 USD, credits 10.00 USD, difference 0.07 USD` (and the others). */
export function describeUnbalanced(journals: ExportJournal[]): string {
  const one = (j: ExportJournal) =>
    j.totalDebit === j.totalCredit
      ? `${j.payoutId} (its entry is marked Mismatch: the payout's own lines do not balance)`
      : `${j.payoutId} (debits ${money(j.totalDebit, j.currency)}, credits ${money(j.totalCredit, j.currency)}, ` +
        `difference ${money(j.totalDebit - j.totalCredit, j.currency)})`;
  return journals.length === 1
    ? `payout ${one(journals[0])} does not balance`
    : `${journals.length} payouts do not balance: ${journals.map(one).join(', ')}`;
}

const money = (minor: bigint, currency: string) => {
  try {
    return `${minorToMajorString(minor, currency)} ${currency.toUpperCase()}`;
  } catch (error) {
    if (!(error instanceof MoneyError)) throw error;
    return `${minor} minor units of a currency Dataverse holds as "${currency}" (${error.message})`;
  }
};

const E = JournalEntry.col;
const L = JournalLine.col;

const ENTRY_SELECT = [
  JournalEntry.primaryId,
  E.stripePayoutId,
  E.date,
  E.currency,
  E.status,
  E.stripeAccount,
  E.liveMode,
];
const LINE_SELECT = [
  L.lineNumber,
  L.gLAccount,
  L.category,
  L.description,
  L.debit,
  L.credit,
  L.postingDate,
  JournalLine.lookup.journalentryid.value,
];

/**
 * The journals selected, each with its lines in line-number order. For a period: the lines posted in it, with
 * their entries, the journals in the order of their first line's date, then payout id.
 */
export async function readJournals(
  dataverse: DataverseClient,
  selection: JournalSelection,
): Promise<ExportJournal[]> {
  if ('payout' in selection) {
    const entry = await dataverse.retrieveByKey(
      JournalEntry.entitySetName,
      { [E.stripePayoutId]: selection.payout },
      { select: ENTRY_SELECT },
    );
    if (!entry)
      throw new JournalExportError(
        `No journal entry for payout ${selection.payout} in Dataverse: reconcile it first (cli reconcile --payout ${selection.payout})`,
      );
    return [journalOf(entry, await linesOf(dataverse, entry))];
  }
  const { from, to } = selection;
  // Every line posted in the period, whichever entry it belongs to: a payout's own lines in the period it
  // arrived in, a failure's or reversal's pair (or the lines undoing a reversal's) in the period that
  // happened in.
  const posted = new Map<string, Row[]>();
  const rows = await dataverse.retrieveMultiple(JournalLine.entitySetName, {
    select: LINE_SELECT,
    filter: `${L.postingDate} ge ${from} and ${L.postingDate} le ${to}`,
  });
  for (const row of rows) {
    const id = String(row[JournalLine.lookup.journalentryid.value]);
    posted.set(id, [...(posted.get(id) ?? []), row]);
  }
  // Entries dated in the period: their lines without a posting date (written before the column existed) post
  // on the entry's date. One without any line in the period (a manual payout) comes too, empty.
  const dated = await dataverse.retrieveMultiple(JournalEntry.entitySetName, {
    select: ENTRY_SELECT,
    filter: `${E.date} ge ${from} and ${E.date} le ${to}`,
  });
  const journals: ExportJournal[] = [];
  for (const entry of dated) {
    const undated = await linesOf(dataverse, entry, `${L.postingDate} eq null`);
    journals.push(journalOf(entry, [...(posted.get(entryId(entry)) ?? []), ...undated]));
    posted.delete(entryId(entry));
  }
  // Entries dated before the period with lines posted in it: a payout that arrived earlier and failed or was
  // reversed in the period, or whose reversal failed or was canceled in it.
  for (const [id, lines] of posted) {
    const entry = await dataverse.retrieve(JournalEntry.entitySetName, id, { select: ENTRY_SELECT });
    if (entry) journals.push(journalOf(entry, lines));
  }
  const first = (journal: ExportJournal) => journal.lines[0]?.date ?? journal.date;
  return journals.sort(
    (a, b) =>
      first(a).localeCompare(first(b)) || (a.payoutId < b.payoutId ? -1 : a.payoutId > b.payoutId ? 1 : 0),
  );
}

const entryId = (entry: Row) => String(entry[JournalEntry.primaryId]);

/** The entry's lines, those matching `filter` when one is given. */
async function linesOf(dataverse: DataverseClient, entry: Row, filter?: string): Promise<Row[]> {
  const ofEntry = `${JournalLine.lookup.journalentryid.value} eq ${entryId(entry)}`;
  return dataverse.retrieveMultiple(JournalLine.entitySetName, {
    select: LINE_SELECT,
    filter: filter ? `${ofEntry} and ${filter}` : ofEntry,
    orderBy: [`${L.lineNumber} asc`],
  });
}

/** The entry with the line rows given, read back to exact minor units, each with its posting date. */
function journalOf(entry: Row, rows: Row[]): ExportJournal {
  const payoutId = String(entry[E.stripePayoutId]);
  const currency = String(entry[E.currency] ?? '').toLowerCase();
  const date = String(entry[E.date] ?? '').slice(0, 10);
  const minor = (row: Row, column: string) => {
    const value = row[column];
    if (value === null || value === undefined) return 0n;
    try {
      return majorToMinor(value as number | string, currency);
    } catch (error) {
      if (!(error instanceof MoneyError)) throw error;
      throw new JournalExportError(
        `payout ${payoutId}, line ${String(row[L.lineNumber])}: ${column} ${error.message}`,
      );
    }
  };
  const lines = rows
    .map((row) => ({
      number: Number(row[L.lineNumber]),
      date: row[L.postingDate] ? String(row[L.postingDate]).slice(0, 10) : date,
      account: String(row[L.gLAccount] ?? ''),
      category: String(row[L.category] ?? ''),
      description: String(row[L.description] ?? row[L.category] ?? ''),
      debit: minor(row, L.debit),
      credit: minor(row, L.credit),
    }))
    .sort((a, b) => a.number - b.number);
  const livemode = entry[E.liveMode];
  return withLines(
    {
      payoutId,
      date,
      currency,
      lines,
      totalDebit: 0n,
      totalCredit: 0n,
      mismatched: entry[E.status] === JournalStatus.mismatch,
      account: typeof entry[E.stripeAccount] === 'string' ? String(entry[E.stripeAccount]) : '',
      livemode: typeof livemode === 'boolean' ? livemode : null,
    },
    lines,
  );
}

/** The journal with these lines and their totals. */
function withLines(journal: ExportJournal, lines: ExportLine[]): ExportJournal {
  return {
    ...journal,
    lines,
    totalDebit: lines.reduce((sum, line) => sum + line.debit, 0n),
    totalCredit: lines.reduce((sum, line) => sum + line.credit, 0n),
  };
}

/** The journals to write, the unbalanced ones, and those with no lines (nothing to post, e.g. manual payouts). */
export function sortJournals(journals: ExportJournal[]): {
  balanced: ExportJournal[];
  unbalanced: ExportJournal[];
  empty: ExportJournal[];
} {
  const empty = journals.filter((j) => j.lines.length === 0);
  const withLines = journals.filter((j) => j.lines.length > 0);
  const balances = (j: ExportJournal) => j.totalDebit === j.totalCredit && !j.mismatched;
  return {
    balanced: withLines.filter(balances),
    unbalanced: withLines.filter((j) => !balances(j)),
    empty,
  };
}

/** Business Central's Document No. is a Code[20]: a longer payout id keeps its last 20 characters. */
export function documentNumber(payoutId: string): string {
  return payoutId.length <= 20 ? payoutId : payoutId.slice(-20);
}

const clip = (text: string, length: number) => (text.length <= length ? text : text.slice(0, length));

export const FINANCE_COLUMNS = [
  'JOURNALBATCHNUMBER',
  'LINENUMBER',
  'JOURNALNAME',
  'DESCRIPTION',
  'VOUCHER',
  'TRANSDATE',
  'ACCOUNTTYPE',
  'ACCOUNTDISPLAYVALUE',
  'TEXT',
  'DEBITAMOUNT',
  'CREDITAMOUNT',
  'CURRENCYCODE',
] as const;

export const BUSINESS_CENTRAL_COLUMNS = [
  'Journal Template Name',
  'Journal Batch Name',
  'Line No.',
  'Account Type',
  'Account No.',
  'Posting Date',
  'Document Type',
  'Document No.',
  'External Document No.',
  'Description',
  'Currency Code',
  'Amount',
] as const;

/** The rows of Finance's General journal entity: one batch for the file, one voucher per payout. */
function financeRows(journals: ExportJournal[], config: ReconciliationConfig, title: string): string[][] {
  const settings = config.export.finance;
  const rows: string[][] = [];
  for (const journal of journals) {
    for (const line of journal.lines) {
      rows.push([
        settings.journalBatchNumber,
        String(rows.length + 1),
        settings.journalName,
        title,
        documentNumber(journal.payoutId),
        line.date,
        settings.accountType,
        // split and join: an account holding `$&` or `$'` is written as it is, not as a replacement pattern.
        settings.accountFormat.split('{account}').join(line.account),
        clip(`${journal.payoutId} ${line.description}`, 60),
        minorToMajorString(line.debit, journal.currency),
        minorToMajorString(line.credit, journal.currency),
        journal.currency.toUpperCase(),
      ]);
    }
  }
  return rows;
}

/** Business Central's Line No. is an Integer (32 bits). */
const BC_MAX_LINE_NO = 2_147_483_647;

/** The rows of Business Central's general journal: Amount signed, debit positive and credit negative. */
function businessCentralRows(journals: ExportJournal[], config: ReconciliationConfig): string[][] {
  const settings = config.export.businessCentral;
  const local = settings.localCurrency?.toLowerCase();
  const rows: string[][] = [];
  for (const journal of journals) {
    for (const line of journal.lines) {
      if (line.account.length > 20)
        throw new JournalExportError(
          `payout ${journal.payoutId}, line ${line.number}: account "${line.account}" is longer than the 20 characters of Business Central's Account No.`,
        );
      const lineNo = (rows.length + 1) * settings.lineNumberStep;
      if (lineNo > BC_MAX_LINE_NO)
        throw new JournalExportError(
          `${rows.length + 1} lines at a step of ${settings.lineNumberStep} pass Business Central's largest Line No. (${BC_MAX_LINE_NO}): export a shorter period, or lower export.businessCentral.lineNumberStep`,
        );
      rows.push([
        settings.journalTemplateName,
        settings.journalBatchName,
        String(lineNo),
        settings.accountType,
        line.account,
        line.date,
        '',
        documentNumber(journal.payoutId),
        journal.payoutId,
        clip(`${line.description} ${journal.payoutId}`, 100),
        journal.currency === local ? '' : journal.currency.toUpperCase(),
        minorToMajorString(line.debit - line.credit, journal.currency),
      ]);
    }
  }
  return rows;
}

/** The CSV file (RFC 4180: CRLF, fields quoted where they hold a comma, quote or line break). */
export function journalCsv(
  format: JournalExportFormat,
  journals: ExportJournal[],
  config: ReconciliationConfig,
  title: string,
): string {
  const [header, rows] =
    format === 'finance'
      ? [[...FINANCE_COLUMNS], financeRows(journals, config, title)]
      : [[...BUSINESS_CENTRAL_COLUMNS], businessCentralRows(journals, config)];
  // csv-stringify quotes a field holding the whole record delimiter (CRLF) but not a lone CR or LF, which an
  // import reads as the end of the record: any line break is quoted.
  return stringify([header, ...rows], { record_delimiter: 'windows', quoted_match: /[\r\n]/ });
}

export interface JournalExport {
  csv: string;
  /** Written to the file. */
  journals: ExportJournal[];
  /** Unbalanced and left out (only with `skipUnbalanced`). */
  skipped: ExportJournal[];
  /** Entries with no lines: nothing to post. */
  empty: ExportJournal[];
  /** Of a period: entries in it of another Stripe account or of the other mode, left out. */
  others: ExportJournal[];
  lines: number;
}

/**
 * Reads the selected journals and builds the file. Unbalanced journals throw UnbalancedJournalError, unless
 * `skipUnbalanced`: then they are left out and listed in `skipped`.
 */
export async function exportJournals(
  dataverse: DataverseClient,
  config: ReconciliationConfig,
  request: { selection: JournalSelection; format: JournalExportFormat; skipUnbalanced?: boolean },
): Promise<JournalExport> {
  const { selection } = request;
  const read = await readJournals(dataverse, selection);
  const inScope = (j: ExportJournal) =>
    'payout' in selection ||
    (j.account === (selection.account ?? '') &&
      (selection.livemode === undefined || j.livemode === null || j.livemode === selection.livemode));
  const { balanced, unbalanced, empty } = sortJournals(read.filter(inScope));
  if (unbalanced.length && !request.skipUnbalanced) throw new UnbalancedJournalError(unbalanced);
  const title =
    'payout' in selection
      ? `Stripe payout ${selection.payout}`
      : `Stripe payouts ${selection.from} to ${selection.to}`;
  return {
    csv: journalCsv(request.format, balanced, config, title),
    journals: balanced,
    skipped: unbalanced,
    empty,
    others: read.filter((j) => !inScope(j)),
    lines: balanced.reduce((sum, journal) => sum + journal.lines.length, 0),
  };
}
