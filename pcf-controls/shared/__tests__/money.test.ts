import {
  amountText,
  currencyExponent,
  decimalsTyped,
  DEFAULT_NUMBER_FORMAT,
  formatMoney,
  numberFormatOf,
  parseAmount,
  readAmount,
  roundMoney,
} from '../money';
import { dashboardUrl } from '../stripeDashboard';
import { formatCurrency } from '../../__mocks__/mock-context';
import { validateRefund } from '../../PaymentPanel/components/RefundValidation';

const formatting = { formatCurrency: jest.fn(formatCurrency) };

describe('amounts per currency class', () => {
  it.each([
    ['usd', 1234.5, 2, 'USD 1,234.50'],
    ['eur', 0.1, 2, 'EUR 0.10'],
    ['jpy', 5000, 0, 'JPY 5,000'],
    ['krw', 12000, 0, 'KRW 12,000'],
    ['bhd', 1.25, 3, 'BHD 1.250'],
    ['kwd', 10, 3, 'KWD 10.000'],
  ])('%s %d is shown with %d decimals as %s', (currency, amount, digits, shown) => {
    expect(currencyExponent(currency)).toBe(digits);
    expect(formatMoney(formatting, amount, currency)).toBe(shown);
    expect(formatting.formatCurrency).toHaveBeenLastCalledWith(amount, digits, currency.toUpperCase());
  });

  it('rounds sums to the currency exponent', () => {
    expect(roundMoney(0.1 + 0.2, 'usd')).toBe(0.3);
    expect(roundMoney(1.0005, 'bhd')).toBe(1.001);
    expect(roundMoney(99.6, 'jpy')).toBe(100);
  });

  it('reads what a user typed with the default (en-US) format when the host gives none', () => {
    expect(parseAmount('12.50')).toBe(12.5);
    expect(parseAmount(' 12.5 ')).toBe(12.5);
    expect(parseAmount('1e3')).toBeUndefined();
    expect(parseAmount('-1')).toBeUndefined();
    expect(parseAmount('12.')).toBeUndefined();
    // A comma is the group separator in en-US, never a decimal separator.
    expect(parseAmount(' 12,5 ')).toBeUndefined();
    expect(numberFormatOf(undefined)).toBe(DEFAULT_NUMBER_FORMAT);
  });
});

const EN_US = numberFormatOf({
  numberDecimalSeparator: '.',
  numberGroupSeparator: ',',
  numberGroupSizes: [3],
});
const DE_DE = numberFormatOf({
  numberDecimalSeparator: ',',
  numberGroupSeparator: '.',
  numberGroupSizes: [3],
});
const FR_FR = numberFormatOf({
  numberDecimalSeparator: ',',
  numberGroupSeparator: '\u202f',
  numberGroupSizes: [3],
});
const EN_IN = numberFormatOf({
  numberDecimalSeparator: '.',
  numberGroupSeparator: ',',
  numberGroupSizes: [3, 2],
});

describe('typed amounts in the user number format', () => {
  it.each([
    ['1,500', 1500, 0, EN_US],
    ['1,234,567.891', 1234567.891, 3, EN_US],
    ['1500', 1500, 0, EN_US],
    ['1.500,5', 1500.5, 1, DE_DE],
    ['1,500', 1.5, 3, DE_DE],
    ['1.500', 1500, 0, DE_DE],
    ['1 500,25', 1500.25, 2, FR_FR],
    ['1\u00a0500,25', 1500.25, 2, FR_FR],
    ['12,34,567.5', 1234567.5, 1, EN_IN],
  ])('%s reads as %d with %d decimals', (text, amount, decimals, format) => {
    expect(readAmount(text, format)).toEqual({ ok: true, amount, decimals });
    expect(decimalsTyped(text, format)).toBe(decimals);
  });

  it.each([
    ['12,5', EN_US],
    ['1,50', EN_US],
    ['1500,000', EN_US],
    [',500', EN_US],
    ['1,,500', EN_US],
    ['1.500.000', EN_US],
    ['1.500,5', EN_US],
    ['1 500', EN_US],
    ['1.5', DE_DE],
    ['1,500.5', DE_DE],
    ['1,234,567.5', EN_IN],
  ])('%s has separators out of place', (text, format) => {
    expect(readAmount(text, format)).toEqual({ ok: false, problem: 'separators' });
    expect(parseAmount(text, format)).toBeUndefined();
  });

  it('takes the separators from the platform, and falls back where they are unusable', () => {
    expect(DE_DE).toEqual({ decimalSeparator: ',', groupSeparator: '.', groupSizes: [3] });
    expect(numberFormatOf({ numberDecimalSeparator: '' })).toBe(DEFAULT_NUMBER_FORMAT);
    expect(numberFormatOf({ numberDecimalSeparator: ',', numberGroupSeparator: ',' })).toEqual({
      decimalSeparator: ',',
      groupSeparator: '',
      groupSizes: [3],
    });
  });

  it('writes amounts back as the user types them', () => {
    expect(amountText(75, 'usd', DE_DE)).toBe('75');
    expect(amountText(1500.5, 'eur', DE_DE)).toBe('1500,5');
    expect(amountText(1234.5, 'kwd', DE_DE, { pad: true, grouped: true })).toBe('1.234,500');
    expect(amountText(1234.5, 'jpy', EN_US, { pad: true, grouped: true })).toBe('1,235');
    expect(amountText(1234567.5, 'inr', EN_IN, { pad: true, grouped: true })).toBe('12,34,567.50');
    expect(readAmount(amountText(1234.5, 'kwd', FR_FR, { pad: true, grouped: true }), FR_FR)).toEqual({
      ok: true,
      amount: 1234.5,
      decimals: 3,
    });
  });
});

