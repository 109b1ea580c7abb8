/**
 * `cli journal export`: a payout's journal, or every payout journal of a period, as read from Dataverse,
 * written as the import file of Dynamics 365 Finance or Business Central (docs/JOURNAL-EXPORT.md).
 *   cli journal export --payout po_… --format finance --out payout.csv
 *   cli journal export --from 2026-01-01 --to 2026-01-31 --format business-central --out january.csv
 */
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { ConfigError, isConnectedAccountId, loadConfig } from '../config';
import type { DataverseClient } from '../dataverse/types';
import { createLogger } from '../observability/log';
import {
  loadReconciliationConfig,
  ReconciliationConfigError,
  type ReconciliationConfig,
} from '../reconciliation/config';
import {
  describeUnbalanced,
  exportJournals,
  JOURNAL_EXPORT_FORMATS,
  JournalExportError,
  UnbalancedJournalError,
  type ExportJournal,
  type JournalExportFormat,
  type JournalSelection,
} from '../reconciliation/export';
import { FLAG, HELP_OPTION, parseCommandLine, TEXT, USAGE_EXIT } from '../config/command-line';

export const JOURNAL_USAGE = `cli journal export --payout po_… | --from 2026-01-01 --to 2026-01-31 [--account acct_…] [--mode live|test]
    --format finance|business-central --out file.csv [--force] [--skip-unbalanced] [--accounts gl-accounts.yaml]`;

/** Exit code when a payout's debits and credits differ (as `reconcile` on a mismatch). */
export const UNBALANCED_EXIT = 4;

export interface JournalCliIo {
  env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
  /** For tests: a client already made. */
  dataverse?: DataverseClient;
}

const JOURNAL_OPTIONS = {
  payout: TEXT,
  from: TEXT,
  to: TEXT,
  format: TEXT,
  out: TEXT,
  force: FLAG,
  'skip-unbalanced': FLAG,
  accounts: TEXT,
  account: TEXT,
  mode: TEXT,
  ...HELP_OPTION,
} as const;

interface ExportRequest {
  selection: JournalSelection;
  format: JournalExportFormat;
  out: string;
  force: boolean;
  skipUnbalanced: boolean;
  accounts?: string;
}

/** The request, or a usage error written to `io.err` (undefined). */
function exportRequest(argv: string[], io: JournalCliIo): ExportRequest | 'help' | undefined {
  const parsed = parseCommandLine(argv, JOURNAL_OPTIONS, JOURNAL_USAGE, io);
  if (!parsed) return undefined;
  if (parsed.values.help) return 'help';
  const { payout, from, to, format, out, accounts, account, mode } = parsed.values;
  const usage = (problem: string) => {
    io.err(`${problem}\n${JOURNAL_USAGE}`);
    return undefined;
  };
  const [, command, extra] = parsed.positionals;
  if (command !== 'export' || extra !== undefined) return usage('Say what to do: journal export');
  if (!JOURNAL_EXPORT_FORMATS.includes(format as JournalExportFormat))
    return usage(`Give --format finance or --format business-central${format ? ` (not "${format}")` : ''}`);
  if (!payout === !(from || to)) return usage('Give either --payout po_… or --from and --to');
  if (!out) return usage('Give the file to write: --out file.csv');
  let selection: JournalSelection;
  if (payout) {
    if (account || mode)
      return usage('--account and --mode choose the payouts of a period: give them with --from and --to');
    selection = { payout };
  } else {
    if (!from || !to) return usage(`Give both ends of the period: --${from ? 'to' : 'from'} is missing`);
    const bad = [from, to].find((date) => !isDate(date));
    if (bad !== undefined) return usage(`--from and --to are dates, YYYY-MM-DD (not "${bad}")`);
    if (from > to) return usage(`--from ${from} is after --to ${to}`);
    if (account !== undefined && !isConnectedAccountId(account))
      return usage(`--account is a connected account's id, acct_… (not "${account}")`);
    // The service's own mode unless told otherwise: a file of live payouts holds no test money.
    const chosen = mode ?? io.env.STRIPE_MODE;
    if (chosen !== undefined && chosen !== 'live' && chosen !== 'test')
      return usage(`--mode is live or test (not "${chosen}")`);
    selection = {
      from,
      to,
      ...(account ? { account } : {}),
      ...(chosen ? { livemode: chosen === 'live' } : {}),
    };
  }
  return {
    selection,
    format: format as JournalExportFormat,
    out,
    force: parsed.values.force === true,
    skipUnbalanced: parsed.values['skip-unbalanced'] === true,
    accounts,
  };
}

