/** The studio's transforms: the expression each writes, and what that expression gives for a Stripe object. */
import jsonata from 'jsonata';
import { buildExpression, TRANSFORMS } from '../pages/studio-transforms';

const customer = {
  name: 'ada lovelace',
  email: 'Ada@Example.COM',
  address: { country: 'GB', city: 'London' },
};
const evaluate = (expression: string, input: unknown = customer) => jsonata(expression).evaluate(input);

test('each transform writes the engine function it names', () => {
  expect(buildExpression('as-is', 'email')).toBe('email');
  expect(buildExpression('minor-to-major', 'lines.data[0].amount')).toBe(
    '$minorToMajor(lines.data[0].amount, lines.data[0].currency)',
  );
  expect(buildExpression('minor-to-major', 'amount', { otherField: 'presentment_currency' })).toBe(
    '$minorToMajor(amount, presentment_currency)',
  );
  expect(buildExpression('unix-to-datetime', 'created')).toBe('$unixToDateTime(created)');
  expect(buildExpression('lookup', 'price.product', { table: 'products' })).toBe(
    '$lookupTable("products", price.product)',
  );
  expect(buildExpression('phone', 'phone', { otherField: 'address.country' })).toBe(
    '$phoneE164(phone, address.country)',
  );
  expect(buildExpression('phone', 'phone')).toBe('$phoneE164(phone)');
  expect(buildExpression('country-name', 'address.country')).toBe('$countryName(address.country)');
  expect(buildExpression('email', 'email')).toBe('$normalizeEmail(email)');
  expect(buildExpression('name-case', 'name')).toBe('$nameCase(name)');
  expect(buildExpression('guid-braces', 'metadata.d365_salesorderid')).toBe(
    "$replace(metadata.d365_salesorderid, /[{}]/, '')",
  );
  expect(TRANSFORMS.map((t) => t.kind)).toHaveLength(12);
});

test("a GUID as a form's client API gives it loses its braces; the transforms offered for links", async () => {
  const expression = buildExpression('guid-braces', 'metadata.d365_salesorderid');
  const id = '7A3C5E10-1B2C-4D5E-8F90-A1B2C3D4E5F6';
  expect(await evaluate(expression, { metadata: { d365_salesorderid: `{${id}}` } })).toBe(id);
  expect(await evaluate(expression, { metadata: { d365_salesorderid: id.toLowerCase() } })).toBe(
    id.toLowerCase(),
  );
  expect(await evaluate(expression, { metadata: {} })).toBeUndefined();
  expect(TRANSFORMS.filter((t) => t.forLinks).map((t) => t.kind)).toEqual([
    'as-is',
    'guid-braces',
    'concat',
    'lookup',
    'default',
    'condition',
    'email',
  ]);
});

test('concatenation, default and condition give what they say when run', async () => {
  const concat = buildExpression('concat', 'address.city', {
    otherField: 'address.country',
    separator: ', ',
  });
  expect(await evaluate(concat)).toBe('London, GB');
  const fallback = buildExpression('default', 'phone', { value: "O'Neil" });
  expect(await evaluate(fallback)).toBe("O'Neil");
  expect(await evaluate(fallback, { phone: '+44' })).toBe('+44');
  expect(await evaluate(fallback, { phone: null })).toBe("O'Neil");
  const condition = buildExpression('condition', 'address.country', {
    value: 'GB',
    then: 'UK',
    otherwise: '0',
  });
  expect(await evaluate(condition)).toBe('UK');
  expect(await evaluate(condition, { address: { country: 'FR' } })).toBe(0);
});
