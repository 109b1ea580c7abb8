import { model } from '@stc/solution';
import { applyMapping, compileMapping, type EventEnvelope } from '..';
import { countryCode, countryName, nameCase, normalizeEmail, phoneE164 } from '../normalize';

describe('phoneE164', () => {
  test.each([
    ['+1 (415) 555-2671', undefined, '+14155552671'],
    ['(415) 555-2671', 'US', '+14155552671'],
    ['020 7946 0000', 'GB', '+442079460000'],
    ['020 7946 0000', 'United Kingdom', '+442079460000'],
    ['020 7946 0000', 'gb', '+442079460000'],
    ['+44 20 7946 0000', 'US', '+442079460000'],
    ['+6587498462', null, '+6587498462'],
    [4155552671, 'US', '+14155552671'],
  ])('%j in %j is %j', (phone, country, expected) => {
    expect(phoneE164(phone, country)).toBe(expected);
  });

  test.each([
    ['12', 'US'],
    ['1234567890', undefined],
    ['(415) 555-2671', undefined],
    ['(415) 555-2671', 'not a country'],
    ['+1 555 0100', undefined],
    ['call me', 'US'],
    ['', 'US'],
    [null, 'US'],
    [['+14155552671'], 'US'],
    [{ number: '+14155552671' }, 'US'],
    [true, 'US'],
    [-4155552671, 'US'],
    [1.5, 'US'],
  ])('%j in %j is not a valid number: null', (phone, country) => {
    expect(phoneE164(phone, country)).toBeNull();
  });

  test('a missing field stays missing', () => {
    expect(phoneE164(undefined, 'US')).toBeUndefined();
  });
});

describe('countries', () => {
  test.each([
    ['US', 'US'],
    ['gb', 'GB'],
    [' DE ', 'DE'],
    ['DEU', 'DE'],
    ['United States', 'US'],
    ['united kingdom', 'GB'],
    ['UK', 'GB'],
  ])('countryCode(%j) is %j', (value, code) => {
    expect(countryCode(value)).toBe(code);
  });

  test.each([
    ['US', 'United States of America'],
    ['GB', 'United Kingdom'],
    ['fr', 'France'],
    ['Deutschland?', null],
    ['United States', 'United States of America'],
  ])('countryName(%j) is %j', (value, name) => {
    expect(countryName(value)).toBe(name);
  });

  test.each([['XX'], ['ABCD'], [''], [42], [['US']], [null]])('%j is no country: null', (value) => {
    expect(countryCode(value)).toBeNull();
    expect(countryName(value)).toBeNull();
  });

  test('a missing field stays missing', () => {
    expect(countryCode(undefined)).toBeUndefined();
    expect(countryName(undefined)).toBeUndefined();
  });
});

describe('normalizeEmail', () => {
  test('trims and lower-cases', () => {
    expect(normalizeEmail('  Jenny.Rosen@Example.COM ')).toBe('jenny.rosen@example.com');
  });
  test.each([[''], ['   '], [7], [['a@b.c']], [null]])('%j gives null', (value) => {
    expect(normalizeEmail(value)).toBeNull();
  });
  test('a missing field stays missing', () => {
    expect(normalizeEmail(undefined)).toBeUndefined();
  });
});

describe('nameCase', () => {
  test.each([
    ["JOHN O'NEIL", "John O'Neil"],
    ["mary o'neil", "Mary O'Neil"],
    ['ronald mcdonald', 'Ronald McDonald'],
    ['jan van der berg', 'Jan van der Berg'],
    ['VAN DER BERG', 'van der Berg'],
    ['anne smith-jones', 'Anne Smith-Jones'],
    ['maria da silva', 'Maria da Silva'],
    ['ANNA MACHADO', 'Anna Machado'],
    ['HENRY VIII', 'Henry VIII'],
    ['  josé   garcía ', 'José García'],
  ])('%j → %j', (typed, cased) => {
    expect(nameCase(typed)).toBe(cased);
  });

  test.each([['DeShawn Jones'], ['Ian MacLeod'], ['Ludwig van Beethoven'], ['ACME Ltd.']])(
    'mixed case %j is kept as typed',
    (typed) => {
      expect(nameCase(typed)).toBe(typed);
    },
  );

  test.each([[''], ['  '], [3], [['ann']], [null], [{ name: 'ann' }]])('%j gives null', (value) => {
    expect(nameCase(value)).toBeNull();
  });
});

describe('the functions in mapping expressions', () => {
  const event: EventEnvelope = {
    id: 'evt_1',
    type: 'customer.updated',
    created: 1,
    account: null,
    livemode: false,
  };
  const mapping = compileMapping(
    'contact_test',
    {
      source: 'customer',
      table: 'contact',
      key: { stc_stripecustomerid: 'id' },
      columns: {
        lastname: '$nameCase(name)',
        emailaddress1: '$normalizeEmail(email)',
        telephone1: '$phoneE164(phone, address.country)',
        address1_country: '$countryName(address.country)',
        address1_line1: '$countryCode(address.line1)',
      },
    },
    { model, lookups: {}, file: 'test.yaml', version: '1' },
  );

  test('give the same values as the functions themselves', async () => {
    const mapped = await applyMapping(
      mapping,
      {
        id: 'cus_1',
        name: "MARY O'NEIL",
        email: ' Mary@Example.com',
        phone: '020 7946 0000',
        address: { country: 'GB', line1: 'Germany' },
      },
      event,
    );
    expect(mapped.row).toMatchObject({
      lastname: "Mary O'Neil",
      emailaddress1: 'mary@example.com',
      telephone1: '+442079460000',
      address1_country: 'United Kingdom',
      address1_line1: 'DE',
    });
  });

  test('turn values of another type into null, never an error', async () => {
    const mapped = await applyMapping(
      mapping,
      { id: 'cus_1', name: ['x'], email: 5, phone: { n: 1 }, address: { country: [1, 2], line1: true } },
      event,
    );
    expect(mapped.row).toMatchObject({
      lastname: null,
      emailaddress1: null,
      telephone1: null,
      address1_country: null,
      address1_line1: null,
    });
  });
});
