/**
 * The studio's edits of a mapping file: the column set changes, and every other byte of the file (comments,
 * the other mappings, the other columns' spelling) stays as it was.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { fileMappings, setColumnExpression, setLinkExpression } from '../studio-yaml';

const PAYMENTS = readFileSync(join(__dirname, '../../../mappings/payments.yaml'), 'utf8');

/** The part of `before` that `after` replaced, and what replaced it (common prefix and suffix left out). */
function changed(before: string, after: string): { removed: string; added: string } {
  let start = 0;
  while (start < before.length && before[start] === after[start]) start++;
  let end = 0;
  while (
    end < before.length - start &&
    end < after.length - start &&
    before[before.length - 1 - end] === after[after.length - 1 - end]
  )
    end++;
  return { removed: before.slice(start, before.length - end), added: after.slice(start, after.length - end) };
}

const exprOf = (text: string, mapping: string, column: string): unknown => {
  const node = parseDocument(text).getIn(['mappings', mapping, 'columns', column]);
  return typeof node === 'object' && node !== null ? (node as { get(k: string): unknown }).get('expr') : node;
};

test('the mappings of a file with their source, table and column expressions', () => {
  const mappings = fileMappings(PAYMENTS);
  expect(mappings.map((m) => m.name)).toEqual(['payment_intent', 'charge']);
  expect(mappings[0]).toMatchObject({
    source: 'payment_intent',
    table: 'stc_payment',
    keys: ['stc_stripeid'],
  });
  expect(mappings[0].columns.stc_livemode).toBe('livemode');
  expect(mappings[0].columns.stc_currency).toBe('currency');
});

test('a plain column of one mapping: only its value changes, the other mapping keeps its own', () => {
  const edited = setColumnExpression(PAYMENTS, 'charge', 'stc_livemode', '$not(livemode)');
  expect(changed(PAYMENTS, edited)).toEqual({ removed: 'livemode', added: '$not(livemode)' });
  expect(exprOf(edited, 'charge', 'stc_livemode')).toBe('$not(livemode)');
  expect(exprOf(edited, 'payment_intent', 'stc_livemode')).toBe('livemode');
});

test('a column written as a flow map: its expr changes, required stays', () => {
  const edited = setColumnExpression(
    PAYMENTS,
    'payment_intent',
    'stc_currency',
    "$uppercase(currency) & '!'",
  );
  const { removed, added } = changed(PAYMENTS, edited);
  expect(removed).toBe('currency');
  expect(added).toBe(`"$uppercase(currency) & '!'"`);
  expect(exprOf(edited, 'payment_intent', 'stc_currency')).toBe("$uppercase(currency) & '!'");
  expect(
    parseDocument(edited).getIn(['mappings', 'payment_intent', 'columns', 'stc_currency', 'required']),
  ).toBe(true);
});

test('a block scalar replaced by one line, and a one-line expression by several: only that node changes', () => {
  const before = exprOf(PAYMENTS, 'payment_intent', 'stc_status') as string;
  expect(before).toContain('\n');
  const oneLine = setColumnExpression(PAYMENTS, 'payment_intent', 'stc_status', 'status');
  expect(changed(PAYMENTS, oneLine).added).toBe('status');
  expect(PAYMENTS.length - oneLine.length).toBe(changed(PAYMENTS, oneLine).removed.length - 'status'.length);
  expect(exprOf(oneLine, 'payment_intent', 'stc_status')).toBe('status');
  expect(exprOf(oneLine, 'charge', 'stc_status')).toBe(exprOf(PAYMENTS, 'charge', 'stc_status'));

  const multi = "(\n  $s := status;\n  $s = 'succeeded' ? 'paid' : $s\n)";
  const back = setColumnExpression(PAYMENTS, 'charge', 'stc_livemode', multi);
  expect(exprOf(back, 'charge', 'stc_livemode')).toBe(multi);
  expect(changed(PAYMENTS, back).removed).toBe('livemode');
});

test('a new column is one line after the last column of that mapping; the rest of the file is untouched', () => {
  const edited = setColumnExpression(PAYMENTS, 'payment_intent', 'stc_studionote', 'description');
  const { removed, added } = changed(PAYMENTS, edited);
  expect(removed).toBe('');
  expect(added.trim()).toBe('stc_studionote: description');
  expect(exprOf(edited, 'payment_intent', 'stc_studionote')).toBe('description');
  expect(fileMappings(edited)[1].columns.stc_studionote).toBeUndefined();
});

