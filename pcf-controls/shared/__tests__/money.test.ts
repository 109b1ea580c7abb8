import { currencyExponent, formatMoney, parseAmount, roundMoney } from '../money';
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

  it('reads what a user typed with a point or a comma', () => {
    expect(parseAmount('12.50')).toBe(12.5);
    expect(parseAmount(' 12,5 ')).toBe(12.5);
    expect(parseAmount('1e3')).toBeUndefined();
    expect(parseAmount('-1')).toBeUndefined();
  });
});

describe('refund amount validation per currency', () => {
  const check = (amountText: string, refundable: number, currency: string) =>
    validateRefund(
      { amountText, reason: 'duplicate', note: '' },
      refundable,
      currency,
      `${currency} ${refundable}`,
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
