/**
 * Stripe amounts are integers in the currency's smallest unit; Dataverse money is in major units. The
 * conversion is done on the decimal digits, never by dividing a float, so 1999 USD is exactly 19.99.
 */
import { THREE_DECIMAL_CURRENCIES, ZERO_DECIMAL_CURRENCIES } from '@stc/solution';

const ZERO_DECIMAL = new Set(ZERO_DECIMAL_CURRENCIES);
const THREE_DECIMAL = new Set(THREE_DECIMAL_CURRENCIES);

export class MoneyError extends Error {
  override name = 'MoneyError';
}

/** Number of minor digits of a currency as Stripe counts them (ISO code, any case). */
export function currencyExponent(currency: string): number {
  if (typeof currency !== 'string' || !/^[a-z]{3}$/i.test(currency)) {
    throw new MoneyError(`"${String(currency)}" is not a three-letter currency code`);
  }
  const code = currency.toLowerCase();
  if (ZERO_DECIMAL.has(code)) return 0;
  if (THREE_DECIMAL.has(code)) return 3;
  return 2;
}

function integerDigits(amount: unknown): string {
  if (typeof amount === 'bigint') return amount.toString();
  if (typeof amount === 'number') {
    if (!Number.isSafeInteger(amount)) {
      throw new MoneyError(
        `amount ${amount} is not a safe integer in minor units; pass larger amounts as a string of digits`,
      );
    }
    return String(amount);
  }
  if (typeof amount === 'string' && /^-?\d+$/.test(amount)) return amount;
  throw new MoneyError(`amount ${JSON.stringify(amount)} is not an integer in minor units`);
}

/**
 * The exact decimal text of a minor-unit amount in major units: `('1999','usd') → '19.99'`,
 * `(19995,'kwd') → '19.995'`, `(1999,'jpy') → '1999'`. Trailing zeros are kept to the currency's exponent.
 */
export function minorToMajorString(amount: unknown, currency: string): string {
  const exponent = currencyExponent(currency);
  let digits = integerDigits(amount);
  const negative = digits.startsWith('-');
  if (negative) digits = digits.slice(1);
  digits = digits.replace(/^0+(?=\d)/, '');
  if (exponent > 0) {
    digits = digits.padStart(exponent + 1, '0');
    digits = `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  }
  return negative && /[1-9]/.test(digits) ? `-${digits}` : digits;
}

/**
 * The decimal text as a JSON number, only when the number prints back as the same decimal: then the
 * JSON body Dataverse receives carries exactly these digits. Otherwise a MoneyError (more significant
 * digits than a double holds), never a silently rounded amount.
 */
export function decimalToNumber(decimal: string): number {
  const value = Number(decimal);
  // Up to 15 significant digits, a decimal always survives the trip through a double unchanged.
  if (significantDigits(decimal) <= 15 && Number.isFinite(value)) return value;
  if (!Number.isFinite(value) || !sameDecimal(String(value), decimal)) {
    throw new MoneyError(`${decimal} has more significant digits than a JSON number carries exactly`);
  }
  return value;
}

function significantDigits(decimal: string): number {
  let count = 0;
  let leading = true;
  for (let i = 0; i < decimal.length; i++) {
    const code = decimal.charCodeAt(i);
    if (code < 48 || code > 57) continue;
    if (leading && code === 48) continue;
    leading = false;
    count++;
  }
  return count;
}

/** Compares two decimal texts by value: '19.90' equals '19.9', '-0' equals '0'. */
function sameDecimal(a: string, b: string): boolean {
  return normalise(a) === normalise(b);
}

function normalise(text: string): string {
  if (/e/i.test(text)) {
    // Number → String uses exponent notation outside 1e-7..1e21; expand it to compare digits.
    const [mantissa, exp] = text.toLowerCase().split('e');
    const negative = mantissa.startsWith('-');
    const [intPart, fracPart = ''] = mantissa.replace('-', '').split('.');
    let digits = intPart + fracPart;
    let point = intPart.length + Number(exp);
    if (point <= 0) {
      digits = '0'.repeat(1 - point) + digits;
      point = 1;
    }
    if (point > digits.length) digits = digits.padEnd(point, '0');
    return normalise(`${negative ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`);
  }
  let negative = text.startsWith('-');
  let [intPart, fracPart = ''] = text.replace(/^[-+]/, '').split('.');
  intPart = intPart.replace(/^0+(?=\d)/, '');
  fracPart = fracPart.replace(/0+$/, '');
  if (intPart === '0' && fracPart === '') negative = false;
  return `${negative ? '-' : ''}${intPart}${fracPart ? `.${fracPart}` : ''}`;
}

/** Minor units to a major-unit JSON number built from the exact decimal text. */
export function minorToMajor(amount: unknown, currency: string): number {
  return decimalToNumber(minorToMajorString(amount, currency));
}

/**
 * A major-unit amount as Dataverse returns it (a JSON number, or its decimal text) back to exact minor units:
 * `(19.99, 'usd') → 1999n`, `(1999, 'jpy') → 1999n`. More decimals than the currency has is a MoneyError,
 * never a rounded amount.
 */
export function majorToMinor(amount: number | string, currency: string): bigint {
  const exponent = currencyExponent(currency);
  const text = typeof amount === 'number' && Number.isFinite(amount) ? String(amount) : String(amount).trim();
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(text)) {
    throw new MoneyError(`amount ${JSON.stringify(amount)} is not a decimal number`);
  }
  const [integer, fraction = ''] = normalise(text).replace('-', '').split('.');
  if (fraction.length > exponent) {
    throw new MoneyError(
      `amount ${text} has ${fraction.length} decimals; ${currency.toUpperCase()} has ${exponent}`,
    );
  }
  const minor = BigInt(`${integer}${fraction.padEnd(exponent, '0')}`);
  return normalise(text).startsWith('-') ? -minor : minor;
}
