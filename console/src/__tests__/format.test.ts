/** Amounts, durations and days as the console's tables show them. */
import { day, duration, money } from '../format';

test('amounts in minor units read in their currency, whatever its decimals', () => {
  expect(money(12345, 'usd')).toBe(
    new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD' }).format(123.45),
  );
  expect(money(1500, 'jpy')).toContain('1,500');
  expect(money(1500, 'jpy')).not.toContain('15.00');
  expect(money(1234, 'kwd')).toContain('1.234');
  expect(money(7, 'usd')).toContain('0.07');
  expect(money(null, 'usd')).toBe('—');
});

test('durations from milliseconds to days', () => {
  expect(duration(850)).toBe('850 ms');
  expect(duration(12_400)).toBe('12.4 s');
  expect(duration(200_000)).toBe('3 min 20 s');
  expect(duration(7_500_000)).toBe('2 h 5 min');
  expect(duration(4 * 86_400_000 + 3 * 3_600_000)).toBe('4 d 3 h');
  expect(duration(null)).toBe('—');
});

test('a payout arrives on a day, read in UTC as Stripe states it', () => {
  expect(day(Date.UTC(2026, 11, 5))).toBe(
    new Date(Date.UTC(2026, 11, 5)).toLocaleDateString(undefined, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      timeZone: 'UTC',
    }),
  );
  expect(day(Date.UTC(2026, 11, 5))).toContain('5');
  expect(day(null)).toBe('—');
});
