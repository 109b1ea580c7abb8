/**
 * Amounts in Dataverse are stored in major units (12.50 USD, 1250 JPY, 1.250 BHD). The number of digits shown
 * is the currency's own exponent, as Stripe defines it, not the user's default precision.
 */

// The currency list alone, not the package index: the index would bring the whole table model into the bundle.
import { THREE_DECIMAL_CURRENCIES, ZERO_DECIMAL_CURRENCIES } from '@stc/solution/src/currencies';

const ZERO_DECIMAL = new Set(ZERO_DECIMAL_CURRENCIES);
const THREE_DECIMAL = new Set(THREE_DECIMAL_CURRENCIES);

/** Digits after the decimal point for an ISO 4217 code (any case). */
export function currencyExponent(currency: string): number {
  const code = currency.toLowerCase();
  if (ZERO_DECIMAL.has(code)) return 0;
  if (THREE_DECIMAL.has(code)) return 3;
  return 2;
}

/** Rounds to the currency's exponent, so that 0.1 + 0.2 compares equal to 0.3 in money arithmetic. */
export function roundMoney(amount: number, currency: string): number {
  const factor = 10 ** currencyExponent(currency);
  return Math.round(amount * factor) / factor;
}

export interface CurrencyFormatter {
  formatCurrency(value: number, precision?: number, symbol?: string): string;
}

/** Formats through the platform (user's number format), with the currency's exponent and its ISO code. */
export function formatMoney(formatting: CurrencyFormatter, amount: number, currency: string): string {
  return formatting.formatCurrency(amount, currencyExponent(currency), currency.toUpperCase());
}

/**
 * The separators of the user's number format (Dynamics 365 personal options, given to a control as
 * `context.userSettings.numberFormattingInfo`). Typed amounts are read with these and nothing else.
 */
export interface NumberFormat {
  decimalSeparator: string;
  /** Empty when the format groups no digits. */
  groupSeparator: string;
  /** Digits per group, from the decimal separator leftwards; the last size repeats, 0 ends grouping. */
  groupSizes: number[];
}

/**
 * The format used where the host gives none (unit tests, the sandbox harness): en-US, `1,234.50`.
 * Dynamics 365 always gives one, so a user's amount is never read with this default in production.
 */
export const DEFAULT_NUMBER_FORMAT: NumberFormat = {
  decimalSeparator: '.',
  groupSeparator: ',',
  groupSizes: [3],
};

/** The part of the platform's `NumberFormattingInfo` the format is read from. */
interface NumberFormattingInfo {
  numberDecimalSeparator: string;
  numberGroupSeparator: string;
  numberGroupSizes: number[];
}

/** A separator must not be empty, contain a digit or a sign, or be longer than a few characters. */
function usableSeparator(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 3 && !/[\d+-]/.test(value);
}

/**
 * The user's number format from the platform's formatting info; `DEFAULT_NUMBER_FORMAT` when there is none or
 * its decimal separator is unusable. A group separator equal to the decimal separator is dropped (no grouping).
 */
export function numberFormatOf(info?: Partial<NumberFormattingInfo> | null): NumberFormat {
  if (!info || !usableSeparator(info.numberDecimalSeparator)) return DEFAULT_NUMBER_FORMAT;
  const decimalSeparator = info.numberDecimalSeparator;
  const group = info.numberGroupSeparator;
  const sizes = info.numberGroupSizes;
  return {
    decimalSeparator,
    groupSeparator:
      usableSeparator(group) && !group.includes(decimalSeparator) && !decimalSeparator.includes(group)
        ? group
        : '',
    groupSizes:
      Array.isArray(sizes) && sizes.length > 0 && sizes.every((size) => Number.isInteger(size) && size >= 0)
        ? sizes
        : [3],
  };
}

/**
 * What a typed amount reads as. `separators`: the text is digits and separators, but they are not where the
 * user's format puts them (a group separator after the decimals or in a group of the wrong size, two decimal
 * separators, a space that is not the group separator), so the text cannot be read without guessing.
 */
export type AmountReading =
  { ok: true; amount: number; decimals: number } | { ok: false; problem: 'invalid' | 'separators' };

const WHITESPACE = /\s/;

