/**
 * Journal export end to end: payouts made and paid in the Stripe emulator, reconciled into the Dataverse
 * emulator through the real clients, then exported by `cli journal export` from what reconciliation wrote,
 * as Dynamics 365 Finance and Business Central import files.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStripeEmulator, type StripeEmulator } from '@stc/emulators';
import type Stripe from 'stripe';
import { runCli } from '../../cli';
import { describeUnbalanced } from '../export';
import { defaultMappings, RecordingLogger } from '../../inbound/__tests__/harness';
import { dataverseEmulatorForFile } from '../../inbound/__tests__/setup';
import { cliEnv, collectingIo } from '../../__tests__/support/cli';
import {
  BUSINESS_CENTRAL_COLUMNS,
  createPayoutReconciler,
  DEFAULT_GL_ACCOUNTS_FILE,
  FINANCE_COLUMNS,
  JOURNAL_BALANCED,
  JOURNAL_FAILED,
  JOURNAL_MISMATCH,
  JOURNAL_REVERSED,
  journalCsv,
  loadReconciliationConfig,
  parseReconciliationConfig,
  type ExportJournal,
  type ReconciliationConfig,
} from '..';

jest.setTimeout(60_000);

const dataverse = dataverseEmulatorForFile();
let stripeEmulator: StripeEmulator;
let stripe: Stripe;
let dir: string;
/** The Stripe emulator's time when set (what it creates then carries it), else the real time. */
let clockMs: number | null;