function isDate(text: string | undefined): boolean {
  if (!text || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

export async function runJournalCommand(argv: string[], io: JournalCliIo): Promise<number> {
  const request = exportRequest(argv, io);
  if (request === 'help') {
    io.out(JOURNAL_USAGE);
    return 0;
  }
  if (!request) return USAGE_EXIT;
  if (existsSync(request.out) && !request.force) {
    io.err(`${request.out} exists; pass --force to replace it`);
    return 1;
  }
  const setup = await openExport(io, request.accounts);
  if (!setup) return 1;
  try {
    const result = await exportJournals(setup.dataverse, setup.config, request);
    if (result.skipped.length) io.err(`Warning: left out of the file, ${describeUnbalanced(result.skipped)}`);
    if (result.empty.length)
      io.err(`No lines, nothing to post: ${result.empty.map((journal) => journal.payoutId).join(', ')}`);
    if (result.others.length) io.err(`Left out, ${describeOthers(result.others)}`);
    if (result.journals.length === 0) {
      io.err(`Nothing to export ${scope(request.selection)}; ${request.out} not written`);
      return result.skipped.length ? UNBALANCED_EXIT : 1;
    }
    writeAtomically(request.out, result.csv);
    const lcyNote = localCurrencyNote(request.format, setup.config, result.journals);
    if (lcyNote) io.err(lcyNote);
    io.out(
      `${request.out}: ${count(result.journals.length, 'payout journal')}, ${count(result.lines, 'line')} (${request.format})`,
    );
    return 0;
  } catch (error) {
    if (error instanceof UnbalancedJournalError) {
      io.err(error.message);
      return UNBALANCED_EXIT;
    }
    io.err(
      error instanceof JournalExportError
        ? error.message
        : `journal export failed: ${(error as Error).message}`,
    );
    return 1;
  }
}

/**
 * Business Central leaves Currency Code blank for the company's local currency (LCY) and refuses the LCY's own
 * code there unless it is also set up as a foreign currency: without `businessCentral.localCurrency` every
 * line names its currency, which is right only when none is the LCY. Said, with the codes in the file.
 */
function localCurrencyNote(
  format: JournalExportFormat,
  config: ReconciliationConfig,
  journals: ExportJournal[],
): string | null {
  if (format !== 'business-central' || config.export.businessCentral.localCurrency) return null;
  const codes = [...new Set(journals.map((journal) => journal.currency.toUpperCase()))].sort();
  return (
    `Note: businessCentral.localCurrency is not set in the GL accounts file, so every line names its currency ` +
    `(${codes.join(', ')}) in Currency Code. Business Central expects it blank for the company's local currency: ` +
    'if one of these is it, set businessCentral.localCurrency and export again.'
  );
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

const scope = (selection: JournalSelection) =>
  'payout' in selection ? `for payout ${selection.payout}` : `dated ${selection.from} to ${selection.to}`;

/** Written beside the target and renamed over it: a failure never leaves half a file. */
function writeAtomically(path: string, text: string): void {
  const partial = `${path}.partial-${process.pid}`;
  try {
    writeFileSync(partial, text, 'utf8');
    renameSync(partial, path);
  } finally {
    rmSync(partial, { force: true });
  }
}

/** The GL settings and the Dataverse client (the one given, else made from the service's configuration). */
async function openExport(io: JournalCliIo, accounts: string | undefined) {
  let dataverse = io.dataverse;
  let accountsPath = accounts;
  try {
    if (!dataverse) {
      const service = loadConfig(io.env);
      accountsPath ??= service.reconciliation.glAccountsPath;
      // Loaded here: the service module pulls in the HTTP layer, which this command does not need otherwise.
      const { dataverseClientFor } = await import('../service');
      dataverse = dataverseClientFor(service.dataverse, createLogger({ level: 'warn' }));
    }
    return { dataverse, config: loadReconciliationConfig(accountsPath) };
  } catch (error) {
    io.err(
      error instanceof ConfigError || error instanceof ReconciliationConfigError
        ? error.message
        : `Cannot start: ${(error as Error).message}`,
    );
    return null;
  }
}

/** `2 payouts of other Stripe accounts or the other mode: po_1 (acct_1…), po_2 (test mode)`. */
function describeOthers(journals: ExportJournal[]): string {
  const one = (j: ExportJournal) =>
    `${j.payoutId} (${[j.account || 'the platform', j.livemode === null ? '' : j.livemode ? 'live mode' : 'test mode'].filter(Boolean).join(', ')})`;
  return `${count(journals.length, 'payout')} of another Stripe account or the other mode (--account, --mode choose them): ${journals.map(one).join(', ')}`;
}
