import { THREE_DECIMAL_CURRENCIES, ZERO_DECIMAL_CURRENCIES } from '@stc/solution';
import {
  currencyExponent,
  decimalToNumber,
  majorToMinor,
  minorToMajor,
  minorToMajorString,
  MoneyError,
} from '../money';

describe('minor units to major units', () => {
  test.each([
    [1999, 'usd', '19.99'],
    [1999, 'USD', '19.99'],
    [1990, 'eur', '19.90'],
    [5, 'usd', '0.05'],
    [0, 'usd', '0.00'],
    [-250, 'gbp', '-2.50'],
    [1999, 'jpy', '1999'],
    [1999, 'krw', '1999'],
    [100, 'xof', '100'],
    [19995, 'kwd', '19.995'],
    [5, 'bhd', '0.005'],
    [1000, 'tnd', '1.000'],
    ['900719925474099312', 'usd', '9007199254740993.12'],
    ['123456789012345678901234567890', 'jpy', '123456789012345678901234567890'],
  ])('%s %s is %s', (amount, currency, expected) => {
    expect(minorToMajorString(amount, currency)).toBe(expected);
  });

  test.each([
    [1999, 'usd', 19.99, '19.99'],
    [1999, 'jpy', 1999, '1999'],
    [19995, 'kwd', 19.995, '19.995'],
    [1, 'usd', 0.01, '0.01'],
    [10, 'usd', 0.1, '0.1'],
    // Amounts a float division gets wrong: 1.15 * 100 style errors never appear.
    [115, 'usd', 1.15, '1.15'],
    [100000000000007, 'usd', 1000000000000.07, '1000000000000.07'],
    [Number.MAX_SAFE_INTEGER, 'jpy', Number.MAX_SAFE_INTEGER, '9007199254740991'],
  ])('%s %s is the JSON number %s', (amount, currency, expected, json) => {
    const value = minorToMajor(amount, currency);
    expect(value).toBe(expected);
    expect(JSON.stringify({ value })).toBe(`{"value":${json}}`);
  });

  test('an amount with more digits than a JSON number keeps is refused, not rounded', () => {
    expect(() => minorToMajor('900719925474099312', 'usd')).toThrow(MoneyError);
    expect(() => minorToMajor('900719925474099312', 'usd')).toThrow(/more significant digits/);
  });

  test('an unsafe integer, a fraction or a bad currency is refused', () => {
    expect(() => minorToMajor(2 ** 60, 'usd')).toThrow(/not a safe integer/);
    expect(() => minorToMajor(19.99, 'usd')).toThrow(/not a safe integer/);
    expect(() => minorToMajor('12a', 'usd')).toThrow(/not an integer/);
    expect(() => currencyExponent('dollars')).toThrow(/three-letter/);
  });

  test('exponents follow Stripe’s currency classes', () => {
    // The classes are the solution's one list; a few of Stripe's members, each class's exponent per member.
    expect(ZERO_DECIMAL_CURRENCIES).toEqual(expect.arrayContaining(['jpy', 'krw', 'clp', 'vnd', 'xof']));
    expect(THREE_DECIMAL_CURRENCIES).toEqual(expect.arrayContaining(['bhd', 'kwd', 'tnd']));
    for (const code of ZERO_DECIMAL_CURRENCIES) expect(currencyExponent(code)).toBe(0);
    for (const code of THREE_DECIMAL_CURRENCIES) expect(currencyExponent(code)).toBe(3);
    for (const code of ['usd', 'eur', 'gbp', 'isk', 'huf']) expect(currencyExponent(code)).toBe(2);
  });

  test('decimal text to number round-trips or fails', () => {
    expect(decimalToNumber('0.30')).toBe(0.3);
    expect(decimalToNumber('-0.00')).toBe(-0);
    expect(() => decimalToNumber('0.1000000000000000055511151231257827')).toThrow(MoneyError);
  });
});

describe('major units back to minor units', () => {
  test.each([
    [19.99, 'usd', 1999n],
    [0.07, 'usd', 7n],
    [-2.5, 'gbp', -250n],
    [1999, 'jpy', 1999n],
    [19.995, 'kwd', 19995n],
    [0.001, 'bhd', 1n],
    ['9007199254740993.12', 'usd', 900719925474099312n],
    [1e21, 'jpy', 1000000000000000000000n],
    [0, 'usd', 0n],
  ])('%s %s is %s minor units', (amount, currency, expected) => {
    expect(majorToMinor(amount, currency)).toBe(expected);
  });

  test('every minor amount survives the trip to a JSON number and back', () => {
    for (const [minor, currency] of [
      [1999, 'usd'],
      [123456789, 'kwd'],
      [987654321, 'jpy'],
      [-1, 'eur'],
    ] as const) {
      expect(majorToMinor(minorToMajor(minor, currency), currency)).toBe(BigInt(minor));
    }
  });

  test('more decimals than the currency has, or no number at all, is refused', () => {
    expect(() => majorToMinor(19.999, 'usd')).toThrow('amount 19.999 has 3 decimals; USD has 2');
    expect(() => majorToMinor(0.5, 'jpy')).toThrow('JPY has 0');
    expect(() => majorToMinor('abc', 'usd')).toThrow(MoneyError);
    expect(() => majorToMinor(Number.NaN, 'usd')).toThrow('is not a decimal number');
  });
});
