/**
 * The direct evaluator (fast.ts) is only an optimisation: every shipped mapping must write the same row, or
 * fail with the same error, whether its expressions run through the closures or through JSONata alone.
 * Checked on random Stripe objects shaped like the real payloads: the fields, value types and values seen in
 * the recorded events and Stripe's example objects (expandable ids sometimes expanded into those objects),
 * each field sometimes missing, null, another type or wrapped in an array, strings and numbers sometimes new.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { model } from '@stc/solution';
import { applyMapping, loadMappings, mappingApplies, type CompiledMapping, type EventEnvelope } from '..';
import type { Unit } from '../engine';
import { currentObject, recordedEvent, type StripeJson } from './fixtures';

/** Recorded events by the Stripe object they carry (the mappings' sources). */
const RECORDED: Record<string, string[]> = {
  charge: [
    'charge_captured',
    'charge_expired',
    'charge_failed',
    'charge_pending',
    'charge_refunded',
    'charge_succeeded',
    'charge_updated',
  ],
  customer: ['customer_deleted', 'customer_updated'],
  dispute: [
    'charge_dispute_closed',
    'charge_dispute_created',
    'charge_dispute_funds_reinstated',
    'charge_dispute_funds_withdrawn',
    'charge_dispute_updated',
  ],
  invoice: ['invoice_deleted', 'invoice_finalized', 'invoice_paid', 'invoice_updated', 'invoice_voided'],
  payment_intent: [
    'payment_intent_amount_capturable_updated',
    'payment_intent_canceled',
    'payment_intent_created',
    'payment_intent_partially_funded',
    'payment_intent_payment_failed',
    'payment_intent_processing',
    'payment_intent_requires_action',
    'payment_intent_succeeded',
  ],
  refund: ['refund_created', 'refund_failed', 'refund_updated'],
  subscription: ['subscription_created', 'subscription_deleted', 'subscription_updated'],
  balance_transaction: [],
  payout: [],
  'checkout.session': ['checkout_session_completed'],
  subscription_item: [],
  line_item: [],
  invoice_payment: [],
  credit_note: [],
  credit_note_line_item: [],
  item: [],
  product: ['product_created', 'product_deleted', 'product_updated'],
  price: ['price_created', 'price_deleted', 'price_updated'],
};

/** Fields that hold an id, or the object itself when expanded (and what the handlers add: `disputes`). */
const EXPANDABLE: Record<string, string> = {
  latest_charge: 'charge',
  charge: 'charge',
  balance_transaction: 'balance_transaction',
  payment_intent: 'payment_intent',
  customer: 'customer',
  invoice: 'invoice',
  subscription: 'subscription',
  product: 'product',
};
const ADDED: Record<string, Record<string, string>> = {
  payment_intent: { disputes: 'dispute' },
  charge: { disputes: 'dispute' },
  dispute: { balance_transactions: 'balance_transaction' },
  // The orders handler gives each line item its session.
  item: { session: 'checkout.session' },
  // The billing handler gives each subscription item its subscription and each invoice line its invoice.
  subscription_item: { subscription: 'subscription' },
  line_item: { invoice: 'invoice' },
  credit_note_line_item: { invoice: 'credit_note' },
};

/**
 * Objects of other resources whose fields are shaped like a resource's own, with values its recorded events
 * lack: a charge's billing details hold a name, e-mail, phone and address (with real country codes) as a
 * customer does, so the customer mappings' phone and country functions meet real values.
 */
const LIKE: Record<string, Array<{ resource: string; field: string }>> = {
  customer: [
    { resource: 'charge', field: 'billing_details' },
    { resource: 'checkout.session', field: 'customer_details' },
  ],
};

interface Shape {
  kinds: Set<'null' | 'string' | 'number' | 'boolean' | 'array' | 'object'>;
  strings: Set<string>;
  numbers: Set<number>;
  fields: Map<string, Shape>;
  items?: Shape;
}

const emptyShape = (): Shape => ({
  kinds: new Set(),
  strings: new Set(),
  numbers: new Set(),
  fields: new Map(),
});

function addSample(shape: Shape, value: unknown): void {
  if (value === null) shape.kinds.add('null');
  else if (typeof value === 'string') {
    shape.kinds.add('string');
    shape.strings.add(value);
  } else if (typeof value === 'number') {
    shape.kinds.add('number');
    shape.numbers.add(value);
  } else if (typeof value === 'boolean') shape.kinds.add('boolean');
  else if (Array.isArray(value)) {
    shape.kinds.add('array');
    shape.items ??= emptyShape();
    for (const item of value) addSample(shape.items, item);
  } else if (typeof value === 'object') {
    shape.kinds.add('object');
    for (const [name, field] of Object.entries(value as StripeJson)) {
      if (!shape.fields.has(name)) shape.fields.set(name, emptyShape());
      addSample(shape.fields.get(name)!, field);
    }
  }
}

