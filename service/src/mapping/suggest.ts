/**
 * Mapping suggestions: for the columns of a table that no mapping fills yet, the fields of a sample Stripe
 * object that could fill them, ranked, each with its score, a ready expression and the reasons in words.
 * Suggestions are advice for whoever edits the mapping files (the CLI's `mapping suggest`, the console):
 * nothing here writes a mapping.
 *
 * A candidate is scored on three things, each from 0 to 1:
 * - its name: the column's and the field path's words, after spelling differences are made one
 *   (telephone → phone, emailaddress → email, postalcode → postal code, stateorprovince → state);
 * - its type: the column's type against the sample value's (an amount column never takes text);
 * - its shape: what the value looks like (an e-mail, a phone number, a country code, a Unix time, an amount
 *   in minor units, a Stripe id) against what the column holds.
 * The score is 0.5 × name + 0.25 × type + 0.25 × shape. A field whose type cannot fill the column, or whose
 * shape contradicts it, is never suggested.
 */
import type { Column, Table } from '@stc/solution';
import { Account } from '@stc/solution/tables';
import type { MappingSet } from './loader';
import { countryCode, phoneE164 } from './normalize';

/** One leaf of a sample object: its JSONata path and its value. */
export interface SampleField {
  path: string;
  value: unknown;
}

export interface Suggestion {
  /** The column's logical name. */
  column: string;
  /** The Stripe field's path in the sample (`address.postal_code`). */
  source: string;
  /** A mapping expression for the column (`$phoneE164(phone, address.country)`). */
  expression: string;
  /** 0 to 1, two decimals. */
  score: number;
  /** Why, in words, naming the column and the field. */
  reason: string;
}

export interface ColumnSuggestions {
  column: string;
  type: string;
  suggestions: Suggestion[];
}

export interface SuggestOptions {
  /** Columns filled already (by a mapping), left out. */
  mapped?: Iterable<string>;
  /** Suggestions kept per column (default 3). */
  perColumn?: number;
  /** Suggestions scoring below are dropped (default 0.4). */
  minScore?: number;
}

/** Columns the connector writes itself or Dataverse keeps: never suggested. */
const OWN_COLUMNS = new Set<string>([
  Account.col.lastEventId,
  Account.col.lastEventCreated,
  Account.col.syncRequestedOn,
  Account.col.createInStripe,
  'createdon',
  'modifiedon',
  'statecode',
  'statuscode',
]);

/**
 * Every leaf of a Stripe object as a path and value, objects walked into, arrays by their first element
 * (`lines.data[0].amount`), lists by their items only, to `maxDepth` levels. The sample may be an event: its
 * object is taken.
 */
export function flattenSample(sample: unknown, maxDepth = 4): SampleField[] {
  const root =
    isRecord(sample) && sample.object === 'event' && isRecord(sample.data) ? sample.data.object : sample;
  const fields: SampleField[] = [];
  const walk = (value: unknown, path: string, depth: number) => {
    if (isRecord(value)) {
      if (depth >= maxDepth) return;
      // A Stripe list (`sources`, `tax_ids`) holds its items in `data`; its url and counts are not fields.
      const entries = value.object === 'list' ? [['data', value.data] as const] : Object.entries(value);
      for (const [name, field] of entries) {
        const step = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `\`${name}\``;
        walk(field, path ? `${path}.${step}` : step, depth + 1);
      }
    } else if (Array.isArray(value)) {
      if (value.length > 0 && depth < maxDepth) walk(value[0], `${path}[0]`, depth);
    } else if (path) fields.push({ path, value });
  };
  walk(root, '', 0);
  return fields;
}

/** The columns of a table that a set of mappings fills: columns, keys and links of every mapping to it. */
export function mappedColumns(set: MappingSet, table: string): Set<string> {
  const columns = new Set<string>();
  for (const name of set.names) {
    const mapping = set.get(name);
    if (mapping.table.logicalName !== table) continue;
    mapping.keyColumns.forEach((column) => columns.add(column));
    mapping.compiled.columns.forEach((entry) => columns.add(entry.column.logicalName));
    mapping.compiled.links.forEach((link) => columns.add(link.column));
  }
  return columns;
}

