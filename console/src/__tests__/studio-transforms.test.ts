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
  expect(TRANSFORMS.map((t) => t.kind)).toHaveLength(11);
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
