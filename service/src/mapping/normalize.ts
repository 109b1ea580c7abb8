/**
 * Normalising functions for mapping expressions: phone numbers, countries, e-mail addresses, people's names.
 *
 * Each takes whatever a Stripe field holds. `undefined` (a field the object lacks) passes through, so the
 * column is left as it is; any other value that is not text, or text that is not a phone number, country or
 * name, gives `null`. None of them throws: a customer's typo must not fail the event.
 */
import countries from 'i18n-iso-countries';
import english from 'i18n-iso-countries/langs/en.json';
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

countries.registerLocale(english);

/** Text worth reading, or null. Numbers count (a phone number stored as a number). */
function textOf(value: unknown): string | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? String(value) : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  return text === '' ? null : text;
}

/**
 * The ISO 3166-1 alpha-2 code of a country given by its alpha-2 or alpha-3 code (any case) or its English
 * name or a common English alias ("United States", "UK"): `US`, `GB`. Null for anything else.
 */
export function countryCode(value: unknown): string | null | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value.trim() : null;
  if (!text) return null;
  const upper = text.toUpperCase();
  if (upper.length === 2 && countries.isValid(upper)) return upper;
  if (upper.length === 3) {
    const fromAlpha3 = countries.alpha3ToAlpha2(upper);
    if (fromAlpha3) return fromAlpha3;
  }
  return countries.getAlpha2Code(text, 'en') ?? null;
}

/**
 * The English short name ISO 3166 gives a country ("United States of America", "United Kingdom"), from a
 * code or a name `countryCode` knows. Dataverse's address country columns hold a name, Stripe a code.
 */
export function countryName(value: unknown): string | null | undefined {
  const code = countryCode(value);
  if (code === undefined || code === null) return code;
  return countries.getName(code, 'en', { select: 'official' }) ?? null;
}

/**
 * A phone number in E.164 (`+14155552671`), read with libphonenumber's full metadata, so only numbers valid
 * for their country's numbering plan pass. A number without its `+` prefix is read as a number of
 * `defaultCountry` (a code or name, e.g. the address country). Null for a number that is not valid.
 */
export function phoneE164(value: unknown, defaultCountry?: unknown): string | null | undefined {
  if (value === undefined) return undefined;
  const text = textOf(value);
  if (text === null) return null;
  const region = countryCode(defaultCountry);
  const options =
    region && isSupportedCountry(region) ? { defaultCountry: region as CountryCode } : undefined;
  try {
    const parsed = parsePhoneNumberFromString(text, options);
    return parsed?.isValid() ? parsed.number : null;
  } catch {
    return null;
  }
}

/** An e-mail address trimmed and lower-cased, as mail systems and Dataverse's duplicate rules treat it. */
export function normalizeEmail(value: unknown): string | null | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return null;
  const text = value.trim().toLowerCase();
  return text === '' ? null : text;
}

/** Lower-case between other words of a name: van der Berg, de la Cruz, da Silva, bin Rashid. */
const PARTICLES = new Set([
  'van',
  'von',
  'der',
  'den',
  'de',
  'del',
  'della',
  'da',
  'das',
  'dos',
  'di',
  'du',
  'la',
  'le',
  'ten',
  'ter',
  'bin',
  'ibn',
]);
const ROMAN_NUMERALS = /^(ii|iii|iv|vi|vii|viii|ix)$/;

function capitalise(part: string): string {
  return part.charAt(0).toUpperCase() + part.slice(1);
}

function caseWord(word: string, last: boolean): string {
  const lower = word.toLowerCase();
  if (!last && PARTICLES.has(lower)) return lower;
  if (ROMAN_NUMERALS.test(lower)) return lower.toUpperCase();
  // Each part after a hyphen or apostrophe starts a name of its own: Smith-Jones, O'Neil, D'Angelo.
  return lower
    .split(/(?<=[-'’])/)
    .map((part) => {
      const cased = capitalise(part);
      // Mc is always a prefix (McDonald); Mac is not (Mack, Macy, Machado), so it is left alone.
      return /^Mc\p{L}/u.test(cased) ? `Mc${capitalise(cased.slice(2))}` : cased;
    })
    .join('');
}

/**
 * A person's name in the usual casing, for names typed all in capitals or all in small letters:
 * `JOHN O'NEIL` → `John O'Neil`, `ronald mcdonald` → `Ronald McDonald`, `jan van der berg` →
 * `Jan van der Berg`, `anne smith-jones` → `Anne Smith-Jones`. A name typed in mixed case is kept as typed
 * (only its spaces tidied): DeShawn, MacLeod, da Silva are written that way on purpose more often than any
 * rule could guess.
 */
export function nameCase(value: unknown): string | null | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return null;
  const words = value.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return null;
  const text = words.join(' ');
  const mixed = /\p{Lu}/u.test(text) && /\p{Ll}/u.test(text);
  if (mixed) return text;
  return words.map((word, index) => caseWord(word, index === words.length - 1)).join(' ');
}