/** Suggestions for each column of `table` not in `mapped`, from the fields of `sample`. */
export function suggestColumns(
  table: Table,
  sample: unknown,
  options: SuggestOptions = {},
): ColumnSuggestions[] {
  const mapped = new Set(options.mapped ?? []);
  const perColumn = options.perColumn ?? 3;
  const minScore = options.minScore ?? 0.4;
  const fields = flattenSample(sample);
  const result: ColumnSuggestions[] = [];
  for (const column of table.columns) {
    if (!suggestible(table, column) || mapped.has(column.logicalName)) continue;
    const suggestions = fields
      .map((field) => score(column, field, fields))
      .filter((entry): entry is Suggestion => entry !== null && entry.score >= minScore)
      .sort((a, b) => b.score - a.score || a.source.length - b.source.length)
      .slice(0, perColumn);
    result.push({ column: column.logicalName, type: column.type, suggestions });
  }
  return result;
}

function suggestible(table: Table, column: Column): boolean {
  if (column.logicalName === table.primaryIdColumn || column.system) return false;
  if (OWN_COLUMNS.has(column.logicalName)) return false;
  // Lookups are links (`links:` in the file), set by matching a row, not by a field's value.
  return !['lookup', 'customer', 'owner', 'uniqueidentifier'].includes(column.type);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

// ---- names -------------------------------------------------------------------------------------------

/** Spellings made one before splitting into words: Dataverse runs words together, Stripe separates them. */
const SPELLINGS: Array<[RegExp, string]> = [
  [/emailaddress/g, 'email'],
  [/e_?mail/g, 'email'],
  [/telephone|phonenumber/g, 'phone'],
  [/mobilephone/g, 'mobile_phone'],
  [/stateorprovince/g, 'state'],
  [/postalcode|zipcode|postcode/g, 'postal_code'],
  [/\bzip\b/g, 'postal_code'],
  [/firstname|givenname/g, 'first_name'],
  [/lastname|surname|familyname/g, 'last_name'],
  [/fullname/g, 'name'],
  [/websiteurl/g, 'website_url'],
  [/createdon/g, 'created'],
  [/balancetransaction/g, 'balance_transaction'],
  [/stripeid/g, 'id'],
  [/stripe(?=[a-z])/g, 'stripe_'],
  [
    /(customer|charge|invoice|subscription|payment|product|price|account|transaction|payout|refund|dispute)id(?=_|\d|$)/g,
    '$1_id',
  ],
  [/(amount|payment|failure|card|receipt|dashboard|period|trial|cancel)(?=[a-z])/g, '$1_'],
];

/** Words that say little about what a field holds. */
const NOISE = new Set(['stc', 'stripe', 'the', 'of', '0']);

/** The words of a column name or a field path: `address1_postalcode` → address, postal, code. */
export function nameWords(name: string): string[] {
  let text = name.toLowerCase().replace(/^stc_/, '');
  for (const [pattern, replacement] of SPELLINGS) text = text.replace(pattern, replacement);
  return text
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((word) => (/^line\d$/.test(word) ? word : word.replace(/\d+$/, '')))
    .filter((word) => word !== '' && !NOISE.has(word));
}

/** Shared words over all words, with the field's last word (the leaf) matching the column's counted twice. */
function nameSimilarity(column: string[], field: string[]): number {
  if (column.length === 0 || field.length === 0) return 0;
  const columnSet = new Set(column);
  const fieldSet = new Set(field);
  const shared = [...columnSet].filter((word) => fieldSet.has(word)).length;
  const union = new Set([...columnSet, ...fieldSet]).size;
  const leafBonus = column[column.length - 1] === field[field.length - 1] ? 1 : 0;
  return Math.min(1, (shared + leafBonus) / (union + leafBonus));
}

// ---- values ------------------------------------------------------------------------------------------

type Shape = 'email' | 'phone' | 'country' | 'unixtime' | 'amount' | 'currency' | 'stripeid' | 'url';

const SHAPE_WORDS: Record<Shape, string> = {
  email: 'an e-mail address',
  phone: 'a phone number',
  country: 'a country code',
  unixtime: 'a Unix time',
  amount: 'an amount in minor units',
  currency: 'a currency code',
  stripeid: 'a Stripe id',
  url: 'a URL',
};

/** `cus_NffrFeUfNV2Hib`: a prefix, then letters and digits with at least one digit or capital. */
const STRIPE_ID = /^[a-z]{2,8}_(?=[a-z]*[0-9A-Z])[A-Za-z0-9]{8,}$/;

/** The object a Stripe id's prefix names, in the words column names use. */
const ID_PREFIXES: Record<string, string> = {
  cus: 'customer',
  ch: 'charge',
  py: 'charge',
  pi: 'payment',
  in: 'invoice',
  sub: 'subscription',
  si: 'subscription',
  prod: 'product',
  price: 'price',
  txn: 'transaction',
  po: 'payout',
  re: 'refund',
  pyr: 'refund',
  dp: 'dispute',
  du: 'dispute',
  acct: 'account',
  cs: 'session',
};

/**
 * Whether a Stripe id can fill a column whose name names an object: a customer id column takes `cus_…`, never
 * a PaymentIntent's `pi_…` or an id of a kind not known here. Null when the column names no object.
 */
function idFits(columnWords: string[], value: string): boolean | null {
  const named = columnWords.filter((word) => Object.values(ID_PREFIXES).includes(word));
  const object = ID_PREFIXES[value.slice(0, value.indexOf('_'))];
  if (named.length === 0) return null;
  return object !== undefined && named.includes(object);
}

const AMOUNT_WORDS = /(^|_)(amount|total|subtotal|fee|net|price|balance|tax|discount)(_|$)/;

function valueShape(field: SampleField, fields: SampleField[]): Shape | null {
  const { value, path } = field;
  const leaf = path
    .split('.')
    .pop()!
    .replace(/\[0\]$/, '');
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 946_684_800 && value <= 4_102_444_800 && !AMOUNT_WORDS.test(leaf))
      return 'unixtime';
    if (Number.isInteger(value) && AMOUNT_WORDS.test(leaf) && siblingPath(path, 'currency', fields))
      return 'amount';
    return null;
  }
  if (typeof value !== 'string') return null;
  if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) return 'email';
  if (/^https?:\/\//.test(value)) return 'url';
  if (STRIPE_ID.test(value)) return 'stripeid';
  if (/^[A-Z]{2}$/.test(value) && countryCode(value) === value) return 'country';
  if (/^[a-z]{3}$/.test(value) && /currency/.test(leaf)) return 'currency';
  if (/^\+?[\d\s().-]{7,}$/.test(value) && phoneE164(value, 'US')) return 'phone';
  return null;
}

