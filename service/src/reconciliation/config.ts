/**
 * Which general-ledger account each part of a payout goes to: read once from YAML or JSON, validated,
 * with the defaults in `gl-accounts.yaml` beside this file (which also documents debit and credit sides).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const JOURNAL_GROUPS = [
  'gross',
  'fees',
  'refunds',
  'disputes',
  'adjustments',
  'clearing',
  'balance',
] as const;
export type JournalGroup = (typeof JOURNAL_GROUPS)[number];

/** Groups a balance transaction's reporting category can fall in (the payout's own goes to clearing). */
const CATEGORY_GROUPS = ['gross', 'fees', 'refunds', 'disputes', 'adjustments', 'balance'] as const;

const accountSchema = z.object({
  account: z.string().min(1).max(100),
  description: z.string().max(2000).optional(),
});

/**
 * How `cli journal export` writes a payout journal for Dynamics 365 Finance (General journal entity) and
 * Business Central (Gen. Journal Line); docs/JOURNAL-EXPORT.md describes each column.
 */
const journalExportSchema = z.object({
  finance: z
    .object({
      /** JOURNALNAME: a journal name set up in Finance (General ledger > Journal setup > Journal names). */
      journalName: z.string().min(1).max(10).default('GenJrn'),
      /** JOURNALBATCHNUMBER: a placeholder the import replaces from the journal number sequence. */
      journalBatchNumber: z.string().min(1).max(20).default('STRIPE-PAYOUTS'),
      accountType: z.enum(['Ledger', 'Bank', 'Customer', 'Vendor']).default('Ledger'),
      /** ACCOUNTDISPLAYVALUE from the line's GL account, e.g. `{account}---` for empty dimension segments. */
      accountFormat: z.string().includes('{account}').default('{account}'),
    })
    .prefault({}),
  businessCentral: z
    .object({
      journalTemplateName: z.string().min(1).max(10).default('GENERAL'),
      journalBatchName: z.string().min(1).max(10).default('STRIPE'),
      accountType: z.enum(['G/L Account', 'Bank Account']).default('G/L Account'),
      /** The company's local currency: its lines leave Currency Code blank, as Business Central expects. */
      localCurrency: z
        .string()
        .regex(/^[a-zA-Z]{3}$/, 'a three-letter currency code')
        .optional(),
      /** Line No. of the first line, and the step between lines (Business Central's pages use 10000). */
      lineNumberStep: z.number().int().min(1).max(100000).default(10000),
    })
    .prefault({}),
});

export const reconciliationConfigSchema = z.object({
  accounts: z.object({
    gross: accountSchema,
    fees: accountSchema,
    refunds: accountSchema,
    disputes: accountSchema,
    adjustments: accountSchema,
    clearing: accountSchema,
    // Added after the first release: a file copied before it still loads.
    balance: accountSchema.default({ account: '1040', description: 'Stripe balance' }),
  }),
  categories: z.record(z.string(), z.enum(CATEGORY_GROUPS)).default({}),
  otherCategories: z.enum(CATEGORY_GROUPS).default('adjustments'),
  export: journalExportSchema.prefault({}),
});

export type ReconciliationConfig = z.infer<typeof reconciliationConfigSchema>;

export const DEFAULT_GL_ACCOUNTS_FILE = join(__dirname, 'gl-accounts.yaml');

export class ReconciliationConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconciliationConfigError';
  }
}

/** Parses a config from text (YAML, of which JSON is a subset); `source` names it in errors. */
export function parseReconciliationConfig(
  text: string,
  source = 'reconciliation config',
): ReconciliationConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ReconciliationConfigError(`${source}: not YAML or JSON: ${(error as Error).message}`);
  }
  const parsed = reconciliationConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`)
      .join('; ');
    throw new ReconciliationConfigError(`${source}: ${issues}`);
  }
  return parsed.data;
}

/** Reads the file (default: the shipped `gl-accounts.yaml`). */
export function loadReconciliationConfig(path: string = DEFAULT_GL_ACCOUNTS_FILE): ReconciliationConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ReconciliationConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return parseReconciliationConfig(text, path);
}