function samplesOf(resource: string): StripeJson[] {
  const recorded = RECORDED[resource].map((name) => recordedEvent(name).data.object as StripeJson);
  return [currentObject(resource), ...recorded];
}

/** The samples of a resource and the like-shaped parts of other resources' samples (LIKE). */
function shapeSamplesOf(resource: string): StripeJson[] {
  const alike = (LIKE[resource] ?? []).flatMap(({ resource: other, field }) =>
    samplesOf(other)
      .map((sample) => sample[field] as StripeJson | null | undefined)
      .filter((part): part is StripeJson => part !== null && typeof part === 'object'),
  );
  return [...samplesOf(resource), ...alike];
}

/** The shape of a resource, with expandable fields also taking the expanded object (two levels deep). */
function shapeOf(resource: string, depth = 0): Shape {
  const shape = emptyShape();
  for (const sample of shapeSamplesOf(resource)) addSample(shape, sample);
  if (depth >= 2) return shape;
  for (const [name, field] of shape.fields) {
    const expandsTo = EXPANDABLE[name];
    if (expandsTo && expandsTo !== resource) mergeShape(field, shapeOf(expandsTo, depth + 1));
  }
  for (const [name, target] of Object.entries(ADDED[resource] ?? {})) {
    const field = shape.fields.get(name) ?? emptyShape();
    field.kinds.add('array');
    field.items = shapeOf(target, depth + 1);
    shape.fields.set(name, field);
  }
  return shape;
}

function mergeShape(into: Shape, from: Shape): void {
  from.kinds.forEach((kind) => into.kinds.add(kind));
  from.strings.forEach((value) => into.strings.add(value));
  from.numbers.forEach((value) => into.numbers.add(value));
  for (const [name, field] of from.fields) {
    if (into.fields.has(name)) mergeShape(into.fields.get(name)!, field);
    else into.fields.set(name, field);
  }
  if (from.items) {
    into.items ??= emptyShape();
    mergeShape(into.items, from.items);
  }
}

const MISSING = Symbol('missing');
const anyScalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.string({ maxLength: 12 }),
);

function arbitraryOf(shape: Shape, depth: number): fc.Arbitrary<unknown> {
  const choices: fc.WeightedArbitrary<unknown>[] = [];
  const add = (weight: number, arbitrary: fc.Arbitrary<unknown>) => choices.push({ weight, arbitrary });
  if (shape.kinds.has('string')) {
    add(12, fc.constantFrom(...shape.strings));
    add(
      2,
      fc.constantFrom(...shape.strings).map((s) => s.toUpperCase()),
    );
    add(2, fc.string({ maxLength: 24 }));
  }
  if (shape.kinds.has('number')) {
    add(8, fc.constantFrom(...shape.numbers));
    add(3, fc.integer({ min: -10_000_000, max: 10_000_000_000 }));
    add(
      1,
      fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).map((n) => n + 0),
    );
  }
  if (shape.kinds.has('boolean')) add(8, fc.boolean());
  if (shape.kinds.has('null')) add(4, fc.constant(null));
  if (shape.kinds.has('object') && depth < 6) add(12, objectOf(shape, depth + 1));
  if (shape.kinds.has('array') && shape.items && depth < 6) {
    add(8, fc.array(arbitraryOf(shape.items, depth + 1), { maxLength: 3 }));
  }
  // Another type than the real payloads have: what an older or newer API version might send.
  add(1, anyScalar);
  if (choices.length === 1) return anyScalar;
  return fc.oneof(...choices);
}

function objectOf(shape: Shape, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, field] of shape.fields) {
    fields[name] = fc.oneof(
      { weight: 40, arbitrary: arbitraryOf(field, depth) },
      { weight: 1, arbitrary: fc.constant(MISSING) },
      { weight: 1, arbitrary: arbitraryOf(field, depth).map((value) => [value]) },
    );
  }
  return fc
    .record(fields)
    .map((record) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== MISSING)));
}

const EVENT_TYPES = [
  ...Object.values(RECORDED)
    .flat()
    .map((name) => name.replace(/_(?=[a-z]+$)/, '.')),
  'charge.dispute.funds_withdrawn',
  'charge.dispute.funds_reinstated',
  'payout.paid',
];