/** The path of a field named `name` beside `path` (or on the object itself), when the sample has one. */
function siblingPath(path: string, name: string, fields: SampleField[]): string | undefined {
  const parts = path.split('.');
  for (let depth = parts.length - 1; depth >= 0; depth--) {
    const candidate = [...parts.slice(0, depth), name].join('.');
    if (fields.some((field) => field.path === candidate)) return candidate;
  }
  return undefined;
}

/** What a column holds, when its format or name says so. */
function columnShape(column: Column, words: string[]): Shape | null {
  const format = 'format' in column ? column.format : undefined;
  if (format === 'email') return 'email';
  if (format === 'phone') return 'phone';
  if (format === 'url') return 'url';
  if (column.type === 'datetime' || column.type === 'dateonly') return 'unixtime';
  if (column.type === 'decimal' || column.type === 'money') return 'amount';
  if (words.includes('country')) return 'country';
  if (words.includes('currency')) return 'currency';
  if (column.type === 'string' && words[words.length - 1] === 'id') return 'stripeid';
  return null;
}

function jsType(value: unknown): 'string' | 'number' | 'boolean' | 'null' | 'other' {
  if (value === null) return 'null';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return typeof value as 'string';
  return 'other';
}

/** How well a value of this type fills the column (0: it cannot), and why. */
function typeFit(column: Column, value: unknown): [number, string] {
  const type = jsType(value);
  if (type === 'null') return [0.5, `the sample's value is null, so its type is unknown`];
  const fits: Record<string, Partial<Record<typeof type, number>>> = {
    string: { string: 1, number: 0.3 },
    memo: { string: 1, number: 0.3 },
    integer: { number: Number.isInteger(value) ? 1 : 0 },
    bigint: { number: Number.isInteger(value) ? 1 : 0 },
    decimal: { number: 1 },
    money: { number: 1 },
    boolean: { boolean: 1 },
    datetime: { number: 1, string: 0.3 },
    dateonly: { number: 1, string: 0.3 },
    picklist: { string: 0.8, number: 0.3 },
    state: { string: 0.5 },
    status: { string: 0.5 },
  };
  const fit = fits[column.type]?.[type] ?? 0;
  const kind = type === 'number' ? (Number.isInteger(value) ? 'whole number' : 'number') : type;
  return [fit, `${columnKind(column)} ← ${kind} value`];
}