/** Whether digit groups, leftmost first, have the format's group sizes; the leftmost may be shorter. */
function groupsFit(groups: string[], sizes: number[]): boolean {
  const sizeAt = (index: number) => sizes[Math.min(index, sizes.length - 1)];
  for (let index = 0; index < groups.length - 1; index++) {
    const size = sizeAt(index);
    if (!size || groups[groups.length - 1 - index].length !== size) return false;
  }
  const leftmost = groups[0];
  const size = sizeAt(groups.length - 1);
  return leftmost.length > 0 && (!size || leftmost.length <= size);
}

/**
 * Reads a typed amount with the user's number format: digits, group separators only between groups of the
 * format's sizes, and at most one decimal separator followed by digits. With en-US `1,500` is 1500 and `1,5`
 * is rejected; with de-DE `1.500,5` is 1500.5 and `1,500` is 1.5. When the group separator is a space, any
 * space (including no-break spaces) counts as one; otherwise a space inside the amount is rejected.
 */
export function readAmount(text: string, format: NumberFormat = DEFAULT_NUMBER_FORMAT): AmountReading {
  const { decimalSeparator, groupSeparator, groupSizes } = format;
  let typed = text.trim();
  const withoutDecimal = typed.split(decimalSeparator).join('');
  const bare = (groupSeparator ? withoutDecimal.split(groupSeparator).join('') : withoutDecimal).replace(
    /\s/g,
    '',
  );
  // Anything but digits, spaces and the two separators is not a number in any format.
  if (!/^\d+$/.test(bare)) return { ok: false, problem: 'invalid' };
  if (WHITESPACE.test(typed)) {
    if (!WHITESPACE.test(groupSeparator)) return { ok: false, problem: 'separators' };
    typed = typed.replace(/\s+/g, groupSeparator);
  }
  const [integer, fraction, ...more] = typed.split(decimalSeparator);
  if (more.length > 0) return { ok: false, problem: 'separators' };
  if (fraction !== undefined && groupSeparator && fraction.includes(groupSeparator))
    return { ok: false, problem: 'separators' };
  const groups = groupSeparator ? integer.split(groupSeparator) : [integer];
  if (groups.length > 1 && (groups.some((group) => group === '') || !groupsFit(groups, groupSizes)))
    return { ok: false, problem: 'separators' };
  const digits = groups.join('');
  if (digits === '' || fraction === '') return { ok: false, problem: 'invalid' };
  const amount = Number(fraction === undefined ? digits : `${digits}.${fraction}`);
  if (!Number.isFinite(amount)) return { ok: false, problem: 'invalid' };
  return { ok: true, amount, decimals: fraction?.length ?? 0 };
}

/** The amount a user typed, read with their number format; undefined when it cannot be read (see `readAmount`). */
export function parseAmount(text: string, format: NumberFormat = DEFAULT_NUMBER_FORMAT): number | undefined {
  const reading = readAmount(text, format);
  return reading.ok ? reading.amount : undefined;
}

/** Number of digits after the user's decimal separator in what they typed; 0 when it cannot be read. */
export function decimalsTyped(text: string, format: NumberFormat = DEFAULT_NUMBER_FORMAT): number {
  const reading = readAmount(text, format);
  return reading.ok ? reading.decimals : 0;
}

function groupDigits(digits: string, format: NumberFormat): string {
  if (format.groupSeparator === '') return digits;
  const groups: string[] = [];
  let rest = digits;
  for (let index = 0; rest.length > 0; index++) {
    const size = format.groupSizes[Math.min(index, format.groupSizes.length - 1)];
    if (!size || rest.length <= size) {
      groups.unshift(rest);
      break;
    }
    groups.unshift(rest.slice(-size));
    rest = rest.slice(0, -size);
  }
  return groups.join(format.groupSeparator);
}

/**
 * Writes an amount the way the user types it, so that `readAmount` reads it back: the user's separators, at
 * most the currency's exponent in decimals. `pad` keeps trailing zeros (`12.50`), `grouped` groups the digits.
 */
export function amountText(
  amount: number,
  currency: string,
  format: NumberFormat = DEFAULT_NUMBER_FORMAT,
  options: { pad?: boolean; grouped?: boolean } = {},
): string {
  const fixed = Math.abs(roundMoney(amount, currency)).toFixed(currencyExponent(currency));
  const [integer, fraction = ''] = fixed.split('.');
  const decimals = options.pad ? fraction : fraction.replace(/0+$/, '');
  const whole = options.grouped ? groupDigits(integer, format) : integer;
  return `${amount < 0 ? '-' : ''}${whole}${decimals ? format.decimalSeparator + decimals : ''}`;
}