const envelope: fc.Arbitrary<EventEnvelope> = fc.record({
  id: fc.stringMatching(/^evt_[A-Za-z0-9]{4,24}$/),
  type: fc.constantFrom(...EVENT_TYPES),
  created: fc.integer({ min: 1_300_000_000, max: 2_000_000_000 }),
  account: fc.option(fc.stringMatching(/^acct_[A-Za-z0-9]{4,16}$/), { nil: null }),
  livemode: fc.boolean(),
});

/** The same mapping with every expression left to JSONata. */
function jsonataOnly(mapping: CompiledMapping): CompiledMapping {
  const slow = <U extends Unit | undefined>(unit: U): U => (unit ? { ...unit, fast: null } : unit);
  const compiled = mapping.compiled;
  return {
    ...mapping,
    compiled: {
      ...compiled,
      lets: compiled.lets.map((entry) => ({ ...entry, unit: slow(entry.unit) })),
      when: slow(compiled.when),
      keys: compiled.keys.map((entry) => ({ ...entry, unit: slow(entry.unit) })),
      columns: compiled.columns.map((column) => ({ ...column, unit: slow(column.unit) })),
      links: compiled.links.map((link) => ({ ...link, id: slow(link.id), value: slow(link.value) })),
    },
  };
}

/** What a caller sees: whether the mapping applies, and the row it writes or the error it fails with. */
async function outcome(mapping: CompiledMapping, object: unknown, event: EventEnvelope): Promise<unknown> {
  const settle = (work: Promise<unknown>) =>
    work.then(
      (value) => ({ value }),
      (error: Error & { code?: string }) => ({
        error: { name: error.name, code: error.code, message: error.message },
      }),
    );
  return {
    applies: await settle(mappingApplies(mapping, object, event)),
    mapped: await settle(applyMapping(mapping, object, event)),
  };
}

const mappings = loadMappings(join(__dirname, '../../../mappings'), { model });
const RUNS = Number(process.env.MAPPING_PROPERTY_RUNS ?? 200);
// A fixed seed by default: the count of objects that map to a row (checked below) depends on which objects
// are drawn, and for some mappings about one draw in ten does; MAPPING_PROPERTY_SEED explores other draws.
const SEED = Number(process.env.MAPPING_PROPERTY_SEED ?? 20261207);

describe('every shipped mapping gives the same result with the direct evaluator as with JSONata alone', () => {
  const shapes = new Map<string, Shape>();
  test.each(mappings.names)('%s', async (name) => {
    const mapping = mappings.get(name);
    const reference = jsonataOnly(mapping);
    if (!shapes.has(mapping.source)) shapes.set(mapping.source, shapeOf(mapping.source));
    const object = objectOf(shapes.get(mapping.source)!, 0).map((value) => ({
      ...value,
      object: mapping.source,
    }));
    let rows = 0;
    await fc.assert(
      fc.asyncProperty(object, envelope, async (stripeObject, event) => {
        const expected = await outcome(reference, stripeObject, event);
        const actual = await outcome(mapping, stripeObject, event);
        expect(actual).toEqual(expected);
        if ((expected as { mapped: { value?: unknown } }).mapped.value) rows += 1;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // Enough objects must map to a row, or the comparison would mostly be of errors.
    expect(rows).toBeGreaterThan(RUNS / 10);
  });

  test('a let over a one-element array holds the same value both ways', async () => {
    // Found by the property above: the closure's value went into the scope as the array, JSONata's unwrapped.
    const mapping = mappings.get('subscription');
    const object = { ...samplesOf('subscription')[0], customer: ['cus_1'] };
    const event: EventEnvelope = { id: 'evt_1', type: 't', created: 1, account: null, livemode: false };
    const expected = await outcome(jsonataOnly(mapping), object, event);
    expect(expected).toMatchObject({ mapped: { value: { row: { stc_stripecustomerid: 'cus_1' } } } });
    expect(await outcome(mapping, object, event)).toEqual(expected);
  });

  test('the comparison sees a difference: a closure that answers differently fails it', async () => {
    const mapping = mappings.get(mappings.names[0]);
    const column = mapping.compiled.columns.find((entry) => entry.unit?.fast);
    expect(column).toBeDefined();
    const broken: CompiledMapping = {
      ...mapping,
      compiled: {
        ...mapping.compiled,
        columns: mapping.compiled.columns.map((entry) =>
          entry === column
            ? { ...entry, unit: { ...entry.unit!, fast: () => 'not what JSONata says' } }
            : entry,
        ),
      },
    };
    const object = { ...samplesOf(mapping.source)[0] };
    const event: EventEnvelope = { id: 'evt_1', type: 't', created: 1, account: null, livemode: false };
    expect(await outcome(broken, object, event)).not.toEqual(
      await outcome(jsonataOnly(mapping), object, event),
    );
  });
});
