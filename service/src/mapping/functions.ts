/**
 * Functions registered into every mapping expression, next to JSONata's own ($string, $join, $lookup…).
 * Each one passes `undefined` through, so a field an older API version lacks leaves the column untouched
 * instead of failing the mapping.
 */
import { minorToMajor, minorToMajorString } from './money';
import { countryCode, countryName, nameCase, normalizeEmail, phoneE164 } from './normalize';

export type LookupTables = Record<string, Record<string, unknown>>;

/** Result type of a function, for checking a column's type when the mapping loads. */
export type StaticType = 'decimal' | 'datetime' | 'dateonly' | 'string' | 'number' | 'boolean';

export interface MappingFunction {
  name: string;
  implementation: (...args: unknown[]) => unknown;
  signature?: string;
  returns?: StaticType;
}

const isAbsent = (value: unknown): value is undefined | null => value === undefined || value === null;

function unixSeconds(value: unknown, fn: string): Date {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`$${fn}: ${JSON.stringify(value)} is not a Unix time in seconds`);
  }
  return new Date(value * 1000);
}

/** `2021-04-29T12:58:31Z`: Dataverse takes UTC date-times; Stripe times are whole seconds. */
export function unixToDateTime(value: unknown): string | null | undefined {
  if (isAbsent(value)) return value;
  // Whole seconds: the milliseconds part of the ISO text is always .000.
  return `${unixSeconds(value, 'unixToDateTime').toISOString().slice(0, 19)}Z`;
}

/** `2021-04-29`, the UTC calendar day, for Dataverse date-only columns. */
export function unixToDate(value: unknown): string | null | undefined {
  if (isAbsent(value)) return value;
  return unixSeconds(value, 'unixToDate').toISOString().slice(0, 10);
}

/** Joins the non-empty parts with one space: `$fullName(first, last)`; undefined when all are empty. */
export function fullName(...parts: unknown[]): string | undefined {
  const text = parts
    .filter((part) => typeof part === 'string' || typeof part === 'number')
    .map((part) => String(part).trim())
    .filter((part) => part !== '')
    .join(' ');
  return text === '' ? undefined : text;
}

function nameParts(name: unknown): [string, string] | undefined {
  if (typeof name !== 'string' || name.trim() === '') return undefined;
  const words = name.trim().split(/\s+/);
  if (words.length === 1) return ['', words[0]];
  return [words.slice(0, -1).join(' '), words[words.length - 1]];
}

/** Stripe keeps one `name`; a contact has first and last: everything before the last word. */
export function firstName(name: unknown): string | undefined {
  const parts = nameParts(name);
  return parts && parts[0] !== '' ? parts[0] : undefined;
}

/** The last word of a name; a one-word name is all last name (Dataverse requires `lastname`). */
export function lastName(name: unknown): string | undefined {
  return nameParts(name)?.[1];
}

export function builtInFunctions(lookups: LookupTables): MappingFunction[] {
  return [
    {
      name: 'minorToMajor',
      // amount, currency → major units as an exact JSON number (19.99, 1999, 19.995).
      implementation: (amount: unknown, currency: unknown) =>
        isAbsent(amount) ? amount : minorToMajor(amount, String(currency)),
      returns: 'decimal',
    },
    {
      name: 'minorToMajorString',
      // The same as text with the currency's digits kept ("19.90"), for text columns and labels.
      implementation: (amount: unknown, currency: unknown) =>
        isAbsent(amount) ? amount : minorToMajorString(amount, String(currency)),
      returns: 'string',
    },
    { name: 'unixToDateTime', implementation: unixToDateTime, returns: 'datetime' },
    { name: 'unixToDate', implementation: unixToDate, returns: 'dateonly' },
    { name: 'fullName', implementation: fullName, returns: 'string' },
    { name: 'firstName', implementation: firstName, returns: 'string' },
    { name: 'lastName', implementation: lastName, returns: 'string' },
    // Normalising (normalize.ts): never throw; undefined passes through, anything unreadable gives null.
    { name: 'phoneE164', implementation: phoneE164, returns: 'string' },
    { name: 'countryCode', implementation: countryCode, returns: 'string' },
    { name: 'countryName', implementation: countryName, returns: 'string' },
    { name: 'normalizeEmail', implementation: normalizeEmail, returns: 'string' },
    { name: 'nameCase', implementation: nameCase, returns: 'string' },
    {
      name: 'lookupTable',
      // A value from a named lookup table of the mapping file (e.g. Stripe price id → D365 product number).
      implementation: (table: unknown, key: unknown) => {
        const entries = lookups[String(table)];
        if (!entries) throw new Error(`$lookupTable: no lookup table named "${String(table)}"`);
        if (isAbsent(key)) return undefined;
        return Object.prototype.hasOwnProperty.call(entries, String(key)) ? entries[String(key)] : undefined;
      },
    },
  ];
}
