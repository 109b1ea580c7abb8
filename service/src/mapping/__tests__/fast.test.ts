/**
 * The direct evaluator must give exactly JSONata's result wherever it does not hand over to JSONata:
 * checked on hand-picked edge cases and on every expression of the default mappings over every real payload.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsonata from 'jsonata';
import { model } from '@stc/solution';
import { compileFast, FALLBACK, type Scope } from '../fast';
import { builtInFunctions } from '../functions';
import { loadMappings } from '..';
import { currentObject, REFERENCE } from './fixtures';

const functions = builtInFunctions({});
const implementations = Object.fromEntries(functions.map((fn) => [fn.name, fn.implementation]));

async function both(
  text: string,
  input: unknown,
  bindings: Scope = {},
): Promise<{ fast: unknown; jsonata: unknown; compiled: boolean }> {
  const expression = jsonata(text);
  for (const fn of functions) expression.registerFunction(fn.name, fn.implementation);
  const reference = await expression
    .evaluate(input, bindings)
    .catch((error: Error) => `error ${(error as { code?: string }).code ?? error.message}`);
  const fast = compileFast(expression.ast(), implementations);
  if (!fast) return { fast: reference, jsonata: reference, compiled: false };
  const scope: Scope = Object.assign(Object.create(null), bindings, { $$: input });
  let result: unknown;
  try {
    result = fast(input, scope);
  } catch (error) {
    result = error === FALLBACK ? reference : `error ${(error as Error).message}`;
  }
  return { fast: result, jsonata: Array.isArray(reference) ? [...reference] : reference, compiled: true };
}

describe('the direct evaluator agrees with JSONata', () => {
  test.each([
    ['a = b', {}],
    ['a != b', { a: 1 }],
    ['a < b', {}],
    ['a < 1', { a: 0 }],
    ['a >= "b"', { a: 'c' }],
    ['a < "x"', { a: 1 }],
    ['$not(a)', {}],
    ['$not(a)', { a: {} }],
    ['$not(a = "x")', {}],
    ['a and b', { a: 1, b: 'x' }],
    ['a or b', { a: 0, b: [] }],
    ['$boolean(a)', { a: { x: 1 } }],
    ['a & b', { a: 'x' }],
    ['a & b', { a: 1.5, b: null }],
    ['-a', {}],
    ['-a', { a: 7 }],
    ['-a', { a: 'x' }],
    ['a ? 1 : 2', { a: [] }],
    ['a ? 1', { a: '' }],
    ['$type(a)', { a: null }],
    ['$type(a)', {}],
    ['$type(a) = "object" ? a.id : a', { a: { id: 'x' } }],
    ['$uppercase(a)', { a: 'usd' }],
    ['a.b', { a: [{ b: 1 }] }],
    ['a.b.c', { a: { b: 'text' } }],
    ['a.b[0]', { a: { b: [{ c: 1 }, { c: 2 }] } }],
    ['a.b[-1].c', { a: { b: [{ c: 1 }, { c: 2 }] } }],
    ['a.b[0]', { a: { b: { c: 1 } } }],
    ['a.b[1]', { a: { b: { c: 1 } } }],
    ['a.b[0]', { a: {} }],
    ['a', { a: [1] }],
    ['a = b', { a: { x: 1 }, b: { x: 1 } }],
    ['$exists(a)', { a: null }],
    ['a + 1', {}],
    ['a * 100 - b', { a: 2, b: 0.5 }],
    ['a > 0 and b', { a: 1 }],
    ['($x := a; $y := $x & "!"; $y)', { a: 'hi' }],
    ['$$.a', { a: 3 }],
    ['$.a', { a: 3 }],
    ['$event.account ? $event.account & "/" : ""', {}],
    ['$minorToMajor(amount, currency)', { amount: 1999, currency: 'kwd' }],
    ['$minorToMajor(amount, currency)', { currency: 'usd' }],
    ['$unixToDateTime(t)', { t: 1714555800 }],
    ['$fullName(a, b)', { a: 'Ada', b: 'Lovelace' }],
    ['a', { a: [1, 2] }],
    ['a.b', { a: [{ b: [1, 2] }, { b: 3 }] }],
    ['a.b', { a: [{ b: [1] }] }],
    ['a.b', { a: { b: [[1, 2], [3]] } }],
    ['a[b > 1]', { a: [{ b: 1 }, { b: 2 }, { b: 3 }] }],
    ['a[b > 1].b', { a: [{ b: 1 }, { b: 2 }, { b: 3 }] }],
    ['a[b > 5]', { a: [{ b: 1 }] }],
    ['a[b > 0]', { a: { b: 1 } }],
    ['a[0][0]', { a: [[1, 2], [3]] }],
    [
      'a[x = $$.y]',
      {
        y: 'k',
        a: [
          { x: 'k', n: 1 },
          { x: 'j', n: 2 },
        ],
      },
    ],
    ['$sum(a[b < 0].b)', { a: [{ b: -1 }, { b: 2 }, { b: -3 }] }],
    ['$sum(a.b)', { a: [] }],
    ['$sum(a)', { a: 4 }],
    ['$count(a[b > 1])', { a: [{ b: 1 }, { b: 2 }] }],
    ['$exists(a[b > 9])', { a: [{ b: 1 }] }],
    ['($w := a[b < 0]; $exists($w) ? -$sum($w.b) : 0)', { a: [{ b: -1 }, { b: -2 }] }],
    ['($w := a[b < 0]; $w.b)', { a: [{ b: -1 }] }],
    ['$type(a.b)', { a: [{ b: 1 }, { b: 2 }] }],
    ['a.b = 1', { a: [{ b: 1 }] }],
    ['$[0]', [5, 6]],
    ['x', [{ x: 1 }, { x: 2 }]],
  ])('%s on %j', async (text, input) => {
    const result = await both(text, input, { event: { account: null } });
    expect(result.fast).toEqual(result.jsonata);
  });

  test('expressions outside the subset are left to JSONata', async () => {
    for (const text of ['$[0]', 'a.(b)', '$lookup(a, "x")', 'a ~> $string()', '{"x": a}']) {
      expect((await both(text, {})).compiled).toBe(false);
    }
  });

  test('every expression of the default mappings, over every real payload', async () => {
    const mappings = loadMappings(join(__dirname, '../../../mappings'), { model });
    const dir = join(REFERENCE, 'events-2020');
    const payloads: Array<{ object: Record<string, unknown>; event: Record<string, unknown> }> = readdirSync(
      dir,
    )
      .filter((name) => name.endsWith('.json'))
      .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')))
      .map((event) => ({
        object: event.data.object,
        event: {
          id: event.id,
          type: event.type,
          created: event.created,
          account: event.account ?? null,
          livemode: event.livemode,
        },
      }));
    for (const resource of ['charge', 'payment_intent', 'refund', 'dispute', 'customer']) {
      payloads.push({
        object: currentObject(resource),
        event: { id: 'evt_1', type: 't', created: 1, account: 'acct_1', livemode: false },
      });
    }
    let compared = 0;
    for (const name of mappings.names) {
      const mapping = mappings.get(name);
      const units = [
        ...mapping.compiled.lets.map((entry) => entry.unit),
        ...mapping.compiled.keys.map((entry) => entry.unit),
        ...mapping.compiled.columns.flatMap((column) => (column.unit ? [column.unit] : [])),
        ...mapping.compiled.links.flatMap((link) =>
          [link.id, link.value].filter((unit) => unit !== undefined),
        ),
      ];
      for (const { object, event } of payloads) {
        if (object.object !== mapping.source) continue;
        // The let values as JSONata computes them, so each expression sees the same inputs both ways.
        const scope: Scope = Object.assign(Object.create(null), { event, $$: object });
        for (const { name: letName, unit } of mapping.compiled.lets)
          scope[letName] = await unit.expression.evaluate(object, scope);
        for (const unit of units) {
          if (!unit.fast) continue;
          const reference = await unit.expression
            .evaluate(object, scope)
            .catch((error: Error) => `error ${error.message}`);
          let fast: unknown;
          try {
            fast = unit.fast(object, scope);
          } catch (error) {
            fast = error === FALLBACK ? reference : `error ${(error as Error).message}`;
          }
          expect({ mapping: name, unit: unit.name, object: object.id, value: fast }).toEqual({
            mapping: name,
            unit: unit.name,
            object: object.id,
            value: Array.isArray(reference) ? [...reference] : reference,
          });
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(300);
  });
});
