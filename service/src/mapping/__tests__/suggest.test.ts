import { join } from 'node:path';
import { model, type Table } from '@stc/solution';
import { loadMappings } from '..';
import { runMappingCli } from '../cli';
import { flattenSample, mappedColumns, suggestColumns } from '../suggest';
import { recordedEvent, REFERENCE } from './fixtures';

const table = (name: string): Table => model.tables.find((entry) => entry.logicalName === name)!;
const shipped = loadMappings(join(__dirname, '../../../mappings'), { model });
const customer = recordedEvent('customer_updated').data.object;

/** The suggestions for one column, every column of the table counted as unmapped. */
function forColumn(tableName: string, column: string, sample: unknown) {
  const found = suggestColumns(table(tableName), sample).find((entry) => entry.column === column);
  expect(found).toBeDefined();
  return found!.suggestions;
}

test('a contact’s telephone1 is suggested from the customer’s phone, in E.164, with a reason naming both', () => {
  const [best] = forColumn('contact', 'telephone1', customer);
  expect(best).toMatchObject({ column: 'telephone1', source: 'phone', expression: '$phoneE164(phone)' });
  expect(best.reason).toMatch(/^telephone1 ← phone: /);
  expect(best.reason).toContain('"+6587498462" looks like a phone number');
  expect(best.score).toBeGreaterThan(0.9);
});

test('e-mail, address, name and live mode columns get the matching customer fields', () => {
  const best = (column: string) => forColumn('contact', column, customer)[0];
  expect(best('emailaddress1')).toMatchObject({ source: 'email', expression: '$normalizeEmail(email)' });
  expect(best('address1_postalcode')).toMatchObject({ source: 'shipping.address.postal_code' });
  expect(best('address1_line1')).toMatchObject({ source: 'shipping.address.line1' });
  expect(best('firstname')).toMatchObject({ source: 'name', expression: '$firstName(name)' });
  expect(best('stc_livemode')).toMatchObject({ source: 'livemode' });
  expect(best('stc_stripecustomerid')).toMatchObject({ source: 'id' });
  expect(best('stc_stripecustomerid').reason).toContain('a Stripe customer id');
});

test('a Stripe list’s own url is no field: an account’s websiteurl gets no suggestion from a customer', () => {
  expect(flattenSample(customer).map((field) => field.path)).not.toContain('sources.url');
  expect(forColumn('account', 'websiteurl', customer)).toEqual([]);
});

test('a country code is suggested for the address country as its name', () => {
  const charge = recordedEvent('charge_succeeded').data.object;
  const [best] = forColumn('account', 'address1_country', charge);
  expect(best).toMatchObject({
    source: 'billing_details.address.country',
    expression: '$countryName(billing_details.address.country)',
  });
  expect(best.reason).toContain('looks like a country code');
});

test('an amount in minor units goes through $minorToMajor with its currency; a Unix time becomes a date-time', () => {
  const intent = recordedEvent('payment_intent_succeeded').data.object;
  expect(forColumn('stc_payment', 'stc_amount', intent)[0]).toMatchObject({
    source: 'amount',
    expression: '$minorToMajor(amount, currency)',
  });
  expect(forColumn('stc_payment', 'stc_stripecreatedon', intent)[0]).toMatchObject({
    source: 'created',
    expression: '$unixToDateTime(created)',
  });
});

const SAMPLES = [
  'customer_updated',
  'charge_succeeded',
  'charge_refunded',
  'payment_intent_succeeded',
  'refund_created',
  'invoice_paid',
  'subscription_created',
  'charge_dispute_created',
  'checkout_session_completed',
  'price_created',
];

test.each(SAMPLES)(
  'from %s, no number column is ever suggested from text (an amount never from an id)',
  (name) => {
    const sample = recordedEvent(name);
    const values = new Map(flattenSample(sample).map((field) => [field.path, field.value]));
    let seen = 0;
    for (const entry of model.tables) {
      for (const column of suggestColumns(entry, sample, { minScore: 0 })) {
        if (!['decimal', 'money', 'integer', 'bigint'].includes(column.type)) continue;
        for (const suggestion of column.suggestions) {
          seen += 1;
          expect([
            entry.logicalName,
            column.column,
            suggestion.source,
            typeof values.get(suggestion.source),
          ]).toEqual([
            entry.logicalName,
            column.column,
            suggestion.source,
            expect.stringMatching(/^(number|object)$/), // object: null, whose type the sample cannot tell
          ]);
        }
      }
    }
    // The samples have amounts or times: number columns do get suggestions, just never from text.
    expect(seen).toBeGreaterThan(0);
  },
);

test('a column named for one Stripe object never takes another object’s id', () => {
  const intent = recordedEvent('payment_intent_succeeded').data.object;
  const sources = forColumn('stc_payment', 'stc_stripecustomerid', intent).map((entry) => entry.source);
  expect(sources).not.toContain('id');
  expect(forColumn('stc_payment', 'stc_stripeid', intent)[0]).toMatchObject({ source: 'id' });
});

test('only columns no shipped mapping fills are suggested for, by default', () => {
  const mapped = mappedColumns(shipped, 'contact');
  expect(mapped).toContain('telephone1');
  const columns = suggestColumns(table('contact'), customer, { mapped }).map((entry) => entry.column);
  expect(columns).toContain('mobilephone');
  expect(columns).not.toContain('telephone1');
  // Never the connector's own columns, the primary id or lookups (links).
  expect(columns).not.toEqual(expect.arrayContaining(['contactid']));
  expect(
    columns.filter((name) => ['stc_lasteventid', 'parentcustomerid', 'statecode'].includes(name)),
  ).toEqual([]);
});

describe('mapping suggest on the CLI', () => {
  async function run(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runMappingCli(args, { out: (line) => out.push(line), err: (line) => err.push(line) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  const sample = join(REFERENCE, 'events-2020', 'customer_updated.json');

  test('prints the unmapped columns with ranked expressions and reasons', async () => {
    const result = await run(['suggest', '--table', 'contact', '--sample', sample]);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(
      /^mobilephone \(string\)\n {2}0\.\d\d {2}\$phoneE164\(phone\)\n {8}mobilephone ← phone: /m,
    );
    expect(result.out).not.toMatch(/^telephone1 /m);
    expect(result.out).toContain('Suggestions only');
  });

  test('--all --json gives every column as JSON', async () => {
    const result = await run(['suggest', '--table', 'contact', '--sample', sample, '--all', '--json']);
    expect(result.code).toBe(0);
    const columns = JSON.parse(result.out) as Array<{
      column: string;
      suggestions: Array<{ source: string }>;
    }>;
    expect(columns.find((entry) => entry.column === 'telephone1')?.suggestions[0].source).toBe('phone');
  });

  test('an unknown table is named with the tables there are', async () => {
    const result = await run(['suggest', '--table', 'contacts', '--sample', sample]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^no table "contacts" in the table model \(tables: .*\bcontact\b/);
  });
});
