import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { model } from '@stc/solution';
import { dryRun, loadMappings, mappingApplies, MappingError, parseMappingFile, type MappingSet } from '..';
import { currentObject, eventFor, recordedEvent, type StripeJson } from './fixtures';

const MAPPINGS_DIR = join(__dirname, '../../../mappings');
const options = { model, baseDir: MAPPINGS_DIR };
const statusValue = (set: string, stripeValue: string) =>
  model.optionSets.find((s) => s.name === set)!.options.find((o) => o.externalValue === stripeValue)!.value;

let mappings: MappingSet;
beforeAll(() => {
  mappings = loadMappings(MAPPINGS_DIR, { model });
});

describe('default mapping files', () => {
  test('load against the table model, one mapping per Stripe object and table', () => {
    expect(mappings.names).toEqual(
      expect.arrayContaining([
        'charge',
        'customer_account',
        'customer_contact',
        'customer_deleted_account',
        'customer_deleted_contact',
        'dispute',
        'payment_intent',
        'refund',
      ]),
    );
    for (const file of mappings.files) {
      expect(file.version).toMatch(/^\S+$/);
      expect(file.hash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  test('a current Charge without a PaymentIntent maps to a stc_payment row, field by field', async () => {
    const charge = currentObject('charge');
    charge.amount = 1999;
    charge.amount_captured = 1999;
    charge.balance_transaction = {
      ...currentObject('balance_transaction'),
      amount: 1999,
      fee: 88,
      net: 1911,
    };
    const [result] = await dryRun(
      mappings.get('charge'),
      eventFor('charge.succeeded', charge, { id: 'evt_1', created: 1714555800 }),
    );
    expect(result.entitySet).toBe('stc_payments');
    expect(result.key).toEqual({ stc_stripeid: 'ch_1PgafuB7WZ01zgkWXYmPNZs8' });
    expect(result.row).toEqual({
      stc_stripeid: 'ch_1PgafuB7WZ01zgkWXYmPNZs8',
      stc_name: '19.99 USD · ch_1PgafuB7WZ01zgkWXYmPNZs8',
      stc_livemode: false,
      stc_stripeaccount: null,
      stc_amount: 19.99,
      stc_currency: 'usd',
      stc_status: statusValue('stc_paymentstatus', 'succeeded'),
      stc_amountcaptured: 19.99,
      stc_amountrefunded: 0,
      stc_fee: 0.88,
      stc_net: 19.11,
      stc_settlementcurrency: 'usd',
      stc_paymentmethodtype: statusValue('stc_paymentmethodtype', 'card'),
      stc_cardbrand: statusValue('stc_cardbrand', 'visa'),
      stc_last4: '4242',
      stc_receipturl: charge.receipt_url,
      stc_dashboardurl: 'https://dashboard.stripe.com/test/payments/ch_1PgafuB7WZ01zgkWXYmPNZs8',
      stc_failurecode: null,
      stc_failuremessage: null,
      stc_description: 'My First Test Charge (created for API docs)',
      stc_disputed: false,
      stc_stripecustomerid: null,
      stc_chargeid: 'ch_1PgafuB7WZ01zgkWXYmPNZs8',
      stc_stripebalancetransactionid: 'txn_1PgaxNB7WZ01zgkWEV3TLf40',
      stc_stripecreatedon: '2009-02-13T23:31:30Z',
      stc_lasteventid: 'evt_1',
      stc_lasteventcreated: '2024-05-01T09:30:00Z',
    });
    expect(result.links).toEqual([]);
  });

  test('a 2020 PaymentIntent event (charges.data, no latest_charge) maps with what it has', async () => {
    const event = recordedEvent('payment_intent_succeeded');
    const intent = event.data.object as StripeJson;
    intent.status = 'succeeded';
    intent.customer = 'cus_J7Mkgr8mvbl1eK';
    intent.metadata = { d365_salesorderid: '6c5a4f2e-1b2d-4f3a-9a8b-0c1d2e3f4a5b', order_number: 'ORD-1001' };
    intent.charges = { object: 'list', data: [recordedEvent('charge_refunded').data.object] };
    const [result] = await dryRun(mappings.get('payment_intent'), event);
    expect(result.row).toMatchObject({
      stc_stripeid: 'pi_1IqxJOJDPojXS6LN9uOebAea',
      stc_amount: 10,
      stc_status: statusValue('stc_paymentstatus', 'refunded'),
      stc_amountrefunded: 25,
      stc_cardbrand: statusValue('stc_cardbrand', 'mastercard'),
      stc_last4: '7572',
      stc_chargeid: 'ch_3Kl36gJDPojXS6LN0DCM4A8l',
      stc_stripebalancetransactionid: 'txn_3Kl36gJDPojXS6LN0BbaNIHm',
      stc_stripecustomerid: 'cus_J7Mkgr8mvbl1eK',
      stc_lasteventid: 'evt_1IlYUUJDPojXS6LN7NEWYSm2',
      stc_lasteventcreated: '2021-04-29T11:57:10Z',
    });
    // A balance transaction that is only an id gives no fee: the columns are left as they are.
    expect(result.row).not.toHaveProperty('stc_fee');
    expect(result.row).not.toHaveProperty('stc_net');
    expect(result.links).toEqual([
      expect.objectContaining({
        column: 'stc_customerid',
        match: { column: 'stc_stripecustomerid', value: 'cus_J7Mkgr8mvbl1eK' },
      }),
      expect.objectContaining({
        column: 'stc_salesorderid',
        id: '6c5a4f2e-1b2d-4f3a-9a8b-0c1d2e3f4a5b',
        match: { column: 'ordernumber', value: 'ORD-1001' },
      }),
    ]);
    expect(result.links[0].targets.map((t) => t.navigation)).toEqual([
      'stc_customerid_account',
      'stc_customerid_contact',
    ]);
  });

  test('a failed PaymentIntent shows as failed with the decline reason', async () => {
    const intent = currentObject('payment_intent');
    intent.last_payment_error = {
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    };
    const [result] = await dryRun(
      mappings.get('payment_intent'),
      eventFor('payment_intent.payment_failed', intent),
    );
    expect(result.row.stc_status).toBe(statusValue('stc_paymentstatus', 'failed'));
    expect(result.row.stc_failurecode).toBe('insufficient_funds');
    expect(result.row.stc_failuremessage).toBe('Your card has insufficient funds.');
  });

  test.each([
    ['usd', 1999, 19.99],
    ['jpy', 1999, 1999],
    ['krw', 50000, 50000],
    ['kwd', 19995, 19.995],
    ['bhd', 1000, 1],
    ['eur', 99999999, 999999.99],
  ])('amounts in %s are exact: %d → %d', async (currency, minor, major) => {
    const charge = {
      ...currentObject('charge'),
      currency,
      amount: minor,
      amount_captured: minor,
      amount_refunded: 0,
    };
    const [result] = await dryRun(mappings.get('charge'), eventFor('charge.succeeded', charge));
    expect(result.row.stc_amount).toBe(major);
    expect(result.row.stc_amountcaptured).toBe(major);
    expect(JSON.stringify(result.row.stc_amount)).toBe(String(major));
  });

  test('a card brand Stripe adds later maps to the fallback option, an unknown method type to Other', async () => {
    const charge = currentObject('charge');
    charge.payment_method_details.card.brand = 'newbrand';
    charge.payment_method_details.type = 'twint_plus';
    const [result] = await dryRun(mappings.get('charge'), eventFor('charge.succeeded', charge));
    expect(result.row.stc_cardbrand).toBe(statusValue('stc_cardbrand', 'unknown'));
    expect(result.row.stc_paymentmethodtype).toBe(statusValue('stc_paymentmethodtype', 'other'));
  });

  test('a recorded refund maps with its payment link by alternate key', async () => {
    const [result] = await dryRun(mappings.get('refund'), recordedEvent('refund_created'));
    expect(result.row).toMatchObject({
      stc_stripeid: 're_1Nispe2eZvKYlo2Cd31jOCgZ',
      stc_amount: 10,
      stc_currency: 'usd',
      stc_status: statusValue('stc_refundstatus', 'succeeded'),
      stc_reason: null,
      stc_chargeid: 'ch_1NirD82eZvKYlo2CIvbtLWuY',
      stc_paymentintentid: 'pi_1GszsK2eZvKYlo2CfhZyoZLp',
      stc_stripecreatedon: '2023-08-25T05:45:18Z',
    });
    expect(result.links).toEqual([
      expect.objectContaining({
        column: 'stc_paymentid',
        byKey: true,
        match: { column: 'stc_stripeid', value: 'pi_1GszsK2eZvKYlo2CfhZyoZLp' },
      }),
    ]);
  });

  test('a dispute records funds withdrawn from its balance transactions, or from the event type', async () => {
    const [fromEvent] = await dryRun(
      mappings.get('dispute'),
      recordedEvent('charge_dispute_funds_withdrawn'),
    );
    expect(fromEvent.row.stc_fundswithdrawn).toBe(10);
    expect(fromEvent.row).not.toHaveProperty('stc_fundsreinstated');
    expect(fromEvent.row.stc_status).toBe(statusValue('stc_disputestatus', 'warning_needs_response'));
    expect(fromEvent.row.stc_reason).toBe(statusValue('stc_disputereason', 'general'));
    expect(fromEvent.row.stc_evidencedueby).toBe('2023-01-21T23:59:59Z');

    const dispute = currentObject('dispute');
    dispute.currency = 'kwd';
    dispute.amount = 19995;
    dispute.balance_transactions = [
      {
        ...currentObject('balance_transaction'),
        currency: 'kwd',
        amount: -19995,
        reporting_category: 'dispute',
      },
      {
        ...currentObject('balance_transaction'),
        currency: 'kwd',
        amount: 19995,
        reporting_category: 'dispute_reversal',
      },
    ];
    const [fresh] = await dryRun(mappings.get('dispute'), eventFor('charge.dispute.closed', dispute));
    expect(fresh.row.stc_fundswithdrawn).toBe(19.995);
    expect(fresh.row.stc_fundsreinstated).toBe(19.995);
  });

  test('customers go to account or contact by the metadata rule, with the name split for contacts', async () => {
    const customer = currentObject('customer');
    Object.assign(customer, {
      name: 'Ada King Lovelace',
      email: 'ada@example.com',
      metadata: { d365_type: 'contact' },
    });
    const event = eventFor('customer.created', customer, { account: 'acct_1Connected' });
    expect(await dryRun(mappings.get('customer_account'), event)).toEqual([]);
    const [contact] = await dryRun(mappings.get('customer_contact'), event);
    expect(contact.row).toMatchObject({
      stc_stripecustomerid: 'cus_QXg1o8vcGmoR32',
      firstname: 'Ada King',
      lastname: 'Lovelace',
      emailaddress1: 'ada@example.com',
      stc_stripeaccount: 'acct_1Connected',
    });

    const [account] = await dryRun(mappings.get('customer_account'), recordedEvent('customer_updated'));
    expect(account.row).toMatchObject({
      name: 'Copple',
      emailaddress1: 'billz@supabase.io',
      telephone1: '+6587498462',
    });
  });
});

describe('a bad mapping file fails at load, naming the file, the mapping and the column', () => {
  const file = 'bad-payments.yaml';
  const load = (body: string) => () => parseMappingFile(body, file, options);
  const mapping = (table: string, columns: string, extra = '') =>
    `version: 1\nmappings:\n  pay:\n    source: charge\n    table: ${table}\n    key: { stc_stripeid: id }\n${extra}    columns:\n${columns}`;

  function expectError(body: string, pattern: RegExp, column?: string): MappingError {
    let caught: unknown;
    try {
      load(body)();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MappingError);
    const error = caught as MappingError;
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(pattern);
    expect(error.message.startsWith(`${file}: `)).toBe(true);
    if (column) {
      expect(error.column).toBe(column);
      expect(error.message).toContain(`mapping "pay", column "${column}"`);
    }
    return error;
  }

  test('an unknown table', () => {
    expectError(
      mapping('stc_paymnet', '      stc_amount: amount\n'),
      /table "stc_paymnet" is not in the table model/,
    );
  });

  test('an unknown column', () => {
    expectError(
      mapping('stc_payment', '      stc_amuont: amount\n'),
      /table "stc_payment" has no column "stc_amuont"/,
      'stc_amuont',
    );
  });

  test('a wrong type: an amount into a text column, a text into a number column', () => {
    expectError(
      mapping('stc_payment', '      stc_currency: $minorToMajor(amount, currency)\n'),
      /gives a decimal value but the column is string/,
      'stc_currency',
    );
    expectError(
      mapping('stc_payment', '      stc_amount: { value: "a lot" }\n'),
      /is not a decimal number/,
      'stc_amount',
    );
    expectError(
      mapping('stc_payment', '      stc_stripecreatedon: "\'yesterday\'"\n'),
      /not an ISO date-time/,
      'stc_stripecreatedon',
    );
  });

  test('an option value outside its set, as a constant, a map entry or a literal result', () => {
    expectError(
      mapping('stc_payment', '      stc_status: { value: Bogus }\n'),
      /"Bogus" is not a label of option set "stc_paymentstatus"/,
      'stc_status',
    );
    expectError(
      mapping('stc_payment', '      stc_cardbrand: { expr: brand, map: { visa: Visa, amex: Amex } }\n'),
      /map entry "amex": "Amex" is not a label of option set "stc_cardbrand"/,
      'stc_cardbrand',
    );
    expectError(
      mapping('stc_payment', "      stc_status: \"paid ? 'succeeded' : 'nearly'\"\n"),
      /can give "nearly": "nearly" is not a label/,
      'stc_status',
    );
    expectError(
      mapping('stc_payment', '      stc_status: { value: 42 }\n'),
      /42 is not a value of option set/,
      'stc_status',
    );
  });

  test('a key that is not an alternate key, and a lookup set as a column', () => {
    expectError(
      'version: 1\nmappings:\n  pay:\n    source: charge\n    table: stc_payment\n    key: { stc_chargeid: id }\n    columns: {}\n',
      /\(stc_chargeid\) is not an alternate key of table "stc_payment"/,
      'stc_chargeid',
    );
    expectError(
      mapping('stc_payment', '      stc_customerid: customer\n'),
      /set under `links`/,
      'stc_customerid',
    );
  });

  test('a link to a table the lookup cannot point to, or a match column the target lacks', () => {
    expectError(
      mapping(
        'stc_payment',
        '      stc_currency: currency\n',
        '    links:\n      stc_invoiceid: { targets: [account], id: metadata.x }\n',
      ),
      /target "account" is not a table this lookup points to/,
      'stc_invoiceid',
    );
    expectError(
      mapping(
        'stc_payment',
        '      stc_currency: currency\n',
        '    links:\n      stc_customerid: { match: stc_customerref, value: customer }\n',
      ),
      /target table "account" has no column "stc_customerref"/,
      'stc_customerid',
    );
  });

  test('an expression that does not parse, and an undeclared lookup table', () => {
    expectError(
      mapping('stc_payment', '      stc_currency: "currency &"\n'),
      /does not parse/,
      'stc_currency',
    );
    expectError(
      mapping('stc_payment', '      stc_description: "$lookupTable(\'prices\', price)"\n'),
      /\$lookupTable names "prices", which the file's `lookups` do not declare/,
      'stc_description',
    );
  });

  test('a file that is not the mapping format, or not YAML', () => {
    expectError(
      mapping('stc_payment', '      stc_currency: { expr: currency, defualt: usd }\n'),
      /Unrecognized key.*defualt/,
      'stc_currency',
    );
    expectError('version: 1\nmappings:\n  pay: [\n', /not valid YAML \(line \d+, column \d+\)/);
    expectError('mappings: {}\n', /version/);
  });
});

describe('mapping features', () => {
  const parse = (body: string) => parseMappingFile(body, 'test.yaml', options).mappings[0];

  test('lookup tables from a data file, defaults and required checks', async () => {
    const mapping = parse(
      [
        'version: 7',
        'lookups:',
        '  products: lookups/products.yaml',
        'mappings:',
        '  pay:',
        '    source: charge',
        '    table: stc_payment',
        '    key: { stc_stripeid: id }',
        '    columns:',
        '      stc_description: "$lookupTable(\'products\', metadata.price)"',
        '      stc_failurecode: { expr: failure_code, default: none }',
        '      stc_last4: { expr: payment_method_details.card.last4, required: true }',
      ].join('\n'),
    );
    const charge = { ...currentObject('charge'), metadata: { price: 'price_1MoBy5LkdIwHu7ixZhnattbh' } };
    const [row] = await dryRun(mapping, eventFor('charge.succeeded', charge));
    expect(row.version).toBe('7');
    expect(row.row).toMatchObject({
      stc_description: 'SKU-STARTER-MONTHLY',
      stc_failurecode: 'none',
      stc_last4: '4242',
    });

    const withoutCard = { ...charge, payment_method_details: { type: 'sepa_debit' } };
    const failure = dryRun(mapping, eventFor('charge.succeeded', withoutCard));
    await expect(failure).rejects.toThrow(MappingError);
    await expect(failure).rejects.toThrow(
      'test.yaml: mapping "pay", column "stc_last4": required value is missing for ch_1PgafuB7WZ01zgkWXYmPNZs8',
    );
    await expect(failure).rejects.toMatchObject({ transient: false, code: 'mapping_required_missing' });
  });

  test('when reads its condition as JSONata does: an empty list or object does not hold', async () => {
    const mapping = parse(
      "version: 1\nmappings:\n  pay:\n    source: charge\n    when: 'metadata'\n    table: stc_payment\n    key: { stc_stripeid: id }\n    columns:\n      stc_status: status\n",
    );
    const charge = currentObject('charge');
    const envelope = { id: 'evt_when', type: 'charge.succeeded', created: 1, account: null, livemode: false };
    const applies = (metadata: unknown) => mappingApplies(mapping, { ...charge, metadata }, envelope);
    expect(await applies({})).toBe(false);
    expect(await applies({ order: '42' })).toBe(true);
    expect(await applies([])).toBe(false);
    expect(await applies([false, false])).toBe(false);
  });

  test('a lookup value YAML would read as a number is refused at load: quoted, it is kept as written', () => {
    const body = [
      'version: 1',
      'lookups:',
      '  products: lookups/numbers.yaml',
      'mappings:',
      '  pay:',
      '    source: charge',
      '    table: stc_payment',
      '    key: { stc_stripeid: id }',
      '    columns:',
      '      stc_description: "$lookupTable(\'products\', metadata.price)"',
    ].join('\n');
    const withLookups = (lookup: string) => ({
      ...options,
      readFile: (path: string) => (path.endsWith('numbers.yaml') ? lookup : readFileSync(path, 'utf8')),
    });
    expect(() => parseMappingFile(body, 'test.yaml', withLookups('prod_A: 000123\n'))).toThrow(
      `lookup table "products" (lookups/numbers.yaml): entry "prod_A" is read as the number 123, not as text: quote it (prod_A: '…') so that it is kept exactly as written`,
    );
    expect(() => parseMappingFile(body, 'test.yaml', withLookups("prod_A: '000123'\n"))).not.toThrow();
  });

  test('a value that does not fit the column at run time fails permanently, naming the column', async () => {
    const mapping = parse(
      'version: 1\nmappings:\n  pay:\n    source: charge\n    table: stc_payment\n    key: { stc_stripeid: id }\n    columns:\n      stc_last4: description\n      stc_status: status\n',
    );
    const failure = dryRun(mapping, eventFor('charge.succeeded', currentObject('charge')));
    await expect(failure).rejects.toThrow(
      /mapping "pay", column "stc_last4": text of 43 characters exceeds the column's maximum length 4/,
    );
    await expect(failure).rejects.toMatchObject({
      transient: false,
      code: 'mapping_failed',
      column: 'stc_last4',
    });
  });

  test('an expression error names its column', async () => {
    const mapping = parse(
      'version: 1\nmappings:\n  pay:\n    source: charge\n    table: stc_payment\n    key: { stc_stripeid: id }\n    columns:\n      stc_amount: $minorToMajor(amount, "dollars")\n',
    );
    await expect(dryRun(mapping, eventFor('charge.succeeded', currentObject('charge')))).rejects.toThrow(
      /mapping "pay", column "stc_amount": expression failed on ch_.*three-letter currency code/,
    );
  });

  test('the JSON Schema of the format is available for editors', () => {
    const { mappingFileJsonSchema } = jest.requireActual('..') as typeof import('..');
    const schema = mappingFileJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['version', 'lookups', 'mappings']),
    );
    expect(schema.required).toEqual(expect.arrayContaining(['version', 'mappings']));
  });
});