describe('refund amount validation per currency', () => {
  const check = (amountText: string, refundable: number, currency: string, format = DEFAULT_NUMBER_FORMAT) =>
    validateRefund(
      { amountText, reason: 'duplicate', note: '' },
      refundable,
      currency,
      `${currency} ${refundable}`,
      format,
    );

  it('takes whole yen and rejects decimals for JPY', () => {
    expect(check('500', 1000, 'jpy').value?.amount).toBe(500);
    expect(check('500.5', 1000, 'jpy').errors.amount).toEqual({
      key: 'Refund_AmountPrecision',
      args: ['JPY', 0],
    });
  });

  it('takes three decimals for BHD', () => {
    expect(check('1.125', 2, 'bhd').value?.amount).toBe(1.125);
    expect(check('1.1255', 2, 'bhd').errors.amount?.key).toBe('Refund_AmountPrecision');
  });

  it('accepts exactly the refundable amount and rejects one cent more', () => {
    expect(check('80.00', 80, 'usd').value?.amount).toBe(80);
    expect(check('80.01', 80, 'usd').errors.amount).toEqual({
      key: 'Refund_AmountTooHigh',
      args: ['usd 80'],
    });
  });

  it('reads en-US 1,500 KWD as one thousand five hundred, not 1.500', () => {
    expect(check('1,500', 2000, 'kwd', EN_US).value?.amount).toBe(1500);
    expect(check('1,500', 2000, 'kwd').value?.amount).toBe(1500);
    expect(check('1,500', 2, 'kwd', EN_US).errors.amount).toEqual({
      key: 'Refund_AmountTooHigh',
      args: ['kwd 2'],
    });
  });

  it('reads de-DE 1.500,5 EUR as 1500.50 and de-DE 1,500 KWD as 1.500', () => {
    expect(check('1.500,5', 2000, 'eur', DE_DE).value?.amount).toBe(1500.5);
    expect(check('1,500', 2, 'kwd', DE_DE).value?.amount).toBe(1.5);
    expect(check('1,500', 2, 'eur', DE_DE).errors.amount?.key).toBe('Refund_AmountPrecision');
  });

  it('rejects a misplaced group separator and says how to type the amount', () => {
    expect(check('1,50', 2000, 'kwd', EN_US).errors.amount).toEqual({
      key: 'Refund_AmountSeparators',
      args: ['.', '1,234.500', '1234.500'],
    });
    expect(check('1.5', 2000, 'eur', DE_DE).errors.amount).toEqual({
      key: 'Refund_AmountSeparators',
      args: [',', '1.234,50', '1234,50'],
    });
    expect(check('12,5', 80, 'usd').value).toBeUndefined();
    expect(check('abc', 80, 'eur', DE_DE).errors.amount).toEqual({
      key: 'Refund_AmountInvalid',
      args: ['12,50'],
    });
  });

  it('requires a reason and bounds the note', () => {
    const result = validateRefund({ amountText: '1', note: 'x'.repeat(2001) }, 10, 'usd', 'USD 10.00');
    expect(result.errors.reason?.key).toBe('Refund_ReasonRequired');
    expect(result.errors.note).toEqual({ key: 'Refund_NoteTooLong', args: [2000] });
    expect(result.value).toBeUndefined();
  });
});

describe('Stripe Dashboard links', () => {
  it.each([
    [false, null, 'https://dashboard.stripe.com/test/payments/pi_1'],
    [true, null, 'https://dashboard.stripe.com/payments/pi_1'],
    [true, 'acct_1Abc', 'https://dashboard.stripe.com/acct_1Abc/payments/pi_1'],
    [false, 'acct_1Abc', 'https://dashboard.stripe.com/acct_1Abc/test/payments/pi_1'],
    [true, 'not an account', 'https://dashboard.stripe.com/payments/pi_1'],
  ])('livemode %s, account %s → %s', (livemode, account, url) => {
    expect(dashboardUrl('payments', 'pi_1', livemode, account)).toBe(url);
  });
});