function columnKind(column: Column): string {
  const format = 'format' in column && column.format && column.format !== 'text' ? ` (${column.format})` : '';
  return `${column.type} column${format}`;
}

/** A mapping expression for the field into the column, with the function its shape calls for. */
function expressionFor(
  column: Column,
  field: SampleField,
  shape: Shape | null,
  fields: SampleField[],
): string {
  const path = field.path;
  if (shape === 'email' && columnShape(column, []) === 'email') return `$normalizeEmail(${path})`;
  if (
    shape === 'phone' ||
    ('format' in column && column.format === 'phone' && typeof field.value === 'string')
  ) {
    const country = siblingPath(path, 'address.country', fields) ?? siblingPath(path, 'country', fields);
    return country ? `$phoneE164(${path}, ${country})` : `$phoneE164(${path})`;
  }
  if (shape === 'country' && column.type === 'string') return `$countryName(${path})`;
  const words = nameWords(column.logicalName);
  if (words.join(' ') === 'first name' && typeof field.value === 'string') return `$firstName(${path})`;
  if (words.join(' ') === 'last name' && typeof field.value === 'string') return `$lastName(${path})`;
  if (shape === 'unixtime' && column.type === 'datetime') return `$unixToDateTime(${path})`;
  if (shape === 'unixtime' && column.type === 'dateonly') return `$unixToDate(${path})`;
  if (shape === 'amount' && (column.type === 'decimal' || column.type === 'money')) {
    return `$minorToMajor(${path}, ${siblingPath(path, 'currency', fields)})`;
  }
  return path;
}

const show = (value: unknown) => {
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
};

function score(column: Column, field: SampleField, fields: SampleField[]): Suggestion | null {
  const columnWords = nameWords(column.logicalName);
  const fieldWords = nameWords(field.path.replace(/\[0\]/g, ''));
  const name = nameSimilarity(columnWords, fieldWords);

  const [type, typeReason] = typeFit(column, field.value);
  if (type === 0) return null;

  const wanted = columnShape(column, columnWords);
  const found = valueShape(field, fields);
  let shape = 0.5;
  let shapeReason: string | undefined;
  if (found === 'stripeid' && idFits(columnWords, field.value as string) === false) return null;
  if (wanted && found) {
    if (wanted !== found) return null;
    shape = 1;
    const object = found === 'stripeid' ? ID_PREFIXES[String(field.value).split('_')[0]] : undefined;
    const what = object ? `a Stripe ${object} id` : SHAPE_WORDS[found];
    shapeReason = `${show(field.value)} looks like ${what}, as the column holds`;
  } else if (wanted === 'amount' && typeof field.value === 'number') {
    // A number not known to be in minor units (no currency beside it): possible, not likely.
    shape = 0.2;
  } else if (wanted && field.value !== null) {
    shape = 0.2;
  } else if (found) {
    shapeReason = `${show(field.value)} looks like ${SHAPE_WORDS[found]}`;
  }
  // Neither the name nor the value points to this column: not a suggestion.
  if (name === 0 && shape < 1) return null;

  const total = Math.round((0.5 * name + 0.25 * type + 0.25 * shape) * 100) / 100;
  const shared = columnWords.filter((word) => fieldWords.includes(word));
  const nameReason =
    name === 0
      ? `the names share no word`
      : `the names match${shared.length ? ` on ${[...new Set(shared)].join(', ')}` : ''} (${Math.round(name * 100)}%)`;
  const reasons = [nameReason, typeReason, shapeReason].filter(Boolean).join('; ');
  return {
    column: column.logicalName,
    source: field.path,
    expression: expressionFor(column, field, found, fields),
    score: total,
    reason: `${column.logicalName} ← ${field.path}: ${reasons}`,
  };
}
