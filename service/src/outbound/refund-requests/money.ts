/**
 * Major units (a Dataverse money value) to Stripe's minor units, on the decimal digits so that 19.99 USD is
 * exactly 1999 and never 1998.9999. The inverse of the mapping engine's `minorToMajorString`.
 */
import { currencyExponent, minorToMajorString, MoneyError } from '../../mapping';

/**
 * `(19.99, 'usd') → 1999`, `(1999, 'jpy') → 1999`, `(19.995, 'kwd') → 19995`. A value with more decimals
 * than the currency has (19.999 USD, 10.5 JPY) is a MoneyError, not a rounded amount.
 */
export function majorToMinor(amount: unknown, currency: string): number {
  const exponent = currencyExponent(currency);
  const text =
    typeof amount === 'number' ? decimalText(amount) : typeof amount === 'string' ? amount.trim() : '';
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new MoneyError(`${JSON.stringify(amount)} is not an amount in major units`);
  const [, sign, whole, fraction = ''] = match;
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > exponent) {
    throw new MoneyError(
      `${text} ${currency.toUpperCase()} has more decimals than the currency's ${exponent}`,
    );
  }
  const minor = Number(`${sign}${whole}${significant.padEnd(exponent, '0')}`);
  if (!Number.isSafeInteger(minor)) throw new MoneyError(`${text} ${currency.toUpperCase()} is too large`);
  return minor === 0 ? 0 : minor;
}

/** Minor units back to the major-unit text users read in messages (`1999, 'usd' → '19.99 USD'`). */
export function formatMinor(minor: number, currency: string): string {
  return `${minorToMajorString(minor, currency)} ${currency.toUpperCase()}`;
}

function decimalText(value: number): string {
  if (!Number.isFinite(value)) return '';
  // Plain notation for the range money lives in; toString would switch to exponent form below 1e-7.
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(20).replace(/\.?0+$/, '') : text;
}