beforeEach(async () => {
  clockMs = null;
  // The fee schedule the expected amounts below are worked out from: round(2.9 %) + 30 minor units a charge.
  stripeEmulator = await startStripeEmulator({
    rateLimit: false,
    fees: { percent: 2.9, fixed: 30 },
    clock: () => clockMs ?? Date.now(),
  });
  stripe = stripeEmulator.client();
  dir = mkdtempSync(join(tmpdir(), 'journal-export-'));
});
afterEach(async () => {
  await stripeEmulator.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Card payments of `amounts` (minor units) paid out on `arrival` and reconciled into Dataverse. */
async function reconciledPayout(
  currency: string,
  amounts: number[],
  arrival: string,
  options: { config?: ReconciliationConfig; extra?: number } = {},
) {
  stripeEmulator.testHelpers.seedPayments({ count: amounts.length, amount: (i) => amounts[i], currency });
  const created = stripeEmulator.testHelpers.createAutomaticPayout({ currency });
  stripeEmulator.testHelpers.payPayout(created.id);
  const payout = stripeEmulator.engine.scope(null).find(created.id)!;
  payout.arrival_date = Date.parse(`${arrival}T12:00:00Z`) / 1000;
  // The bank was told more than the transactions add up to: the journal cannot balance.
  if (options.extra) payout.amount = (payout.amount as number) + options.extra;
  await reconcile(created.id, options.config);
  return created.id;
}

/** Reconciles the payout as Stripe has it now (the payouts handler and the sweep do the same). */
async function reconcile(payout: string, config?: ReconciliationConfig) {
  const reconciler = createPayoutReconciler({ mappings: defaultMappings, config });
  await reconciler.reconcile({ stripe, dataverse: dataverse.client, log: new RecordingLogger(), payout });
}

async function exportCli(...args: string[]) {
  const env = cliEnv(stripeEmulator, dataverse.emulator.url, { SQLITE_PATH: ':memory:' });
  const { io, out, err } = collectingIo(env);
  const code = await runCli(['journal', 'export', ...args], io);
  return { code, out, err };
}

/** The file's records; none of the fields in these tests holds a comma, so a split reads them. */
function records(path: string): string[][] {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\r\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\r\n')
    .map((line) => line.split(','));
}

/** Sums decimal text exactly, in units of 10^-3 (enough for every currency here). */
const thousandths = (values: string[]) =>
  values.reduce((sum, value) => {
    const [whole, fraction = ''] = value.replace('-', '').split('.');
    const amount = BigInt(whole + fraction.padEnd(3, '0'));
    return sum + (value.startsWith('-') ? -amount : amount);
  }, 0n);

test('one USD payout as a Finance general journal: header, a voucher of balanced lines, exact amounts', async () => {
  // Fees: 1999 → 58 + 30, 2501 → 73 + 30; the payout is the net, 4500 - 191.
  const payout = await reconciledPayout('usd', [1999, 2501], '2026-01-15');
  const file = join(dir, 'payout.csv');

  const { code, out } = await exportCli('--payout', payout, '--format', 'finance', '--out', file);

  expect(code).toBe(0);
  expect(out.at(-1)).toBe(`${file}: 1 payout journal, 3 lines (finance)`);
  const [header, ...rows] = records(file);
  expect(header).toEqual([...FINANCE_COLUMNS]);
  const voucher = payout.slice(-20);
  const title = `Stripe payout ${payout}`;
  expect(rows).toEqual([
    [
      'STRIPE-PAYOUTS',
      '1',
      'GenJrn',
      title,
      voucher,
      '2026-01-15',
      'Ledger',
      '1050',
      `${payout} Stripe payout clearing`,
      '43.09',
      '0.00',
      'USD',
    ],
    [
      'STRIPE-PAYOUTS',
      '2',
      'GenJrn',
      title,
      voucher,
      '2026-01-15',
      'Ledger',
      '4000',
      `${payout} Stripe gross charges`,
      '0.00',
      '45.00',
      'USD',
    ],
    [
      'STRIPE-PAYOUTS',
      '3',
      'GenJrn',
      title,
      voucher,
      '2026-01-15',
      'Ledger',
      '6100',
      `${payout} Stripe fees`,
      '1.91',
      '0.00',
      'USD',
    ],
  ]);
  expect(thousandths(rows.map((r) => r[9]))).toBe(thousandths(rows.map((r) => r[10])));
});

test('a period in both formats: the JPY and KWD payouts dated in it, none from outside it', async () => {
  // JPY: 1000 → 29 + 30, 2400 → 70 + 30. KWD: 12345 → 358 + 30, 7000 → 203 + 30.
  const yen = await reconciledPayout('jpy', [1000, 2400], '2026-01-05');
  const dinar = await reconciledPayout('kwd', [12345, 7000], '2026-01-31');
  await reconciledPayout('usd', [5000], '2026-02-01');
  const bcFile = join(dir, 'january-bc.csv');
  const financeFile = join(dir, 'january-finance.csv');

  const period = ['--from', '2026-01-01', '--to', '2026-01-31'];
  const bc = await exportCli(...period, '--format', 'business-central', '--out', bcFile);
  const finance = await exportCli(...period, '--format', 'finance', '--out', financeFile);

  expect([bc.code, finance.code]).toEqual([0, 0]);
  expect(bc.out.at(-1)).toBe(`${bcFile}: 2 payout journals, 6 lines (business-central)`);
  // No local currency set: every line names its currency, and the export says so (Finance's file is not
  // concerned: its CURRENCYCODE is always given).
  expect(bc.err).toEqual([
    'Note: businessCentral.localCurrency is not set in the GL accounts file, so every line names its currency ' +
      "(JPY, KWD) in Currency Code. Business Central expects it blank for the company's local currency: if one " +
      'of these is it, set businessCentral.localCurrency and export again.',
  ]);
  expect(finance.err).toEqual([]);
  const [header, ...rows] = records(bcFile);
  expect(header).toEqual([...BUSINESS_CENTRAL_COLUMNS]);
  const line = (
    no: number,
    account: string,
    date: string,
    payout: string,
    text: string,
    currency: string,
    amount: string,
  ) => [
    'GENERAL',
    'STRIPE',
    String(no),
    'G/L Account',
    account,
    date,
    '',
    payout.slice(-20),
    payout,
    `${text} ${payout}`,
    currency,
    amount,
  ];
  expect(rows).toEqual([
    line(10000, '1050', '2026-01-05', yen, 'Stripe payout clearing', 'JPY', '3241'),
    line(20000, '4000', '2026-01-05', yen, 'Stripe gross charges', 'JPY', '-3400'),
    line(30000, '6100', '2026-01-05', yen, 'Stripe fees', 'JPY', '159'),
    line(40000, '1050', '2026-01-31', dinar, 'Stripe payout clearing', 'KWD', '18.724'),
    line(50000, '4000', '2026-01-31', dinar, 'Stripe gross charges', 'KWD', '-19.345'),
    line(60000, '6100', '2026-01-31', dinar, 'Stripe fees', 'KWD', '0.621'),
  ]);
  for (const payout of [yen, dinar]) {
    expect(thousandths(rows.filter((r) => r[8] === payout).map((r) => r[11]))).toBe(0n);
  }

  const [, ...financeRows] = records(financeFile);
  expect(financeRows.map((r) => [r[1], r[4], r[5], r[9], r[10], r[11]])).toEqual([
    ['1', yen.slice(-20), '2026-01-05', '3241', '0', 'JPY'],
    ['2', yen.slice(-20), '2026-01-05', '0', '3400', 'JPY'],
    ['3', yen.slice(-20), '2026-01-05', '159', '0', 'JPY'],
    ['4', dinar.slice(-20), '2026-01-31', '18.724', '0.000', 'KWD'],
    ['5', dinar.slice(-20), '2026-01-31', '0.000', '19.345', 'KWD'],
    ['6', dinar.slice(-20), '2026-01-31', '0.621', '0.000', 'KWD'],
  ]);
  expect(new Set(financeRows.map((r) => r[3]))).toEqual(new Set(['Stripe payouts 2026-01-01 to 2026-01-31']));
});

test('an unbalanced payout is refused, named with its difference, and no file is written', async () => {
  const payout = await reconciledPayout('usd', [1999, 2501], '2026-03-10', { extra: 7 });
  const entry = await dataverse.client.retrieveByKey('stc_journalentries', { stc_stripepayoutid: payout });
  expect(entry).toMatchObject({ stc_status: JOURNAL_MISMATCH });
  const file = join(dir, 'refused.csv');

  const { code, err } = await exportCli('--payout', payout, '--format', 'business-central', '--out', file);

  expect(code).toBe(4);
  expect(err.at(-1)).toBe(
    `payout ${payout} (debits 45.07 USD, credits 45.00 USD, difference 0.07 USD) does not balance; nothing was written. ` +
      'Reconcile the payout again once its transactions sum to it (cli reconcile --payout …), ' +
      'or pass --skip-unbalanced to export the others.',
  );
  expect(existsSync(file)).toBe(false);
  expect(readdirSync(dir)).toEqual([]);
});

test('--skip-unbalanced writes the balanced payouts of the period and warns of those left out', async () => {
  const good = await reconciledPayout('usd', [1999], '2026-03-01');
  const bad = await reconciledPayout('usd', [2501], '2026-03-02', { extra: 7 });
  const file = join(dir, 'march.csv');
  const period = ['--from', '2026-03-01', '--to', '2026-03-31', '--format', 'finance', '--out', file];

  const refused = await exportCli(...period);
  expect(refused.code).toBe(4);
  expect(refused.err.at(-1)).toMatch(
    new RegExp(`^payout ${bad} \\(.*difference 0.07 USD\\) does not balance`),
  );
  expect(existsSync(file)).toBe(false);

  const skipped = await exportCli(...period, '--skip-unbalanced');
  expect(skipped.code).toBe(0);
  expect(skipped.err).toEqual([
    `Warning: left out of the file, payout ${bad} (debits 25.08 USD, credits 25.01 USD, difference 0.07 USD) does not balance`,
  ]);
  const [, ...rows] = records(file);
  expect(new Set(rows.map((r) => r[8].split(' ')[0]))).toEqual(new Set([good]));
});

test('an entry without lines (a manual payout) is named and left out; the others are written', async () => {
  const payout = await reconciledPayout('usd', [1999], '2026-05-04');
  await dataverse.client.upsertByKey(
    'stc_journalentries',
    { stc_stripepayoutid: 'po_manual' },
    {
      stc_name: 'Payout po_manual',
      stc_date: '2026-05-02',
      stc_currency: 'usd',
      stc_status: JOURNAL_BALANCED,
    },
  );
  const file = join(dir, 'may.csv');

  const may = await exportCli(
    '--from',
    '2026-05-01',
    '--to',
    '2026-05-31',
    '--format',
    'finance',
    '--out',
    file,
  );

  expect(may.code).toBe(0);
  expect(may.err).toEqual(['No lines, nothing to post: po_manual']);
  const [, ...rows] = records(file);
  expect(rows.map((r) => r[4])).toEqual([payout.slice(-20), payout.slice(-20), payout.slice(-20)]);
  const alone = await exportCli('--payout', 'po_manual', '--format', 'finance', '--out', join(dir, 'm.csv'));
  expect(alone.code).toBe(1);
  expect(alone.err.at(-1)).toBe(`Nothing to export for payout po_manual; ${join(dir, 'm.csv')} not written`);
  expect(readdirSync(dir)).toEqual(['may.csv']);
});

test('GL settings from the accounts file: account format, local currency, and quoting of a description', async () => {
  const text = readFileSync(DEFAULT_GL_ACCOUNTS_FILE, 'utf8')
    .replace("description: 'Stripe fees'", `description: 'Fees, "card"'`)
    .replace("accountFormat: '{account}'", "accountFormat: '{account}-001-'")
    .replace('# localCurrency: USD', 'localCurrency: USD');
  const accounts = join(dir, 'accounts.yaml');
  writeFileSync(accounts, text);
  const config = parseReconciliationConfig(text);
  const payout = await reconciledPayout('usd', [1999, 2501], '2026-04-01', { config });
  const files = { finance: join(dir, 'f.csv'), bc: join(dir, 'bc.csv') };

  const common = ['--payout', payout, '--accounts', accounts, '--out'];
  expect((await exportCli(...common, files.finance, '--format', 'finance')).code).toBe(0);
  const bcExport = await exportCli(...common, files.bc, '--format', 'business-central');
  expect([bcExport.code, bcExport.err]).toEqual([0, []]);

  const finance = readFileSync(files.finance, 'utf8').split('\r\n');
  expect(finance[3]).toContain(`,Ledger,6100-001-,"${payout} Fees, ""card""",1.91,0.00,USD`);
  const bc = readFileSync(files.bc, 'utf8').split('\r\n');
  expect(bc[1].endsWith(`,${payout},Stripe payout clearing ${payout},,43.09`)).toBe(true);
  expect(bc[3].endsWith(`,"Fees, ""card"" ${payout}",,1.91`)).toBe(true);
});

/** RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks; records end in CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' || c === '\n') {
      // Outside quotes any line break ends the record, as the Dynamics 365 imports read it.
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

test('descriptions holding a bare LF (a YAML block scalar) or a bare CR are quoted: one record per line', async () => {
  const text = readFileSync(DEFAULT_GL_ACCOUNTS_FILE, 'utf8')
    .replace(
      "fees: { account: '6100', description: 'Stripe fees' }",
      "fees:\n    account: '6100'\n    description: |\n      Stripe fees",
    )
    .replace("description: 'Stripe gross charges'", 'description: "Stripe gross\\rcharges"');
  const config = parseReconciliationConfig(text);
  expect(config.accounts.fees.description).toBe('Stripe fees\n');
  expect(config.accounts.gross.description).toBe('Stripe gross\rcharges');
  const accounts = join(dir, 'accounts.yaml');
  writeFileSync(accounts, text);
  const payout = await reconciledPayout('usd', [1999, 2501], '2026-04-02', { config });
  const files = { finance: join(dir, 'f.csv'), bc: join(dir, 'bc.csv') };

  const common = ['--payout', payout, '--accounts', accounts, '--out'];
  expect((await exportCli(...common, files.finance, '--format', 'finance')).code).toBe(0);
  expect((await exportCli(...common, files.bc, '--format', 'business-central')).code).toBe(0);

  const finance = readFileSync(files.finance, 'utf8');
  expect(finance).toContain(`,Ledger,4000,"${payout} Stripe gross\rcharges",0.00,45.00,USD\r\n`);
  expect(finance).toContain(`,Ledger,6100,"${payout} Stripe fees\n",1.91,0.00,USD\r\n`);
  const financeRecords = parseCsv(finance);
  expect(financeRecords).toHaveLength(4);
  expect(financeRecords.map((r) => r.length)).toEqual([12, 12, 12, 12]);
  expect(financeRecords.map((r) => r[8])).toEqual([
    'TEXT',
    `${payout} Stripe payout clearing`,
    `${payout} Stripe gross\rcharges`,
    `${payout} Stripe fees\n`,
  ]);

  const bc = readFileSync(files.bc, 'utf8');
  expect(bc).toContain(`,"Stripe gross\rcharges ${payout}",USD,-45.00\r\n`);
  expect(bc).toContain(`,"Stripe fees\n ${payout}",USD,1.91\r\n`);
  const bcRecords = parseCsv(bc);
  expect(bcRecords.map((r) => r.length)).toEqual([12, 12, 12, 12]);
  expect(bcRecords.map((r) => r[9])).toEqual([
    'Description',
    `Stripe payout clearing ${payout}`,
    `Stripe gross\rcharges ${payout}`,
    `Stripe fees\n ${payout}`,
  ]);
});

test('bad arguments are usage errors (exit 2); a missing payout or an existing file exit 1', async () => {
  const file = join(dir, 'x.csv');
  const cases: Array<[string[], RegExp]> = [
    [[], /Give --format finance or --format business-central/],
    [['--payout', 'po_1', '--format', 'excel', '--out', file], /not "excel"/],
    [['--format', 'finance', '--out', file], /Give either --payout po_… or --from and --to/],
    [['--payout', 'po_1', '--from', '2026-01-01', '--format', 'finance', '--out', file], /Give either/],
    [
      ['--from', '2026-01-01', '--to', '2026-02-30', '--format', 'finance', '--out', file],
      /not "2026-02-30"/,
    ],
    [['--from', '2026-02-01', '--to', '2026-01-01', '--format', 'finance', '--out', file], /is after --to/],
    [['--payout', 'po_1', '--format', 'finance'], /Give the file to write: --out file.csv/],
    [['--payout', 'po_1', '--format', 'finance', '--out', file, '--colour'], /Unknown option '--colour'/],
    [['--from', '2026-01-01', '--format', 'finance', '--out', file], /--to is missing/],
    [
      ['--payout', 'po_1', '--account', 'acct_1', '--format', 'finance', '--out', file],
      /with --from and --to/,
    ],
    [
      ['--from', '2026-01-01', '--to', '2026-01-31', '--mode', 'demo', '--format', 'finance', '--out', file],
      /--mode is live or test \(not "demo"\)/,
    ],
    [
      ['--from', '2026-01-01', '--to', '2026-01-31', '--account', 'x', '--format', 'finance', '--out', file],
      /--account is a connected account's id/,
    ],
  ];
  for (const [args, message] of cases) {
    const { code, err } = await exportCli(...args);
    expect({ args, code }).toEqual({ args, code: 2 });
    expect(err.at(-1)).toMatch(message);
    expect(err.at(-1)).toContain('cli journal export --payout po_…');
  }

  const missing = await exportCli('--payout', 'po_missing', '--format', 'finance', '--out', file);
  expect(missing.code).toBe(1);
  expect(missing.err.at(-1)).toBe(
    'No journal entry for payout po_missing in Dataverse: reconcile it first (cli reconcile --payout po_missing)',
  );
  const empty = await exportCli(
    '--from',
    '2020-01-01',
    '--to',
    '2020-01-31',
    '--format',
    'finance',
    '--out',
    file,
  );
  expect(empty).toMatchObject({
    code: 1,
    err: [`Nothing to export dated 2020-01-01 to 2020-01-31; ${file} not written`],
  });

  writeFileSync(file, 'kept');
  const exists = await exportCli('--payout', 'po_1', '--format', 'finance', '--out', file);
  expect(exists.code).toBe(1);
  expect(exists.err.at(-1)).toBe(`${file} exists; pass --force to replace it`);
  expect(readFileSync(file, 'utf8')).toBe('kept');
});

test("a period's file holds the platform's payouts of the service's mode; another account's and test money are named and left out", async () => {
  const platform = await reconciledPayout('usd', [1999], '2026-04-02');
  const connected = await reconciledPayout('usd', [2501], '2026-04-03');
  const live = await reconciledPayout('usd', [3003], '2026-04-04');
  // As another account's payout and a live one are written (the emulator's are the platform's, in test mode).
  const entryOf = async (payout: string) =>
    String(
      (await dataverse.client.retrieveByKey('stc_journalentries', { stc_stripepayoutid: payout }))!
        .stc_journalentryid,
    );
  await dataverse.client.update('stc_journalentries', await entryOf(connected), {
    stc_stripeaccount: 'acct_1Other',
  });
  await dataverse.client.update('stc_journalentries', await entryOf(live), { stc_livemode: true });
  const file = join(dir, 'april.csv');
  const period = ['--from', '2026-04-01', '--to', '2026-04-30', '--format', 'finance', '--out', file];
  const payoutsIn = () =>
    new Set(
      records(file)
        .slice(1)
        .map((r) => r[8].split(' ')[0]),
    );

  const own = await exportCli(...period);
  expect(own.code).toBe(0);
  expect(payoutsIn()).toEqual(new Set([platform]));
  expect(own.err).toEqual([
    `Left out, 2 payouts of another Stripe account or the other mode (--account, --mode choose them): ${connected} (acct_1Other, test mode), ${live} (the platform, live mode)`,
  ]);

  expect((await exportCli(...period, '--force', '--account', 'acct_1Other')).code).toBe(0);
  expect(payoutsIn()).toEqual(new Set([connected]));
  expect((await exportCli(...period, '--force', '--mode', 'live')).code).toBe(0);
  expect(payoutsIn()).toEqual(new Set([live]));
});

test("a failure's pair of a payout whose own lines do not balance is not posted on its own", async () => {
  clockMs = Date.parse('2026-05-29T12:00:00Z');
  const payout = await reconciledPayout('usd', [1999, 2501], '2026-05-29', { extra: 7 });
  clockMs = Date.parse('2026-06-03T12:00:00Z');
  stripeEmulator.testHelpers.failPayout(payout);
  await reconcile(payout);
  const june = await exportPeriod('2026-06-01', '2026-06-30', 'june.csv');
  expect(june.code).toBe(4);
  expect(june.err.at(-1)).toMatch(
    new RegExp(`^payout ${payout} \\(its entry is marked Mismatch: the payout's own lines do not balance\\)`),
  );
  expect(june.rows).toEqual([]);
});

/** A balanced journal of `count` lines of 1.00 USD each way on GL account `account`. */
function syntheticJournal(count: number, account = '1050'): ExportJournal {
  const lines = Array.from({ length: count }, (_, i) => ({
    number: i + 1,
    date: '2026-07-01',
    account,
    category: 'clearing',
    description: 'Stripe payout clearing',
    debit: i % 2 === 0 ? 100n : 0n,
    credit: i % 2 === 0 ? 0n : 100n,
  }));
  return {
    payoutId: 'po_synthetic',
    date: '2026-07-01',
    currency: 'usd',
    lines,
    totalDebit: BigInt(Math.ceil(count / 2)) * 100n,
    totalCredit: BigInt(Math.floor(count / 2)) * 100n,
    mismatched: false,
    account: '',
    livemode: false,
  };
}

test("Business Central's Line No. past its 32-bit largest is refused with what to do", () => {
  const config = loadReconciliationConfig();
  config.export.businessCentral.lineNumberStep = 100000;
  expect(() => journalCsv('business-central', [syntheticJournal(21_474)], config, 'July')).not.toThrow();
  expect(() => journalCsv('business-central', [syntheticJournal(21_475)], config, 'July')).toThrow(
    "21475 lines at a step of 100000 pass Business Central's largest Line No. (2147483647): export a shorter period, or lower export.businessCentral.lineNumberStep",
  );
});

test('an unbalanced payout whose entry holds no valid currency is still named, its amounts in minor units', () => {
  const message = describeUnbalanced([{ ...syntheticJournal(3), currency: '' }]);
  expect(message).toMatch(
    /^payout po_synthetic \(debits 200 minor units of a currency Dataverse holds as ""/,
  );
  expect(message).toContain('"" is not a three-letter currency code');
  expect(message).toMatch(/difference 100 minor units/);
});

test("a GL account holding $ characters is written as it is in Finance's account format", () => {
  const config = loadReconciliationConfig();
  config.export.finance.accountFormat = '{account}-001';
  const csv = journalCsv('finance', [syntheticJournal(2, "10$&5$'0")], config, 'July');
  expect(csv).toContain("10$&5$'0-001");
});

/** The period's file in Business Central's format: its records, or the exit and errors when none is written. */
async function exportPeriod(from: string, to: string, name: string) {
  const file = join(dir, name);
  const result = await exportCli('--from', from, '--to', to, '--format', 'business-central', '--out', file);
  // The reversing lines' descriptions hold a comma: read as RFC 4180.
  return { ...result, file, rows: existsSync(file) ? parseCsv(readFileSync(file, 'utf8')).slice(1) : [] };
}

/** Payout id, account, posting date and signed amount of Business Central rows. */
const posted = (rows: string[][]) => rows.map((r) => [r[8], r[4], r[5], r[11]]);

test('a payout failing in the next month: the pair posts on the failure date, January stays as it was', async () => {
  clockMs = Date.parse('2026-01-30T12:00:00Z');
  // Fees: 1999 → 58 + 30, 2501 → 73 + 30; the payout is 43.09.
  const payout = await reconciledPayout('usd', [1999, 2501], '2026-01-30');
  const january = await exportPeriod('2026-01-01', '2026-01-31', 'january.csv');
  expect(january.code).toBe(0);
  const original = [
    [payout, '1050', '2026-01-30', '43.09'],
    [payout, '4000', '2026-01-30', '-45.00'],
    [payout, '6100', '2026-01-30', '1.91'],
  ];
  expect(posted(january.rows)).toEqual(original);

  // The bank returns it on 3 February: Stripe's payout_failure transaction is made then.
  clockMs = Date.parse('2026-02-03T09:00:00Z');
  stripeEmulator.testHelpers.failPayout(payout);
  await reconcile(payout);
  const entry = await dataverse.client.retrieveByKey('stc_journalentries', { stc_stripepayoutid: payout });
  expect(entry).toMatchObject({ stc_status: JOURNAL_FAILED, stc_date: '2026-01-30' });

  // January exported again is the same file: nothing posts twice, nothing is back-dated into it.
  const again = await exportPeriod('2026-01-01', '2026-01-31', 'january-again.csv');
  expect(again.code).toBe(0);
  expect(readFileSync(again.file, 'utf8')).toBe(readFileSync(january.file, 'utf8'));

  // February has the reversing pair, on the failure date, balanced on its own.
  const february = await exportPeriod('2026-02-01', '2026-02-28', 'february.csv');
  expect(february.code).toBe(0);
  expect(february.out.at(-1)).toBe(`${february.file}: 1 payout journal, 2 lines (business-central)`);
  expect(posted(february.rows)).toEqual([
    [payout, '1050', '2026-02-03', '-43.09'],
    [payout, '1040', '2026-02-03', '43.09'],
  ]);
  expect(february.rows.map((r) => r[9])).toEqual([
    `Payout failed: Stripe payout clearing ${payout}`,
    `Payout failed: Stripe balance ${payout}`,
  ]);

  // The payout alone: every line, each on its own date.
  const file = join(dir, 'payout.csv');
  expect((await exportCli('--payout', payout, '--format', 'finance', '--out', file)).code).toBe(0);
  const rows = parseCsv(readFileSync(file, 'utf8')).slice(1);
  expect(rows.map((r) => [r[5], r[7], r[9], r[10]])).toEqual([
    ['2026-01-30', '1050', '43.09', '0.00'],
    ['2026-01-30', '4000', '0.00', '45.00'],
    ['2026-01-30', '6100', '1.91', '0.00'],
    ['2026-02-03', '1050', '0.00', '43.09'],
    ['2026-02-03', '1040', '43.09', '0.00'],
  ]);
});

test('a payout reversed in the next month: the pair posts on the reversal date, in that month with its payouts', async () => {
  clockMs = Date.parse('2026-01-29T12:00:00Z');
  const reversed = await reconciledPayout('usd', [5000], '2026-01-29'); // 50.00 - 1.75: 48.25
  const january = await exportPeriod('2026-01-01', '2026-01-31', 'january.csv');

  clockMs = Date.parse('2026-02-02T15:00:00Z');
  const reversal = await stripe.payouts.reverse(reversed);
  await reconcile(reversed);
  expect(
    await dataverse.client.retrieveByKey('stc_journalentries', { stc_stripepayoutid: reversed }),
  ).toMatchObject({ stc_status: JOURNAL_REVERSED });
  clockMs = Date.parse('2026-02-05T12:00:00Z');
  const later = await reconciledPayout('usd', [1000], '2026-02-05'); // 10.00 - 0.59 + 48.25

  const again = await exportPeriod('2026-01-01', '2026-01-31', 'january-again.csv');
  expect(readFileSync(again.file, 'utf8')).toBe(readFileSync(january.file, 'utf8'));
  const february = await exportPeriod('2026-02-01', '2026-02-28', 'february.csv');
  expect(february.code).toBe(0);
  expect(posted(february.rows)).toEqual([
    [reversed, '1050', '2026-02-02', '-48.25'],
    [reversed, '1040', '2026-02-02', '48.25'],
    // The next payout takes the money the reversal brought back out of the balance again.
    [later, '1050', '2026-02-05', '57.66'],
    [later, '4000', '2026-02-05', '-10.00'],
    [later, '1040', '2026-02-05', '-48.25'],
    [later, '6100', '2026-02-05', '0.59'],
  ]);
  expect(reversal.created).toBe(Date.parse('2026-02-02T15:00:00Z') / 1000);
});

test('lines written without a posting date (before the column) post on their entry date', async () => {
  const payout = await reconciledPayout('usd', [1999], '2026-06-10');
  const entry = await dataverse.client.retrieveByKey('stc_journalentries', { stc_stripepayoutid: payout });
  const lines = await dataverse.client.retrieveMultiple('stc_journallines', {
    filter: `_stc_journalentryid_value eq ${String(entry!.stc_journalentryid)}`,
  });
  expect(lines.map((l) => l.stc_postingdate)).toEqual(['2026-06-10', '2026-06-10', '2026-06-10']);
  for (const line of lines)
    await dataverse.client.update('stc_journallines', String(line.stc_journallineid), {
      stc_postingdate: null,
    });

  const june = await exportPeriod('2026-06-01', '2026-06-30', 'june.csv');
  expect(june.code).toBe(0);
  expect(posted(june.rows).map((r) => r[2])).toEqual(['2026-06-10', '2026-06-10', '2026-06-10']);
  const july = await exportPeriod('2026-07-01', '2026-07-31', 'july.csv');
  expect(july.code).toBe(1);
});

/** Every journal line of the payout's entry: key, posting date, debit and credit. */
async function entryLines(payout: string) {
  const entry = await dataverse.client.retrieveByKey('stc_journalentries', { stc_stripepayoutid: payout });
  const lines = await dataverse.client.retrieveMultiple('stc_journallines', {
    filter: `_stc_journalentryid_value eq ${String(entry!.stc_journalentryid)}`,
    orderBy: ['stc_linenumber asc'],
  });
  return { entry, lines: lines.map((l) => [l.stc_linekey, l.stc_postingdate, l.stc_debit, l.stc_credit]) };
}

/**
 * A payout arriving on 29 January (50.00 - 1.75: 48.25), reversed on 2 February and reconciled then, January's
 * and February's files exported; `undo` then makes the reversal come to nothing in March.
 */
async function reversedThenUndone(undo: (reversal: string) => Promise<void>) {
  clockMs = Date.parse('2026-01-29T12:00:00Z');
  const payout = await reconciledPayout('usd', [5000], '2026-01-29');
  clockMs = Date.parse('2026-02-02T15:00:00Z');
  const reversal = (await stripe.payouts.reverse(payout)).id;
  await reconcile(payout);
  const reversed = await entryLines(payout);
  expect(reversed.entry).toMatchObject({ stc_status: JOURNAL_REVERSED });
  const january = await exportPeriod('2026-01-01', '2026-01-31', 'january.csv');
  const february = await exportPeriod('2026-02-01', '2026-02-28', 'february.csv');
  expect([january.code, february.code]).toEqual([0, 0]);
  const own = [
    [payout, '1050', '2026-01-29', '48.25'],
    [payout, '4000', '2026-01-29', '-50.00'],
    [payout, '6100', '2026-01-29', '1.75'],
  ];
  const pair = [
    [payout, '1050', '2026-02-02', '-48.25'],
    [payout, '1040', '2026-02-02', '48.25'],
  ];
  expect(posted(january.rows)).toEqual(own);
  expect(posted(february.rows)).toEqual(pair);

  await undo(reversal);
  // The reversal's events reconcile the original again (its own entry is Not reconcilable).
  await reconcile(reversal);
  return { payout, reversal, reversed, january, february, own, pair };
}

/** The reversing pair stays, the counter-pair posts in March, January's and February's files do not change. */
async function expectUndoneInMarch(
  run: Awaited<ReturnType<typeof reversedThenUndone>>,
  date: string,
  why: string,
) {
  const { payout, reversed, january, february, own, pair } = run;
  const after = await entryLines(payout);
  expect(after.entry).toMatchObject({ stc_status: JOURNAL_BALANCED, stc_difference: 0 });
  expect(after.lines).toEqual([
    ...reversed.lines,
    [`${payout}:reversal-undone:clearing`, date, 48.25, 0],
    [`${payout}:reversal-undone:balance`, date, 0, 48.25],
  ]);

  const januaryAgain = await exportPeriod('2026-01-01', '2026-01-31', 'january-again.csv');
  const februaryAgain = await exportPeriod('2026-02-01', '2026-02-28', 'february-again.csv');
  expect(readFileSync(januaryAgain.file, 'utf8')).toBe(readFileSync(january.file, 'utf8'));
  expect(readFileSync(februaryAgain.file, 'utf8')).toBe(readFileSync(february.file, 'utf8'));

  const march = await exportPeriod('2026-03-01', '2026-03-31', 'march.csv');
  expect(march.code).toBe(0);
  const counter = [
    [payout, '1050', date, '48.25'],
    [payout, '1040', date, '-48.25'],
  ];
  expect(posted(march.rows)).toEqual(counter);
  expect(thousandths(march.rows.map((r) => r[11]))).toBe(0n);
  expect(march.rows.map((r) => r[9])).toEqual([
    `Reversal ${why}: Stripe payout clearing ${payout}`,
    `Reversal ${why}: Stripe balance ${payout}`,
  ]);

  // Reconciled again (by the original's events or the sweep): the same lines by key, no file changes.
  await reconcile(payout);
  await reconcile(run.reversal);
  expect((await entryLines(payout)).lines).toEqual(after.lines);
  const marchAgain = await exportPeriod('2026-03-01', '2026-03-31', 'march-again.csv');
  expect(readFileSync(marchAgain.file, 'utf8')).toBe(readFileSync(march.file, 'utf8'));
  const februaryLast = await exportPeriod('2026-02-01', '2026-02-28', 'february-last.csv');
  expect(readFileSync(februaryLast.file, 'utf8')).toBe(readFileSync(february.file, 'utf8'));

  // The whole entry, every line on its own date, balances: the payout stayed out.
  const file = join(dir, 'payout.csv');
  expect((await exportCli('--payout', payout, '--format', 'business-central', '--out', file)).code).toBe(0);
  const all = parseCsv(readFileSync(file, 'utf8')).slice(1);
  expect(posted(all)).toEqual([...own, ...pair, ...counter]);
  expect(thousandths(all.map((r) => r[11]))).toBe(0n);

  // In Finance's 60-character text, the reversing lines and the lines undoing them still say which is which.
  const financeFile = join(dir, 'payout-finance.csv');
  expect((await exportCli('--payout', payout, '--format', 'finance', '--out', financeFile)).code).toBe(0);
  const texts = parseCsv(readFileSync(financeFile, 'utf8'))
    .slice(1)
    .map((r) => r[8]);
  expect(texts.slice(3)).toEqual(
    [
      `${payout} Payout reversed: Stripe payout clearing`,
      `${payout} Payout reversed: Stripe balance`,
      `${payout} Reversal ${why}: Stripe payout clearing`,
      `${payout} Reversal ${why}: Stripe balance`,
    ].map((text) => text.slice(0, 60)),
  );
  expect(new Set(texts.slice(3)).size).toBe(4);
}

test('a reversal exported in February that fails in March: the pair stays, March undoes it, earlier files unchanged', async () => {
  const run = await reversedThenUndone(async (reversal) => {
    clockMs = Date.parse('2026-02-04T12:00:00Z');
    stripeEmulator.testHelpers.payPayout(reversal);
    // The bank refuses the debit on 3 March: Stripe's payout_failure transaction is made then.
    clockMs = Date.parse('2026-03-03T10:00:00Z');
    stripeEmulator.testHelpers.failPayout(reversal);
  });
  const failure = await stripe.balanceTransactions.retrieve(
    String((await stripe.payouts.retrieve(run.reversal)).failure_balance_transaction),
  );
  expect([failure.type, failure.created]).toEqual([
    'payout_failure',
    Date.parse('2026-03-03T10:00:00Z') / 1000,
  ]);
  await expectUndoneInMarch(run, '2026-03-03', 'failed');
});

test('a reversal exported in February and canceled in March: the pair stays, March undoes it on the cancel date', async () => {
  const run = await reversedThenUndone(async (reversal) => {
    // Still pending on 2 March, when it is canceled: Stripe's payout_cancel transaction is made then.
    clockMs = Date.parse('2026-03-02T08:00:00Z');
    await stripe.payouts.cancel(reversal);
  });
  const cancel = await stripe.balanceTransactions.retrieve(
    String((await stripe.payouts.retrieve(run.reversal)).failure_balance_transaction),
  );
  expect([cancel.type, cancel.created]).toEqual(['payout_cancel', Date.parse('2026-03-02T08:00:00Z') / 1000]);
  await expectUndoneInMarch(run, '2026-03-02', 'canceled');
});