test('a small file with comments: the comment beside the column and after it stay', () => {
  const text = [
    '# head',
    'version: 1',
    'mappings:',
    '  c:',
    '    source: customer',
    '    table: contact',
    '    key: { stc_stripeid: id }',
    '    columns:',
    '      emailaddress1: email # the address',
    '      # first and last',
    '      firstname: { default: Unknown }',
    '',
  ].join('\n');
  const email = setColumnExpression(text, 'c', 'emailaddress1', '$normalizeEmail(email)');
  expect(email).toBe(text.replace('email # the', '$normalizeEmail(email) # the'));
  const first = setColumnExpression(text, 'c', 'firstname', '$firstName(name)');
  expect(first).toBe(text.replace('{ default: Unknown }', '{ expr: $firstName(name), default: Unknown }'));
  const added = setColumnExpression(text, 'c', 'lastname', '$lastName(name)');
  expect(added).toBe(`${text}      lastname: $lastName(name)\n`);
  expect(() => setColumnExpression(text, 'nope', 'x', 'y')).toThrow('no mapping nope');
});

test('a quoted column is replaced with its quotes; the new column lands right after the last column line', () => {
  const edited = setColumnExpression(
    PAYMENTS,
    'payment_intent',
    'stc_fee',
    '$minorToMajor($bt.fee, currency)',
  );
  expect(changed(PAYMENTS, edited)).toEqual({
    removed: "'$minorToMajor($bt.fee, $bt.currency)'",
    added: '$minorToMajor($bt.fee, currency)',
  });
  expect(
    edited.split('\n').filter((line) => line.includes('stc_fee: $minorToMajor($bt.fee, currency)')),
  ).toHaveLength(1);
  const added = setColumnExpression(PAYMENTS, 'payment_intent', 'stc_studionote', 'description');
  const lines = added.split('\n');
  expect(lines[lines.findIndex((line) => line.includes('stc_studionote')) - 1]).toContain(
    'stc_stripecreatedon',
  );
});

const BRACES_OFF = "$replace(metadata.d365_salesorderid, /[{}]/, '')";

test("a mapping's links as the file spells them: id, or match and value", () => {
  const [intent] = fileMappings(PAYMENTS);
  expect(intent.links).toEqual(['stc_customerid', 'stc_salesorderid', 'stc_invoiceid']);
  expect(intent.linkSpecs.stc_salesorderid).toEqual({
    id: 'metadata.d365_salesorderid',
    match: 'ordernumber',
    value: 'metadata.order_number',
    targets: null,
  });
  expect(intent.linkSpecs.stc_customerid).toMatchObject({ id: null, match: 'stc_stripecustomerid' });
});

test("a link's id of one mapping: only that scalar changes, the charge mapping's link and the comments stay", () => {
  const edited = setLinkExpression(PAYMENTS, 'payment_intent', 'stc_salesorderid', 'id', BRACES_OFF);
  expect(changed(PAYMENTS, edited)).toEqual({
    removed: 'metadata.d365_salesorderid',
    added: JSON.stringify(BRACES_OFF),
  });
  const links = (text: string, mapping: string) =>
    fileMappings(text).find((m) => m.name === mapping)!.linkSpecs.stc_salesorderid;
  expect(links(edited, 'payment_intent')).toMatchObject({ id: BRACES_OFF, value: 'metadata.order_number' });
  expect(links(edited, 'charge').id).toBe('metadata.d365_salesorderid');
  expect(edited).toContain('# The order named in the PaymentIntent');

  const value = setLinkExpression(
    PAYMENTS,
    'charge',
    'stc_salesorderid',
    'value',
    '$trim(metadata.order_number)',
  );
  expect(changed(PAYMENTS, value)).toEqual({
    removed: 'metadata.order_number',
    added: '$trim(metadata.order_number)',
  });
});

test('a link without an id gets one as its first entry; unknown links and a value without match are refused', () => {
  const text = [
    'version: 1',
    'mappings:',
    '  p:',
    '    source: payment_intent',
    '    table: stc_payment',
    '    key: { stc_stripeid: id }',
    '    columns: {}',
    '    links:',
    '      stc_customerid:',
    '        match: stc_stripecustomerid # the customer',
    '        value: customer',
    '      stc_invoiceid: { id: metadata.d365_invoiceid }',
    '',
  ].join('\n');
  expect(setLinkExpression(text, 'p', 'stc_customerid', 'id', 'metadata.d365_accountid')).toBe(
    text.replace('        match:', '        id: metadata.d365_accountid\n        match:'),
  );
  expect(setLinkExpression(text, 'p', 'stc_invoiceid', 'id', 'metadata.invoice')).toBe(
    text.replace('{ id: metadata.d365_invoiceid }', '{ id: metadata.invoice }'),
  );
  expect(() => setLinkExpression(text, 'p', 'stc_nolink', 'id', 'x')).toThrow(
    'Mapping p has no link stc_nolink',
  );
  expect(() => setLinkExpression(text, 'p', 'stc_invoiceid', 'value', 'x')).toThrow('has no match column');
  expect(() => setLinkExpression(text, 'q', 'stc_invoiceid', 'id', 'x')).toThrow('no mapping q');
  expect(() => setLinkExpression(text, 'p', 'stc_invoiceid', 'id', ' ')).toThrow('must not be empty');
});
