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

/** Parses what a user typed as an amount: digits with one `.` or `,` as the decimal separator. */
export function parseAmount(text: string): number | undefined {
  const trimmed = text.trim().replace(/\s/g, '');
  if (!/^\d+([.,]\d+)?$/.test(trimmed)) return undefined;
  return Number(trimmed.replace(',', '.'));
}

/** Number of digits after the decimal separator in what the user typed. */
export function decimalsTyped(text: string): number {
  const match = /[.,](\d+)$/.exec(text.trim());
  return match ? match[1].length : 0;
}
